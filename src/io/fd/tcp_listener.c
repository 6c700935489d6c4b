/* tcp_listener.c: TCP listeners over fds (native and WASI): accept connections
 * as tide_streams, report the port, close.
 *
 * A listener is an io watcher on the listening socket, watched for READABLE only
 * while an accept is pending, so connections nobody asked for stay in the
 * kernel's backlog. A connection is handed out as a stream (fd_stream.c) opened
 * on the accepted socket with TIDE_STREAM_CLOSE_FD.
 *
 * How a listener comes to be differs by host (tcp_listener.h): natively
 * posix/tcp_listen.c binds one or adopts an inherited one; WASI preview1 cannot
 * make or bind a socket, but a runtime may hand one in (wasmtime --tcplisten),
 * which wasi/tcp_listener_open.c adopts. The JS host has its own listeners
 * (hostcall/host_tcp.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fd_stream.h"
#include "tcp_listener.h"

/* Invariants: the watcher is started (READABLE) iff acceptor != NULL and
 * held_fd < 0. held_fd is a connection accepted for a stream that could not be
 * allocated: the next accept hands it out before asking the kernel. */
struct tide_tcp_listener {
  tide_io io; /* io.handle.data points back at the listener */
  tide_loop *loop;
  int fd;
  int port;
  int held_fd;
  tide_future *acceptor;
};

int tide__tcp_listener_make(tide_loop *loop, int fd, int port, tide_tcp_listener **out) {
  tide_tcp_listener *l = tide_loop_alloc(loop, sizeof *l);
  if (l == NULL) return TIDE_ENOMEM;
  memset(l, 0, sizeof *l);
  int rc = tide_io_init(loop, &l->io, fd); /* cannot fail: fd >= 0 */
  assert(rc == 0);
  (void)rc;
  l->io.handle.data = l;
  l->loop = loop;
  l->fd = fd;
  l->port = port;
  l->held_fd = -1;
  *out = l;
  return 0;
}

int tide_tcp_listener_port(const tide_tcp_listener *l) {
  assert(l != NULL);
  return l->port;
}

/* One connection from the kernel: its fd (non-blocking), or TIDE_EAGAIN when
 * none is waiting, or an error. */
static int accept_one(tide_tcp_listener *l) {
  for (;;) {
    int fd = tide__tcp_accept_fd(l->fd);
    if (fd >= 0) return fd;
    /* A connection reset while it waited in the backlog: take the next one. */
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return TIDE_EAGAIN;
    return tide__errno_code(errno);
  }
}

/* Turn an accepted fd into a stream. On TIDE_ENOMEM the fd is held for the next
 * accept, so the connection is not lost. */
static int adopt(tide_tcp_listener *l, int fd, tide_stream **out) {
  int rc = tide_stream_open(l->loop, fd, TIDE_STREAM_CLOSE_FD, out);
  if (rc == 0) {
    (*out)->is_socket = 1; /* WASI cannot tell by itself (fd_stream.c) */
    return 0;
  }
  if (rc == TIDE_ENOMEM) {
    l->held_fd = fd;
  } else {
    (void)close(fd);
  }
  return rc;
}

/* The next connection for an accept: 0 with *out, TIDE_EAGAIN, or an error. */
static int next_connection(tide_tcp_listener *l, tide_stream **out) {
  int fd = l->held_fd;
  if (fd >= 0) {
    l->held_fd = -1;
    return adopt(l, fd, out);
  }
  fd = accept_one(l);
  if (fd < 0) return fd;
  return adopt(l, fd, out);
}

static void acceptor_done(tide_tcp_listener *l, int rc, tide_stream *s) {
  tide_future *f = l->acceptor;
  l->acceptor = NULL;
  tide_io_stop(&l->io);
  tide_future_set_cancel_hook(f, NULL, NULL);
  if (rc == 0)
    tide_future_set_ptr(f, s);
  else
    tide_future_set_error(f, rc, NULL);
}

static void on_acceptable(tide_io *io, unsigned events) {
  tide_tcp_listener *l = io->handle.data;
  tide_stream *s = NULL;
  (void)events;
  if (l->acceptor == NULL) { /* cannot happen: the watcher stops with it */
    tide_io_stop(&l->io);
    return;
  }
  int rc = next_connection(l, &s);
  if (rc == TIDE_EAGAIN) return; /* spurious, or reset before we got it: wait on */
  acceptor_done(l, rc, s);
}

/* The accept's future was cancelled or released: nothing was taken from the
 * backlog for it, so there is nothing to undo. */
static void accept_cancelled(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  (void)f;
  l->acceptor = NULL;
  tide_io_stop(&l->io);
}

int tide_tcp_accept(tide_tcp_listener *l, tide_future *future) {
  assert(l != NULL && future != NULL && !tide_future_done(future));
  if (l->fd < 0) return TIDE_ECLOSED;
  if (l->acceptor != NULL) return TIDE_EBUSY;
  tide_stream *s = NULL;
  int rc = next_connection(l, &s);
  if (rc == 0) {
    tide_future_set_ptr(future, s);
    return 0;
  }
  if (rc == TIDE_ENOMEM) return rc; /* the connection is held; future untouched */
  if (rc != TIDE_EAGAIN) {
    tide_future_set_error(future, rc, NULL);
    return 0;
  }
  rc = tide_io_start(&l->io, TIDE_READABLE, on_acceptable);
  if (rc != 0) return rc;
  l->acceptor = future;
  tide_future_set_cancel_hook(future, accept_cancelled, l);
  return 0;
}

static void listener_closed(tide_handle *h) {
  tide_tcp_listener *l = h->data;
  tide_loop_dealloc(l->loop, l);
}

void tide_tcp_listener_close(tide_tcp_listener *l) {
  assert(l != NULL && l->fd >= 0 && "tide_tcp_listener_close called twice");
  if (l->acceptor != NULL) {
    tide_future *f = l->acceptor;
    tide_future_set_cancel_hook(f, NULL, NULL);
    l->acceptor = NULL;
    tide_future_cancel(f);
  }
  /* Closing the handle stops the watcher (the backend forgets the fd) now, so
   * the socket can be closed at once and the port is free when this returns. */
  tide_handle_close(&l->io.handle, listener_closed);
  (void)close(l->fd);
  l->fd = -1;
  if (l->held_fd >= 0) (void)close(l->held_fd);
  l->held_fd = -1;
}
