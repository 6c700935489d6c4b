/* posix_common.h: what the epoll and poll backends share (clock, wakeup, signals). */
#ifndef TIDE_POSIX_COMMON_H
#define TIDE_POSIX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "errno_code.h"
#include "queue.h"

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

/* A backend timeout (-1: none) as the int that epoll_wait/poll take. */
int tide__posix_timeout(int64_t timeout_ms);

/* The watcher whose priv_link is node (backends link tide_io by priv_link). */
#define IO_OF_LINK(node) tide__container_of(node, tide_io, priv_link)

#endif /* TIDE_POSIX_COMMON_H */
