/* waitq.c: the FIFO of parked futures behind every synchronization primitive
 * (the layout and its invariants are described in sync.h). */
#include "sync.h"

void tide__waitq_init(tide__waitq *q, const struct tide__waitq_class *cls) {
  tide__q_init(&q->priv_head);
  q->priv_class = cls;
  q->priv_count = 0;
}

/* Unlinking leaves the node self-linked, which is what future.c checks before
 * queueing the future's dispatch on completion. */
static void unlink_waiter(tide__waitq *q, tide_future *f) {
  assert(q->priv_count > 0 && tide__q_linked(&f->priv_dispatch.link));
  tide__q_remove(&f->priv_dispatch.link);
  q->priv_count--;
}

void tide__waitq_on_cancel(tide_future *f, void *ud) {
  tide__waitq *q = ud;
  if (q->priv_class->cancelled != NULL)
    q->priv_class->cancelled(q, f);
  else
    unlink_waiter(q, f);
}

/* A future with a producer already (a cancel hook) or parked elsewhere would
 * end up with two owners completing it; a task's future is completed by its
 * coroutine only. Refusing them up front keeps "exactly once" true. */
int tide__wait_usable(const tide_loop *loop, const tide_future *f) {
  if (f == NULL || f->priv_loop != loop || f->priv_state != TIDE_FUTURE_PENDING ||
      (f->priv_flags & TIDE__F_TASK) || f->priv_pending.hook != NULL ||
      tide__q_linked(&f->priv_dispatch.link))
    return TIDE_EINVAL;
  return 0;
}

/* Only a request not yet delivered counts: a task that already saw
 * TIDE_ECANCELED may well acquire a lock to clean up. */
int tide__wait_caller_cancelling(const tide_loop *loop) {
  const tide_task *t = loop->priv_current;
  return t != NULL && tide__task_has(t, TIDE__T_CANCEL_REQUESTED);
}

void tide__waitq_push(tide__waitq *q, tide_future *f) {
  tide__q_insert_tail(&q->priv_head, &f->priv_dispatch.link);
  q->priv_count++;
  tide_future_set_cancel_hook(f, tide__waitq_on_cancel, q);
}

void tide__waitq_remove(tide__waitq *q, tide_future *f) {
  unlink_waiter(q, f);
  tide_future_set_cancel_hook(f, NULL, NULL);
}

tide_future *tide__waitq_pop(tide__waitq *q) {
  tide_future *f = tide__waitq_first(q);
  if (f == NULL) return NULL;
  /* Only the primitive completes a parked future; anything else is misuse that
   * would leave its dispatch unqueued forever (see sync.h). */
  assert(f->priv_state == TIDE_FUTURE_PENDING &&
         "a future waiting on a synchronization primitive was completed by another");
  tide__waitq_remove(q, f);
  return f;
}

void tide__waitq_rearm(tide__waitq *q, tide_future *f) {
  tide_future_set_cancel_hook(f, tide__waitq_on_cancel, q);
}

int tide__waitq_releasing(const tide_future *f) {
  return (f->priv_flags & TIDE__F_RELEASING) != 0;
}

/* Destroy, shutdown, abort: every waiter hears why, in the order it came. */
void tide__waitq_fail_all(tide__waitq *q, int code) {
  tide_future *f;
  while ((f = tide__waitq_pop(q)) != NULL)
    tide__future_fail(f, code, NULL);
}

void tide__wait_grant(tide_future *f) {
  tide__future_complete(f, NULL);
}

void tide__wait_grant_int(tide_future *f, int64_t v) {
  tide_value value = tide_value_int(v);
  tide__future_complete(f, &value);
}

void tide__wait_grant_ptr(tide_future *f, void *p) {
  tide_value value = tide_value_none();
  value.type = TIDE_VALUE_PTR;
  value.as.p = p;
  tide__future_complete(f, &value);
}

/* The shared hook identifies a parked future without any registry: its ud is
 * the queue, whose class names the wait. */
const char *tide__wait_describe(const tide_future *f) {
  if (f->priv_state != TIDE_FUTURE_PENDING || (f->priv_flags & TIDE__F_TASK) ||
      f->priv_pending.hook != tide__waitq_on_cancel)
    return NULL;
  const tide__waitq *q = f->priv_pending.ud;
  return q->priv_class->what;
}
