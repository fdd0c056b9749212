// Network: one network namespace per container step, attached to a host bridge with the
// CNI bridge and host-local plugins (Debian's containernetworking-plugins), so steps reach
// the outside through NAT and each other by IP, as Pods do.
//
//   bridge skiff0, subnet 10.89.0.0/16 (gateway .1), IP reservations in /run/skiff/cni,
//   one MASQUERADE rule for the subnet, IPv4 forwarding on.
//
// Attaching costs two plugin runs (~14 ms of CPU), and detaching as much: close to what
// runc itself costs. So namespaces are recycled: when a step ends (its PID namespace, and so
// every socket of it, is gone), its attached namespace goes back to a small pool unless the
// step could have changed it (privileged, or CAP_NET_ADMIN). A worker thread keeps the pool
// from running dry.
// Without the plugins (or when set-up fails) steps still get a namespace of their own,
// with loopback only (bridge_status() says why).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "util/status.h"

namespace skiff::runtime {

struct NetworkOptions {
  std::string plugin_dir = "/usr/lib/cni";
  std::string bridge = "skiff0";
  std::string subnet = "10.89.0.0/16";
  std::string state_dir = "/run/skiff";
  size_t ready = 2;  // namespaces the worker keeps attached ahead of need
  size_t keep = 16;  // recycled namespaces kept at most
};

struct Attachment {
  std::string id;     // the CNI container id
  std::string netns;  // path of the namespace file, for runc's config
  std::string ip;     // the step's address ("" with loopback only)
};

class Network {
 public:
  explicit Network(NetworkOptions options);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // A namespace of its own for one step, attached to the bridge (if the bridge works).
  Result<Attachment> attach();
  // Gives a finished step's namespace back: recycled if `reusable`, else detached.
  // Safe to call from any thread.
  void release(Attachment attachment, bool reusable);
  // Releases the address and removes the namespace. Safe to call from any thread.
  void detach(const Attachment& attachment) const;
  const Status& bridge_status() const { return bridge_; }

 private:
  Status setup();
  Result<Attachment> create();
  void keep_ready();
  std::string cni_config() const;
  int plugin(const std::string& command, const std::string& id, const std::string& netns, std::string* out) const;

  NetworkOptions options_;
  Status bridge_;  // ok when steps get outbound connectivity
  std::mutex mu_;
  std::condition_variable wanted_;
  std::deque<Attachment> ready_;
  uint64_t created_ = 0;
  bool stopping_ = false;
  std::thread worker_;  // keeps ready_ full
};

}  // namespace skiff::runtime
