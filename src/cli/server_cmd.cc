// skiff server: Argo Server's API on this machine, running the workflows it is given.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "cli/system_clock.h"
#include "runtime/container_executor.h"
#include "runtime/host_executor.h"
#include "server/api.h"

namespace skiff::cli {
namespace {

struct ServerFlags {
  std::string data_dir;
  std::string db;
  std::string host = "127.0.0.1";
  int port = 2746;
  std::string executor;
  std::string auth_mode = "server";
  bool secure = false;
  std::string tls_cert, tls_key;
  RegistryFlags registry;
};

int serve(const ServerFlags& f) {
  std::string data = f.data_dir.empty() ? default_data_dir() : f.data_dir;
  if (f.auth_mode != "server") {
    std::fprintf(stderr, "error: --auth-mode %s is not available yet; use --auth-mode server (loopback only)\n",
                 f.auth_mode.c_str());
    return kExitInvalid;
  }
  if (f.host != "127.0.0.1" && f.host != "localhost" && f.host != "::1") {
    std::fprintf(stderr, "error: --auth-mode server has no client authentication: it listens on loopback only "
                         "(--host %s refused)\n", f.host.c_str());
    return kExitInvalid;
  }
  if (f.secure && (f.tls_cert.empty() || f.tls_key.empty())) {
    std::fprintf(stderr, "error: --secure needs --tls-cert and --tls-key\n");
    return kExitInvalid;
  }
  // The executor first: it enters a private mount namespace, which needs a single thread.
  runtime::ExecutorOptions exec;
  exec.run_dir = data + "/executor";
  exec.data_dir = data;
  runtime::ContainerOptions container;
  std::string kind = f.executor;
  if (kind.empty()) kind = runtime::probe_containers(container) ? "container" : "host";
  Result<std::unique_ptr<runtime::Executor>> executor = Status(Code::kInternal, "no executor");
  if (kind == "container") {
    auto registry = registry_config(f.registry);
    if (!registry) {
      std::fprintf(stderr, "error: %s\n", registry.status().message().c_str());
      return kExitInvalid;
    }
    container.registry = std::move(*registry);
    executor = runtime::make_container_executor(exec, container);
  } else {
    executor = runtime::make_host_executor(exec);
  }
  if (!executor) {
    std::fprintf(stderr, "error: %s\n", executor.status().message().c_str());
    return kExitInternal;
  }
  auto store = store::Store::open(f.db.empty() ? "sqlite:" + data + "/skiff.db" : f.db);
  if (!store) {
    std::fprintf(stderr, "error: %s\n", store.status().message().c_str());
    return kExitInternal;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started from here on
  SystemClock clock;
  server::ServerOptions options;
  options.host = f.host;
  options.port = f.port;
  options.data_dir = data;
  if (f.secure) {
    options.tls_cert = f.tls_cert;
    options.tls_key = f.tls_key;
  }
  server::Server srv(options, **store, **executor, clock);
  std::thread([&srv, signals] {
    int sig;
    sigwait(&signals, &sig);
    srv.stop();
  }).detach();
  std::fprintf(stderr, "skiff server: %s://%s:%d, %s executor, %s store in %s\n", f.secure ? "https" : "http",
               f.host.c_str(), f.port, kind.c_str(), (*store)->backend(), data.c_str());
  if (Status s = srv.run(); !s) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return kExitInternal;
  }
  return kExitOk;
}

}  // namespace

void add_server_command(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ServerFlags>();
  auto* cmd = app.add_subcommand("server", "serve Argo Server's API and run the workflows it is given");
  cmd->add_option("--data", f->data_dir, "data directory (default $SKIFF_DATA or ~/.local/state/skiff)");
  cmd->add_option("--db", f->db, "sqlite:PATH (default <data>/skiff.db) or postgres://USER@HOST:PORT/DB");
  cmd->add_option("--host", f->host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", f->port, "port (default 2746; 0 picks a free one)");
  cmd->add_option("--executor", f->executor, "container (default when runc is usable) or host")
      ->check(CLI::IsMember({"host", "container"}));
  cmd->add_option("--auth-mode", f->auth_mode, "server: no client authentication, loopback only");
  cmd->add_flag("--secure", f->secure, "serve HTTPS (with --tls-cert and --tls-key)");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate for --secure");
  cmd->add_option("--tls-key", f->tls_key, "PEM key for --secure");
  add_registry_flags(cmd, &f->registry);
  cmd->callback([f, exit_code] { *exit_code = serve(*f); });
}

}  // namespace skiff::cli
