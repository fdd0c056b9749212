// LockManager: Argo's local mutexes and semaphores (spec/synchronization.h), shared by every
// workflow one Runner runs — all of a server's, or the one of `skiff run`, whose templates
// still contend with each other.
//
// A holder is a workflow ("<namespace>/<name>") or one of its nodes ("<namespace>/<name>/<node
// id>"), as Argo's holder keys. A request names every lock it needs and gets them all or
// none. Each lock keeps its holders and a queue of waiters ordered as Argo's: higher
// workflow priority first, then older workflow, then who asked first; a waiter may take a
// lock only from the front of its queue (the first `limit - held` of it), so a waiter for
// several locks holds up those behind it on each, as in Argo. A mutex's limit is 1; a
// semaphore's is its ConfigMap value, read again (LimitFn) at every try so that a changed
// limit counts. Single-threaded: the Runner's thread owns it. No I/O itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spec/synchronization.h"
#include "util/status.h"

namespace skiff::server {

class LockManager {
 public:
  // A semaphore's limit (its ConfigMap value); an error says why there is none.
  using LimitFn = std::function<Result<int64_t>(const spec::LockRef&)>;
  explicit LockManager(LimitFn limit) : limit_(std::move(limit)) {}

  struct Request {
    std::string holder;
    std::vector<spec::LockRef> locks;
    int64_t priority = 0;
    int64_t created_ms = 0;
  };
  struct Answer {
    enum class Kind { kAcquired, kWaiting, kFailed } kind = Kind::kAcquired;
    std::string lock;     // waiting: the lock it waits for (Argo's name)
    std::string message;  // waiting: Argo's "Waiting for <lock> lock. Lock status: 0/1"; failed: why
  };

  // Takes every lock of the request, or queues the holder for them (again: an answer to a
  // holder already waiting or holding is as fresh as this call).
  Answer acquire(const Request& request);
  // The holder's locks and places in queues go; the holders that may take a lock now, with
  // what each gets (best first). Nothing held or queued: nothing happens.
  std::vector<std::pair<std::string, Answer>> release(const std::string& holder);
  // Everything a workflow ("<namespace>/<name>") and its nodes hold or wait for (the run
  // ended, whatever its engine said), with what others now get.
  std::vector<std::pair<std::string, Answer>> release_workflow(const std::string& workflow);
  // After a restart: the holders a workflow's stored status.synchronization says it held
  // get them back before anyone asks, so no one takes a lock a running step holds.
  void restore(const std::string& workflow, const std::string& status_synchronization_json);

  // status.synchronization of a workflow as Argo writes it: {mutex: {holding: [{mutex,
  // holder}], waiting: [{mutex, holder}]}, semaphore: {holding: [{semaphore, holders}],
  // waiting: [{semaphore, holders}]}}; "" when it holds and waits for nothing.
  std::string status_json(const std::string& workflow) const;
  // Workflows whose status_json may have changed since the last call.
  std::set<std::string> take_changed() { return std::exchange(changed_, {}); }

  // "<namespace>/<name>" of a holder key.
  static std::string workflow_of(const std::string& holder);

 private:
  // Queue order: priority (higher first), creation (older first), arrival.
  using QueueKey = std::tuple<int64_t, int64_t, uint64_t, std::string>;
  struct Lock {
    bool mutex = true;
    int64_t limit = 1;
    std::vector<std::string> holders;  // in the order they took it
    std::set<QueueKey> queue;
    std::map<std::string, size_t> queued_workflows;  // workflow -> its entries in `queue`
  };
  struct Waiter {
    Request request;
    QueueKey key;
  };
  Lock& lock_for(const spec::LockRef& ref, const std::string& name);
  void dequeue(const std::string& holder);
  // Every waiter that may take a lock of `names` now, tried in queue order.
  std::vector<std::pair<std::string, Answer>> wake(const std::set<std::string>& names);
  void touch(const Lock& lock);
  static void enqueue(Lock& lock, const QueueKey& key);
  static bool unqueue(Lock& lock, const QueueKey& key);

  LimitFn limit_;
  std::map<std::string, Lock> locks_;  // by Argo's lock name
  std::map<std::string, Waiter> waiting_;  // by holder
  std::set<std::string> changed_;
  uint64_t arrivals_ = 0;
};

}  // namespace skiff::server
