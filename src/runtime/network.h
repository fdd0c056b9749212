// Network: one network namespace per container step, attached to a host bridge with the
// CNI bridge and host-local plugins (Debian's containernetworking-plugins), so steps reach
// the outside through NAT and each other by IP, as Pods do.
//
//   bridge skiff0, subnet 10.89.0.0/16 (gateway .1), IP reservations in /run/skiff/cni,
//   one MASQUERADE rule for the subnet, IPv4 forwarding on.
//
// Without the plugins (or when set-up fails) steps still get a namespace of their own,
// with loopback only; the reason is kept for the first step's log.
#pragma once

#include <string>

#include "util/status.h"

namespace skiff::runtime {

struct NetworkOptions {
  std::string plugin_dir = "/usr/lib/cni";
  std::string bridge = "skiff0";
  std::string subnet = "10.89.0.0/16";
  std::string state_dir = "/run/skiff";
};

struct Attachment {
  std::string netns;  // path of the namespace file, for runc's config
  std::string ip;     // the step's address ("" with loopback only)
};

class Network {
 public:
  explicit Network(NetworkOptions options);
  // Creates the namespace for container `id` and attaches it (if the bridge works).
  Result<Attachment> attach(const std::string& id);
  // Releases the address and removes the namespace. Safe to call from another thread.
  void detach(const std::string& id) const;
  const Status& bridge_status() const { return bridge_; }

 private:
  Status setup();
  std::string cni_config() const;
  int plugin(const std::string& command, const std::string& id, const std::string& netns, std::string* out) const;

  NetworkOptions options_;
  Status bridge_;  // ok when steps get outbound connectivity
};

}  // namespace skiff::runtime
