/* test-loop.c: run modes, ticks, FIFO order, stop, close, ref/unref, keep-alive
 * and next_timeout; deterministic on every backend (no assumption about the
 * clock: only ordering and what is or is not run). */
#include "alloc.h"
#include "test.h"
#include "util.h"

static void count_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (*(int *)ud)++;
}

TEST(loop_init_close_empty) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_NULL(tide_loop_current_task(&loop));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  CLOSE_LOOP(&loop);
}

TEST(loop_new_free_uses_allocator) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop *loop = NULL;
  ASSERT_OK(tide_loop_new(&opts, &loop));
  ASSERT_NOT_NULL(loop);
  ASSERT_GE(a.live_blocks, 1); /* at least the loop itself */
  int n = 0;
  ASSERT_OK(tide_call_soon(loop, count_cb, &n, NULL));
  ASSERT_ERR(tide_loop_free(loop), TIDE_EBUSY); /* a queued call */
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 1);
  ASSERT_OK(tide_loop_free(loop));
  ASSERT_NO_LEAKS(&a);
}

TEST(loop_new_default_allocator) {
  tide_loop *loop = NULL;
  ASSERT_OK(tide_loop_new(NULL, &loop));
  ASSERT_NOT_NULL(loop);
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_free(loop));
}

TEST(loop_alloc_dealloc) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  size_t before = a.live_blocks;
  char *p = tide_loop_alloc(&loop, 100);
  ASSERT_NOT_NULL(p);
  memset(p, 1, 100);
  ASSERT_EQ(a.live_blocks, before + 1);
  tide_loop_dealloc(&loop, p);
  ASSERT_EQ(a.live_blocks, before);
  test_alloc_fail_in(&a, 1);
  ASSERT_NULL(tide_loop_alloc(&loop, 100));
  test_alloc_disarm(&a);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* --- call_soon: FIFO and ticks -------------------------------------------- */

TEST(call_soon_fifo) {
  tide_loop loop;
  test_log log = {0};
  test_log_call c[8];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 8; i++) {
    c[i].log = &log;
    c[i].item = i;
    ASSERT_OK(tide_call_soon(&loop, test_log_call_fn, &c[i], NULL));
  }
  ASSERT_EQ(log.n, 0); /* never inline */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 0, 1, 2, 3, 4, 5, 6, 7);
  CLOSE_LOOP(&loop);
}

/* A schedules D while running; B and C were queued before the run. */
typedef struct tick_ctx {
  test_log log;
  test_log_call d;
  int stop_in_a;
} tick_ctx;

static void tick_a(tide_loop *loop, void *ud) {
  tick_ctx *t = ud;
  test_log_push(&t->log, 'A');
  ASSERT_OK(tide_call_soon(loop, test_log_call_fn, &t->d, NULL));
  if (t->stop_in_a) tide_loop_stop(loop);
}

static void tick_b(tide_loop *loop, void *ud) {
  (void)loop;
  test_log_push(&((tick_ctx *)ud)->log, 'B');
}

TEST(call_soon_scheduled_during_tick_runs_later) {
  tide_loop loop;
  tick_ctx t;
  memset(&t, 0, sizeof t);
  t.d.log = &t.log;
  t.d.item = 'D';
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_a, &t, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_b, &t, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&t.log, 'A', 'B', 'D');
  CLOSE_LOOP(&loop);
}

TEST(stop_returns_after_current_tick) {
  /* A stops the loop and schedules D: B (same tick) still runs, D (next tick)
   * does not; run returns 1 because D is left; the next run runs D. */
  tide_loop loop;
  tick_ctx t;
  memset(&t, 0, sizeof t);
  t.d.log = &t.log;
  t.d.item = 'D';
  t.stop_in_a = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_a, &t, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_b, &t, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_LOG(&t.log, 'A', 'B');
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&t.log, 'A', 'B', 'D');
  CLOSE_LOOP(&loop);
}

TEST(stop_before_run_runs_one_tick) {
  /* As asyncio's stop() before run_forever(): the run does one tick of what was
   * already scheduled (A and B), not the work that tick schedules (D). */
  tide_loop loop;
  tick_ctx t;
  memset(&t, 0, sizeof t);
  t.d.log = &t.log;
  t.d.item = 'D';
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_a, &t, NULL));
  ASSERT_OK(tide_call_soon(&loop, tick_b, &t, NULL));
  tide_loop_stop(&loop);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_LOG(&t.log, 'A', 'B');
  /* The stop request was consumed: the next run goes on until the end. */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&t.log, 'A', 'B', 'D');
  CLOSE_LOOP(&loop);
}

static void stop_timer_cb(tide_timer *timer) {
  int *n = timer->handle.data;
  (*n)++;
  tide_loop_stop(tide_handle_loop(&timer->handle));
}

TEST(stop_from_repeating_timer) {
  tide_loop loop;
  tide_timer timer;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &timer));
  timer.handle.data = &n;
  ASSERT_OK(tide_timer_start(&timer, stop_timer_cb, 1, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_EQ(n, 2);
  tide_handle_close(&timer.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 2);
  CLOSE_LOOP(&loop);
}

/* --- tick budget: a flood of callbacks cannot starve timers --------------- */

typedef struct flood {
  tide_loop *loop;
  int calls;
  int stop_at;  /* stop rescheduling at this many calls (0: never) */
  int stop;     /* stop rescheduling now */
  int timer_at; /* start a 0 ms call_later at this many calls (0: never) */
  int timer_started_calls;
  int timer_fired_calls; /* flood calls seen when the timer fired (-1: not yet) */
} flood;

static void flood_timer_cb(tide_loop *loop, void *ud) {
  flood *f = ud;
  (void)loop;
  f->timer_fired_calls = f->calls;
  f->stop = 1;
}

static void flood_cb(tide_loop *loop, void *ud) {
  flood *f = ud;
  f->calls++;
  if (f->timer_at && f->calls == f->timer_at) {
    f->timer_started_calls = f->calls;
    ASSERT_OK(tide_call_later(loop, 0, flood_timer_cb, f, NULL));
  }
  if (f->stop || (f->stop_at && f->calls >= f->stop_at)) return;
  ASSERT_OK(tide_call_soon(loop, flood_cb, f, NULL));
}

TEST(tick_budget_bounds_one_iteration) {
  tide_loop loop;
  tide_loop_options opts;
  flood f;
  memset(&opts, 0, sizeof opts);
  memset(&f, 0, sizeof f);
  opts.tick_budget = 16;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_call_soon(&loop, flood_cb, &f, NULL));
  /* One callback per tick: one NOWAIT iteration runs exactly tick_budget of them. */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(f.calls, 16);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(f.calls, 32);
  f.stop = 1;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f.calls, 33);
  CLOSE_LOOP(&loop);
}

TEST(tick_budget_default_is_1024) {
  tide_loop loop;
  flood f;
  memset(&f, 0, sizeof f);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, flood_cb, &f, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(f.calls, 1024);
  f.stop = 1;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(self_rescheduling_callback_cannot_starve_timer) {
  tide_loop loop;
  tide_loop_options opts;
  flood f;
  memset(&opts, 0, sizeof opts);
  memset(&f, 0, sizeof f);
  opts.tick_budget = 64;
  f.timer_at = 10;
  f.timer_fired_calls = -1;
  f.stop_at = 100000; /* a safety net: the timer must stop it much sooner */
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_call_soon(&loop, flood_cb, &f, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_GE(f.timer_fired_calls, f.timer_started_calls);
  /* The due timer runs at the next iteration: within one budget of callbacks. */
  ASSERT_LE(f.timer_fired_calls - f.timer_started_calls, 64);
  ASSERT_LT(f.calls, 1000);
  CLOSE_LOOP(&loop);
}

/* --- run modes and return values ------------------------------------------ */

static void never_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (void)ud;
  test__fail(__FILE__, __LINE__, "a cancelled or far-away call ran");
}

TEST(run_nowait_returns_1_while_timer_pending) {
  tide_loop loop;
  tide_call call;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 3600 * 1000, never_cb, NULL, &call));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_OK(tide_call_cancel(&loop, call));
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  CLOSE_LOOP(&loop);
}

TEST(run_once_with_ready_work_does_not_block) {
  tide_loop loop;
  tide_call call;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 3600 * 1000, never_cb, NULL, &call));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1); /* must not wait an hour */
  ASSERT_EQ(n, 1);
  ASSERT_OK(tide_call_cancel(&loop, call));
  CLOSE_LOOP(&loop);
}

TEST(run_default_returns_0_when_no_referenced_work) {
  tide_loop loop;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 1, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  CLOSE_LOOP(&loop);
}

/* --- close --------------------------------------------------------------- */

static void close_count_cb(tide_handle *h) {
  (*(int *)h->data)++;
}

TEST(close_busy_with_open_handle) {
  tide_loop loop;
  tide_timer timer;
  int closed = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &timer));
  timer.handle.data = &closed;
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* open, even if never started */
  ASSERT_EQ(tide_loop_alive(&loop), 0);           /* but not active */
  tide_handle_close(&timer.handle, close_count_cb);
  ASSERT_EQ(closed, 0); /* not inline */
  ASSERT_EQ(tide_handle_is_closing(&timer.handle), 1);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* close callback pending */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(close_busy_with_queued_call) {
  tide_loop loop;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_EQ(n, 0); /* a refused close changes nothing */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 1);
  CLOSE_LOOP(&loop);
}

TEST(close_after_cancelling_every_call) {
  tide_loop loop;
  tide_call a, b;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 3600 * 1000, never_cb, NULL, &a));
  ASSERT_OK(tide_call_soon(&loop, never_cb, NULL, &b));
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_OK(tide_call_cancel(&loop, a));
  ASSERT_OK(tide_call_cancel(&loop, b));
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  CLOSE_LOOP(&loop);
}

static int return_7(tide_task *t, void *frame) {
  (void)frame;
  TIDE_BEGIN(t);
  TIDE_RETURN_INT(t, 7);
  TIDE_END(t);
}

TEST(close_busy_with_live_task) {
  tide_loop loop;
  tide_task *task;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, return_7, NULL, 0, &task));
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_task_done(task), 1);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* done but not released */
  tide_task_release(task);
  CLOSE_LOOP(&loop);
}

/* --- ref/unref and keep-alive --------------------------------------------- */

static void never_timer_cb(tide_timer *timer) {
  (void)timer;
  test__fail(__FILE__, __LINE__, "an unref'd far-away timer fired");
}

TEST(unref_timer_does_not_keep_loop_alive) {
  tide_loop loop;
  tide_timer timer;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &timer));
  ASSERT_EQ(tide_handle_has_ref(&timer.handle), 1); /* ref'd by default */
  ASSERT_EQ(tide_handle_is_active(&timer.handle), 0);
  ASSERT_OK(tide_timer_start(&timer, never_timer_cb, 3600 * 1000, 0));
  ASSERT_EQ(tide_handle_is_active(&timer.handle), 1);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  tide_handle_unref(&timer.handle);
  tide_handle_unref(&timer.handle); /* idempotent */
  ASSERT_EQ(tide_handle_has_ref(&timer.handle), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* returns at once */
  ASSERT_EQ(tide_handle_is_active(&timer.handle), 1);
  tide_handle_ref(&timer.handle);
  ASSERT_EQ(tide_handle_has_ref(&timer.handle), 1);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  tide_handle_unref(&timer.handle);
  tide_handle_ref(&timer.handle);
  tide_handle_ref(&timer.handle); /* idempotent: one unref undoes it */
  tide_handle_unref(&timer.handle);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_handle_ref(&timer.handle);
  tide_timer_stop(&timer);
  ASSERT_EQ(tide_handle_is_active(&timer.handle), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_PTR_EQ(tide_handle_loop(&timer.handle), &loop);
  tide_handle_close(&timer.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

static void count_timer_cb(tide_timer *timer) {
  (*(int *)timer->handle.data)++;
}

TEST(unref_timer_still_fires_while_loop_runs) {
  /* An unref'd timer due before a ref'd one fires; the loop ends with the ref'd. */
  tide_loop loop;
  tide_timer weak, strong;
  int weak_n = 0, strong_n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &weak));
  ASSERT_OK(tide_timer_init(&loop, &strong));
  weak.handle.data = &weak_n;
  strong.handle.data = &strong_n;
  ASSERT_OK(tide_timer_start(&weak, count_timer_cb, 1, 0));
  tide_handle_unref(&weak.handle);
  ASSERT_OK(tide_timer_start(&strong, count_timer_cb, 20, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(weak_n, 1);
  ASSERT_EQ(strong_n, 1);
  tide_handle_close(&weak.handle, NULL);
  tide_handle_close(&strong.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* --- next_timeout ---------------------------------------------------------- */

TEST(next_timeout_ready_none_and_timer) {
  tide_loop loop;
  tide_call call;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  ASSERT_OK(tide_call_later(&loop, 5000, never_cb, NULL, &call));
  int64_t t = tide_loop_next_timeout(&loop);
  ASSERT_GT(t, 0);
  ASSERT_LE(t, 5000);
  ASSERT_OK(tide_call_cancel(&loop, call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  /* Saturates at INT32_MAX. */
  ASSERT_OK(tide_call_later(&loop, UINT64_MAX / 2, never_cb, NULL, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), INT32_MAX);
  ASSERT_OK(tide_call_cancel(&loop, call));
  /* A due timer is ready work. */
  ASSERT_OK(tide_call_at(&loop, 0, count_cb, &n, &call));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 2);
  CLOSE_LOOP(&loop);
}

TEST(loop_now_is_monotonic) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  uint64_t a = tide_loop_now(&loop);
  tide_loop_update_time(&loop);
  uint64_t b = tide_loop_now(&loop);
  ASSERT_LE(a, b);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_LE(b, tide_loop_now(&loop));
  CLOSE_LOOP(&loop);
}

TEST(two_loops_are_independent) {
  tide_loop a, b;
  int na = 0, nb = 0;
  ASSERT_OK(tide_loop_init(&a, NULL));
  ASSERT_OK(tide_loop_init(&b, NULL));
  ASSERT_OK(tide_call_soon(&a, count_cb, &na, NULL));
  ASSERT_OK(tide_call_soon(&b, count_cb, &nb, NULL));
  ASSERT_EQ(tide_loop_run(&a, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(na, 1);
  ASSERT_EQ(nb, 0);
  ASSERT_ERR(tide_loop_close(&b), TIDE_EBUSY);
  CLOSE_LOOP(&a);
  ASSERT_EQ(tide_loop_run(&b, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(nb, 1);
  CLOSE_LOOP(&b);
}

/* tide_loop_ready_count sees the rest of the current tick and the next one. */
static void count_ready_cb(tide_loop *loop, void *ud) {
  size_t *seen = ud;
  seen[seen[0] + 1] = tide_loop_ready_count(loop);
  seen[0]++;
}

TEST(ready_count_live) {
  tide_loop loop;
  size_t seen[4] = {0, 0, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(tide_loop_ready_count(&loop), 0);
  for (int i = 0; i < 3; i++) ASSERT_OK(tide_call_soon(&loop, count_ready_cb, seen, NULL));
  ASSERT_EQ(tide_loop_ready_count(&loop), 3);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(seen[0], 3);
  ASSERT_EQ(seen[1], 2); /* the two still queued behind the first */
  ASSERT_EQ(seen[2], 1);
  ASSERT_EQ(seen[3], 0);
  ASSERT_EQ(tide_loop_ready_count(&loop), 0);
  CLOSE_LOOP(&loop);
}

/* tide_loop_report reaches the handler with what the caller said. */
static void capture_report(tide_loop *loop, const tide_error_report *r, void *ud) {
  (void)loop;
  tide_error_report *out = ud;
  *out = *r;
}

TEST(loop_report_reaches_handler) {
  tide_loop loop;
  tide_error_report got;
  memset(&got, 0, sizeof got);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_set_error_handler(&loop, capture_report, &got);
  tide_loop_report(&loop, TIDE_EPIPE, "stream write failed", NULL);
  ASSERT_EQ(got.code, TIDE_EPIPE);
  ASSERT_STR_EQ(got.context, "stream write failed");
  ASSERT_STR_EQ(got.message, tide_strerror(TIDE_EPIPE));
  ASSERT_NULL(got.task);
  CLOSE_LOOP(&loop);
}
