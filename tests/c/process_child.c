/* process_child.c: tide-test-child, the program the subprocess tests spawn
 * (test-native-process.c). Plain blocking POSIX, no tideloop: it stands for
 * whatever a user runs. One command per run:
 *
 *   exit N            exit with status N
 *   signal N          die of signal N (at its default action)
 *   spew OUT ERR      write OUT bytes to stdout and ERR to stderr, alternating
 *                     64 KiB chunks, byte k of stream s being pattern(k, s)
 *   fds               print the open fds, sorted, space-separated
 *   sleep MS          sleep MS ms, then exit 0
 *   ignore-term MS    ignore SIGTERM, then sleep MS ms and exit 0
 *   cat               copy stdin to stdout until end of input, exit 0
 *   getenv NAME       print NAME's value, or "(unset)"
 *   pwd               print the working directory
 *   close-stdout      close stdout, sleep 50 ms, exit 3
 *   signals           print "ignored=<n> blocked=<n>": how many signals the
 *                     child started with ignored (other than by default) and
 *                     blocked
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static unsigned char pattern(size_t k, int s) {
  return (unsigned char)((k % 251) ^ (unsigned)(s * 0x5a));
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int spew(size_t out, size_t err) {
  static unsigned char buf[CHUNK];
  size_t done[2] = {0, 0}, want[2] = {out, err};
  while (done[0] < want[0] || done[1] < want[1]) {
    for (int s = 0; s < 2; s++) {
      size_t n = want[s] - done[s];
      if (n > CHUNK) n = CHUNK;
      if (n == 0) continue;
      for (size_t i = 0; i < n; i++) buf[i] = pattern(done[s] + i, s);
      if (write_all(s + 1, buf, n) != 0) return 1;
      done[s] += n;
    }
  }
  return 0;
}

static int list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return 1;
  int self = dirfd(d), fds[1024], n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 1024) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != self) fds[n++] = fd;
  }
  closedir(d);
  for (int i = 1; i < n; i++) /* insertion sort: a handful of fds */
    for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
      int t = fds[j];
      fds[j] = fds[j - 1];
      fds[j - 1] = t;
    }
  for (int i = 0; i < n; i++) printf(i ? " %d" : "%d", fds[i]);
  printf("\n");
  return 0;
}

static int cat(void) {
  static unsigned char buf[CHUNK];
  for (;;) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 ? 0 : 1;
    if (write_all(1, buf, (size_t)r) != 0) return 1;
  }
}

static int signals(void) {
  int ignored = 0, blocked = 0;
  sigset_t mask;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  for (int s = 1; s < 65; s++) {
    struct sigaction sa;
    if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) ignored++;
    if (sigismember(&mask, s) == 1) blocked++;
  }
  printf("ignored=%d blocked=%d\n", ignored, blocked);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 100;
  const char *cmd = argv[1];
  const char *a1 = argc > 2 ? argv[2] : "0";
  if (strcmp(cmd, "exit") == 0) return atoi(a1);
  if (strcmp(cmd, "signal") == 0) {
    signal(atoi(a1), SIG_DFL);
    raise(atoi(a1));
    return 101;
  }
  if (strcmp(cmd, "spew") == 0 && argc > 3)
    return spew(strtoull(a1, NULL, 10), strtoull(argv[3], NULL, 10));
  if (strcmp(cmd, "fds") == 0) return list_fds();
  if (strcmp(cmd, "sleep") == 0) {
    sleep_ms(atol(a1));
    return 0;
  }
  if (strcmp(cmd, "ignore-term") == 0) {
    signal(SIGTERM, SIG_IGN);
    sleep_ms(atol(a1));
    return 0;
  }
  if (strcmp(cmd, "cat") == 0) return cat();
  if (strcmp(cmd, "getenv") == 0) {
    const char *v = getenv(a1);
    printf("%s\n", v != NULL ? v : "(unset)");
    return 0;
  }
  if (strcmp(cmd, "pwd") == 0) {
    char buf[4096];
    if (getcwd(buf, sizeof buf) == NULL) return 1;
    printf("%s\n", buf);
    return 0;
  }
  if (strcmp(cmd, "close-stdout") == 0) {
    close(1);
    sleep_ms(50);
    return 3;
  }
  if (strcmp(cmd, "signals") == 0) return signals();
  return 102;
}
