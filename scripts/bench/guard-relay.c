/*
 * The lowest floor for scripts/bench/guard.mjs: one more process between host and server that
 * does nothing but move bytes, in C with no runtime at all (poll(2), read(2), write(2), one 64 KiB
 * buffer). Where even this row stays under 0.8x direct, no proxy process in any language can meet
 * issue 9's throughput goal with that server on the machine: the cost is the extra process's
 * system calls and the third busy process on two cores, not the proxy's own work. Not a security
 * boundary (nothing is checked). guard.mjs compiles it with the machine's `cc` when there is one.
 * Usage: guard-relay-c <command> [args...]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *bytes, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, bytes, (size_t)n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    bytes += w;
    n -= w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: guard-relay-c <command> [args...]\n", stderr);
    return 2;
  }
  int to_server[2], from_server[2];
  if (pipe(to_server) != 0 || pipe(from_server) != 0) return perror("pipe"), 1;
  signal(SIGPIPE, SIG_IGN);
  pid_t child = fork();
  if (child < 0) return perror("fork"), 1;
  if (child == 0) {
    dup2(to_server[0], 0);
    dup2(from_server[1], 1);
    close(to_server[0]);
    close(to_server[1]);
    close(from_server[0]);
    close(from_server[1]);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[1], argv + 1);
    perror("exec");
    _exit(127);
  }
  close(to_server[0]);
  close(from_server[1]);
  static char buffer[65536];
  struct pollfd fds[2] = {{0, POLLIN, 0}, {from_server[0], POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      ssize_t n = read(0, buffer, sizeof buffer);
      if (n <= 0 && !(n < 0 && errno == EINTR)) {
        close(to_server[1]); /* the host is done: so is the server's stdin */
        fds[0].fd = -1;
      } else if (n > 0 && write_all(to_server[1], buffer, n) != 0) fds[0].fd = -1;
    }
    if (fds[1].revents) {
      ssize_t n = read(from_server[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || write_all(1, buffer, n) != 0) break;
    }
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
