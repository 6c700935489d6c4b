/* util.c: shared helpers for the C tests (see util.h). */
#include "util.h"

#include <stdio.h>
#include <string.h>

#include "test.h"

static void record_error(tide_loop *loop, const tide_error_report *report, void *ud) {
  test_errors *errs = ud;
  (void)loop;
  errs->count++;
  errs->last_code = report->code;
  ASSERT_NOT_NULL(report->message);
  snprintf(errs->last_message, sizeof errs->last_message, "%s", report->message);
  snprintf(errs->last_context, sizeof errs->last_context, "%s",
           report->context ? report->context : "");
  errs->last_future = report->future;
  errs->last_task = report->task;
}

void test_errors_install(tide_loop *loop, test_errors *errs) {
  memset(errs, 0, sizeof *errs);
  tide_loop_set_error_handler(loop, record_error, errs);
}

void test_log_push(test_log *log, int item) {
  if (log->n >= TEST_LOG_MAX) test__fail(__FILE__, __LINE__, "test_log overflow");
  log->items[log->n++] = item;
}

void test_log_expect(const test_log *log, const int *expected, int n, const char *file,
                     int line) {
  int ok = log->n == n;
  for (int i = 0; ok && i < n; i++)
    ok = log->items[i] == expected[i];
  if (ok) return;
  char got[1024], want[1024];
  size_t g = 0, w = 0;
  got[0] = want[0] = '\0';
  for (int i = 0; i < log->n && g < sizeof got - 16; i++)
    g += (size_t)snprintf(got + g, sizeof got - g, "%s%d", i ? " " : "", log->items[i]);
  for (int i = 0; i < n && w < sizeof want - 16; i++)
    w += (size_t)snprintf(want + w, sizeof want - w, "%s%d", i ? " " : "", expected[i]);
  test__fail(file, line, "log mismatch: got [%s] (%d items), expected [%s] (%d items)",
             got, log->n, want, n);
}

void test_log_call_fn(tide_loop *loop, void *ud) {
  test_log_call *c = ud;
  (void)loop;
  test_log_push(c->log, c->item);
}

void test_rng_seed(test_rng *r, uint64_t seed) {
  r->s = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t test_rng_next(test_rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

uint64_t test_rng_below(test_rng *r, uint64_t n) {
  return n ? test_rng_next(r) % n : 0;
}

static void watchdog_cb(tide_timer *timer) {
  test__fail(__FILE__, __LINE__,
             "watchdog: the awaited event did not arrive within %llu ms",
             (unsigned long long)(uintptr_t)timer->handle.data);
}

void test_watchdog_start(tide_loop *loop, tide_timer *timer, uint64_t ms) {
  ASSERT_OK(tide_timer_init(loop, timer));
  timer->handle.data = (void *)(uintptr_t)ms;
  ASSERT_OK(tide_timer_start(timer, watchdog_cb, ms, 0));
  tide_handle_unref(&timer->handle);
}

void test_watchdog_close(tide_timer *timer) {
  tide_handle_close(&timer->handle, NULL);
}
