#include "server/tokens.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"

namespace skiff::server {
namespace {

using Json = nlohmann::json;

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string sha256_hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  return hex(md, n);
}

std::string file_of(const std::string& data_dir) { return data_dir + "/tokens.json"; }

}  // namespace

bool TokenScope::allows(const std::string& ns) const {
  for (const auto& n : namespaces) {
    if (n == "*" || (!ns.empty() && n == ns)) return true;
  }
  return false;
}

Result<std::string> create_token(const std::string& data_dir, const std::vector<std::string>& namespaces) {
  if (namespaces.empty()) return invalid("a token needs at least one --namespace (or '*' for all)");
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return internal_error("no randomness for a token");
  std::string secret = "skiff_" + hex(raw, sizeof raw);
  if (Status s = runtime::make_private_dir(data_dir); !s) return s;
  runtime::Fd lock(::open((file_of(data_dir) + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.valid()) ::flock(lock.get(), LOCK_EX);
  Json doc = Json::object();
  if (auto text = runtime::read_file_capped(file_of(data_dir), 16 << 20); text) {
    doc = Json::parse(*text, nullptr, false);
    if (!doc.is_object()) return internal_error(file_of(data_dir) + " is damaged; move it away and create tokens again");
  }
  doc[sha256_hex(secret)] = {{"namespaces", namespaces}};
  std::string tmp = file_of(data_dir) + ".tmp";
  if (Status s = runtime::write_file(tmp, doc.dump(1), 0600); !s) return s;
  if (::rename(tmp.c_str(), file_of(data_dir).c_str()) != 0) return runtime::errno_status("saving tokens", errno);
  return secret;
}

Result<TokenScope> check_token(const std::string& data_dir, const std::string& secret) {
  if (secret.rfind("skiff_", 0) != 0 || secret.size() != 70) return not_found("not a skiff token");
  auto text = runtime::read_file_capped(file_of(data_dir), 16 << 20);
  if (!text) return not_found("no tokens exist yet");
  Json doc = Json::parse(*text, nullptr, false);
  std::string key = sha256_hex(secret);
  if (!doc.is_object() || !doc.contains(key)) return not_found("unknown token");
  TokenScope scope;
  for (const auto& n : doc[key].value("namespaces", Json::array())) {
    if (n.is_string()) scope.namespaces.push_back(n);
  }
  return scope;
}

}  // namespace skiff::server
