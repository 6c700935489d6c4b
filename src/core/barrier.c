/* barrier.c: asyncio's Barrier. Waiters park until the last party arrives;
 * then all of them complete at once, with their arrival index, and the next
 * round starts empty. There is no draining phase as in asyncio: completing the
 * round is one step, so a task arriving later always belongs to the next round.
 * A waiter cancelled before the round completes leaves it and does not count,
 * so indices stay 0..parties-1 without gaps or repeats. */
#include "sync.h"

static const struct tide__waitq_class barrier_class = {"barrier", NULL};

int tide_barrier_init(tide_loop *loop, tide_barrier *b, size_t parties) {
  assert(loop != NULL && b != NULL);
  if (parties == 0) return TIDE_EINVAL;
  b->priv_loop = loop;
  b->priv_parties = parties;
  b->priv_broken = 0;
  tide__waitq_init(&b->priv_waiters, &barrier_class);
  return 0;
}

void tide_barrier_destroy(tide_barrier *b) {
  tide__waitq_fail_all(&b->priv_waiters, TIDE_ECLOSED);
}

int tide_barrier_wait(tide_barrier *b, tide_future *f) {
  int rc = tide__wait_usable(b->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(b->priv_loop)) {
    tide__future_cancel_now(f);
    return 0;
  }
  if (b->priv_broken) {
    tide__future_fail(f, TIDE_ECLOSED, NULL);
    return 0;
  }
  tide__waitq_push(&b->priv_waiters, f);
  if (tide__waitq_count(&b->priv_waiters) == b->priv_parties) {
    /* The round is complete: release everyone in arrival order. */
    int64_t index = 0;
    tide_future *w;
    while ((w = tide__waitq_pop(&b->priv_waiters)) != NULL)
      tide__wait_grant_int(w, index++);
  }
  return 0;
}

void tide_barrier_abort(tide_barrier *b) {
  b->priv_broken = 1;
  tide__waitq_fail_all(&b->priv_waiters, TIDE_ECLOSED);
}

void tide_barrier_reset(tide_barrier *b) {
  tide__waitq_fail_all(&b->priv_waiters, TIDE_ECLOSED);
  b->priv_broken = 0;
}

size_t tide_barrier_parties(const tide_barrier *b) {
  return b->priv_parties;
}
size_t tide_barrier_n_waiting(const tide_barrier *b) {
  return tide__waitq_count(&b->priv_waiters);
}
int tide_barrier_broken(const tide_barrier *b) {
  return b->priv_broken;
}
