/* test-real-time.c (tide-tests on every real backend, native and WASI): the real
 * monotonic clock. Real time is noisy: only generous bounds, never an exact
 * elapsed time. */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#include "test.h"
#include "util.h"

static double wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void stamp_cb(tide_loop *loop, void *ud) {
  (void)loop;
  *(double *)ud = wall_ms();
}

TEST(native_call_later_waits_real_time) {
  tide_loop loop;
  double fired = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  double t0 = wall_ms();
  uint64_t now0 = tide_loop_now(&loop);
  ASSERT_OK(tide_call_later(&loop, 40, stamp_cb, &fired, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(fired > 0);
  ASSERT_GE((long long)(fired - t0), 30); /* ms rounding, never much early */
  ASSERT_LT((long long)(fired - t0), 5000);
  ASSERT_GE(tide_loop_now(&loop) - now0, 39);
  CLOSE_LOOP(&loop);
}

TEST(native_run_once_blocks_for_timer_and_fires_it) {
  tide_loop loop;
  double fired = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  double t0 = wall_ms();
  ASSERT_OK(tide_call_later(&loop, 25, stamp_cb, &fired, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT(fired > 0); /* one ONCE call is enough */
  ASSERT_GE((long long)(fired - t0), 15);
  CLOSE_LOOP(&loop);
}

TEST(native_run_nowait_does_not_block) {
  tide_loop loop;
  double fired = 0;
  tide_call call;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 2000, stamp_cb, &fired, &call));
  double t0 = wall_ms();
  for (int i = 0; i < 10; i++)
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_LT((long long)(wall_ms() - t0), 1000);
  ASSERT(fired == 0);
  ASSERT_OK(tide_call_cancel(&loop, call));
  CLOSE_LOOP(&loop);
}

TEST(native_loop_now_follows_clock) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_update_time(&loop);
  uint64_t a = tide_loop_now(&loop);
  sleep_ms(50);
  ASSERT_U64_EQ(tide_loop_now(&loop), a); /* cached */
  tide_loop_update_time(&loop);
  uint64_t b = tide_loop_now(&loop);
  ASSERT_GE(b - a, 40);
  ASSERT_LT(b - a, 5000);
  CLOSE_LOOP(&loop);
}

TEST(native_next_timeout_counts_down) {
  tide_loop loop;
  tide_call call;
  double fired = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 1000, stamp_cb, &fired, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 1000);
  sleep_ms(60);
  tide_loop_update_time(&loop);
  int64_t t = tide_loop_next_timeout(&loop);
  ASSERT_LE(t, 950);
  ASSERT_GT(t, 0);
  ASSERT_OK(tide_call_cancel(&loop, call));
  CLOSE_LOOP(&loop);
}

struct sleep_frame {
  uint64_t ms;
  double start, end;
  int rc;
};

static int sleep_main(tide_task *t, void *frame) {
  struct sleep_frame *f = frame;
  TIDE_BEGIN(t);
  f->start = wall_ms();
  TIDE_SLEEP(t, f->ms, f->rc);
  f->end = wall_ms();
  TIDE_END(t);
}

TEST(native_task_sleep_real_time) {
  tide_loop loop;
  tide_task *t;
  struct sleep_frame init = {30, 0, 0, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, sleep_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct sleep_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->rc, 0);
  ASSERT_GE((long long)(f->end - f->start), 20);
  ASSERT_LT((long long)(f->end - f->start), 5000);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

typedef struct rep {
  int n;
  double first, last;
} rep;

static void rep_cb(tide_timer *timer) {
  rep *r = timer->handle.data;
  double now = wall_ms();
  if (r->n == 0) r->first = now;
  r->last = now;
  if (++r->n == 5) tide_timer_stop(timer);
}

TEST(native_repeating_timer_real_time) {
  tide_loop loop;
  tide_timer t;
  rep r = {0, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &r;
  ASSERT_OK(tide_timer_start(&t, rep_cb, 5, 10));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.n, 5);
  ASSERT_GE((long long)(r.last - r.first), 30); /* 4 periods of 10 ms */
  ASSERT_LT((long long)(r.last - r.first), 5000);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}
