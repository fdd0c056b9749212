// ApiClient: the client commands' way to a server's REST API (skiff server or Argo Server)
// over net::HttpClient, with the argo CLI's flags and environment for where and who:
// --argo-server HOST:PORT (ARGO_SERVER, default localhost:2746), --secure (ARGO_SECURE,
// default true as in the argo CLI), -k (ARGO_INSECURE_SKIP_VERIFY), --token (ARGO_TOKEN,
// with or without "Bearer "). One request at a time; not shared between threads.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "util/status.h"

namespace CLI {
class App;
}

namespace skiff::net {
class HttpClient;
}

namespace skiff::cli {

using Json = nlohmann::ordered_json;

struct Connection {
  std::string server;  // "" = ARGO_SERVER or localhost:2746
  std::string token;   // "" = ARGO_TOKEN
  bool secure = true;
  bool insecure = false;
};

// Adds --argo-server/-s, --token, --secure and -k to `cmd`, bound to `c` (whose secure and
// insecure start from ARGO_SECURE / ARGO_INSECURE_SKIP_VERIFY).
void add_connection_flags(CLI::App* cmd, Connection& c);
Connection connection_from_env();
std::string env_or(const char* name, const std::string& fallback);

// Prints an object as YAML (`output` "yaml") or indented JSON (anything else).
void print_object(const Json& j, const std::string& output);

class ApiClient {
 public:
  explicit ApiClient(const Connection& c);
  ~ApiClient();
  // Sends a request; an error reply becomes a Status (404 kNotFound, 409 kAlreadyExists,
  // 400 kInvalid) carrying the server's message.
  Result<Json> call(const std::string& method, const std::string& path, const Json* body = nullptr);
  // Streams a response line by line (Argo's log stream).
  Status stream(const std::string& path, const std::function<void(const std::string&)>& line);

 private:
  std::string base_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace skiff::cli
