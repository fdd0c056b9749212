/* The floor: fork/exec `true` N times, J at a time, and wait for each. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, jobs = argc > 2 ? atoi(argv[2]) : 1, running = 0;
  char* args[] = {"true", NULL};
  for (int i = 0; i < n; ++i) {
    if (running == jobs) {
      wait(NULL);
      --running;
    }
    pid_t p = fork();
    if (p == 0) {
      execvp("true", args);
      _exit(127);
    }
    ++running;
  }
  while (running-- > 0) wait(NULL);
  return 0;
}
