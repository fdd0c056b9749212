#include "kube/api_error.h"

#include <nlohmann/json.hpp>

#include <cctype>

#include "util/json_text.h"

namespace skiff::kube {

Status api_error(int http_status, const std::string& body, const std::string& context) {
  std::string reason, message;
  int code = http_status;
  auto status = parse_json_or_discarded<nlohmann::json>(body);
  if (status.is_object() && status.value("kind", "") == "Status") {
    if (status.contains("reason") && status["reason"].is_string()) reason = status["reason"];
    if (status.contains("message") && status["message"].is_string()) message = status["message"];
    if (status.contains("code") && status["code"].is_number_integer()) code = status["code"];
  }
  if (message.empty()) {
    std::string text = body.substr(0, 200);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    message = "HTTP " + std::to_string(http_status) + (text.empty() ? "" : " (" + text + ")");
  }
  std::string m = context + ": " + message;
  switch (code) {
    case 404:
      return Status(Code::kNotFound, m);
    case 409:
      return Status(reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kConflict, m);
    case 410:  // Gone: a resourceVersion or continue token too old to serve
      return Status(Code::kConflict, m);
    case 401:
      return Status(Code::kInvalid, context + ": unauthorized: the cluster did not accept skiff's credentials (" +
                                        message + "); check the kubeconfig's user");
    case 403:
      if (message.find("forbidden") == std::string::npos) m = context + ": forbidden: " + message;
      return Status(Code::kInvalid, m);
    default:
      if (code == 429 || code >= 500) return Status(Code::kUnavailable, m);
      return Status(Code::kInvalid, m);
  }
}

bool is_retriable(int http_status) {
  return http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504;
}

long retry_after_ms(const std::string& header) {
  if (header.empty() || header.size() > 6) return -1;
  long seconds = 0;
  for (char c : header) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    seconds = seconds * 10 + (c - '0');
  }
  return seconds * 1000;
}

}  // namespace skiff::kube
