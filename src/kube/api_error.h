// How the Kubernetes API server's refusals become skiff Status values (the codes
// object_api.h lists), and which of its answers are worth another try. Stateless.
#pragma once

#include <string>

#include "util/status.h"

namespace skiff::kube {

// The Status for a non-2xx answer `http_status` with body `body` (a Kubernetes Status
// object, or anything else). `context` names the action and the object ("create
// ConfigMap default/x"); the message is context + ": " + the API's message.
Status api_error(int http_status, const std::string& body, const std::string& context);

// 429 Too Many Requests and the 5xx a server gives when busy or restarting: try again.
bool is_retriable(int http_status);

// Retry-After ("3" seconds; an HTTP date is not honoured): milliseconds, or -1.
long retry_after_ms(const std::string& header);

}  // namespace skiff::kube
