/* as_completed.c: an iterator over inputs in the order they finish
 * (asyncio.as_completed), one awaitable step at a time.
 *
 * Each input has a slot with a waiter; a finished input either goes straight to
 * the pending next() or joins a FIFO of finished ones, so no completion is lost
 * when nobody is asking, or when the asker gave up (cancelled its out).
 */
#include "combinator.h"

typedef struct ac_slot {
  tide__waiter waiter; /* on the input until it finished */
  tide__qnode link;    /* in it->priv_done while finished and not handed out */
  tide_future *input;
  tide_as_completed *it;
} ac_slot;

/* Complete out with the input itself, so the caller reads the outcome where it
 * lives (no copy, nothing for the iterator to own). */
static void hand_out(tide_as_completed *it, ac_slot *s, tide_future *out) {
  tide_value v = tide_value_none();
  v.type = TIDE_VALUE_PTR;
  v.as.p = s->input;
  it->priv_left--;
  (void)tide__future_complete(out, &v);
}

static void on_input(tide__waiter *w, tide_future *f) {
  ac_slot *s = tide__container_of(w, ac_slot, waiter);
  tide_as_completed *it = s->it;
  (void)f;
  if (it->priv_next != NULL) {
    tide_future *out = it->priv_next;
    it->priv_next = NULL;
    hand_out(it, s, out);
  } else {
    tide__q_insert_tail(&it->priv_done, &s->link);
  }
}

/* The asker gave up (or released out): forget it; the next finished input waits
 * in priv_done for the next call. out ends CANCELLED after this. */
static void on_next_cancel(tide_future *out, void *ud) {
  tide_as_completed *it = ud;
  (void)out;
  it->priv_next = NULL;
}

int tide_as_completed_init(tide_loop *loop, tide_as_completed *it,
                           tide_future *const *futures, size_t n) {
  assert(loop != NULL && it != NULL);
  int rc = tide__inputs_usable(loop, futures, n, NULL);
  if (rc != 0) return rc;
  ac_slot *slots = NULL;
  if (n > 0) {
    size_t size = tide__combinator_size(0, n, sizeof(ac_slot));
    slots = size != 0 ? tide_loop_alloc(loop, size) : NULL;
    if (slots == NULL) return TIDE_ENOMEM;
  }
  it->priv_loop = loop;
  it->priv_slots = slots;
  it->priv_n = n;
  it->priv_left = n;
  tide__q_init(&it->priv_done);
  it->priv_next = NULL;
  loop->priv_registered++; /* until release */
  for (size_t i = 0; i < n; i++) {
    slots[i].input = futures[i];
    slots[i].it = it;
    tide__q_init(&slots[i].link);
    slots[i].waiter.notify = on_input;
    tide__future_add_waiter(futures[i], &slots[i].waiter);
  }
  return 0;
}

/* One next at a time: a second pending out would make "the next input" mean
 * two things, and the order of completion is the whole point. */
static int next(tide_as_completed *it, tide_future *out) {
  if (it->priv_left == 0) return TIDE_ENOENT;
  if (it->priv_next != NULL) return TIDE_EBUSY;
  int rc = tide__out_usable(it->priv_loop, out);
  if (rc != 0) return rc;
  if (!tide__q_empty(&it->priv_done)) {
    ac_slot *s = tide__container_of(it->priv_done.next, ac_slot, link);
    tide__q_remove(&s->link);
    hand_out(it, s, out);
    return 0;
  }
  it->priv_next = out;
  tide_future_set_cancel_hook(out, on_next_cancel, it);
  return 0;
}

int tide_as_completed_next(tide_as_completed *it, tide_future *out) {
  return tide__out_refused(it->priv_loop, out, next(it, out),
                           "tide_as_completed_next refused the call");
}

size_t tide_as_completed_left(const tide_as_completed *it) { return it->priv_left; }

/* Waiters of inputs that finished were unlinked by their dispatch; removing a
 * self-linked node is a no-op, so every slot can be unlinked blindly. */
void tide_as_completed_release(tide_as_completed *it) {
  ac_slot *slots = it->priv_slots;
  for (size_t i = 0; i < it->priv_n; i++) tide__q_remove(&slots[i].waiter.link);
  if (it->priv_next != NULL) {
    tide_future *out = it->priv_next;
    it->priv_next = NULL;
    tide__future_end_cancelled(out);
  }
  tide__q_init(&it->priv_done);
  tide_loop_dealloc(it->priv_loop, slots);
  it->priv_slots = NULL;
  it->priv_n = it->priv_left = 0;
  it->priv_loop->priv_registered--;
}
