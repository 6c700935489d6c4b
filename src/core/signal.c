/* signal.c: POSIX signals as loop callbacks. The backend owns the process-wide
 * handler; the core keeps each loop's watchers and asks the backend to start a
 * signal for the first watcher of that number and stop it after the last. */
#include "internal.h"

int tide_signal_init(tide_loop *loop, tide_signal *sig) {
  assert(loop != NULL && sig != NULL);
  tide__handle_init(loop, &sig->handle, TIDE__HANDLE_SIGNAL);
  tide__q_init(&sig->priv_link);
  sig->priv_signum = 0;
  sig->priv_cb = NULL;
  return 0;
}

static int watched(const tide_loop *loop, int signum) {
  for (const tide__qnode *n = loop->priv_signals.next; n != &loop->priv_signals; n = n->next)
    if (tide__container_of(n, const tide_signal, priv_link)->priv_signum == signum) return 1;
  return 0;
}

int tide_signal_start(tide_signal *sig, tide_signal_cb cb, int signum) {
  if (cb == NULL || signum <= 0) return TIDE_EINVAL;
  if (sig->handle.priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)) return TIDE_ECLOSED;
  tide_loop *loop = sig->handle.priv_loop;
  if (tide__q_linked(&sig->priv_link) && sig->priv_signum == signum) {
    sig->priv_cb = cb;
    return 0;
  }
  tide_signal_stop(sig);
  if (!watched(loop, signum)) {
    int rc = tide__backend_signal_start(loop, signum);
    if (rc != 0) return rc;
  }
  sig->priv_signum = signum;
  sig->priv_cb = cb;
  tide__q_insert_tail(&loop->priv_signals, &sig->priv_link);
  tide__handle_start(&sig->handle);
  return 0;
}

void tide_signal_stop(tide_signal *sig) {
  if (!tide__q_linked(&sig->priv_link)) return;
  tide_loop *loop = sig->handle.priv_loop;
  tide__q_remove(&sig->priv_link);
  if (!watched(loop, sig->priv_signum)) tide__backend_signal_stop(loop, sig->priv_signum);
  tide__handle_stop(&sig->handle);
}

/* A callback may stop or close any watcher, so the walk keeps its place with a
 * cursor node in the list (signum 0, which no watcher has) instead of a saved
 * next pointer. */
void tide__loop_signal_received(tide_loop *loop, int signum) {
  tide_signal cursor;
  cursor.priv_signum = 0;
  tide__q_init(&cursor.priv_link);
  tide__qnode *n = loop->priv_signals.next;
  while (n != &loop->priv_signals) {
    tide_signal *s = tide__container_of(n, tide_signal, priv_link);
    /* Park the cursor after s, so the walk resumes there whatever cb does. */
    tide__q_insert_tail(n->next, &cursor.priv_link);
    if (s->priv_signum == signum) s->priv_cb(s, signum);
    n = cursor.priv_link.next;
    tide__q_remove(&cursor.priv_link);
  }
}
