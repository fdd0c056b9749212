// Hex and SHA-256 as text: token and cache-key hashes, webhook signature comparison.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skiff {

// Lower-case hex of `n` bytes.
std::string hex_encode(const unsigned char* data, size_t n);
// SHA-256 of `text` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view text);

}  // namespace skiff
