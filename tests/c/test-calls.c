/* test-calls.c: call_later/call_at/cancel and the (deadline, start order) rule
 * for one-shot calls and timers; ordering only, so valid on every clock. */
#include <stdlib.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

static void count_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (*(int *)ud)++;
}

static void never_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (void)ud;
  test__fail(__FILE__, __LINE__, "a cancelled call ran");
}

TEST(call_cancel_before_run) {
  tide_loop loop;
  tide_call soon, later, at;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, never_cb, NULL, &soon));
  ASSERT_OK(tide_call_later(&loop, 1, never_cb, NULL, &later));
  ASSERT_OK(tide_call_at(&loop, 0, never_cb, NULL, &at));
  ASSERT_OK(tide_call_cancel(&loop, soon));
  ASSERT_OK(tide_call_cancel(&loop, later));
  ASSERT_OK(tide_call_cancel(&loop, at));
  /* A second cancel is refused: it already will not run. */
  ASSERT_ERR(tide_call_cancel(&loop, soon), TIDE_EALREADY);
  ASSERT_ERR(tide_call_cancel(&loop, later), TIDE_EALREADY);
  ASSERT_ERR(tide_call_cancel(&loop, at), TIDE_EALREADY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(call_cancel_after_run_is_ealready) {
  tide_loop loop;
  tide_call soon, later;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, &soon));
  ASSERT_OK(tide_call_later(&loop, 1, count_cb, &n, &later));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 2);
  ASSERT_ERR(tide_call_cancel(&loop, soon), TIDE_EALREADY);
  ASSERT_ERR(tide_call_cancel(&loop, later), TIDE_EALREADY);
  CLOSE_LOOP(&loop);
}

TEST(call_stale_handle_does_not_cancel_reused_record) {
  /* The record behind a finished call is pooled and reused; the old handle must
   * not cancel the new call (the generation tells them apart). */
  tide_loop loop;
  tide_call old, fresh;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, count_cb, &n, &old));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 4; i++)
    ASSERT_OK(tide_call_soon(&loop, count_cb, &n, &fresh));
  ASSERT_ERR(tide_call_cancel(&loop, old), TIDE_EALREADY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 5);
  /* Cancelled then reused, too. */
  ASSERT_OK(tide_call_soon(&loop, never_cb, NULL, &old));
  ASSERT_OK(tide_call_cancel(&loop, old));
  for (int i = 0; i < 4; i++)
    ASSERT_OK(tide_call_soon(&loop, count_cb, &n, NULL));
  ASSERT_ERR(tide_call_cancel(&loop, old), TIDE_EALREADY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n, 9);
  CLOSE_LOOP(&loop);
}

typedef struct cancel_other {
  tide_call victim;
  int cancel_rc;
} cancel_other;

static void cancel_other_cb(tide_loop *loop, void *ud) {
  cancel_other *c = ud;
  c->cancel_rc = tide_call_cancel(loop, c->victim);
}

TEST(call_cancel_from_callback_same_tick) {
  /* Cancelling a call that is already in the current tick's snapshot still
   * prevents it from running. */
  tide_loop loop;
  cancel_other c = {{0}, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, cancel_other_cb, &c, NULL));
  ASSERT_OK(tide_call_soon(&loop, never_cb, NULL, &c.victim));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.cancel_rc, 0);
  CLOSE_LOOP(&loop);
}

TEST(call_cancel_due_timer_from_callback) {
  /* Two calls due in the same iteration: the first cancels the second. */
  tide_loop loop;
  cancel_other c = {{0}, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_later(&loop, 5, cancel_other_cb, &c, NULL));
  ASSERT_OK(tide_call_later(&loop, 5, never_cb, NULL, &c.victim));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.cancel_rc, 0);
  CLOSE_LOOP(&loop);
}

TEST(call_at_in_the_past_runs_now) {
  tide_loop loop;
  int n = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_update_time(&loop);
  uint64_t now = tide_loop_now(&loop);
  ASSERT_OK(tide_call_at(&loop, 0, count_cb, &n, NULL));
  if (now > 0)
    ASSERT_OK(tide_call_at(&loop, now - 1, count_cb, &n, NULL));
  else
    ASSERT_OK(tide_call_at(&loop, 0, count_cb, &n, NULL));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(n, 2);
  CLOSE_LOOP(&loop);
}

TEST(call_later_order_by_deadline_then_start_order) {
  tide_loop loop;
  test_log log = {0};
  static const uint64_t delays[] = {30, 10, 20, 10, 0, 10, 30, 0};
  test_log_call c[TEST_ARRAY_SIZE(delays)];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (size_t i = 0; i < TEST_ARRAY_SIZE(delays); i++) {
    c[i].log = &log;
    c[i].item = (int)i;
    ASSERT_OK(tide_call_later(&loop, delays[i], test_log_call_fn, &c[i], NULL));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 4, 7, 1, 3, 5, 2, 0, 6);
  CLOSE_LOOP(&loop);
}

TEST(call_soon_runs_before_due_call_later_scheduled_after) {
  /* call_soon work queued before the run goes first, then the due timers. */
  tide_loop loop;
  test_log log = {0};
  test_log_call a = {&log, 1}, b = {&log, 2}, c = {&log, 3};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_call_soon(&loop, test_log_call_fn, &a, NULL));
  ASSERT_OK(tide_call_later(&loop, 0, test_log_call_fn, &b, NULL));
  ASSERT_OK(tide_call_soon(&loop, test_log_call_fn, &c, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* The iteration moves due timers to the ready queue after what is queued. */
  ASSERT_LOG(&log, 1, 3, 2);
  CLOSE_LOOP(&loop);
}

typedef struct order_item {
  test_log *log;
  int item;
} order_item;

static void order_timer_cb(tide_timer *timer) {
  order_item *o = timer->handle.data;
  test_log_push(o->log, o->item);
}

TEST(timers_and_calls_share_start_order) {
  /* Timers and call_later calls with equal deadlines fire in the order they
   * were started, whichever API started them. */
  tide_loop loop;
  test_log log = {0};
  tide_timer t[3];
  order_item oi[3];
  test_log_call c[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(tide_timer_init(&loop, &t[i]));
    oi[i].log = &log;
    oi[i].item = 2 * i;
    t[i].handle.data = &oi[i];
    c[i].log = &log;
    c[i].item = 2 * i + 1;
  }
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(tide_timer_start(&t[i], order_timer_cb, 7, 0));
    ASSERT_OK(tide_call_later(&loop, 7, test_log_call_fn, &c[i], NULL));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 0, 1, 2, 3, 4, 5);
  for (int i = 0; i < 3; i++)
    tide_handle_close(&t[i].handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_restart_takes_new_start_order) {
  /* Restarting a timer gives it a new sequence number: it now fires after the
   * others with the same deadline. */
  tide_loop loop;
  test_log log = {0};
  tide_timer t[3];
  order_item oi[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(tide_timer_init(&loop, &t[i]));
    oi[i].log = &log;
    oi[i].item = i;
    t[i].handle.data = &oi[i];
    ASSERT_OK(tide_timer_start(&t[i], order_timer_cb, 5, 0));
  }
  ASSERT_OK(tide_timer_start(&t[0], order_timer_cb, 5, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 1, 2, 0);
  for (int i = 0; i < 3; i++)
    tide_handle_close(&t[i].handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* Many calls with random short delays: fired in (deadline, start) order, and
 * the pool of call records returns every block at close. */
typedef struct rand_call {
  struct rand_ctx *ctx;
  uint64_t deadline;
  int index;
} rand_call;

typedef struct rand_ctx {
  uint64_t last_deadline;
  int last_index;
  int fired;
} rand_ctx;

static void rand_call_cb(tide_loop *loop, void *ud) {
  rand_call *c = ud;
  rand_ctx *x = c->ctx;
  ASSERT_GE(tide_loop_now(loop), c->deadline);
  if (x->fired > 0) {
    ASSERT_GE(c->deadline, x->last_deadline);
    if (c->deadline == x->last_deadline) ASSERT_GT(c->index, x->last_index);
  }
  x->last_deadline = c->deadline;
  x->last_index = c->index;
  x->fired++;
}

TEST(call_later_random_deadlines_in_order) {
  enum { N = 20000 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  rand_ctx x = {0, 0, 0};
  rand_call *calls = malloc(N * sizeof *calls);
  test_rng rng;
  ASSERT_NOT_NULL(calls);
  test_rng_seed(&rng, 42);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint64_t now = tide_loop_now(&loop);
  for (int i = 0; i < N; i++) {
    uint64_t delay = test_rng_below(&rng, 25);
    calls[i].ctx = &x;
    calls[i].deadline = now + delay;
    calls[i].index = i;
    ASSERT_OK(tide_call_later(&loop, delay, rand_call_cb, &calls[i], NULL));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(x.fired, N);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  free(calls);
}
