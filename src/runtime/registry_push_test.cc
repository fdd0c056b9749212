// RegistryClient's push protocol against the real test registry (tests/registry/registry.py,
// named by SKIFF_TEST_REGISTRY; ctest registry-push). Without it the tests skip, saying so.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/registry.h"

namespace skiff::runtime {
namespace {

class RegistryPush : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = std::getenv("SKIFF_TEST_REGISTRY");
    std::ifstream env(dir ? std::string(dir) + "/env.json" : "");
    if (!dir || !env) GTEST_SKIP() << "no test registry (SKIFF_TEST_REGISTRY): run ctest -R registry-push";
    host_ = nlohmann::json::parse(env)["host"].get<std::string>();
    ASSERT_TRUE(load_registries_file(&config_, std::string(dir) + "/registries.yaml").is_ok());
    ASSERT_TRUE(load_docker_config(&config_, std::string(dir) + "/config.json").is_ok());
  }

  ImageRef ref(const std::string& tag) {
    return *parse_image_ref(host_ + "/skiff-test/push-unit:" + tag);
  }

  static BlobSource blob(const std::string& data) {
    return {{"application/octet-stream", sha256_digest(data), static_cast<int64_t>(data.size())}, data, ""};
  }

  std::string host_;
  RegistryConfig config_;
};

TEST_F(RegistryPush, BlobOnceThenPresentThenManifestReadsBack) {
  RegistryClient client(config_);
  std::string layer = "not really a tar, but a blob all the same " + std::to_string(::getpid());
  auto sent = client.push_blob(ref("a"), blob(layer));
  ASSERT_TRUE(sent) << sent.status().message();
  EXPECT_TRUE(*sent);
  auto again = client.push_blob(ref("a"), blob(layer));
  ASSERT_TRUE(again) << again.status().message();
  EXPECT_FALSE(*again) << "a blob the repository has is not uploaded again";

  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  ASSERT_TRUE(client.push_blob(ref("a"), blob(config)));
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                  {"digest", sha256_digest(config)},
                  {"size", config.size()}}},
      {"layers", nlohmann::json::array({{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                         {"digest", sha256_digest(layer)},
                                         {"size", layer.size()}}})}};
  auto digest = client.push_manifest(ref("a"), "application/vnd.oci.image.manifest.v1+json", manifest.dump());
  ASSERT_TRUE(digest) << digest.status().message();
  EXPECT_EQ(*digest, sha256_digest(manifest.dump()));
  auto back = client.manifest(ref("a"));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->digest, *digest);
  ASSERT_EQ(back->layers.size(), 1u);
  EXPECT_EQ(back->layers[0].digest, sha256_digest(layer));
}

TEST_F(RegistryPush, ErrorsNameRegistryRepositoryAndTheRegistrysCode) {
  RegistryClient client(config_);
  // A manifest whose blobs were never pushed.
  std::string missing = sha256_digest("never pushed");
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                     R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                     missing + R"(","size":12},"layers":[]})";
  auto r = client.push_manifest(ref("b"), "application/vnd.oci.image.manifest.v1+json", body);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find("registry " + host_ + " answered HTTP 400 (MANIFEST_BLOB_UNKNOWN"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("skiff-test/push-unit"), std::string::npos) << r.status().message();

  // Bytes that do not match the digest they are pushed under.
  BlobSource lie = blob("what it says");
  lie.data = "something else";
  lie.descriptor.size = static_cast<int64_t>(lie.data.size());
  auto bad = client.push_blob(ref("b"), lie);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("DIGEST_INVALID"), std::string::npos) << bad.status().message();

  // Wrong password: refused, naming the user.
  RegistryConfig wrong = config_;
  wrong.auths[host_].password = "wrong";
  RegistryClient refused(wrong);
  auto denied = refused.push_blob(ref("b"), blob("x"));
  ASSERT_FALSE(denied);
  EXPECT_NE(denied.status().message().find("refused the credentials of user skiff"), std::string::npos)
      << denied.status().message();
}

}  // namespace
}  // namespace skiff::runtime
