#include "runtime/process_executor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <list>
#include <set>
#include <utility>

#include "runtime/step_output.h"
#include "runtime/step_plan.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace skiff::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// How long output may still arrive after a step's process exited. Its namespace is gone
// by then, so pipes normally reach EOF at once; this only bounds the unexpected.
constexpr auto kDrainTimeout = std::chrono::milliseconds(100);

struct Step {
  std::string node_id;
  Launched proc;
  std::unique_ptr<StepOutput> output;
  bool exited = false;
  int exit_code = 0;
  Clock::time_point drain_deadline;
  std::string kill_reason;
  bool terminating = false;
  bool force_killed = false;
  Clock::time_point kill_deadline;
};

class ProcessExecutor final : public Executor {
 public:
  ProcessExecutor(ExecutorOptions options, std::unique_ptr<Launcher> launcher)
      : options_(std::move(options)), launcher_(std::move(launcher)) {}
  ~ProcessExecutor() override;

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override { return steps_.size() + ready_.size() + waiting_.size(); }
  std::vector<StepStarted> take_started() override { return std::exchange(started_, {}); }
  void set_interrupt_fd(int fd) override { interrupt_fd_ = fd; }
  std::string log_path(const std::string& node_id) const override;

 private:
  static std::string log_file(const std::string& run_dir, const std::string& node_id) {
    return run_dir + "/logs/" + file_name_for(node_id) + ".log";
  }
  void launch(StepRequest request);
  void fail_to_start(const StepRequest& request, const Status& status);
  void retry_waiting();
  void reap(Step& step);
  void collect_finished(std::vector<StepResult>* results);
  StepResult finish(Step& step);

  ExecutorOptions options_;
  std::unique_ptr<Launcher> launcher_;
  std::shared_ptr<const WorkflowContext> default_workflow_ = std::make_shared<WorkflowContext>(options_.workflow);
  std::list<Step> steps_;
  std::list<StepRequest> waiting_;  // not prepared yet (image pulls)
  std::vector<StepResult> ready_;   // steps that could not start, reported by the next wait()
  std::vector<StepStarted> started_;
  std::set<std::string> prepared_dirs_;  // workflow run_dirs whose logs/ and volumes/ exist
  int interrupt_fd_ = -1;
  Janitor janitor_;                 // destroyed first; finishes its queue
};

ProcessExecutor::~ProcessExecutor() {
  for (Step& step : steps_) {
    if (!step.exited) {
      step.proc.signal(true);
      siginfo_t info = {};
      while (::waitid(static_cast<idtype_t>(P_PIDFD), step.proc.pidfd.get(), &info, WEXITED) < 0 && errno == EINTR) {
      }
    }
    if (step.proc.cleanup) janitor_.run(std::move(step.proc.cleanup));
  }
}

void ProcessExecutor::fail_to_start(const StepRequest& request, const Status& status) {
  make_dirs(request.workflow->run_dir + "/logs");
  write_file(log_file(request.workflow->run_dir, request.node_id), "skiff: " + status.message() + "\n", 0600);
  StepResult result;
  result.node_id = request.node_id;
  result.error = true;
  result.exit_code = -1;
  result.message = status.message();
  ready_.push_back(std::move(result));
}

void ProcessExecutor::start(StepRequest request) {
  if (!request.workflow) request.workflow = default_workflow_;
  if (!launcher_->prepared(request)) {
    waiting_.push_back(std::move(request));
    return;
  }
  launch(std::move(request));
}

void ProcessExecutor::launch(StepRequest request) {
  if (Status s = launcher_->preparation_error(request); !s) {
    fail_to_start(request, s);
    return;
  }
  const std::string& run_dir = request.workflow->run_dir;
  if (prepared_dirs_.insert(run_dir).second) {
    for (const char* sub : {"/logs", "/volumes"}) make_dirs(run_dir + sub);
  }
  std::string log = log_file(run_dir, request.node_id);
  ::unlink(log.c_str());  // a log left by an earlier run of the same node
  auto proc = launcher_->launch(request, log);
  if (!proc) {
    fail_to_start(request, proc.status());
    return;
  }
  started_.push_back({request.node_id, proc->ip});
  Step& step = steps_.emplace_back();
  step.node_id = request.node_id;
  step.proc = std::move(*proc);
  step.output = std::make_unique<StepOutput>(request.node_id, log, options_.max_stdout,
                                             options_.log_sink ? &options_.log_sink : nullptr);
}

void ProcessExecutor::retry_waiting() {
  launcher_->clear_wake();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (launcher_->prepared(*it)) {
      StepRequest request = std::move(*it);
      it = waiting_.erase(it);
      launch(std::move(request));
    } else {
      ++it;
    }
  }
}

void ProcessExecutor::kill(const std::string& node_id, const std::string& reason) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->node_id != node_id) continue;
    fail_to_start(*it, Status(Code::kFailed, reason.empty() ? "killed" : reason));
    ready_.back().error = false;  // stopped before it started: the reason is the message
    waiting_.erase(it);
    return;
  }
  for (Step& step : steps_) {
    if (step.node_id != node_id) continue;
    if (step.kill_reason.empty()) step.kill_reason = reason.empty() ? "killed" : reason;
    if (step.exited || step.terminating) return;
    step.terminating = true;
    if (options_.kill_grace_ms <= 0) {
      step.proc.signal(true);
      step.force_killed = true;
    } else {
      step.proc.signal(false);
      step.kill_deadline = Clock::now() + std::chrono::milliseconds(options_.kill_grace_ms);
    }
    return;
  }
}

void ProcessExecutor::reap(Step& step) {
  siginfo_t info = {};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), step.proc.pidfd.get(), &info, WEXITED | WNOHANG) != 0) {
    if (errno == EINTR) return;
    step.exit_code = -1;  // ECHILD: someone else reaped it; report as an error below
  } else if (info.si_pid == 0) {
    return;  // not yet
  } else if (info.si_code == CLD_EXITED) {
    step.exit_code = info.si_status;
  } else {
    step.exit_code = 128 + info.si_status;
  }
  step.exited = true;
  step.drain_deadline = Clock::now() + kDrainTimeout;
  step.proc.pidfd.reset();
}

StepResult ProcessExecutor::finish(Step& step) {
  if (step.proc.out.valid()) step.output->read_from(Stream::kStdout, step.proc.out.get());
  if (step.proc.err.valid()) step.output->read_from(Stream::kStderr, step.proc.err.get());
  step.output->finish();
  StepResult result;
  result.node_id = step.node_id;
  result.exit_code = step.exit_code;
  result.stdout_text = step.output->take_stdout();
  if (step.exit_code < 0) {
    result.error = true;
    result.message = "lost track of the step's process (it was reaped elsewhere)";
  } else if (step.proc.finish) {
    step.proc.finish(&result);
    if (result.error && !result.message.empty()) step.output->note(result.message);
  }
  if (!step.kill_reason.empty()) result.message = step.kill_reason;
  if (step.proc.cleanup) janitor_.run(std::move(step.proc.cleanup));
  return result;
}

void ProcessExecutor::collect_finished(std::vector<StepResult>* results) {
  auto now = Clock::now();
  for (auto it = steps_.begin(); it != steps_.end();) {
    bool drained = !it->proc.out.valid() && !it->proc.err.valid();
    if (it->exited && (drained || now >= it->drain_deadline)) {
      results->push_back(finish(*it));
      it = steps_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<StepResult> ProcessExecutor::wait(int timeout_ms) {
  std::vector<StepResult> results = std::move(ready_);
  ready_.clear();
  const auto start = Clock::now();
  const bool forever = timeout_ms < 0;
  const auto deadline = start + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  std::vector<pollfd> fds;
  std::vector<std::pair<Step*, int>> owners;  // which step and which fd (0 pidfd, 1 out, 2 err)
  for (;;) {
    collect_finished(&results);
    if (!ready_.empty()) {
      results.insert(results.end(), std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.end()));
      ready_.clear();
    }
    if (!results.empty() || (steps_.empty() && waiting_.empty())) return results;
    auto now = Clock::now();
    if (!forever && now >= deadline) return results;

    // Timers: SIGKILL after the grace period; end of output drain after an exit.
    auto next = forever ? Clock::time_point::max() : deadline;
    for (Step& step : steps_) {
      if (step.terminating && !step.force_killed && !step.exited) {
        if (now >= step.kill_deadline) {
          step.proc.signal(true);
          step.force_killed = true;
        } else {
          next = std::min(next, step.kill_deadline);
        }
      }
      if (step.exited) next = std::min(next, step.drain_deadline);
    }

    fds.clear();
    owners.clear();
    if (!waiting_.empty() && launcher_->wake_fd() >= 0) {
      fds.push_back({launcher_->wake_fd(), POLLIN, 0});
      owners.emplace_back(nullptr, 3);
    }
    if (interrupt_fd_ >= 0) {
      fds.push_back({interrupt_fd_, POLLIN, 0});
      owners.emplace_back(nullptr, 4);
    }
    for (Step& step : steps_) {
      if (step.proc.pidfd.valid()) {
        fds.push_back({step.proc.pidfd.get(), POLLIN, 0});
        owners.emplace_back(&step, 0);
      }
      if (step.proc.out.valid()) {
        fds.push_back({step.proc.out.get(), POLLIN, 0});
        owners.emplace_back(&step, 1);
      }
      if (step.proc.err.valid()) {
        fds.push_back({step.proc.err.get(), POLLIN, 0});
        owners.emplace_back(&step, 2);
      }
    }
    int wait_ms = -1;
    if (next != Clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60000));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) return results;  // cannot happen with valid fds; avoid spinning
    if (n <= 0) continue;
    bool woken = false, interrupted = false;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [step, which] = owners[i];
      if (which == 4) {
        interrupted = true;
      } else if (which == 3) {
        woken = true;
      } else if (which == 0) {
        reap(*step);
      } else {
        Fd& fd = which == 1 ? step->proc.out : step->proc.err;
        if (!step->output->read_from(which == 1 ? Stream::kStdout : Stream::kStderr, fd.get())) fd.reset();
      }
    }
    if (woken) retry_waiting();
    if (interrupted) {
      collect_finished(&results);
      return results;
    }
  }
}

std::string ProcessExecutor::log_path(const std::string& node_id) const {
  std::string path = log_file(options_.run_dir, node_id);
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? path : "";
}

}  // namespace

Status prepare_run_dir(ExecutorOptions* opts) {
  if (opts->run_dir.empty()) return invalid("executor: run_dir is empty");
  std::error_code ec;
  std::string dir = std::filesystem::absolute(opts->run_dir, ec).lexically_normal().string();
  if (ec) return internal_error("executor: run_dir " + opts->run_dir + ": " + ec.message());
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  opts->run_dir = dir;
  if (opts->data_dir.empty()) opts->data_dir = std::filesystem::path(dir).parent_path().parent_path().string();
  if (opts->workflow.run_dir.empty()) {
    opts->workflow.run_dir = dir;
  } else {
    opts->workflow.run_dir = std::filesystem::absolute(opts->workflow.run_dir, ec).lexically_normal().string();
  }
  for (const char* sub : {"/logs", "/steps", "/volumes"}) {
    if (Status s = make_dirs(dir + sub); !s) return s.with_context("executor: run_dir");
  }
  // Each running step holds several descriptors; lift the soft limit so thousands can run.
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return Status::ok();
}

Result<std::unique_ptr<Executor>> make_process_executor(ExecutorOptions options, std::unique_ptr<Launcher> launcher) {
  return std::unique_ptr<Executor>(std::make_unique<ProcessExecutor>(std::move(options), std::move(launcher)));
}

}  // namespace skiff::runtime
