// What every route handler shares: JSON replies, errors in Argo Server's shape (HTTP status
// plus a gRPC-style {"code", "message"} body, mapped from Status codes in one place),
// request bodies, Kubernetes names and query parameters. Stateless; any thread.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::server {

using Json = nlohmann::ordered_json;

void reply(httplib::Response& res, int status, const Json& body);
// A Status code as HTTP and gRPC codes: kInvalid 400/3, kNotFound 404/5, kAlreadyExists
// 409/6, kConflict 409/10, kUnavailable 503/14, kDeadline 504/4, else 500/13.
struct HttpError {
  int http;
  int grpc;
};
HttpError http_error(Code code);
// The error as Argo Server returns it: 400 kInvalid, 404 kNotFound, 409 kAlreadyExists...
void fail(httplib::Response& res, const Status& s);
// The body as a JSON object, or kInvalid saying what is wrong and where (invalid UTF-8,
// nesting deeper than kMaxJsonDepth, a syntax error at byte N). An empty body is `{}`
// when `empty_is_object`.
Result<Json> parse_body(const httplib::Request& req, bool empty_is_object = false);

// OK when `n` is a Kubernetes name (an RFC 1123 subdomain, util/strings.h: never "." or
// "..", which matters as names become paths), else an error naming `what`.
Status check_name(const std::string& what, const std::string& n);
// Kubernetes' generateName: the prefix and five random lowercase letters or digits.
std::string generated_name(const std::string& prefix);

std::vector<std::string> split_csv_by(const std::string& s, char sep);
std::vector<std::string> split_csv(const std::string& s);
// A query parameter, split at its first '=' (selectors such as "a=b" may arrive without
// escaping) and URL-decoded; "" when absent.
std::string query(const httplib::Request& req, const std::string& name);

// Argo's `fields` parameter: a comma-separated list of dotted paths below `prefix` (e.g.
// "items." or "result.object."); `doc` keeps only those, or loses them when the list
// starts with '-'. Paths outside `prefix` are ignored; "" keeps everything.
Json select_fields(const Json& doc, const std::string& fields, const std::string& prefix);
// Whether `fields` (as above) keeps the subtree at `path` (e.g. "status.nodes").
bool fields_keep(const std::string& fields, const std::string& prefix, const std::string& path);

}  // namespace skiff::server
