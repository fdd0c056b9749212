// Argo's `synchronization` (on a workflow's spec or on a template): the mutexes and
// semaphores a workflow or node must hold while it runs, decoded from the JSON the
// decoder kept (Template::synchronization_json, WorkflowSpec::synchronization_json).
//
// Stateless and thread-safe. What a lock is shared with, and its limit, is the lock
// manager's business (server/lock_manager.h); this only names the locks as Argo does.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace skiff::spec {

// One lock named by `synchronization`.
struct LockRef {
  bool mutex = true;        // a mutex (limit 1); else a semaphore whose limit is a ConfigMap value
  std::string namespace_;   // the lock's namespace: its `namespace` field, else the workflow's
  std::string name;         // the mutex's name, or the semaphore's ConfigMap
  std::string key;          // a semaphore's key in its ConfigMap
  bool operator==(const LockRef& o) const {
    return mutex == o.mutex && namespace_ == o.namespace_ && name == o.name && key == o.key;
  }
};

// The locks of a `synchronization` object (JSON), in Argo's order: semaphores (the plural
// list, then the deprecated single `semaphore`), then mutexes likewise. `workflow_namespace`
// is the namespace of locks that name none. Errors (kInvalid) name the field, relative to
// the synchronization object ("mutexes[0].name: ..."). `database` locks are refused: they
// share locks between controllers through a database, and skiff's locks live in one server.
Result<std::vector<LockRef>> parse_synchronization(const std::string& json, const std::string& workflow_namespace);

// Argo's name for a lock, as status.synchronization and the waiting message show it:
// "<namespace>/Mutex/<name>" or "<namespace>/ConfigMap/<configmap>/<key>".
std::string lock_name(const LockRef& lock);

}  // namespace skiff::spec
