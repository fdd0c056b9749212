#include "runtime/program.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/fd.h"

extern char** environ;

namespace skiff::runtime {

int run_program(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& input,
                std::string* out) {
  Fd in_r, in_w, out_r, out_w;
  if (!make_pipe(&in_r, &in_w, false) || !make_pipe(&out_r, &out_w, false)) return -1;
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // Whatever signals the caller blocks (the server's threads block SIGINT/SIGTERM, a
  // supervisor those it reads from a signalfd), the program starts with none blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  in_r.reset();
  out_w.reset();
  (void)!::write(in_w.get(), input.data(), input.size());  // configs are small: fits the pipe
  in_w.reset();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out_r.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && out && out->size() < (1 << 20)) out->append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace skiff::runtime
