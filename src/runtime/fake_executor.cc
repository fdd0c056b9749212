#include "runtime/fake_executor.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <list>
#include <mutex>
#include <tuple>
#include <utility>

namespace skiff::runtime {
namespace {

// What a killed step's process would say: it died of SIGTERM.
constexpr int kKilledExitCode = 128 + 15;

struct Running {
  std::string node_id;
  std::string namespace_, workflow;
  FakeStep outcome;
  int64_t ends_ms = -1;  // -1: until killed
};

// A step's log as read_log() sees it.
struct Log {
  std::string data;
  bool more = true;
};

using LogKey = std::tuple<std::string, std::string, std::string>;  // namespace, workflow, node

class FakeExecutor final : public Executor {
 public:
  explicit FakeExecutor(FakeOptions options) : options_(std::move(options)) {
    if (!options_.script) options_.script = [](const StepRequest&) { return FakeStep{}; };
    if (!options_.now_ms) {
      options_.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
      };
    }
  }

  void start(StepRequest request) override {
    const WorkflowContext& wf = request.workflow ? *request.workflow : default_workflow_;
    FakeStep outcome = options_.script(request);
    if (!outcome.start_error.empty()) {
      set_log({wf.namespace_, wf.name, request.node_id}, "skiff: " + outcome.start_error + "\n", false);
      StepResult r;
      r.node_id = request.node_id;
      r.exit_code = -1;
      r.error = true;
      r.message = outcome.start_error;
      ready_.push_back(std::move(r));
      return;
    }
    set_log({wf.namespace_, wf.name, request.node_id}, outcome.stdout_text + outcome.log, true);
    started_.push_back({request.node_id, options_.ip});
    int64_t ends = outcome.duration_ms < 0 ? -1 : options_.now_ms() + outcome.duration_ms;
    steps_.push_back({request.node_id, wf.namespace_, wf.name, std::move(outcome), ends});
  }

  void kill(const std::string& node_id, const std::string& reason) override {
    for (auto it = steps_.begin(); it != steps_.end(); ++it) {
      if (it->node_id != node_id) continue;
      StepResult r;
      r.node_id = node_id;
      r.exit_code = kKilledExitCode;
      r.message = reason.empty() ? "killed" : reason;
      end(*it);
      ready_.push_back(std::move(r));
      steps_.erase(it);
      return;
    }
  }

  std::vector<StepResult> wait(int timeout_ms) override {
    const int64_t deadline = timeout_ms < 0 ? -1 : options_.now_ms() + timeout_ms;
    for (;;) {
      std::vector<StepResult> results = std::exchange(ready_, {});
      const int64_t now = options_.now_ms();
      int64_t next = -1;
      for (auto it = steps_.begin(); it != steps_.end();) {
        if (it->ends_ms >= 0 && it->ends_ms <= now) {
          results.push_back(result_of(*it));
          end(*it);
          it = steps_.erase(it);
          continue;
        }
        if (it->ends_ms >= 0 && (next < 0 || it->ends_ms < next)) next = it->ends_ms;
        ++it;
      }
      if (!results.empty() || steps_.empty() || (deadline >= 0 && now >= deadline)) return results;
      int64_t until = next < 0 ? deadline : deadline < 0 ? next : std::min(next, deadline);
      if (until < 0) return results;  // only steps that run until killed, and no timeout: nothing will come
      if (!pass_time(until)) return results;
    }
  }

  size_t running() const override { return steps_.size() + ready_.size(); }
  std::vector<StepStarted> take_started() override { return std::exchange(started_, {}); }
  void set_interrupt_fd(int fd) override { interrupt_fd_ = fd; }

  Status open_workflow(WorkflowContext* context) override {
    context->run_dir = "fake:" + context->namespace_ + "/" + context->name;
    return Status::ok();
  }

  void release_workflow(const std::string& namespace_, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = logs_.begin(); it != logs_.end();) {
      bool mine = std::get<0>(it->first) == namespace_ && std::get<1>(it->first) == name;
      it = mine ? logs_.erase(it) : std::next(it);
    }
  }

  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = logs_.find({ref.namespace_, ref.workflow, ref.node_id});
    if (it == logs_.end()) return not_found("step " + ref.node_id + " of workflow " + ref.workflow + " has no log");
    LogChunk chunk;
    chunk.more = it->second.more;
    if (offset < it->second.data.size()) chunk.data = it->second.data.substr(offset, max);
    return chunk;
  }

 private:
  static StepResult result_of(const Running& step) {
    StepResult r;
    r.node_id = step.node_id;
    r.exit_code = step.outcome.exit_code;
    r.stdout_text = step.outcome.stdout_text;
    r.output_parameters = step.outcome.output_parameters;
    r.termination_message = step.outcome.termination_message;
    return r;
  }

  void set_log(const LogKey& key, std::string data, bool more) {
    std::lock_guard<std::mutex> lock(mu_);
    logs_[key] = {std::move(data), more};
  }

  void end(const Running& step) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = logs_.find({step.namespace_, step.workflow, step.node_id});
    if (it != logs_.end()) it->second.more = false;
  }

  // False when the interrupt fd woke it early.
  bool pass_time(int64_t until) {
    if (options_.sleep_until) {
      options_.sleep_until(until);
      return true;
    }
    int64_t left = until - options_.now_ms();
    pollfd p{interrupt_fd_, POLLIN, 0};
    int n = ::poll(&p, interrupt_fd_ >= 0 ? 1 : 0, static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX)));
    return n <= 0;
  }

  FakeOptions options_;
  const WorkflowContext default_workflow_;
  std::list<Running> steps_;
  std::vector<StepResult> ready_;  // killed or never started: reported by the next wait()
  std::vector<StepStarted> started_;
  int interrupt_fd_ = -1;
  mutable std::mutex mu_;  // guards logs_ (read_log() runs on other threads)
  std::map<LogKey, Log> logs_;
};

}  // namespace

FakeScript fake_script_by_template(std::map<std::string, FakeStep> steps) {
  return [steps = std::move(steps)](const StepRequest& request) {
    auto it = steps.find(request.tmpl.name);
    return it == steps.end() ? FakeStep{} : it->second;
  };
}

std::unique_ptr<Executor> make_fake_executor(FakeOptions options) {
  return std::make_unique<FakeExecutor>(std::move(options));
}

}  // namespace skiff::runtime
