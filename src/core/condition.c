/* condition.c: asyncio's Condition over a tide_lock.
 *
 * A waiter goes through two queues: the condition's (until notified) and then
 * the lock's (until it holds the lock again); its future completes only at the
 * end, so the coroutine always resumes holding the lock. Cancellation follows
 * asyncio's wait(), which re-acquires the lock in a finally block before the
 * CancelledError propagates: a waiter cancelled in the condition's queue joins
 * the lock's queue marked cancelled (or takes the free lock at once), and its
 * future stays pending until then (the deferral is in future.c).
 */
#include "sync.h"

/* Cancelled before a notify: leave the condition's queue and take the lock
 * back. Released: just leave (nobody will ever hold that lock for it). */
static void cond_cancelled(tide__waitq *q, tide_future *f) {
  tide_condition *cond = tide__container_of(q, tide_condition, priv_waiters);
  tide__waitq_remove(q, f);
  if (tide__waitq_releasing(f)) return;
  /* Taken now: the future completes cancelled on return, lock held. Parked:
   * the lock's queue re-armed the hook, which defers the cancellation. */
  (void)tide__lock_take_or_park(cond->priv_lock, f, TIDE__LOCK_COND_CANCEL);
}

static const struct tide__waitq_class condition_class = {"condition", cond_cancelled};

void tide_condition_init(tide_loop *loop, tide_condition *cond, tide_lock *lock) {
  assert(loop != NULL && cond != NULL);
  assert((lock == NULL || lock->priv_loop == loop) && "a lock of another loop");
  tide_lock_init(loop, &cond->priv_own_lock);
  cond->priv_lock = lock != NULL ? lock : &cond->priv_own_lock;
  tide__waitq_init(&cond->priv_waiters, &condition_class);
}

void tide_condition_destroy(tide_condition *cond) {
  tide__waitq_fail_all(&cond->priv_waiters, TIDE_ECLOSED);
  tide_lock_destroy(&cond->priv_own_lock);
}

tide_lock *tide_condition_lock(tide_condition *cond) {
  return cond->priv_lock;
}

int tide_condition_wait(tide_condition *cond, tide_future *f) {
  tide_lock *lock = cond->priv_lock;
  int rc = tide__wait_usable(lock->priv_loop, f);
  if (rc != 0) return rc;
  if (!lock->priv_locked) return TIDE_ESTATE;
  if (tide__wait_caller_cancelling(lock->priv_loop)) {
    tide__future_cancel_now(f); /* as if woken by the cancel: lock still held */
    return 0;
  }
  tide__waitq_push(&cond->priv_waiters, f);
  tide_lock_release(lock);
  return 0;
}

int tide_condition_notify(tide_condition *cond, size_t n) {
  tide_lock *lock = cond->priv_lock;
  if (!lock->priv_locked) return TIDE_ESTATE;
  int woken = 0;
  tide_future *f;
  /* The notifier holds the lock, so every woken waiter parks behind it. */
  while ((size_t)woken < n && woken < INT32_MAX &&
         (f = tide__waitq_pop(&cond->priv_waiters)) != NULL) {
    (void)tide__lock_take_or_park(lock, f, TIDE__LOCK_COND);
    woken++;
  }
  return woken;
}

int tide_condition_notify_all(tide_condition *cond) {
  return tide_condition_notify(cond, SIZE_MAX);
}
