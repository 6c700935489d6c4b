/* test-cancel-bugs.c: asyncio's cancellation bug classes, replayed as tideloop
 * scenarios. Each must end with the outer cancellation delivered (the task ends
 * CANCELLED) and, where a result won a race, with that result seen as well:
 *
 * - wait_for: result and cancellation in the same iteration (bpo-37658), an
 *   inner that handles its cancellation (bpo-42130), the inner completing
 *   exactly at the timeout, the timeout and an outer cancel together;
 * - task groups: a child failing while the parent is cancelled (3.11's
 *   swallowed cancellation), the group's own request and an outer one together,
 *   nested groups failing at once (3.13's hang);
 * - cancel counts: two cancels and one uncancel leave the task cancelling;
 * - timeout scopes with an outer cancellation at the same time;
 * - awaiting a combinator with a cancellation already pending.
 * Ordering only: deadlines are 0 (next tick) or an hour (never). */
#include "alloc.h"
#include "test.h"
#include "util.h"

#define HOUR_MS (3600 * 1000)

static void cancel_task_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_OK(tide_task_cancel(ud));
}

static void cancel_task_done_cb(tide_future *f, void *ud) {
  (void)f;
  ASSERT_OK(tide_task_cancel(ud));
}

static void set_int_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_OK(tide_future_set_int(ud, 42));
}

static int64_t int_of(tide_future *f) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  return v.as.i;
}

/* --- a child that sleeps or yields, and on cancellation may clean up, cancel
 * someone, withdraw the cancellation and return a value, or fail ----------- */

struct child {
  test_log *log;
  int id;
  int64_t sleep_ms;  /* else yield `steps` times */
  int steps;
  int fail;          /* fail after the steps (or on cancellation) */
  int cleanup;       /* yields after seeing TIDE_ECANCELED */
  int swallow;       /* then uncancel and return 100 */
  tide_task **cancel_in_cleanup; /* cancel *this after the first cleanup yield */
  tide_task **cancel_before_fail; /* cancel *this right before failing */
  tide_task_group *group;        /* run an inner group of grandchildren ... */
  struct child *grandkids;       /* ... of these */
  int ngrandkids;
  tide_task_group g;
  tide_future out;
  int rc;
  int i;
};

static int child_main(tide_task *t, void *frame) {
  struct child *c = frame;
  TIDE_BEGIN(t);
  test_log_push(c->log, c->id * 10 + 1);
  c->rc = 0;
  if (c->ngrandkids > 0) {
    /* An inner group: wait for the grandchildren, pass their outcome on. */
    tide_task_group_init(tide_task_loop(t), &c->g);
    for (c->i = 0; c->i < c->ngrandkids; c->i++)
      ASSERT_OK(tide_task_group_spawn(&c->g, child_main, &c->grandkids[c->i],
                                      sizeof c->grandkids[c->i], NULL));
    tide_future_init(tide_task_loop(t), &c->out);
    ASSERT_OK(tide_task_group_wait(&c->g, &c->out));
    TIDE_AWAIT(t, &c->out, c->rc);
    tide_future_release(&c->out);
    tide_task_group_release(&c->g);
    test_log_push(c->log, c->id * 10 + 6);
    if (c->rc) TIDE_RETURN_ERROR(t, c->rc, "inner group");
    TIDE_RETURN_INT(t, c->id * 100);
  }
  if (c->sleep_ms > 0) {
    TIDE_SLEEP(t, (uint64_t)c->sleep_ms, c->rc);
  } else {
    for (c->i = 0; c->i < c->steps && c->rc == 0; c->i++) TIDE_YIELD(t, c->rc);
  }
  if (c->rc == TIDE_ECANCELED) {
    test_log_push(c->log, c->id * 10 + 4);
    for (c->i = 0; c->i < c->cleanup; c->i++) {
      TIDE_YIELD(t, c->rc);
      if (c->i == 0 && c->cancel_in_cleanup != NULL)
        ASSERT_OK(tide_task_cancel(*c->cancel_in_cleanup));
    }
    test_log_push(c->log, c->id * 10 + 5);
    if (c->swallow) {
      tide_task_uncancel(t);
      TIDE_RETURN_INT(t, 100);
    }
    if (c->fail) TIDE_RETURN_ERROR(t, c->fail, "failed in cleanup");
    TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  if (c->fail) {
    test_log_push(c->log, c->id * 10 + 3);
    if (c->cancel_before_fail != NULL) ASSERT_OK(tide_task_cancel(*c->cancel_before_fail));
    TIDE_RETURN_ERROR(t, c->fail, "child failed");
  }
  test_log_push(c->log, c->id * 10 + 2);
  TIDE_RETURN_INT(t, c->id * 100);
  TIDE_END(t);
}

static struct child child_init(test_log *log, int id) {
  struct child c;
  memset(&c, 0, sizeof c);
  c.log = log;
  c.id = id;
  return c;
}

/* ============================== wait_for =================================== */

/* Awaits wait_for(fut) and then yields: rc1 is what wait_for gave, rc2 whether
 * a cancellation was still pending after it. */
struct waiter {
  test_log *log;
  tide_future *fut;
  int64_t timeout;
  tide_task *child;          /* wait for this child instead of fut */
  struct child child_init;
  int spawn_child;
  int soon_complete;         /* call_soon(set fut 42) right before wait_for */
  int later_cancel_self;     /* call_later(0, cancel me) right after wait_for */
  tide_future out;
  int rc1;
  int64_t got;
  int rc2;
};

static int waiter_main(tide_task *t, void *frame) {
  struct waiter *w = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  if (w->spawn_child) {
    ASSERT_OK(tide_task_spawn(loop, child_main, &w->child_init, sizeof w->child_init,
                              &w->child));
    w->fut = tide_task_future(w->child);
  }
  if (w->soon_complete) ASSERT_OK(tide_call_soon(loop, set_int_cb, w->fut, NULL));
  tide_future_init(loop, &w->out);
  ASSERT_OK(tide_wait_for(loop, w->fut, w->timeout, &w->out));
  if (w->later_cancel_self) ASSERT_OK(tide_call_later(loop, 0, cancel_task_cb, t, NULL));
  test_log_push(w->log, 900);
  TIDE_AWAIT(t, &w->out, w->rc1);
  test_log_push(w->log, 901);
  if (w->rc1 == 0) w->got = int_of(&w->out);
  tide_future_release(&w->out);
  TIDE_YIELD(t, w->rc2);
  if (w->rc2) TIDE_RETURN_ERROR(t, w->rc2, NULL);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

static struct waiter waiter_init(test_log *log, tide_future *fut, int64_t timeout) {
  struct waiter w;
  memset(&w, 0, sizeof w);
  w.log = log;
  w.fut = fut;
  w.timeout = timeout;
  w.rc1 = w.rc2 = -99;
  return w;
}

TEST(bug_wait_for_result_and_cancel_same_iteration) {
  /* bpo-37658: the inner future got its result and the waiting task was
   * cancelled before it resumed. asyncio lost the result (or, after the first
   * fix, the cancellation). Here the task sees the result, then the
   * cancellation at its next await. */
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  struct waiter init = waiter_init(&log, &fut, HOUR_MS);
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* waiting; deadline pending */
  ASSERT_OK(tide_future_set_int(&fut, 42));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour */
  struct waiter *w = tide_task_frame(t);
  ASSERT_EQ(w->rc1, 0);
  ASSERT_EQ(w->got, 42);               /* the result is not lost */
  ASSERT_ERR(w->rc2, TIDE_ECANCELED);  /* nor the cancellation */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(bug_wait_for_cancel_then_result_same_iteration) {
  /* The other order: the cancellation reaches the future first; the result
   * then cannot land (the producer is told), and the task ends cancelled. */
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  struct waiter init = waiter_init(&log, &fut, HOUR_MS);
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_ERR(tide_future_set_int(&fut, 42), TIDE_EALREADY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct waiter *w = tide_task_frame(t);
  ASSERT_ERR(w->rc1, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(&fut), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(bug_wait_for_inner_completes_exactly_at_timeout) {
  /* The inner future completes in the same iteration as the deadline, just
   * before it: the result wins, and nothing is left cancelled. */
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  struct waiter init = waiter_init(&log, &fut, 0);
  init.soon_complete = 1;
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct waiter *w = tide_task_frame(t);
  ASSERT_EQ(w->rc1, 0);
  ASSERT_EQ(w->got, 42);
  ASSERT_EQ(w->rc2, 0);
  ASSERT_EQ(tide_future_state_get(&fut), TIDE_FUTURE_RESULT); /* never cancelled */
  ASSERT_EQ(int_of(tide_task_future(t)), 1);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(bug_wait_for_inner_task_finishes_at_timeout) {
  /* The same with a task: its last step runs in the deadline's tick, first. */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct waiter init = waiter_init(&log, NULL, 0);
  init.spawn_child = 1;
  init.child_init = child_init(&log, 1);
  init.child_init.steps = 0; /* returns at its first step, in the next tick */
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct waiter *w = tide_task_frame(t);
  ASSERT_EQ(w->rc1, 0);
  ASSERT_EQ(w->got, 100);
  ASSERT_EQ(tide_task_cancelling(w->child), 0);
  tide_task_release(w->child);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_wait_for_timeout_and_outer_cancel_same_iteration) {
  /* The deadline cancels the inner task; while it cleans up, in the same
   * iteration, the waiting task is cancelled: that is a cancellation, never
   * converted into a timeout (asyncio gh-86296 class). */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct waiter init = waiter_init(&log, NULL, 0);
  init.spawn_child = 1;
  init.later_cancel_self = 1; /* due in the deadline's tick, right after it */
  init.child_init = child_init(&log, 1);
  init.child_init.sleep_ms = HOUR_MS;
  init.child_init.cleanup = 2;
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct waiter *w = tide_task_frame(t);
  ASSERT_ERR(w->rc1, TIDE_ECANCELED);
  ASSERT_LOG(&log, 900, 11, 14, 15, 901); /* resumed after the child's cleanup */
  ASSERT_EQ(tide_future_state_get(tide_task_future(w->child)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(w->child);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_wait_for_inner_swallows_cancel_outer_still_cancelled) {
  /* bpo-42130: the inner task handles the cancellation and returns a value;
   * asyncio's wait_for returned it and the outer cancellation was gone. */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct waiter init = waiter_init(&log, NULL, HOUR_MS);
  init.spawn_child = 1;
  init.child_init = child_init(&log, 1);
  init.child_init.sleep_ms = HOUR_MS;
  init.child_init.cleanup = 1;
  init.child_init.swallow = 1;
  ASSERT_OK(tide_task_spawn(&loop, waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct waiter *w = tide_task_frame(t);
  ASSERT_ERR(w->rc1, TIDE_ECANCELED);
  ASSERT_EQ(int_of(tide_task_future(w->child)), 100); /* readable from the child */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(w->child);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* =========================== gather, shield ================================ */

struct gatherer {
  tide_future *in[2];
  tide_task *kid[2];
  struct child kids[2];
  int self_cancel_first; /* let them start, then cancel itself before awaiting */
  tide_future out;
  int rc;
  int rc2;
};

static int gatherer_main(tide_task *t, void *frame) {
  struct gatherer *g = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (int i = 0; i < 2; i++) {
    ASSERT_OK(tide_task_spawn(loop, child_main, &g->kids[i], sizeof g->kids[i], &g->kid[i]));
    g->in[i] = tide_task_future(g->kid[i]);
  }
  if (g->self_cancel_first) {
    TIDE_YIELD(t, g->rc); /* the children start */
    ASSERT_OK(tide_task_cancel(t));
  }
  tide_future_init(loop, &g->out);
  ASSERT_OK(tide_gather(loop, g->in, 2, 0, &g->out));
  TIDE_AWAIT(t, &g->out, g->rc);
  test_log_push(g->kids[0].log, 901);
  tide_future_release(&g->out);
  TIDE_YIELD(t, g->rc2);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

TEST(bug_gather_child_swallows_cancel_outer_still_cancelled) {
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  struct gatherer init;
  memset(&init, 0, sizeof init);
  for (int i = 0; i < 2; i++) {
    init.kids[i] = child_init(&log, i + 1);
    init.kids[i].sleep_ms = HOUR_MS;
    init.kids[i].cleanup = 1;
  }
  init.kids[0].swallow = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, gatherer_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gatherer *g = tide_task_frame(t);
  ASSERT_ERR(g->rc, TIDE_ECANCELED);
  ASSERT_LOG(&log, 11, 21, 14, 24, 15, 25, 901);
  ASSERT_EQ(int_of(g->in[0]), 100);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  for (int i = 0; i < 2; i++) tide_task_release(g->kid[i]);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_await_gather_with_cancel_pending_waits_for_children) {
  /* The task is cancelled before it awaits: the await passes the request to
   * gather, which cancels the children, and resumes after their cleanup. */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  struct gatherer init;
  memset(&init, 0, sizeof init);
  for (int i = 0; i < 2; i++) {
    init.kids[i] = child_init(&log, i + 1);
    init.kids[i].sleep_ms = HOUR_MS;
    init.kids[i].cleanup = 2;
  }
  init.self_cancel_first = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, gatherer_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gatherer *g = tide_task_frame(t);
  ASSERT_ERR(g->rc, TIDE_ECANCELED);
  ASSERT_LOG(&log, 11, 21, 14, 24, 15, 25, 901); /* resumed after the cleanup */
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(tide_future_state_get(g->in[i]), TIDE_FUTURE_CANCELLED);
    tide_task_release(g->kid[i]);
  }
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* ============================= task groups ================================= */

struct gparent {
  test_log *log;
  struct child kids[3];
  int nkids;
  int64_t body_sleep;
  int self_cancel_first;
  int outer_cancel_on_kid0_done; /* a done callback on child 0 cancels the parent */
  tide_task_group g;
  tide_future out;
  int body_rc;
  int rc;
  int rc2;
  size_t errors;
  int first_code;
  int cancelling_at_end;
};

static int gparent_main(tide_task *t, void *frame) {
  struct gparent *p = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_task_group_init(loop, &p->g);
  for (int i = 0; i < p->nkids; i++) {
    tide_task *kid;
    ASSERT_OK(tide_task_group_spawn(&p->g, child_main, &p->kids[i], sizeof p->kids[i], &kid));
    if (i == 0 && p->outer_cancel_on_kid0_done) /* runs right after the group's waiter */
      ASSERT_OK(tide_future_add_done_callback(tide_task_future(kid), cancel_task_done_cb, t));
  }
  if (p->self_cancel_first) {
    TIDE_YIELD(t, p->rc); /* the children start */
    ASSERT_OK(tide_task_cancel(t));
  }
  p->body_rc = 0;
  if (p->body_sleep > 0) TIDE_SLEEP(t, (uint64_t)p->body_sleep, p->body_rc);
  tide_future_init(loop, &p->out);
  ASSERT_OK(tide_task_group_wait(&p->g, &p->out));
  TIDE_AWAIT(t, &p->out, p->rc);
  test_log_push(p->log, 901);
  tide_future_release(&p->out);
  p->errors = tide_task_group_error_count(&p->g);
  if (p->errors > 0) ASSERT_OK(tide_task_group_error(&p->g, 0, &p->first_code, NULL, NULL));
  tide_task_group_release(&p->g);
  p->cancelling_at_end = tide_task_cancelling(t);
  TIDE_YIELD(t, p->rc2);
  if (p->rc) TIDE_RETURN_ERROR(t, p->rc, NULL);
  TIDE_RETURN_INT(t, 1); /* ends CANCELLED anyway if a cancellation is left */
  TIDE_END(t);
}

static struct gparent gparent_init(test_log *log) {
  struct gparent p;
  memset(&p, 0, sizeof p);
  p.log = log;
  p.rc = p.rc2 = p.body_rc = -99;
  return p;
}

TEST(bug_group_child_fails_then_parent_cancelled_while_waiting) {
  /* asyncio 3.11: a child failed, the group cancelled the parent itself, and
   * at the end uncancel() ate the real cancellation that came meanwhile. */
  tide_loop loop;
  tide_task *t = NULL;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  struct gparent init = gparent_init(&log);
  init.nkids = 2;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].steps = 1;
  init.kids[0].fail = TIDE_EIO;
  init.kids[1] = child_init(&log, 2);
  init.kids[1].sleep_ms = HOUR_MS;
  init.kids[1].cleanup = 3;
  init.kids[1].cancel_in_cleanup = &t; /* the parent is cancelled meanwhile */
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_LOG(&log, 11, 21, 13, 24, 25, 901);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);        /* not the child's error */
  ASSERT_EQ(p->errors, 1);                  /* which stays readable */
  ASSERT_ERR(p->first_code, TIDE_EIO);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(bug_group_child_fails_and_parent_cancelled_same_step) {
  /* The child cancels the parent and fails in one step: both land before the
   * group hears of the failure. */
  tide_loop loop;
  tide_task *t = NULL;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct gparent init = gparent_init(&log);
  init.nkids = 2;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].steps = 1;
  init.kids[0].fail = TIDE_EIO;
  init.kids[0].cancel_before_fail = &t;
  init.kids[1] = child_init(&log, 2);
  init.kids[1].sleep_ms = HOUR_MS;
  init.kids[1].cleanup = 1;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_EQ(p->errors, 1);
  ASSERT_LOG(&log, 11, 21, 13, 24, 25, 901);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_group_own_and_outer_cancel_of_parent_body) {
  /* asyncio 3.11: the parent's body is cancelled twice before it resumes: by
   * the group because a child failed, then for real (a done callback of that
   * child, right after the group's waiter). Withdrawing the group's own
   * request at the wait must leave the real one. */
  tide_loop loop;
  tide_task *t = NULL;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct gparent init = gparent_init(&log);
  init.nkids = 1;
  init.body_sleep = HOUR_MS;
  init.outer_cancel_on_kid0_done = 1;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].steps = 1;
  init.kids[0].fail = TIDE_EIO;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->body_rc, TIDE_ECANCELED);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_EQ(p->cancelling_at_end, 1); /* the real one, the group's withdrawn */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_group_group_cancel_then_outer_cancel_of_parent_body) {
  /* The other order: the group cancels the body for a failure, then a sibling
   * cleaning up cancels the parent for real. */
  tide_loop loop;
  tide_task *t = NULL;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct gparent init = gparent_init(&log);
  init.nkids = 2;
  init.body_sleep = HOUR_MS;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].steps = 1;
  init.kids[0].fail = TIDE_EIO;
  init.kids[1] = child_init(&log, 2);
  init.kids[1].sleep_ms = HOUR_MS;
  init.kids[1].cleanup = 2;
  init.kids[1].cancel_in_cleanup = &t;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->body_rc, TIDE_ECANCELED);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_EQ(p->errors, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_group_parent_cancelled_in_body_children_fail_later) {
  /* The parent's body is cancelled before it reaches the wait; its children
   * fail as they are cancelled. The wait still waits for them, and the
   * parent's cancellation is what it ends with. */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  struct gparent init = gparent_init(&log);
  init.nkids = 1;
  init.body_sleep = HOUR_MS;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].sleep_ms = HOUR_MS;
  init.kids[0].cleanup = 2;
  init.kids[0].fail = TIDE_EIO; /* fails in its cleanup */
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->body_rc, TIDE_ECANCELED);
  ASSERT_LOG(&log, 11, 14, 15, 901); /* the wait outlived the child's cleanup */
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_EQ(p->errors, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0); /* read through tide_task_group_error */
  CLOSE_LOOP(&loop);
}

TEST(bug_await_group_with_cancel_pending_waits_for_children) {
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct gparent init = gparent_init(&log);
  init.nkids = 1;
  init.self_cancel_first = 1; /* then straight to the wait */
  init.kids[0] = child_init(&log, 1);
  init.kids[0].sleep_ms = HOUR_MS;
  init.kids[0].cleanup = 2;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_LOG(&log, 11, 14, 15, 901); /* resumed after the child's cleanup */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_nested_groups_fail_at_once) {
  /* asyncio 3.13's fix: an inner and an outer group each see a child fail in
   * the same iteration; the inner swallowed the outer's cancellation and the
   * outer hung. Here: no hang, the outer's error, nothing lost. */
  tide_loop loop;
  tide_task *t;
  test_log log = {0};
  test_errors errs;
  struct child grandkids[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  grandkids[0] = child_init(&log, 5);
  grandkids[0].steps = 1;
  grandkids[0].fail = TIDE_EPIPE;
  grandkids[1] = child_init(&log, 6);
  grandkids[1].sleep_ms = HOUR_MS;
  struct gparent init = gparent_init(&log);
  init.nkids = 2;
  init.kids[0] = child_init(&log, 1); /* runs the inner group */
  init.kids[0].grandkids = grandkids;
  init.kids[0].ngrandkids = 2;
  init.kids[1] = child_init(&log, 2);
  init.kids[1].steps = 2; /* fails in the grandchild's tick */
  init.kids[1].fail = TIDE_EIO;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* returns: no hang */
  struct gparent *p = tide_task_frame(t);
  ASSERT_LOG(&log, 11, 21, 51, 61, 53, 23, 64, 65, 16, 901);
  ASSERT_ERR(p->rc, TIDE_EIO);
  ASSERT_EQ(p->errors, 1); /* child 1 ended cancelled: not a failure */
  ASSERT_EQ(p->cancelling_at_end, 0);
  tide_future_result(tide_task_future(t), NULL);
  tide_task_release(t);
  /* The grandchild's error reached nobody through the cancelled inner wait: it
   * was reported when the inner group was released. */
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EPIPE);
  CLOSE_LOOP(&loop);
}

TEST(bug_nested_groups_fail_at_once_with_outer_cancel) {
  tide_loop loop;
  tide_task *t = NULL;
  test_log log = {0};
  test_errors errs;
  struct child grandkids[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  grandkids[0] = child_init(&log, 5);
  grandkids[0].steps = 1;
  grandkids[0].fail = TIDE_EPIPE;
  grandkids[0].cancel_before_fail = &t; /* the top task is cancelled for real */
  grandkids[1] = child_init(&log, 6);
  grandkids[1].sleep_ms = HOUR_MS;
  struct gparent init = gparent_init(&log);
  init.nkids = 2;
  init.kids[0] = child_init(&log, 1);
  init.kids[0].grandkids = grandkids;
  init.kids[0].ngrandkids = 2;
  init.kids[1] = child_init(&log, 2);
  init.kids[1].steps = 2;
  init.kids[1].fail = TIDE_EIO;
  ASSERT_OK(tide_task_spawn(&loop, gparent_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct gparent *p = tide_task_frame(t);
  ASSERT_ERR(p->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* ============================ cancel counts ================================= */

struct counted {
  int uncancels;       /* how many times to uncancel after seeing ECANCELED */
  int rc;
  int left[2];
  int cancelling_after;
  int rc2;
};

static int counted_main(tide_task *t, void *frame) {
  struct counted *c = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, HOUR_MS, c->rc);
  for (int i = 0; i < c->uncancels; i++) c->left[i] = tide_task_uncancel(t);
  c->cancelling_after = tide_task_cancelling(t);
  TIDE_YIELD(t, c->rc2);
  TIDE_RETURN_INT(t, 5);
  TIDE_END(t);
}

TEST(bug_cancel_count_two_cancels_one_uncancel_still_cancelled) {
  tide_loop loop;
  tide_task *t;
  struct counted init = {1, -99, {-99, -99}, -99, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, counted_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_task_cancelling(t), 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct counted *c = tide_task_frame(t);
  ASSERT_ERR(c->rc, TIDE_ECANCELED);
  ASSERT_EQ(c->left[0], 1);
  ASSERT_EQ(c->cancelling_after, 1);
  /* It returned 5, but one request is left: it ends cancelled. */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_cancel_count_two_cancels_two_uncancels_ends_normally) {
  tide_loop loop;
  tide_task *t;
  struct counted init = {2, -99, {-99, -99}, -99, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, counted_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct counted *c = tide_task_frame(t);
  ASSERT_EQ(c->left[0], 1);
  ASSERT_EQ(c->left[1], 0);
  ASSERT_EQ(c->cancelling_after, 0);
  ASSERT_EQ(c->rc2, 0);
  ASSERT_EQ(int_of(tide_task_future(t)), 5);
  ASSERT_EQ(tide_task_uncancel(t), 0); /* nothing left to withdraw */
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(bug_cancel_count_uncancel_before_delivery_keeps_the_other) {
  /* Two requests pending, one withdrawn before the task resumes: the other is
   * still delivered. */
  tide_loop loop;
  tide_task *t;
  struct counted init = {0, -99, {-99, -99}, -99, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, counted_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_task_uncancel(t), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct counted *c = tide_task_frame(t);
  ASSERT_ERR(c->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* ============================ timeout scopes =============================== */

struct scoped {
  tide_future *gate;
  int outer_cancel;   /* 1: call_later(0) before the scope; 2: after it;
                         3: call_soon while cleaning up inside the scope */
  int in_cleanup;     /* the scope starts after a cancellation was delivered */
  tide_timeout scope;
  int pre_rc;
  int rc;
  int cleanup_rc;
  int end_rc;
  int cancelling_after;
  int rc2;
};

static int scoped_main(tide_task *t, void *frame) {
  struct scoped *s = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  if (s->in_cleanup) {
    ASSERT_OK(tide_task_cancel(t));
    TIDE_YIELD(t, s->pre_rc); /* delivered here: the task is now cleaning up */
  }
  if (s->outer_cancel == 1) ASSERT_OK(tide_call_later(loop, 0, cancel_task_cb, t, NULL));
  tide_task_timeout_begin(t, &s->scope, 0);
  if (s->outer_cancel == 2) ASSERT_OK(tide_call_later(loop, 0, cancel_task_cb, t, NULL));
  TIDE_AWAIT(t, s->gate, s->rc);
  s->end_rc = s->rc;
  if (s->outer_cancel == 3) {
    ASSERT_OK(tide_call_soon(loop, cancel_task_cb, t, NULL));
    TIDE_YIELD(t, s->cleanup_rc); /* cleanup inside the scope, cancelled again */
    if (s->cleanup_rc) s->end_rc = s->cleanup_rc;
  }
  tide_task_timeout_end(t, &s->scope, &s->end_rc);
  s->cancelling_after = tide_task_cancelling(t);
  TIDE_YIELD(t, s->rc2);
  if (s->end_rc == TIDE_ECANCELED) TIDE_RETURN_ERROR(t, s->end_rc, NULL);
  TIDE_RETURN_INT(t, 1); /* ends CANCELLED anyway if a cancellation is left */
  TIDE_END(t);
}

static tide_task *run_scoped(tide_loop *loop, tide_future *gate, int outer_cancel,
                             int in_cleanup) {
  struct scoped init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.gate = gate;
  init.outer_cancel = outer_cancel;
  init.in_cleanup = in_cleanup;
  init.pre_rc = init.rc = init.cleanup_rc = init.end_rc = init.rc2 = -99;
  ASSERT_OK(tide_task_spawn(loop, scoped_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  return t;
}

TEST(bug_timeout_scope_and_outer_cancel_same_iteration) {
  /* The deadline and a real cancellation land in the same iteration, in
   * either order: the scope must not turn the real one into a timeout. */
  for (int order = 1; order <= 2; order++) {
    tide_loop loop;
    tide_future gate;
    ASSERT_OK(tide_loop_init(&loop, NULL));
    tide_future_init(&loop, &gate);
    tide_task *t = run_scoped(&loop, &gate, order, 0);
    struct scoped *s = tide_task_frame(t);
    ASSERT_ERR(s->rc, TIDE_ECANCELED);
    ASSERT_ERR(s->end_rc, TIDE_ECANCELED); /* not ETIMEDOUT */
    ASSERT_EQ(tide_timeout_expired(&s->scope), 1);
    ASSERT_EQ(s->cancelling_after, 1);     /* the real request is still there */
    ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
    tide_task_release(t);
    tide_future_release(&gate);
    CLOSE_LOOP(&loop);
  }
}

TEST(bug_timeout_scope_outer_cancel_during_cleanup_in_scope) {
  tide_loop loop;
  tide_future gate;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  tide_task *t = run_scoped(&loop, &gate, 3, 0);
  struct scoped *s = tide_task_frame(t);
  ASSERT_ERR(s->rc, TIDE_ECANCELED);         /* the deadline */
  ASSERT_ERR(s->cleanup_rc, TIDE_ECANCELED); /* the real one, delivered */
  ASSERT_ERR(s->end_rc, TIDE_ECANCELED);
  ASSERT_EQ(s->cancelling_after, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(bug_timeout_scope_inside_cancelled_task_keeps_its_cancel) {
  /* A task already cancelled (cleaning up) uses a timeout for its cleanup: the
   * timeout is reported as such, and the task still ends cancelled. */
  tide_loop loop;
  tide_future gate;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  tide_task *t = run_scoped(&loop, &gate, 0, 1);
  struct scoped *s = tide_task_frame(t);
  ASSERT_ERR(s->pre_rc, TIDE_ECANCELED);
  ASSERT_ERR(s->rc, TIDE_ECANCELED);
  ASSERT_ERR(s->end_rc, TIDE_ETIMEDOUT); /* the scope's own */
  ASSERT_EQ(s->cancelling_after, 1);     /* the earlier one is kept */
  ASSERT_EQ(s->rc2, 0);                  /* already delivered: cleanup may await */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}
