/* test-cancel.c: task cancellation: before the start, at each suspension point
 * (await, sleep, yield), after completion, while running, through a parent
 * awaiting a child, and uncancel; cancellation is never lost silently. */
#include "alloc.h"
#include "test.h"
#include "util.h"

#define HOUR_MS (3600u * 1000u)

enum { AT_AWAIT, AT_SLEEP, AT_YIELD };

struct victim_frame {
  int where;
  tide_future *fut;
  int started;
  int rc;
  int rc2;
  int resumed;
  int uncancel;       /* withdraw a delivered cancellation and end normally */
  int cleanups;       /* written by the cleanup function */
  int *cleanup_count; /* outside the frame, survives the free */
  int cancelling_after_uncancel;
};

static void victim_cleanup(void *frame) {
  struct victim_frame *f = frame;
  if (f->cleanup_count) (*f->cleanup_count)++;
}

static int victim_main(tide_task *t, void *frame) {
  struct victim_frame *f = frame;
  TIDE_BEGIN(t);
  f->started = 1;
  if (f->where == AT_AWAIT) {
    TIDE_AWAIT(t, f->fut, f->rc);
  } else if (f->where == AT_SLEEP) {
    TIDE_SLEEP(t, HOUR_MS, f->rc);
  } else {
    TIDE_YIELD(t, f->rc);
  }
  f->resumed = 1;
  if (f->rc == TIDE_ECANCELED && f->uncancel) {
    tide_task_uncancel(t);
    f->cancelling_after_uncancel = tide_task_cancelling(t);
    TIDE_RETURN_INT(t, 9);
  }
  /* Returns a value even after seeing TIDE_ECANCELED: still ends CANCELLED. */
  TIDE_RETURN_INT(t, 5);
  TIDE_END(t);
}

static void spawn_victim(tide_loop *loop, int where, tide_future *fut, int *cleanups,
                         int uncancel, tide_task **out) {
  struct victim_frame init;
  memset(&init, 0, sizeof init);
  init.where = where;
  init.fut = fut;
  init.rc = -99;
  init.cleanup_count = cleanups;
  init.uncancel = uncancel;
  ASSERT_OK(tide_task_spawn(loop, victim_main, &init, sizeof init, out));
  tide_task_set_cleanup(*out, victim_cleanup);
}

TEST(cancel_before_start) {
  tide_loop loop;
  tide_task *t;
  int cleanups = 0;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  spawn_victim(&loop, AT_YIELD, NULL, &cleanups, 0, &t);
  ASSERT_EQ(tide_task_cancelling(t), 0);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_task_cancelling(t), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct victim_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->started, 0); /* the coroutine never ran */
  ASSERT_EQ(tide_task_done(t), 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECANCELED);
  ASSERT_ERR(tide_task_cancel(t), TIDE_EALREADY);
  tide_task_release(t);
  ASSERT_EQ(cleanups, 1);   /* cleanup still runs */
  ASSERT_EQ(errs.count, 0); /* cancellation is not an error to report */
  CLOSE_LOOP(&loop);
}

TEST(cancel_at_await_cancels_awaited_future) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  int cleanups = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  spawn_victim(&loop, AT_AWAIT, &fut, &cleanups, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* suspended on fut */
  struct victim_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->started, 1);
  ASSERT_EQ(f->resumed, 0);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_future_state_get(&fut), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(f->resumed, 0); /* delivered from the loop, not inline */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f->resumed, 1);
  ASSERT_EQ(f->rc, TIDE_ECANCELED);
  /* It returned 5 after seeing the cancellation: it still ends CANCELLED. */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECANCELED);
  tide_task_release(t);
  ASSERT_EQ(cleanups, 1);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(cancel_at_sleep) {
  tide_loop loop;
  tide_task *t;
  int cleanups = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  spawn_victim(&loop, AT_SLEEP, NULL, &cleanups, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* sleeping: alive */
  struct victim_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->started, 1);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour-long wait */
  ASSERT_EQ(f->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1); /* the sleep's timer is gone */
  tide_task_release(t);
  ASSERT_EQ(cleanups, 1);
  CLOSE_LOOP(&loop);
}

TEST(cancel_at_yield) {
  tide_loop loop;
  tide_task *t;
  tide_loop_options opts;
  memset(&opts, 0, sizeof opts);
  opts.tick_budget = 1; /* stop the iteration right after the first step */
  ASSERT_OK(tide_loop_init(&loop, &opts));
  spawn_victim(&loop, AT_YIELD, NULL, NULL, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  struct victim_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->started, 1);
  ASSERT_EQ(f->resumed, 0);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(cancel_after_completion_is_ealready) {
  tide_loop loop;
  tide_task *t;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  spawn_victim(&loop, AT_YIELD, NULL, NULL, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_task_cancel(t), TIDE_EALREADY);
  ASSERT_ERR(tide_future_cancel(tide_task_future(t)), TIDE_EALREADY);
  ASSERT_EQ(tide_task_cancelling(t), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.as.i, 5);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(cancel_through_task_future) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  spawn_victim(&loop, AT_AWAIT, &fut, NULL, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_cancel(tide_task_future(t))); /* = tide_task_cancel */
  ASSERT_EQ(tide_task_cancelling(t), 1);
  ASSERT_EQ(tide_task_done(t), 0); /* a request, delivered at the await */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(((struct victim_frame *)tide_task_frame(t))->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(uncancel_lets_task_end_normally) {
  tide_loop loop;
  tide_task *t;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  spawn_victim(&loop, AT_SLEEP, NULL, NULL, 1, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct victim_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->rc, TIDE_ECANCELED);
  ASSERT_EQ(f->cancelling_after_uncancel, 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.as.i, 9);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* A task cancels itself while running: it keeps running until its next
 * suspension point (await, sleep or yield), which then reports TIDE_ECANCELED,
 * even when the awaited future is already done. */
struct self_frame {
  tide_future *done;
  int how; /* AT_AWAIT, AT_SLEEP, AT_YIELD */
  int cancel_rc;
  int cancelling;
  int ran_on;
  int rc;
};

static int self_cancel_main(tide_task *t, void *frame) {
  struct self_frame *f = frame;
  TIDE_BEGIN(t);
  f->cancel_rc = tide_task_cancel(t);
  f->cancelling = tide_task_cancelling(t);
  f->ran_on = 1;
  if (f->how == AT_AWAIT) {
    TIDE_AWAIT(t, f->done, f->rc);
  } else if (f->how == AT_SLEEP) {
    TIDE_SLEEP(t, HOUR_MS, f->rc);
  } else {
    TIDE_YIELD(t, f->rc);
  }
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

TEST(cancel_requested_while_running_delivered_at_next_await) {
  for (int how = AT_AWAIT; how <= AT_YIELD; how++) {
    tide_loop loop;
    tide_future done;
    tide_task *t;
    struct self_frame init = {&done, how, -99, -1, 0, -99};
    ASSERT_OK(tide_loop_init(&loop, NULL));
    tide_future_init(&loop, &done);
    ASSERT_OK(tide_future_set_int(&done, 3));
    ASSERT_OK(tide_task_spawn(&loop, self_cancel_main, &init, sizeof init, &t));
    tide_loop_update_time(&loop);
    uint64_t t0 = tide_loop_now(&loop);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    struct self_frame *f = tide_task_frame(t);
    ASSERT_EQ(f->cancel_rc, 0);
    ASSERT_EQ(f->cancelling, 1);
    ASSERT_EQ(f->ran_on, 1);
    ASSERT_EQ(f->rc, TIDE_ECANCELED);
    ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
    ASSERT_EQ(tide_future_state_get(&done), TIDE_FUTURE_RESULT); /* untouched */
    ASSERT_LT(tide_loop_now(&loop) - t0, HOUR_MS); /* did not sleep (fake clock too) */
    tide_task_release(t);
    tide_future_release(&done);
    CLOSE_LOOP(&loop);
  }
}

TEST(cancel_after_awaited_future_completed_is_not_lost) {
  /* The awaited future completes, then the task is cancelled before it
   * resumes: it sees TIDE_ECANCELED at this await or the next one. */
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  spawn_victim(&loop, AT_AWAIT, &fut, NULL, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_set_int(&fut, 1));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_task_done(t), 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

/* The result that won the race reaches the coroutine: a future completed before
 * the cancel request gives its value at this await (a lock handed over must not
 * look lost), and the request is delivered at the next suspension point. */
struct race_frame {
  tide_future *fut;
  int rc1;
  int64_t got;
  int rc2;
};

static int race_main(tide_task *t, void *frame) {
  struct race_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, f->fut, f->rc1);
  if (f->rc1 == 0) {
    tide_value v;
    ASSERT_OK(tide_future_result(f->fut, &v));
    f->got = v.as.i;
  }
  TIDE_SLEEP(t, HOUR_MS, f->rc2);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

TEST(cancel_after_completion_gives_result_then_cancel) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  struct race_frame init = {&fut, -99, 0, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, race_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* awaiting fut */
  ASSERT_OK(tide_future_set_int(&fut, 42));
  ASSERT_OK(tide_task_cancel(t)); /* before the task could resume */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour-long sleep */
  struct race_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->rc1, 0);
  ASSERT_EQ(f->got, 42);
  ASSERT_ERR(f->rc2, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

/* --- parent and child ------------------------------------------------------ */

struct child_frame {
  int rc;
  int saw_cancel;
  int finished;
  int swallow; /* uncancel, yield once more, and return 5 */
};

static int child_main(tide_task *t, void *frame) {
  struct child_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, HOUR_MS, f->rc);
  f->saw_cancel = f->rc == TIDE_ECANCELED;
  if (f->swallow) {
    tide_task_uncancel(t);
    TIDE_YIELD(t, f->rc);
    TIDE_YIELD(t, f->rc);
    f->finished = 1;
    TIDE_RETURN_INT(t, 5);
  }
  f->finished = 1;
  TIDE_RETURN_ERROR(t, f->rc, "child stopped");
  TIDE_END(t);
}

struct parent_frame {
  tide_task *child;
  int swallow;
  int rc1;
  int rc2;
  int child_done_at_resume;
  int child_finished_at_resume;
};

static int parent_main(tide_task *t, void *frame) {
  struct parent_frame *f = frame;
  TIDE_BEGIN(t);
  {
    struct child_frame init = {0, 0, 0, f->swallow};
    ASSERT_OK(
        tide_task_spawn(tide_task_loop(t), child_main, &init, sizeof init, &f->child));
  }
  TIDE_AWAIT(t, tide_task_future(f->child), f->rc1);
  f->child_done_at_resume = tide_task_done(f->child);
  f->child_finished_at_resume =
      ((struct child_frame *)tide_task_frame(f->child))->finished;
  TIDE_YIELD(t, f->rc2);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

TEST(cancel_parent_cancels_awaited_child) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task *parent;
  test_errors errs;
  struct parent_frame init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, parent_main, &init, sizeof init, &parent));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* child sleeps */
  struct parent_frame *f = tide_task_frame(parent);
  ASSERT_NOT_NULL(f->child);
  ASSERT_EQ(tide_task_cancelling(f->child), 0);
  ASSERT_OK(tide_task_cancel(parent));
  ASSERT_EQ(tide_task_cancelling(f->child), 1); /* the request went down */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct child_frame *cf = tide_task_frame(f->child);
  ASSERT_EQ(cf->saw_cancel, 1);
  ASSERT_EQ(f->rc1, TIDE_ECANCELED);
  ASSERT_EQ(f->child_done_at_resume, 1); /* resumed after the child finished */
  ASSERT_EQ(f->child_finished_at_resume, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(f->child)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(parent)), TIDE_FUTURE_CANCELLED);
  tide_task_release(f->child);
  tide_task_release(parent);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(cancel_parent_child_swallows_cancel_parent_still_cancelled) {
  /* The child withdraws the cancellation and finishes with 5 two ticks later.
   * The parent resumes only then, and its own cancellation is not lost. */
  tide_loop loop;
  tide_task *parent;
  tide_value v;
  struct parent_frame init;
  memset(&init, 0, sizeof init);
  init.swallow = 1;
  init.rc1 = init.rc2 = -99;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, parent_main, &init, sizeof init, &parent));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  struct parent_frame *f = tide_task_frame(parent);
  ASSERT_OK(tide_task_cancel(parent));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f->child_done_at_resume, 1);
  ASSERT_EQ(f->child_finished_at_resume, 1);
  ASSERT_OK(tide_future_result(tide_task_future(f->child), &v));
  ASSERT_EQ(v.as.i, 5);
  ASSERT(f->rc1 == TIDE_ECANCELED || f->rc2 == TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(parent)), TIDE_FUTURE_CANCELLED);
  tide_task_release(f->child);
  tide_task_release(parent);
  CLOSE_LOOP(&loop);
}

/* A detached task can be cancelled through a pointer it publishes; it frees
 * itself and nothing is reported. */
struct detached_frame {
  tide_task **publish;
  int *saw;
  int rc;
};

static int detached_main(tide_task *t, void *frame) {
  struct detached_frame *f = frame;
  TIDE_BEGIN(t);
  *f->publish = tide_loop_current_task(tide_task_loop(t));
  TIDE_SLEEP(t, HOUR_MS, f->rc);
  *f->saw = f->rc;
  TIDE_RETURN_ERROR(t, f->rc, NULL);
  TIDE_END(t);
}

TEST(cancel_detached_task) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  tide_task *published = NULL;
  int saw = -99;
  struct detached_frame init = {&published, &saw, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, detached_main, &init, sizeof init, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_NOT_NULL(published);
  ASSERT_OK(tide_task_cancel(published));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(saw, TIDE_ECANCELED);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(cancel_twice_before_delivery) {
  tide_loop loop;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  spawn_victim(&loop, AT_SLEEP, NULL, NULL, 0, &t);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_OK(tide_task_cancel(t)); /* not done yet: still 0 */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(((struct victim_frame *)tide_task_frame(t))->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* Cancel, then uncancel before the task resumed: the await the cancellation
 * cut short reports TIDE_ECANCELED (as asyncio, where the cancelled sleep or
 * future raises CancelledError into the coroutine even after uncancel()),
 * never success for work that did not happen; and since the request was
 * withdrawn, later awaits work normally and the task ends with its result.
 * One kind of await per round: each must be interrupted and report it. */
enum {
  CUT_SLEEP,
  CUT_FUTURE,
  CUT_CHILD,
  CUT_GATHER,
  CUT_WAIT_FOR,
  CUT_EVENT,
  CUT_LOCK,
  CUT_QUEUE,
  CUT_CONDITION,
  CUT_KINDS
};

struct cut_frame {
  int kind;
  tide_future *fut;   /* CUT_FUTURE */
  tide_task *child;   /* CUT_CHILD, CUT_GATHER, CUT_WAIT_FOR */
  tide_event *event;
  tide_lock *lock;    /* held by the test (CUT_LOCK) or the task (CUT_CONDITION) */
  tide_queue *queue;
  tide_condition *cond;
  tide_future out;    /* the combinator's or primitive's future */
  int waiting;
  int rc;
  int cancelling_after;
  int rc_cleanup;
};

static int cut_child_main(tide_task *t, void *frame) {
  int *rc = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, HOUR_MS, *rc);
  if (*rc) TIDE_RETURN_ERROR(t, *rc, NULL);
  TIDE_END(t);
}

static int cut_main(tide_task *t, void *frame) {
  struct cut_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_future_init(loop, &f->out);
  f->waiting = 1;
  if (f->kind == CUT_SLEEP) {
    TIDE_SLEEP(t, HOUR_MS, f->rc);
  } else if (f->kind == CUT_FUTURE) {
    TIDE_AWAIT(t, f->fut, f->rc);
  } else if (f->kind == CUT_CHILD) {
    TIDE_AWAIT(t, tide_task_future(f->child), f->rc);
  } else {
    if (f->kind == CUT_GATHER) {
      tide_future *in = tide_task_future(f->child);
      ASSERT_OK(tide_gather(loop, &in, 1, 0, &f->out));
    } else if (f->kind == CUT_WAIT_FOR) {
      ASSERT_OK(tide_wait_for(loop, tide_task_future(f->child), -1, &f->out));
    } else if (f->kind == CUT_EVENT) {
      ASSERT_OK(tide_event_wait(f->event, &f->out));
    } else if (f->kind == CUT_LOCK) {
      ASSERT_OK(tide_lock_acquire(f->lock, &f->out));
    } else if (f->kind == CUT_QUEUE) {
      ASSERT_OK(tide_queue_get(f->queue, &f->out));
    } else {
      ASSERT_OK(tide_lock_try_acquire(f->lock));
      ASSERT_OK(tide_condition_wait(f->cond, &f->out));
    }
    TIDE_AWAIT(t, &f->out, f->rc);
  }
  f->cancelling_after = tide_task_cancelling(t);
  if (f->kind == CUT_CONDITION) ASSERT_OK(tide_lock_release(f->lock)); /* held again */
  tide_future_release(&f->out);
  TIDE_SLEEP(t, 1, f->rc_cleanup); /* a cleanup await: nothing cancels it */
  TIDE_RETURN_INT(t, 7);
  TIDE_END(t);
}

TEST(uncancel_after_cut_await_reports_canceled) {
  for (int kind = 0; kind < CUT_KINDS; kind++) {
    tide_loop loop;
    tide_future fut;
    tide_event event;
    tide_lock lock;
    tide_queue queue;
    tide_condition cond;
    tide_task *t;
    tide_task *child = NULL;
    tide_value v;
    struct cut_frame init;
    ASSERT_OK(tide_loop_init(&loop, NULL));
    tide_future_init(&loop, &fut);
    tide_event_init(&loop, &event);
    tide_lock_init(&loop, &lock);
    ASSERT_OK(tide_queue_init(&loop, &queue, TIDE_QUEUE_FIFO, 0));
    tide_condition_init(&loop, &cond, &lock);
    if (kind == CUT_LOCK) ASSERT_OK(tide_lock_try_acquire(&lock));
    if (kind == CUT_CHILD || kind == CUT_GATHER || kind == CUT_WAIT_FOR)
      ASSERT_OK(tide_task_spawn(&loop, cut_child_main, NULL, sizeof(int), &child));
    memset(&init, 0, sizeof init);
    init.kind = kind;
    init.fut = &fut;
    init.child = child;
    init.event = &event;
    init.lock = &lock;
    init.queue = &queue;
    init.cond = &cond;
    init.rc = init.rc_cleanup = -99;
    ASSERT_OK(tide_task_spawn(&loop, cut_main, &init, sizeof init, &t));
    struct cut_frame *f = tide_task_frame(t);
    for (int i = 0; i < 3; i++) (void)tide_loop_run(&loop, TIDE_RUN_NOWAIT);
    ASSERT_EQ(f->waiting, 1);
    ASSERT_EQ(tide_task_done(t), 0);
    ASSERT_OK(tide_task_cancel(t));
    ASSERT_EQ(tide_task_uncancel(t), 0); /* withdrawn before the task resumed */
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    if (f->rc != TIDE_ECANCELED)
      test__fail(__FILE__, __LINE__, "kind %d: the cut await returned %d (%s)", kind,
                 f->rc, tide_err_name(f->rc));
    ASSERT_EQ(f->cancelling_after, 0);
    ASSERT_EQ(f->rc_cleanup, 0);
    ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
    ASSERT_OK(tide_future_result(tide_task_future(t), &v));
    ASSERT_EQ(v.as.i, 7);
    ASSERT_EQ(tide_lock_locked(&lock), kind == CUT_LOCK);
    if (kind == CUT_LOCK) ASSERT_OK(tide_lock_release(&lock));
    tide_task_release(t);
    if (child != NULL) tide_task_release(child);
    tide_condition_destroy(&cond);
    tide_queue_destroy(&queue);
    tide_lock_destroy(&lock);
    tide_event_destroy(&event);
    tide_future_release(&fut);
    RUN_AND_CLOSE_LOOP(&loop);
  }
}
