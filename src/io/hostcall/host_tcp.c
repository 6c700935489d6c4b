/* host_tcp.c: TCP on the JS host, over host functions the runtime provides
 * (under Node: js/src/net.mjs, node:net sockets; src/backend/js/ABI.md, "Sockets"):
 *
 *   "tideloop:tcp_listen"(host, port, backlog) -> id * 65536 + bound port
 *   "tideloop:tcp_accept"(id)                  -> fd of the next connection
 *   "tideloop:tcp_connect"(host, port)         -> fd of the connected socket
 *   "tideloop:tcp_listener_close"(id)
 *   "tideloop:fd_close"(fd)                    (a connection nobody took)
 *
 * A connection is a stream of host_stream.c on the host's fd, opened with
 * TIDE_STREAM_CLOSE_FD and TIDE__STREAM_SOCKET; its bytes go through
 * fd_read / fd_write / fd_shutdown / fd_close. The API and its semantics are
 * those of tide.h ("TCP"); what this host adds:
 *
 * - Every listen, accept and connect is a round trip, so each completes the
 *   caller's future later (natively listen completes at once).
 * - A host without these functions (a browser) answers "no such host
 *   function" (TIDE_ENOENT); for these calls that means TIDE_ENOSYS, and it
 *   arrives through the future, since only the host knows.
 * - Nothing is lost to cancellation. A cancelled accept or connect aborts its
 *   host call, and the host puts back a connection it had picked (accept) or
 *   destroys the socket (connect), also when its answer was already on the way
 *   (the signal aborts when C drops a value: src/backend/js/ABI.md). An answer that has
 *   reached C but not yet the caller is handled here: an accepted fd is held
 *   for the next accept, a connected one is closed.
 * - A listener is registered with the loop (tide_loop_close says TIDE_EBUSY)
 *   by a never-started timer handle, as streams are; closing it asks the host
 *   to close its server, then frees it from that handle's close callback.
 *
 * Natively TCP is src/io/fd/tcp_listener.c and src/io/posix/tcp_*.c.
 */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "host_op.h"
#include "host_stream.h"
#include "tide.h"

#define FN_LISTEN "tideloop:tcp_listen"
#define FN_ACCEPT "tideloop:tcp_accept"
#define FN_CONNECT "tideloop:tcp_connect"
#define FN_LISTENER_CLOSE "tideloop:tcp_listener_close"
#define FN_FD_CLOSE "tideloop:fd_close"

/* The listen answer packs the listener's id above its 16-bit port: one number,
 * exact in a double up to 2^53. */
#define PORT_SPAN 65536.0
#define MAX_EXACT 9007199254740992.0 /* 2^53 */
#define FD_MAX 2147483647.0

/* Listen takes numeric addresses only, as natively: checked here with the same
 * inet_pton, so that a bad one is TIDE_EINVAL at once, not after a round trip. */
static int is_numeric_host(const char *host) {
  unsigned char raw[16];
  return inet_pton(AF_INET, host, raw) == 1 || inet_pton(AF_INET6, host, raw) == 1;
}

/* --- Shared helpers ------------------------------------------------------- */

/* The message of TIDE_ENOSYS when the host lacks the functions. */
#define UNAVAILABLE "TCP is not available on this host (no node:net)"

/* The fd a finished accept or connect answered: 0 and *out_fd, its error, or
 * TIDE_EINVAL for a value that is no fd. */
static int take_fd(tide_future *f, int *out_fd) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  if (v.type != TIDE_VALUE_DOUBLE || !(v.as.d >= 0 && v.as.d <= FD_MAX) ||
      (double)(int)v.as.d != v.as.d)
    return TIDE_EINVAL;
  *out_fd = (int)v.as.d;
  return 0;
}

static int open_socket(tide_loop *loop, int fd, tide_stream **out) {
  return tide_stream_open(loop, fd, TIDE_STREAM_CLOSE_FD | TIDE__STREAM_SOCKET, out);
}

/* --- Listeners ------------------------------------------------------------ */

/* Invariants:
 * - id != 0 once the host has a server for this listener, until
 *   tcp_listener_close has been asked for.
 * - op_pending: hop is a pending host operation (listen, accept, or one of the
 *   closing calls) whose done callback is op_cb.
 * - user: the caller's future that the pending listen or accept completes; it
 *   carries a cancel hook of ours. NULL otherwise.
 * - held_fd >= 0: a connection accepted but not handed out (its accept was
 *   cancelled after the host answered, or its stream could not be allocated):
 *   the next accept takes it, close closes it.
 * - closed: tide_tcp_listener_close was called; the closing calls run one after
 *   the other on hop, then reg is closed and its callback frees the listener. */
struct tide_tcp_listener {
  tide_timer reg; /* never started; reg.handle.data points back at the listener */
  tide_loop *loop;
  int64_t id;
  int port;
  int closed;
  int held_fd;
  tide_future hop;
  int op_pending;
  tide_future_cb op_cb;
  tide_future *user;
};

static int listener_op(tide_tcp_listener *l, const char *name, const tide_value *args,
                       size_t nargs, tide_future_cb cb) {
  assert(!l->op_pending);
  int rc = tide__host_op(l->loop, &l->hop, name, args, nargs, cb, l);
  if (rc == 0) {
    l->op_pending = 1;
    l->op_cb = cb;
  }
  return rc;
}

static void listener_freed(tide_handle *h) {
  tide_tcp_listener *l = h->data;
  tide_loop_dealloc(l->loop, l);
}

static void teardown(tide_tcp_listener *l);

static void on_teardown_step(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  (void)tide_future_result(f, NULL); /* observed: a failed close is not reported */
  tide_future_release(f);
  l->op_pending = 0;
  teardown(l);
}

/* The next step of letting go of the listener: close the host's server, then a
 * connection held for an accept, then the registration (which frees it). A step
 * that cannot even be asked for (out of memory) is skipped; what it would have
 * closed goes when the runtime closes. */
static void teardown(tide_tcp_listener *l) {
  if (l->id != 0) {
    tide_value id = tide_value_int(l->id);
    l->id = 0;
    if (listener_op(l, FN_LISTENER_CLOSE, &id, 1, on_teardown_step) == 0) return;
  }
  if (l->held_fd >= 0) {
    tide_value fd = tide_value_int(l->held_fd);
    l->held_fd = -1;
    if (listener_op(l, FN_FD_CLOSE, &fd, 1, on_teardown_step) == 0) return;
  }
  tide_handle_close(&l->reg.handle, listener_freed);
}

/* Take the caller's future out of the listener (its hook removed). */
static tide_future *take_user(tide_tcp_listener *l) {
  tide_future *u = l->user;
  l->user = NULL;
  if (u != NULL) tide_future_set_cancel_hook(u, NULL, NULL);
  return u;
}

/* The pending listen or accept op is abandoned. If its answer already reached C
 * (the op is done, its callback not run), what it brought is kept: the new
 * server's id (to be closed) or the accepted fd (for the next accept). A pending
 * op is cancelled: the host then undoes its part (ABI.md). */
static void drop_op(tide_tcp_listener *l) {
  if (!l->op_pending) return;
  tide_future_remove_done_callback(&l->hop, l->op_cb, l);
  l->op_pending = 0;
  if (tide_future_done(&l->hop)) {
    tide_value v;
    int fd;
    /* No id yet: this was the listen. An id: this was an accept. */
    if (l->id == 0 && tide_future_result(&l->hop, &v) == 0 &&
        v.type == TIDE_VALUE_DOUBLE && v.as.d >= PORT_SPAN && v.as.d < MAX_EXACT)
      l->id = (int64_t)(v.as.d / PORT_SPAN);
    else if (l->id != 0 && take_fd(&l->hop, &fd) == 0)
      l->held_fd = fd;
    (void)tide_future_result(&l->hop, NULL); /* an error is not reported */
  }
  tide_future_release(&l->hop);
}

static void on_listened(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  tide_value v;
  l->op_pending = 0;
  int rc = tide_future_result(f, &v);
  if (rc == 0) {
    double d = v.type == TIDE_VALUE_DOUBLE ? v.as.d : -1;
    if (d >= PORT_SPAN && d < MAX_EXACT && (double)(int64_t)d == d) {
      l->id = (int64_t)(d / PORT_SPAN);
      l->port = (int)(d - (double)l->id * PORT_SPAN);
    } else {
      rc = TIDE_EINVAL;
    }
  }
  tide_future *u = take_user(l);
  assert(u != NULL);
  if (rc == 0) {
    tide_future_release(f);
    tide_future_set_ptr(u, l);
    return;
  }
  tide_future_set_error(u, tide__host_code(rc),
                        rc == TIDE_EINVAL
                            ? "the host's tcp_listen answer is no listener"
                            : tide__host_message(f, rc, UNAVAILABLE));
  tide_future_release(f);
  teardown(l);
}

/* The listen's future was cancelled (or released) before the listener was
 * handed out: nobody can close it, so it goes now. */
static void listen_cancelled(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  (void)f;
  l->user = NULL;
  drop_op(l);
  teardown(l);
}

int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if (host == NULL || !is_numeric_host(host) || port < 0 || port > 65535)
    return TIDE_EINVAL;
  tide_tcp_listener *l = tide_loop_alloc(loop, sizeof *l);
  if (l == NULL) return TIDE_ENOMEM;
  memset(l, 0, sizeof *l);
  int rc = tide_timer_init(loop, &l->reg);
  if (rc != 0) {
    tide_loop_dealloc(loop, l);
    return rc;
  }
  l->reg.handle.data = l;
  l->loop = loop;
  l->held_fd = -1;
  tide_value args[3];
  args[0] = tide_value_string(host);
  args[1] = tide_value_int(port);
  args[2] = tide_value_int(backlog > 0 ? backlog : 0);
  rc = listener_op(l, FN_LISTEN, args, 3, on_listened);
  if (rc != 0) {
    tide_handle_close(&l->reg.handle, listener_freed);
    return rc;
  }
  l->user = future;
  tide_future_set_cancel_hook(future, listen_cancelled, l);
  return 0;
}

int tide_tcp_listener_open(tide_loop *loop, int fd, tide_tcp_listener **out_listener) {
  assert(loop != NULL && out_listener != NULL);
  (void)loop; /* read only by the assertion: unused under NDEBUG */
  (void)fd;
  (void)out_listener;
  return TIDE_ENOSYS; /* the JS host has no sockets it could hand in */
}

int tide_tcp_listener_port(const tide_tcp_listener *l) {
  assert(l != NULL);
  return l->port;
}

static void on_accepted(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  int fd = -1;
  tide_stream *s = NULL;
  l->op_pending = 0;
  int rc = take_fd(f, &fd);
  tide_future *u = take_user(l);
  assert(u != NULL);
  if (rc == 0) {
    rc = open_socket(l->loop, fd, &s);
    if (rc == 0) {
      tide_future_release(f);
      tide_future_set_ptr(u, s);
      return;
    }
    l->held_fd = fd; /* out of memory: the connection waits for the next accept */
    tide_future_set_error(u, rc, NULL);
  } else {
    tide_future_set_error(u, tide__host_code(rc),
                          rc == TIDE_EINVAL ? "the host's tcp_accept answer is no fd"
                                            : tide__host_message(f, rc, UNAVAILABLE));
  }
  tide_future_release(f);
}

/* The accept's future was cancelled or released: the host puts back the
 * connection it may have picked, or C holds it if it has it already. */
static void accept_cancelled(tide_future *f, void *ud) {
  tide_tcp_listener *l = ud;
  (void)f;
  l->user = NULL;
  drop_op(l);
}

int tide_tcp_accept(tide_tcp_listener *l, tide_future *future) {
  assert(l != NULL && future != NULL && !tide_future_done(future));
  if (l->closed) return TIDE_ECLOSED;
  if (l->user != NULL) return TIDE_EBUSY;
  if (l->held_fd >= 0) {
    tide_stream *s = NULL;
    int rc = open_socket(l->loop, l->held_fd, &s);
    if (rc != 0) return rc; /* still held; the future untouched */
    l->held_fd = -1;
    tide_future_set_ptr(future, s);
    return 0;
  }
  tide_value id = tide_value_int(l->id);
  int rc = listener_op(l, FN_ACCEPT, &id, 1, on_accepted);
  if (rc != 0) return rc;
  l->user = future;
  tide_future_set_cancel_hook(future, accept_cancelled, l);
  return 0;
}

void tide_tcp_listener_close(tide_tcp_listener *l) {
  assert(l != NULL && !l->closed && "tide_tcp_listener_close called twice");
  l->closed = 1;
  tide_future *u = take_user(l);
  drop_op(l); /* a connection already in C is held, and closed below */
  if (u != NULL) tide_future_cancel(u);
  teardown(l);
}

/* --- Connect -------------------------------------------------------------- */

/* A connect in flight: the host op and the caller's future (NULL once
 * cancelled). It is freed when the op ends, or, if the connection arrived for a
 * caller who had gone, once the host has closed it. */
typedef struct tcp_connect {
  tide_loop *loop;
  tide_future hop;
  tide_future *user;
} tcp_connect;

static void connect_freed(tide_future *f, void *ud) {
  tcp_connect *c = ud;
  (void)tide_future_result(f, NULL); /* a failed close is not reported */
  tide_future_release(f);
  tide_loop_dealloc(c->loop, c);
}

/* A connection nobody will take: close its fd on the host, then free c. */
static void connect_discard(tcp_connect *c, int fd) {
  tide_value v = tide_value_int(fd);
  if (tide__host_op(c->loop, &c->hop, FN_FD_CLOSE, &v, 1, connect_freed, c) != 0)
    tide_loop_dealloc(c->loop, c); /* out of memory: it goes with the runtime */
}

static void on_connected(tide_future *f, void *ud) {
  tcp_connect *c = ud;
  tide_future *u = c->user;
  int fd = -1;
  tide_stream *s = NULL;
  c->user = NULL;
  tide_future_set_cancel_hook(u, NULL, NULL);
  int rc = take_fd(f, &fd);
  if (rc == 0 && (rc = open_socket(c->loop, fd, &s)) == 0) {
    tide_future_release(f);
    tide_loop_dealloc(c->loop, c);
    tide_future_set_ptr(u, s);
    return;
  }
  if (fd >= 0) {
    tide_future_set_error(u, rc, NULL); /* no memory for the stream */
    tide_future_release(f);
    connect_discard(c, fd);
    return;
  }
  tide_future_set_error(u, tide__host_code(rc),
                        rc == TIDE_EINVAL ? "the host's tcp_connect answer is no fd"
                                          : tide__host_message(f, rc, UNAVAILABLE));
  tide_future_release(f);
  tide_loop_dealloc(c->loop, c);
}

/* The connect's future was cancelled or released: a pending op is cancelled
 * (the host destroys its socket); a connection that reached C already is
 * closed. */
static void connect_cancelled(tide_future *f, void *ud) {
  tcp_connect *c = ud;
  int fd = -1;
  (void)f;
  c->user = NULL;
  tide_future_remove_done_callback(&c->hop, on_connected, c);
  if (tide_future_done(&c->hop) && take_fd(&c->hop, &fd) != 0) fd = -1;
  tide_future_release(&c->hop);
  if (fd >= 0)
    connect_discard(c, fd);
  else
    tide_loop_dealloc(c->loop, c);
}

int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if (host == NULL || host[0] == '\0' || port < 1 || port > 65535) return TIDE_EINVAL;
  tcp_connect *c = tide_loop_alloc(loop, sizeof *c);
  if (c == NULL) return TIDE_ENOMEM;
  c->loop = loop;
  tide_value args[2];
  args[0] = tide_value_string(host);
  args[1] = tide_value_int(port);
  int rc = tide__host_op(loop, &c->hop, FN_CONNECT, args, 2, on_connected, c);
  if (rc != 0) {
    tide_loop_dealloc(loop, c);
    return rc;
  }
  c->user = future;
  tide_future_set_cancel_hook(future, connect_cancelled, c);
  return 0;
}
