/* skiff-init: PID 1 of every container step (statically linked, bound read-only into the
 * container at /.skiff/init).
 *
 * The step's command runs as PID 2 in its own process group, so it gets the default
 * signal behaviour a command expects (a bare PID 1 ignores SIGTERM unless it installed a
 * handler). SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to that
 * group; orphans are reaped; when the command exits, the init exits with its code
 * (128+N when killed by signal N), which ends the container. This is what Argo's
 * executor does inside a Pod, and what the host sandbox's init does. If the command cannot
 * be executed, the reason goes to /.skiff/status/error, so the node becomes an Error; once
 * it is executed, /.skiff/status/started appears (a daemon step is up from then on). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs("skiff-init: usage: skiff-init COMMAND [ARG...]\n", stderr);
    return 127;
  }
  /* If runc (our parent) dies, so does the container. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* Closed by the exec (close-on-exec), or written to when it fails. */
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) exec_pipe[0] = exec_pipe[1] = -1;
  pid_t child = fork();
  if (child < 0) {
    perror("skiff-init: fork");
    return 126;
  }
  if (child == 0) {
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[1], argv + 1);
    /* Tell skiff (through the status directory it mounted) that the step never started. */
    int err = errno;
    char msg[512];
    if (err == ENOENT) {
      snprintf(msg, sizeof msg, "executable \"%s\" not found%s", argv[1], strchr(argv[1], '/') ? "" : " in $PATH");
    } else {
      snprintf(msg, sizeof msg, "cannot run executable \"%s\": %s", argv[1], strerror(err));
    }
    FILE* f = fopen("/.skiff/status/error", "w");
    if (f) {
      fputs(msg, f);
      fclose(f);
    }
    fprintf(stderr, "skiff-init: %s\n", msg);
    if (exec_pipe[1] >= 0) (void)!write(exec_pipe[1], "x", 1);
    _exit(err == ENOENT ? 127 : 126);
  }
  setpgid(child, child);
  if (exec_pipe[0] >= 0) {
    close(exec_pipe[1]);
    char c;
    ssize_t n;
    while ((n = read(exec_pipe[0], &c, 1)) < 0 && errno == EINTR) {
    }
    close(exec_pipe[0]);
    if (n == 0) {
      int fd = open("/.skiff/status/started", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    }
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      for (size_t i = 0; i < sizeof kForwarded / sizeof kForwarded[0]; ++i) {
        if (sig == kForwarded[i]) kill(-child, sig);
      }
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
  }
}
