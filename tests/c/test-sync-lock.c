/* test-sync-lock.c: tide_lock: FIFO hand-off without barging, immediate
 * acquire, cancellation of a waiter at each point (waiting, handed over),
 * releasing a waiter's future, misuse codes, and destroy. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* A task that acquires, logs, holds the lock for `hold` yields, and releases it
 * whatever happens while holding (the documented pattern). Log items:
 * id*10+1 acquired, id*10+2 acquire failed, id*10+3 released,
 * id*10+4 cancellation seen while holding. */
struct locker {
  tide_lock *lock;
  test_log *log;
  int id;
  int hold;
  int i;
  int rc;
  int acquire_rc;
  int held_at_resume;
  tide_future f;
};

static int locker_main(tide_task *t, void *frame) {
  struct locker *l = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &l->f);
  ASSERT_OK(tide_lock_acquire(l->lock, &l->f));
  TIDE_AWAIT(t, &l->f, l->acquire_rc);
  tide_future_release(&l->f);
  l->held_at_resume = tide_lock_locked(l->lock);
  if (l->acquire_rc != 0) {
    test_log_push(l->log, l->id * 10 + 2);
    TIDE_RETURN_ERROR(t, l->acquire_rc, NULL);
  }
  test_log_push(l->log, l->id * 10 + 1);
  for (l->i = 0; l->i < l->hold; l->i++) {
    TIDE_YIELD(t, l->rc);
    if (l->rc == TIDE_ECANCELED) {
      test_log_push(l->log, l->id * 10 + 4);
      break;
    }
  }
  ASSERT_OK(tide_lock_release(l->lock));
  test_log_push(l->log, l->id * 10 + 3);
  TIDE_END(t);
}

static tide_task *spawn_locker(tide_loop *loop, tide_lock *lock, test_log *log, int id,
                               int hold) {
  struct locker init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.lock = lock;
  init.log = log;
  init.id = id;
  init.hold = hold;
  init.acquire_rc = -99;
  ASSERT_OK(tide_task_spawn(loop, locker_main, &init, sizeof init, &t));
  return t;
}

static struct locker *locker_of(tide_task *t) {
  return tide_task_frame(t);
}

TEST(sync_lock_fifo_handoff) {
  tide_loop loop;
  tide_lock lock;
  test_log log = {0};
  tide_task *t[4];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock)); /* the test holds it first */
  for (int i = 0; i < 4; i++)
    t[i] = spawn_locker(&loop, &lock, &log, i + 1, 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* all four wait */
  ASSERT_EQ(log.n, 0);
  ASSERT_OK(tide_lock_release(&lock)); /* handed to task 1: stays locked */
  ASSERT_EQ(tide_lock_locked(&lock), 1);
  ASSERT_ERR(tide_lock_try_acquire(&lock), TIDE_EAGAIN); /* no barging */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 13, 21, 23, 31, 33, 41, 43);
  ASSERT_EQ(tide_lock_locked(&lock), 0);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(locker_of(t[i])->held_at_resume, 1);
    ASSERT_EQ(tide_future_state_get(tide_task_future(t[i])), TIDE_FUTURE_RESULT);
    tide_task_release(t[i]);
  }
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

static void count_cb(tide_future *f, void *ud) {
  (void)f;
  (*(int *)ud)++;
}

TEST(sync_lock_free_acquire_completes_at_once) {
  tide_loop loop;
  tide_lock lock;
  tide_future f, g;
  int calls = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_lock_acquire(&lock, &f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT); /* done already */
  ASSERT_EQ(tide_lock_locked(&lock), 1);
  ASSERT_OK(tide_future_add_done_callback(&f, count_cb, &calls));
  ASSERT_EQ(calls, 0); /* callbacks still run from the loop */
  /* A second acquire waits; the done future and a parked one are refused. */
  tide_future_init(&loop, &g);
  ASSERT_ERR(tide_lock_acquire(&lock, &f), TIDE_EINVAL);
  ASSERT_OK(tide_lock_acquire(&lock, &g));
  ASSERT_ERR(tide_lock_acquire(&lock, &g), TIDE_EINVAL);
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 1);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_ERR(tide_lock_release(&lock), TIDE_ESTATE);
  tide_future_release(&f);
  tide_future_release(&g);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

TEST(sync_lock_refuses_unusable_futures) {
  tide_loop loop, other;
  tide_lock lock;
  tide_future f, foreign;
  tide_task *t = NULL;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_ERR(tide_lock_acquire(&lock, NULL), TIDE_EINVAL);
  tide_future_init(&other, &foreign);
  ASSERT_ERR(tide_lock_acquire(&lock, &foreign), TIDE_EINVAL);
  t = spawn_locker(&loop, &lock, &log, 1, 0);
  ASSERT_ERR(tide_lock_acquire(&lock, tide_task_future(t)), TIDE_EINVAL);
  tide_future_init(&loop, &f);
  tide_future_cancel(&f);
  ASSERT_ERR(tide_lock_acquire(&lock, &f), TIDE_EINVAL);
  ASSERT_EQ(tide_lock_locked(&lock), 0); /* nothing changed */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_task_release(t);
  tide_future_release(&f);
  tide_future_release(&foreign);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
}

/* Cancel the middle one of three waiters: it never holds the lock, and the
 * lock goes from the first to the third. */
TEST(sync_lock_cancel_waiting_task) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_lock lock;
  test_log log = {0};
  tide_task *t[3];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));
  for (int i = 0; i < 3; i++)
    t[i] = spawn_locker(&loop, &lock, &log, i + 1, 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* all three wait */
  ASSERT_OK(tide_task_cancel(t[1]));
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 22, 11, 13, 31, 33);
  ASSERT_EQ(locker_of(t[1])->acquire_rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t[1])), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_lock_locked(&lock), 0);
  for (int i = 0; i < 3; i++)
    tide_task_release(t[i]);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Cancelling or releasing a waiter's future (no task involved) takes it out of
 * the line; the next one is served. */
TEST(sync_lock_cancel_and_release_waiter_futures) {
  tide_loop loop;
  tide_lock lock;
  tide_future f[4];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));
  for (int i = 0; i < 4; i++) {
    tide_future_init(&loop, &f[i]);
    ASSERT_OK(tide_lock_acquire(&lock, &f[i]));
  }
  ASSERT_OK(tide_future_cancel(&f[0]));
  ASSERT_EQ(tide_future_state_get(&f[0]), TIDE_FUTURE_CANCELLED);
  tide_future_release(&f[1]); /* pending: leaves the line */
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_future_state_get(&f[2]), TIDE_FUTURE_RESULT);
  ASSERT_EQ(tide_future_state_get(&f[3]), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_future_state_get(&f[3]), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_lock_locked(&lock), 0);
  tide_future_release(&f[0]);
  tide_future_release(&f[2]);
  tide_future_release(&f[3]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

/* The lock was handed to a waiter, then its task was cancelled before it
 * resumed: the acquisition won the race, so the coroutine sees success, holds
 * the lock, meets the cancellation at its next await and releases. */
TEST(sync_lock_handed_over_then_cancelled) {
  tide_loop loop;
  tide_lock lock;
  test_log log = {0};
  tide_task *b, *c;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));
  b = spawn_locker(&loop, &lock, &log, 2, 3);
  c = spawn_locker(&loop, &lock, &log, 3, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_OK(tide_lock_release(&lock)); /* b's future completes */
  ASSERT_OK(tide_task_cancel(b));      /* too late for the acquire */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 21, 24, 23, 31, 33);
  ASSERT_EQ(locker_of(b)->acquire_rc, 0);
  ASSERT_EQ(locker_of(b)->held_at_resume, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(b)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(c)), TIDE_FUTURE_RESULT);
  ASSERT_EQ(tide_lock_locked(&lock), 0);
  tide_task_release(b);
  tide_task_release(c);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

/* A task whose cancellation is pending takes nothing: the acquire completes
 * cancelled at once and the lock stays free. */
struct self_cancel {
  tide_lock *lock;
  tide_future f;
  int rc;
  int locked_after;
};

static int self_cancel_main(tide_task *t, void *frame) {
  struct self_cancel *s = frame;
  TIDE_BEGIN(t);
  tide_task_cancel(t);
  tide_future_init(tide_task_loop(t), &s->f);
  ASSERT_OK(tide_lock_acquire(s->lock, &s->f));
  TIDE_AWAIT(t, &s->f, s->rc);
  s->locked_after = tide_lock_locked(s->lock);
  tide_future_release(&s->f);
  TIDE_END(t);
}

TEST(sync_lock_acquire_with_cancel_pending_takes_nothing) {
  tide_loop loop;
  tide_lock lock;
  tide_task *t;
  struct self_cancel init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  init.lock = &lock;
  ASSERT_OK(tide_task_spawn(&loop, self_cancel_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct self_cancel *s = tide_task_frame(t);
  ASSERT_EQ(s->rc, TIDE_ECANCELED);
  ASSERT_EQ(s->locked_after, 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

TEST(sync_lock_destroy_fails_waiters) {
  tide_loop loop;
  tide_lock lock;
  test_log log = {0};
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));
  t = spawn_locker(&loop, &lock, &log, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  tide_lock_destroy(&lock);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 12);
  ASSERT_EQ(locker_of(t)->acquire_rc, TIDE_ECLOSED);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECLOSED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* Many tasks contending with random hold times: every task gets the lock
 * exactly once, in spawn order, and the lock ends free. */
TEST(sync_lock_many_contenders) {
  tide_loop loop;
  tide_lock lock;
  static test_log log;
  tide_task *t[50];
  test_rng rng;
  memset(&log, 0, sizeof log);
  test_rng_seed(&rng, 7);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  for (int i = 0; i < 50; i++)
    t[i] = spawn_locker(&loop, &lock, &log, i + 1, (int)test_rng_below(&rng, 4));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 100);
  for (int i = 0; i < 50; i++) {
    ASSERT_EQ(log.items[2 * i], (i + 1) * 10 + 1);
    ASSERT_EQ(log.items[2 * i + 1], (i + 1) * 10 + 3);
    tide_task_release(t[i]);
  }
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}
