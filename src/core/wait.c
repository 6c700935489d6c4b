/* wait.c: tide_wait (asyncio.wait): complete when the first input finished, the
 * first failed, or all did, or at a timeout; out counts the inputs done.
 *
 * wait only watches: it never cancels an input nor reads its outcome, so it can
 * complete out (or let a cancellation of out land) at once and simply detach
 * its waiters from the inputs still running.
 */
#include "combinator.h"

typedef struct waitall waitall;

typedef struct wait_slot {
  tide__waiter waiter;
  tide_future *input;
  waitall *w;
} wait_slot;

struct waitall {
  tide_loop *loop;
  tide_future *out;
  size_t n;
  size_t remaining; /* inputs whose completion wait has not seen yet */
  tide_wait_mode mode;
  tide__timer_entry entry; /* the timeout, if any */
  tide__runnable fire;
  wait_slot slots[];
};

/* Stop watching and free the state; out is completed (or cancelled) by the caller. */
static void detach(waitall *w) {
  tide__deadline_release(w->loop, &w->entry, &w->fire);
  for (size_t i = 0; i < w->n; i++) tide__q_remove(&w->slots[i].waiter.link);
  tide__combinator_free(w->loop, w);
}

static void finish(waitall *w) {
  tide_future *out = w->out;
  int64_t done = 0;
  for (size_t i = 0; i < w->n; i++) done += tide_future_done(w->slots[i].input);
  detach(w);
  tide_value v = tide_value_int(done);
  (void)tide__future_complete(out, &v);
}

static void on_input(tide__waiter *waiter, tide_future *f) {
  wait_slot *s = tide__container_of(waiter, wait_slot, waiter);
  waitall *w = s->w;
  w->remaining--;
  if (w->remaining == 0 || w->mode == TIDE_WAIT_FIRST_COMPLETED ||
      (w->mode == TIDE_WAIT_FIRST_EXCEPTION && f->priv_state == TIDE_FUTURE_ERROR))
    finish(w);
}

/* The timeout is not an error: out gets the count as it stands. */
static void on_timeout(tide__runnable *r) {
  waitall *w = tide__container_of(r, waitall, fire);
  tide__deadline_fired(w->loop);
  finish(w);
}

/* Cancelled or released: nothing to wait for, out ends CANCELLED after this. */
static void on_out_cancel(tide_future *out, void *ud) {
  (void)out;
  detach(ud);
}

static int start(tide_loop *loop, tide_future *const *futures, size_t n,
                 tide_wait_mode mode, int64_t timeout_ms, tide_future *out) {
  int rc = tide__out_usable(loop, out);
  if (rc == 0) rc = tide__inputs_usable(loop, futures, n, out);
  if (rc != 0) return rc;
  if (mode != TIDE_WAIT_FIRST_COMPLETED && mode != TIDE_WAIT_FIRST_EXCEPTION &&
      mode != TIDE_WAIT_ALL_COMPLETED)
    return TIDE_EINVAL;
  size_t size = tide__combinator_size(sizeof(waitall), n, sizeof(wait_slot));
  waitall *w = size != 0 ? tide__combinator_alloc(loop, size) : NULL;
  if (w == NULL) return TIDE_ENOMEM;
  if (tide__deadline_init(loop, &w->entry, &w->fire, on_timeout) != 0) {
    tide__combinator_free(loop, w);
    return TIDE_ENOMEM;
  }
  w->loop = loop;
  w->out = out;
  w->n = n;
  w->remaining = n;
  w->mode = mode;
  tide_future_set_cancel_hook(out, on_out_cancel, w);
  for (size_t i = 0; i < n; i++) {
    wait_slot *s = &w->slots[i];
    s->input = futures[i];
    s->w = w;
    s->waiter.notify = on_input;
    tide__future_add_waiter(futures[i], &s->waiter);
  }
  /* No input: complete with 0 on the next tick, through the timeout path. */
  if (n == 0)
    tide__deadline_arm(loop, &w->entry, &w->fire, 0);
  else if (timeout_ms >= 0)
    tide__deadline_arm(loop, &w->entry, &w->fire, (uint64_t)timeout_ms);
  return 0;
}

int tide_wait(tide_loop *loop, tide_future *const *futures, size_t n, tide_wait_mode mode,
              int64_t timeout_ms, tide_future *out) {
  return tide__out_refused(loop, out, start(loop, futures, n, mode, timeout_ms, out),
                           "tide_wait refused the call");
}
