/* shield.c: tide_shield (asyncio.shield): out mirrors inner, but a cancellation
 * of out stops at out.
 *
 * The awaiting task gets TIDE_ECANCELED at once and inner goes on; shield just
 * detaches its waiter, so the caller, who still holds inner, sees how it ends.
 */
#include "combinator.h"

typedef struct shield {
  tide_loop *loop;
  tide_future *out;
  tide__waiter waiter; /* on inner */
} shield;

static void on_inner(tide__waiter *waiter, tide_future *inner) {
  shield *s = tide__container_of(waiter, shield, waiter);
  tide__future_mirror(inner, s->out);
  tide__combinator_free(s->loop, s);
}

/* Cancelled or released: inner is left alone; out ends CANCELLED after this. */
static void on_out_cancel(tide_future *out, void *ud) {
  shield *s = ud;
  (void)out;
  tide__q_remove(&s->waiter.link);
  tide__combinator_free(s->loop, s);
}

static int start(tide_loop *loop, tide_future *inner, tide_future *out) {
  int rc = tide__out_usable(loop, out);
  if (rc == 0) rc = tide__inputs_usable(loop, &inner, 1, out);
  if (rc != 0) return rc;
  shield *s = tide__combinator_alloc(loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  s->loop = loop;
  s->out = out;
  s->waiter.notify = on_inner;
  tide_future_set_cancel_hook(out, on_out_cancel, s);
  tide__future_add_waiter(inner, &s->waiter);
  return 0;
}

int tide_shield(tide_loop *loop, tide_future *inner, tide_future *out) {
  return tide__out_refused(loop, out, start(loop, inner, out), "tide_shield refused the call");
}
