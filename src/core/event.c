/* event.c: asyncio's Event: a flag; waiting for it parks until it is set. */
#include "sync.h"

static const struct tide__waitq_class event_class = {"event", NULL};

void tide_event_init(tide_loop *loop, tide_event *ev) {
  assert(loop != NULL && ev != NULL);
  ev->priv_loop = loop;
  ev->priv_set = 0;
  tide__waitq_init(&ev->priv_waiters, &event_class);
}

void tide_event_destroy(tide_event *ev) {
  tide__waitq_fail_all(&ev->priv_waiters, TIDE_ECLOSED);
}

/* Setting wakes everyone parked now; the flag then serves later waits at once,
 * so no waiter can be missed between the set and its resumption. */
void tide_event_set(tide_event *ev) {
  tide_future *f;
  ev->priv_set = 1;
  while ((f = tide__waitq_pop(&ev->priv_waiters)) != NULL)
    tide__wait_grant(f);
}

/* Waiters already woken stay woken: their futures are complete. */
void tide_event_clear(tide_event *ev) {
  ev->priv_set = 0;
}

int tide_event_is_set(const tide_event *ev) {
  return ev->priv_set;
}

/* Every wait operation has this shape: validate, refuse a cancelling caller
 * (sync.h explains why), complete at once if possible, else park. */
int tide_event_wait(tide_event *ev, tide_future *f) {
  int rc = tide__wait_usable(ev->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(ev->priv_loop))
    tide__future_cancel_now(f);
  else if (ev->priv_set)
    tide__wait_grant(f);
  else
    tide__waitq_push(&ev->priv_waiters, f);
  return 0;
}
