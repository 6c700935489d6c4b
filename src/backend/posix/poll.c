/* poll.c: the portable POSIX backend: one poll(2) over a pollfd array. */
#define _GNU_SOURCE /* POLLRDHUP on Linux */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "posix_common.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

#define INITIAL_CAP 8

/* Both arrays live in one allocation, the pointers first (the stricter
 * alignment), so growing is one allocation that either happens or fails. */
_Static_assert(_Alignof(struct pollfd) <= _Alignof(tide_io *), "pollfd after pointers");

/* Invariants: fds[0] is the wakeup channel (ios[0] NULL). A started watcher io
 * owns slot s = io->priv_backend_slot with ios[s] == io and fds[s].events its
 * requested events; no other live slot has its fd. While dispatching, a stop
 * only empties its slot (ios NULL, fd -1: poll ignores it) so indexes stay put;
 * the empty slots are compacted when dispatch ends. */
typedef struct poll_state {
  tide__posix_base base; /* first: see posix_common.h */
  tide_io **ios;         /* the allocation; fds follows the cap pointers */
  struct pollfd *fds;
  int nfds;
  int cap;
  int dispatching;
  int dead;
} poll_state;

static int grow(tide_loop *loop, poll_state *st, int cap) {
  size_t each = sizeof(tide_io *) + sizeof(struct pollfd);
  tide_io **ios = tide_loop_alloc(loop, (size_t)cap * each);
  if (ios == NULL) return TIDE_ENOMEM;
  struct pollfd *fds = (struct pollfd *)(void *)(ios + cap);
  if (st->ios != NULL) {
    memcpy(ios, st->ios, (size_t)st->nfds * sizeof *ios);
    memcpy(fds, st->fds, (size_t)st->nfds * sizeof *fds);
    tide_loop_dealloc(loop, st->ios);
  }
  st->ios = ios;
  st->fds = fds;
  st->cap = cap;
  return 0;
}

int tide__backend_init(tide_loop *loop) {
  poll_state *st = tide_loop_alloc(loop, sizeof *st);
  if (st == NULL) return TIDE_ENOMEM;
  memset(st, 0, sizeof *st);
  int rc = grow(loop, st, INITIAL_CAP);
  if (rc == 0) rc = tide__posix_base_init(&st->base);
  if (rc == 0) {
    st->ios[0] = NULL;
    st->fds[0].fd = st->base.wake_rfd;
    st->fds[0].events = POLLIN;
    st->fds[0].revents = 0;
    st->nfds = 1;
    loop->priv_backend = st;
    return 0;
  }
  if (st->ios != NULL) tide_loop_dealloc(loop, st->ios);
  tide_loop_dealloc(loop, st);
  return rc;
}

void tide__backend_close(tide_loop *loop) {
  poll_state *st = loop->priv_backend;
  tide__posix_base_close(&st->base);
  tide_loop_dealloc(loop, st->ios);
  tide_loop_dealloc(loop, st);
  loop->priv_backend = NULL;
}

static short to_poll(unsigned events) {
  short e = 0;
  if (events & TIDE_READABLE) e |= POLLIN | POLLRDHUP;
  if (events & TIDE_WRITABLE) e |= POLLOUT;
  return e; /* POLLHUP, POLLERR and POLLNVAL are always reported */
}

static unsigned wanted_of(short e) {
  return ((e & POLLIN) ? TIDE_READABLE : 0u) | ((e & POLLOUT) ? TIDE_WRITABLE : 0u);
}

/* Requested events plus hang-up/error; those also carry the requested bits so
 * a reader goes on to read and sees EOF (or the error) from read(2). */
static unsigned from_poll(short re, unsigned wanted) {
  unsigned ev = 0;
  if (re & POLLIN) ev |= TIDE_READABLE;
  if (re & POLLOUT) ev |= TIDE_WRITABLE;
  /* The peer shut its writing side (RDHUP): readable (EOF), but our side may
   * still write and must not be told it can without blocking. A full hang-up
   * (HUP) ends both directions: a write then fails at once (EPIPE). */
  if (re & POLLRDHUP) ev |= TIDE_HANGUP | (wanted & TIDE_READABLE);
  if (re & POLLHUP) ev |= TIDE_HANGUP | wanted;
  if (re & (POLLERR | POLLNVAL)) ev |= TIDE_IOERROR | wanted;
  return ev & (wanted | TIDE_HANGUP | TIDE_IOERROR);
}

static void remove_slot(poll_state *st, int s) {
  if (st->dispatching) {
    st->ios[s] = NULL;
    st->fds[s].fd = -1;
    st->dead++;
    return;
  }
  int last = --st->nfds; /* outside dispatch: move the last slot into the hole */
  if (s != last) {
    st->ios[s] = st->ios[last];
    st->fds[s] = st->fds[last];
    st->ios[s]->priv_backend_slot = s;
  }
}

static void compact(poll_state *st) {
  int w = 1;
  for (int r = 1; r < st->nfds; r++) {
    if (st->ios[r] == NULL) continue;
    st->ios[w] = st->ios[r];
    st->fds[w] = st->fds[r];
    st->ios[w]->priv_backend_slot = w;
    w++;
  }
  st->nfds = w;
  st->dead = 0;
}

int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events) {
  poll_state *st = loop->priv_backend;
  unsigned want = events & (TIDE_READABLE | TIDE_WRITABLE);
  int s = io->priv_backend_slot;
  int on = s >= 1 && s < st->nfds && st->ios[s] == io;
  /* Changed or stopped during dispatch: its undelivered events are stale. */
  if (on) st->fds[s].revents = 0;
  if (want == 0) { /* stop never fails */
    if (on) remove_slot(st, s);
    io->priv_backend_slot = -1;
    return 0;
  }
  /* poll(2) would only say POLLNVAL later; check now, as epoll_ctl does. */
  if (io->priv_fd < 0 || fcntl(io->priv_fd, F_GETFD) < 0) return TIDE_EBADF;
  if (on) {
    st->fds[s].events = to_poll(want);
    return 0;
  }
  for (int i = 1; i < st->nfds; i++)
    if (st->ios[i] != NULL && st->fds[i].fd == io->priv_fd) return TIDE_EEXIST;
  /* Grow on start only, so running out of memory is reported here. */
  if (st->nfds == st->cap && grow(loop, st, st->cap * 2) != 0) return TIDE_ENOMEM;
  s = st->nfds++;
  st->ios[s] = io;
  st->fds[s].fd = io->priv_fd;
  st->fds[s].events = to_poll(want);
  st->fds[s].revents = 0;
  io->priv_backend_slot = s;
  return 0;
}

int tide__backend_poll(tide_loop *loop, int64_t timeout_ms) {
  poll_state *st = loop->priv_backend;
  int n = poll(st->fds, (nfds_t)st->nfds, tide__posix_timeout(timeout_ms));
  if (n < 0) return errno == EINTR ? 0 : tide__errno_code(errno);
  if (n == 0) return 0;
  /* Slots started by callbacks land at >= end and wait for the next poll. The
   * arrays may move when they grow, so they are indexed afresh each time. */
  int end = st->nfds;
  st->dispatching = 1;
  for (int i = 0; i < end; i++) {
    short re = st->fds[i].revents;
    if (re == 0) continue;
    st->fds[i].revents = 0;
    if (i == 0) {
      tide__posix_base_dispatch(loop, &st->base);
      continue;
    }
    tide_io *io = st->ios[i];
    if (io == NULL) continue; /* stopped by an earlier callback */
    unsigned ev = from_poll(re, wanted_of(st->fds[i].events));
    if (ev != 0) tide__loop_io_ready(io, ev);
  }
  st->dispatching = 0;
  if (st->dead > 0) compact(st);
  return 0;
}
