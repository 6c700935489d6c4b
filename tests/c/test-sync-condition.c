/* test-sync-condition.c: tide_condition: wait releases the lock and resumes
 * holding it again; notify(n) and notify_all wake in FIFO order; a waiter
 * cancelled before or after its notify takes the lock back before it resumes
 * (asyncio's rule); a released waiter future just leaves; misuse codes. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* Takes the lock, waits until a ticket is available (consuming one), releases.
 * Log: id*10+1 got a ticket, +2 acquire failed, +3 released the lock,
 * +4 the wait was cancelled (lock held), +5 the wait failed (lock not held). */
struct cwaiter {
  tide_condition *cond;
  test_log *log;
  int *tickets;
  int id;
  int rc;
  int wait_rc;
  int waits;
  int locked_after_wait;
  tide_future f;
};

static int cwaiter_main(tide_task *t, void *frame) {
  struct cwaiter *w = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_future_init(loop, &w->f);
  ASSERT_OK(tide_lock_acquire(tide_condition_lock(w->cond), &w->f));
  TIDE_AWAIT(t, &w->f, w->rc);
  tide_future_release(&w->f);
  if (w->rc != 0) {
    test_log_push(w->log, w->id * 10 + 2);
    TIDE_RETURN_ERROR(t, w->rc, NULL);
  }
  while (*w->tickets == 0) {
    tide_future_init(loop, &w->f);
    ASSERT_OK(tide_condition_wait(w->cond, &w->f));
    TIDE_AWAIT(t, &w->f, w->wait_rc);
    tide_future_release(&w->f);
    w->waits++;
    w->locked_after_wait = tide_lock_locked(tide_condition_lock(w->cond));
    if (w->wait_rc == TIDE_ECLOSED) {
      test_log_push(w->log, w->id * 10 + 5);
      TIDE_RETURN_ERROR(t, w->wait_rc, NULL);
    }
    if (w->wait_rc != 0) break;
  }
  if (w->wait_rc == 0) {
    --*w->tickets;
    test_log_push(w->log, w->id * 10 + 1);
  } else {
    test_log_push(w->log, w->id * 10 + 4);
  }
  ASSERT_OK(tide_lock_release(tide_condition_lock(w->cond)));
  test_log_push(w->log, w->id * 10 + 3);
  TIDE_END(t);
}

static tide_task *spawn_cwaiter(tide_loop *loop, tide_condition *cond, test_log *log,
                                int *tickets, int id) {
  struct cwaiter init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.cond = cond;
  init.log = log;
  init.tickets = tickets;
  init.id = id;
  ASSERT_OK(tide_task_spawn(loop, cwaiter_main, &init, sizeof init, &t));
  return t;
}

static struct cwaiter *cw(tide_task *t) {
  return tide_task_frame(t);
}

TEST(sync_condition_notify_one_then_all_in_order) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_lock lock;
  tide_condition cond;
  test_log log = {0};
  int tickets = 0;
  tide_task *t[3];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_lock_init(&loop, &lock);
  tide_condition_init(&loop, &cond, &lock);
  ASSERT_PTR_EQ(tide_condition_lock(&cond), &lock);
  for (int i = 0; i < 3; i++)
    t[i] = spawn_cwaiter(&loop, &cond, &log, &tickets, i + 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0);
  ASSERT_EQ(tide_lock_locked(&lock), 0); /* every wait released it */

  ASSERT_OK(tide_lock_try_acquire(&lock));
  tickets = 1;
  ASSERT_EQ(tide_condition_notify(&cond, 1), 1);
  ASSERT_OK(tide_lock_release(&lock)); /* handed to the notified waiter */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 13);

  ASSERT_OK(tide_lock_try_acquire(&lock));
  tickets = 2;
  ASSERT_EQ(tide_condition_notify_all(&cond), 2);
  ASSERT_EQ(tide_condition_notify_all(&cond), 0);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 13, 21, 23, 31, 33);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(cw(t[i])->locked_after_wait, 1);
    ASSERT_EQ(cw(t[i])->waits, 1);
    tide_task_release(t[i]);
  }
  ASSERT_EQ(tide_lock_locked(&lock), 0);
  tide_condition_destroy(&cond);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(sync_condition_requires_the_lock) {
  tide_loop loop;
  tide_condition cond;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL); /* its own lock */
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_condition_wait(&cond, &f), TIDE_ESTATE);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING); /* untouched */
  ASSERT_ERR(tide_condition_notify(&cond, 1), TIDE_ESTATE);
  ASSERT_ERR(tide_condition_notify_all(&cond), TIDE_ESTATE);
  ASSERT_OK(tide_lock_try_acquire(tide_condition_lock(&cond)));
  ASSERT_EQ(tide_condition_notify(&cond, 5), 0);
  ASSERT_OK(tide_condition_wait(&cond, &f));
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 0);
  tide_condition_destroy(&cond); /* the waiter fails, without the lock */
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECLOSED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* Cancelled while waiting for a notify, with the lock held by someone else:
 * the waiter does not resume until it holds the lock again. */
TEST(sync_condition_cancelled_waiter_reacquires_before_resuming) {
  tide_loop loop;
  tide_condition cond;
  test_log log = {0};
  int tickets = 0;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  t = spawn_cwaiter(&loop, &cond, &log, &tickets, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_lock_try_acquire(tide_condition_lock(&cond)));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_future_state_get(&cw(t)->f), TIDE_FUTURE_PENDING); /* deferred */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0); /* still waiting for the lock */
  ASSERT_OK(tide_lock_release(tide_condition_lock(&cond)));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 14, 13);
  ASSERT_EQ(cw(t)->wait_rc, TIDE_ECANCELED);
  ASSERT_EQ(cw(t)->locked_after_wait, 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 0);
  tide_task_release(t);
  tide_condition_destroy(&cond);
  CLOSE_LOOP(&loop);
}

/* The same with the lock free: it is taken for the waiter at once. */
TEST(sync_condition_cancelled_waiter_takes_free_lock) {
  tide_loop loop;
  tide_condition cond;
  test_log log = {0};
  int tickets = 0;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  t = spawn_cwaiter(&loop, &cond, &log, &tickets, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 1); /* the waiter's */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 14, 13);
  ASSERT_EQ(cw(t)->locked_after_wait, 1);
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 0);
  tide_task_release(t);
  tide_condition_destroy(&cond);
  CLOSE_LOOP(&loop);
}

/* Notified (queued for the lock behind its holder), then cancelled: it keeps
 * its place, and resumes cancelled holding the lock; the waiter behind it is
 * served after it. */
TEST(sync_condition_cancelled_after_notify) {
  tide_loop loop;
  tide_condition cond;
  test_log log = {0};
  int tickets = 0;
  tide_task *t[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  t[0] = spawn_cwaiter(&loop, &cond, &log, &tickets, 1);
  t[1] = spawn_cwaiter(&loop, &cond, &log, &tickets, 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_lock_try_acquire(tide_condition_lock(&cond)));
  tickets = 1;
  ASSERT_EQ(tide_condition_notify_all(&cond), 2);
  ASSERT_OK(tide_task_cancel(t[0]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0);
  ASSERT_OK(tide_lock_release(tide_condition_lock(&cond)));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 14, 13, 21, 23);
  ASSERT_EQ(tickets, 0);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(cw(t[i])->locked_after_wait, 1);
    tide_task_release(t[i]);
  }
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 0);
  tide_condition_destroy(&cond);
  CLOSE_LOOP(&loop);
}

/* Plain futures: cancelling defers until the lock is back; releasing a waiter's
 * future (before or after its notify) just takes it out of both lines. */
TEST(sync_condition_waiter_futures_cancel_and_release) {
  tide_loop loop;
  tide_condition cond;
  tide_lock *lock;
  tide_future f, g;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  lock = tide_condition_lock(&cond);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_lock_try_acquire(lock));
  ASSERT_OK(tide_condition_wait(&cond, &f));
  ASSERT_OK(tide_lock_try_acquire(lock)); /* someone else holds it now */
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_future_cancel(&f)); /* again: still deferred */
  ASSERT_OK(tide_lock_release(lock));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_lock_locked(lock), 1); /* f's owner holds it */
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  tide_future_init(&loop, &g);
  ASSERT_OK(tide_condition_wait(&cond, &f)); /* lock free now */
  ASSERT_OK(tide_lock_try_acquire(lock));
  ASSERT_OK(tide_condition_wait(&cond, &g));
  ASSERT_OK(tide_lock_try_acquire(lock));
  tide_future_release(&f); /* waiting for a notify: leaves */
  ASSERT_EQ(tide_condition_notify_all(&cond), 1);
  tide_future_release(&g); /* waiting for the lock: leaves */
  ASSERT_OK(tide_lock_release(lock));
  ASSERT_EQ(tide_lock_locked(lock), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_condition_destroy(&cond);
  CLOSE_LOOP(&loop);
}

/* A task with a cancellation pending that waits: TIDE_ECANCELED at once, and
 * it still holds the lock. */
struct cancelled_waiter {
  tide_condition *cond;
  tide_future f;
  int rc;
  int locked;
};

static int cancelled_waiter_main(tide_task *t, void *frame) {
  struct cancelled_waiter *c = frame;
  TIDE_BEGIN(t);
  ASSERT_OK(tide_lock_try_acquire(tide_condition_lock(c->cond)));
  tide_task_cancel(t);
  tide_future_init(tide_task_loop(t), &c->f);
  ASSERT_OK(tide_condition_wait(c->cond, &c->f));
  TIDE_AWAIT(t, &c->f, c->rc);
  tide_future_release(&c->f);
  c->locked = tide_lock_locked(tide_condition_lock(c->cond));
  ASSERT_OK(tide_lock_release(tide_condition_lock(c->cond)));
  TIDE_END(t);
}

TEST(sync_condition_wait_with_cancel_pending) {
  tide_loop loop;
  tide_condition cond;
  tide_task *t;
  struct cancelled_waiter init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  init.cond = &cond;
  ASSERT_OK(tide_task_spawn(&loop, cancelled_waiter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct cancelled_waiter *c = tide_task_frame(t);
  ASSERT_EQ(c->rc, TIDE_ECANCELED);
  ASSERT_EQ(c->locked, 1);
  ASSERT_EQ(tide_lock_locked(tide_condition_lock(&cond)), 0);
  tide_task_release(t);
  tide_condition_destroy(&cond);
  CLOSE_LOOP(&loop);
}

TEST(sync_condition_destroy_fails_waiting_tasks) {
  tide_loop loop;
  tide_condition cond;
  test_log log = {0};
  int tickets = 0;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_condition_init(&loop, &cond, NULL);
  t = spawn_cwaiter(&loop, &cond, &log, &tickets, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_condition_destroy(&cond);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 15);
  ASSERT_EQ(cw(t)->locked_after_wait, 0);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECLOSED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}
