// The Lease way of electing the leader (leader.h) against the real test cluster
// (scripts/k8s-up; ctest k8s/leader-lease). Exits 77 (skipped) when the cluster is not up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "kube/client.h"
#include "server/leader.h"

namespace skiff::server {
namespace {

kube::ClusterConfig g_cluster;

LeaseTiming short_lease() {
  LeaseTiming t;
  t.duration = std::chrono::seconds(2);
  t.renew_deadline = std::chrono::seconds(1);
  return t;
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "skiff-lease-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr) % 100000) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : name_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  void TearDown() override {
    kube::Client client(g_cluster);
    (void)client.remove({"coordination.k8s.io/v1", "Lease", "default", name_}, "default", {});
  }
  std::unique_ptr<LeaderElection> election(const std::string& identity) {
    return lease_election(g_cluster, "default", name_, identity, short_lease());
  }
  std::string holder() {
    kube::Client client(g_cluster);
    auto got = client.get({"coordination.k8s.io/v1", "Lease", "default", name_}, "default");
    return got ? (*got)["spec"].value("holderIdentity", std::string()) : "<" + got.status().message() + ">";
  }
  std::string name_;
};

TEST_F(LeaseTest, OneLeadsAndAdvertisesWhileItRenews) {
  auto a = election("a");
  auto b = election("b");
  auto won = a->try_acquire();
  ASSERT_TRUE(won) << won.status().message();
  EXPECT_TRUE(*won);
  EXPECT_EQ(holder(), "a");
  EXPECT_EQ(*b->leader_url(), "");  // a leader that has not said where it serves yet
  ASSERT_TRUE(a->advertise("http://127.0.0.1:1111"));
  EXPECT_EQ(*b->leader_url(), "http://127.0.0.1:1111");
  // a renews every second as the server's watchdog does; b never gets it.
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(*b->try_acquire());
    EXPECT_TRUE(*a->holds());
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
  }
  EXPECT_FALSE(*b->holds());
  EXPECT_EQ(holder(), "a");
  EXPECT_EQ(a->describe(), "Lease default/" + name_);
}

TEST_F(LeaseTest, AFollowerTakesALeaseLeftUnrenewedAndTheOldLeaderKnows) {
  auto a = election("a");
  auto b = election("b");
  ASSERT_TRUE(*a->try_acquire());
  ASSERT_TRUE(a->advertise("http://127.0.0.1:1111"));
  // a stops renewing (its process is stopped, say). b takes over once it has seen the
  // Lease unchanged for its duration, on b's own clock: not before.
  auto start = std::chrono::steady_clock::now();
  bool took = false;
  while (!took && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    auto r = b->try_acquire();
    ASSERT_TRUE(r) << r.status().message();
    took = *r;
    if (!took) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(took);
  EXPECT_GE(waited, std::chrono::milliseconds(1900));
  EXPECT_EQ(holder(), "b");
  ASSERT_TRUE(b->advertise("http://127.0.0.1:2222"));
  EXPECT_EQ(*a->leader_url(), "http://127.0.0.1:2222");
  // a, resumed, finds it lost the Lease at its next renewal: it must stop at once.
  auto held = a->holds();
  EXPECT_FALSE(held.is_ok() && *held);
  if (!held) {
    EXPECT_NE(held.status().message().find("held now by b"), std::string::npos) << held.status().message();
  }
  EXPECT_FALSE(*a->holds());
  EXPECT_TRUE(*b->holds());
}

TEST_F(LeaseTest, ALeaderThatReleasesIsFollowedAtOnce) {
  auto a = election("a");
  auto b = election("b");
  ASSERT_TRUE(*a->try_acquire());
  EXPECT_FALSE(*b->try_acquire());
  a->release();
  EXPECT_EQ(*b->leader_url(), "");
  EXPECT_TRUE(*b->try_acquire());  // no waiting for the Lease to lapse
  EXPECT_EQ(holder(), "b");
}

TEST_F(LeaseTest, AnUnreachableClusterIsAnError) {
  kube::ClusterConfig gone = g_cluster;
  gone.server = "https://127.0.0.1:1";
  auto lost = lease_election(gone, "default", name_, "c", short_lease());
  auto r = lost->try_acquire();
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("leader election (Lease default/" + name_ + ")"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace skiff::server

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* state = std::getenv("SKIFF_K8S_STATE");
  std::string path = std::string(state && *state ? state : "/var/tmp/skiff-k8s") + "/kubeconfig";
  if (::access(path.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "the test cluster is not up (no %s): run scripts/k8s-up\n", path.c_str());
    return 77;
  }
  auto config = skiff::kube::load_kubeconfig(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  skiff::server::g_cluster = *config;
  return RUN_ALL_TESTS();
}
