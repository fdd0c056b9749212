#include "runtime/host_executor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <list>

#include "runtime/janitor.h"
#include "runtime/sandbox.h"
#include "runtime/step_output.h"
#include "runtime/step_plan.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace skiff::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// How long output may still arrive after a step's init exited. Its namespace is gone by
// then, so pipes normally reach EOF at once; this only bounds the unexpected.
constexpr auto kDrainTimeout = std::chrono::milliseconds(100);

int send_signal(int pidfd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

struct Step {
  std::string node_id;
  SandboxProcess proc;
  std::unique_ptr<StepOutput> output;
  std::string step_dir;
  std::vector<std::pair<std::string, std::string>> output_files;
  bool exited = false;
  int exit_code = 0;
  Clock::time_point drain_deadline;
  std::string kill_reason;
  bool terminating = false;
  bool force_killed = false;
  Clock::time_point kill_deadline;
};

class HostExecutor final : public Executor {
 public:
  HostExecutor(ExecutorOptions options, PlanDefaults defaults)
      : options_(std::move(options)), defaults_(std::move(defaults)) {}
  ~HostExecutor() override;

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override { return steps_.size() + ready_.size(); }
  std::string log_path(const std::string& node_id) const override;

 private:
  void fail_to_start(const std::string& node_id, const std::string& log_path, const Status& status);
  void reap(Step& step);
  void collect_finished(std::vector<StepResult>* results);
  StepResult finish(Step& step);

  ExecutorOptions options_;
  PlanDefaults defaults_;
  std::list<Step> steps_;
  std::vector<StepResult> ready_;  // steps that could not start, reported by the next wait()
  uint64_t sequence_ = 0;          // makes step directories unique, so deleting one never races a new one
  Janitor janitor_;                // destroyed first; finishes its queue
};

HostExecutor::~HostExecutor() {
  for (Step& step : steps_) {
    if (!step.exited) {
      send_signal(step.proc.pidfd.get(), SIGKILL);
      siginfo_t info = {};
      while (::waitid(static_cast<idtype_t>(P_PIDFD), step.proc.pidfd.get(), &info, WEXITED) < 0 && errno == EINTR) {
      }
    }
    janitor_.remove(step.step_dir);
  }
}

void HostExecutor::fail_to_start(const std::string& node_id, const std::string& log_path, const Status& status) {
  if (!log_path.empty()) {
    make_dirs(options_.run_dir + "/logs");
    write_file(log_path, "skiff: " + status.message() + "\n", 0644);
  }
  StepResult result;
  result.node_id = node_id;
  result.error = true;
  result.exit_code = -1;
  result.message = status.message();
  ready_.push_back(std::move(result));
}

void HostExecutor::start(StepRequest request) {
  std::string step_dir =
      options_.run_dir + "/steps/" + file_name_for(request.node_id) + "." + std::to_string(++sequence_);
  auto plan = plan_step(request, options_.run_dir, step_dir, defaults_);
  if (!plan) {
    janitor_.remove(step_dir);
    fail_to_start(request.node_id, options_.run_dir + "/logs/" + file_name_for(request.node_id) + ".log",
                  plan.status());
    return;
  }
  ::unlink(plan->log_path.c_str());  // a log left by an earlier run of the same node
  auto proc = spawn_sandbox(plan->sandbox);
  if (!proc) {
    janitor_.remove(plan->step_dir);
    fail_to_start(request.node_id, plan->log_path, proc.status());
    return;
  }
  Step& step = steps_.emplace_back();
  step.node_id = request.node_id;
  step.proc = std::move(*proc);
  step.output = std::make_unique<StepOutput>(request.node_id, plan->log_path, options_.max_stdout,
                                             options_.log_sink ? &options_.log_sink : nullptr);
  step.step_dir = std::move(plan->step_dir);
  step.output_files = std::move(plan->output_files);
}

void HostExecutor::kill(const std::string& node_id, const std::string& reason) {
  for (Step& step : steps_) {
    if (step.node_id != node_id) continue;
    if (step.kill_reason.empty()) step.kill_reason = reason.empty() ? "killed" : reason;
    if (step.exited || step.terminating) return;
    step.terminating = true;
    if (options_.kill_grace_ms <= 0) {
      send_signal(step.proc.pidfd.get(), SIGKILL);
      step.force_killed = true;
    } else {
      // The step's init forwards SIGTERM to every process in its namespace.
      send_signal(step.proc.pidfd.get(), SIGTERM);
      step.kill_deadline = Clock::now() + std::chrono::milliseconds(options_.kill_grace_ms);
    }
    return;
  }
}

void HostExecutor::reap(Step& step) {
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

StepResult HostExecutor::finish(Step& step) {
  if (step.proc.out.valid()) step.output->read_from(Stream::kStdout, step.proc.out.get());
  if (step.proc.err.valid()) step.output->read_from(Stream::kStderr, step.proc.err.get());
  step.output->finish();
  StepResult result;
  result.node_id = step.node_id;
  result.exit_code = step.exit_code;
  result.stdout_text = step.output->take_stdout();
  if (Status setup = read_setup_error(step.proc); !setup) {
    result.error = true;
    result.message = setup.message();
    step.output->note(result.message);
  } else if (step.exit_code < 0) {
    result.error = true;
    result.message = "lost track of the step's process (it was reaped elsewhere)";
  } else {
    for (const auto& [name, path] : step.output_files) {
      auto value = read_file_capped(path, options_.max_output_parameter);
      if (value) result.output_parameters[name] = std::move(*value);
    }
  }
  if (!step.kill_reason.empty()) result.message = step.kill_reason;
  janitor_.remove(step.step_dir);
  return result;
}

void HostExecutor::collect_finished(std::vector<StepResult>* results) {
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

std::vector<StepResult> HostExecutor::wait(int timeout_ms) {
  std::vector<StepResult> results = std::move(ready_);
  ready_.clear();
  const auto start = Clock::now();
  const bool forever = timeout_ms < 0;
  const auto deadline = start + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  std::vector<pollfd> fds;
  std::vector<std::pair<Step*, int>> owners;  // which step and which fd (0 pidfd, 1 out, 2 err)
  for (;;) {
    collect_finished(&results);
    if (!results.empty() || steps_.empty()) return results;
    auto now = Clock::now();
    if (!forever && now >= deadline) return results;

    // Timers: SIGKILL after the grace period; end of output drain after an exit.
    auto next = forever ? Clock::time_point::max() : deadline;
    for (Step& step : steps_) {
      if (step.terminating && !step.force_killed && !step.exited) {
        if (now >= step.kill_deadline) {
          send_signal(step.proc.pidfd.get(), SIGKILL);
          step.force_killed = true;
        } else {
          next = std::min(next, step.kill_deadline);
        }
      }
      if (step.exited) next = std::min(next, step.drain_deadline);
    }

    fds.clear();
    owners.clear();
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
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto [step, which] = owners[i];
      if (which == 0) {
        reap(*step);
      } else {
        Fd& fd = which == 1 ? step->proc.out : step->proc.err;
        if (!step->output->read_from(which == 1 ? Stream::kStdout : Stream::kStderr, fd.get())) fd.reset();
      }
    }
  }
}

std::string HostExecutor::log_path(const std::string& node_id) const {
  std::string path = options_.run_dir + "/logs/" + file_name_for(node_id) + ".log";
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? path : "";
}

std::string home_directory() {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_dir && *found->pw_dir) {
    return found->pw_dir;
  }
  return ::geteuid() == 0 ? "/root" : "/";
}

}  // namespace

Result<std::unique_ptr<Executor>> make_host_executor(const ExecutorOptions& options) {
  if (options.run_dir.empty()) return invalid("host executor: run_dir is empty");
  if (Status s = probe_sandbox(); !s) return s;
  ExecutorOptions opts = options;
  std::error_code ec;
  opts.run_dir = std::filesystem::absolute(options.run_dir, ec).lexically_normal().string();
  if (ec) return internal_error("host executor: run_dir " + options.run_dir + ": " + ec.message());
  while (opts.run_dir.size() > 1 && opts.run_dir.back() == '/') opts.run_dir.pop_back();
  for (const char* sub : {"/logs", "/steps", "/volumes"}) {
    if (Status s = make_dirs(opts.run_dir + sub); !s) return s.with_context("host executor: run_dir");
  }
  // Step directories are created and removed thousands of times a run; on ext4 that slows
  // down as deleted inodes pile up. Keep them on a tmpfs that only this process (and its
  // steps) can see: a private mount namespace, entered before any thread exists.
  if (::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0)
    ::mount("tmpfs", (opts.run_dir + "/steps").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  if (Status s = start_spawner(); !s) return s;
  // Each running step holds four descriptors; lift the soft limit so thousands can run.
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  PlanDefaults defaults;
  defaults.home = home_directory();
  defaults.data_dir = opts.data_dir.empty() ? opts.run_dir + "/../.." : opts.data_dir;
  defaults.namespace_ = opts.namespace_;
  return std::unique_ptr<Executor>(std::make_unique<HostExecutor>(std::move(opts), std::move(defaults)));
}

}  // namespace skiff::runtime
