#include "runtime/registry.h"

#include <gtest/gtest.h>

#include <fstream>

namespace skiff::runtime {
namespace {

TEST(RegistryConfig, MirrorsAreUrlsPerRegistry) {
  RegistryConfig c;
  ASSERT_TRUE(add_mirror(&c, "docker.io=mirror.local:5000,https://second.example/").is_ok());
  ASSERT_EQ(c.mirrors["docker.io"].size(), 2u);
  EXPECT_EQ(c.mirrors["docker.io"][0], "https://mirror.local:5000");
  EXPECT_EQ(c.mirrors["docker.io"][1], "https://second.example");
  auto bad = add_mirror(&c, "docker.io");
  EXPECT_NE(bad.message().find("expected REGISTRY=URL"), std::string::npos);
  EXPECT_FALSE(add_mirror(&c, "docker.io=ftp://x").is_ok());
}

TEST(RegistryConfig, DockerConfigAuthsByHost) {
  RegistryConfig c;
  // "dXNlcjpwYTpzcw==" is base64 of "user:pa:ss" (a password may hold ':').
  std::string text = R"({"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
                                    "registry.local:5000": {"username": "u2", "password": "p2"},
                                    "helper.example": {"identitytoken": "x"}}})";
  ASSERT_TRUE(load_docker_config_text(&c, text, "config.json").is_ok());
  EXPECT_EQ(c.auths["docker.io"].username, "user");
  EXPECT_EQ(c.auths["docker.io"].password, "pa:ss");
  EXPECT_EQ(c.auths["registry.local:5000"].password, "p2");
  EXPECT_EQ(c.auths.count("helper.example"), 0u);
  auto bad = load_docker_config_text(&c, R"({"auths": {"x.io": {"auth": "bm9jb2xvbg=="}}})", "c.json");
  EXPECT_NE(bad.message().find("must be base64 of \"user:password\""), std::string::npos) << bad.message();
  EXPECT_NE(load_docker_config_text(&c, "{", "c.json").message().find("c.json: not valid JSON"), std::string::npos);
}

TEST(RegistryConfig, RegistriesFileNamesTheLineOfAnUnknownField) {
  std::string path = ::testing::TempDir() + "/registries.yaml";
  std::ofstream(path) << "mirrors:\n  docker.io: [https://m.local]\nregistries:\n  r.local:5000: {ca: /x.pem, plainHTTP: true}\nmirror: {}\n";
  RegistryConfig c;
  Status s = load_registries_file(&c, path);
  EXPECT_NE(s.message().find(path + ":5: unknown field `mirror` (did you mean `mirrors`?)"), std::string::npos)
      << s.message();
  std::ofstream(path) << "mirrors:\n  docker.io: [https://m.local]\nregistries:\n  r.local:5000: {ca: /x.pem, plainHTTP: true}\n";
  RegistryConfig ok;
  ASSERT_TRUE(load_registries_file(&ok, path).is_ok());
  EXPECT_EQ(ok.mirrors["docker.io"][0], "https://m.local");
  EXPECT_EQ(ok.hosts["r.local:5000"].ca_file, "/x.pem");
  EXPECT_TRUE(ok.hosts["r.local:5000"].plain_http);
}

TEST(RegistryConfig, Sha256DigestOfKnownText) {
  EXPECT_EQ(sha256_digest("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace skiff::runtime
