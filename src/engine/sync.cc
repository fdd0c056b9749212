// Synchronization, the engine's half: a call (or the workflow) whose `synchronization`
// names mutexes or semaphores asks for them with AcquireLock and waits, Pending, until the
// owner's lock manager says it holds them; it gives them back with ReleaseLock when its node
// (or the workflow) ends, and its place in their queues when it stops waiting.
//
// Worked example, a mutexed template in a loop of three: execute() parks each child — a
// Pending node and an AcquireLock each. The manager grants the first (lock_acquired: the
// call proceeds and its node is taken over by the pod it runs) and tells the other two
// they wait (lock_waiting: their message "Waiting for default/Mutex/m lock. Lock status:
// 0/1"). When the first pod's node finishes, finish() sends ReleaseLock; the manager grants
// the next in its queue, and so on.
#include <algorithm>

#include "engine/engine_impl.h"
#include "expr/template.h"

namespace skiff::engine::detail {
namespace {

NodeType parked_type(const spec::Template& t) {
  switch (t.type) {
    case spec::TemplateType::kSteps: return NodeType::kSteps;
    case spec::TemplateType::kDag: return NodeType::kDag;
    case spec::TemplateType::kSuspend: return NodeType::kSuspend;
    case spec::TemplateType::kHttp: return NodeType::kHttp;
    default: return NodeType::kPod;
  }
}

}  // namespace

// The locks, their names and namespaces resolved in the workflow's scope (names may use
// {{workflow.parameters.X}}); inputs of the template are not bound yet at this point.
Result<std::vector<spec::LockRef>> OperatorImpl::locks_of(const std::string& json) const {
  auto locks = spec::parse_synchronization(json, options_.namespace_);
  if (!locks) return locks.status();
  for (auto& l : *locks)
    for (std::string* field : {&l.namespace_, &l.name, &l.key}) {
      auto v = expr::substitute(*field, global_);
      if (!v) return invalid("synchronization: " + v.status().message());
      *field = std::move(*v);
    }
  return locks;
}

bool OperatorImpl::park_for_lock(Call& call) {
  if (call.tmpl->synchronization_json.empty() || call.attempt >= 0) return false;  // a retry's attempts: the Retry node holds them
  if (stopping_ && !call.exit_handler) return false;  // run_template ends it with the stop's message
  if (options_.replayed.count(call.id)) return false;  // finished before a restart: answered from the store
  auto locks = locks_of(call.tmpl->synchronization_json);
  if (!locks) {
    finish(add_node(call, parked_type(*call.tmpl), NodePhase::kPending), NodePhase::kError,
           "requested configuration is invalid: " + locks.status().message());
    return true;
  }
  Node& n = add_node(call, parked_type(*call.tmpl), NodePhase::kPending);
  std::string id = n.id;
  lock_parked_.insert(id);
  actions_.push_back(AcquireLock{id, std::move(*locks), spec_.priority.value_or(0), status_.started_at_ms});
  lock_waiting_.emplace(id, std::move(call));
  return true;
}

bool OperatorImpl::park_workflow_for_lock() {
  if (spec_.synchronization_json.empty()) return false;
  auto locks = locks_of(spec_.synchronization_json);
  if (!locks) {
    lock_failed("", "requested configuration is invalid: " + locks.status().message());
    return true;
  }
  workflow_waits_ = true;
  actions_.push_back(AcquireLock{"", std::move(*locks), spec_.priority.value_or(0), status_.started_at_ms});
  return true;
}

Node* OperatorImpl::adopt_parked(const std::string& id, NodeType type, NodePhase phase, const std::string& message) {
  auto it = lock_parked_.find(id);
  if (it == lock_parked_.end() || lock_waiting_.count(id)) return nullptr;
  lock_parked_.erase(it);
  Node* n = find(id);
  if (!n) return nullptr;
  n->type = type;
  n->phase = phase;
  n->message = message;
  n->sync_waiting.clear();
  if (is_finished(phase)) n->finished_at_ms = now();
  changed(*n);
  return n;
}

void OperatorImpl::lock_acquired(const std::string& holder) {
  if (holder.empty()) {
    if (!workflow_waits_ || done_) {
      actions_.push_back(ReleaseLock{""});
      return;
    }
    workflow_waits_ = false;
    lock_holders_.insert("");
    status_.phase = WorkflowPhase::kRunning;
    status_.message.clear();
    if (observer_) observer_->workflow_changed(status_);
    begin_entry();
    return;
  }
  auto it = lock_waiting_.find(holder);
  if (it == lock_waiting_.end()) {  // it stopped waiting meanwhile
    actions_.push_back(ReleaseLock{holder});
    return;
  }
  Call call = std::move(it->second);
  lock_waiting_.erase(it);
  lock_holders_.insert(holder);
  if (Node* n = find(holder); n && (!n->message.empty() || !n->sync_waiting.empty())) {
    n->message.clear();
    n->sync_waiting.clear();
    changed(*n);
  }
  proceed(std::move(call));
}

void OperatorImpl::lock_waiting(const std::string& holder, const std::string& lock, const std::string& message) {
  if (holder.empty()) {
    if (!workflow_waits_ || status_.message == message) return;
    status_.message = message;
    if (observer_) observer_->workflow_changed(status_);
    return;
  }
  Node* n = find(holder);
  if (!n || !lock_waiting_.count(holder) || (n->message == message && n->sync_waiting == lock)) return;
  n->message = message;
  n->sync_waiting = lock;
  changed(*n);
}

void OperatorImpl::lock_failed(const std::string& holder, const std::string& message) {
  if (holder.empty()) {
    if (done_) return;
    workflow_waits_ = false;
    status_.phase = WorkflowPhase::kFailed;
    status_.message = "Failed to acquire the synchronization lock. " + message;
    status_.finished_at_ms = now();
    done_ = true;
    timers_.clear();
    if (observer_) observer_->workflow_changed(status_);
    return;
  }
  if (!lock_waiting_.erase(holder)) return;
  lock_parked_.erase(holder);
  if (Node* n = find(holder)) {
    n->sync_waiting.clear();
    finish(*n, NodePhase::kError, message);
  }
}

void OperatorImpl::set_synchronization_status(const std::string& json) {
  if (status_.synchronization_json == json) return;
  status_.synchronization_json = json;
  if (observer_) observer_->workflow_changed(status_);
}

void OperatorImpl::release_locks(const std::string& holder) {
  if (lock_holders_.erase(holder)) actions_.push_back(ReleaseLock{holder});
}

void OperatorImpl::release_all_locks() {
  for (const auto& holder : std::exchange(lock_holders_, {})) actions_.push_back(ReleaseLock{holder});
}

// Argo fails the nodes still waiting for a lock when the workflow shuts down; a workflow
// that never got its own locks ends at once.
void OperatorImpl::end_lock_waiters(const std::string& reason) {
  std::vector<std::string> waiting;
  for (const auto& [id, call] : lock_waiting_)
    if (!call.exit_handler) waiting.push_back(id);
  std::sort(waiting.begin(), waiting.end());
  for (const auto& id : waiting) {
    lock_waiting_.erase(id);
    lock_parked_.erase(id);
    actions_.push_back(ReleaseLock{id});
    if (Node* n = find(id)) {
      n->sync_waiting.clear();
      finish(*n, NodePhase::kFailed, reason);
    }
  }
  if (workflow_waits_) {
    workflow_waits_ = false;
    actions_.push_back(ReleaseLock{""});
    finish_workflow();
  }
}

}  // namespace skiff::engine::detail
