/* test-virtual-time.c (portable: every host, real and fake backends): a loop on
 * a virtual clock (tide_loop_set_clock). Autojump runs code full of sleeps and
 * timeouts at once, every timer at exactly its deadline and in order; the
 * manual clock moves only with tide_loop_advance, and a run returns instead of
 * waiting for it. */
#include "test.h"
#include "util.h"

#define DAY_MS 86400000u

/* A task that sleeps the given delays in turn and logs the loop time each time
 * it wakes, relative to when it started: what a retry with backoff does. */
typedef struct backoff_frame {
  const uint64_t *delays;
  int n, i, rc;
  uint64_t start;
  uint64_t *woke;
} backoff_frame;

static int backoff_main(tide_task *t, void *frame) {
  backoff_frame *f = frame;
  TIDE_BEGIN(t);
  f->start = tide_loop_now(tide_task_loop(t));
  for (f->i = 0; f->i < f->n; f->i++) {
    TIDE_SLEEP(t, f->delays[f->i], f->rc);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "interrupted");
    f->woke[f->i] = tide_loop_now(tide_task_loop(t)) - f->start;
  }
  TIDE_RETURN_INT(t, f->n);
  TIDE_END(t);
}

TEST(virtual_autojump_runs_sleeps_at_their_exact_times_at_once) {
  tide_loop loop, real;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&real, NULL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP));
  ASSERT_EQ(tide_loop_clock(&loop), TIDE_CLOCK_AUTOJUMP);
  static const uint64_t delays[] = {1000, 2000, 4000, DAY_MS};
  uint64_t woke[4] = {0};
  backoff_frame init = {delays, 4, 0, 0, 0, woke};
  tide_task *task;
  ASSERT_OK(tide_task_spawn(&loop, backoff_main, &init, sizeof init, &task));
  tide_loop_update_time(&real);
  uint64_t real_start = tide_loop_now(&real);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_loop_update_time(&real);
  /* A day of loop time, in (generously) less than a minute of the host's. */
  ASSERT_LT(tide_loop_now(&real) - real_start, 60000);
  ASSERT_U64_EQ(woke[0], 1000);
  ASSERT_U64_EQ(woke[1], 3000);
  ASSERT_U64_EQ(woke[2], 7000);
  ASSERT_U64_EQ(woke[3], 7000 + (uint64_t)DAY_MS);
  ASSERT_OK(tide_future_result(tide_task_future(task), NULL));
  tide_task_release(task);
  RUN_AND_CLOSE_LOOP(&loop);
  RUN_AND_CLOSE_LOOP(&real);
}

static void complete_none(tide_loop *loop, void *ud) {
  (void)loop;
  tide_future_set_none(ud);
}

/* wait_for on the virtual clock: an input done at 3 s beats a 5 s timeout; one
 * done at 7 s loses to it, at exactly 5 s. */
TEST(virtual_autojump_wait_for_times_out_at_its_deadline) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP));
  uint64_t t0 = tide_loop_now(&loop);
  tide_future early, late, out_early, out_late;
  tide_future_init(&loop, &early);
  tide_future_init(&loop, &late);
  tide_future_init(&loop, &out_early);
  tide_future_init(&loop, &out_late);
  ASSERT_OK(tide_call_later(&loop, 3000, complete_none, &early, NULL));
  ASSERT_OK(tide_call_later(&loop, 7000, complete_none, &late, NULL));
  ASSERT_OK(tide_wait_for(&loop, &early, 5000, &out_early));
  ASSERT_OK(tide_wait_for(&loop, &late, 5000, &out_late));
  while (!tide_future_done(&out_late)) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT_U64_EQ(tide_loop_now(&loop) - t0, 5000);
  ASSERT_OK(tide_future_result(&out_early, NULL));
  ASSERT_ERR(tide_future_result(&out_late, NULL), TIDE_ETIMEDOUT);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* `late` still comes, at 7 s */
  ASSERT_U64_EQ(tide_loop_now(&loop) - t0, 7000);
  ASSERT(tide_future_done(&late));
  tide_future_release(&early);
  tide_future_release(&late);
  tide_future_release(&out_early);
  tide_future_release(&out_late);
  RUN_AND_CLOSE_LOOP(&loop);
}

static void log_call(tide_loop *loop, void *ud) {
  test_log_call *c = ud;
  (void)loop;
  test_log_push(c->log, c->item);
}

/* Equal deadlines still fire in the order they were scheduled, and a repeating
 * timer keeps its period, between the jumps. */
static void on_repeat(tide_timer *timer) {
  test_log_push(timer->handle.data, 9);
}

TEST(virtual_autojump_keeps_timer_order) {
  tide_loop loop;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP));
  test_log_call a = {&log, 1}, b = {&log, 2}, c = {&log, 3};
  ASSERT_OK(tide_call_later(&loop, 1000, log_call, &b, NULL));
  ASSERT_OK(tide_call_later(&loop, 500, log_call, &a, NULL));
  ASSERT_OK(tide_call_later(&loop, 1000, log_call, &c, NULL));
  tide_timer rep;
  ASSERT_OK(tide_timer_init(&loop, &rep));
  rep.handle.data = &log;
  ASSERT_OK(tide_timer_start(&rep, on_repeat, 400, 400));
  tide_handle_unref(&rep.handle); /* it alone does not keep the loop (or time) going */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* 400 (9), 500 (1), 800 (9), 1000 (2, 3 in start order). */
  ASSERT_LOG(&log, 9, 1, 9, 2, 3);
  tide_handle_close(&rep.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* Only unref'd timers left: the loop is not alive, so time does not jump. */
TEST(virtual_autojump_does_not_jump_for_unreferenced_timers) {
  tide_loop loop;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP));
  uint64_t t0 = tide_loop_now(&loop);
  tide_timer rep;
  ASSERT_OK(tide_timer_init(&loop, &rep));
  rep.handle.data = &log;
  ASSERT_OK(tide_timer_start(&rep, on_repeat, 400, 0));
  tide_handle_unref(&rep.handle);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0);
  ASSERT_U64_EQ(tide_loop_now(&loop), t0);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  tide_handle_close(&rep.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* The manual clock: a run returns instead of waiting; advancing makes exactly
 * what is due run, on the next run, never inside tide_loop_advance. */
TEST(virtual_manual_clock_moves_only_when_advanced) {
  tide_loop loop;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_VIRTUAL));
  uint64_t t0 = tide_loop_now(&loop);
  test_log_call a = {&log, 1}, b = {&log, 2};
  ASSERT_OK(tide_call_later(&loop, 100, log_call, &a, NULL));
  ASSERT_OK(tide_call_later(&loop, 250, log_call, &b, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1); /* returns: only timers left */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1);
  ASSERT_EQ(log.n, 0);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1); /* an embedder arms nothing */
  ASSERT_OK(tide_loop_advance(&loop, 99));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_EQ(log.n, 0);
  ASSERT_OK(tide_loop_advance(&loop, 1));
  ASSERT_EQ(log.n, 0); /* not inside advance */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 1);
  ASSERT_LOG(&log, 1);
  ASSERT_U64_EQ(tide_loop_now(&loop) - t0, 100);
  ASSERT_OK(tide_loop_advance(&loop, 1000)); /* past the second: it runs, once */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 1, 2);
  ASSERT_U64_EQ(tide_loop_now(&loop) - t0, 1100);
  CLOSE_LOOP(&loop);
}

TEST(virtual_clock_refuses_what_it_cannot_do) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(tide_loop_clock(&loop), TIDE_CLOCK_REAL);
  ASSERT_ERR(tide_loop_advance(&loop, 5), TIDE_ESTATE); /* the host's clock */
  ASSERT_ERR(tide_loop_set_clock(&loop, (tide_clock_mode)7), TIDE_EINVAL);
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_REAL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_VIRTUAL));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP));
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_VIRTUAL));
  ASSERT_ERR(tide_loop_set_clock(&loop, TIDE_CLOCK_REAL), TIDE_ESTATE);
  ASSERT_EQ(tide_loop_clock(&loop), TIDE_CLOCK_VIRTUAL);
  /* Saturates rather than wraps. */
  ASSERT_OK(tide_loop_advance(&loop, UINT64_MAX));
  ASSERT_OK(tide_loop_advance(&loop, 1));
  ASSERT_U64_EQ(tide_loop_now(&loop), UINT64_MAX);
  RUN_AND_CLOSE_LOOP(&loop);
}
