#include "server/events.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "engine/workflow_json.h"

namespace skiff::server {

void EventLog::append(Event e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    e.seq = next_seq_++;
    events_.push_back(std::move(e));
    if (events_.size() > kEventsKept) events_.pop_front();
  }
  changed_.notify_all();
}

std::vector<Event> EventLog::since(int64_t after_seq, const std::string& namespace_, size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  // Sequence numbers are consecutive: jump to the first one wanted.
  size_t start = 0;
  if (!events_.empty() && after_seq >= events_.front().seq) {
    start = static_cast<size_t>(after_seq - events_.front().seq + 1);
  }
  for (size_t i = start; i < events_.size() && out.size() < max; ++i) {
    if (namespace_.empty() || events_[i].namespace_ == namespace_) out.push_back(events_[i]);
  }
  return out;
}

void EventLog::wait(int64_t after_seq, int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return next_seq_ - 1 > after_seq; });
}

int64_t EventLog::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_ - 1;
}

std::string event_json(const Event& e) {
  std::string when = engine::rfc3339(e.time_ms);
  nlohmann::ordered_json j = {
      {"metadata", {{"name", e.workflow + "." + std::to_string(e.seq)}, {"namespace", e.namespace_},
                    {"creationTimestamp", when}}},
      {"involvedObject", {{"kind", "Workflow"}, {"namespace", e.namespace_}, {"name", e.workflow}, {"uid", e.uid},
                          {"apiVersion", "argoproj.io/v1alpha1"}}},
      {"reason", e.reason},
      {"message", e.message},
      {"source", {{"component", "workflow-controller"}}},
      {"firstTimestamp", when},
      {"lastTimestamp", when},
      {"count", 1},
      {"type", e.warning ? "Warning" : "Normal"}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace skiff::server
