#include "cli/api_client.h"

#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include <cstdlib>

namespace skiff::cli {
namespace {

bool env_true(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::string(v) == "true" || std::string(v) == "1";
}

size_t on_data(char* d, size_t size, size_t n, void* user) {
  return (*static_cast<std::function<bool(const char*, size_t)>*>(user))(d, size * n) ? size * n : 0;
}

}  // namespace

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Connection connection_from_env() {
  Connection c;
  c.secure = env_true("ARGO_SECURE", true);
  c.insecure = env_true("ARGO_INSECURE_SKIP_VERIFY", false);
  return c;
}

void add_connection_flags(CLI::App* cmd, Connection& c) {
  cmd->add_option("-s,--argo-server", c.server, "HOST:PORT of the server (ARGO_SERVER, default localhost:2746)");
  cmd->add_option("--token", c.token, "API token (ARGO_TOKEN)");
  cmd->add_option("--secure", c.secure, "use HTTPS (ARGO_SECURE, default true)");
  cmd->add_flag("-k,--insecure-skip-verify", c.insecure, "accept any server certificate (ARGO_INSECURE_SKIP_VERIFY)");
}

ApiClient::ApiClient(const Connection& f) {
  std::string host = f.server.empty() ? env_or("ARGO_SERVER", "localhost:2746") : f.server;
  if (host.find("://") == std::string::npos) host = (f.secure ? "https://" : "http://") + host;
  base_ = host;
  std::string token = f.token.empty() ? env_or("ARGO_TOKEN", "") : f.token;
  if (!token.empty() && token.rfind("Bearer ", 0) != 0) token = "Bearer " + token;
  auth_ = token;
  insecure_ = f.insecure;
}

// Sends a request; a JSON error body becomes a Status with its message.
Result<Json> ApiClient::call(const std::string& method, const std::string& path, const Json* body) {
  std::string out;
  long status = 0;
  Status s = perform(method, path, body, [&](const char* d, size_t n) {
    if (out.size() < (64u << 20)) out.append(d, n);
    return true;
  }, &status);
  if (!s) return s;
  Json j = Json::parse(out.empty() ? "{}" : out, nullptr, false);
  if (status >= 400) {
    std::string message = j.is_object() && j.contains("message") ? j["message"].get<std::string>() : out;
    Code code = status == 404 ? Code::kNotFound : status == 409 ? Code::kAlreadyExists
              : status == 400 ? Code::kInvalid : Code::kFailed;
    return Status(code, message + " (HTTP " + std::to_string(status) + ")");
  }
  if (j.is_discarded()) return Status(Code::kFailed, "the server answered with something that is not JSON");
  return j;
}

// Streams a response line by line (Argo's log stream).
Status ApiClient::stream(const std::string& path, const std::function<void(const std::string&)>& line) {
  std::string partial;
  long status = 0;
  Status s = perform("GET", path, nullptr, [&](const char* d, size_t n) {
    partial.append(d, n);
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      line(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
    return true;
  }, &status);
  if (s && status >= 400) return Status(Code::kFailed, "HTTP " + std::to_string(status) + ": " + partial);
  return s;
}

Status ApiClient::perform(const std::string& method, const std::string& path, const Json* body, Sink sink, long* status) {
  CURL* curl = curl_easy_init();
  if (!curl) return internal_error("cannot initialise libcurl");
  std::string url = base_ + path;
  std::string payload = body ? body->dump() : "";
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!auth_.empty()) headers = curl_slist_append(headers, ("Authorization: " + auth_).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  if (insecure_) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    std::string hint = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION
                           ? " (a plain-HTTP server wants --secure=false; a self-signed certificate -k)"
                           : "";
    return Status(Code::kUnavailable, base_ + ": " + curl_easy_strerror(rc) + hint);
  }
  return Status::ok();
}

}  // namespace skiff::cli
