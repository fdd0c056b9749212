#include "server/http_util.h"

#include <algorithm>
#include <mutex>
#include <random>

#include "util/json_text.h"
#include "util/strings.h"

namespace skiff::server {

// gRPC status codes, as Argo Server puts them in error bodies.
HttpError http_error(Code code) {
  switch (code) {
    case Code::kInvalid: return {400, 3};
    case Code::kNotFound: return {404, 5};
    case Code::kAlreadyExists: return {409, 6};
    case Code::kConflict: return {409, 10};  // gRPC's Aborted, as Kubernetes' conflicts
    case Code::kUnavailable: return {503, 14};
    case Code::kDeadline: return {504, 4};
    default: return {500, 13};
  }
}

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void fail(httplib::Response& res, const Status& s) {
  HttpError e = http_error(s.code());
  reply(res, e.http, {{"code", e.grpc}, {"message", s.message()}});
}
Status check_name(const std::string& what, const std::string& n) {
  if (dns1123_subdomain(n)) return Status::ok();
  return invalid(what + " \"" + n + "\" must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit");
}

std::string generated_name(const std::string& prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;  // requests arrive on several threads
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  // As Kubernetes' name generator: the prefix cut to 58 characters, so the name (a Pod's
  // workflows.argoproj.io/workflow label too) fits in 63.
  std::string out = prefix.substr(0, 58);
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < 5; ++i) out += kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return out;
}

Result<Json> parse_body(const httplib::Request& req, bool empty_is_object) {
  if (empty_is_object && req.body.empty()) return Json::object();
  auto body = parse_json<Json>(req.body, "the request body");
  if (!body) return body.status();
  if (!body->is_object()) return invalid(std::string("the request body is not a JSON object (it is ") + body->type_name() + ")");
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

namespace {

// The paths of `fields` that fall below `prefix`, with it removed; sets *exclude.
std::vector<std::vector<std::string>> field_paths(const std::string& fields, const std::string& prefix, bool* exclude) {
  std::string list = fields;
  *exclude = !list.empty() && list[0] == '-';
  if (*exclude) list.erase(0, 1);
  std::vector<std::vector<std::string>> out;
  for (const std::string& f : split_csv(list)) {
    if (f.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back(split_csv_by(f.substr(prefix.size()), '.'));
  }
  return out;
}

void copy_path(const Json& from, Json& to, const std::vector<std::string>& path, size_t i) {
  if (!from.is_object() || !from.contains(path[i])) return;
  if (i + 1 == path.size()) {
    to[path[i]] = from[path[i]];
    return;
  }
  if (!to.contains(path[i]) || !to[path[i]].is_object()) to[path[i]] = Json::object();
  copy_path(from[path[i]], to[path[i]], path, i + 1);
}

void erase_path(Json& doc, const std::vector<std::string>& path, size_t i) {
  if (!doc.is_object() || !doc.contains(path[i])) return;
  if (i + 1 == path.size()) {
    doc.erase(path[i]);
  } else {
    erase_path(doc[path[i]], path, i + 1);
  }
}

}  // namespace

Json select_fields(const Json& doc, const std::string& fields, const std::string& prefix) {
  if (fields.empty()) return doc;
  bool exclude = false;
  auto paths = field_paths(fields, prefix, &exclude);
  if (exclude) {
    Json out = doc;
    for (const auto& p : paths) {
      if (!p.empty()) erase_path(out, p, 0);
    }
    return out;
  }
  Json out = Json::object();
  for (const auto& p : paths) {
    if (!p.empty()) copy_path(doc, out, p, 0);
  }
  return out;
}

bool fields_keep(const std::string& fields, const std::string& prefix, const std::string& path) {
  if (fields.empty()) return true;
  bool exclude = false;
  auto paths = field_paths(fields, prefix, &exclude);
  auto want = split_csv_by(path, '.');
  for (const auto& p : paths) {
    // `p` names `path` or something above it (exclude), or something on its way (include).
    size_t n = std::min(p.size(), want.size());
    bool related = std::equal(p.begin(), p.begin() + static_cast<long>(n), want.begin());
    if (exclude && related && p.size() <= want.size()) return false;
    if (!exclude && related) return true;
  }
  return exclude;
}

}  // namespace skiff::server
