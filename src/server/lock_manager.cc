#include "server/lock_manager.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/json_text.h"

namespace skiff::server {

std::string LockManager::workflow_of(const std::string& holder) {
  size_t first = holder.find('/');
  if (first == std::string::npos) return holder;
  size_t second = holder.find('/', first + 1);
  return second == std::string::npos ? holder : holder.substr(0, second);
}

LockManager::Lock& LockManager::lock_for(const spec::LockRef& ref, const std::string& name) {
  auto [it, fresh] = locks_.try_emplace(name);
  if (fresh) it->second.mutex = ref.mutex;
  return it->second;
}

// Who sees a change of this lock in their status: its holders and those queued for it
// (by workflow: a loop of 10,000 waiters is one workflow to tell).
void LockManager::touch(const Lock& lock) {
  for (const auto& h : lock.holders) changed_.insert(workflow_of(h));
  for (const auto& [workflow, n] : lock.queued_workflows) changed_.insert(workflow);
}

void LockManager::enqueue(Lock& lock, const QueueKey& key) {
  if (lock.queue.insert(key).second) ++lock.queued_workflows[workflow_of(std::get<3>(key))];
}

bool LockManager::unqueue(Lock& lock, const QueueKey& key) {
  if (!lock.queue.erase(key)) return false;
  auto it = lock.queued_workflows.find(workflow_of(std::get<3>(key)));
  if (it != lock.queued_workflows.end() && --it->second == 0) lock.queued_workflows.erase(it);
  return true;
}

LockManager::Answer LockManager::acquire(const Request& r) {
  Answer answer;
  // Semaphores' limits first: a missing ConfigMap or key fails the request, as in Argo
  // (whose words lead the message), and leaves no trace in any queue.
  std::vector<std::pair<std::string, Lock*>> locks;
  for (const auto& ref : r.locks) {
    std::string name = spec::lock_name(ref);
    Lock& lock = lock_for(ref, name);
    if (!ref.mutex) {
      auto limit = limit_(ref);
      if (limit && *limit < 1)
        limit = invalid("the limit must be a positive integer, not " + std::to_string(*limit));
      if (!limit) {
        dequeue(r.holder);
        answer.kind = Answer::Kind::kFailed;
        answer.message = "failed to initialize semaphore " + name + " with limit: " + limit.status().message();
        return answer;
      }
      lock.limit = *limit;
    }
    locks.emplace_back(std::move(name), &lock);
  }
  auto w = waiting_.find(r.holder);
  if (w == waiting_.end()) {
    QueueKey key{-r.priority, r.created_ms, arrivals_++, r.holder};
    w = waiting_.emplace(r.holder, Waiter{r, key}).first;
  }
  const QueueKey& key = w->second.key;
  const std::string* blocked = nullptr;
  const Lock* blocked_lock = nullptr;
  for (auto& [name, lock] : locks) {
    if (std::find(lock->holders.begin(), lock->holders.end(), r.holder) != lock->holders.end()) continue;
    enqueue(*lock, key);
    int64_t free = lock->limit - static_cast<int64_t>(lock->holders.size());
    bool in_front = false;
    int64_t seen = 0;
    for (auto q = lock->queue.begin(); q != lock->queue.end() && seen < free; ++q, ++seen)
      if (*q == key) in_front = true;
    if (!in_front && !blocked) {
      blocked = &name;
      blocked_lock = lock;
    }
  }
  if (blocked) {
    answer.kind = Answer::Kind::kWaiting;
    answer.lock = *blocked;
    int64_t free = std::max<int64_t>(0, blocked_lock->limit - static_cast<int64_t>(blocked_lock->holders.size()));
    answer.message = "Waiting for " + *blocked + " lock. Lock status: " + std::to_string(free) + "/" +
                     std::to_string(blocked_lock->limit);
    changed_.insert(workflow_of(r.holder));
    return answer;
  }
  for (auto& [name, lock] : locks) {
    unqueue(*lock, key);
    if (std::find(lock->holders.begin(), lock->holders.end(), r.holder) == lock->holders.end())
      lock->holders.push_back(r.holder);
    touch(*lock);
  }
  waiting_.erase(w);
  changed_.insert(workflow_of(r.holder));
  return answer;
}

void LockManager::dequeue(const std::string& holder) {
  auto w = waiting_.find(holder);
  if (w == waiting_.end()) return;
  for (auto& [name, lock] : locks_) unqueue(lock, w->second.key);
  waiting_.erase(w);
}

std::vector<std::pair<std::string, LockManager::Answer>> LockManager::release(const std::string& holder) {
  std::set<std::string> names;
  auto w = waiting_.find(holder);
  for (auto& [name, lock] : locks_) {
    auto h = std::find(lock.holders.begin(), lock.holders.end(), holder);
    bool held = h != lock.holders.end();
    if (held) lock.holders.erase(h);
    bool queued = w != waiting_.end() && unqueue(lock, w->second.key);
    if (held || queued) {
      names.insert(name);
      touch(lock);
    }
  }
  if (w != waiting_.end()) waiting_.erase(w);
  changed_.insert(workflow_of(holder));
  return wake(names);
}

std::vector<std::pair<std::string, LockManager::Answer>> LockManager::release_workflow(const std::string& workflow) {
  std::set<std::string> holders;
  auto mine = [&](const std::string& h) { return h == workflow || h.rfind(workflow + "/", 0) == 0; };
  for (const auto& [name, lock] : locks_)
    for (const auto& h : lock.holders)
      if (mine(h)) holders.insert(h);
  for (const auto& [h, w] : waiting_)
    if (mine(h)) holders.insert(h);
  std::vector<std::pair<std::string, Answer>> out;
  for (const auto& h : holders)
    for (auto& a : release(h))
      if (!mine(a.first)) out.push_back(std::move(a));
  return out;
}

std::vector<std::pair<std::string, LockManager::Answer>> LockManager::wake(const std::set<std::string>& names) {
  std::vector<std::string> candidates;
  for (const auto& name : names) {
    auto it = locks_.find(name);
    if (it == locks_.end()) continue;
    const Lock& lock = it->second;
    int64_t free = lock.limit - static_cast<int64_t>(lock.holders.size());
    int64_t seen = 0;
    for (auto q = lock.queue.begin(); q != lock.queue.end() && seen < free; ++q, ++seen) {
      const std::string& h = std::get<3>(*q);
      if (std::find(candidates.begin(), candidates.end(), h) == candidates.end()) candidates.push_back(h);
    }
  }
  // Best first, as the queues order them.
  std::sort(candidates.begin(), candidates.end(),
            [&](const std::string& a, const std::string& b) { return waiting_.at(a).key < waiting_.at(b).key; });
  std::vector<std::pair<std::string, Answer>> out;
  for (const auto& h : candidates) {
    auto w = waiting_.find(h);
    if (w == waiting_.end()) continue;
    Request r = w->second.request;
    out.emplace_back(h, acquire(r));
  }
  return out;
}

void LockManager::restore(const std::string& workflow, const std::string& json) {
  auto sync = parse_json_or_discarded<nlohmann::json>(json);
  if (!sync.is_object()) return;
  auto holding = [&](const char* kind) {
    const auto& s = sync.value(kind, nlohmann::json::object());
    return s.is_object() ? s.value("holding", nlohmann::json::array()) : nlohmann::json::array();
  };
  auto keep = [&](const std::string& name, bool mutex, const std::string& holder) {
    if (name.empty() || workflow_of(holder) != workflow) return;  // only what this workflow held
    Lock& lock = locks_[name];
    lock.mutex = mutex;
    if (std::find(lock.holders.begin(), lock.holders.end(), holder) == lock.holders.end()) lock.holders.push_back(holder);
  };
  for (const auto& h : holding("mutex"))
    if (h.is_object()) keep(h.value("mutex", ""), true, h.value("holder", ""));
  for (const auto& h : holding("semaphore"))
    if (h.is_object() && h.contains("holders") && h["holders"].is_array())
      for (const auto& holder : h["holders"])
        if (holder.is_string()) keep(h.value("semaphore", ""), false, holder.get<std::string>());
}

std::string LockManager::status_json(const std::string& workflow) const {
  using Json = nlohmann::ordered_json;
  auto mine = [&](const std::string& h) { return h == workflow || h.rfind(workflow + "/", 0) == 0; };
  Json mutex_holding = Json::array(), mutex_waiting = Json::array();
  Json sem_holding = Json::array(), sem_waiting = Json::array();
  for (const auto& [name, lock] : locks_) {
    std::vector<std::string> held;
    for (const auto& h : lock.holders)
      if (mine(h)) held.push_back(h);
    bool waits = lock.queued_workflows.count(workflow) > 0;
    if (lock.mutex) {
      for (const auto& h : held) mutex_holding.push_back({{"mutex", name}, {"holder", h}});
      // As Argo: who holds the mutex it waits for (nothing when no one does).
      if (waits && !lock.holders.empty()) mutex_waiting.push_back({{"mutex", name}, {"holder", lock.holders.front()}});
    } else {
      if (!held.empty()) sem_holding.push_back({{"semaphore", name}, {"holders", held}});
      if (waits) sem_waiting.push_back({{"semaphore", name}, {"holders", lock.holders}});
    }
  }
  Json out = Json::object();
  if (!sem_holding.empty()) out["semaphore"]["holding"] = sem_holding;
  if (!sem_waiting.empty()) out["semaphore"]["waiting"] = sem_waiting;
  if (!mutex_holding.empty()) out["mutex"]["holding"] = mutex_holding;
  if (!mutex_waiting.empty()) out["mutex"]["waiting"] = mutex_waiting;
  return out.empty() ? "" : out.dump();
}

}  // namespace skiff::server
