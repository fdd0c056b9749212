// LeaderElection: which of the skiff servers sharing one PostgreSQL database is the
// leader, the one that runs workflows and controllers; the others forward the API to it
// (follower_proxy.h, docs/failover.md). Two ways to hold the leadership:
//
// - A PostgreSQL advisory lock (postgres_election), when no cluster is configured. The
//   leader holds a session-level lock on a connection of its own; when its process dies,
//   however abruptly, PostgreSQL sees the connection close and frees the lock at once. The
//   leader writes its advertised URL to the table skiff_leader.
// - A Kubernetes Lease (lease_election), when one is (--kubeconfig, $KUBECONFIG, or a
//   server in a Pod), as Kubernetes' own controllers elect theirs. The leader renews the
//   Lease every second; a follower takes it once it has seen no renewal for the lease's
//   duration (measured on its own clock, so clocks need not agree). The advertised URL is
//   an annotation of the Lease.
//
// Either way a leader that finds it no longer holds the leadership (its session lost, its
// Lease taken or not renewed in time) must stop acting at once: another server may
// already lead.
//
// Not thread-safe: one thread (the election loop of `skiff server`) uses one at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "util/status.h"

namespace skiff::kube {
struct ClusterConfig;
}

namespace skiff::server {

class LeaderElection {
 public:
  virtual ~LeaderElection() = default;

  // Tries once, without waiting, to become the leader: true when this server is.
  virtual Result<bool> try_acquire() = 0;
  // Whether this server still leads (the Lease: renews it). False means stop now.
  virtual Result<bool> holds() = 0;
  // Records where the leader serves (the leader only).
  virtual Status advertise(const std::string& url) = 0;
  // Where the current leader serves, as it advertised; "" when none has yet.
  virtual Result<std::string> leader_url() = 0;
  // Gives the leadership up on a clean stop, so a follower need not wait for it to lapse.
  virtual void release() {}
  // How the leadership is held, for messages: "PostgreSQL advisory lock", "Lease ns/name".
  virtual std::string describe() const = 0;
};

// Opens a connection of its own to `db_url` (postgres://...).
Result<std::unique_ptr<LeaderElection>> postgres_election(const std::string& db_url);

struct LeaseTiming {
  // A follower takes the Lease once it has seen it unrenewed this long.
  std::chrono::milliseconds duration{10000};
  // The leader gives up (holds() false) once it has failed to renew for this long: well
  // before a follower may take over.
  std::chrono::milliseconds renew_deadline{6000};
};

// The Lease `name` in `namespace_` (coordination.k8s.io/v1) on `cluster`, created when
// missing. `identity` must be unique to this server process. Each API call is tried once,
// for at most 2 s: the leader must know in time that it can no longer renew.
std::unique_ptr<LeaderElection> lease_election(const kube::ClusterConfig& cluster, std::string namespace_,
                                               std::string name, std::string identity, LeaseTiming timing = {});

// hostname-pid-random: a Lease holder identity no other server process has.
std::string unique_identity();

}  // namespace skiff::server
