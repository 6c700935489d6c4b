/* lock.c: asyncio's Lock, with direct hand-off: a release gives the lock to the
 * first waiter (its future completes and the lock stays locked), so waiters are
 * served strictly in FIFO order and nobody barges in between.
 *
 * The lock's queue also holds condition waiters re-acquiring the lock
 * (condition.c); their stage (sync.h) says how to complete them.
 */
#include "sync.h"

/* A plain acquire just leaves. A condition waiter must get the lock back before
 * its future completes, so its cancellation is deferred: it stays in line,
 * marked to complete cancelled when its turn comes. A release cannot wait. */
static void lock_cancelled(tide__waitq *q, tide_future *f) {
  if (tide__wait_int(f) == TIDE__LOCK_PLAIN || tide__waitq_releasing(f)) {
    tide__waitq_remove(q, f);
    return;
  }
  tide__wait_set_data(f, NULL, TIDE__LOCK_COND_CANCEL);
  tide__waitq_rearm(q, f);
}

static const struct tide__waitq_class lock_class = {"lock", lock_cancelled};

void tide_lock_init(tide_loop *loop, tide_lock *lock) {
  assert(loop != NULL && lock != NULL);
  lock->priv_loop = loop;
  lock->priv_locked = 0;
  tide__waitq_init(&lock->priv_waiters, &lock_class);
}

void tide_lock_destroy(tide_lock *lock) {
  tide__waitq_fail_all(&lock->priv_waiters, TIDE_ECLOSED);
  lock->priv_locked = 0;
}

int tide__lock_take_or_park(tide_lock *lock, tide_future *f, int stage) {
  if (!lock->priv_locked) {
    assert(tide__waitq_empty(&lock->priv_waiters));
    lock->priv_locked = 1;
    return 1;
  }
  tide__wait_set_data(f, NULL, stage);
  tide__waitq_push(&lock->priv_waiters, f);
  return 0;
}

int tide_lock_acquire(tide_lock *lock, tide_future *f) {
  int rc = tide__wait_usable(lock->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(lock->priv_loop))
    tide__future_cancel_now(f);
  else if (tide__lock_take_or_park(lock, f, TIDE__LOCK_PLAIN))
    tide__wait_grant(f);
  return 0;
}

int tide_lock_try_acquire(tide_lock *lock) {
  if (lock->priv_locked) return TIDE_EAGAIN;
  lock->priv_locked = 1;
  return 0;
}

int tide_lock_release(tide_lock *lock) {
  if (!lock->priv_locked) return TIDE_ESTATE;
  tide_future *f = tide__waitq_pop(&lock->priv_waiters);
  if (f == NULL) {
    lock->priv_locked = 0;
  } else if (tide__wait_int(f) == TIDE__LOCK_COND_CANCEL) {
    tide__future_cancel_now(f); /* holds the lock now, and sees its cancel */
  } else {
    tide__wait_grant(f);
  }
  return 0;
}

int tide_lock_locked(const tide_lock *lock) {
  return lock->priv_locked;
}
