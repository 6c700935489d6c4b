/* handle.c: what every handle shares: init, ref/unref, close with a callback. */
#include "internal.h"

void tide__handle_init(tide_loop *loop, tide_handle *h, unsigned type) {
  h->data = NULL;
  h->priv_loop = loop;
  h->priv_type = type;
  h->priv_flags = TIDE__H_REF;
  h->priv_close_cb = NULL;
  tide__q_init(&h->priv_close_run.link);
  h->priv_close_run.run = NULL;
  loop->priv_registered++;
}

/* The close callback runs from the loop; only then may the memory be reused. */
static void close_run(tide__runnable *r) {
  tide_handle *h = tide__container_of(r, tide_handle, priv_close_run);
  h->priv_flags |= TIDE__H_CLOSED;
  h->priv_loop->priv_registered--;
  if (h->priv_close_cb != NULL) h->priv_close_cb(h);
}

void tide_handle_close(tide_handle *h, tide_close_cb close_cb) {
  assert(!(h->priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)) && "closed twice");
  switch (h->priv_type) {
  case TIDE__HANDLE_TIMER:
    tide__timer_close((tide_timer *)h);
    break;
  case TIDE__HANDLE_IO:
    tide_io_stop((tide_io *)h);
    break;
  case TIDE__HANDLE_ASYNC:
    tide__async_close((tide_async *)h);
    break;
  case TIDE__HANDLE_SIGNAL:
    tide_signal_stop((tide_signal *)h);
    break;
  default:
    assert(0 && "not a handle");
  }
  h->priv_flags |= TIDE__H_CLOSING;
  h->priv_close_cb = close_cb;
  h->priv_close_run.run = close_run;
  tide__ready_push(h->priv_loop, &h->priv_close_run);
}

void tide_handle_ref(tide_handle *h) {
  if (h->priv_flags & TIDE__H_REF) return;
  h->priv_flags |= TIDE__H_REF;
  if (h->priv_flags & TIDE__H_ACTIVE) tide__handle_count(h, 1);
}

void tide_handle_unref(tide_handle *h) {
  if (!(h->priv_flags & TIDE__H_REF)) return;
  h->priv_flags &= ~(unsigned)TIDE__H_REF;
  if (h->priv_flags & TIDE__H_ACTIVE) tide__handle_count(h, -1);
}

int tide_handle_has_ref(const tide_handle *h) { return (h->priv_flags & TIDE__H_REF) != 0; }

int tide_handle_is_active(const tide_handle *h) {
  return (h->priv_flags & TIDE__H_ACTIVE) != 0;
}

int tide_handle_is_closing(const tide_handle *h) {
  return (h->priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)) != 0;
}

tide_loop *tide_handle_loop(const tide_handle *h) { return h->priv_loop; }
