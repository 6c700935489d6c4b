/* wait_for.c: tide_wait_for (asyncio.wait_for): one future with a deadline.
 *
 * The races asyncio got wrong are decided by what was already done when each
 * event arrived, never by which callback happens to run first:
 * - the deadline passes when fut is done already (same iteration): the result
 *   stands (bpo-37658, bpo-42130: a result must not be lost);
 * - fut is cancelled at the deadline but ends with its own outcome anyway: that
 *   outcome stands; only an actual cancellation becomes TIDE_ETIMEDOUT;
 * - out is cancelled while fut runs: out ends CANCELLED, also if the deadline
 *   passed as well (an outer cancellation is never turned into a timeout).
 * In every case out completes only after fut has finished.
 */
#include "combinator.h"

typedef struct wait_for {
  tide_loop *loop;
  tide_future *fut;
  tide_future *out;
  tide__waiter waiter;     /* on fut */
  tide__timer_entry entry; /* the deadline */
  tide__runnable fire;
  int timed_out; /* the deadline cancelled fut */
  int cancelled; /* out was cancelled while fut was running */
} wait_for;

static void on_fut(tide__waiter *waiter, tide_future *fut) {
  wait_for *w = tide__container_of(waiter, wait_for, waiter);
  tide_future *out = w->out;
  tide__deadline_release(w->loop, &w->entry, &w->fire);
  if (w->cancelled)
    tide__future_end_cancelled(out);
  else if (w->timed_out && fut->priv_state == TIDE_FUTURE_CANCELLED)
    (void)tide__future_fail(out, TIDE_ETIMEDOUT, NULL);
  else
    tide__future_mirror(fut, out);
  tide__combinator_free(w->loop, w);
}

static void on_deadline(tide__runnable *r) {
  wait_for *w = tide__container_of(r, wait_for, fire);
  tide__deadline_fired(w->loop);
  if (tide_future_done(w->fut)) return; /* it finished in time: on_fut is queued */
  w->timed_out = 1;
  (void)tide_future_cancel(w->fut);
}

/* out's cancel hook: a request waits for fut (the hook re-arms itself); a
 * release lets go at once, cancelling fut as releasing any pending future does. */
static void on_out_cancel(tide_future *out, void *ud) {
  wait_for *w = ud;
  tide__deadline_disarm(w->loop, &w->entry, &w->fire);
  if (tide__future_releasing(out)) {
    tide__q_remove(&w->waiter.link);
    if (!tide_future_done(w->fut)) (void)tide_future_cancel(w->fut);
    tide__deadline_release(w->loop, &w->entry, &w->fire);
    tide__combinator_free(w->loop, w);
    return;
  }
  tide_future_set_cancel_hook(out, on_out_cancel, w);
  if (w->cancelled || tide_future_done(w->fut)) return; /* decided: fut's outcome */
  w->cancelled = 1;
  (void)tide_future_cancel(w->fut);
}

static int start(tide_loop *loop, tide_future *fut, int64_t timeout_ms, tide_future *out) {
  int rc = tide__out_usable(loop, out);
  if (rc == 0) rc = tide__inputs_usable(loop, &fut, 1, out);
  if (rc != 0) return rc;
  wait_for *w = tide__combinator_alloc(loop, sizeof *w);
  if (w == NULL) return TIDE_ENOMEM;
  if (tide__deadline_init(loop, &w->entry, &w->fire, on_deadline) != 0) {
    tide__combinator_free(loop, w);
    return TIDE_ENOMEM;
  }
  w->loop = loop;
  w->fut = fut;
  w->out = out;
  w->timed_out = 0;
  w->cancelled = 0;
  w->waiter.notify = on_fut;
  out->priv_flags |= TIDE__F_CANCEL_WAITS;
  tide_future_set_cancel_hook(out, on_out_cancel, w);
  tide__future_add_waiter(fut, &w->waiter);
  if (timeout_ms >= 0 && !tide_future_done(fut))
    tide__deadline_arm(loop, &w->entry, &w->fire, (uint64_t)timeout_ms);
  return 0;
}

int tide_wait_for(tide_loop *loop, tide_future *fut, int64_t timeout_ms, tide_future *out) {
  return tide__out_refused(loop, out, start(loop, fut, timeout_ms, out),
                           "tide_wait_for refused the call");
}
