#include "runtime/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "runtime/artifact_files.h"
#include "runtime/program.h"
#include "runtime/step_output.h"
#include "runtime/step_plan.h"
#include "runtime/supervisor_internal.h"
#include "runtime/termination_message.h"

namespace skiff::runtime {

namespace {

// --- encoding: length-prefixed fields (steps' text is bytes, not always UTF-8) -----------

class Writer {
 public:
  void str(const std::string& s) {
    num(s.size());
    out_ += s;
  }
  void num(uint64_t n) { out_.append(reinterpret_cast<const char*>(&n), sizeof n); }
  void strs(const std::vector<std::string>& v) {
    num(v.size());
    for (const auto& s : v) str(s);
  }
  void pairs(const std::vector<std::pair<std::string, std::string>>& v) {
    num(v.size());
    for (const auto& [a, b] : v) {
      str(a);
      str(b);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const char* p, const char* end) : p_(p), end_(end) {}
  bool num(uint64_t* n) {
    if (end_ - p_ < static_cast<ptrdiff_t>(sizeof *n)) return ok_ = false;
    memcpy(n, p_, sizeof *n);
    p_ += sizeof *n;
    return true;
  }
  bool count(size_t* n) {  // a list length, bounded by what is left
    uint64_t v = 0;
    if (!num(&v) || v > static_cast<uint64_t>(end_ - p_)) return ok_ = false;
    *n = static_cast<size_t>(v);
    return true;
  }
  bool flag(bool* b) {
    uint64_t v = 0;
    if (!num(&v)) return false;
    *b = v != 0;
    return true;
  }
  bool str(std::string* s) {
    size_t n = 0;
    if (!count(&n)) return false;
    s->assign(p_, n);
    p_ += n;
    return true;
  }
  bool strs(std::vector<std::string>* v) {
    size_t n = 0;
    if (!count(&n)) return false;
    v->resize(n);
    for (auto& s : *v)
      if (!str(&s)) return false;
    return true;
  }
  bool pairs(std::vector<std::pair<std::string, std::string>>* v) {
    size_t n = 0;
    if (!count(&n)) return false;
    v->resize(n);
    for (auto& [a, b] : *v)
      if (!str(&a) || !str(&b)) return false;
    return true;
  }
  bool done() const { return ok_ && p_ == end_; }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

constexpr uint64_t kStepVersion = 5;  // 4 added the sandbox's shadows, 5 init containers and container sets
// Version 2 added reason and termination_message; a supervisor of an earlier skiff, still
// running after an upgrade, writes version 1.
constexpr uint64_t kResultVersion = 4;  // 4 added containers_json

void encode_binds(Writer& w, const std::vector<BindMount>& binds) {
  w.num(binds.size());
  for (const auto& b : binds) {
    w.str(b.source);
    w.str(b.target);
    w.num(b.read_only);
    w.num(b.is_file);
  }
}

void encode_shadows(Writer& w, const std::vector<Shadow>& shadows) {
  w.num(shadows.size());
  for (const auto& sh : shadows) {
    w.str(sh.dir);
    w.str(sh.build_at);
    w.num(sh.entries.size());
    for (const auto& e : sh.entries) {
      w.str(e.path);
      w.str(e.target);
      w.num(static_cast<unsigned char>(e.type));
      w.str(e.link);
    }
    w.strs(sh.new_dirs);
    w.strs(sh.new_files);
  }
}

bool decode_shadows(Reader& r, std::vector<Shadow>* shadows) {
  size_t n = 0;
  if (!r.count(&n)) return false;
  shadows->resize(n);
  for (auto& sh : *shadows) {
    size_t entries = 0;
    if (!r.str(&sh.dir) || !r.str(&sh.build_at) || !r.count(&entries)) return false;
    sh.entries.resize(entries);
    for (auto& e : sh.entries) {
      uint64_t type = 0;
      if (!r.str(&e.path) || !r.str(&e.target) || !r.num(&type) || !r.str(&e.link)) return false;
      e.type = static_cast<char>(type);
    }
    if (!r.strs(&sh.new_dirs) || !r.strs(&sh.new_files)) return false;
  }
  return true;
}

bool decode_binds(Reader& r, std::vector<BindMount>* binds) {
  size_t n = 0;
  if (!r.count(&n)) return false;
  binds->resize(n);
  for (auto& b : *binds) {
    if (!r.str(&b.source) || !r.str(&b.target) || !r.flag(&b.read_only) || !r.flag(&b.is_file)) return false;
  }
  return true;
}

void encode_sandbox(Writer& w, const SandboxSpec& sb) {
  w.strs(sb.argv);
  w.strs(sb.env);
  w.str(sb.working_dir);
  w.str(sb.hostname);
  w.str(sb.tmp_dir);
  encode_binds(w, sb.mounts);
  w.strs(sb.hidden);
  w.num(sb.read_only_root);
  w.num(sb.privileged);
  w.str(sb.message_file);
  w.str(sb.message_path);
  encode_shadows(w, sb.shadows);
}

bool decode_sandbox(Reader& r, SandboxSpec* sb) {
  return r.strs(&sb->argv) && r.strs(&sb->env) && r.str(&sb->working_dir) && r.str(&sb->hostname) &&
         r.str(&sb->tmp_dir) && decode_binds(r, &sb->mounts) && r.strs(&sb->hidden) && r.flag(&sb->read_only_root) &&
         r.flag(&sb->privileged) && r.str(&sb->message_file) && r.str(&sb->message_path) &&
         decode_shadows(r, &sb->shadows);
}

void encode_extra(Writer& w, const std::vector<InitProcess>& list) {
  w.num(list.size());
  for (const auto& c : list) {
    w.str(c.name);
    w.strs(c.dependencies);
    w.num(c.use_sandbox);
    encode_sandbox(w, c.sandbox);
    w.strs(c.argv);
    w.str(c.log_path);
    w.strs(c.force_argv);
    w.str(c.unmount);
  }
}

bool decode_extra(Reader& r, std::vector<InitProcess>* list) {
  size_t n = 0;
  if (!r.count(&n)) return false;
  list->resize(n);
  for (auto& c : *list) {
    if (!r.str(&c.name) || !r.strs(&c.dependencies) || !r.flag(&c.use_sandbox) || !decode_sandbox(r, &c.sandbox) ||
        !r.strs(&c.argv) || !r.str(&c.log_path) || !r.strs(&c.force_argv) || !r.str(&c.unmount))
      return false;
  }
  return true;
}

}  // namespace

std::string encode_step(const SupervisedStep& s) {
  Writer w;
  w.num(kStepVersion);
  w.str(s.node_id);
  w.str(s.log_path);
  w.str(s.pid_path);
  w.str(s.result_path);
  w.num(s.max_log);
  w.num(s.max_stdout);
  w.num(s.max_output);
  w.num(s.detached);
  w.num(s.use_sandbox);
  encode_sandbox(w, s.sandbox);
  w.strs(s.argv);
  w.strs(s.force_argv);
  w.num(s.sidecars.size());
  for (const auto& c : s.sidecars) {
    w.strs(c.argv);
    w.str(c.log_path);
    w.strs(c.force_argv);
    w.str(c.unmount);
  }
  for (const auto* list : {&s.inits, &s.set}) encode_extra(w, *list);
  w.str(s.set_main);
  w.strs(s.set_main_dependencies);
  w.num(static_cast<uint64_t>(s.set_retries));
  w.num(static_cast<uint64_t>(s.set_retry_ms));
  w.pairs(s.output_files);
  w.num(s.container.enabled);
  w.str(s.container.dir);
  encode_binds(w, s.container.binds);
  w.pairs(s.container.outputs);
  w.num(s.container.keep);
  w.str(s.container.cgroup);
  w.str(s.termination_log);
  w.num(s.fallback_to_logs);
  w.num(s.cleanup_programs.size());
  for (const auto& p : s.cleanup_programs) w.strs(p);
  w.strs(s.unmounts);
  w.strs(s.removes);
  w.pairs(s.artifact_paths);
  w.str(s.artifact_dir);
  return w.take();
}

bool decode_step(const char* p, const char* end, SupervisedStep* s) {
  Reader r(p, end);
  uint64_t version = 0, max_log = 0, max_stdout = 0, max_output = 0;
  size_t n = 0;
  if (!r.num(&version) || version != kStepVersion) return false;
  if (!r.str(&s->node_id) || !r.str(&s->log_path) || !r.str(&s->pid_path) || !r.str(&s->result_path) ||
      !r.num(&max_log) || !r.num(&max_stdout) || !r.num(&max_output) || !r.flag(&s->detached) ||
      !r.flag(&s->use_sandbox) || !decode_sandbox(r, &s->sandbox) || !r.strs(&s->argv) || !r.strs(&s->force_argv) || !r.count(&n)) {
    return false;
  }
  s->max_log = max_log;
  s->max_stdout = max_stdout;
  s->max_output = max_output;
  s->sidecars.resize(n);
  for (auto& c : s->sidecars) {
    if (!r.strs(&c.argv) || !r.str(&c.log_path) || !r.strs(&c.force_argv) || !r.str(&c.unmount)) return false;
  }
  uint64_t retries = 0, retry_ms = 0;
  if (!decode_extra(r, &s->inits) || !decode_extra(r, &s->set) || !r.str(&s->set_main) ||
      !r.strs(&s->set_main_dependencies) || !r.num(&retries) || !r.num(&retry_ms))
    return false;
  s->set_retries = static_cast<int>(retries);
  s->set_retry_ms = static_cast<int64_t>(retry_ms);
  if (!r.pairs(&s->output_files) || !r.flag(&s->container.enabled) || !r.str(&s->container.dir) ||
      !decode_binds(r, &s->container.binds) || !r.pairs(&s->container.outputs) || !r.flag(&s->container.keep) ||
      !r.str(&s->container.cgroup) || !r.str(&s->termination_log) || !r.flag(&s->fallback_to_logs) ||
      !r.count(&n)) {
    return false;
  }
  s->cleanup_programs.resize(n);
  for (auto& c : s->cleanup_programs)
    if (!r.strs(&c)) return false;
  return r.strs(&s->unmounts) && r.strs(&s->removes) && r.pairs(&s->artifact_paths) && r.str(&s->artifact_dir) &&
         r.done();
}

namespace {

std::string encode_result(const StepResult& result) {
  Writer w;
  w.num(kResultVersion);
  w.num(static_cast<uint64_t>(static_cast<int64_t>(result.exit_code)));
  w.num(result.error);
  w.str(result.message);
  w.str(result.stdout_text);
  std::vector<std::pair<std::string, std::string>> outputs(result.output_parameters.begin(),
                                                          result.output_parameters.end());
  w.pairs(outputs);
  w.str(result.reason);
  w.str(result.termination_message);
  std::vector<std::pair<std::string, std::string>> files(result.artifact_files.begin(), result.artifact_files.end());
  w.pairs(files);
  w.str(result.containers_json);
  return w.take();
}

// --- small process helpers ---------------------------------------------------------------

// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. A pid
// and its start time name one process for the life of the machine.
std::string start_time(pid_t pid) {
  auto stat = read_file_capped("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return "";
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return "";
  size_t pos = paren + 2;  // fields from 3 (state) on, separated by single spaces
  for (int field = 3; field < 22; ++field) {
    pos = stat->find(' ', pos);
    if (pos == std::string::npos) return "";
    ++pos;
  }
  return stat->substr(pos, stat->find(' ', pos) - pos);
}

std::vector<char*> c_argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// Starts a program with stdin from /dev/null and stdout/stderr on the given descriptors; it
// dies with us. -1 when it could not be forked.
pid_t start_program(const std::vector<std::string>& args, int out, int err) {
  if (args.empty()) return -1;
  std::vector<char*> argv = c_argv(args);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDWR);
  ::dup2(null_fd, 0);
  ::dup2(out >= 0 ? out : null_fd, 1);
  ::dup2(err >= 0 ? err : null_fd, 2);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

int wait_for(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void run_quietly(const std::vector<std::string>& args) { run_program(args, {}, "", nullptr); }

// Stops sidecars as Argo does once the main container is done: SIGTERM, then for good
// after two seconds.
void stop_sidecars(const std::vector<SideProcess>& sidecars, const std::vector<pid_t>& pids) {
  for (pid_t pid : pids)
    if (pid > 0) ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] <= 0) continue;
    int st;
    while (::waitpid(pids[i], &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        if (!sidecars[i].force_argv.empty()) run_quietly(sidecars[i].force_argv);
        ::kill(pids[i], SIGKILL);
        wait_for(pids[i]);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  for (const auto& s : sidecars)
    if (!s.unmount.empty()) ::umount2(s.unmount.c_str(), MNT_DETACH);
}

// --- the supervisor ------------------------------------------------------------------------

class Supervision {
 public:
  Supervision(const SupervisedStep& step, int done_w)
      : step_(step), done_w_(done_w), output_(step.log_path, step.max_stdout, step.max_log) {}

  [[noreturn]] void run() {
    StepResult result = supervise();
    result.node_id = step_.node_id;
    if (result.error && !result.message.empty()) output_.note(result.message);
    output_.close();
    // The result must reach the disk: while it is full, keep trying (the server sees the
    // step still running, and gets the real result once space returns).
    std::string data = encode_result(result);
    while (!write_file_atomically(step_.result_path, data, 0600)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (done_w_ >= 0) ::close(done_w_);
    run_cleanup(step_);
    ::_exit(0);
  }

 private:
  StepResult supervise() {
    StepResult result;
    for (const auto& init : step_.inits)
      if (!run_init(init, &result)) return result;
    std::vector<pid_t> side_pids;
    for (const auto& s : step_.sidecars) {
      Fd log(::open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
      side_pids.push_back(start_program(s.argv, log.get(), log.get()));
    }
    const bool set = !step_.set_main.empty();
    if (set && !run_set(&result)) {  // the main container does not run
      stop_sidecars(step_.sidecars, side_pids);
      finish_set(&result, nullptr);
      return result;
    }
    for (int attempt = 0;; ++attempt) {
      if (!start_main(&result)) {
        stop_sidecars(step_.sidecars, side_pids);
        if (set) finish_set(&result, &result);
        return result;
      }
      watch(&result);
      bool again = set && result.exit_code != 0 && !result.error && !stopping_ && attempt < step_.set_retries;
      if (!again) break;
      if (step_.use_sandbox) (void)read_setup_error(sandbox_);
      output_.note("container " + step_.set_main + " exited with code " + std::to_string(result.exit_code) +
                   "; retry " + std::to_string(attempt + 1) + " of " + std::to_string(step_.set_retries));
      std::this_thread::sleep_for(std::chrono::milliseconds(step_.set_retry_ms));
    }
    if (step_.use_sandbox) {
      if (Status setup = read_setup_error(sandbox_); !setup) {
        result.error = true;
        result.message = setup.message();
      } else {
        for (const auto& [name, path] : step_.output_files) {
          // As the step saw it: through its own mounts, never a link out of them.
          if (auto value = read_step_file(step_.sandbox, path, step_.max_output)) {
            result.output_parameters[name] = std::move(*value);
          }
        }
      }
    } else if (step_.container.enabled) {
      collect_container_outputs(step_.container, step_.max_output, &result);
    }
    if (!result.error) copy_artifacts(&result);
    if (!result.error) read_termination_message(&result);
    stop_sidecars(step_.sidecars, side_pids);
    if (set) finish_set(&result, &result);
    return result;
  }

  // A containerSet's containers other than main (SupervisedStep::set): each starts once its
  // dependencies succeeded, runs to its end (a failure retried), its output to its own log;
  // one whose dependency did not succeed never starts. True when main may run: its own
  // dependencies succeeded and the step was not stopped.
  bool run_set(StepResult* result) {
    struct Member {
      const InitProcess* p = nullptr;
      int state = 0;  // 0 waiting, 1 running, 2 ended
      pid_t pid = -1;
      SandboxProcess sandbox;
      Fd log;
      int attempts = 0;
      std::chrono::steady_clock::time_point not_before;
    };
    std::vector<Member> members(step_.set.size());
    for (size_t i = 0; i < members.size(); ++i) members[i].p = &step_.set[i];
    auto ended = [&](Member& m, const std::string& phase, int code, const std::string& message) {
      m.state = 2;
      if (!m.p->unmount.empty()) ::umount2(m.p->unmount.c_str(), MNT_DETACH);
      set_report_.push_back({m.p->name, phase, code, message});
    };
    auto report_of = [&](const std::string& name) -> const SetReport* {
      for (const auto& r : set_report_)
        if (r.name == name) return &r;
      return nullptr;
    };
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&mask, sig);
    Fd signals(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    auto copy = [](Fd& from, int log) {
      char buf[8192];
      ssize_t n = ::read(from.get(), buf, sizeof buf);
      if (n > 0 && log >= 0) (void)!::write(log, buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) from.reset();
    };
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      bool live = false;
      for (auto& m : members) {
        if (m.state != 0) continue;
        if (stopping_) {
          ended(m, "Error", -1, "not started: the step was stopped");
          continue;
        }
        std::string blocked;
        bool ready = true;
        for (const auto& d : m.p->dependencies) {
          const SetReport* r = report_of(d);
          if (!r) ready = false;
          else if (r->phase != "Succeeded") blocked = d;
        }
        if (!blocked.empty()) {
          ended(m, "Error", -1, "dependency \"" + blocked + "\" did not succeed");
          continue;
        }
        if (!ready || now < m.not_before) {
          live = true;
          continue;
        }
        int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (m.attempts == 0 ? O_TRUNC : 0);
        m.log = Fd(::open(m.p->log_path.c_str(), flags, 0600));
        if (m.p->use_sandbox) {
          auto proc = spawn_sandbox(m.p->sandbox);
          if (!proc) {
            ended(m, "Error", -1, proc.status().message());
            continue;
          }
          m.sandbox = std::move(*proc);
          m.pid = m.sandbox.pid;
        } else {
          m.pid = start_program(m.p->argv, m.log.get(), m.log.get());
          if (m.pid < 0) {
            ended(m, "Error", -1, "could not start");
            continue;
          }
        }
        m.state = 1;
        live = true;
      }
      for (const auto& m : members) live |= m.state == 1;
      if (!live) break;
      std::vector<pollfd> fds = {{signals.get(), POLLIN, 0}};
      for (auto& m : members)
        if (m.state == 1)
          for (Fd* f : {&m.sandbox.out, &m.sandbox.err})
            if (f->valid()) fds.push_back({f->get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR) break;
      if (fds[0].revents) {
        signalfd_siginfo info;
        while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          int sig = static_cast<int>(info.ssi_signo);
          if (sig != SIGTERM && sig != SIGINT && sig != SIGUSR1) continue;
          stopping_ = true;
          for (auto& m : members) {
            if (m.state != 1) continue;
            if (sig == SIGUSR1 && !m.p->force_argv.empty()) run_quietly(m.p->force_argv);
            ::kill(m.pid, sig == SIGUSR1 ? SIGKILL : SIGTERM);
          }
        }
      }
      for (auto& m : members) {
        if (m.state != 1) continue;
        for (Fd* f : {&m.sandbox.out, &m.sandbox.err})
          if (f->valid()) copy(*f, m.log.get());
        int st = 0;
        if (::waitpid(m.pid, &st, WNOHANG) != m.pid) continue;
        for (Fd* f : {&m.sandbox.out, &m.sandbox.err})
          for (int i = 0; i < 64 && f->valid(); ++i) copy(*f, m.log.get());
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (m.p->use_sandbox) {
          if (Status setup = read_setup_error(m.sandbox); !setup) {
            ended(m, "Error", -1, setup.message());
            continue;
          }
        }
        if (code != 0 && !stopping_ && m.attempts < step_.set_retries) {
          ++m.attempts;
          output_.note("container " + m.p->name + " exited with code " + std::to_string(code) + "; retry " +
                       std::to_string(m.attempts) + " of " + std::to_string(step_.set_retries));
          m.state = 0;
          m.not_before = std::chrono::steady_clock::now() + std::chrono::milliseconds(step_.set_retry_ms);
          continue;
        }
        ended(m, code == 0 ? "Succeeded" : "Failed", code, code == 0 ? "" : "Error (exit code " + std::to_string(code) + ")");
      }
    }
    if (stopping_) {
      result->exit_code = -1;
      return false;
    }
    for (const auto& d : step_.set_main_dependencies) {
      const SetReport* r = report_of(d);
      if (r && r->phase != "Succeeded") {
        set_report_.push_back({step_.set_main, "Error", -1, "dependency \"" + d + "\" did not succeed"});
        return false;
      }
    }
    return true;
  }

  // The containers' ends as StepResult::containers_json, main's from `main` (null: it did
  // not run); a container that failed fails the step as Argo's pod fails.
  void finish_set(StepResult* result, const StepResult* main) {
    if (main) {
      std::string phase = main->error ? "Error" : main->exit_code == 0 ? "Succeeded" : "Failed";
      std::string message = main->error ? main->message
                            : main->exit_code == 0 ? ""
                                                   : "Error (exit code " + std::to_string(main->exit_code) + ")";
      set_report_.push_back({step_.set_main, phase, main->exit_code, message});
    }
    std::string json = "[";
    for (size_t i = 0; i < set_report_.size(); ++i) {
      const SetReport& r = set_report_[i];
      json += std::string(i ? "," : "") + "{\"name\":" + json_quote(r.name) + ",\"phase\":" + json_quote(r.phase) +
              (r.code >= 0 ? ",\"exitCode\":" + std::to_string(r.code) : "") + ",\"message\":" + json_quote(r.message) + "}";
    }
    result->containers_json = json + "]";
    if (stopping_ || (main && (main->error || main->exit_code != 0))) return;
    for (const auto& r : set_report_) {  // main did not run or succeeded: the first failure fails the step
      if (r.phase == "Succeeded") continue;
      result->exit_code = r.code > 0 ? r.code : 1;
      if (r.code <= 0) result->message = r.name + ": " + r.message;
      return;
    }
  }

  // Runs one init container to its end, its output to its own log (a note in the step's
  // log says how it ended). False when it failed, was stopped, or could not start: the step
  // ends there in Error with Argo's message for a failed init container.
  bool run_init(const InitProcess& init, StepResult* result) {
    Fd log(::open(init.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
    SandboxProcess sandbox;
    pid_t pid = -1;
    if (init.use_sandbox) {
      auto proc = spawn_sandbox(init.sandbox);
      if (!proc) return fail_start(result, proc.status().with_context("init container " + init.name));
      sandbox = std::move(*proc);
      pid = sandbox.pid;
    } else {
      pid = start_program(init.argv, log.get(), log.get());
      if (pid < 0) return fail_start(result, errno_status("starting init container " + init.name, errno));
    }
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&set, sig);
    Fd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    int code = -1;
    bool stopped = false;
    auto copy = [&](Fd& from) {
      char buf[8192];
      ssize_t n = ::read(from.get(), buf, sizeof buf);
      if (n > 0 && log.valid()) (void)!::write(log.get(), buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) from.reset();
    };
    for (;;) {
      int st = 0;
      pid_t w = ::waitpid(pid, &st, WNOHANG);
      if (w == pid) {
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (w < 0 && errno != EINTR) break;
      pollfd fds[3] = {{signals.get(), POLLIN, 0}, {sandbox.out.get(), POLLIN, 0}, {sandbox.err.get(), POLLIN, 0}};
      if (::poll(fds, 3, 50) < 0 && errno != EINTR) break;
      if (fds[0].revents) {
        signalfd_siginfo info;
        while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
          int sig = static_cast<int>(info.ssi_signo);
          if (sig == SIGTERM || sig == SIGINT) {
            stopped = true;
            ::kill(pid, SIGTERM);
          } else if (sig == SIGUSR1) {
            stopped = true;
            if (!init.force_argv.empty()) run_quietly(init.force_argv);
            ::kill(pid, SIGKILL);
          }
        }
      }
      if (fds[1].revents && sandbox.out.valid()) copy(sandbox.out);
      if (fds[2].revents && sandbox.err.valid()) copy(sandbox.err);
    }
    for (Fd* f : {&sandbox.out, &sandbox.err})  // what is left, without waiting on a grandchild
      for (int i = 0; i < 64 && f->valid(); ++i) copy(*f);
    if (!init.unmount.empty()) ::umount2(init.unmount.c_str(), MNT_DETACH);
    if (init.use_sandbox) {
      if (Status setup = read_setup_error(sandbox); !setup) {
        output_.note("init container " + init.name + ": " + setup.message());
        return fail_start(result, setup.with_context("init container " + init.name));
      }
    }
    if (code == 0 && !stopped) return true;
    result->exit_code = code;
    if (stopped) {
      result->message = "";
      return false;
    }
    output_.note("init container " + init.name + " exited with code " + std::to_string(code));
    // Argo's words for any failed init container (its own init container loads artifacts).
    result->error = true;
    result->message = "failed to load artifacts";
    return false;
  }

  // Output artifacts, copied out of the step's filesystem while it is still there: through
  // its mounts, else its container's root (or, in the host sandbox, its private /tmp).
  void copy_artifacts(StepResult* result) {
    for (const auto& [name, path] : step_.artifact_paths) {
      auto clean = clean_absolute_path(path);
      if (!clean) {
        result->artifact_files[name] = "!" + clean.status().message();
        continue;
      }
      const std::vector<BindMount>& mounts = step_.use_sandbox ? step_.sandbox.mounts : step_.container.binds;
      auto [root, rel] = locate_in_mounts(mounts, *clean);
      if (root.empty() && step_.use_sandbox && is_under(*clean, "/tmp")) {
        root = step_.sandbox.tmp_dir;
        rel = clean->substr(4);
      } else if (root.empty() && step_.use_sandbox) {
        result->artifact_files[name] = "!the host executor saves output artifacts from /tmp or a volume's mountPath; " +
                                       *clean + " is neither (or use --executor container)";
        continue;
      } else if (root.empty()) {
        root = step_.container.dir + "/rootfs";
      }
      std::string dest = step_.artifact_dir + "/" + name;
      Status s = make_dirs(step_.artifact_dir);
      if (s) s = copy_out_of_root(root, rel, dest);
      if (s) result->artifact_files[name] = dest;
      else if (s.code() != Code::kNotFound) result->artifact_files[name] = "!" + s.message();
    }
  }

  // As kubelet: the file's tail, else (FallbackToLogsOnError, a failure) the log's; an
  // unreadable file says so in place of a message, without falling back.
  void read_termination_message(StepResult* result) {
    static_assert(StepOutput::kTailBytes >= kMaxTerminationLogBytes, "the kept tail must hold the log's message");
    if (step_.termination_log.empty()) return;
    auto text = read_termination_log(step_.termination_log);
    if (!text) {
      result->termination_message = "error reading the termination message: " + text.status().message();
      return;
    }
    result->termination_message = std::move(*text);
    if (result->termination_message.empty() && step_.fallback_to_logs && result->exit_code != 0) {
      result->termination_message = log_tail_message(output_.tail());
    }
  }

  bool start_main(StepResult* result) {
    if (step_.use_sandbox) {
      auto proc = spawn_sandbox(step_.sandbox);
      if (!proc) return fail_start(result, proc.status());
      sandbox_ = std::move(*proc);
      pid_ = sandbox_.pid;
      out_ = std::move(sandbox_.out);
      err_ = std::move(sandbox_.err);
      return true;
    }
    Fd out_w, err_w;
    if (Status s = make_pipe(&out_, &out_w, true); !s) return fail_start(result, s);
    if (Status s = make_pipe(&err_, &err_w, true); !s) return fail_start(result, s);
    pid_ = start_program(step_.argv, out_w.get(), err_w.get());
    if (pid_ < 0) return fail_start(result, errno_status("starting " + step_.argv.front(), errno));
    return true;
  }

  bool fail_start(StepResult* result, const Status& s) {
    result->error = true;
    result->exit_code = -1;
    result->message = s.message();
    return false;
  }

  // Copies output to the log until the main process exited and its pipes are drained
  // (at most 100 ms more: a grandchild holding them open must not hold the step).
  void watch(StepResult* result) {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&set, sig);
    Fd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    bool exited = false;
    auto drain_deadline = std::chrono::steady_clock::time_point::max();
    for (;;) {
      if (!exited) exited = reap(result);
      if (!exited && !up_ && !status_failed_) check_up();
      if (exited && drain_deadline == std::chrono::steady_clock::time_point::max()) {
        drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      }
      if (exited && ((!out_.valid() && !err_.valid()) || std::chrono::steady_clock::now() >= drain_deadline)) break;
      // The sandbox's status pipe says when the command is exec'd; a container's init
      // leaves a file (see check_up), looked for every 20 ms until it is there.
      int status_fd = !up_ && !status_failed_ && step_.use_sandbox ? sandbox_.status.get() : -1;
      pollfd fds[4] = {{signals.get(), POLLIN, 0}, {out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}, {status_fd, POLLIN, 0}};
      int timeout = exited ? 10 : !up_ && !step_.use_sandbox && step_.container.enabled ? 20 : -1;
      if (::poll(fds, 4, timeout) < 0 && errno != EINTR) break;
      if (fds[0].revents) take_signals(signals.get());
      if (fds[1].revents && !output_.read_from(Stream::kStdout, out_.get())) out_.reset();
      if (fds[2].revents && !output_.read_from(Stream::kStderr, err_.get())) err_.reset();
    }
    if (out_.valid()) output_.read_from(Stream::kStdout, out_.get());
    if (err_.valid()) output_.read_from(Stream::kStderr, err_.get());
    result->stdout_text = output_.take_stdout();
  }

  // Tells the executor once the main command runs (exec'd, not just its process made):
  // "u<pid>\n" on the done pipe, the pid being the sandbox's init (host steps). A daemon
  // step is ready from then on, or once its readinessProbe passes (process_executor.cc).
  void check_up() {
    if (step_.use_sandbox) {
      pollfd p{sandbox_.status.get(), POLLIN, 0};
      if (!sandbox_.status.valid() || ::poll(&p, 1, 0) <= 0) return;
      int pending = 0;
      // Bytes waiting are a setup or exec error (read after the exit); end of file alone
      // means the exec happened.
      if (::ioctl(sandbox_.status.get(), FIONREAD, &pending) != 0 || pending > 0) {
        status_failed_ = true;  // it will exit; stop polling the pipe
        return;
      }
      if (!(p.revents & POLLHUP)) return;
    } else if (!step_.container.enabled || ::access((step_.container.dir + "/status/started").c_str(), F_OK) != 0) {
      return;
    }
    up_ = true;
    if (done_w_ < 0) return;
    std::string note = "u" + std::to_string(pid_) + "\n";
    (void)!::write(done_w_, note.data(), note.size());
  }

  bool reap(StepResult* result) {
    int st = 0;
    pid_t w = ::waitpid(pid_, &st, WNOHANG);
    if (w == 0 || (w < 0 && errno == EINTR)) return false;
    if (w < 0) {
      result->error = true;
      result->exit_code = -1;
      result->message = "lost track of the step's process";
    } else {
      result->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return true;
  }

  void take_signals(int fd) {
    signalfd_siginfo info;
    while (::read(fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) stopping_ = true;
      if (sig == SIGTERM || sig == SIGINT) {
        ::kill(pid_, SIGTERM);  // the sandbox's init and runc pass it on to the step
      } else if (sig == SIGUSR1) {
        if (!step_.force_argv.empty()) run_quietly(step_.force_argv);
        if (step_.use_sandbox || step_.force_argv.empty()) ::kill(pid_, SIGKILL);
      }
    }
  }

  struct SetReport {
    std::string name, phase;
    int code = -1;
    std::string message;
  };
  static std::string json_quote(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\', out += c;
      else if (static_cast<unsigned char>(c) < 0x20) out += fmt_control(c);
      else out += c;
    }
    return out + "\"";
  }
  static std::string fmt_control(char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
    return buf;
  }

  const SupervisedStep& step_;
  bool stopping_ = false;  // a SIGTERM, SIGINT or SIGUSR1 came
  bool up_ = false;        // the main command was exec'd (check_up)
  bool status_failed_ = false;  // the sandbox reported a setup or exec error
  std::vector<SetReport> set_report_;
  int done_w_;
  StepOutput output_;
  SandboxProcess sandbox_;
  pid_t pid_ = -1;
  Fd out_, err_;
};

}  // namespace

// In the freshly forked supervisor: its own session, signals ready for a signalfd, the pid
// file written before anything starts.
[[noreturn]] void run_supervisor(const SupervisedStep& step, int done_w) {
  ::setsid();
  if (!step.detached) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGCHLD}) sigaddset(&set, sig);
  ::sigprocmask(SIG_SETMASK, &set, nullptr);
  // Nothing of the server's: no terminal, no output pipes a caller waits on to close.
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null_fd, fd);
  if (null_fd > 2) ::close(null_fd);
  if (::chdir("/") != 0) {
  }
  pid_t self = ::getpid();
  // One small write to a new file (no rename: that would contend for the directory with
  // every other step); adopt_supervisor takes a file without its final newline for a
  // supervisor that died writing it.
  if (!write_file(step.pid_path, std::to_string(self) + " " + start_time(self) + "\n", 0600)) ::_exit(1);
  Supervision(step, done_w).run();
}


void run_cleanup(const SupervisedStep& step) {
  for (const auto& program : step.cleanup_programs) run_quietly(program);
  for (const auto& path : step.unmounts) ::umount2(path.c_str(), MNT_DETACH);
  for (const auto& path : step.removes) remove_tree(path);
}

Result<Supervisor> adopt_supervisor(const std::string& pid_path) {
  auto text = read_file_capped(pid_path, 128);
  if (!text) return Status(Code::kNotFound, "no supervisor recorded at " + pid_path);
  long pid = std::strtol(text->c_str(), nullptr, 10);
  size_t space = text->find(' ');
  std::string started = space == std::string::npos || text->back() != '\n' ? "" : text->substr(space + 1);
  if (!started.empty()) started.pop_back();
  Status gone(Code::kUnavailable, "the step's supervisor (pid " + std::to_string(pid) + ") is gone");
  if (pid <= 0 || started.empty() || start_time(static_cast<pid_t>(pid)) != started) return gone;
  Supervisor sup;
  sup.pid = static_cast<pid_t>(pid);
  sup.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, sup.pid, 0)));
  // Checked again with the pidfd held: the pid cannot have been reused in between.
  if (!sup.pidfd.valid() || start_time(sup.pid) != started) return gone;
  return sup;
}

Result<StepResult> read_step_result(const std::string& path) {
  auto data = read_file_capped(path, 64 << 20);
  if (!data) return data.status();
  Reader r(data->data(), data->data() + data->size());
  StepResult result;
  uint64_t version = 0, code = 0;
  std::vector<std::pair<std::string, std::string>> outputs, files;
  (void)r.num(&version);
  if ((version < 1 || version > kResultVersion) || !r.num(&code) || !r.flag(&result.error) || !r.str(&result.message) ||
      !r.str(&result.stdout_text) || !r.pairs(&outputs) ||
      (version >= 2 && (!r.str(&result.reason) || !r.str(&result.termination_message))) ||
      (version >= 3 && !r.pairs(&files)) || (version >= 4 && !r.str(&result.containers_json)) || !r.done()) {
    return internal_error("the step's result file " + path + " is damaged");
  }
  result.exit_code = static_cast<int>(static_cast<int64_t>(code));
  for (auto& [name, value] : outputs) result.output_parameters[name] = std::move(value);
  for (auto& [name, value] : files) result.artifact_files[name] = std::move(value);
  return result;
}

}  // namespace skiff::runtime
