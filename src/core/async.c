/* async.c: cross-thread wakeups. tide_async_send is lock-free: a per-handle flag
 * plus one per-loop flag, so a burst of sends costs one backend wakeup.
 *
 * Other threads touch one word of the handle, priv_pending, and only with
 * atomics: its SENT bit, and its CLOSED bit, which tide_handle_close sets on
 * the loop's thread while a sender may be running. The handle's own flags are
 * the loop thread's, written without atomics, so a sender never reads them. */
#include "internal.h"

enum { SENT = 1, CLOSED = 2 };

int tide_async_init(tide_loop *loop, tide_async *async, tide_async_cb cb) {
  assert(loop != NULL && async != NULL);
  if (cb == NULL) return TIDE_EINVAL;
  tide__handle_init(loop, &async->handle, TIDE__HANDLE_ASYNC);
  async->priv_pending = 0;
  async->priv_cb = cb;
  tide__q_insert_tail(&loop->priv_asyncs, &async->priv_link);
  tide__handle_start(&async->handle);
  return 0;
}

int tide_async_send(tide_async *async) {
  int was = __atomic_fetch_or(&async->priv_pending, SENT, __ATOMIC_SEQ_CST);
  if (was & CLOSED) return TIDE_ECLOSED;
  if (was & SENT) return 0;
  tide_loop *loop = async->handle.priv_loop;
  /* Only the first send since the loop last looked pays for a wakeup. */
  if (__atomic_exchange_n(&loop->priv_async_pending, 1, __ATOMIC_SEQ_CST) == 0)
    tide__backend_wakeup(loop);
  return 0;
}

void tide__async_close(tide_async *async) {
  __atomic_fetch_or(&async->priv_pending, CLOSED, __ATOMIC_SEQ_CST);
  tide__q_remove(&async->priv_link);
  tide__handle_stop(&async->handle);
}

/* Clear the loop's flag before scanning, so a send racing with the scan either
 * is seen by it or raises the flag (and a wakeup) again. Handles are moved
 * through a private list so callbacks may close any of them. */
void tide__loop_wakeup_received(tide_loop *loop) {
  __atomic_store_n(&loop->priv_async_pending, 0, __ATOMIC_SEQ_CST);
  tide__qnode pending;
  tide__q_init(&pending);
  tide__q_move_all(&loop->priv_asyncs, &pending);
  while (!tide__q_empty(&pending)) {
    tide__qnode *n = pending.next;
    tide__q_remove(n);
    tide__q_insert_tail(&loop->priv_asyncs, n);
    tide_async *a = tide__container_of(n, tide_async, priv_link);
    /* A linked handle is not closed: only SENT can be set. */
    if (__atomic_exchange_n(&a->priv_pending, 0, __ATOMIC_SEQ_CST) != 0) a->priv_cb(a);
  }
}
