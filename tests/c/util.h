/* util.h: small helpers shared by the C tests: an error-handler recorder, an
 * ordered event log, and a deterministic random number generator. */
#ifndef TIDE_TEST_UTIL_H
#define TIDE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tide.h"

/* Records what the loop reports to its error handler. */
typedef struct test_errors {
  int count;
  int last_code;
  char last_message[256];
  char last_context[128];
  tide_future *last_future;
  tide_task *last_task;
} test_errors;

/* Install a recorder as loop's error handler (clears it first). */
void test_errors_install(tide_loop *loop, test_errors *errs);

/* An append-only log of small integers: "what ran, in which order". */
#define TEST_LOG_MAX 4096
typedef struct test_log {
  int n;
  int items[TEST_LOG_MAX];
} test_log;

void test_log_push(test_log *log, int item);
/* ASSERT that the log equals the n expected items. */
void test_log_expect(const test_log *log, const int *expected, int n, const char *file,
                     int line);
#define ASSERT_LOG(log, ...)                                                           \
  do {                                                                                 \
    static const int test__exp_[] = {__VA_ARGS__};                                     \
    test_log_expect((log), test__exp_,                                                 \
                    (int)(sizeof test__exp_ / sizeof test__exp_[0]), __FILE__,         \
                    __LINE__);                                                         \
  } while (0)

/* A tide_call_fn whose ud is a test_log_call: pushes item to log. */
typedef struct test_log_call {
  test_log *log;
  int item;
} test_log_call;
void test_log_call_fn(tide_loop *loop, void *ud);

/* A watchdog for tests that wait on real events: an unref'd timer (it keeps
 * nothing alive) that fails the test if it fires. Close it before the loop. */
void test_watchdog_start(tide_loop *loop, tide_timer *timer, uint64_t ms);
void test_watchdog_close(tide_timer *timer);

/* xorshift64*: deterministic on every host. */
typedef struct test_rng {
  uint64_t s;
} test_rng;
void test_rng_seed(test_rng *r, uint64_t seed);
uint64_t test_rng_next(test_rng *r);
/* Uniform in [0, n). */
uint64_t test_rng_below(test_rng *r, uint64_t n);

#endif /* TIDE_TEST_UTIL_H */
