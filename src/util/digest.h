// Hex and SHA-256 as text: token and cache-key hashes, webhook signature comparison.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace skiff {

// Lower-case hex of `n` bytes.
std::string hex_encode(const unsigned char* data, size_t n);
// SHA-256 of `text` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view text);

// SHA-256 over data given in pieces (a blob as it streams by). Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void add(const void* data, size_t n);
  // 64 lower-case hex digits of everything added; call once, at the end.
  std::string hex();

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace skiff
