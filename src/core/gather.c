/* gather.c: tide_gather (asyncio.gather): one output for many inputs, complete
 * once all of them have finished.
 *
 * One block holds the state and a waiter per input, so the only allocation is
 * at the start. out always completes after the last input finished, also when
 * gather cancels the others or out itself is cancelled: a caller that resumes
 * from out never leaves a cancelled child still cleaning up behind it.
 */
#include "combinator.h"

typedef struct gather gather;

typedef struct gather_slot {
  tide__waiter waiter; /* on the input until it finished */
  tide_future *input;
  gather *g;
} gather_slot;

struct gather {
  tide_loop *loop;
  tide_future *out;
  size_t n;
  size_t remaining; /* inputs whose completion gather has not seen yet */
  size_t trigger;   /* CANCEL_ON_ERROR: the input whose error cancelled the rest; n if none */
  unsigned flags;
  int cancelled;    /* out was cancelled: it ends CANCELLED */
  gather_slot slots[];
};

/* Pass a cancellation on to every input still running, except one. */
static void cancel_running(gather *g, size_t except) {
  for (size_t i = 0; i < g->n; i++)
    if (i != except && !tide_future_done(g->slots[i].input))
      (void)tide_future_cancel(g->slots[i].input);
}

/* Every input finished: decide out's outcome, in the order the contract gives. */
static void finish(gather *g) {
  tide_future *out = g->out;
  tide_future *failed = NULL;
  if (g->cancelled) {
    tide__future_end_cancelled(out);
  } else {
    if (g->trigger < g->n) failed = g->slots[g->trigger].input;
    for (size_t i = 0; failed == NULL && i < g->n; i++)
      if (g->slots[i].input->priv_state != TIDE_FUTURE_RESULT) failed = g->slots[i].input;
    if (failed != NULL)
      tide__future_mirror(failed, out);
    else
      (void)tide__future_complete(out, NULL);
  }
  tide__combinator_free(g->loop, g);
}

static void on_input(tide__waiter *w, tide_future *f) {
  gather_slot *s = tide__container_of(w, gather_slot, waiter);
  gather *g = s->g;
  (void)tide__future_outcome(f); /* gather awaited it: its error counts as observed */
  if (f->priv_state == TIDE_FUTURE_ERROR && (g->flags & TIDE_GATHER_CANCEL_ON_ERROR) &&
      g->trigger == g->n && !g->cancelled) {
    g->trigger = (size_t)(s - g->slots);
    cancel_running(g, g->trigger);
  }
  if (--g->remaining == 0) finish(g);
}

/* out's cancel hook. A request is passed to the inputs and deferred (the hook
 * re-arms itself) until they finished; a release cannot wait, so gather lets go
 * of out and of the inputs at once. */
static void on_out_cancel(tide_future *out, void *ud) {
  gather *g = ud;
  if (tide__future_releasing(out)) {
    for (size_t i = 0; i < g->n; i++) tide__q_remove(&g->slots[i].waiter.link);
    cancel_running(g, g->n);
    tide__combinator_free(g->loop, g);
    return;
  }
  tide_future_set_cancel_hook(out, on_out_cancel, g);
  if (!g->cancelled) {
    g->cancelled = 1;
    cancel_running(g, g->n);
  }
}

static int start(tide_loop *loop, tide_future *const *futures, size_t n, unsigned flags,
                 tide_future *out) {
  int rc = tide__out_usable(loop, out);
  if (rc == 0) rc = tide__inputs_usable(loop, futures, n, out);
  if (rc != 0) return rc;
  if (flags & ~(unsigned)TIDE_GATHER_CANCEL_ON_ERROR) return TIDE_EINVAL;
  if (n == 0) return tide__future_complete(out, NULL);
  size_t size = tide__combinator_size(sizeof(gather), n, sizeof(gather_slot));
  gather *g = size != 0 ? tide__combinator_alloc(loop, size) : NULL;
  if (g == NULL) return TIDE_ENOMEM;
  g->loop = loop;
  g->out = out;
  g->n = n;
  g->remaining = n;
  g->trigger = n;
  g->flags = flags;
  g->cancelled = 0;
  out->priv_flags |= TIDE__F_CANCEL_WAITS;
  tide_future_set_cancel_hook(out, on_out_cancel, g);
  for (size_t i = 0; i < n; i++) {
    gather_slot *s = &g->slots[i];
    s->input = futures[i];
    s->g = g;
    s->waiter.notify = on_input;
    tide__future_add_waiter(futures[i], &s->waiter);
  }
  return 0;
}

int tide_gather(tide_loop *loop, tide_future *const *futures, size_t n, unsigned flags,
                tide_future *out) {
  return tide__out_refused(loop, out, start(loop, futures, n, flags, out),
                           "tide_gather refused the call");
}
