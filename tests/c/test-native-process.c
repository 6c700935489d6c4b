/* test-native-process.c (tide-tests only: real children): tide_process_* with
 * tide-test-child (process_child.c) as the child: exit statuses and signals,
 * 200 children at once, 64 MiB on stdout and stderr at once, timeouts that
 * stop a child, spawn failures, EPIPE without SIGPIPE, the fds a child gets,
 * the environment, cwd and stdio modes, release of a running child, and no
 * zombie and no fd left behind, through pidfds and through the SIGCHLD
 * fallback, on one loop and on several.
 * wasi-skip: WASI preview1 has no processes (tide_process_spawn fails with TIDE_ENOSYS there: test-real-process.c checks it).
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

#ifndef TIDE_TEST_CHILD
#error "TIDE_TEST_CHILD: the path of tide-test-child (tests/c/CMakeLists.txt)"
#endif

void tide__process_force_sigchld(int on); /* src/io/posix/process_reap.h */

#define WATCHDOG_MS 60000
#define MIB (1024u * 1024u)

/* --- helpers ---------------------------------------------------------------- */

/* Children of this process, and how many of them are zombies (from /proc). */
static int count_children(int *zombies) {
  DIR *d = opendir("/proc");
  ASSERT_NOT_NULL(d);
  int n = 0, z = 0;
  struct dirent *e;
  char path[300], buf[512];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue; /* gone meanwhile */
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *rp = strrchr(buf, ')'); /* the name may hold spaces and parens */
    char state;
    int ppid;
    if (rp == NULL || sscanf(rp + 1, " %c %d", &state, &ppid) != 2) continue;
    if (ppid != (int)getpid()) continue;
    n++;
    if (state == 'Z') z++;
  }
  closedir(d);
  if (zombies != NULL) *zombies = z;
  return n;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  ASSERT_NOT_NULL(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

/* Run the loop until f is done (a watchdog fails a test that hangs). */
static void run_until(tide_loop *loop, tide_future *f) {
  while (!tide_future_done(f)) ASSERT_GE(tide_loop_run(loop, TIDE_RUN_ONCE), 0);
}

/* Options for tide-test-child with args (NULL-terminated, at most 6). */
typedef struct child_cmd {
  const char *argv[8];
  tide_process_options o;
} child_cmd;

static void child_cmd_init(child_cmd *c, const char *a1, const char *a2, const char *a3) {
  memset(c, 0, sizeof *c);
  c->argv[0] = TIDE_TEST_CHILD;
  c->argv[1] = a1;
  c->argv[2] = a2;
  c->argv[3] = a3;
  c->o.argv = c->argv;
}

/* Spawn and return the process; the spawn must succeed. */
static tide_process *spawn_ok(tide_loop *loop, const tide_process_options *o) {
  tide_future f;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_process_spawn(loop, o, &f));
  run_until(loop, &f);
  tide_value v;
  int rc = tide_future_result(&f, &v);
  if (rc != 0) fprintf(stderr, "spawn: %s\n", tide_future_error_message(&f));
  ASSERT_OK(rc);
  ASSERT_EQ(v.type, TIDE_VALUE_PTR);
  tide_future_release(&f);
  return v.as.p;
}

/* Spawn that must fail: its code, and its message in msg. */
static int spawn_fails(tide_loop *loop, const tide_process_options *o, char *msg,
                       size_t cap) {
  tide_future f;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_process_spawn(loop, o, &f));
  run_until(loop, &f);
  int rc = tide_future_result(&f, NULL);
  ASSERT_LT(rc, 0);
  snprintf(msg, cap, "%s", tide_future_error_message(&f));
  tide_future_release(&f);
  return rc;
}

static int wait_rc(tide_loop *loop, tide_process *p) {
  tide_future f;
  tide_value v;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_process_wait(p, &f));
  run_until(loop, &f);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  tide_future_release(&f);
  return (int)v.as.i;
}

/* Everything on the child's stdout (communicate), NUL-terminated, malloc'd. */
static char *read_stdout(tide_loop *loop, tide_process *p) {
  tide_future out;
  tide_future_init(loop, &out);
  ASSERT_OK(tide_process_communicate(p, NULL, 0, &out, NULL));
  run_until(loop, &out);
  void *data;
  size_t len;
  ASSERT_OK(tide_future_take_bytes(&out, &data, &len));
  tide_future_release(&out);
  char *s = malloc(len + 1);
  ASSERT_NOT_NULL(s);
  if (len > 0) memcpy(s, data, len);
  s[len] = '\0';
  tide_loop_dealloc(loop, data);
  return s;
}

/* Open the loop with a watchdog, and note the fds and children before. */
typedef struct fixture {
  tide_loop loop;
  tide_timer watchdog;
  int fds_before;
} fixture;

static void fixture_open(fixture *fx) {
  /* A test process that dies of SIGPIPE fails loudly: the library must never
   * raise it, so leave it at its default action. */
  signal(SIGPIPE, SIG_DFL);
  fx->fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&fx->loop, NULL));
  test_watchdog_start(&fx->loop, &fx->watchdog, WATCHDOG_MS);
}

/* Close everything and check that no child, zombie or fd is left. */
static void fixture_close(fixture *fx) {
  test_watchdog_close(&fx->watchdog);
  ASSERT_GE(tide_loop_run(&fx->loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_close(&fx->loop));
  int zombies;
  ASSERT_EQ(count_children(&zombies), 0);
  ASSERT_EQ(zombies, 0);
  ASSERT_EQ(count_fds(), fx->fds_before);
}

/* --- exit statuses -------------------------------------------------------------- */

static void many_children(int n) {
  fixture fx;
  fixture_open(&fx);
  tide_process **procs = calloc((size_t)n, sizeof *procs);
  tide_future *waits = calloc((size_t)n, sizeof *waits);
  char codes[256][8];
  ASSERT_NOT_NULL(procs);
  ASSERT_NOT_NULL(waits);
  for (int i = 0; i < n; i++) {
    child_cmd c;
    /* Every tenth dies of a signal, the others exit with i % 256. */
    snprintf(codes[i % 256], sizeof codes[0], "%d", i % 10 == 9 ? (i % 20 == 9 ? 15 : 9) : i % 256);
    child_cmd_init(&c, i % 10 == 9 ? "signal" : "exit", codes[i % 256], NULL);
    procs[i] = spawn_ok(&fx.loop, &c.o);
    ASSERT_GT(tide_process_pid(procs[i]), 0);
    tide_future_init(&fx.loop, &waits[i]);
    ASSERT_OK(tide_process_wait(procs[i], &waits[i]));
  }
  for (int i = 0; i < n; i++) {
    run_until(&fx.loop, &waits[i]);
    tide_value v;
    ASSERT_OK(tide_future_result(&waits[i], &v));
    int want = i % 10 == 9 ? -(i % 20 == 9 ? 15 : 9) : i % 256;
    ASSERT_EQ(v.as.i, want);
    int rc;
    ASSERT_OK(tide_process_returncode(procs[i], &rc));
    ASSERT_EQ(rc, want);
    tide_future_release(&waits[i]);
    tide_process_release(procs[i]);
  }
  free(procs);
  free(waits);
  fixture_close(&fx);
}

TEST(process_200_children_every_status_checked) {
  many_children(200);
}

TEST(process_200_children_through_sigchld) {
  tide__process_force_sigchld(1);
  many_children(200);
  tide__process_force_sigchld(0);
}

/* returncode is pending until the exit is seen; a kill after it is ESRCH (the
 * pid may be someone else's by then), a bad signal number EINVAL. */
TEST(process_returncode_and_kill_after_exit) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "sleep", "200", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  int rc = 1234;
  ASSERT_ERR(tide_process_returncode(p, &rc), TIDE_EPENDING);
  ASSERT_EQ(rc, 1234);
  ASSERT_ERR(tide_process_kill(p, 0), TIDE_EINVAL);
  ASSERT_ERR(tide_process_kill(p, 65), TIDE_EINVAL);
  ASSERT_OK(tide_process_kill(p, TIDE_SIGTERM));
  ASSERT_EQ(wait_rc(&fx.loop, p), -TIDE_SIGTERM);
  ASSERT_ERR(tide_process_kill(p, TIDE_SIGKILL), TIDE_ESRCH);
  /* A wait after the exit completes at once. */
  tide_future f;
  tide_future_init(&fx.loop, &f);
  ASSERT_OK(tide_process_wait(p, &f));
  ASSERT(tide_future_done(&f));
  tide_future_release(&f);
  tide_process_release(p);
  fixture_close(&fx);
}

/* Cancelling a wait cancels the wait only: the child runs on. */
TEST(process_cancelled_wait_leaves_child_running) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "sleep", "150", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_future w;
  tide_future_init(&fx.loop, &w);
  ASSERT_OK(tide_process_wait(p, &w));
  ASSERT_OK(tide_future_cancel(&w));
  ASSERT_EQ(tide_future_state_get(&w), TIDE_FUTURE_CANCELLED);
  tide_future_release(&w);
  ASSERT_GE(tide_loop_run(&fx.loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(kill(tide_process_pid(p), 0), 0);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0); /* slept its 150 ms and exited */
  tide_process_release(p);
  fixture_close(&fx);
}

/* --- pipes -------------------------------------------------------------------- */

static void check_pattern(const unsigned char *p, size_t len, int s) {
  for (size_t k = 0; k < len; k++)
    if (p[k] != (unsigned char)((k % 251) ^ (unsigned)(s * 0x5a))) {
      fprintf(stderr, "stream %d: byte %zu differs\n", s, k);
      ASSERT(0);
    }
}

/* 64 MiB on stdout and 64 MiB on stderr at once: the child writes both in
 * turn and blocks on whichever is full, so reading one at a time would
 * deadlock; communicate reads both. */
TEST(process_communicate_64mib_stdout_and_stderr) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  char n[32];
  snprintf(n, sizeof n, "%u", 64 * MIB);
  child_cmd_init(&c, "spew", n, n);
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  c.o.stdio[2].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT_NULL(tide_process_stdin(p));
  ASSERT_NOT_NULL(tide_process_stdout(p));
  ASSERT_NOT_NULL(tide_process_stderr(p));
  tide_future out, err;
  tide_future_init(&fx.loop, &out);
  tide_future_init(&fx.loop, &err);
  ASSERT_OK(tide_process_communicate(p, NULL, 0, &out, &err));
  ASSERT_NULL(tide_process_stdout(p)); /* communicate's now */
  run_until(&fx.loop, &out);
  run_until(&fx.loop, &err);
  tide_value v;
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.bytes.len, (size_t)64 * MIB);
  check_pattern(v.as.bytes.data, v.as.bytes.len, 0);
  ASSERT_OK(tide_future_result(&err, &v));
  ASSERT_EQ(v.as.bytes.len, (size_t)64 * MIB);
  check_pattern(v.as.bytes.data, v.as.bytes.len, 1);
  tide_future_release(&out);
  tide_future_release(&err);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  fixture_close(&fx);
}

/* Input goes in through stdin and comes back from cat; the input is closed by
 * communicate, so cat sees end of input and exits. */
TEST(process_communicate_input_roundtrip) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "cat", NULL, NULL);
  for (int i = 0; i < 3; i++) c.o.stdio[i].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  size_t len = 3 * MIB + 17;
  unsigned char *in = malloc(len);
  ASSERT_NOT_NULL(in);
  for (size_t k = 0; k < len; k++) in[k] = (unsigned char)((k % 251) ^ 0);
  tide_future out, err;
  tide_future_init(&fx.loop, &out);
  tide_future_init(&fx.loop, &err);
  ASSERT_OK(tide_process_communicate(p, in, len, &out, &err));
  free(in); /* copied */
  run_until(&fx.loop, &out);
  run_until(&fx.loop, &err);
  tide_value v;
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.bytes.len, len);
  check_pattern(v.as.bytes.data, len, 0);
  ASSERT_OK(tide_future_result(&err, &v));
  ASSERT_EQ(v.as.bytes.len, 0);
  tide_future_release(&out);
  tide_future_release(&err);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  fixture_close(&fx);
}

/* Writing to a child that exited without reading: TIDE_EPIPE on the write,
 * and this process is not killed by SIGPIPE (it is at its default action). */
TEST(process_write_to_exited_child_is_epipe_not_sigpipe) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "exit", "0", NULL);
  c.o.stdio[0].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_stream *in = tide_process_stdin(p);
  size_t len = 4 * MIB;
  void *junk = calloc(1, len);
  ASSERT_NOT_NULL(junk);
  tide_future w;
  tide_future_init(&fx.loop, &w);
  ASSERT_OK(tide_stream_write(in, junk, len, &w));
  free(junk);
  run_until(&fx.loop, &w);
  ASSERT_ERR(tide_future_result(&w, NULL), TIDE_EPIPE);
  tide_future_release(&w);
  tide_stream_close(in, NULL);
  tide_process_release(p);
  fixture_close(&fx);
}

/* A child that closes its stdout early: this side reads end of input, and the
 * child's exit status still arrives. */
TEST(process_child_closing_stdout_early_is_eof) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "close-stdout", NULL, NULL);
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_future r;
  tide_future_init(&fx.loop, &r);
  ASSERT_OK(tide_stream_read(tide_process_stdout(p), 0, &r));
  run_until(&fx.loop, &r);
  ASSERT_ERR(tide_future_result(&r, NULL), TIDE_EOF);
  tide_future_release(&r);
  tide_stream_close(tide_process_stdout(p), NULL);
  ASSERT_EQ(wait_rc(&fx.loop, p), 3);
  tide_process_release(p);
  fixture_close(&fx);
}

/* Half-closing stdin gives the child end of input while its output still
 * comes back on the same pair of pipes. */
TEST(process_stdin_shutdown_gives_child_eof) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "cat", NULL, NULL);
  c.o.stdio[0].mode = TIDE_STDIO_PIPE;
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_stream *in = tide_process_stdin(p);
  ASSERT_OK(tide_stream_write(in, "hello\nworld\n", 12, NULL));
  ASSERT_OK(tide_stream_shutdown(in, NULL));
  tide_stream *out = tide_process_stdout(p);
  const char *want[] = {"hello", "world"};
  for (int i = 0; i < 2; i++) {
    tide_future line;
    tide_future_init(&fx.loop, &line);
    ASSERT_OK(tide_stream_read_line(out, 0, &line));
    run_until(&fx.loop, &line);
    tide_value v;
    ASSERT_OK(tide_future_result(&line, &v));
    ASSERT_EQ(v.as.bytes.len, strlen(want[i]));
    ASSERT_EQ(memcmp(v.as.bytes.data, want[i], v.as.bytes.len), 0);
    tide_future_release(&line);
  }
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_stream_close(in, NULL);
  tide_stream_close(out, NULL);
  tide_process_release(p);
  fixture_close(&fx);
}

/* --- what the child gets ------------------------------------------------------- */

/* The child has its three streams and nothing else, while this process has a
 * loop (epoll fd, wakeup fd), another child with pipes and a pidfd, and an fd
 * the program opened close-on-exec. */
TEST(process_child_gets_no_fd_of_ours) {
  /* Whatever this test process inherited open (from ctest, a shell) is the
   * program's business, and a child would inherit it too: mark it
   * close-on-exec so that only the library's own fds are under test. */
  for (int fd = 3; fd < 1024; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  fixture fx;
  fixture_open(&fx);
  int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(extra, 0);
  child_cmd other;
  child_cmd_init(&other, "cat", NULL, NULL);
  for (int i = 0; i < 3; i++) other.o.stdio[i].mode = TIDE_STDIO_PIPE;
  tide_process *busy = spawn_ok(&fx.loop, &other.o);

  child_cmd c;
  child_cmd_init(&c, "fds", NULL, NULL);
  c.o.stdio[0].mode = TIDE_STDIO_NULL;
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  char *fds = read_stdout(&fx.loop, p);
  ASSERT_STR_EQ(fds, "0 1 2\n");
  free(fds);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);

  tide_stream_close(tide_process_stdin(busy), NULL); /* cat ends */
  tide_stream_close(tide_process_stdout(busy), NULL);
  tide_stream_close(tide_process_stderr(busy), NULL);
  ASSERT_EQ(wait_rc(&fx.loop, busy), 0);
  tide_process_release(busy);
  close(extra);
  fixture_close(&fx);
}

/* Signals this process ignores or blocks are back at their defaults in the
 * child. */
TEST(process_child_starts_with_default_signals) {
  fixture fx;
  fixture_open(&fx);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);
  child_cmd c;
  child_cmd_init(&c, "signals", NULL, NULL);
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
  char *s = read_stdout(&fx.loop, p);
  ASSERT_STR_EQ(s, "ignored=0 blocked=0\n");
  free(s);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  fixture_close(&fx);
}

static char *run_getenv(fixture *fx, const char *const *env, int mode, const char *name) {
  child_cmd c;
  child_cmd_init(&c, "getenv", name, NULL);
  c.o.env = env;
  c.o.env_mode = mode;
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx->loop, &c.o);
  char *s = read_stdout(&fx->loop, p);
  ASSERT_EQ(wait_rc(&fx->loop, p), 0);
  tide_process_release(p);
  return s;
}

TEST(process_environment_inherit_add_replace) {
  fixture fx;
  fixture_open(&fx);
  ASSERT_EQ(setenv("TIDE_TEST_INHERITED", "from-parent", 1), 0);
  const char *add[] = {"TIDE_TEST_ADDED=yes", "TIDE_TEST_INHERITED=overridden", NULL};
  char *s;
  s = run_getenv(&fx, NULL, TIDE_ENV_INHERIT, "TIDE_TEST_INHERITED");
  ASSERT_STR_EQ(s, "from-parent\n");
  free(s);
  s = run_getenv(&fx, add, TIDE_ENV_INHERIT, "TIDE_TEST_INHERITED");
  ASSERT_STR_EQ(s, "overridden\n");
  free(s);
  s = run_getenv(&fx, add, TIDE_ENV_INHERIT, "TIDE_TEST_ADDED");
  ASSERT_STR_EQ(s, "yes\n");
  free(s);
  s = run_getenv(&fx, add, TIDE_ENV_INHERIT, "HOME");
  ASSERT(strcmp(s, "(unset)\n") != 0 || getenv("HOME") == NULL);
  free(s);
  s = run_getenv(&fx, add, TIDE_ENV_REPLACE, "TIDE_TEST_ADDED");
  ASSERT_STR_EQ(s, "yes\n");
  free(s);
  s = run_getenv(&fx, add, TIDE_ENV_REPLACE, "PATH");
  ASSERT_STR_EQ(s, "(unset)\n");
  free(s);
  unsetenv("TIDE_TEST_INHERITED");
  fixture_close(&fx);
}

/* A bare program name is searched in the child's PATH: the env's when it sets
 * one. */
TEST(process_path_search_uses_the_childs_path) {
  fixture fx;
  fixture_open(&fx);
  char dir[4096], path_var[4200];
  snprintf(dir, sizeof dir, "%s", TIDE_TEST_CHILD);
  char *slash = strrchr(dir, '/');
  ASSERT_NOT_NULL(slash);
  *slash = '\0';
  const char *name = slash + 1;
  snprintf(path_var, sizeof path_var, "PATH=/nonexistent:%s", dir);
  const char *env[] = {path_var, NULL};
  const char *argv[] = {name, "exit", "7", NULL};
  tide_process_options o = {0};
  o.argv = argv;
  o.env = env;
  tide_process *p = spawn_ok(&fx.loop, &o);
  ASSERT_EQ(wait_rc(&fx.loop, p), 7);
  tide_process_release(p);
  /* Not in this PATH: no such program. */
  const char *env2[] = {"PATH=/nonexistent", NULL};
  o.env = env2;
  char msg[256];
  ASSERT_EQ(spawn_fails(&fx.loop, &o, msg, sizeof msg), TIDE_ENOENT);
  ASSERT(strstr(msg, name) != NULL);
  fixture_close(&fx);
}

TEST(process_cwd) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "pwd", NULL, NULL);
  c.o.cwd = "/";
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  char *s = read_stdout(&fx.loop, p);
  ASSERT_STR_EQ(s, "/\n");
  free(s);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  fixture_close(&fx);
}

/* TIDE_STDIO_FD: the child's stdout is the write end of our own pipe, and the
 * fd stays ours. Given as fd 1 to stdout and fd 2 to... the same swap-proof
 * path: the source numbers never collide with 0-2. */
TEST(process_stdio_fd_and_null) {
  fixture fx;
  fixture_open(&fx);
  int pfd[2];
  ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
  child_cmd c;
  child_cmd_init(&c, "cat", NULL, NULL);
  c.o.stdio[0].mode = TIDE_STDIO_NULL; /* cat reads end of input at once */
  c.o.stdio[1].mode = TIDE_STDIO_FD;
  c.o.stdio[1].fd = pfd[1];
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT_EQ(fcntl(pfd[1], F_GETFD), FD_CLOEXEC); /* still ours, unchanged */
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  close(pfd[1]);
  char buf[8];
  ASSERT_EQ(read(pfd[0], buf, sizeof buf), 0); /* cat wrote nothing */
  close(pfd[0]);

  /* A bad fd is refused at once, or fails the spawn with EBADF. */
  c.o.stdio[1].fd = -1;
  tide_future f;
  tide_future_init(&fx.loop, &f);
  ASSERT_ERR(tide_process_spawn(&fx.loop, &c.o, &f), TIDE_EINVAL);
  c.o.stdio[1].fd = 1000;
  char msg[256];
  ASSERT_EQ(spawn_fails(&fx.loop, &c.o, msg, sizeof msg), TIDE_EBADF);
  tide_future_release(&f);
  fixture_close(&fx);
}

/* --- spawn failures --------------------------------------------------------------- */

TEST(process_spawn_failures_are_clear_and_leave_nothing) {
  fixture fx;
  fixture_open(&fx);
  char msg[256];
  tide_process_options o = {0};
  const char *missing[] = {"/nonexistent/program", NULL};
  o.argv = missing;
  for (int i = 0; i < 3; i++) o.stdio[i].mode = TIDE_STDIO_PIPE;
  ASSERT_EQ(spawn_fails(&fx.loop, &o, msg, sizeof msg), TIDE_ENOENT);
  ASSERT(strstr(msg, "/nonexistent/program") != NULL);
  ASSERT(strstr(msg, "no such program") != NULL);

  const char *bare[] = {"tide-no-such-program-anywhere", NULL};
  o.argv = bare;
  ASSERT_EQ(spawn_fails(&fx.loop, &o, msg, sizeof msg), TIDE_ENOENT);

  /* Not executable, then not a format the system runs. */
  char path[] = "/tmp/tide-test-spawn-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "\x7f" "garbage", 8), 8);
  close(fd);
  const char *file[] = {path, NULL};
  o.argv = file;
  ASSERT_EQ(chmod(path, 0600), 0);
  ASSERT_EQ(spawn_fails(&fx.loop, &o, msg, sizeof msg), TIDE_EACCES);
  ASSERT(strstr(msg, "not executable") != NULL);
  ASSERT_EQ(chmod(path, 0700), 0);
  ASSERT_EQ(spawn_fails(&fx.loop, &o, msg, sizeof msg), TIDE_ENOEXEC);
  unlink(path);

  /* A cwd that does not exist. */
  child_cmd c;
  child_cmd_init(&c, "exit", "0", NULL);
  c.o.cwd = "/nonexistent-dir";
  ASSERT_EQ(spawn_fails(&fx.loop, &c.o, msg, sizeof msg), TIDE_ENOENT);
  ASSERT(strstr(msg, "cwd /nonexistent-dir") != NULL);

  /* Bad options: refused at once, nothing started. */
  tide_future f;
  tide_future_init(&fx.loop, &f);
  ASSERT_ERR(tide_process_spawn(&fx.loop, NULL, &f), TIDE_EINVAL);
  tide_process_options bad = {0};
  ASSERT_ERR(tide_process_spawn(&fx.loop, &bad, &f), TIDE_EINVAL);
  c.o.cwd = NULL;
  c.o.stdio[2].mode = 7;
  ASSERT_ERR(tide_process_spawn(&fx.loop, &c.o, &f), TIDE_EINVAL);
  c.o.stdio[2].mode = 0;
  c.o.env_mode = 2;
  ASSERT_ERR(tide_process_spawn(&fx.loop, &c.o, &f), TIDE_EINVAL);
  ASSERT(!tide_future_done(&f));
  tide_future_release(&f);
  fixture_close(&fx);
}

/* Out of memory at every allocation a spawn makes: TIDE_ENOMEM (the future
 * untouched) or a completed spawn, and never a child, zombie or fd left. */
static void spawn_out_of_memory(void) {
  signal(SIGPIPE, SIG_DFL);
  int fds_before = count_fds();
  for (size_t n = 1;; n++) {
    test_alloc a;
    test_alloc_init(&a);
    tide_loop_options lo = test_alloc_options(&a);
    tide_loop loop;
    ASSERT_OK(tide_loop_init(&loop, &lo));
    child_cmd c;
    child_cmd_init(&c, "exit", "5", NULL);
    const char *env[] = {"TIDE_X=1", NULL};
    c.o.env = env;
    for (int i = 0; i < 3; i++) c.o.stdio[i].mode = TIDE_STDIO_PIPE;
    tide_future f;
    tide_future_init(&loop, &f);
    a.fail_at = a.count + n;
    int rc = tide_process_spawn(&loop, &c.o, &f);
    int failed = a.failures > 0;
    a.fail_at = 0;
    if (rc == TIDE_ENOMEM) {
      ASSERT(!tide_future_done(&f));
    } else {
      ASSERT_OK(rc);
      run_until(&loop, &f);
      tide_value v;
      int res = tide_future_result(&f, &v);
      if (res == 0) {
        tide_process *p = v.as.p;
        tide_stream_close(tide_process_stdin(p), NULL);
        tide_stream_close(tide_process_stdout(p), NULL);
        tide_stream_close(tide_process_stderr(p), NULL);
        ASSERT_EQ(wait_rc(&loop, p), 5);
        tide_process_release(p);
      } else {
        ASSERT_EQ(res, TIDE_ENOMEM);
      }
    }
    tide_future_release(&f);
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    ASSERT_OK(tide_loop_close(&loop));
    ASSERT_EQ(a.live_blocks, 0);
    int zombies;
    ASSERT_EQ(count_children(&zombies), 0);
    ASSERT_EQ(count_fds(), fds_before);
    if (!failed) break; /* every allocation has failed once */
  }
}

TEST(process_spawn_out_of_memory_at_each_allocation) {
  spawn_out_of_memory();
}

TEST(process_spawn_out_of_memory_through_sigchld) {
  tide__process_force_sigchld(1);
  spawn_out_of_memory();
  tide__process_force_sigchld(0);
}

/* --- stopping ------------------------------------------------------------------------ */

/* Whether pid ignores SIGTERM yet, from its SigIgn mask in /proc; -1 where
 * there is no /proc to ask. */
static int ignores_sigterm(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  int ignores = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "SigIgn:", 7) == 0) {
      unsigned long long mask = strtoull(line + 7, NULL, 16);
      ignores = (mask >> (SIGTERM - 1)) & 1;
      break;
    }
  }
  fclose(f);
  return ignores;
}

/* A child that never exits, timed out by wait_for and stopped: one that ignores
 * SIGTERM is killed once the grace has passed. */
static void timeout_then_stop(const char *cmd, int want) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, cmd, "60000", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_future wait, timed, stopped;
  tide_future_init(&fx.loop, &wait);
  tide_future_init(&fx.loop, &timed);
  ASSERT_OK(tide_process_wait(p, &wait));
  ASSERT_OK(tide_wait_for(&fx.loop, &wait, 100, &timed));
  run_until(&fx.loop, &timed);
  ASSERT_ERR(tide_future_result(&timed, NULL), TIDE_ETIMEDOUT);
  ASSERT_EQ(kill(tide_process_pid(p), 0), 0); /* the timeout only cancelled the wait */
  if (want == -TIDE_SIGKILL) {
    /* A child slow to start (a sanitizer's runtime, a loaded machine) may not
     * ignore SIGTERM yet after 100 ms: a SIGTERM then would end it, which is
     * not the case under test. Wait (up to 10 s) until it does. */
    int ignores = 0;
    for (int i = 0; i < 1000 && (ignores = ignores_sigterm(tide_process_pid(p))) == 0; i++)
      usleep(10 * 1000);
    if (ignores < 0) usleep(500 * 1000); /* no /proc: give it time instead */
    else ASSERT_EQ(ignores, 1);
  }
  tide_future_init(&fx.loop, &stopped);
  ASSERT_OK(tide_process_stop(p, 200, &stopped));
  run_until(&fx.loop, &stopped);
  tide_value v;
  ASSERT_OK(tide_future_result(&stopped, &v));
  ASSERT_EQ(v.as.i, want);
  tide_future_release(&stopped);
  tide_future_release(&timed);
  tide_future_release(&wait);
  tide_process_release(p);
  fixture_close(&fx);
}

TEST(process_timeout_then_stop_terminates) {
  timeout_then_stop("sleep", -TIDE_SIGTERM);
}

TEST(process_timeout_then_stop_kills_after_grace) {
  /* Give the child time to ignore SIGTERM before it is sent. */
  timeout_then_stop("ignore-term", -TIDE_SIGKILL);
}

/* Releasing a running child kills it; the loop reaps it, and a wait still
 * pending completes with the returncode. */
TEST(process_release_of_running_child_kills_and_reaps) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "sleep", "60000", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_future w;
  tide_future_init(&fx.loop, &w);
  ASSERT_OK(tide_process_wait(p, &w));
  tide_process_release(p);
  run_until(&fx.loop, &w);
  tide_value v;
  ASSERT_OK(tide_future_result(&w, &v));
  ASSERT_EQ(v.as.i, -TIDE_SIGKILL);
  tide_future_release(&w);
  /* Released with nobody waiting: the loop still runs until it is reaped. */
  p = spawn_ok(&fx.loop, &c.o);
  tide_process_release(p);
  fixture_close(&fx); /* runs the loop, then checks for zombies */
}

/* A running child keeps the loop alive, and tide_loop_close is EBUSY until it
 * has been reaped and released. */
TEST(process_running_child_keeps_loop_alive) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "sleep", "50", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT(tide_loop_alive(&fx.loop));
  ASSERT_ERR(tide_loop_close(&fx.loop), TIDE_EBUSY);
  ASSERT_GE(tide_loop_run(&fx.loop, TIDE_RUN_DEFAULT), 0); /* until the exit */
  int rc;
  ASSERT_OK(tide_process_returncode(p, &rc));
  ASSERT_EQ(rc, 0);
  tide_process_release(p);
  fixture_close(&fx);
}

/* --- SIGCHLD: the fallback, and the program's own handler ------------------------ */

static void count_sigchld(tide_signal *sig, int signum) {
  (void)signum;
  (*(int *)sig->handle.data)++;
}

/* A tide_signal of the program on SIGCHLD sees the signals while the library
 * reaps its children through the fallback, and a child the program forked
 * itself is left for the program to reap. */
TEST(process_sigchld_coexists_with_user_handler_and_own_children) {
  fixture fx;
  fixture_open(&fx);
  tide__process_force_sigchld(1);
  int seen = 0;
  tide_signal sig;
  ASSERT_OK(tide_signal_init(&fx.loop, &sig));
  sig.handle.data = &seen;
  ASSERT_OK(tide_signal_start(&sig, count_sigchld, SIGCHLD));
  pid_t own = fork();
  ASSERT_GE(own, 0);
  if (own == 0) _exit(42);
  child_cmd c;
  child_cmd_init(&c, "exit", "9", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT_EQ(wait_rc(&fx.loop, p), 9);
  tide_process_release(p);
  tide__process_force_sigchld(0);
  /* The program's child is still there to reap, with its status. */
  int status;
  ASSERT_EQ(waitpid(own, &status, 0), own);
  ASSERT_EQ(WEXITSTATUS(status), 42);
  while (seen == 0) ASSERT_GE(tide_loop_run(&fx.loop, TIDE_RUN_ONCE), 0);
  tide_handle_close(&sig.handle, NULL);
  fixture_close(&fx);
}

/* --- several loops ---------------------------------------------------------------- */

static void *loop_thread(void *arg) {
  int *ok = arg;
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_process *procs[20];
  char codes[20][4];
  for (int i = 0; i < 20; i++) {
    child_cmd c;
    snprintf(codes[i], sizeof codes[i], "%d", i + *ok);
    child_cmd_init(&c, "exit", codes[i], NULL);
    c.o.stdio[1].mode = TIDE_STDIO_NULL;
    procs[i] = spawn_ok(&loop, &c.o);
  }
  for (int i = 0; i < 20; i++) {
    ASSERT_EQ(wait_rc(&loop, procs[i]), i + *ok);
    tide_process_release(procs[i]);
  }
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_close(&loop));
  *ok = -1;
  return NULL;
}

static void several_loops(void) {
  int fds_before = count_fds();
  pthread_t t[3];
  int base[3] = {0, 100, 200};
  for (int i = 0; i < 3; i++) ASSERT_EQ(pthread_create(&t[i], NULL, loop_thread, &base[i]), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_EQ(base[i], -1);
  }
  int zombies;
  ASSERT_EQ(count_children(&zombies), 0);
  ASSERT_EQ(count_fds(), fds_before);
}

TEST(process_several_loops_in_threads) {
  several_loops();
}

TEST(process_several_loops_through_sigchld) {
  tide__process_force_sigchld(1);
  several_loops();
  tide__process_force_sigchld(0);
}

/* --- regressions from review ------------------------------------------------------ */

static void on_usr1(tide_signal *sig, int signum) {
  (void)sig;
  (void)signum;
}

/* The SIGCHLD watcher cannot start (every loop slot of the signal table is
 * taken): the spawn fails cleanly, and the watcher's handle, which lives in the
 * record, is closed before the record goes (ASan would see it otherwise). */
TEST(process_spawn_when_sigchld_cannot_be_watched) {
  enum { LOOPS = 64 };
  static tide_loop loops[LOOPS];
  static tide_signal sigs[LOOPS];
  fixture fx;
  fixture_open(&fx);
  int started = 0;
  for (; started < LOOPS; started++) {
    ASSERT_OK(tide_loop_init(&loops[started], NULL));
    ASSERT_OK(tide_signal_init(&loops[started], &sigs[started]));
    if (tide_signal_start(&sigs[started], on_usr1, SIGUSR1) != 0) {
      tide_handle_close(&sigs[started].handle, NULL);
      started++;
      break;
    }
  }
  tide__process_force_sigchld(1);
  child_cmd c;
  child_cmd_init(&c, "exit", "0", NULL);
  tide_future f;
  tide_future_init(&fx.loop, &f);
  int rc = tide_process_spawn(&fx.loop, &c.o, &f);
  if (rc == 0) {
    run_until(&fx.loop, &f);
    tide_value v;
    rc = tide_future_result(&f, &v);
    (void)v;
    /* The table is full: the watcher could not start, so no child either. */
    ASSERT_ERR(rc, TIDE_ENOSPC);
    ASSERT_NOT_NULL(tide_future_error_message(&f));
  } else {
    ASSERT_EQ(rc, TIDE_ENOMEM);
  }
  tide_future_release(&f);
  tide__process_force_sigchld(0);
  for (int i = 0; i < started; i++) {
    if (tide_handle_is_active(&sigs[i].handle)) tide_handle_close(&sigs[i].handle, NULL);
    ASSERT_GE(tide_loop_run(&loops[i], TIDE_RUN_DEFAULT), 0);
    ASSERT_OK(tide_loop_close(&loops[i]));
  }
  fixture_close(&fx);
}

/* Closing stdin gives the child end of input; communicate then collects the
 * output and leaves the closed pipe alone (the accessor says it is gone). */
TEST(process_close_stdin_then_communicate) {
  fixture fx;
  fixture_open(&fx);
  child_cmd c;
  child_cmd_init(&c, "cat", NULL, NULL);
  c.o.stdio[0].mode = TIDE_STDIO_PIPE;
  c.o.stdio[1].mode = TIDE_STDIO_PIPE;
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  ASSERT_OK(tide_stream_write(tide_process_stdin(p), "last words\n", 11, NULL));
  tide_stream_close(tide_process_stdin(p), NULL);
  ASSERT_NULL(tide_process_stdin(p));
  /* Input needs a stdin pipe: there is none any more. */
  tide_future out;
  tide_future_init(&fx.loop, &out);
  ASSERT_ERR(tide_process_communicate(p, "x", 1, &out, NULL), TIDE_EINVAL);
  ASSERT_OK(tide_process_communicate(p, NULL, 0, &out, NULL));
  run_until(&fx.loop, &out);
  tide_value v;
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.bytes.len, 11);
  ASSERT_EQ(memcmp(v.as.bytes.data, "last words\n", 11), 0);
  tide_future_release(&out);
  ASSERT_EQ(wait_rc(&fx.loop, p), 0);
  tide_process_release(p);
  fixture_close(&fx);
}

/* The manual virtual clock waits for a child (something outside its clock)
 * as the real clock would: a DEFAULT run returns once the child exited, not at
 * once with only a timer left to advance. */
TEST(process_manual_virtual_clock_waits_for_a_child) {
  fixture fx;
  fixture_open(&fx);
  ASSERT_OK(tide_loop_set_clock(&fx.loop, TIDE_CLOCK_VIRTUAL));
  child_cmd c;
  child_cmd_init(&c, "sleep", "100", NULL);
  tide_process *p = spawn_ok(&fx.loop, &c.o);
  tide_future w, timed;
  tide_future_init(&fx.loop, &w);
  tide_future_init(&fx.loop, &timed);
  ASSERT_OK(tide_process_wait(p, &w));
  ASSERT_OK(tide_wait_for(&fx.loop, &w, 5000, &timed)); /* a virtual deadline */
  ASSERT_EQ(tide_loop_run(&fx.loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(tide_future_done(&timed));
  ASSERT_OK(tide_future_result(&timed, NULL)); /* the child won: no time passed */
  tide_future_release(&timed);
  tide_future_release(&w);
  tide_process_release(p);
  fixture_close(&fx);
}
