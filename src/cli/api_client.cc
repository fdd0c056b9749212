#include "cli/api_client.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/yaml_emit.h"
#include "net/http_client.h"

namespace skiff::cli {
namespace {

bool env_true(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::string(v) == "true" || std::string(v) == "1";
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
  net::ClientOptions o;
  o.bearer_token = f.token.empty() ? env_or("ARGO_TOKEN", "") : f.token;
  if (o.bearer_token.rfind("Bearer ", 0) == 0) o.bearer_token.erase(0, 7);
  o.tls.insecure_skip_verify = f.insecure;
  o.proxy_from_env = true;
  o.hint = [](net::Failure failure, const std::string&) -> std::string {
    if (failure != net::Failure::kTlsHandshake && failure != net::Failure::kTlsVerify) return "";
    return "a plain-HTTP server wants --secure=false; a self-signed certificate -k";
  };
  http_ = std::make_unique<net::HttpClient>(std::move(o));
}

ApiClient::~ApiClient() = default;

// Sends a request; a JSON error body becomes a Status with its message.
Result<Json> ApiClient::call(const std::string& method, const std::string& path, const Json* body) {
  net::Request req;
  req.method = method;
  req.url = base_ + path;
  req.headers = {{"Content-Type", "application/json"}};
  if (body) req.body = body->dump();
  req.max_body = 64 << 20;
  auto r = http_->send(req);
  if (!r) return r.status();
  Json j = Json::parse(r->body.empty() ? "{}" : r->body, nullptr, false);
  if (r->status >= 400) {
    std::string message = j.is_object() && j.contains("message") ? j["message"].get<std::string>() : r->body;
    Code code = r->status == 404 ? Code::kNotFound : r->status == 409 ? Code::kAlreadyExists
              : r->status == 400 ? Code::kInvalid : Code::kFailed;
    return Status(code, message + " (HTTP " + std::to_string(r->status) + ")");
  }
  if (j.is_discarded()) return Status(Code::kFailed, "the server answered with something that is not JSON");
  return j;
}

// Streams a response line by line (Argo's log stream); an error's body is its message.
Status ApiClient::stream(const std::string& path, const std::function<void(const std::string&)>& line) {
  std::string partial;
  net::Request req;
  req.url = base_ + path;
  req.headers = {{"Content-Type", "application/json"}};
  req.max_body = 64 << 10;
  req.on_body = [&](const char* d, size_t n) {
    partial.append(d, n);
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
      line(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
    return true;
  };
  auto r = http_->send(req);
  if (!r) return r.status();
  if (r->status >= 400) return Status(Code::kFailed, "HTTP " + std::to_string(r->status) + ": " + r->body);
  return Status::ok();
}

void print_object(const Json& j, const std::string& output) {
  if (output == "yaml") {
    YAML::Emitter out;
    emit_yaml(out, j);
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("%s\n", j.dump(2).c_str());
  }
}

}  // namespace skiff::cli
