// EventLog: the Kubernetes-style events a workflow controller emits (WorkflowRunning,
// WorkflowNodeSucceeded, WorkflowFailed, ...), kept in memory for Argo's event stream
// (GET /api/v1/stream/events/{ns}) and the UI's event view. A bounded ring: the newest
// kEventsKept survive; each has a sequence number so a reader can go on where it was.
// Thread-safe: the runner thread appends, HTTP workers read and wait.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace skiff::server {

struct Event {
  int64_t seq = 0;
  std::string namespace_, workflow, uid;
  std::string reason;   // WorkflowRunning, WorkflowNodeFailed, ...
  std::string message;  // "Succeeded node wf.step"
  bool warning = false;  // Warning (failures) or Normal
  int64_t time_ms = 0;
};

class EventLog {
 public:
  static constexpr size_t kEventsKept = 20000;

  void append(Event e);
  // Events after `after_seq` in `namespace_` ("" = all), at most `max`.
  std::vector<Event> since(int64_t after_seq, const std::string& namespace_, size_t max = 1000) const;
  // Waits until an event after `after_seq` exists or `timeout_ms` passed.
  void wait(int64_t after_seq, int timeout_ms) const;
  int64_t last_seq() const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::deque<Event> events_;
  int64_t next_seq_ = 1;
};

// Argo's JSON for an event (a Kubernetes Event about a Workflow).
std::string event_json(const Event& e);

}  // namespace skiff::server
