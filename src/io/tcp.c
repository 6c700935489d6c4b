/* tcp.c: TCP listen, accept and connect on the native host, as tide_streams.
 *
 * A listener is an io watcher on the listening socket, watched for READABLE only
 * while an accept is pending, so connections nobody asked for stay in the
 * kernel's backlog. A connection is handed out as a stream (fd_stream.c) opened
 * on the accepted or connected socket with TIDE_STREAM_CLOSE_FD.
 *
 * Connect allocates everything it needs (its op, the stream, the watcher's
 * registration) before calling connect(2), so once a connection is under way
 * nothing can fail for want of memory and no half-open connection is dropped
 * on the peer. The op's own watcher waits for WRITABLE and reads SO_ERROR; it is
 * stopped before the stream is handed out, so the stream's watcher is the only
 * one on the fd from then on.
 *
 * On WASI and the JS host (no sockets of our own to make) every function is a
 * stub returning TIDE_ENOSYS, so the API links on every host. This file is not
 * named fd_*.c because the JS build leaves those out, and the stubs must build
 * there.
 */
#if defined(__wasi__) || defined(TIDE_HOST_JS)

#include <assert.h>

#include "tide.h"

int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_tcp_listener **out_listener) {
  assert(loop != NULL && out_listener != NULL);
  (void)loop; /* read only by the assertion: unused under NDEBUG */
  (void)out_listener;
  (void)host;
  (void)port;
  (void)backlog;
  return TIDE_ENOSYS;
}

int tide_tcp_listener_port(const tide_tcp_listener *listener) {
  (void)listener;
  return TIDE_ENOSYS;
}

int tide_tcp_accept(tide_tcp_listener *listener, tide_future *future) {
  (void)listener;
  (void)future;
  return TIDE_ENOSYS;
}

void tide_tcp_listener_close(tide_tcp_listener *listener) {
  (void)listener;
  assert(0 && "no listener can exist on this host");
}

int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL);
  (void)loop; /* read only by the assertion: unused under NDEBUG */
  (void)future;
  (void)host;
  (void)port;
  return TIDE_ENOSYS;
}

#else /* native */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_stream.h"

/* posix_common.c: errno -> TIDE_E* (the full table, with the socket errors). */
int tide__posix_error(int err);

/* --- addresses and sockets ------------------------------------------------- */

typedef struct tcp_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} tcp_addr;

/* A numeric IPv4 or IPv6 address and a port in [min_port, 65535]. */
static int parse_addr(const char *host, int port, int min_port, tcp_addr *a) {
  if (host == NULL || port < min_port || port > 65535) return TIDE_EINVAL;
  memset(a, 0, sizeof *a);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    a->len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    a->len = sizeof *v6;
    return 0;
  }
  return TIDE_EINVAL;
}

/* Make fd non-blocking and close-on-exec. 0 or an errno. */
static int set_fd_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return errno;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errno;
  return 0;
}

/* A new non-blocking, close-on-exec stream socket: the fd or a TIDE_E*. */
static int new_socket(int family) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tide__posix_error(errno);
#else
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return tide__posix_error(errno);
  int err = set_fd_flags(fd);
  if (err != 0) {
    (void)close(fd);
    return tide__posix_error(err);
  }
#endif
  return fd;
}

/* Connections go out without Nagle's delay: a stream sends each queued write
 * with its own send(), and a small write after another would otherwise wait
 * for the peer's delayed ACK (tens of ms) on every request/response turn. As
 * Node's net does by default. Best effort: a failure changes nothing else. */
static void set_nodelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* --- listeners ------------------------------------------------------------- */

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

int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_tcp_listener **out_listener) {
  assert(loop != NULL && out_listener != NULL);
  tcp_addr addr;
  int rc = parse_addr(host, port, 0, &addr);
  if (rc != 0) return rc;
  tide_tcp_listener *l = tide_loop_alloc(loop, sizeof *l);
  if (l == NULL) return TIDE_ENOMEM;
  memset(l, 0, sizeof *l);
  int fd = new_socket(addr.ss.ss_family);
  if (fd < 0) {
    tide_loop_dealloc(loop, l);
    return fd;
  }
  int one = 1;
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&addr.ss, addr.len) != 0 ||
      listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0 ||
      getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
    rc = tide__posix_error(errno);
    (void)close(fd);
    tide_loop_dealloc(loop, l);
    return rc;
  }
  if (bound.ss_family == AF_INET6)
    l->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
  else
    l->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  rc = tide_io_init(loop, &l->io, fd); /* cannot fail: fd >= 0 */
  assert(rc == 0);
  (void)rc;
  l->io.handle.data = l;
  l->loop = loop;
  l->fd = fd;
  l->held_fd = -1;
  *out_listener = l;
  return 0;
}

int tide_tcp_listener_port(const tide_tcp_listener *l) {
  assert(l != NULL);
  return l->port;
}

/* One connection from the kernel: its fd (non-blocking, close-on-exec), or
 * TIDE_EAGAIN when none is waiting, or an error. */
static int accept_one(tide_tcp_listener *l) {
  for (;;) {
    int fd = accept(l->fd, NULL, NULL);
    if (fd >= 0) {
      int err = set_fd_flags(fd);
      if (err == 0) {
        set_nodelay(fd);
        return fd;
      }
      (void)close(fd);
      return tide__posix_error(err);
    }
    /* A connection reset while it waited in the backlog: take the next one. */
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return TIDE_EAGAIN;
    return tide__posix_error(errno);
  }
}

/* Turn an accepted fd into a stream. On TIDE_ENOMEM the fd is held for the next
 * accept, so the connection is not lost. */
static int adopt(tide_tcp_listener *l, int fd, tide_stream **out) {
  int rc = tide_stream_open(l->loop, fd, TIDE_STREAM_CLOSE_FD, out);
  if (rc == 0) return 0;
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

/* --- connect --------------------------------------------------------------- */

/* A connect in progress: the stream is already open on the socket (so it owns
 * and eventually closes the fd); the op's watcher waits for the outcome. The op
 * is freed from its watcher's close callback. */
typedef struct tcp_connect {
  tide_io io; /* io.handle.data points back at the op */
  tide_loop *loop;
  tide_stream *stream;
  tide_future *future;
} tcp_connect;

static void connect_freed(tide_handle *h) {
  tcp_connect *c = h->data;
  tide_loop_dealloc(c->loop, c);
}

/* Stop and release the op's watcher; the stream is handed out or closed. */
static void connect_finish(tcp_connect *c, int rc) {
  tide_future *f = c->future;
  tide_stream *s = c->stream;
  c->future = NULL;
  tide_handle_close(&c->io.handle, connect_freed);
  tide_future_set_cancel_hook(f, NULL, NULL);
  if (rc == 0) {
    tide_future_set_ptr(f, s);
  } else {
    tide_stream_close(s, NULL);
    tide_future_set_error(f, rc, NULL);
  }
}

static void on_connected(tide_io *io, unsigned events) {
  tcp_connect *c = io->handle.data;
  int err = 0;
  socklen_t len = sizeof err;
  (void)events;
  if (getsockopt(tide_io_fd(io), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY || err == EINTR) return; /* not yet */
  connect_finish(c, err == 0 ? 0 : tide__posix_error(err));
}

/* The connect's future was cancelled or released: abandon the half-made
 * connection (closing the stream closes the socket). */
static void connect_cancelled(tide_future *f, void *ud) {
  tcp_connect *c = ud;
  (void)f;
  c->future = NULL;
  tide_handle_close(&c->io.handle, connect_freed);
  tide_stream_close(c->stream, NULL);
}

int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  tcp_addr addr;
  int rc = parse_addr(host, port, 1, &addr);
  if (rc != 0) return rc;
  tcp_connect *c = tide_loop_alloc(loop, sizeof *c);
  if (c == NULL) return TIDE_ENOMEM;
  memset(c, 0, sizeof *c);
  c->loop = loop;
  int fd = new_socket(addr.ss.ss_family);
  if (fd < 0) {
    tide_loop_dealloc(loop, c);
    return fd;
  }
  set_nodelay(fd);
  rc = tide_stream_open(loop, fd, TIDE_STREAM_CLOSE_FD, &c->stream);
  if (rc != 0) {
    (void)close(fd);
    tide_loop_dealloc(loop, c);
    return rc;
  }
  rc = tide_io_init(loop, &c->io, fd); /* cannot fail: fd >= 0 */
  assert(rc == 0);
  c->io.handle.data = c;
  /* Watch before connecting: starting may allocate, and must not fail once the
   * peer has seen us. The first report comes from the loop, after connect(). */
  rc = tide_io_start(&c->io, TIDE_WRITABLE, on_connected);
  if (rc != 0) {
    tide_handle_close(&c->io.handle, connect_freed);
    tide_stream_close(c->stream, NULL);
    return rc;
  }
  c->future = future;
  tide_future_set_cancel_hook(future, connect_cancelled, c);
  /* Not retried on EINTR: the connect goes on in the background then, as with
   * EINPROGRESS, and a second connect() would fail with EALREADY. */
  if (connect(fd, (struct sockaddr *)&addr.ss, addr.len) == 0)
    connect_finish(c, 0);
  else if (errno != EINPROGRESS && errno != EINTR)
    connect_finish(c, tide__posix_error(errno)); /* refused at once, say */
  return 0;
}

#endif /* native */
