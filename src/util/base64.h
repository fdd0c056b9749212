// Standard base64 (RFC 4648, '+' '/' and '=' padding), as Kubernetes secrets, docker
// config.json "auth" fields and sprig's b64enc/b64dec use it. Stateless.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace skiff {

std::string base64_encode(std::string_view raw);
// Accepts padded or unpadded text and ignores ASCII whitespace (line-wrapped input);
// anything else that is not base64 is kInvalid.
Result<std::string> base64_decode(std::string_view text);

}  // namespace skiff
