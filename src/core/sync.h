/* sync.h: the wait queue every synchronization primitive is built on.
 *
 * A wait operation (lock acquire, queue get, barrier wait, ...) takes a pending
 * future from the caller and either completes it at once or parks it in a
 * tide__waitq until the primitive can complete it. Parking allocates nothing:
 *
 * - The link is the future's own priv_dispatch.link. A pending future never has
 *   its dispatch runnable queued (future.c queues it only on completion), so the
 *   node is free while the future waits. A parked future is therefore always
 *   unlinked before it completes (tide__waitq_pop/remove), or future.c would
 *   think its dispatch is already queued.
 * - The waiter's data (an item for a queue put, a stage for a condition waiter)
 *   rides in the pending part of the future, next to its cancel hook
 *   (priv_pending.wait_ptr and wait_int), which completion overwrites.
 *
 * Every parked future carries the one cancel hook tide__waitq_on_cancel with the
 * queue as its ud, so cancelling (or releasing) a waiter unparks it and lets the
 * primitive repair itself; the queue's class says how, and names the wait for
 * the task dump.
 */
#ifndef TIDE_SYNC_H
#define TIDE_SYNC_H

#include "internal.h"

struct tide__waitq_class {
  const char *what; /* "lock", "queue get", ...: the task dump's awaiting= */
  /* f was cancelled while parked in q (it is still linked). NULL: unpark it.
   * A class may instead keep f parked and re-arm the hook with
   * tide__waitq_rearm(), deferring the cancellation (see future.c); it must not
   * when f is being released (tide__waitq_releasing). */
  void (*cancelled)(tide__waitq *q, tide_future *f);
};

void tide__waitq_init(tide__waitq *q, const struct tide__waitq_class *cls);
/* The cancel hook of every parked future. */
void tide__waitq_on_cancel(tide_future *f, void *ud);

/* 0 if f can be given to a wait operation: pending, of this loop, not a task's,
 * no other producer (cancel hook) and not parked elsewhere; else TIDE_EINVAL. */
int tide__wait_usable(const tide_loop *loop, const tide_future *f);
/* 1 if the task running now has a cancellation requested and not delivered:
 * a wait operation it calls then takes nothing and completes cancelled, so an
 * await that reports TIDE_ECANCELED never hides a lock or an item that was
 * handed over (TIDE_AWAIT delivers a pending request even on a done future). */
int tide__wait_caller_cancelling(const tide_loop *loop);

/* Park f at the tail (with the cancel hook), or take the head out (hook
 * cleared, NULL if empty), or unpark f wherever it is. */
void tide__waitq_push(tide__waitq *q, tide_future *f);
tide_future *tide__waitq_pop(tide__waitq *q);
void tide__waitq_remove(tide__waitq *q, tide_future *f);
/* Re-arm the hook of a parked future from inside its class's cancelled(). */
void tide__waitq_rearm(tide__waitq *q, tide_future *f);
/* 1 while f's cancellation comes from tide_future_release (it cannot wait). */
int tide__waitq_releasing(const tide_future *f);
/* Unpark every waiter and fail it with code, in FIFO order. */
void tide__waitq_fail_all(tide__waitq *q, int code);

static inline int tide__waitq_empty(const tide__waitq *q) {
  return tide__q_empty(&q->priv_head);
}
static inline size_t tide__waitq_count(const tide__waitq *q) {
  return q->priv_count;
}
static inline tide_future *tide__waitq_first(const tide__waitq *q) {
  if (tide__q_empty(&q->priv_head)) return NULL;
  return tide__container_of(q->priv_head.next, tide_future, priv_dispatch.link);
}

/* The waiter's data while parked (see the top of this file). */
static inline void tide__wait_set_data(tide_future *f, void *p, int i) {
  f->priv_pending.wait_ptr = p;
  f->priv_pending.wait_int = i;
}
static inline void *tide__wait_ptr(const tide_future *f) {
  return f->priv_pending.wait_ptr;
}
static inline int tide__wait_int(const tide_future *f) {
  return f->priv_pending.wait_int;
}

/* Complete a waiter with no value / an INT / a PTR (it must be unparked). */
void tide__wait_grant(tide_future *f);
void tide__wait_grant_int(tide_future *f, int64_t v);
void tide__wait_grant_ptr(tide_future *f, void *p);

/* The lock's side of a condition (lock.c <-> condition.c). A condition waiter
 * that was notified, or cancelled, re-acquires the lock through the lock's own
 * queue: it is parked there with one of these stages as its data. */
enum {
  TIDE__LOCK_PLAIN = 0,      /* tide_lock_acquire */
  TIDE__LOCK_COND = 1,       /* a notified condition waiter */
  TIDE__LOCK_COND_CANCEL = 2 /* a cancelled one: completes cancelled, locked */
};
/* Take the lock for f now if it is free, else park f with the given stage.
 * Returns 1 if taken, 0 if parked. */
int tide__lock_take_or_park(tide_lock *lock, tide_future *f, int stage);

/* What a parked future waits for ("lock", "queue get", ...), NULL if it is not
 * parked on a primitive. For the task dump and the trace. */
const char *tide__wait_describe(const tide_future *f);

#endif /* TIDE_SYNC_H */
