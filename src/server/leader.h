// LeaderElection: which of the skiff servers sharing one PostgreSQL database is the
// leader, the one that runs workflows and controllers; the others forward the API to it
// (follower_proxy.h, docs/failover.md).
//
// The leader holds a session-level advisory lock on a connection of its own. When its
// process dies, however abruptly, PostgreSQL sees that connection close and releases the
// lock at once, and the next follower to try takes it. The leader writes where it serves
// (its advertised URL) to the table skiff_leader, so followers know where to forward.
// A leader that finds its lock gone (its session was lost, and with it the lock) must
// stop acting at once: another server may already lead.
//
// Not thread-safe: one thread (the election loop of `skiff server`) uses it.
#pragma once

#include <memory>
#include <string>

#include "util/status.h"

namespace skiff::store {
class Db;
}

namespace skiff::server {

class LeaderElection {
 public:
  // Opens a connection of its own to `db_url` (postgres://...).
  static Result<std::unique_ptr<LeaderElection>> open(const std::string& db_url);
  explicit LeaderElection(std::unique_ptr<store::Db> db);
  ~LeaderElection();

  // Tries once, without waiting, to become the leader: true when this server is.
  Result<bool> try_acquire();
  // Whether this server's session still holds the lock (false after a lost connection,
  // which the connection may have silently replaced with a new session).
  Result<bool> holds();
  // Records where the leader serves (the leader only).
  Status advertise(const std::string& url);
  // Where the current leader serves, as it advertised; "" when none has yet.
  Result<std::string> leader_url();

 private:
  std::unique_ptr<store::Db> db_;
};

}  // namespace skiff::server
