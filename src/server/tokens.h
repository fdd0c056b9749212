// API tokens for `skiff server --auth-mode client`: bearer tokens scoped to namespaces.
//
// `skiff token create --namespace NS` makes one: 32 random bytes, shown once; the server
// keeps only its sha256 (<data>/tokens.json, mode 0600), so a leaked data directory leaks
// no usable token. A token for "*" reaches every namespace and cluster-scoped objects.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::server {

struct TokenScope {
  std::vector<std::string> namespaces;  // "*" = all
  bool allows(const std::string& namespace_) const;  // "" = cluster-scoped: needs "*"
};

// Returns the new token's secret ("skiff_" + 64 hex digits).
Result<std::string> create_token(const std::string& data_dir, const std::vector<std::string>& namespaces);
// The scope of `secret`, or kNotFound.
Result<TokenScope> check_token(const std::string& data_dir, const std::string& secret);

}  // namespace skiff::server
