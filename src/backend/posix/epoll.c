/* epoll.c: the Linux backend: level-triggered epoll plus posix_common.c. */
#define _GNU_SOURCE

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "posix_common.h"

#define MAX_EVENTS 128
/* Flag in io->priv_backend_slot: the fd cannot be watched by epoll (EPERM:
 * a regular file, a directory, /dev/null). Such fds are reported ready on
 * every poll, exactly what poll(2) does for them (and what the poll and WASI
 * backends do), so a watcher behaves the same whichever backend is linked. */
#define ALWAYS_READY 0x100

/* Invariants: a started watcher is linked (io->priv_link) in `watched` (known
 * to epoll) or in `always` (EPERM fds), and its priv_backend_slot holds the
 * events it asked for (| ALWAYS_READY). ready[pos+1 .. nready) are the events
 * of the current poll not yet dispatched; an entry whose watcher changed or
 * stopped since has data.ptr NULL. */
typedef struct epoll_state {
  tide__posix_base base; /* first: see posix_common.h */
  int epfd;
  int nready;
  int pos;
  tide__qnode watched;
  tide__qnode always;
  struct epoll_event ready[MAX_EVENTS];
} epoll_state;

int tide__backend_init(tide_loop *loop) {
  epoll_state *st = tide_loop_alloc(loop, sizeof *st);
  if (st == NULL) return TIDE_ENOMEM;
  st->nready = st->pos = 0;
  tide__q_init(&st->watched);
  tide__q_init(&st->always);
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  int rc = st->epfd < 0 ? tide__errno_code(errno) : tide__posix_base_init(&st->base);
  if (rc == 0) {
    /* The state's own address marks the wakeup fd: no watcher can have it. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = st};
    if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->base.wake_rfd, &ev) == 0) {
      loop->priv_backend = st;
      return 0;
    }
    rc = tide__errno_code(errno);
    tide__posix_base_close(&st->base);
  }
  if (st->epfd >= 0) close(st->epfd);
  tide_loop_dealloc(loop, st);
  return rc;
}

void tide__backend_close(tide_loop *loop) {
  epoll_state *st = loop->priv_backend;
  tide__posix_base_close(&st->base);
  close(st->epfd);
  tide_loop_dealloc(loop, st);
  loop->priv_backend = NULL;
}

static uint32_t to_epoll(unsigned events) {
  uint32_t e = 0;
  if (events & TIDE_READABLE) e |= EPOLLIN | EPOLLRDHUP;
  if (events & TIDE_WRITABLE) e |= EPOLLOUT;
  return e; /* EPOLLHUP and EPOLLERR are always reported */
}

/* Requested events plus hang-up/error; those also carry the requested bits so
 * a reader goes on to read and sees EOF (or the error) from read(2). */
static unsigned from_epoll(uint32_t e, unsigned wanted) {
  unsigned ev = 0;
  if (e & EPOLLIN) ev |= TIDE_READABLE;
  if (e & EPOLLOUT) ev |= TIDE_WRITABLE;
  /* The peer shut its writing side (RDHUP): readable (EOF), but our side may
   * still write and must not be told it can without blocking. A full hang-up
   * (HUP) ends both directions: a write then fails at once (EPIPE). */
  if (e & EPOLLRDHUP) ev |= TIDE_HANGUP | (wanted & TIDE_READABLE);
  if (e & EPOLLHUP) ev |= TIDE_HANGUP | wanted;
  if (e & EPOLLERR) ev |= TIDE_IOERROR | wanted;
  return ev & (wanted | TIDE_HANGUP | TIDE_IOERROR);
}

/* io changed or stopped during dispatch: drop its undelivered events, so no
 * callback ever sees a stopped (maybe freed) watcher or stale events. */
static void invalidate_pending(epoll_state *st, const tide_io *io) {
  for (int i = st->pos + 1; i < st->nready; i++)
    if (st->ready[i].data.ptr == io) st->ready[i].data.ptr = NULL;
}

static int always_has_fd(epoll_state *st, int fd) {
  for (tide__qnode *n = st->always.next; n != &st->always; n = n->next)
    if (IO_OF_LINK(n)->priv_fd == fd) return 1;
  return 0;
}

int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events) {
  epoll_state *st = loop->priv_backend;
  unsigned want = events & (TIDE_READABLE | TIDE_WRITABLE);
  int linked = io->priv_link.next != &io->priv_link;
  invalidate_pending(st, io);
  if (want == 0) { /* stop: never fails (EBADF if the fd was closed: fine) */
    if (linked && !(io->priv_backend_slot & ALWAYS_READY))
      epoll_ctl(st->epfd, EPOLL_CTL_DEL, io->priv_fd, NULL);
    if (linked) tide__q_remove(&io->priv_link);
    io->priv_backend_slot = -1;
    return 0;
  }
  if (io->priv_fd < 0) return TIDE_EBADF;
  if (linked && (io->priv_backend_slot & ALWAYS_READY)) {
    io->priv_backend_slot = (int)(want | ALWAYS_READY);
    return 0;
  }
  struct epoll_event ev = {.events = to_epoll(want), .data.ptr = io};
  if (epoll_ctl(st->epfd, linked ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, io->priv_fd, &ev) ==
      0) {
    if (!linked) tide__q_insert_tail(&st->watched, &io->priv_link);
    io->priv_backend_slot = (int)want;
    return 0;
  }
  if (linked || errno != EPERM) return tide__errno_code(errno);
  if (always_has_fd(st, io->priv_fd)) return TIDE_EEXIST;
  tide__q_insert_tail(&st->always, &io->priv_link);
  io->priv_backend_slot = (int)(want | ALWAYS_READY);
  return 0;
}

/* Report every always-ready watcher once. They go through a private batch list,
 * each moved back before its callback, so a callback may stop (unlink) any of
 * them, and watchers started meanwhile wait for the next poll. */
static void dispatch_always(epoll_state *st) {
  tide__qnode batch;
  tide__q_init(&batch);
  if (tide__q_empty(&st->always)) return;
  batch.next = st->always.next;
  batch.prev = st->always.prev;
  batch.next->prev = &batch;
  batch.prev->next = &batch;
  tide__q_init(&st->always);
  while (!tide__q_empty(&batch)) {
    tide__qnode *n = batch.next;
    tide__q_remove(n);
    tide__q_insert_tail(&st->always, n);
    tide_io *io = IO_OF_LINK(n);
    tide__loop_io_ready(io, (unsigned)io->priv_backend_slot &
                                (TIDE_READABLE | TIDE_WRITABLE));
  }
}

int tide__backend_poll(tide_loop *loop, int64_t timeout_ms) {
  epoll_state *st = loop->priv_backend;
  int timeout = tide__q_empty(&st->always) ? tide__posix_timeout(timeout_ms) : 0;
  int n = epoll_wait(st->epfd, st->ready, MAX_EVENTS, timeout);
  if (n < 0) return errno == EINTR ? 0 : tide__errno_code(errno);
  st->nready = n;
  for (st->pos = 0; st->pos < st->nready; st->pos++) {
    struct epoll_event *e = &st->ready[st->pos];
    if (e->data.ptr == NULL) continue; /* invalidated by an earlier callback */
    if (e->data.ptr == st) {
      tide__posix_base_dispatch(loop, &st->base);
      continue;
    }
    tide_io *io = e->data.ptr;
    unsigned ev = from_epoll(e->events, (unsigned)io->priv_backend_slot);
    if (ev != 0) tide__loop_io_ready(io, ev);
  }
  st->nready = st->pos = 0; /* outside dispatch invalidate_pending scans nothing */
  dispatch_always(st);
  return 0;
}
