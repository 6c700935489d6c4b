/* tcp_connect.c: tide_tcp_connect natively: resolve, then try each address.
 *
 * A connect is an op (the caller's future, the port, the addresses) and at most
 * one attempt at a time. A numeric host is its own single address and is tried
 * at once, inside the call, so that running out of fds or memory is reported
 * by the return value as the header promises. A name is first resolved
 * (tide_resolve: the resolver threads), then its addresses are tried in the
 * resolver's order until one connects; the error of the last one is the op's.
 *
 * An attempt allocates everything it needs (the stream, its own watcher's
 * registration) before calling connect(2), so once a connection is under way
 * nothing can fail for want of memory and no half-open connection is dropped
 * on the peer. Its watcher waits for WRITABLE and reads SO_ERROR; it is stopped
 * before the stream is handed out, so the stream's watcher is the only one on
 * the fd from then on. An attempt is freed from its watcher's close callback,
 * the op as soon as its future is completed or cancelled.
 *
 * Under WASI (preview1 cannot make sockets) it is TIDE_ENOSYS
 * (enosys/no_sockets.c); the JS host has hostcall/host_tcp.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock_util.h"

typedef struct tcp_attempt tcp_attempt;

typedef struct tcp_connect {
  tide_loop *loop;
  tide_future *future; /* the caller's */
  int port;
  int resolving;        /* lookup is pending */
  tide_future lookup;   /* the resolver's answer, for a name */
  tide_address *addrs;  /* taken from lookup: freed with the op */
  size_t naddrs, next;
  tcp_attempt *attempt; /* the connect(2) in flight, if any */
  int last_err;
} tcp_connect;

struct tcp_attempt {
  tide_io io; /* io.handle.data points back at the attempt */
  tcp_connect *op;
  tide_stream *stream;
};

static void try_next(tcp_connect *op);

static void op_free(tcp_connect *op) {
  if (op->resolving) tide_future_release(&op->lookup);
  if (op->addrs != NULL) tide_loop_dealloc(op->loop, op->addrs);
  tide_loop_dealloc(op->loop, op);
}

/* Complete the caller's future (stream on success) and free the op. */
static void op_finish(tcp_connect *op, int rc, tide_stream *s) {
  tide_future *f = op->future;
  tide_future_set_cancel_hook(f, NULL, NULL);
  op_free(op);
  if (rc == 0)
    tide_future_set_ptr(f, s);
  else
    tide_future_set_error(f, rc, NULL);
}

/* --- one attempt: socket, stream, connect(2), wait for the outcome ---------- */

static void attempt_freed(tide_handle *h) {
  tide_loop_dealloc(tide_handle_loop(h), h->data);
}

/* Stop the attempt's watcher (its memory goes with the close callback) and
 * either hand the stream to the op or close it. */
static void attempt_end(tcp_attempt *a, int rc) {
  tcp_connect *op = a->op; /* never NULL: an abandoned attempt's watcher is closed */
  tide_stream *s = a->stream;
  tide_handle_close(&a->io.handle, attempt_freed);
  op->attempt = NULL;
  if (rc == 0) {
    op_finish(op, 0, s);
    return;
  }
  tide_stream_close(s, NULL);
  op->last_err = rc;
  try_next(op);
}

static void on_connected(tide_io *io, unsigned events) {
  tcp_attempt *a = io->handle.data;
  int err = 0;
  socklen_t len = sizeof err;
  (void)events;
  if (getsockopt(tide_io_fd(io), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY || err == EINTR) return; /* not yet */
  attempt_end(a, err == 0 ? 0 : tide__errno_code(err));
}

/* Start connecting op to addr. Returns 0 once the attempt is under way or has
 * ended (then the op went on to the next address or finished), or an error from
 * before connect(2) (no socket, no memory) with nothing left behind. */
static int attempt_start(tcp_connect *op, const tide_address *addr) {
  tide__sockaddr sa;
  int rc = tide__sockaddr_parse(addr->host, op->port, 1, &sa);
  if (rc != 0) return rc;
  tcp_attempt *a = tide_loop_alloc(op->loop, sizeof *a);
  if (a == NULL) return TIDE_ENOMEM;
  memset(a, 0, sizeof *a);
  int fd = tide__socket_new(sa.ss.ss_family, SOCK_STREAM);
  if (fd < 0) {
    tide_loop_dealloc(op->loop, a);
    return fd;
  }
  int one = 1; /* no Nagle delay, as tcp_listener.c explains */
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  rc = tide_stream_open(op->loop, fd, TIDE_STREAM_CLOSE_FD, &a->stream);
  if (rc != 0) {
    (void)close(fd);
    tide_loop_dealloc(op->loop, a);
    return rc;
  }
  rc = tide_io_init(op->loop, &a->io, fd); /* cannot fail: fd >= 0 */
  assert(rc == 0);
  a->io.handle.data = a;
  /* Watch before connecting: starting may allocate, and must not fail once the
   * peer has seen us. The first report comes from the loop, after connect(). */
  rc = tide_io_start(&a->io, TIDE_WRITABLE, on_connected);
  if (rc != 0) {
    tide_handle_close(&a->io.handle, attempt_freed);
    tide_stream_close(a->stream, NULL);
    return rc;
  }
  a->op = op;
  op->attempt = a;
  /* Not retried on EINTR: the connect goes on in the background then, as with
   * EINPROGRESS, and a second connect() would fail with EALREADY. */
  if (connect(fd, (struct sockaddr *)&sa.ss, sa.len) == 0)
    attempt_end(a, 0);
  else if (errno != EINPROGRESS && errno != EINTR)
    attempt_end(a, tide__errno_code(errno)); /* refused at once, say */
  return 0;
}

/* --- the op: the addresses in turn ---------------------------------------- */

static void try_next(tcp_connect *op) {
  while (op->next < op->naddrs) {
    int rc = attempt_start(op, &op->addrs[op->next++]);
    if (rc == 0) return; /* under way, or it already moved the op on */
    op->last_err = rc;
  }
  op_finish(op, op->last_err != 0 ? op->last_err : TIDE_ENOTFOUND, NULL);
}

static void on_resolved(tide_future *f, void *ud) {
  tcp_connect *op = ud;
  void *data = NULL;
  size_t len = 0;
  int rc = tide_future_take_bytes(f, &data, &len);
  op->resolving = 0;
  tide_future_release(f);
  if (rc != 0) {
    op_finish(op, rc, NULL);
    return;
  }
  op->addrs = data;
  op->naddrs = len / sizeof(tide_address);
  try_next(op);
}

/* The caller's future was cancelled or released: drop the lookup (its answer
 * is discarded) or abandon the attempt (closing its stream closes the socket). */
static void connect_cancelled(tide_future *f, void *ud) {
  tcp_connect *op = ud;
  (void)f;
  if (op->attempt != NULL) {
    tcp_attempt *a = op->attempt;
    tide_handle_close(&a->io.handle, attempt_freed);
    tide_stream_close(a->stream, NULL);
  }
  op_free(op);
}

int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if (host == NULL || host[0] == '\0' || port < 1 || port > 65535) return TIDE_EINVAL;
  tcp_connect *op = tide_loop_alloc(loop, sizeof *op);
  if (op == NULL) return TIDE_ENOMEM;
  memset(op, 0, sizeof *op);
  op->loop = loop;
  op->future = future;
  op->port = port;
  tide__sockaddr sa;
  if (tide__sockaddr_parse(host, port, 1, &sa) == 0) {
    /* A numeric host: its one address, tried now. */
    tide_address addr;
    (void)tide__sockaddr_format((struct sockaddr *)&sa.ss, &addr);
    tide_future_set_cancel_hook(future, connect_cancelled, op);
    int rc = attempt_start(op, &addr);
    if (rc != 0) {
      tide_future_set_cancel_hook(future, NULL, NULL);
      op_free(op);
    }
    return rc;
  }
  tide_future_init(loop, &op->lookup);
  int rc = tide_future_add_done_callback(&op->lookup, on_resolved, op);
  if (rc == 0) rc = tide_resolve(loop, host, 0, &op->lookup);
  if (rc != 0) {
    tide_future_release(&op->lookup);
    tide_loop_dealloc(loop, op);
    return rc;
  }
  op->resolving = 1;
  tide_future_set_cancel_hook(future, connect_cancelled, op);
  return 0;
}
