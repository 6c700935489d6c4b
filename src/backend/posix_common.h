/* posix_common.h: what the epoll and poll backends share (clock, wakeup, signals). */
#ifndef TIDE_POSIX_COMMON_H
#define TIDE_POSIX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* The part of a POSIX backend's state that posix_common.c works on. Invariant:
 * it is the FIRST member of each backend's state struct, so the shared backend
 * functions (wakeup, signals, clock) can reach it from loop->priv_backend. */
typedef struct tide__posix_base {
  int wake_rfd;       /* read end of the wakeup channel (an eventfd: both ends) */
  int wake_wfd;       /* write end; the signal handler writes here too */
  int wake_pending;   /* set by tide__backend_wakeup (atomics), cleared on drain */
  int sig_slot;       /* this loop's row in the process-wide signal table, or -1 */
  unsigned sig_count; /* signums this loop watches; the row is freed at 0 */
} tide__posix_base;

/* Open the wakeup channel (nonblocking, close-on-exec). 0 or a TIDE_E* code. */
int tide__posix_base_init(tide__posix_base *base);
/* Stop any signal still watched and close the wakeup channel. */
void tide__posix_base_close(tide__posix_base *base);
/* The wakeup fd polled readable: drain it, then report a wakeup and every
 * signal recorded for this loop through the tide__loop_* upcalls. */
void tide__posix_base_dispatch(tide_loop *loop, tide__posix_base *base);

/* Translate an errno value into a TIDE_E* code (the only place that does). */
int tide__posix_error(int err);
/* A backend timeout (-1: none) as the int that epoll_wait/poll take. */
int tide__posix_timeout(int64_t timeout_ms);

/* Intrusive list helpers, the same idiom as the core's queue.h (which backends
 * do not include: the only way between core and backend is backend.h). */
static inline void qlist_init(tide__qnode *q) {
  q->next = q->prev = q;
}
static inline int qlist_empty(const tide__qnode *q) {
  return q->next == q;
}
static inline void qlist_push(tide__qnode *head, tide__qnode *n) {
  n->next = head;
  n->prev = head->prev;
  n->prev->next = n;
  head->prev = n;
}
/* Unlink and leave n self-linked, so "n->next != n" means "in a list". */
static inline void qlist_remove(tide__qnode *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}
#define IO_OF_LINK(node)                                                               \
  ((tide_io *)(void *)((char *)(node)-offsetof(tide_io, priv_link)))

#endif /* TIDE_POSIX_COMMON_H */
