// skiff server: Argo Server's API on this machine, running the workflows it is given.
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "cli/system_clock.h"
#include "kube/client.h"
#include "runtime/container_executor.h"
#include "runtime/fd.h"
#include "server/api.h"
#include "server/follower_proxy.h"
#include "server/leader.h"
#include "server/ui_routes.h"
#include "server/tls.h"
#include "server/tokens.h"

namespace skiff::cli {
namespace {

struct ServerFlags {
  std::string data_dir;
  std::string db;
  std::string host = "127.0.0.1";
  int port = 2746;
  size_t max_steps = 0;  // 0: as many as the open-file limit allows (steps_for_open_files)
  size_t max_nodes = 200000;
  size_t max_connections_per_client = server::ServerOptions().max_connections_per_client;
  size_t max_streams_per_client = server::ServerOptions().max_streams_per_client;
  size_t max_log_bytes = 256 << 20;
  std::string ui_dir;
  std::string advertise_url;
  std::string executor;
  std::string auth_mode = "client";
  bool allow_remote_without_auth = false;
  bool allow_host_path = false;
  bool allow_privileged = false;
  bool secure = false;
  std::string tls_cert, tls_key;
  RegistryFlags registry;
  ClusterFlags cluster;
  int64_t app_resync_s = 180;
  bool no_app_controller = false;
};

// Each running step holds a few descriptors in the server (its supervisor's pidfd and
// pipe, its log while read): past the open-file limit, further steps could not even start
// ("Too many open files"). Steps beyond this many wait for a slot instead. Call after the
// executor has raised the soft limit.
size_t steps_for_open_files() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  constexpr rlim_t kReserved = 512, kPerStep = 8;  // the server's own (HTTP, store); margin
  return rl.rlim_cur > kReserved + 16 * kPerStep ? (rl.rlim_cur - kReserved) / kPerStep : 16;
}

// SIGINT/SIGTERM, heard by one thread, stop whatever serves at the time: they wake the
// follower's loop (which stops its proxy), then stop the full server through its hook.
// Shared with a detached thread, hence held by shared_ptr.
class Stopper {
 public:
  // Calls `hook` on stop (at once if already stopped); a null hook forgets the last one.
  void on_stop(std::function<void()> hook) {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_ && hook) {
      lock.unlock();
      hook();
      return;
    }
    hook_ = std::move(hook);
  }
  void stop() {
    std::unique_lock<std::mutex> lock(mu_);
    stopped_ = true;
    auto hook = hook_;
    lock.unlock();
    cv_.notify_all();
    if (hook) hook();
  }
  // Waits up to `ms`; true once stopped.
  bool wait_for(int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped_; });
    return stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::function<void()> hook_;
};

std::string advertised(const ServerFlags& f, const server::ServerOptions& o, int port) {
  if (!f.advertise_url.empty()) return f.advertise_url;
  std::string host = o.host == "0.0.0.0" || o.host == "::" || o.host.empty() ? "127.0.0.1" : o.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(o.tls_cert.empty() ? "http" : "https") + "://" + host + ":" + std::to_string(port);
}

// A follower: serves the API by forwarding it to the leader (LeaderProxy) and tries for
// the lock every second. True once this server leads (its proxy stopped, its port in
// `options->port`); false when stopped first.
Result<bool> follow_until_leader(server::LeaderElection& election, server::ServerOptions* options, Stopper& stopper) {
  auto won = election.try_acquire();
  if (!won) return won.status();
  if (*won) return true;
  server::LeaderProxy proxy(*options);
  if (Status s = proxy.bind(); !s) return s;
  options->port = proxy.port();
  std::fprintf(stderr, "skiff server: follower on %s:%d: forwarding the API to the leader; taking over when it goes\n",
               options->host.c_str(), options->port);
  proxy.start();
  std::string leader;
  bool leading = false;
  for (;;) {
    if (auto url = election.leader_url(); url && *url != leader) {
      leader = *url;
      proxy.set_leader(leader);
      std::fprintf(stderr, "skiff server: the leader is at %s\n", leader.c_str());
    }
    if (stopper.wait_for(1000)) break;
    won = election.try_acquire();
    if (!won) {
      std::fprintf(stderr, "skiff server: leader election: %s (trying again)\n", won.status().message().c_str());
    } else if (*won) {
      leading = true;
      break;
    }
  }
  proxy.stop();
  return leading;
}

int serve(const ServerFlags& f) {
  // glibc raises its mmap and trim thresholds each time a big block is freed (up to 32
  // and 64 MB): after one large workflow, the next one's memory would stay with the
  // process once freed. Fixed thresholds keep handing it back.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  std::string data = f.data_dir.empty() ? default_data_dir() : f.data_dir;
  bool loopback = f.host == "127.0.0.1" || f.host == "localhost" || f.host == "::1";
  if (f.auth_mode == "server" && !loopback && !f.allow_remote_without_auth) {
    std::fprintf(stderr, "error: --auth-mode server lets anyone who reaches the port run anything: it listens on "
                         "loopback only (--host %s refused; --allow-remote-without-auth forces it)\n", f.host.c_str());
    return kExitInvalid;
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    std::fprintf(stderr, "error: give both --tls-cert and --tls-key (or neither: --secure makes a self-signed pair)\n");
    return kExitInvalid;
  }
  // The database, logs, secrets and tokens are the server's alone.
  if (Status s = runtime::make_private_dir(data); !s) {
    std::fprintf(stderr, "error: data directory: %s\n", s.message().c_str());
    return kExitInvalid;
  }
  // The executor first: it enters a private mount namespace, which needs a single thread.
  runtime::ExecutorOptions exec;
  exec.run_dir = data + "/executor";
  exec.data_dir = data;
  exec.detach_steps = true;  // steps outlive the server; a restarted one adopts them
  exec.max_log = f.max_log_bytes;
  // With tokens the server serves many namespaces: a hostPath or a privileged step would
  // give one the machine, and through it every other's data.
  bool tenants = f.auth_mode == "client";
  exec.allow_host_path = !tenants || f.allow_host_path;
  exec.allow_privileged = !tenants || f.allow_privileged;
  if (!f.tls_key.empty()) exec.private_paths.push_back(f.tls_key);
  if (f.db.rfind("sqlite:", 0) == 0) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) exec.private_paths.push_back(f.db.substr(7) + suffix);
  }
  std::string kind = f.executor;
  if (kind.empty()) kind = runtime::probe_containers(runtime::ContainerOptions{}) ? "container" : "host";
  auto cluster = cluster_client(f.cluster);
  if (!cluster) {
    std::fprintf(stderr, "error: %s\n", cluster.status().message().c_str());
    return kExitInvalid;
  }
  auto executor = make_executor(kind, f.registry, *cluster, exec, f.cluster);
  if (!executor) {
    std::fprintf(stderr, "error: %s\n", executor.status().message().c_str());
    return executor.status().code() == Code::kInvalid ? kExitInvalid : kExitInternal;
  }
  // With no cluster, Applications deploy to this machine: its workloads run as containers
  // on an executor of their own (whatever runs the steps), made now, before any thread.
  std::shared_ptr<runtime::Executor> machine_executor;
  std::string machine_unavailable;
  if (!*cluster && !f.no_app_controller) {
    runtime::ExecutorOptions workloads = exec;
    workloads.run_dir = data + "/machine/executor";
    workloads.detach_steps = false;  // they end with the server; a restart starts them again
    auto made = make_workload_executor(f.registry, workloads);
    if (made) machine_executor = std::move(*made);
    else machine_unavailable = made.status().message();
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
  auto stopper = std::make_shared<Stopper>();
  std::thread([stopper, signals] {
    int sig;
    sigwait(&signals, &sig);
    stopper->stop();
  }).detach();
  SystemClock clock;
  server::ServerOptions options;
  options.host = f.host;
  options.port = f.port;
  options.data_dir = data;
  options.require_token = f.auth_mode == "client";
  options.max_steps = f.max_steps ? f.max_steps : steps_for_open_files();
  options.max_nodes = f.max_nodes;
  options.executor = kind;
  options.max_connections_per_client = f.max_connections_per_client;
  options.max_streams_per_client = f.max_streams_per_client;
  options.ui_dir = f.ui_dir.empty() ? server::default_ui_dir() : f.ui_dir;
  options.cluster = *cluster;
  options.app_resync_ms = f.app_resync_s * 1000;
  options.app_controller = !f.no_app_controller;
  options.machine_executor = machine_executor;
  options.machine_unavailable = machine_unavailable;
  if (f.secure || !f.tls_cert.empty()) {
    options.tls_cert = f.tls_cert;
    options.tls_key = f.tls_key;
    if (options.tls_cert.empty()) {
      if (Status s = server::ensure_self_signed(data + "/tls", &options.tls_cert, &options.tls_key); !s) {
        std::fprintf(stderr, "error: %s\n", s.message().c_str());
        return kExitInternal;
      }
    }
  }
  // On PostgreSQL, servers sharing the database elect a leader (docs/failover.md); the
  // others forward the API to it until it goes. SQLite has one server: no election.
  // With a cluster configured the leadership is a Lease in the cluster (the managed
  // namespace, else the context's, or the server Pod's own), as Kubernetes' controllers
  // hold theirs: with --managed-namespace, the Role there covers the Lease as well.
  std::unique_ptr<server::LeaderElection> election;
  if (std::string((*store)->backend()) == "postgres") {
    if (*cluster) {
      std::string lease_ns = kind == "kubernetes" && !f.cluster.managed_namespace.empty()
                                 ? f.cluster.managed_namespace
                                 : (*cluster)->config().namespace_;
      election = server::lease_election((*cluster)->config(), lease_ns, "skiff-server", server::unique_identity());
    } else {
      auto opened = server::postgres_election(f.db);
      if (!opened) {
        std::fprintf(stderr, "error: %s\n", opened.status().message().c_str());
        return kExitInternal;
      }
      election = std::move(*opened);
    }
    std::fprintf(stderr, "skiff server: leader election through the %s\n", election->describe().c_str());
    auto leading = follow_until_leader(*election, &options, *stopper);
    if (!leading) {
      std::fprintf(stderr, "error: %s\n", leading.status().message().c_str());
      return leading.status().code() == Code::kUnavailable ? kExitInternal : kExitInvalid;
    }
    if (!*leading) return kExitOk;
    options.role = "leader";
    if (options.port != 0) options.advertise_url = advertised(f, options, options.port);
    std::fprintf(stderr, "skiff server: this server is the leader\n");
  }
  server::Server srv(options, **store, **executor, clock);
  stopper->on_stop([&srv] { srv.stop(); });
  // The leader says where it serves (once its port is bound), and checks every second that
  // it still holds the lock: a leader whose session was lost must stop at once, since
  // another server may already run the same workflows. Steps outlive it; whoever leads
  // next adopts them.
  std::thread watchdog;
  if (election) {
    watchdog = std::thread([&] {
      bool said = false;
      for (;;) {
        if (!said && srv.port() > 0) {
          std::string url = advertised(f, options, srv.port());
          if (Status s = election->advertise(url); !s) {
            std::fprintf(stderr, "skiff server: cannot record the leader's URL: %s\n", s.message().c_str());
          }
          said = true;
        }
        if (stopper->wait_for(said ? 1000 : 50)) return;
        auto held = election->holds();
        if (!held || !*held) {
          std::fprintf(stderr, "skiff server: lost the leadership (%s); exiting at once so that one server alone runs "
                               "workflows\n", held ? "no longer held" : held.status().message().c_str());
          std::_Exit(kExitInternal);
        }
      }
    });
  }
  std::fprintf(stderr, "skiff server: %s://%s:%d, %s executor, %s store in %s, auth mode %s\n",
               options.tls_cert.empty() ? "http" : "https", f.host.c_str(), options.port, kind.c_str(), (*store)->backend(), data.c_str(),
               f.auth_mode.c_str());
  std::fprintf(stderr, "skiff server: web UI %s\n",
               options.ui_dir.empty() ? "not built (see scripts/build; / says how)" : ("from " + options.ui_dir).c_str());
  Status ran = srv.run();
  stopper->stop();  // ends the watchdog
  if (watchdog.joinable()) watchdog.join();
  if (election) election->release();  // a follower need not wait for it to lapse
  stopper->on_stop(nullptr);
  if (!ran) {
    std::fprintf(stderr, "error: %s\n", ran.message().c_str());
    return kExitInternal;
  }
  return kExitOk;
}

}  // namespace

void add_token_command(CLI::App& app, int* exit_code) {
  struct TokenFlags {
    std::vector<std::string> namespaces;
    std::string data_dir;
  };
  auto f = std::make_shared<TokenFlags>();
  auto* cmd = app.add_subcommand("token", "API tokens for skiff server");
  cmd->require_subcommand(1);
  auto* create = cmd->add_subcommand("create", "make a token and print it (it is shown only once)");
  create->add_option("-n,--namespace", f->namespaces, "namespace the token may use ('*' for all)")
      ->required()->allow_extra_args(false);
  create->add_option("--data", f->data_dir, "the server's data directory (default $SKIFF_DATA or ~/.local/state/skiff)");
  create->callback([f, exit_code] {
    auto token = server::create_token(f->data_dir.empty() ? default_data_dir() : f->data_dir, f->namespaces);
    if (!token) {
      std::fprintf(stderr, "error: %s\n", token.status().message().c_str());
      *exit_code = kExitInvalid;
      return;
    }
    std::printf("%s\n", token->c_str());
  });
}

void add_server_command(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ServerFlags>();
  auto* cmd = app.add_subcommand("server", "serve Argo Server's API and run the workflows it is given");
  cmd->add_option("--data", f->data_dir, "data directory (default $SKIFF_DATA or ~/.local/state/skiff)");
  cmd->add_option("--db", f->db, "sqlite:PATH (default <data>/skiff.db) or postgres://USER@HOST:PORT/DB");
  cmd->add_option("--host", f->host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", f->port, "port (default 2746; 0 picks a free one)");
  cmd->add_option("--advertise-url", f->advertise_url,
                  "with --db postgres: where the other servers reach this one when it leads (default "
                  "http(s)://HOST:PORT; set it when listening on all addresses)");
  cmd->add_option("--ui", f->ui_dir, "the web UI's files (default: ui/ beside the binary, or ../share/skiff/ui)");
  cmd->add_option("--max-log-bytes", f->max_log_bytes,
                  "bytes of each step's log kept (default 256 MiB; the rest is dropped with a note; 0: no cap)");
  cmd->add_option("--max-steps", f->max_steps,
                  "at most N steps running at once, free slots going to workflows in turn (default: what the "
                  "open-file limit allows, an eighth of it)");
  cmd->add_option("--max-nodes", f->max_nodes,
                  "at most N nodes in one workflow; one that would grow past it ends in Error (default 200000; 0: no limit)");
  cmd->add_option("--max-connections-per-client", f->max_connections_per_client,
                  "connections one client address may hold open (default 512; more are refused with 429)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-streams-per-client", f->max_streams_per_client,
                  "log, watch and event streams one client address may hold open (default 256; more get 429)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--executor", f->executor, "container (default when runc is usable), host, or kubernetes (steps as Pods on --kubeconfig's cluster)")
      ->check(CLI::IsMember({"host", "container", "kubernetes"}));
  cmd->add_option("--auth-mode", f->auth_mode, "client (default): Bearer tokens from `skiff token create`; server: none, loopback only")
      ->check(CLI::IsMember({"client", "server"}));
  cmd->add_flag("--allow-remote-without-auth", f->allow_remote_without_auth, "let --auth-mode server listen beyond loopback");
  cmd->add_flag("--allow-host-path", f->allow_host_path,
                "with --auth-mode client: let workflows mount host directories (hostPath) and, with --executor host, "
                "write the host's files");
  cmd->add_flag("--allow-privileged", f->allow_privileged,
                "with --auth-mode client: let workflows run privileged steps (securityContext.privileged)");
  cmd->add_flag("--secure", f->secure, "serve HTTPS (a self-signed certificate in <data>/tls unless --tls-cert/--tls-key)");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate for --secure");
  cmd->add_option("--tls-key", f->tls_key, "PEM key for --secure");
  add_registry_flags(cmd, &f->registry);
  add_cluster_flags(cmd, &f->cluster);
  cmd->add_option("--app-resync", f->app_resync_s, "seconds between reconciles of each Application (Argo CD's 180)")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--no-app-controller", f->no_app_controller,
                "serve the Applications' API without reconciling them (Argo CD's API server without its controller)");
  cmd->callback([f, exit_code] { *exit_code = serve(*f); });
}

}  // namespace skiff::cli
