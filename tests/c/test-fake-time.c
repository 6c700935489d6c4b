/* test-fake-time.c (tide-tests-fake only): exact times on the fake backend's
 * virtual clock: timer order and fire times, run modes and their poll timeouts,
 * next_timeout, tick budget vs polls, repeating timers, task sleeps, 1e5
 * random timers in exact order with nothing leaked, random restarts and stops
 * against a model, and the timer heap's memory growing and shrinking. */
#include <stdlib.h>

#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

/* Records (item, loop time) of each firing. */
typedef struct stamp_log {
  test_log items;
  test_log times;
} stamp_log;

typedef struct stamp {
  stamp_log *log;
  int item;
} stamp;

static void stamp_call_cb(tide_loop *loop, void *ud) {
  stamp *s = ud;
  test_log_push(&s->log->items, s->item);
  test_log_push(&s->log->times, (int)tide_loop_now(loop));
}

static void stamp_timer_cb(tide_timer *timer) {
  stamp_call_cb(tide_handle_loop(&timer->handle), timer->handle.data);
}

static void count_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (*(int *)ud)++;
}

TEST(fake_clock_starts_at_zero) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_U64_EQ(tide_loop_now(&loop), 0);
  ASSERT_EQ(tide_fake_poll_count(&loop), 0);
  tide_fake_advance(&loop, 123);
  ASSERT_U64_EQ(tide_loop_now(&loop), 0); /* cached until refreshed */
  tide_loop_update_time(&loop);
  ASSERT_U64_EQ(tide_loop_now(&loop), 123);
  CLOSE_LOOP(&loop);
}

TEST(fake_timer_order_and_exact_times) {
  tide_loop loop;
  stamp_log log;
  static const uint64_t delays[] = {30, 10, 20, 10, 10, 0, 30};
  tide_timer t[TEST_ARRAY_SIZE(delays)];
  stamp s[TEST_ARRAY_SIZE(delays)];
  memset(&log, 0, sizeof log);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (size_t i = 0; i < TEST_ARRAY_SIZE(delays); i++) {
    ASSERT_OK(tide_timer_init(&loop, &t[i]));
    s[i].log = &log;
    s[i].item = (int)i;
    t[i].handle.data = &s[i];
    ASSERT_OK(tide_timer_start(&t[i], stamp_timer_cb, delays[i], 0));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log.items, 5, 1, 3, 4, 2, 0, 6);
  ASSERT_LOG(&log.times, 0, 10, 10, 10, 20, 30, 30);
  ASSERT_U64_EQ(tide_loop_now(&loop), 30); /* no time wasted */
  for (size_t i = 0; i < TEST_ARRAY_SIZE(delays); i++)
    tide_handle_close(&t[i].handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_call_later_and_call_at_exact) {
  tide_loop loop;
  stamp_log log;
  stamp s[4];
  memset(&log, 0, sizeof log);
  for (int i = 0; i < 4; i++) {
    s[i].log = &log;
    s[i].item = i;
  }
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 250, stamp_call_cb, &s[0], NULL));
  ASSERT_OK(tide_call_at(&loop, 100, stamp_call_cb, &s[1], NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log.items, 1, 0);
  ASSERT_LOG(&log.times, 100, 250);
  /* Delays count from the loop's cached time, now 250. */
  ASSERT_OK(tide_call_later(&loop, 50, stamp_call_cb, &s[2], NULL));
  ASSERT_OK(tide_call_at(&loop, 260, stamp_call_cb, &s[3], NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log.items, 1, 0, 3, 2);
  ASSERT_LOG(&log.times, 100, 250, 260, 300);
  CLOSE_LOOP(&loop);
}

/* A past time means now: at loop time 3, call_later(0) (due at 3) and then
 * call_at(1) are both due now and run in the order they were scheduled; the
 * earlier raw deadline must not jump ahead. Nor ahead of call_at(3) or of a
 * due timer started before it. */
TEST(fake_call_at_in_the_past_runs_in_schedule_order) {
  tide_loop loop;
  stamp_log log;
  stamp s[4];
  tide_timer timer;
  memset(&log, 0, sizeof log);
  for (int i = 0; i < 4; i++) {
    s[i].log = &log;
    s[i].item = i;
  }
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_advance(&loop, 3);
  tide_loop_update_time(&loop);
  ASSERT_U64_EQ(tide_loop_now(&loop), 3);
  ASSERT_OK(tide_timer_init(&loop, &timer));
  timer.handle.data = &s[0];
  ASSERT_OK(tide_timer_start(&timer, stamp_timer_cb, 0, 0));
  ASSERT_OK(tide_call_later(&loop, 0, stamp_call_cb, &s[1], NULL));
  ASSERT_OK(tide_call_at(&loop, 1, stamp_call_cb, &s[2], NULL));
  ASSERT_OK(tide_call_at(&loop, 0, stamp_call_cb, &s[3], NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log.items, 0, 1, 2, 3);
  ASSERT_LOG(&log.times, 3, 3, 3, 3);
  tide_handle_close(&timer.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(fake_run_once_blocks_for_next_timer) {
  tide_loop loop;
  int a = 0, b = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 50, count_cb, &a, NULL));
  ASSERT_OK(tide_call_later(&loop, 80, count_cb, &b, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1);
  ASSERT_EQ(a, 1);
  ASSERT_EQ(b, 0);
  ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 50);
  ASSERT_U64_EQ(tide_loop_now(&loop), 50);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT_EQ(b, 1);
  ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 30);
  ASSERT_U64_EQ(tide_loop_now(&loop), 80);
  CLOSE_LOOP(&loop);
}

TEST(fake_run_nowait_never_blocks) {
  tide_loop loop;
  tide_call call;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 50, count_cb, &n, &call));
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
    ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 0);
    ASSERT_U64_EQ(tide_loop_now(&loop), 0);
    ASSERT_EQ(n, 0);
  }
  ASSERT_GE(tide_fake_poll_count(&loop), 1);
  /* Once the time has come, NOWAIT fires it (still without blocking). */
  tide_fake_advance(&loop, 50);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 0);
  ASSERT_EQ(n, 1);
  CLOSE_LOOP(&loop);
}

TEST(fake_run_default_polls_with_timer_distance) {
  tide_loop loop;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 10, count_cb, &n, NULL));
  ASSERT_OK(tide_call_later(&loop, 30, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 2);
  ASSERT_EQ(tide_fake_poll_count(&loop), 2);
  ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 20);
  ASSERT_U64_EQ(tide_loop_now(&loop), 30);
  CLOSE_LOOP(&loop);
}

TEST(fake_ready_work_polls_without_blocking) {
  tide_loop loop;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 1000, count_cb, &n, NULL));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1);
  ASSERT_EQ(tide_fake_last_poll_timeout(&loop), 0); /* work was ready */
  ASSERT_EQ(n, 1);
  ASSERT_U64_EQ(tide_loop_now(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_U64_EQ(tide_loop_now(&loop), 1000);
  CLOSE_LOOP(&loop);
}

TEST(fake_next_timeout_exact) {
  tide_loop loop;
  tide_call call;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  ASSERT_OK(tide_call_later(&loop, 250, count_cb, &n, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 250);
  ASSERT_OK(tide_call_later(&loop, 400, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 250);
  tide_fake_advance(&loop, 100);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 250); /* cached time not refreshed */
  tide_loop_update_time(&loop);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 150);
  ASSERT_OK(tide_call_cancel(&loop, call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 300);
  tide_fake_advance(&loop, 1000);
  tide_loop_update_time(&loop);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0); /* overdue */
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(n, 2);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  /* Saturation. */
  ASSERT_OK(tide_call_later(&loop, (uint64_t)INT32_MAX + 5, count_cb, &n, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), INT32_MAX);
  ASSERT_OK(tide_call_cancel(&loop, call));
  ASSERT_OK(tide_call_later(&loop, UINT64_MAX, count_cb, &n, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), INT32_MAX);
  ASSERT_OK(tide_call_cancel(&loop, call));
  CLOSE_LOOP(&loop);
}

static void count_timer_cb(tide_timer *timer) {
  (*(int *)timer->handle.data)++;
}

TEST(fake_unref_timer_does_not_wait) {
  tide_loop loop;
  tide_timer weak, strong;
  int weak_n = 0, strong_n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &weak));
  ASSERT_OK(tide_timer_init(&loop, &strong));
  weak.handle.data = &weak_n;
  strong.handle.data = &strong_n;
  ASSERT_OK(tide_timer_start(&weak, count_timer_cb, 100, 0));
  tide_handle_unref(&weak.handle);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_U64_EQ(tide_loop_now(&loop), 0); /* did not wait for it */
  ASSERT_EQ(weak_n, 0);
  /* A ref'd timer due later keeps the loop running past the unref'd one. */
  ASSERT_OK(tide_timer_start(&strong, count_timer_cb, 150, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(weak_n, 1);
  ASSERT_EQ(strong_n, 1);
  ASSERT_U64_EQ(tide_loop_now(&loop), 150);
  tide_handle_close(&weak.handle, NULL);
  tide_handle_close(&strong.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* --- repeating timers ------------------------------------------------------ */

typedef struct rep {
  stamp_log log;
  int stop_at;
  int restart_at;
  uint64_t restart_ms;
  uint64_t slow_ms; /* each callback "takes" this long (advances the clock) */
} rep;

static void rep_cb(tide_timer *timer) {
  rep *r = timer->handle.data;
  tide_loop *loop = tide_handle_loop(&timer->handle);
  test_log_push(&r->log.times, (int)tide_loop_now(loop));
  if (r->slow_ms) tide_fake_advance(loop, r->slow_ms);
  if (r->log.times.n == r->stop_at) tide_timer_stop(timer);
  if (r->log.times.n == r->restart_at)
    ASSERT_OK(tide_timer_start(timer, rep_cb, r->restart_ms, 0));
}

TEST(fake_repeating_timer_exact) {
  tide_loop loop;
  tide_timer t;
  rep r;
  memset(&r, 0, sizeof r);
  r.stop_at = 4;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &r;
  ASSERT_OK(tide_timer_start(&t, rep_cb, 10, 5));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&r.log.times, 10, 15, 20, 25);
  ASSERT_U64_EQ(tide_loop_now(&loop), 25);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_timer_restarted_from_callback_exact) {
  tide_loop loop;
  tide_timer t;
  rep r;
  memset(&r, 0, sizeof r);
  r.restart_at = 1;
  r.restart_ms = 20;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &r;
  ASSERT_OK(tide_timer_start(&t, rep_cb, 10, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&r.log.times, 10, 30);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_repeating_restarted_with_new_repeat) {
  /* A repeating timer restarted from its callback with repeat 0 fires once more. */
  tide_loop loop;
  tide_timer t;
  rep r;
  memset(&r, 0, sizeof r);
  r.restart_at = 2;
  r.restart_ms = 100;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &r;
  ASSERT_OK(tide_timer_start(&t, rep_cb, 10, 10));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&r.log.times, 10, 20, 120);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_slow_repeating_callback_delays_never_bunches) {
  /* Each callback takes 7 ms of a 5 ms period: later runs are delayed, never
   * several in a row to catch up. */
  tide_loop loop;
  tide_timer t;
  rep r;
  memset(&r, 0, sizeof r);
  r.stop_at = 5;
  r.slow_ms = 7;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &r;
  ASSERT_OK(tide_timer_start(&t, rep_cb, 10, 5));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.log.times.n, 5);
  ASSERT_EQ(r.log.times.items[0], 10);
  for (int i = 1; i < 5; i++) {
    int gap = r.log.times.items[i] - r.log.times.items[i - 1];
    ASSERT_GE(gap, 7);  /* the previous callback's time has passed */
    ASSERT_LE(gap, 12); /* and at most one period more */
  }
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_timer_due_in_exact) {
  tide_loop loop;
  tide_timer t;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &n;
  ASSERT_OK(tide_timer_start(&t, count_timer_cb, 100, 0));
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 100);
  tide_fake_advance(&loop, 30);
  tide_loop_update_time(&loop);
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 70);
  tide_fake_advance(&loop, 100);
  tide_loop_update_time(&loop);
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 0); /* due */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(n, 1);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* --- a flood of callbacks still polls ------------------------------------- */

typedef struct flood {
  int calls;
  int limit;
  int timer_at;
  int timer_started;
  int timer_fired;
  int stop;
} flood;

static void flood_timer_cb(tide_loop *loop, void *ud) {
  flood *f = ud;
  (void)loop;
  f->timer_fired = f->calls;
}

static void flood_cb(tide_loop *loop, void *ud) {
  flood *f = ud;
  f->calls++;
  if (f->calls == f->timer_at) {
    f->timer_started = f->calls;
    /* Due 1 ms from now: only a poll moves the fake clock there. */
    tide_fake_advance(loop, 1);
    ASSERT_OK(tide_call_later(loop, 1, flood_timer_cb, f, NULL));
  }
  if (f->calls < f->limit) ASSERT_OK(tide_call_soon(loop, flood_cb, f, NULL));
}

TEST(fake_flood_polls_once_per_budget_and_timer_fires) {
  tide_loop loop;
  tide_loop_options opts;
  flood f;
  memset(&opts, 0, sizeof opts);
  memset(&f, 0, sizeof f);
  opts.tick_budget = 100;
  f.limit = 10000;
  f.timer_at = 250;
  f.timer_fired = -1;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_call_soon(&loop, flood_cb, &f, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f.calls, 10000);
  /* One poll per tick_budget callbacks (plus the first and last). */
  ASSERT_GE(tide_fake_poll_count(&loop), 100);
  ASSERT_LE(tide_fake_poll_count(&loop), 102);
  /* While flooded, no poll blocked: the clock moved only by our 1 ms. */
  ASSERT_U64_EQ(tide_loop_now(&loop), 1);
  ASSERT_GE(f.timer_fired, f.timer_started);
  ASSERT_LE(f.timer_fired - f.timer_started, 100); /* within one budget */
  CLOSE_LOOP(&loop);
}

TEST(fake_flood_default_budget_1024) {
  tide_loop loop;
  flood f;
  memset(&f, 0, sizeof f);
  f.limit = 1024 * 10;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, flood_cb, &f, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_GE(tide_fake_poll_count(&loop), 10);
  ASSERT_LE(tide_fake_poll_count(&loop), 12);
  CLOSE_LOOP(&loop);
}

/* --- 1e5 random timers ------------------------------------------------------ */

typedef struct rt_ctx {
  uint64_t last_deadline;
  size_t last_index;
  size_t fired;
  uint64_t *deadlines;
} rt_ctx;

typedef struct rt_timer {
  tide_timer timer;
  rt_ctx *ctx;
  size_t index;
} rt_timer;

static void rt_check(rt_ctx *x, tide_loop *loop, size_t index) {
  uint64_t deadline = x->deadlines[index];
  ASSERT_U64_EQ(tide_loop_now(loop), deadline); /* exact on the fake clock */
  if (x->fired > 0) {
    ASSERT(deadline >= x->last_deadline);
    if (deadline == x->last_deadline) ASSERT_GT(index, x->last_index);
  }
  x->last_deadline = deadline;
  x->last_index = index;
  x->fired++;
}

static void rt_timer_cb(tide_timer *timer) {
  rt_timer *r = (rt_timer *)(void *)timer;
  rt_check(r->ctx, tide_handle_loop(&timer->handle), r->index);
}

TEST(fake_1e5_random_timers_fire_in_exact_order) {
  enum { N = 100000 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_rng rng;
  rt_ctx x;
  rt_timer *timers = malloc(N * sizeof *timers);
  memset(&x, 0, sizeof x);
  x.deadlines = malloc(N * sizeof *x.deadlines);
  ASSERT_NOT_NULL(timers);
  ASSERT_NOT_NULL(x.deadlines);
  test_rng_seed(&rng, 12345);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  size_t base_blocks = a.live_blocks;
  for (size_t i = 0; i < N; i++) {
    /* Many duplicates (1e5 deadlines in 5e4 ms) test the start-order rule. */
    x.deadlines[i] = test_rng_below(&rng, 50000);
    timers[i].ctx = &x;
    timers[i].index = i;
    ASSERT_OK(tide_timer_init(&loop, &timers[i].timer));
    ASSERT_OK(tide_timer_start(&timers[i].timer, rt_timer_cb, x.deadlines[i], 0));
  }
  /* Timers live in caller storage; the loop's timer heap is one array. */
  ASSERT_EQ(a.live_blocks, base_blocks + 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(x.fired, N);
  for (size_t i = 0; i < N; i++)
    tide_handle_close(&timers[i].timer.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  free(timers);
  free(x.deadlines);
}

typedef struct rc_call {
  rt_ctx *ctx;
  size_t index;
} rc_call;

static void rc_call_cb(tide_loop *loop, void *ud) {
  rc_call *c = ud;
  rt_check(c->ctx, loop, c->index);
}

TEST(fake_1e5_random_call_later_fire_in_exact_order) {
  enum { N = 100000 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_rng rng;
  rt_ctx x;
  rc_call *calls = malloc(N * sizeof *calls);
  memset(&x, 0, sizeof x);
  x.deadlines = malloc(N * sizeof *x.deadlines);
  ASSERT_NOT_NULL(calls);
  ASSERT_NOT_NULL(x.deadlines);
  test_rng_seed(&rng, 777);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (size_t i = 0; i < N; i++) {
    x.deadlines[i] = test_rng_below(&rng, 1000000);
    calls[i].ctx = &x;
    calls[i].index = i;
    ASSERT_OK(tide_call_later(&loop, x.deadlines[i], rc_call_cb, &calls[i], NULL));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(x.fired, N);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  free(calls);
  free(x.deadlines);
}

/* --- random starts, restarts and stops against a model ----------------------- */

enum { MT_TIMERS = 300 };

typedef struct mt_ctx {
  uint64_t deadline[MT_TIMERS];
  uint64_t seq[MT_TIMERS]; /* start order */
  int active[MT_TIMERS];
  uint64_t next_seq;
  size_t fired;
} mt_ctx;

typedef struct mt_timer {
  tide_timer timer;
  mt_ctx *ctx;
  size_t index;
} mt_timer;

/* The timer that fires is due and the earliest (deadline, start order) of those
 * still active: restarts and stops in the middle of the heap kept the order. */
static void mt_timer_cb(tide_timer *timer) {
  mt_timer *m = (mt_timer *)(void *)timer;
  mt_ctx *x = m->ctx;
  size_t i = m->index;
  ASSERT(x->active[i]);
  ASSERT(x->deadline[i] <= tide_loop_now(tide_handle_loop(&timer->handle)));
  for (size_t j = 0; j < MT_TIMERS; j++) {
    if (!x->active[j] || j == i) continue;
    ASSERT(x->deadline[j] > x->deadline[i] ||
           (x->deadline[j] == x->deadline[i] && x->seq[j] > x->seq[i]));
  }
  x->active[i] = 0;
  x->fired++;
}

TEST(fake_random_restarts_and_stops_keep_exact_order) {
  tide_loop loop;
  test_rng rng;
  static mt_ctx x;
  static mt_timer t[MT_TIMERS];
  memset(&x, 0, sizeof x);
  test_rng_seed(&rng, 4242);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (size_t i = 0; i < MT_TIMERS; i++) {
    t[i].ctx = &x;
    t[i].index = i;
    ASSERT_OK(tide_timer_init(&loop, &t[i].timer));
  }
  for (int step = 0; step < 30000; step++) {
    size_t i = (size_t)test_rng_below(&rng, MT_TIMERS);
    uint64_t r = test_rng_below(&rng, 10);
    if (r < 6) { /* start, or restart an active one (it moves in the heap) */
      uint64_t delay = test_rng_below(&rng, 20);
      ASSERT_OK(tide_timer_start(&t[i].timer, mt_timer_cb, delay, 0));
      x.deadline[i] = tide_loop_now(&loop) + delay;
      x.seq[i] = x.next_seq++;
      x.active[i] = 1;
    } else if (r < 8) {
      tide_timer_stop(&t[i].timer);
      x.active[i] = 0;
    } else {
      tide_fake_advance(&loop, test_rng_below(&rng, 4));
      ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    }
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (size_t i = 0; i < MT_TIMERS; i++) {
    ASSERT_EQ(x.active[i], 0);
    tide_handle_close(&t[i].timer.handle, NULL);
  }
  ASSERT_GT(x.fired, 1000);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* --- the timer heap's memory ------------------------------------------------- */

enum { MANY = 20000 };

static void mt_count_cb(tide_timer *timer) { (*(size_t *)timer->handle.data)++; }

/* Start MANY timers (initialised from first on) and run them all. */
static void mt_start_all(tide_loop *loop, tide_timer *timers, size_t *fired) {
  for (size_t i = 0; i < MANY; i++) {
    timers[i].handle.data = fired;
    ASSERT_OK(tide_timer_start(&timers[i], mt_count_cb, i % 7, 0));
  }
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
}

/* A loop that once held many timers gives most of the heap's memory back when
 * they are closed, grows again when needed, and when a shrink cannot get
 * memory just keeps the larger array: nobody is refused anything. */
TEST(fake_timer_heap_shrinks_when_mostly_empty) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  size_t fired = 0;
  tide_timer *timers = malloc(MANY * sizeof *timers);
  ASSERT_NOT_NULL(timers);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  size_t base = a.live_bytes;
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < MANY; i++) ASSERT_OK(tide_timer_init(&loop, &timers[i]));
    size_t full = a.live_bytes - base;
    ASSERT_GT(full, MANY * 16); /* a slot per timer, at least deadline and seq */
    mt_start_all(&loop, timers, &fired);
    if (round == 2) {
      a.fail_at = a.count + 1; /* every shrink from here on fails */
      a.fail_after = 1;
    }
    for (size_t i = 0; i < MANY; i++) tide_handle_close(&timers[i].handle, NULL);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    if (round < 2)
      ASSERT_LT(a.live_bytes - base, full / 8);
    else
      ASSERT_EQ(a.live_bytes - base, full); /* failed shrinks changed nothing */
  }
  test_alloc_disarm(&a);
  ASSERT_EQ(fired, 3 * MANY);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  free(timers);
}

/* --- task sleeps ------------------------------------------------------------- */

struct sleeper_frame {
  uint64_t first, second;
  uint64_t woke1, woke2;
  test_log *order;
  int id;
  int rc;
};

static int sleeper_main(tide_task *t, void *frame) {
  struct sleeper_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, f->first, f->rc);
  ASSERT_EQ(f->rc, 0);
  f->woke1 = tide_loop_now(tide_task_loop(t));
  if (f->order) test_log_push(f->order, f->id);
  TIDE_SLEEP(t, f->second, f->rc);
  ASSERT_EQ(f->rc, 0);
  f->woke2 = tide_loop_now(tide_task_loop(t));
  TIDE_END(t);
}

TEST(fake_task_sleep_exact) {
  tide_loop loop;
  tide_task *t;
  struct sleeper_frame init;
  memset(&init, 0, sizeof init);
  init.first = 100;
  init.second = 250;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, sleeper_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct sleeper_frame *f = tide_task_frame(t);
  ASSERT_U64_EQ(f->woke1, 100);
  ASSERT_U64_EQ(f->woke2, 350);
  ASSERT_U64_EQ(tide_loop_now(&loop), 350);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(fake_task_sleeps_wake_in_deadline_order) {
  tide_loop loop;
  tide_task *t[4];
  test_log order = {0};
  static const uint64_t first[] = {30, 20, 30, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 4; i++) {
    struct sleeper_frame init;
    memset(&init, 0, sizeof init);
    init.first = first[i];
    init.order = &order;
    init.id = i;
    ASSERT_OK(tide_task_spawn(&loop, sleeper_main, &init, sizeof init, &t[i]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&order, 3, 1, 0, 2);
  ASSERT_U64_EQ(tide_loop_now(&loop), 30);
  for (int i = 0; i < 4; i++)
    tide_task_release(t[i]);
  CLOSE_LOOP(&loop);
}

struct long_sleeper_frame {
  int rc;
};

static int long_sleeper_main(tide_task *t, void *frame) {
  struct long_sleeper_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 3600 * 1000, f->rc);
  TIDE_END(t);
}

TEST(fake_cancelled_sleep_does_not_wait) {
  tide_loop loop;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, long_sleeper_main, NULL,
                            sizeof(struct long_sleeper_frame), &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 3600 * 1000);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_U64_EQ(tide_loop_now(&loop), 0);
  ASSERT_EQ(((struct long_sleeper_frame *)tide_task_frame(t))->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* --- default error handler output ------------------------------------------- */

TEST(fake_default_error_handler_writes_report) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "unseen failure (expected output)"));
  ASSERT_EQ(tide_fake_report_count(&loop), 0);
  tide_future_release(&f);
  ASSERT_EQ(tide_fake_report_count(&loop), 1);
  ASSERT_NOT_NULL(strstr(tide_fake_last_report(&loop), "unseen failure"));
  ASSERT_NOT_NULL(strstr(tide_fake_last_report(&loop), "EIO"));
  /* Observed: nothing written. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "seen"));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO);
  tide_future_release(&f);
  ASSERT_EQ(tide_fake_report_count(&loop), 1);
  CLOSE_LOOP(&loop);
}

/* A sleeping task whose sleep came due in the same iteration as the timer that
 * cancels it: the cancel lands after the sleep left the heap, while the task's
 * step is already queued. The sleep won the race, so it returns 0; the request
 * stays pending and the task still ends CANCELLED; nothing may be removed from
 * the heap twice. */
struct due_sleeper {
  int rc;
  int resumed;
};

static int due_sleeper_main(tide_task *t, void *frame) {
  struct due_sleeper *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 100, f->rc);
  f->resumed++;
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

static void cancel_task_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_OK(tide_task_cancel(ud));
}

TEST(fake_cancel_when_sleep_and_canceller_due_together) {
  tide_loop loop;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, due_sleeper_main, NULL, sizeof(struct due_sleeper), &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* sleeping until 100 */
  ASSERT_OK(tide_call_at(&loop, 99, cancel_task_cb, t, NULL));
  tide_fake_advance(&loop, 150); /* both due at the next iteration */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct due_sleeper *f = tide_task_frame(t);
  ASSERT_EQ(f->resumed, 1);
  ASSERT_EQ(f->rc, 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* --- timers of one deadline share buckets (heap.h) -------------------------- */

enum { SAME = 2500 }; /* more than two buckets' worth */

static void same_cb(tide_timer *timer) {
  stamp_call_cb(tide_handle_loop(&timer->handle), timer->handle.data);
}

/* Thousands of timers due at one time, some stopped from the middle or the
 * front of their bucket and some restarted (to the back of the line): each
 * reports its own due time exactly, and they fire in start order. */
TEST(fake_equal_deadlines_keep_start_order_through_stops_and_restarts) {
  static tide_timer t[SAME];
  static stamp s[SAME];
  static stamp_log log;
  memset(&log, 0, sizeof log);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < SAME; i++) {
    s[i].log = &log;
    s[i].item = i;
    ASSERT_OK(tide_timer_init(&loop, &t[i]));
    t[i].handle.data = &s[i];
    ASSERT_OK(tide_timer_start(&t[i], same_cb, 40, 0));
  }
  tide_fake_advance(&loop, 10);
  tide_loop_update_time(&loop);
  for (int i = 0; i < SAME; i++) ASSERT_U64_EQ(tide_timer_get_due_in(&t[i]), 30);
  /* Stop every third (the first of each bucket among them), restart every
   * tenth that is still running: due 30 from now, after all the others. */
  int expect[SAME], n = 0;
  for (int i = 0; i < SAME; i++)
    if (i % 3 == 0) tide_timer_stop(&t[i]);
  for (int i = 0; i < SAME; i++)
    if (i % 3 != 0 && i % 10 == 1) ASSERT_OK(tide_timer_start(&t[i], same_cb, 30, 0));
  for (int i = 0; i < SAME; i++)
    if (i % 3 != 0 && i % 10 != 1) expect[n++] = i;
  for (int i = 0; i < SAME; i++)
    if (i % 3 != 0 && i % 10 == 1) expect[n++] = i;
  ASSERT_U64_EQ(tide_timer_get_due_in(&t[SAME - 2]), 30); /* a member, far back */
  ASSERT_U64_EQ(tide_timer_get_due_in(&t[SAME - 9]), 30); /* restarted */
  ASSERT_U64_EQ(tide_timer_get_due_in(&t[SAME - 1]), 0);  /* stopped */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.items.n, n);
  for (int k = 0; k < n; k++) {
    ASSERT_EQ(log.items.items[k], expect[k]);
    ASSERT_EQ(log.times.items[k], 40);
  }
  for (int i = 0; i < SAME; i++) tide_handle_close(&t[i].handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* A deadline keeps the place its start gave it even when it reaches the heap
 * later: a timeout scope begun before timer x, both due at 100, must expire
 * before x runs, though the task's entry held its sleep (due at 50) until then
 * and x's bucket was made meanwhile. */
struct late_scope {
  tide_timeout scope;
  int rc;
};

static int late_scope_main(tide_task *t, void *frame) {
  struct late_scope *f = frame;
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &f->scope, 100);
  TIDE_SLEEP(t, 50, f->rc);
  ASSERT_OK(f->rc);
  TIDE_SLEEP(t, 1000, f->rc);
  tide_task_timeout_end(t, &f->scope, &f->rc);
  ASSERT_ERR(f->rc, TIDE_ETIMEDOUT);
  TIDE_END(t);
}

static void saw_scope_cb(tide_timer *timer) {
  tide_task *task = timer->handle.data;
  struct late_scope *f = tide_task_frame(task);
  ASSERT_EQ(tide_timeout_expired(&f->scope), 1);
}

TEST(fake_scope_begun_first_expires_first_though_it_reaches_the_heap_last) {
  tide_loop loop;
  tide_task *task;
  tide_timer x;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, late_scope_main, NULL, sizeof(struct late_scope), &task));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* the scope begins: seq first */
  ASSERT_OK(tide_timer_init(&loop, &x));
  x.handle.data = task;
  ASSERT_OK(tide_timer_start(&x, saw_scope_cb, 100, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_U64_EQ(tide_loop_now(&loop), 100);
  ASSERT_EQ(tide_future_state_get(tide_task_future(task)), TIDE_FUTURE_RESULT);
  tide_task_release(task);
  tide_handle_close(&x.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- tasks' sleeps share buckets and need no memory (heap.h) ---------------- */

enum { SLEEPERS = 3000, OOM_SLEEPERS = 600 };

struct stamp_sleeper {
  stamp *s;
  uint64_t ms;
  int64_t scope_ms; /* a timeout scope around the sleep; -1: none */
  tide_timeout scope;
  tide_call *call_first; /* schedule a call_later of ms just before the sleep */
  stamp *call_stamp;
  int rc;
};

/* Sleep (in a scope, if any); stamp the wake-up unless it was cancelled. */
static int stamp_sleeper_main(tide_task *t, void *frame) {
  struct stamp_sleeper *f = frame;
  TIDE_BEGIN(t);
  if (f->call_first != NULL)
    ASSERT_OK(tide_call_later(tide_task_loop(t), f->ms, stamp_call_cb, f->call_stamp,
                              f->call_first));
  if (f->scope_ms >= 0) tide_task_timeout_begin(t, &f->scope, f->scope_ms);
  TIDE_SLEEP(t, f->ms, f->rc);
  if (f->scope_ms >= 0) tide_task_timeout_end(t, &f->scope, &f->rc);
  if (f->rc != TIDE_ECANCELED) stamp_call_cb(tide_task_loop(t), f->s);
  TIDE_END(t);
}

/* Thousands of tasks sleeping to one deadline wake in the order they went to
 * sleep, through cancellations from the front and the middle of their bucket,
 * and a call_later of the same deadline started among them takes its place
 * between them (timers' and tasks' entries keep separate buckets). */
TEST(fake_equal_deadline_sleeps_wake_in_sleep_order) {
  static stamp s[SLEEPERS + 1];
  static stamp_log log;
  static tide_task *t[SLEEPERS];
  memset(&log, 0, sizeof log);
  tide_loop loop;
  tide_call call;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i <= SLEEPERS; i++) {
    s[i].log = &log;
    s[i].item = i;
  }
  for (int i = 0; i < SLEEPERS; i++) {
    struct stamp_sleeper init = {&s[i], 40, -1, {0}, NULL, NULL, 0};
    if (i == SLEEPERS / 2) {
      init.call_first = &call;
      init.call_stamp = &s[SLEEPERS];
    }
    ASSERT_OK(tide_task_spawn(&loop, stamp_sleeper_main, &init, sizeof init, &t[i]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* all asleep */
  ASSERT_OK(tide_task_cancel(t[0]));                   /* the first of the bucket */
  for (int i = 5; i < SLEEPERS; i += 7)
    ASSERT_OK(tide_task_cancel(t[i]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  int n = 0;
  for (int i = 0; i < SLEEPERS; i++) {
    if (i == SLEEPERS / 2) {
      ASSERT_EQ(log.items.items[n], SLEEPERS); /* the call, started just before */
      ASSERT_EQ(log.times.items[n++], 40);
    }
    if (i == 0 || (i >= 5 && (i - 5) % 7 == 0)) continue;
    ASSERT_EQ(log.items.items[n], i);
    ASSERT_EQ(log.times.items[n++], 40);
  }
  ASSERT_EQ(log.items.n, n);
  for (int i = 0; i < SLEEPERS; i++)
    tide_task_release(t[i]);
  CLOSE_LOOP(&loop);
}

/* Every allocation fails from the moment the tasks are spawned: their sleeps
 * and timeout scopes still go in (the heap cannot grow past its first slots,
 * so most entries join the buckets already there), and every deadline comes
 * out exactly on time, in (deadline, start) order, cancellations included. */
TEST(fake_task_sleeps_and_scopes_need_no_memory) {
  static stamp s[OOM_SLEEPERS];
  static stamp_log log;
  static tide_task *t[OOM_SLEEPERS];
  static uint64_t due[OOM_SLEEPERS];
  memset(&log, 0, sizeof log);
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < OOM_SLEEPERS; i++) {
    s[i].log = &log;
    s[i].item = i;
    /* Even deadlines in a scattered order, the last 100 all equal; a scope
     * around every fifth sleep, due at an odd time just before it. */
    uint64_t ms = i < OOM_SLEEPERS - 100 ? 2 + 2 * (uint64_t)((i * 7919) % 500) : 1200;
    struct stamp_sleeper init = {
        &s[i], ms, i % 5 == 0 ? (int64_t)ms - 1 : -1, {0}, NULL, NULL, 0};
    due[i] = i % 5 == 0 ? ms - 1 : ms;
    ASSERT_OK(tide_task_spawn(&loop, stamp_sleeper_main, &init, sizeof init, &t[i]));
  }
  test_alloc_fail_in(&a, 1);
  a.fail_after = 1;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* all asleep */
  ASSERT(a.failures > 0); /* the heap tried to grow, and could not */
  for (int i = 3; i < OOM_SLEEPERS; i += 11)
    ASSERT_OK(tide_task_cancel(t[i]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* Expected: by deadline, then by spawn (each task started its deadlines in
   * its turn of the first tick). */
  int n = 0;
  for (uint64_t d = 0; d <= 1200; d++)
    for (int i = 0; i < OOM_SLEEPERS; i++) {
      if (due[i] != d || (i >= 3 && (i - 3) % 11 == 0)) continue;
      ASSERT_EQ(log.items.items[n], i);
      ASSERT_EQ(log.times.items[n++], (int)d);
    }
  ASSERT_EQ(log.items.n, n);
  test_alloc_disarm(&a);
  for (int i = 0; i < OOM_SLEEPERS; i++)
    tide_task_release(t[i]);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}
