#include "server/tokens.h"

#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "util/digest.h"

namespace skiff::server {
namespace {

using Json = nlohmann::json;

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
  std::string secret = "skiff_" + hex_encode(raw, sizeof raw);
  if (Status s = runtime::make_private_dir(data_dir); !s) return s;
  runtime::Fd lock(::open((file_of(data_dir) + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.valid()) ::flock(lock.get(), LOCK_EX);
  Json doc = Json::object();
  if (auto text = runtime::read_file_capped(file_of(data_dir), 16 << 20); text) {
    doc = Json::parse(*text, nullptr, false);
    if (!doc.is_object()) return internal_error(file_of(data_dir) + " is damaged; move it away and create tokens again");
  }
  doc[sha256_hex(secret)] = {{"namespaces", namespaces}};
  if (Status s = runtime::write_file_atomically(file_of(data_dir), doc.dump(1), 0600); !s) {
    return s.with_context("saving tokens");
  }
  return secret;
}

namespace {

// The token file as last read, for every request to check against: read again only when
// the file changed (`skiff token create` renames a new one into place, even from another
// process).
struct TokenCache {
  std::mutex mu;
  std::string path;
  struct stat seen = {};
  std::shared_ptr<const Json> doc;
};

std::shared_ptr<const Json> token_doc(const std::string& path) {
  static TokenCache cache;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return nullptr;
  std::lock_guard<std::mutex> lock(cache.mu);
  if (cache.doc && cache.path == path && cache.seen.st_ino == st.st_ino && cache.seen.st_dev == st.st_dev &&
      cache.seen.st_size == st.st_size && cache.seen.st_mtim.tv_sec == st.st_mtim.tv_sec &&
      cache.seen.st_mtim.tv_nsec == st.st_mtim.tv_nsec) {
    return cache.doc;
  }
  auto text = runtime::read_file_capped(path, 16 << 20);
  if (!text) return nullptr;
  cache.path = path;
  cache.seen = st;
  cache.doc = std::make_shared<const Json>(Json::parse(*text, nullptr, false));
  return cache.doc;
}

}  // namespace

Result<TokenScope> check_token(const std::string& data_dir, const std::string& secret) {
  if (secret.rfind("skiff_", 0) != 0 || secret.size() != 70) return not_found("not a skiff token");
  std::shared_ptr<const Json> doc = token_doc(file_of(data_dir));
  if (!doc) return not_found("no tokens exist yet");
  std::string key = sha256_hex(secret);
  if (!doc->is_object() || !doc->contains(key)) return not_found("unknown token");
  TokenScope scope;
  for (const auto& n : (*doc)[key].value("namespaces", Json::array())) {
    if (n.is_string()) scope.namespaces.push_back(n);
  }
  return scope;
}

}  // namespace skiff::server
