#include "runtime/image_ref.h"

#include <gtest/gtest.h>

namespace skiff::runtime {
namespace {

TEST(ImageRef, ShortNameIsDockerHubLibraryLatest) {
  auto ref = parse_image_ref("busybox");
  ASSERT_TRUE(ref.is_ok()) << ref.status().message();
  EXPECT_EQ(ref->canonical(), "docker.io/library/busybox:latest");
}

TEST(ImageRef, UserRepositoryOnDockerHubKeepsItsPath) {
  auto ref = parse_image_ref("alpine/git:v2.45");
  ASSERT_TRUE(ref.is_ok());
  EXPECT_EQ(ref->registry, "docker.io");
  EXPECT_EQ(ref->repository, "alpine/git");
  EXPECT_EQ(ref->tag, "v2.45");
}

TEST(ImageRef, RegistryHostWithPortIsNotATag) {
  auto ref = parse_image_ref("registry.local:5000/team/app");
  ASSERT_TRUE(ref.is_ok());
  EXPECT_EQ(ref->registry, "registry.local:5000");
  EXPECT_EQ(ref->repository, "team/app");
  EXPECT_EQ(ref->tag, "latest");
  EXPECT_EQ(parse_image_ref("localhost/app:1")->registry, "localhost");
}

TEST(ImageRef, DigestWithoutTagHasNoDefaultTag) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto ref = parse_image_ref("ghcr.io/org/app@" + d);
  ASSERT_TRUE(ref.is_ok());
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->reference(), d);
  EXPECT_EQ(ref->canonical(), "ghcr.io/org/app@" + d);
  auto both = parse_image_ref("app:1.0@" + d);
  ASSERT_TRUE(both.is_ok());
  EXPECT_EQ(both->tag, "1.0");
  EXPECT_EQ(both->reference(), d);
}

TEST(ImageRef, DockerHubAliasesAreNormalised) {
  EXPECT_EQ(parse_image_ref("index.docker.io/library/alpine:3.20")->canonical(), "docker.io/library/alpine:3.20");
}

TEST(ImageRef, RefusesWhatCouldEscapeAUrlOrPath) {
  for (const char* bad : {"", "Busybox", "a/../b", "app:", "app:bad/tag", "app@sha256:xyz", "a//b", "-a",
                          "app:-x", "reg.io/a b", "a/.hidden"}) {
    auto ref = parse_image_ref(bad);
    EXPECT_FALSE(ref.is_ok()) << bad;
    if (!ref.is_ok()) {
      EXPECT_NE(ref.status().message().find("expected [registry/]name"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace skiff::runtime
