#include "runtime/process_executor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "runtime/pod_support.h"
#include "runtime/probe.h"
#include "runtime/program.h"
#include "runtime/step_files.h"
#include "runtime/step_output.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace skiff::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// A longer line reaches the LogSink in pieces.
constexpr size_t kMaxLine = 64 * 1024;

int send_signal(int pidfd, int sig) { return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0)); }

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// Where probe threads leave their verdicts; shared with them, so it outlives the executor
// if a probe is still running when it goes.
struct ProbeInbox {
  std::mutex mu;
  std::vector<std::pair<uint64_t, bool>> results;  // Step::serial, passed
  Fd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
};

struct Step {
  std::string node_id;
  uint64_t serial = 0;  // tells apart runs of one node id (probe results)
  StepFiles files;
  std::string note;
  std::vector<std::string> exec_prefix;  // Launched::exec_prefix
  Supervisor supervisor;
  std::string kill_reason;
  bool terminating = false;
  bool force_killed = false;
  bool ended = false;
  bool woken = true;  // its descriptor was readable (or it is new): see whether it ended
  Clock::time_point kill_deadline;
  // Following the log file for the LogSink.
  uint64_t log_offset = 0;
  std::string partial;
  // A daemon step is reported started (StepStarted: it is ready) only once its command
  // runs (its supervisor says "u<pid>" on the done pipe) and its readinessProbe, if it
  // has one, passed as kubelet would judge it.
  bool awaiting_ready = false;
  bool up = false;
  pid_t main_pid = -1;  // the host sandbox's init, for exec probes (nsenter)
  std::string ip;
  std::string notes;  // what the done pipe said, up to its last newline
  std::optional<ProbeSpec> probe;
  ProbeState probe_state;
};

class ProcessExecutor final : public Executor {
 public:
  ProcessExecutor(ExecutorOptions options, std::unique_ptr<Launcher> launcher)
      : options_(std::move(options)), launcher_(std::move(launcher)) {}
  ~ProcessExecutor() override;

  void start(StepRequest request) override;
  void kill(const std::string& node_id, const std::string& reason) override;
  Result<std::vector<std::string>> exec_command(const std::string& node_id,
                                                const std::vector<std::string>& command) const override;
  std::vector<StepResult> wait(int timeout_ms) override;
  size_t running() const override { return steps_.size() + ready_.size() + waiting_.size(); }
  std::vector<StepStarted> take_started() override { return std::exchange(started_, {}); }
  void set_interrupt_fd(int fd) override { interrupt_fd_ = fd; }
  Status open_workflow(WorkflowContext* context) override;
  void release_workflow(const std::string& namespace_, const std::string& name) override;
  Result<LogChunk> read_log(const LogRef& ref, uint64_t offset, size_t max) const override;

 private:
  void launch(StepRequest request);
  void adopt(StepRequest request);
  void fail_to_start(const StepRequest& request, const Status& status);
  void retry_waiting();
  void prepare_dirs(const std::string& run_dir);
  void follow_log(Step& step, bool final);
  void collect_finished(std::vector<StepResult>* results);
  StepResult finish(Step& step);
  bool result_written(Step& step);
  void step_up(Step& step);
  int64_t advance_probes();
  void take_probe_results();
  std::vector<std::string> probe_argv(const Step& step) const;

  ExecutorOptions options_;
  std::unique_ptr<Launcher> launcher_;
  std::shared_ptr<const WorkflowContext> default_workflow_ = std::make_shared<WorkflowContext>(options_.workflow);
  std::list<Step> steps_;
  std::list<StepRequest> waiting_;  // not prepared yet (image pulls)
  std::vector<StepResult> ready_;   // steps that could not start, reported by the next wait()
  std::vector<StepStarted> started_;
  std::set<std::string> prepared_dirs_;  // workflow run_dirs whose logs/, state/ and volumes/ exist
  // Fixed at construction: all that read_log() (any thread) uses.
  const std::string data_dir_ = options_.data_dir;
  int interrupt_fd_ = -1;
  std::shared_ptr<ProbeInbox> probes_ = std::make_shared<ProbeInbox>();
  uint64_t serial_ = 0;
  bool became_ready_ = false;  // a daemon became ready during this wait(): return, so it is reported
};

ProcessExecutor::~ProcessExecutor() {
  if (options_.detach_steps) return;  // they carry on; a new executor adopts them
  for (Step& step : steps_) send_signal(step.supervisor.pidfd.get(), SIGUSR1);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (Step& step : steps_) {
    pollfd p{step.supervisor.pidfd.get(), POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left > 0) ::poll(&p, 1, static_cast<int>(left));
  }
}

void ProcessExecutor::prepare_dirs(const std::string& run_dir) {
  if (prepared_dirs_.count(run_dir)) return;
  if (make_workflow_dirs(run_dir)) prepared_dirs_.insert(run_dir);
}

void ProcessExecutor::fail_to_start(const StepRequest& request, const Status& status) {
  prepare_dirs(request.workflow->run_dir);
  write_file(step_files(request.workflow->run_dir, request.node_id).log, "skiff: " + status.message() + "\n", 0600);
  StepResult result;
  result.node_id = request.node_id;
  result.error = true;
  result.exit_code = -1;
  result.message = status.message();
  ready_.push_back(std::move(result));
}

void ProcessExecutor::start(StepRequest request) {
  if (!request.workflow) request.workflow = default_workflow_;
  if (request.adopt) {
    adopt(std::move(request));
    return;
  }
  if (!launcher_->prepared(request)) {
    waiting_.push_back(std::move(request));
    return;
  }
  launch(std::move(request));
}

void ProcessExecutor::adopt(StepRequest request) {
  StepFiles files = step_files(request.workflow->run_dir, request.node_id);
  auto record = read_file_capped(files.start, 1 << 20);
  if (!record) {  // it never started: start it now
    request.adopt = false;
    start(std::move(request));
    return;
  }
  size_t nl = record->find('\n');
  std::string ip = record->substr(0, nl);
  std::string note = nl == std::string::npos ? "" : record->substr(nl + 1);
  auto supervisor = adopt_supervisor(files.pid);
  if (!supervisor && supervisor.status().code() == Code::kNotFound) {
    // Its supervisor was asked for but never ran (a supervisor writes its pid file first).
    launcher_->finished(note);
    request.adopt = false;
    start(std::move(request));
    return;
  }
  Step& step = steps_.emplace_back();
  step.node_id = request.node_id;
  step.serial = ++serial_;
  step.files = std::move(files);
  step.note = std::move(note);
  if (supervisor) step.supervisor = std::move(*supervisor);
  else step.ended = true;  // ended while we were away: its result file says how (or nothing does)
  // Its command runs (or ran); a daemon's probe is asked again, as kubelet would after a restart.
  step.ip = ip;
  step.up = true;
  if (request.tmpl.daemon && request.tmpl.container && !request.tmpl.container->readiness_probe_json.empty()) {
    auto probe = parse_readiness_probe(request.tmpl.container->readiness_probe_json, request.tmpl.container->ports_json);
    if (probe) {
      step.probe = *probe;
      step.probe_state.reset(mono_ms(), false);
      step.awaiting_ready = true;
      return;
    }
  }
  started_.push_back({request.node_id, ip});
}

void ProcessExecutor::launch(StepRequest request) {
  if (Status s = apply_pod_spec_patch(request.tmpl); !s) {
    fail_to_start(request, s);
    return;
  }
  if (Status s = launcher_->preparation_error(request); !s) {
    fail_to_start(request, s);
    return;
  }
  std::optional<ProbeSpec> probe;
  if (request.tmpl.daemon && request.tmpl.container && !request.tmpl.container->readiness_probe_json.empty()) {
    auto parsed = parse_readiness_probe(request.tmpl.container->readiness_probe_json, request.tmpl.container->ports_json);
    if (!parsed) {
      fail_to_start(request, parsed.status());
      return;
    }
    probe = *parsed;
  }
  prepare_dirs(request.workflow->run_dir);
  StepFiles files = step_files(request.workflow->run_dir, request.node_id);
  // Files of an earlier run of the same node (a retried workflow) go; looking first is
  // cheaper than unlinking, which locks the directory.
  for (const std::string* f : {&files.log, &files.start, &files.pid, &files.result}) {
    if (::access(f->c_str(), F_OK) == 0) ::unlink(f->c_str());
  }
  auto launched = launcher_->launch(request);
  if (!launched) {
    fail_to_start(request, launched.status());
    return;
  }
  SupervisedStep& job = launched->step;
  job.node_id = request.node_id;
  job.log_path = files.log;
  job.pid_path = files.pid;
  job.result_path = files.result;
  job.max_log = options_.max_log;
  job.max_stdout = options_.max_stdout;
  job.max_output = options_.max_output_parameter;
  job.detached = options_.detach_steps;
  for (const auto& a : request.tmpl.outputs.artifacts)
    if (!a.path.empty()) job.artifact_paths.emplace_back(a.name, a.path);
  if (!job.artifact_paths.empty()) {
    job.artifact_dir = files.artifacts;
    remove_tree(files.artifacts);  // an earlier run's
  }
  Status st = write_file(files.start, launched->ip + "\n" + launched->note, 0600);
  Result<Supervisor> supervisor = st ? spawn_supervisor(job) : Result<Supervisor>(st.with_context("recording the step"));
  if (!supervisor) {
    run_cleanup(job);
    launcher_->finished(launched->note);
    ::unlink(files.start.c_str());
    fail_to_start(request, supervisor.status());
    return;
  }
  Step& step = steps_.emplace_back();
  step.node_id = request.node_id;
  step.serial = ++serial_;
  step.ip = launched->ip;
  // A daemon is ready once it runs (and passed its probe); any other step is reported now.
  step.awaiting_ready = request.tmpl.daemon;
  step.probe = std::move(probe);
  if (!step.awaiting_ready) started_.push_back({request.node_id, launched->ip});
  step.files = std::move(files);
  step.note = std::move(launched->note);
  step.exec_prefix = std::move(launched->exec_prefix);
  step.supervisor = std::move(*supervisor);
  if (!step.supervisor.done.valid()) step_up(step);  // no pipe to say so: up as soon as started
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

Result<std::vector<std::string>> ProcessExecutor::exec_command(const std::string& node_id,
                                                               const std::vector<std::string>& command) const {
  for (const Step& step : steps_) {
    if (step.node_id != node_id || step.ended) continue;
    if (step.exec_prefix.empty()) return Status(Code::kUnavailable, "this executor cannot run commands inside a step");
    std::vector<std::string> argv = step.exec_prefix;
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
  return not_found("step " + node_id + " is not running");
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
    if (step.ended || step.terminating) return;
    step.terminating = true;
    if (options_.kill_grace_ms <= 0) {
      send_signal(step.supervisor.pidfd.get(), SIGUSR1);
      step.force_killed = true;
    } else {
      send_signal(step.supervisor.pidfd.get(), SIGTERM);
      step.kill_deadline = Clock::now() + std::chrono::milliseconds(options_.kill_grace_ms);
    }
    return;
  }
}

// Passes the log's new complete lines to the sink (all that is left when `final`).
void ProcessExecutor::follow_log(Step& step, bool final) {
  if (!options_.log_sink) return;
  Fd fd(::open(step.files.log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(step.log_offset));
    if (n <= 0) break;
    step.log_offset += static_cast<uint64_t>(n);
    step.partial.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = step.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(step.partial.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      options_.log_sink(step.node_id, line);
    }
    step.partial.erase(0, start);
    if (step.partial.size() >= kMaxLine) {
      options_.log_sink(step.node_id, step.partial);
      step.partial.clear();
    }
  }
  if (final && !step.partial.empty()) {
    options_.log_sink(step.node_id, step.partial);
    step.partial.clear();
  }
}

StepResult ProcessExecutor::finish(Step& step) {
  // A supervisor forked from this process (no spawner) is our child: reap it.
  siginfo_t info = {};
  if (step.supervisor.pidfd.valid()) ::waitid(static_cast<idtype_t>(P_PIDFD), step.supervisor.pidfd.get(), &info, WEXITED | WNOHANG);
  follow_log(step, true);
  auto read = read_step_result(step.files.result);
  StepResult result;
  if (read) {
    result = std::move(*read);
  } else {
    result.error = true;
    result.exit_code = -1;
    result.message = "the step's supervisor ended without a result (" + read.status().message() +
                     "); was it killed, or the machine restarted?";
  }
  result.node_id = step.node_id;
  if (!step.kill_reason.empty()) result.message = step.kill_reason;
  launcher_->finished(step.note);
  return result;
}

// A supervisor's result is there once its done pipe reaches end of file (or, for one
// adopted after a restart, once it exited). Before that the pipe may say "u<pid>\n": the
// step's command runs.
bool ProcessExecutor::result_written(Step& step) {
  if (step.ended) return true;
  if (!step.woken) return false;
  step.woken = false;
  if (step.supervisor.done.valid()) {
    char buf[256];
    ssize_t n;
    while ((n = ::read(step.supervisor.done.get(), buf, sizeof buf)) > 0) step.notes.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = step.notes.find('\n')) != std::string::npos; step.notes.erase(0, nl + 1)) {
      if (step.notes[0] != 'u' || step.up) continue;
      step.main_pid = static_cast<pid_t>(std::atol(step.notes.c_str() + 1));
      step_up(step);
    }
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) step.ended = true;
    return step.ended;
  }
  pollfd p{step.supervisor.pidfd.get(), POLLIN, 0};
  step.ended = ::poll(&p, 1, 0) > 0;
  return step.ended;
}

// The step's command runs: a daemon without a probe is ready now (reported before its
// exit, should that come in the same turn); one with a probe starts being probed.
void ProcessExecutor::step_up(Step& step) {
  step.up = true;
  if (!step.awaiting_ready) return;
  if (step.probe) {
    step.probe_state.reset(mono_ms(), false);
    return;
  }
  step.awaiting_ready = false;
  started_.push_back({step.node_id, step.ip});
  became_ready_ = true;
}

// How an exec probe's command runs inside the step: `runc exec` for a container; for a host
// step, nsenter into its sandbox's namespaces, root and working directory.
std::vector<std::string> ProcessExecutor::probe_argv(const Step& step) const {
  std::vector<std::string> argv = step.exec_prefix;
  if (argv.empty()) {
    pid_t pid = step.main_pid;
    if (pid <= 0 && step.supervisor.pid > 0) {
      // Adopted after a restart: a host step's supervisor has one child left, the sandbox's
      // init (its init containers have ended; host steps have no sidecars).
      std::string p = "/proc/" + std::to_string(step.supervisor.pid) + "/task/" + std::to_string(step.supervisor.pid) + "/children";
      if (auto text = read_file_capped(p, 4096)) pid = static_cast<pid_t>(std::atol(text->c_str()));
    }
    std::string nsenter = find_program("nsenter");
    if (pid <= 0 || nsenter.empty()) return {};
    argv = {nsenter, "--target", std::to_string(pid), "--mount", "--pid", "--uts", "--ipc", "--root", "--wd", "--"};
  }
  argv.insert(argv.end(), step.probe->command.begin(), step.probe->command.end());
  return argv;
}

// Starts the probes that are due (each on a thread of its own, as the machine controller
// does); returns when the next one is due (mono ms, -1: none).
int64_t ProcessExecutor::advance_probes() {
  int64_t now = mono_ms(), next = -1;
  for (Step& step : steps_) {
    if (!step.awaiting_ready || !step.up || !step.probe || step.ended || step.terminating) continue;
    const ProbeSpec& spec = *step.probe;
    ProbeState& state = step.probe_state;
    if (state.due(spec, now)) {
      state.in_flight = true;
      std::vector<std::string> argv;
      if (spec.kind == ProbeSpec::Kind::kExec) argv = probe_argv(step);
      std::thread([inbox = probes_, serial = step.serial, spec, ip = step.ip, argv = std::move(argv)] {
        bool passed = spec.kind == ProbeSpec::Kind::kExec ? !argv.empty() && check_exec(spec, argv) : check(spec, ip);
        std::lock_guard<std::mutex> lock(inbox->mu);
        inbox->results.emplace_back(serial, passed);
        uint64_t one = 1;
        (void)!::write(inbox->wake.get(), &one, sizeof one);
      }).detach();
      continue;
    }
    if (state.in_flight) continue;
    int64_t due = state.last_ms < 0 ? state.started_ms + spec.initial_delay_ms : state.last_ms + spec.period_ms;
    if (next < 0 || due < next) next = due;
  }
  return next;
}

void ProcessExecutor::take_probe_results() {
  uint64_t count;
  (void)!::read(probes_->wake.get(), &count, sizeof count);
  std::vector<std::pair<uint64_t, bool>> results;
  {
    std::lock_guard<std::mutex> lock(probes_->mu);
    results.swap(probes_->results);
  }
  int64_t now = mono_ms();
  for (const auto& [serial, passed] : results) {
    for (Step& step : steps_) {
      if (step.serial != serial || !step.awaiting_ready || !step.probe) continue;
      step.probe_state.record(*step.probe, passed, now);
      if (step.probe_state.ok && !step.ended) {
        step.awaiting_ready = false;
        started_.push_back({step.node_id, step.ip});
        became_ready_ = true;
      }
    }
  }
}

void ProcessExecutor::collect_finished(std::vector<StepResult>* results) {
  for (auto it = steps_.begin(); it != steps_.end();) {
    if (result_written(*it)) {
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
  became_ready_ = false;
  const bool forever = timeout_ms < 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  std::vector<pollfd> fds;
  std::vector<Step*> owners;  // of fds[first_step...]
  for (;;) {
    collect_finished(&results);
    if (!ready_.empty()) {
      results.insert(results.end(), std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.end()));
      ready_.clear();
    }
    if (!results.empty() || became_ready_ || (steps_.empty() && waiting_.empty())) return results;
    auto now = Clock::now();
    if (!forever && now >= deadline) return results;
    int64_t probe_due = advance_probes();

    // Timers: SIGKILL after the grace period; following logs for the sink.
    auto next = forever ? Clock::time_point::max() : deadline;
    for (Step& step : steps_) {
      if (step.terminating && !step.force_killed) {
        if (now >= step.kill_deadline) {
          send_signal(step.supervisor.pidfd.get(), SIGUSR1);
          step.force_killed = true;
        } else {
          next = std::min(next, step.kill_deadline);
        }
      }
      follow_log(step, false);
    }
    if (options_.log_sink) next = std::min(next, now + std::chrono::milliseconds(50));
    if (probe_due >= 0) next = std::min(next, now + std::chrono::milliseconds(std::max<int64_t>(0, probe_due - mono_ms())));

    fds.clear();
    owners.clear();
    bool wake = !waiting_.empty() && launcher_->wake_fd() >= 0;
    if (wake) fds.push_back({launcher_->wake_fd(), POLLIN, 0});
    if (interrupt_fd_ >= 0) fds.push_back({interrupt_fd_, POLLIN, 0});
    fds.push_back({probes_->wake.get(), POLLIN, 0});
    const size_t first_step = fds.size();
    for (Step& step : steps_) {
      int fd = step.supervisor.done.valid() ? step.supervisor.done.get() : step.supervisor.pidfd.get();
      fds.push_back({fd, POLLIN, 0});
      owners.push_back(&step);
    }
    int wait_ms = -1;
    if (next != Clock::time_point::max()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60000));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) return results;  // cannot happen with valid fds; avoid spinning
    if (n <= 0) continue;
    for (size_t k = first_step; k < fds.size(); ++k) {
      if (fds[k].revents) owners[k - first_step]->woken = true;
    }
    size_t i = 0;
    if (wake && fds[i++].revents) retry_waiting();
    if (fds[first_step - 1].revents) take_probe_results();
    if (interrupt_fd_ >= 0 && fds[i].revents) {
      collect_finished(&results);
      return results;
    }
  }
}

// A directory that cannot be made now (a full disk) is tried again by the first step,
// which ends in Error saying why if it still cannot: the workflow is taken up regardless.
Status ProcessExecutor::open_workflow(WorkflowContext* context) {
  context->run_dir = workflow_dir(data_dir_, context->namespace_, context->name);
  prepared_dirs_.erase(context->run_dir);
  prepare_dirs(context->run_dir);
  return Status::ok();
}

// Steps' mounts live in their own mount namespaces, so nothing outside the directory is
// reached.
void ProcessExecutor::release_workflow(const std::string& namespace_, const std::string& name) {
  std::string dir = workflow_dir(data_dir_, namespace_, name);
  prepared_dirs_.erase(dir);  // a workflow of the same name made later makes it again
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) std::fprintf(stderr, "skiff: cannot remove %s: %s\n", dir.c_str(), ec.message().c_str());
}

// Only files: the log, and the step's records saying whether it can still write. Those are
// looked at before the log is read, so a log said to be complete is read whole.
Result<LogChunk> ProcessExecutor::read_log(const LogRef& ref, uint64_t offset, size_t max) const {
  StepFiles files = step_files(workflow_dir(data_dir_, ref.namespace_, ref.workflow), ref.node_id);
  // A step with no start record never ran under a supervisor: its log, if any, is the
  // executor's own word on why.
  LogChunk chunk;
  chunk.more = ::access(files.result.c_str(), F_OK) != 0 && ::access(files.start.c_str(), F_OK) == 0;
  Fd fd(::open(files.log.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return not_found("step " + ref.node_id + " of workflow " + ref.workflow + " has no log");
  // Followed logs are read every few hundred ms, mostly with nothing new: size the buffer to
  // what is there.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return internal_error("step " + ref.node_id + ": log: " + std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  size_t want = offset >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(max, size - offset));
  chunk.data.resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd.get(), chunk.data.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  chunk.data.resize(got);
  return chunk;
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
  if (Status s = make_workflow_dirs(dir); !s) return s.with_context("executor: run_dir");
  if (Status s = make_dirs(steps_dir(dir)); !s) return s.with_context("executor: run_dir");
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
