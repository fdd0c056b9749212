#include "server/http_util.h"

#include <algorithm>

namespace skiff::server {
namespace {

// gRPC status codes, as Argo Server puts them in error bodies.
struct HttpError {
  int http;
  int grpc;
};

HttpError http_error(Code code) {
  switch (code) {
    case Code::kInvalid: return {400, 3};
    case Code::kNotFound: return {404, 5};
    case Code::kAlreadyExists: return {409, 6};
    case Code::kUnavailable: return {503, 14};
    case Code::kDeadline: return {504, 4};
    default: return {500, 13};
  }
}

}  // namespace

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void fail(httplib::Response& res, const Status& s) {
  HttpError e = http_error(s.code());
  reply(res, e.http, {{"code", e.grpc}, {"message", s.message()}});
}
bool valid_name(const std::string& n) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !n.empty() && n.size() <= 253 && alnum(n.front()) && alnum(n.back()) &&
         std::all_of(n.begin(), n.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

Status check_name(const std::string& what, const std::string& n) {
  if (valid_name(n)) return Status::ok();
  return invalid(what + " \"" + n + "\" must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit");
}

Result<Json> parse_body(const httplib::Request& req) {
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return invalid("the request body is not a JSON object");
  return body;
}

std::vector<std::string> split_csv_by(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::vector<std::string> split_csv(const std::string& s) { return split_csv_by(s, ','); }

std::string query(const httplib::Request& req, const std::string& name) {
  size_t q = req.target.find('?');
  if (q == std::string::npos) return "";
  for (const std::string& pair : split_csv_by(req.target.substr(q + 1), '&')) {
    size_t eq = pair.find('=');
    if (httplib::detail::decode_url(pair.substr(0, eq), true) != name) continue;
    return eq == std::string::npos ? "" : httplib::detail::decode_url(pair.substr(eq + 1), true);
  }
  return "";
}

}  // namespace skiff::server
