#include "util/digest.h"

#include <gtest/gtest.h>

namespace skiff {
namespace {

TEST(Digest, HexAndSha256) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(hex_encode(bytes, sizeof bytes), "000fa5ff");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, Sha256InPiecesEqualsWhole) {
  Sha256 h;
  h.add("a", 1);
  h.add("bc", 2);
  EXPECT_EQ(h.hex(), sha256_hex("abc"));
}

}  // namespace
}  // namespace skiff
