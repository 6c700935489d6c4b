/* runner.c: the C test runner behind tide-tests and tide-tests-fake.
 *
 *   tide-tests --list            print every test name, one a line
 *   tide-tests NAME              run one test in this process (what ctest does)
 *   tide-tests [NAME|PREFIX*]... run the matching tests (all when none is given),
 *                                each in a child process with a timeout where the
 *                                host can fork, else in process one after another
 *   --no-fork                    run in process even where fork exists
 *   --timeout SECONDS            per-test limit for forked runs (default 30)
 *
 * Prints one "ok"/"not ok" line per test ("ok ... # SKIP" for a test that
 * skipped itself, TEST_SKIP) and "N passed, N failed, N skipped" at the end;
 * the exit code is 0 only if no test failed (a single test run in process
 * exits with TEST_SKIP_CODE when it skips). fork, signals and clocks are
 * guarded so the same file builds for wasm32-wasi, where a failed assertion
 * aborts the run (ctest runs each test by name there, so each still gets a line).
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"

#if (defined(__unix__) || defined(__APPLE__)) && !defined(__wasi__) &&                 \
    !defined(__EMSCRIPTEN__)
#define TEST_HAVE_FORK 1
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#else
#define TEST_HAVE_FORK 0
#endif

#define DEFAULT_TIMEOUT_S 30

static test_entry *registry;
static size_t registry_count;
static const char *current_name = "(none)";

void test__register(test_entry *entry) {
  entry->next = registry;
  registry = entry;
  registry_count++;
}

const char *test__current_name(void) {
  return current_name;
}

void test__fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "FAIL %s at %s:%d: ", current_name, file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

void test__skip(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "SKIPPED %s: ", current_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  exit(TEST_SKIP_CODE);
}

static double now_ms(void) {
#if defined(CLOCK_MONOTONIC)
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
#endif
  return 0;
}

/* Registration order depends on the toolchain's constructor order; sort by
 * (file, line) so listing and running are stable everywhere. */
static int entry_cmp(const void *a, const void *b) {
  const test_entry *x = *(const test_entry *const *)a;
  const test_entry *y = *(const test_entry *const *)b;
  int c = strcmp(x->file, y->file);
  if (c) return c;
  return (x->line > y->line) - (x->line < y->line);
}

static test_entry **sorted_tests(void) {
  test_entry **v = malloc((registry_count + 1) * sizeof *v);
  size_t i = 0;
  if (v == NULL) {
    fprintf(stderr, "tide-tests: out of memory\n");
    exit(2);
  }
  for (test_entry *e = registry; e; e = e->next)
    v[i++] = e;
  qsort(v, registry_count, sizeof *v, entry_cmp);
  v[registry_count] = NULL;
  for (size_t a = 0; a < registry_count; a++)
    for (size_t b = a + 1; b < registry_count; b++)
      if (strcmp(v[a]->name, v[b]->name) == 0) {
        fprintf(stderr, "tide-tests: duplicate test name %s (%s:%d and %s:%d)\n",
                v[a]->name, v[a]->file, v[a]->line, v[b]->file, v[b]->line);
        exit(2);
      }
  return v;
}

static int matches(const char *name, const char *pattern) {
  size_t n = strlen(pattern);
  if (n > 0 && pattern[n - 1] == '*') return strncmp(name, pattern, n - 1) == 0;
  return strcmp(name, pattern) == 0;
}

static void run_in_process(test_entry *e) {
  current_name = e->name;
  e->fn();
  current_name = "(none)";
}

enum { RUN_FAILED = 0, RUN_PASSED = 1, RUN_SKIPPED = 2 };

/* Runs e; returns RUN_PASSED, RUN_SKIPPED or RUN_FAILED. `why` gets a reason on
 * failure. */
static int run_one(test_entry *e, int use_fork, int timeout_s, char *why,
                   size_t why_len) {
  why[0] = '\0';
#if TEST_HAVE_FORK
  if (use_fork) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
      snprintf(why, why_len, "fork failed: %s", strerror(errno));
      return RUN_FAILED;
    }
    if (pid == 0) {
      run_in_process(e);
      fflush(stdout);
      fflush(stderr);
      _exit(0);
    }
    double start = now_ms();
    long sleep_ns = 50000; /* back off from 50 us to 10 ms */
    for (;;) {
      int status;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return RUN_PASSED;
        if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP_CODE) return RUN_SKIPPED;
        if (WIFEXITED(status))
          snprintf(why, why_len, "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
          snprintf(why, why_len, "killed by signal %d (%s)", WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
        else
          snprintf(why, why_len, "ended abnormally");
        return RUN_FAILED;
      }
      if (r < 0 && errno != EINTR) {
        snprintf(why, why_len, "waitpid failed: %s", strerror(errno));
        return RUN_FAILED;
      }
      if (now_ms() - start > timeout_s * 1000.0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(why, why_len, "timed out after %d s", timeout_s);
        return RUN_FAILED;
      }
      struct timespec ts = {0, sleep_ns};
      nanosleep(&ts, NULL);
      if (sleep_ns < 10000000) sleep_ns *= 2;
    }
  }
#else
  (void)timeout_s;
  (void)why_len;
#endif
  (void)use_fork;
  run_in_process(e); /* a failure aborts the process, a skip exits it */
  return RUN_PASSED;
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: tide-tests [--list] [--no-fork] [--timeout SECONDS] [NAME|PREFIX*]...\n");
}

static int runner_main(int argc, char **argv) {
  int list = 0, no_fork = 0, timeout_s = DEFAULT_TIMEOUT_S;
  const char **patterns = calloc((size_t)argc + 1, sizeof *patterns);
  int npatterns = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (patterns == NULL) return 2;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      list = 1;
    } else if (strcmp(argv[i], "--no-fork") == 0) {
      no_fork = 1;
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_s = atoi(argv[++i]);
      if (timeout_s <= 0) timeout_s = DEFAULT_TIMEOUT_S;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      free(patterns);
      return 0;
    } else if (argv[i][0] == '-') {
      usage(stderr);
      free(patterns);
      return 2;
    } else {
      patterns[npatterns++] = argv[i];
    }
  }

  test_entry **tests = sorted_tests();
  test_entry **chosen = NULL;
  int status = 0;
  if (list) {
    for (size_t i = 0; i < registry_count; i++)
      printf("%s\n", tests[i]->name);
    goto done;
  }

  /* Select; an exact name that matches nothing is a usage error (ctest typo). */
  chosen = calloc(registry_count + 1, sizeof *chosen);
  size_t nchosen = 0;
  if (chosen == NULL) {
    status = 2;
    goto done;
  }
  for (size_t i = 0; i < registry_count; i++) {
    int take = npatterns == 0;
    for (int p = 0; p < npatterns && !take; p++)
      take = matches(tests[i]->name, patterns[p]);
    if (take) chosen[nchosen++] = tests[i];
  }
  for (int p = 0; p < npatterns; p++) {
    int found = 0;
    for (size_t i = 0; i < registry_count && !found; i++)
      found = matches(tests[i]->name, patterns[p]);
    if (!found) {
      fprintf(stderr, "tide-tests: no test matches '%s' (try --list)\n", patterns[p]);
      status = 2;
      goto done;
    }
  }

  /* One exact name: in process, so a debugger or ctest sees the test itself. */
  int use_fork = TEST_HAVE_FORK && !no_fork &&
                 !(npatterns == 1 && nchosen == 1 && strchr(patterns[0], '*') == NULL);
  int passed = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < nchosen; i++) {
    char why[256];
    double t0 = now_ms();
    int outcome = run_one(chosen[i], use_fork, timeout_s, why, sizeof why);
    double ms = now_ms() - t0;
    if (outcome == RUN_PASSED) {
      passed++;
      printf("ok %zu - %s (%.0f ms)\n", i + 1, chosen[i]->name, ms);
    } else if (outcome == RUN_SKIPPED) {
      skipped++; /* TAP's skip directive: the reason is on stderr */
      printf("ok %zu - %s # SKIP\n", i + 1, chosen[i]->name);
    } else {
      failed++;
      printf("not ok %zu - %s: %s (%s:%d)\n", i + 1, chosen[i]->name, why,
             chosen[i]->file, chosen[i]->line);
    }
  }
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  status = failed ? 1 : 0;
done:
  free(chosen);
  free(tests);
  free(patterns);
  return status;
}

#ifdef TIDE_HOST_JS
/* The JS host runs a module's main through rt.main() (js/bin/tideloop-run.mjs):
 * TIDE_MAIN gives it that form. The tests make and run loops of their own; the
 * program's loop only carries the exit code. */
static int js_setup(tide_loop *loop, int argc, char **argv) {
  tide_main_exit(loop, runner_main(argc, argv));
  return 0;
}
TIDE_MAIN(js_setup)
#else
int main(int argc, char **argv) {
  return runner_main(argc, argv);
}
#endif
