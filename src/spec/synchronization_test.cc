#include "spec/synchronization.h"

#include <gtest/gtest.h>

namespace skiff::spec {

TEST(Synchronization, LocksInArgosOrderWithNamespaces) {
  auto locks = parse_synchronization(
      R"({"mutex": {"name": "old"}, "mutexes": [{"name": "a"}, {"name": "b", "namespace": "other"}],
          "semaphores": [{"configMapKeyRef": {"name": "cfg", "key": "k"}}]})",
      "ns");
  ASSERT_TRUE(locks.is_ok()) << locks.status().message();
  ASSERT_EQ(locks->size(), 4u);
  EXPECT_EQ(lock_name((*locks)[0]), "ns/ConfigMap/cfg/k");
  EXPECT_FALSE((*locks)[0].mutex);
  EXPECT_EQ(lock_name((*locks)[1]), "ns/Mutex/a");
  EXPECT_EQ(lock_name((*locks)[2]), "other/Mutex/b");
  EXPECT_EQ(lock_name((*locks)[3]), "ns/Mutex/old");
}

TEST(Synchronization, BadInputSaysWhere) {
  auto no_name = parse_synchronization(R"({"mutexes": [{}]})", "ns");
  ASSERT_FALSE(no_name.is_ok());
  EXPECT_NE(no_name.status().message().find("synchronization.mutexes[0].name"), std::string::npos);
  auto typo = parse_synchronization(R"({"mutexs": [{"name": "a"}]})", "ns");
  ASSERT_FALSE(typo.is_ok());
  EXPECT_NE(typo.status().message().find("synchronization.mutexs: unknown field"), std::string::npos);
  auto no_key = parse_synchronization(R"({"semaphores": [{"configMapKeyRef": {"name": "cfg"}}]})", "ns");
  ASSERT_FALSE(no_key.is_ok());
  EXPECT_NE(no_key.status().message().find("configMapKeyRef.key"), std::string::npos);
  auto twice = parse_synchronization(R"({"mutexes": [{"name": "a"}, {"name": "a"}]})", "ns");
  ASSERT_FALSE(twice.is_ok());
  EXPECT_NE(twice.status().message().find("duplicate synchronization item found"), std::string::npos);
  auto db = parse_synchronization(R"({"mutexes": [{"name": "a", "database": true}]})", "ns");
  ASSERT_FALSE(db.is_ok());
  EXPECT_NE(db.status().message().find("database"), std::string::npos);
  EXPECT_FALSE(parse_synchronization(R"({})", "ns").is_ok());
  EXPECT_FALSE(parse_synchronization(R"([1])", "ns").is_ok());
}

}  // namespace skiff::spec
