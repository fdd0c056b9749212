// skiff-emissary: skiff's helper inside a step's Pod on the Kubernetes executor
// (docs/kubernetes-executor.md). Static, so it runs in any image: the Pod's `init`
// container copies it into an emptyDir shared by the Pod's containers, and the main
// container and sidecars run through it, as Argo's emissary does.
//
//   skiff-emissary init DIR [INPUTS] copy this program to DIR/skiff-emissary; put the input
//                                    artifacts the Secret mounted at INPUTS holds in DIR/inputs
//   skiff-emissary main -- ARGV...   run ARGV; keep its stdout (for outputs.result) while
//                                    passing it on; then leave its exit code and output
//                                    parameters in DIR and mark it done
//   skiff-emissary sidecar -- ARGV...  run ARGV until the main container is done, then stop it
//   skiff-emissary member -- ARGV...   a containerSet's container other than main: run ARGV
//                                    after the containers it depends on, record how it ended
//   skiff-emissary ready             exit 0 while main's command runs (a daemon's readiness)
//   skiff-emissary wait              wait until the main container is done, then print what
//                                    it left as one JSON line: what the server reads
//
// Settings come as JSON in $SKIFF_EMISSARY: {"dir", "stdoutMax", "parameterMax",
// "outputs": [{"name", "path"}] (output parameters), "artifacts": [{"name", "path"}] (output
// artifacts, carried base64 in the outputs up to "artifactMax" bytes in all), "script":
// SOURCE (written to DIR/script, whose path is appended to ARGV), "graceMs"}. Whatever goes wrong is said on stderr and in the JSON.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Json = nlohmann::json;

struct Settings {
  std::string dir = "/var/run/skiff";
  size_t stdout_max = 256 * 1024;
  size_t parameter_max = 256 * 1024;
  std::vector<std::pair<std::string, std::string>> outputs;
  std::vector<std::pair<std::string, std::string>> artifacts;  // output artifacts: name, path
  size_t artifact_max = 8u << 20;  // all of a step's output artifacts, in bytes
  // containerSet: this container's name, those it runs after, the others (`wait` waits for
  // them), and its retries.
  std::string name;
  std::vector<std::string> after, members;
  std::vector<std::string> wait_for;  // main: every other container (skiff runs main last)
  int retries = 0;
  int retry_ms = 0;
  bool has_script = false;
  std::string script;
  int grace_ms = 10000;
};

Settings settings() {
  Settings s;
  const char* env = std::getenv("SKIFF_EMISSARY");
  if (!env || !*env) return s;
  Json j = Json::parse(env, nullptr, false);
  if (!j.is_object()) {
    std::fprintf(stderr, "skiff-emissary: $SKIFF_EMISSARY is not a JSON object; using the defaults\n");
    return s;
  }
  s.dir = j.value("dir", s.dir);
  s.stdout_max = j.value("stdoutMax", s.stdout_max);
  s.parameter_max = j.value("parameterMax", s.parameter_max);
  s.grace_ms = j.value("graceMs", s.grace_ms);
  if (j.contains("script") && j["script"].is_string()) {
    s.has_script = true;
    s.script = j["script"].get<std::string>();
  }
  if (j.contains("outputs") && j["outputs"].is_array())
    for (const auto& o : j["outputs"])
      if (o.is_object()) s.outputs.emplace_back(o.value("name", ""), o.value("path", ""));
  if (j.contains("artifacts") && j["artifacts"].is_array())
    for (const auto& o : j["artifacts"])
      if (o.is_object()) s.artifacts.emplace_back(o.value("name", ""), o.value("path", ""));
  s.artifact_max = j.value("artifactMax", s.artifact_max);
  s.name = j.value("name", "");
  for (auto [key, list] : {std::pair{"after", &s.after}, {"members", &s.members}, {"waitFor", &s.wait_for}})
    if (j.contains(key) && j[key].is_array())
      for (const auto& n : j[key])
        if (n.is_string()) list->push_back(n);
  s.retries = j.value("retries", 0);
  s.retry_ms = j.value("retryMs", 0);
  return s;
}

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Writes `text` to `path` through a temporary file, so a reader sees all of it or nothing.
bool write_atomically(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = write_all(fd, text.data(), text.size());
  ok = ::close(fd) == 0 && ok;
  return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

// At most `max` bytes of the regular file `path`; false when it is missing or not a file.
bool read_file(const std::string& path, size_t max, std::string* out, std::string* why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *why = "not a regular file";
    return false;
  }
  out->clear();
  char buf[65536];
  while (out->size() < max) {
    ssize_t r = ::read(fd, buf, std::min(sizeof buf, max - out->size()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out->append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return true;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// The files under `path` (itself when a file) as [{"path": relative, "mode", "data": base64}]
// (directories as entries without data, symbolic links with "link"), within `*budget` bytes.
bool collect_tree(const std::string& path, const std::string& rel, Json* files, size_t* budget, std::string* why,
                  int depth = 0) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    *why = path + ": " + std::strerror(errno);
    return false;
  }
  if (depth > 64) {
    *why = path + ": nested too deep";
    return false;
  }
  Json entry = {{"path", rel}, {"mode", st.st_mode & 07777}};
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n < 0) {
      *why = path + ": " + std::strerror(errno);
      return false;
    }
    entry["link"] = std::string(target, static_cast<size_t>(n));
    files->push_back(std::move(entry));
    return true;
  }
  if (S_ISDIR(st.st_mode)) {
    entry["dir"] = true;
    files->push_back(std::move(entry));
    DIR* d = ::opendir(path.c_str());
    if (!d) {
      *why = path + ": " + std::strerror(errno);
      return false;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names)
      if (!collect_tree(path + "/" + n, rel.empty() ? n : rel + "/" + n, files, budget, why, depth + 1)) return false;
    return true;
  }
  if (!S_ISREG(st.st_mode)) return true;  // devices, sockets, fifos: not kept, as in a tar of Argo's
  if (static_cast<size_t>(st.st_size) > *budget) {
    *why = "output artifacts larger than the kubernetes executor passes through its pod's log (" +
           std::to_string(*budget) + " bytes left)";
    return false;
  }
  std::string data, err;
  if (!read_file(path, *budget + 1, &data, &err)) {
    *why = path + ": " + err;
    return false;
  }
  *budget -= data.size();
  entry["data"] = base64(data);
  files->push_back(std::move(entry));
  return true;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

volatile sig_atomic_t g_child = 0;

void forward(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

// Starts argv with stdout into `out_fd` (-1: inherited). Returns the pid, or -1 with the
// reason in *why (exec's own failure comes back through a close-on-exec pipe).
pid_t spawn(const std::vector<std::string>& argv, int out_fd, std::string* why) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    *why = std::strerror(errno);
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    *why = std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    if (out_fd >= 0) ::dup2(out_fd, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(report[1]);
  int e = 0;
  ssize_t r;
  do r = ::read(report[0], &e, sizeof e); while (r < 0 && errno == EINTR);
  ::close(report[0]);
  if (r == sizeof e) {
    int status;
    ::waitpid(pid, &status, 0);
    if (e == ENOENT && argv[0].find('/') == std::string::npos) {
      *why = "executable \"" + argv[0] + "\" not found in $PATH";
    } else {
      *why = "cannot run \"" + argv[0] + "\": " + std::strerror(e);
    }
    return -1;
  }
  g_child = pid;
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Whether the kernel's OOM killer has killed a process of this container's memory cgroup
// (cgroup v2's memory.events, v1's memory.oom_control: "oom_kill N"). The kubelet says
// OOMKilled only when its runtime saw the OOM event before the exit, which a loaded node
// may not: this is what the cgroup itself recorded.
bool oom_killed() {
  for (const char* path : {"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}) {
    std::ifstream in(path);
    std::string key;
    long long n = 0;
    while (in >> key >> n) {
      if (key == "oom_kill") return n > 0;
    }
  }
  return false;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return exit_code_of(status);
}

void install_forwarding() {
  struct sigaction sa = {};
  sa.sa_handler = forward;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) ::sigaction(sig, &sa, nullptr);
}

// containerSet: how a container ended, as the engine's Container nodes take it
// ({"name", "phase", "exitCode", "message"}), in DIR/ctr/NAME.json.
std::string ended_path(const Settings& s, const std::string& name) { return s.dir + "/ctr/" + name + ".json"; }

void record_end(const Settings& s, const std::string& phase, int code, const std::string& message) {
  ::mkdir((s.dir + "/ctr").c_str(), 0755);
  Json j = {{"name", s.name}, {"phase", phase}, {"message", message}};
  if (code >= 0) j["exitCode"] = code;
  write_atomically(ended_path(s, s.name), j.dump());
}

// Waits until the containers this one runs after have ended; the first that did not
// succeed, with its exit code, or "".
std::pair<std::string, int> wait_for_dependencies(const Settings& s) {
  for (const auto& d : s.after) {
    std::string text, why;
    while (!read_file(ended_path(s, d), 1 << 20, &text, &why))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Json j = Json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("phase", "") != "Succeeded") return {d, j.is_object() ? j.value("exitCode", 1) : 1};
  }
  return {"", 0};
}

// A containerSet container other than main: runs after its dependencies, with the set's
// retries, and records how it ended.
int run_member(const Settings& s, const std::vector<std::string>& argv) {
  auto [failed, failed_code] = wait_for_dependencies(s);
  if (!failed.empty()) {
    record_end(s, "Error", -1, "dependency \"" + failed + "\" did not succeed");
    return 0;
  }
  install_forwarding();
  int code = 0;
  for (int attempt = 0;; ++attempt) {
    std::string why;
    pid_t pid = argv.empty() ? -1 : spawn(argv, -1, &why);
    if (pid < 0) {
      std::fprintf(stderr, "%s\n", argv.empty() ? "skiff-emissary: no command to run" : why.c_str());
      record_end(s, "Error", 127, argv.empty() ? "no command to run" : why);
      return 127;
    }
    code = wait_child(pid);
    if (code == 0 || attempt >= s.retries) break;
    std::fprintf(stderr, "skiff-emissary: container %s exited with code %d; retry %d of %d\n", s.name.c_str(), code,
                 attempt + 1, s.retries);
    std::this_thread::sleep_for(std::chrono::milliseconds(s.retry_ms));
  }
  record_end(s, code == 0 ? "Succeeded" : "Failed", code, code == 0 ? "" : "Error (exit code " + std::to_string(code) + ")");
  return code;
}

int run_main(const Settings& s, std::vector<std::string> argv) {
  Json done = Json::object();
  if (!s.name.empty()) {  // containerSet: main runs last, if its dependencies succeeded
    for (const auto& other : s.wait_for) {
      std::string text, why;
      while (!read_file(ended_path(s, other), 1 << 20, &text, &why))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto [failed, failed_code] = wait_for_dependencies(s);
    if (!failed.empty()) {
      std::string why = "dependency \"" + failed + "\" did not succeed";
      record_end(s, "Error", -1, why);
      done = {{"exitCode", failed_code > 0 ? failed_code : 1}, {"skipped", why}, {"result", ""},
              {"parameters", Json::object()}};
      write_atomically(s.dir + "/outputs.json", done.dump());
      write_atomically(s.dir + "/main.done", "");
      return done["exitCode"];
    }
  }
  if (s.has_script) {
    std::string path = s.dir + "/script";
    if (!write_atomically(path, s.script, 0755)) {
      std::fprintf(stderr, "skiff-emissary: cannot write the script to %s: %s\n", path.c_str(), std::strerror(errno));
    }
    argv.push_back(path);
  }
  int pipe_fds[2];
  if (argv.empty() || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    done["exitCode"] = 127;
    done["error"] = argv.empty() ? "no command to run" : std::string("pipe: ") + std::strerror(errno);
  } else {
    install_forwarding();
    std::string why;
    pid_t pid = spawn(argv, pipe_fds[1], &why);
    ::close(pipe_fds[1]);
    if (pid > 0) write_atomically(s.dir + "/main.started", "");  // `ready` says so (daemons)
    std::string kept;
    bool truncated = false;
    for (int attempt = 0; pid > 0; ++attempt) {
      char buf[65536];
      for (;;) {
        ssize_t r = ::read(pipe_fds[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        write_all(1, buf, static_cast<size_t>(r));
        size_t room = s.stdout_max > kept.size() ? s.stdout_max - kept.size() : 0;
        if (static_cast<size_t>(r) > room) truncated = true;
        kept.append(buf, std::min(room, static_cast<size_t>(r)));
      }
      int code = wait_child(pid);
      done["exitCode"] = code;
      if (code == 128 + SIGKILL && oom_killed()) done["reason"] = "OOMKilled";
      if (code == 0 || attempt >= s.retries) break;
      // containerSet retries: main runs again, its output kept from this attempt on.
      std::fprintf(stderr, "skiff-emissary: container %s exited with code %d; retry %d of %d\n", s.name.c_str(), code,
                   attempt + 1, s.retries);
      std::this_thread::sleep_for(std::chrono::milliseconds(s.retry_ms));
      ::close(pipe_fds[0]);
      if (::pipe2(pipe_fds, O_CLOEXEC) != 0) break;
      kept.clear();
      pid = spawn(argv, pipe_fds[1], &why);
      ::close(pipe_fds[1]);
    }
    if (pid <= 0) {
      std::fprintf(stderr, "%s\n", why.c_str());
      done["exitCode"] = 127;
      done["error"] = why;
    }
    ::close(pipe_fds[0]);
    done["result"] = kept;
    if (truncated) done["resultTruncated"] = true;
  }
  Json params = Json::object(), missing = Json::object();
  for (const auto& [name, path] : s.outputs) {
    std::string value, why;
    if (read_file(path, s.parameter_max, &value, &why)) {
      params[name] = value;
    } else {
      missing[name] = path + ": " + why;
    }
  }
  done["parameters"] = params;
  if (!missing.empty()) done["missing"] = missing;
  // Output artifacts: what is at each path, carried in the outputs (the server saves them).
  size_t budget = s.artifact_max;
  Json artifacts = Json::object();
  for (const auto& [name, path] : s.artifacts) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) artifacts[name] = {{"error", path + ": " + std::strerror(errno)}};
      continue;  // absent: the server says so, or leaves it out when optional
    }
    Json files = Json::array();
    std::string why;
    if (collect_tree(path, "", &files, &budget, &why)) artifacts[name] = {{"files", std::move(files)}};
    else artifacts[name] = {{"error", why}};
  }
  if (!artifacts.empty()) done["artifacts"] = std::move(artifacts);
  std::string text = done.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (!write_atomically(s.dir + "/outputs.json", text)) {
    std::fprintf(stderr, "skiff-emissary: cannot write %s/outputs.json: %s\n", s.dir.c_str(), std::strerror(errno));
  }
  if (!s.name.empty()) {
    int code = done.value("exitCode", 1);
    if (done.contains("error")) record_end(s, "Error", code, done["error"]);
    else record_end(s, code == 0 ? "Succeeded" : "Failed", code, code == 0 ? "" : "Error (exit code " + std::to_string(code) + ")");
  }
  write_atomically(s.dir + "/main.done", "");
  return done.value("exitCode", 1);
}

int run_sidecar(const Settings& s, const std::vector<std::string>& argv) {
  install_forwarding();
  std::string why;
  pid_t pid = argv.empty() ? -1 : spawn(argv, -1, &why);
  if (pid < 0) {
    std::fprintf(stderr, "%s\n", argv.empty() ? "skiff-emissary: no command to run" : why.c_str());
    return 127;
  }
  std::string done = s.dir + "/main.done";
  for (;;) {
    int status;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return exit_code_of(status);
    if (exists(done)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The main container is done: the sidecar stops, as Argo stops sidecars.
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.grace_ms);
  for (;;) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) return 0;
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  wait_child(pid);
  return 0;
}

int run_wait(const Settings& s) {
  std::string done = s.dir + "/main.done";
  // Polled: an emptyDir on any node, and a 50 ms poll costs nothing beside a Pod's start.
  while (!exists(done)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string text, why;
  if (!read_file(s.dir + "/outputs.json", 64u << 20, &text, &why)) {
    Json j = {{"error", "the main container left no outputs: " + why}};
    text = j.dump();
  }
  if (!s.members.empty()) {
    // containerSet: how each container ended, once all have.
    Json out = Json::parse(text, nullptr, false);
    if (!out.is_object()) out = Json::object();
    Json containers = Json::array();
    for (const auto& m : s.members) {
      std::string ended;
      while (!read_file(ended_path(s, m), 1 << 20, &ended, &why)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      Json j = Json::parse(ended, nullptr, false);
      if (j.is_object()) containers.push_back(std::move(j));
    }
    out["containers"] = std::move(containers);
    text = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  text += "\n";
  return write_all(1, text.data(), text.size()) ? 0 : 1;
}

// Input artifacts, from the Secret the server made (mounted at INPUTS): its `index` lists
// [{"key", "path", "mode", "dir", "link"}], each file's bytes under its key; they are put at
// DIR/inputs/<path>, where the main container's mounts show them.
int materialize_inputs(const std::string& inputs, const std::string& dir) {
  std::string text, why;
  if (!read_file(inputs + "/index", 64u << 20, &text, &why)) return 0;  // no input artifacts
  Json index = Json::parse(text, nullptr, false);
  if (!index.is_array()) {
    std::fprintf(stderr, "skiff-emissary: %s/index is not a JSON list\n", inputs.c_str());
    return 1;
  }
  for (const auto& e : index) {
    std::string rel = e.value("path", "");
    if (rel.empty() || rel[0] == '/' || ("/" + rel + "/").find("/../") != std::string::npos) {
      std::fprintf(stderr, "skiff-emissary: input path \"%s\" leaves its directory\n", rel.c_str());
      return 1;
    }
    std::string dest = dir + "/inputs/" + rel;
    for (size_t i = dir.size() + 1; (i = dest.find('/', i + 1)) != std::string::npos;) ::mkdir(dest.substr(0, i).c_str(), 0755);
    mode_t mode = static_cast<mode_t>(e.value("mode", 0644));
    bool ok = true;
    if (e.value("dir", false)) {
      ok = ::mkdir(dest.c_str(), mode) == 0 || errno == EEXIST;
    } else if (e.contains("link")) {
      ok = ::symlink(e["link"].get<std::string>().c_str(), dest.c_str()) == 0;
    } else {
      std::string data;
      ok = read_file(inputs + "/" + e.value("key", ""), 1u << 30, &data, &why) && write_atomically(dest, data, mode);
    }
    if (!ok) {
      std::fprintf(stderr, "skiff-emissary: cannot put input artifact file %s: %s\n", dest.c_str(), std::strerror(errno));
      return 1;
    }
    ::chmod(dest.c_str(), mode);
  }
  return 0;
}

int copy_self(const std::string& dir) {
  std::string self, why;
  if (!read_file("/proc/self/exe", 256u << 20, &self, &why)) {
    std::fprintf(stderr, "skiff-emissary: cannot read /proc/self/exe: %s\n", why.c_str());
    return 1;
  }
  ::mkdir(dir.c_str(), 0755);
  if (!write_atomically(dir + "/skiff-emissary", self, 0755)) {
    std::fprintf(stderr, "skiff-emissary: cannot write %s/skiff-emissary: %s\n", dir.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: skiff-emissary init DIR [INPUTS] | main -- ARGV... | member -- ARGV... | sidecar -- ARGV... | ready | wait | --version\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string mode = argv[1];
  if (mode == "--version") {
    std::printf("skiff-emissary %s\n", SKIFF_VERSION);
    return 0;
  }
  Settings s = settings();
  if (mode == "init") {
    if (argc != 3 && argc != 4) return usage();
    int rc = copy_self(argv[2]);
    return rc == 0 && argc == 4 ? materialize_inputs(argv[3], argv[2]) : rc;
  }
  if (mode == "wait") return run_wait(s);
  if (mode == "ready") return exists(s.dir + "/main.started") && !exists(s.dir + "/main.done") ? 0 : 1;
  if (mode != "main" && mode != "sidecar" && mode != "member") return usage();
  int first = 2;
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  std::vector<std::string> rest(argv + first, argv + argc);
  if (mode == "member") return run_member(s, rest);
  return mode == "main" ? run_main(s, std::move(rest)) : run_sidecar(s, rest);
}
