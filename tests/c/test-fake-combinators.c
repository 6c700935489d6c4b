/* test-fake-combinators.c (tide-tests-fake only): the combinators' deadlines at
 * exact virtual times: wait_for and wait timeouts, a result landing exactly at
 * the deadline (before or after it in the same tick), a child's cleanup time
 * after a timeout, timeout scopes over several awaits, rescheduled and nested
 * among other timers, and task groups finishing when their last child does. */
#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

static int now_ms(tide_loop *loop) { return (int)tide_loop_now(loop); }

/* A future completed by a timer: ud is the future. */
static void complete_timer_cb(tide_timer *timer) {
  ASSERT_OK(tide_future_set_int(timer->handle.data, 42));
}

static void complete_at(tide_loop *loop, tide_timer *timer, tide_future *f, uint64_t ms) {
  ASSERT_OK(tide_timer_init(loop, timer));
  timer->handle.data = f;
  ASSERT_OK(tide_timer_start(timer, complete_timer_cb, ms, 0));
}

/* Records the loop time at which a future completes. */
struct stamp {
  tide_loop *loop;
  int at;
};

static void stamp_cb(tide_future *f, void *ud) {
  struct stamp *st = ud;
  (void)f;
  st->at = now_ms(st->loop);
}

/* A child that sleeps, and when cancelled sleeps `cleanup_ms` more before it
 * ends cancelled. */
struct sleeper {
  int64_t ms;
  int64_t cleanup_ms;
  int fail;
  int rc;
  int rc2;
};

static int sleeper_main(tide_task *t, void *frame) {
  struct sleeper *s = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, (uint64_t)s->ms, s->rc);
  if (s->rc == TIDE_ECANCELED) {
    TIDE_SLEEP(t, (uint64_t)s->cleanup_ms, s->rc2); /* delivered: this sleep runs */
    TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  if (s->fail) TIDE_RETURN_ERROR(t, s->fail, "sleeper failed");
  TIDE_RETURN_INT(t, s->ms);
  TIDE_END(t);
}

TEST(fake_wait_for_times_out_at_the_deadline) {
  tide_loop loop;
  tide_future f, out;
  struct stamp at = {&loop, -1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, &f, 100, &out));
  ASSERT_OK(tide_future_add_done_callback(&out, stamp_cb, &at));
  ASSERT_EQ(tide_loop_next_timeout(&loop), 100);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(at.at, 100);
  ASSERT_ERR(tide_future_result(&out, NULL), TIDE_ETIMEDOUT);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  tide_future_release(&out);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(fake_wait_for_child_cleans_up_after_the_deadline) {
  tide_loop loop;
  tide_task *child;
  tide_future out;
  struct stamp at = {&loop, -1};
  struct sleeper init = {1000, 30, 0, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, sleeper_main, &init, sizeof init, &child));
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, tide_task_future(child), 100, &out));
  ASSERT_OK(tide_future_add_done_callback(&out, stamp_cb, &at));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(at.at, 130); /* the deadline at 100, then 30 ms of cleanup */
  ASSERT_ERR(tide_future_result(&out, NULL), TIDE_ETIMEDOUT);
  tide_future_release(&out);
  tide_task_release(child);
  CLOSE_LOOP(&loop);
}

TEST(fake_wait_for_result_exactly_at_the_deadline) {
  /* Same deadline, 100 ms. A timer started before wait_for fires first in
   * that tick: its result wins. One started after fires second: the deadline
   * has cancelled the future by then and the late result is refused. */
  for (int before = 1; before >= 0; before--) {
    tide_loop loop;
    tide_future f, out;
    tide_timer timer;
    ASSERT_OK(tide_loop_init(&loop, NULL));
    tide_future_init(&loop, &f);
    tide_future_init(&loop, &out);
    if (before) complete_at(&loop, &timer, &f, 100);
    ASSERT_OK(tide_wait_for(&loop, &f, 100, &out));
    if (!before) {
      ASSERT_OK(tide_timer_init(&loop, &timer));
      timer.handle.data = NULL; /* nothing to complete: it would be refused */
    }
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    ASSERT_EQ(now_ms(&loop), 100);
    if (before) {
      tide_value v;
      ASSERT_OK(tide_future_result(&out, &v));
      ASSERT_EQ(v.as.i, 42);
    } else {
      ASSERT_ERR(tide_future_result(&out, NULL), TIDE_ETIMEDOUT);
      ASSERT_ERR(tide_future_set_int(&f, 42), TIDE_EALREADY);
    }
    tide_handle_close(&timer.handle, NULL);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    tide_future_release(&out);
    tide_future_release(&f);
    CLOSE_LOOP(&loop);
  }
}

TEST(fake_wait_timeout_with_some_done) {
  tide_loop loop;
  tide_future f[3], out;
  tide_future *in[3] = {&f[0], &f[1], &f[2]};
  tide_timer timer;
  struct stamp at = {&loop, -1};
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) tide_future_init(&loop, &f[i]);
  tide_future_init(&loop, &out);
  complete_at(&loop, &timer, &f[1], 20);
  ASSERT_OK(tide_wait(&loop, in, 3, TIDE_WAIT_ALL_COMPLETED, 50, &out));
  ASSERT_OK(tide_future_add_done_callback(&out, stamp_cb, &at));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(at.at, 50);
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.i, 1);
  tide_future_release(&out);
  /* FIRST_COMPLETED does not wait for the timeout. */
  tide_future_init(&loop, &out);
  timer.handle.data = &f[2];
  ASSERT_OK(tide_timer_start(&timer, complete_timer_cb, 20, 0));
  ASSERT_OK(tide_wait(&loop, in, 3, TIDE_WAIT_FIRST_COMPLETED, 50, &out));
  ASSERT_OK(tide_future_add_done_callback(&out, stamp_cb, &at));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* f[1] was done already: out completes at once, with 1; the timer keeps
   * the loop until 70. */
  ASSERT_EQ(at.at, 50);
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.i, 1);
  ASSERT_EQ(now_ms(&loop), 70);
  tide_future_release(&out);
  tide_handle_close(&timer.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
}

/* --- timeout scopes ---------------------------------------------------------- */

struct scoped_sleeps {
  int64_t deadline;
  int64_t resched_at_second; /* >= 0: at the second sleep, move the deadline */
  tide_timeout scope;
  int i;
  int rc;
  int at[3];
  int end_at;
};

static int scoped_sleeps_main(tide_task *t, void *frame) {
  struct scoped_sleeps *s = frame;
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &s->scope, s->deadline);
  for (s->i = 0; s->i < 3; s->i++) {
    if (s->i == 1 && s->resched_at_second >= 0)
      ASSERT_OK(tide_timeout_reschedule(&s->scope, s->resched_at_second));
    TIDE_SLEEP(t, 40, s->rc);
    s->at[s->i] = now_ms(tide_task_loop(t));
    if (s->rc) break;
  }
  tide_task_timeout_end(t, &s->scope, &s->rc);
  s->end_at = now_ms(tide_task_loop(t));
  TIDE_END(t);
}

TEST(fake_timeout_scope_over_several_awaits) {
  tide_loop loop;
  tide_task *t;
  struct scoped_sleeps init;
  memset(&init, 0, sizeof init);
  init.deadline = 100;
  init.resched_at_second = -1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, scoped_sleeps_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct scoped_sleeps *s = tide_task_frame(t);
  ASSERT_EQ(s->at[0], 40);
  ASSERT_EQ(s->at[1], 80);
  ASSERT_EQ(s->at[2], 100); /* the third sleep was cut at the deadline */
  ASSERT_ERR(s->rc, TIDE_ETIMEDOUT);
  ASSERT_EQ(s->end_at, 100);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(fake_timeout_scope_rescheduled) {
  tide_loop loop;
  tide_task *t;
  struct scoped_sleeps init;
  memset(&init, 0, sizeof init);
  init.deadline = 50;
  init.resched_at_second = 100; /* at 40: the deadline moves to 140 */
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, scoped_sleeps_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct scoped_sleeps *s = tide_task_frame(t);
  ASSERT_EQ(s->at[2], 120);
  ASSERT_EQ(s->rc, 0);
  ASSERT_EQ(tide_timeout_expired(&s->scope), 0);
  ASSERT_EQ(now_ms(&loop), 120); /* the moved deadline was dropped at the end */
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* Nested scopes and a sleep share the task's one place in the timer heap, yet
 * each deadline fires in its own (deadline, start) turn among other timers. */
struct nested_scopes {
  tide_timeout outer, inner;
  tide_timer y;        /* started between the two scopes, due with them */
  int seen_by_x[2];    /* expired(outer), expired(inner) when timer x ran */
  int seen_by_y[2];
  int rc;
  int woke_at;
};

static void seen_cb(tide_timer *timer) {
  struct nested_scopes *n = timer->handle.data;
  int *seen = timer == &n->y ? n->seen_by_y : n->seen_by_x;
  seen[0] = tide_timeout_expired(&n->outer);
  seen[1] = tide_timeout_expired(&n->inner);
}

static int nested_scopes_main(tide_task *t, void *frame) {
  struct nested_scopes *n = frame;
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &n->outer, 10);
  ASSERT_OK(tide_timer_init(tide_task_loop(t), &n->y));
  n->y.handle.data = n;
  ASSERT_OK(tide_timer_start(&n->y, seen_cb, 10, 0));
  tide_task_timeout_begin(t, &n->inner, 10);
  TIDE_SLEEP(t, 50, n->rc); /* cut short by the outer scope */
  n->woke_at = now_ms(tide_task_loop(t));
  tide_task_timeout_end(t, &n->inner, &n->rc);
  ASSERT_ERR(n->rc, TIDE_ECANCELED); /* the outer scope's request is left */
  tide_task_timeout_end(t, &n->outer, &n->rc);
  tide_handle_close(&n->y.handle, NULL);
  TIDE_END(t);
}

TEST(fake_nested_scopes_fire_in_start_order_among_timers) {
  tide_loop loop;
  tide_timer x; /* started first: due first */
  tide_task *t;
  struct nested_scopes init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, nested_scopes_main, &init, sizeof init, &t));
  struct nested_scopes *n = tide_task_frame(t);
  ASSERT_OK(tide_timer_init(&loop, &x));
  x.handle.data = n;
  ASSERT_OK(tide_timer_start(&x, seen_cb, 10, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(n->seen_by_x[0], 0); /* x, outer, y, inner: their start order */
  ASSERT_EQ(n->seen_by_x[1], 0);
  ASSERT_EQ(n->seen_by_y[0], 1);
  ASSERT_EQ(n->seen_by_y[1], 0);
  ASSERT_EQ(n->woke_at, 10);
  ASSERT_ERR(n->rc, TIDE_ETIMEDOUT);
  ASSERT_EQ(tide_timeout_expired(&n->inner), 1);
  ASSERT_EQ(now_ms(&loop), 10); /* the cut sleep left nothing behind */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
  tide_task_release(t);
  tide_handle_close(&x.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- task groups -------------------------------------------------------------- */

struct group_timer {
  struct sleeper kids[3];
  tide_task_group g;
  tide_future out;
  int rc;
  int at;
};

static int group_timer_main(tide_task *t, void *frame) {
  struct group_timer *p = frame;
  TIDE_BEGIN(t);
  tide_task_group_init(tide_task_loop(t), &p->g);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(tide_task_group_spawn(&p->g, sleeper_main, &p->kids[i], sizeof p->kids[i], NULL));
  tide_future_init(tide_task_loop(t), &p->out);
  ASSERT_OK(tide_task_group_wait(&p->g, &p->out));
  TIDE_AWAIT(t, &p->out, p->rc);
  p->at = now_ms(tide_task_loop(t));
  tide_future_release(&p->out);
  tide_task_group_release(&p->g);
  TIDE_END(t);
}

TEST(fake_group_ends_with_its_last_child) {
  tide_loop loop;
  tide_task *t;
  struct group_timer init;
  memset(&init, 0, sizeof init);
  for (int i = 0; i < 3; i++) init.kids[i].ms = 10 * (i + 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, group_timer_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(((struct group_timer *)tide_task_frame(t))->at, 30);
  ASSERT_EQ(((struct group_timer *)tide_task_frame(t))->rc, 0);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(fake_group_failure_ends_it_early_after_cleanup) {
  tide_loop loop;
  tide_task *t;
  struct group_timer init;
  memset(&init, 0, sizeof init);
  init.kids[0].ms = 1000;
  init.kids[0].cleanup_ms = 5;
  init.kids[1].ms = 15;
  init.kids[1].fail = TIDE_EIO;
  init.kids[2].ms = 2000;
  init.kids[2].cleanup_ms = 7;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, group_timer_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct group_timer *p = tide_task_frame(t);
  ASSERT_EQ(p->at, 22); /* failure at 15, the slowest cleanup 7 ms */
  ASSERT_ERR(p->rc, TIDE_EIO);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}
