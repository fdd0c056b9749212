// The server: Argo Server's REST API over the store, with a Runner thread executing the
// workflows it accepts (cpp-httplib; see docs/server.md).
//
// Threads: each client connection has its own (connections.h), which decodes, validates
// and reads (the store serialises itself); one runner thread owns the Runner and the
// executor, taking submissions from a queue. The executor must be made before any thread
// starts (it enters a private mount namespace), which is why it is passed in.
#pragma once

#include <memory>
#include <string>

#include "engine/operator.h"
#include "runtime/executor.h"
#include "store/store.h"
#include "util/status.h"

namespace skiff::kube {
class Client;
}

namespace skiff::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 2746;
  std::string data_dir;
  std::string base_url;            // for links; default http(s)://host:port
  std::string tls_cert, tls_key;   // both set: HTTPS
  size_t max_body = 8 << 20;       // request size limit
  size_t max_connections_per_client = 512;  // by client address (see connections.h)
  size_t max_streams_per_client = 256;      // open log, watch and event streams
  bool require_token = true;       // --auth-mode client: Bearer tokens (tokens.h)
  size_t max_steps = 0;            // steps running at once across workflows (0: no limit)
  size_t max_nodes = 0;            // nodes in one workflow (0: no limit)
  std::string executor = "host";   // the executor's kind, for the pod-level fields it ignores
  std::string ui_dir;              // the web UI's build ("" = none: `/` says how to build it)
  std::shared_ptr<kube::Client> cluster;  // where Applications deploy non-skiff kinds (null: none)
  int64_t app_resync_ms = 180'000;        // each Application's reconcile period (app_controller.h)
  bool app_controller = true;             // false: serve Applications' API only (--no-app-controller)
  // With no cluster: the executor this machine's workloads run on (a container executor,
  // made before any thread: machine/controller.h), or null with the reason in
  // `machine_unavailable` (Applications' other kinds then fail saying it).
  std::shared_ptr<runtime::Executor> machine_executor;
  std::string machine_unavailable;
  // Which server this is, for GET /healthz: "single" (no election: SQLite), or "leader" of
  // servers sharing PostgreSQL (leader.h), serving at `advertise_url`.
  std::string role = "single";
  std::string advertise_url;
};

class Server {
 public:
  Server(ServerOptions options, store::Store& store, runtime::Executor& executor, const engine::Clock& clock);
  ~Server();
  // Binds and serves until stop(); returns why it could not bind.
  Status run();
  // The port actually bound (after run() started; useful with port 0).
  int port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skiff::server
