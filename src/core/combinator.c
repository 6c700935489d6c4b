/* combinator.c: the plumbing the combinators share: argument checks, embedded
 * deadlines, handing an outcome on, and the registered state block. */
#include "combinator.h"

/* A cancel hook already set means another producer (a stream read, a host
 * operation, a sync primitive, another combinator) owns out: two producers
 * would complete it twice or cancel each other's work. */
int tide__out_usable(const tide_loop *loop, const tide_future *out) {
  assert(loop != NULL);
  if (out == NULL || out->priv_loop != loop || out->priv_state != TIDE_FUTURE_PENDING ||
      (out->priv_flags & TIDE__F_TASK) || out->priv_pending.hook != NULL)
    return TIDE_EINVAL;
  return 0;
}

/* A task awaiting an out that the call refused would wait forever (and the
 * loop end under it): a usable out completes with the call's error instead,
 * so the await returns it. The message names the call; not under ENOMEM,
 * where copying it would fail too. An unusable out is not ours to touch. */
int tide__out_refused(tide_loop *loop, tide_future *out, int rc, const char *message) {
  if (rc != 0 && tide__out_usable(loop, out) == 0)
    (void)tide__future_fail(out, rc, rc == TIDE_ENOMEM ? NULL : message);
  return rc;
}

/* An input that is out itself would never complete; one of another loop would
 * be notified from that loop's thread. */
int tide__inputs_usable(const tide_loop *loop, tide_future *const *futures, size_t n,
                        const tide_future *out) {
  if (n > 0 && futures == NULL) return TIDE_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (futures[i] == NULL || futures[i]->priv_loop != loop || futures[i] == out)
      return TIDE_EINVAL;
  return 0;
}

int tide__deadline_init(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run,
                        void (*fn)(tide__runnable *run)) {
  if (tide__heap_reserve(loop) != 0) return TIDE_ENOMEM;
  tide__heap_entry_init(entry, run);
  tide__q_init(&run->link);
  run->run = fn;
  return 0;
}

void tide__deadline_arm(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run,
                        uint64_t ms) {
  assert(!tide__heap_contains(entry) && !tide__q_linked(&run->link));
  (void)run;
  tide__timer_entry_schedule(loop, entry, tide__deadline(loop, ms));
  loop->priv_active_refs++; /* a pending deadline is referenced work, as a sleep */
}

/* A deadline is armed while in the heap, and also once due until its runnable
 * ran: it may be queued in this very tick behind the completion that makes the
 * deadline moot, and must then be taken out of the queue. */
int tide__deadline_disarm(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run) {
  if (tide__heap_contains(entry)) {
    tide__timer_entry_cancel(loop, entry);
  } else if (tide__q_linked(&run->link)) {
    tide__q_remove(&run->link);
  } else {
    return 0;
  }
  loop->priv_active_refs--;
  return 1;
}

void tide__deadline_release(tide_loop *loop, tide__timer_entry *entry,
                            tide__runnable *run) {
  (void)tide__deadline_disarm(loop, entry, run);
  tide__heap_release(loop);
}

/* With the hook cleared, cancel_now cannot call back into the combinator nor
 * defer again: it just completes out CANCELLED (and queues its dispatch). */
void tide__future_end_cancelled(tide_future *out) {
  tide_future_set_cancel_hook(out, NULL, NULL);
  (void)tide__future_cancel_now(out);
}

/* The error message is copied (tide__future_fail), so dst outlives src; a
 * result's bytes are not (src may be large, and owns them), hence borrowed. */
void tide__future_mirror(tide_future *src, tide_future *dst) {
  switch (src->priv_state) {
  case TIDE_FUTURE_RESULT: {
    tide_value v = src->priv_value;
    v.priv_free = NULL; /* borrowed: src keeps owning the bytes */
    v.priv_free_ud = NULL;
    (void)tide__future_complete(dst, &v);
    break;
  }
  case TIDE_FUTURE_ERROR:
    src->priv_flags |= TIDE__F_OBSERVED;
    (void)tide__future_fail(dst, src->priv_error.code, src->priv_error.msg);
    break;
  default:
    tide__future_end_cancelled(dst);
    break;
  }
}

void *tide__combinator_alloc(tide_loop *loop, size_t size) {
  void *state = size > 0 ? tide_loop_alloc(loop, size) : NULL;
  if (state != NULL) loop->priv_registered++;
  return state;
}

void tide__combinator_free(tide_loop *loop, void *state) {
  loop->priv_registered--;
  tide_loop_dealloc(loop, state);
}

size_t tide__combinator_size(size_t header, size_t n, size_t item) {
  if (n > (SIZE_MAX - header) / item) return 0;
  return header + n * item;
}
