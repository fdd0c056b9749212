// ServiceProxy: a Service's ports published on 127.0.0.1 — each one a TCP listener (its
// nodePort when given, else the port it had before, else an ephemeral one) whose
// connections are forwarded to the ready Pods the Service selects, in turn (round robin).
//
// Owned by the workload controller, which calls publish()/withdraw() from its thread with
// the current backends; each listener has an accept thread and each connection a thread
// pumping both ways (poll, 64 KiB buffers), ended when either side closes or the listener
// is withdrawn. Connections beyond 256 per listener are refused. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::machine {

struct Backend {
  std::string ip;
  int port = 0;
};

class ServiceProxy {
 public:
  ServiceProxy() = default;
  ~ServiceProxy();  // withdraws every listener
  ServiceProxy(const ServiceProxy&) = delete;
  ServiceProxy& operator=(const ServiceProxy&) = delete;

  // Publishes `key` ("<namespace>/<service>/<port>") on 127.0.0.1:`want` (0: any free port;
  // kept while published) with these backends, or updates its backends. Returns the port
  // it listens on, or why it cannot (a port in use: kUnavailable naming it).
  Result<int> publish(const std::string& key, int want, std::vector<Backend> backends);
  // Stops listening on `key`'s port and closes its connections.
  void withdraw(const std::string& key);
  // The keys published now.
  std::vector<std::string> keys() const;

 private:
  struct Listener;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Listener>> listeners_;
};

}  // namespace skiff::machine
