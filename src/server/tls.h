// A self-signed certificate for `skiff server --secure` when none is given, as Argo
// Server makes one: EC P-256, valid for a year, for localhost and 127.0.0.1, kept in
// <data>/tls/ (key mode 0600) and reused while it is valid.
#pragma once

#include <string>

#include "util/status.h"

namespace skiff::server {

// Fills `cert` and `key` with the paths of the certificate and key in `dir`, making them
// first if needed.
Status ensure_self_signed(const std::string& dir, std::string* cert, std::string* key);

}  // namespace skiff::server
