/* semaphore.c: asyncio's Semaphore and BoundedSemaphore, with direct hand-off:
 * a release while tasks wait gives its permit to the first waiter instead of
 * raising the value, so the value is 0 whenever anyone waits and waiters are
 * served in FIFO order. A cancelled waiter held no permit, so it just leaves. */
#include "sync.h"

static const struct tide__waitq_class semaphore_class = {"semaphore", NULL};

static void init(tide_loop *loop, tide_semaphore *sem, unsigned value, int bounded) {
  assert(loop != NULL && sem != NULL);
  sem->priv_loop = loop;
  sem->priv_value = value;
  sem->priv_bound = bounded ? value : 0;
  sem->priv_bounded = bounded;
  tide__waitq_init(&sem->priv_waiters, &semaphore_class);
}

void tide_semaphore_init(tide_loop *loop, tide_semaphore *sem, unsigned value) {
  init(loop, sem, value, 0);
}

void tide_semaphore_init_bounded(tide_loop *loop, tide_semaphore *sem, unsigned value) {
  init(loop, sem, value, 1);
}

void tide_semaphore_destroy(tide_semaphore *sem) {
  tide__waitq_fail_all(&sem->priv_waiters, TIDE_ECLOSED);
}

int tide_semaphore_acquire(tide_semaphore *sem, tide_future *f) {
  int rc = tide__wait_usable(sem->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(sem->priv_loop)) {
    tide__future_cancel_now(f);
  } else if (sem->priv_value > 0) {
    assert(tide__waitq_empty(&sem->priv_waiters));
    sem->priv_value--;
    tide__wait_grant(f);
  } else {
    tide__waitq_push(&sem->priv_waiters, f);
  }
  return 0;
}

/* The value is above 0 only while nobody waits (hand-off), so taking a permit
 * here never jumps the queue. */
int tide_semaphore_try_acquire(tide_semaphore *sem) {
  if (sem->priv_value == 0) return TIDE_EAGAIN;
  sem->priv_value--;
  return 0;
}

/* asyncio's BoundedSemaphore checks the value only, as here: a permit handed
 * to a waiter keeps the value at 0, so only a release with nobody waiting can
 * be detected as one too many. */
int tide_semaphore_release(tide_semaphore *sem) {
  tide_future *f = tide__waitq_pop(&sem->priv_waiters);
  if (f != NULL) {
    tide__wait_grant(f);
    return 0;
  }
  if (sem->priv_bounded ? sem->priv_value >= sem->priv_bound
                        : sem->priv_value == (unsigned)-1)
    return TIDE_ERANGE;
  sem->priv_value++;
  return 0;
}

unsigned tide_semaphore_value(const tide_semaphore *sem) {
  return sem->priv_value;
}

int tide_semaphore_locked(const tide_semaphore *sem) {
  return sem->priv_value == 0;
}
