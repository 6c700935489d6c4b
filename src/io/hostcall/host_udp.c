/* host_udp.c: UDP on the JS host, over host functions the runtime provides
 * (under Node: js/src/udp.mjs, node:dgram sockets; src/backend/js/ABI.md, "Sockets"):
 *
 *   "tideloop:udp_open"(host, port)            -> id * 65536 + bound port
 *   "tideloop:udp_send"(id, bytes, host, port) -> bytes sent, once sent
 *   "tideloop:udp_recv"(id, max)               -> header + datagram (below)
 *   "tideloop:udp_close"(id)
 *
 * The API and its semantics are those of tide.h ("UDP"); what this host adds:
 *
 * - Open is a round trip, so it completes the caller's future later, and so
 *   does close: the host's socket (and its port) goes once the udp_close call
 *   has run, which is right after the C code that closed it returns to the
 *   host, before any call C makes later (host calls start in order).
 * - Each send is its own host call, started at once: Node queues the datagrams
 *   in order and sends each whole. A send cancelled before the host started
 *   it (in the same turn of C code) is never sent; one the host has started is
 *   out, and its future just completes with TIDE_ECANCELED.
 * - Datagrams that arrive while nobody receives are queued by the host (Node
 *   reads them eagerly; there is no kernel buffer to leave them in), up to a
 *   bound past which new ones are dropped, as the kernel would.
 * - Nothing is lost to cancellation. A cancelled receive aborts its host call,
 *   and the host puts back a datagram it had picked, also when its answer was
 *   already on the way (the signal aborts when C drops a value: src/backend/js/ABI.md).
 *   An answer that has reached C but not yet the caller is held here for the
 *   next receive.
 * - A host without these functions (a browser) answers "no such host
 *   function" (TIDE_ENOENT); that means TIDE_ENOSYS, and it arrives through the
 *   open's future, since only the host knows.
 * - A socket is registered with the loop (tide_loop_close says TIDE_EBUSY) by a
 *   never-started timer handle, as TCP listeners are; pending host calls (a
 *   receive, sends) are what keeps the loop alive, as natively.
 *
 * The receive answer is BYTES: a 5-byte header, the sender's numeric address,
 * then the datagram:
 *   [0] status: 0 a datagram follows the address; 1 the datagram was longer
 *       than max (the host dropped it; nothing follows): TIDE_EMSGSIZE
 *   [1] family, 4 or 6   [2..3] port, little-endian   [4] n, the address length
 *   [5..5+n) the address text (ASCII, at most 45 bytes, no NUL)
 * One value, so that a datagram and its sender (also that of a datagram too
 * long, which tide.h promises) travel together and C needs no second call.
 *
 * Natively UDP is src/io/posix/udp*.c; under WASI it is TIDE_ENOSYS
 * (src/io/enosys/no_sockets.c).
 */

#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "host_op.h"
#include "queue.h"
#include "tide.h"

#define FN_OPEN "tideloop:udp_open"
#define FN_SEND "tideloop:udp_send"
#define FN_RECV "tideloop:udp_recv"
#define FN_CLOSE "tideloop:udp_close"

/* The open answer packs the socket's id above its 16-bit port: one number,
 * exact in a double up to 2^53 (as tcp_listen's). */
#define PORT_SPAN 65536.0
#define MAX_EXACT 9007199254740992.0 /* 2^53 */

/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header);
 * the native limit, kept for IPv6 too so a program behaves alike everywhere. */
#define MAX_SEND ((size_t)65507)
/* The default (and largest) receive: longer than any datagram. */
#define MAX_RECV ((size_t)65536)

/* The receive answer's header (see the top of the file). */
enum { HDR_STATUS, HDR_FAMILY, HDR_PORT, HDR_HOST_LEN = 4, HDR_SIZE };
enum { STATUS_DATAGRAM = 0, STATUS_TOO_LONG = 1 };

/* The family of a numeric address (4 or 6), 0 if host is none. inet_pton, as
 * natively: a bad address is TIDE_EINVAL at once, not after a round trip. */
static int numeric_family(const char *host) {
  unsigned char raw[16];
  if (host == NULL) return 0;
  if (inet_pton(AF_INET, host, raw) == 1) return 4;
  if (inet_pton(AF_INET6, host, raw) == 1) return 6;
  return 0;
}

/* The message of TIDE_ENOSYS when the host lacks the functions. */
#define UNAVAILABLE "UDP is not available on this host (no node:dgram)"

static void free_block(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* --- The socket ----------------------------------------------------------- */

/* Invariants:
 * - id != 0 once the host has a socket for this one, until udp_close has been
 *   asked for.
 * - op_pending: op is a pending host operation (the open, a receive, or the
 *   close) whose done callback is op_cb; at most one of them at a time.
 * - user: the caller's future that the pending open or receive completes; it
 *   carries a cancel hook of ours. NULL otherwise.
 * - held != NULL: a receive answer (held_len bytes, header and all) that
 *   reached C for a receive cancelled before it completed: the next receive
 *   takes it, close frees it.
 * - max and from describe the current receive.
 * - sends: the sends in flight (udp_send below), oldest first.
 * - closed: tide_udp_close was called; the close call runs on op, then reg is
 *   closed and its callback frees the socket. */
struct tide_udp {
  tide_timer reg; /* never started; reg.handle.data points back at the socket */
  tide_loop *loop;
  int64_t id;
  int port;
  int family; /* 4 or 6 */
  int closed;
  tide_future op;
  int op_pending;
  tide_future_cb op_cb;
  tide_future *user;
  size_t max;
  tide_address *from;
  unsigned char *held;
  size_t held_len;
  tide__qnode sends;
};

static int udp_op(tide_udp *u, const char *name, const tide_value *args, size_t nargs,
                  tide_future_cb cb) {
  assert(!u->op_pending);
  int rc = tide__host_op(u->loop, &u->op, name, args, nargs, cb, u);
  if (rc == 0) {
    u->op_pending = 1;
    u->op_cb = cb;
  }
  return rc;
}

static void udp_freed(tide_handle *h) {
  tide_udp *u = h->data;
  tide_loop_dealloc(u->loop, u->held);
  tide_loop_dealloc(u->loop, u);
}

static void on_closed(tide_future *f, void *ud) {
  tide_udp *u = ud;
  (void)tide_future_result(f, NULL); /* observed: a failed close is not reported */
  tide_future_release(f);
  u->op_pending = 0;
  tide_handle_close(&u->reg.handle, udp_freed);
}

/* Let go of the socket: ask the host to close its socket, then close the
 * registration (which frees it). If the close cannot even be asked for (out of
 * memory), the host's socket goes when the runtime closes. */
static void teardown(tide_udp *u) {
  if (u->id != 0) {
    tide_value id = tide_value_int(u->id);
    u->id = 0;
    if (udp_op(u, FN_CLOSE, &id, 1, on_closed) == 0) return;
  }
  tide_handle_close(&u->reg.handle, udp_freed);
}

/* Take the caller's future out of the socket (its hook removed). */
static tide_future *take_user(tide_udp *u) {
  tide_future *f = u->user;
  u->user = NULL;
  if (f != NULL) tide_future_set_cancel_hook(f, NULL, NULL);
  return f;
}

/* The id and port an open answered: 0, its error, or TIDE_EINVAL for a value
 * that is no socket. */
static int take_open_answer(tide_future *f, int64_t *out_id, int *out_port) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  double d = v.type == TIDE_VALUE_DOUBLE ? v.as.d : -1;
  if (!(d >= PORT_SPAN && d < MAX_EXACT) || (double)(int64_t)d != d) return TIDE_EINVAL;
  *out_id = (int64_t)(d / PORT_SPAN);
  *out_port = (int)(d - (double)*out_id * PORT_SPAN);
  return 0;
}

/* The pending open or receive op is abandoned. If its answer already reached C
 * (the op is done, its callback not run), what it brought is kept: the new
 * socket's id (to be closed) or the datagram (for the next receive). A pending
 * op is cancelled: the host then undoes its part (ABI.md). */
static void drop_op(tide_udp *u) {
  if (!u->op_pending) return;
  tide_future_remove_done_callback(&u->op, u->op_cb, u);
  u->op_pending = 0;
  if (tide_future_done(&u->op)) {
    int port;
    void *data;
    size_t len;
    /* No id yet: this was the open. An id: this was a receive. */
    if (u->id == 0)
      (void)take_open_answer(&u->op, &u->id, &port);
    else if (tide_future_take_bytes(&u->op, &data, &len) == 0) {
      u->held = data;
      u->held_len = len;
    }
    (void)tide_future_result(&u->op, NULL); /* an error is not reported */
  }
  tide_future_release(&u->op);
}

/* --- Open, port, close ---------------------------------------------------- */

static void on_opened(tide_future *f, void *ud) {
  tide_udp *u = ud;
  u->op_pending = 0;
  int rc = take_open_answer(f, &u->id, &u->port);
  tide_future *user = take_user(u);
  assert(user != NULL);
  if (rc == 0) {
    tide_future_release(f);
    tide_future_set_ptr(user, u);
    return;
  }
  tide_future_set_error(user, tide__host_code(rc),
                        rc == TIDE_EINVAL ? "the host's udp_open answer is no socket"
                                          : tide__host_message(f, rc, UNAVAILABLE));
  tide_future_release(f);
  teardown(u);
}

/* The open's future was cancelled (or released) before the socket was handed
 * out: nobody can close it, so it goes now. */
static void open_cancelled(tide_future *f, void *ud) {
  tide_udp *u = ud;
  (void)f;
  u->user = NULL;
  drop_op(u);
  teardown(u);
}

int tide_udp_open(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  int family = numeric_family(host);
  if (family == 0 || port < 0 || port > 65535) return TIDE_EINVAL;
  tide_udp *u = tide_loop_alloc(loop, sizeof *u);
  if (u == NULL) return TIDE_ENOMEM;
  memset(u, 0, sizeof *u);
  int rc = tide_timer_init(loop, &u->reg);
  if (rc != 0) {
    tide_loop_dealloc(loop, u);
    return rc;
  }
  u->reg.handle.data = u;
  u->loop = loop;
  u->family = family;
  tide__q_init(&u->sends);
  tide_value args[2];
  args[0] = tide_value_string(host);
  args[1] = tide_value_int(port);
  rc = udp_op(u, FN_OPEN, args, 2, on_opened);
  if (rc != 0) {
    tide_handle_close(&u->reg.handle, udp_freed);
    return rc;
  }
  u->user = future;
  tide_future_set_cancel_hook(future, open_cancelled, u);
  return 0;
}

int tide_udp_port(const tide_udp *u) {
  assert(u != NULL);
  return u->port;
}

static void fail_sends(tide_udp *u);

void tide_udp_close(tide_udp *u) {
  assert(u != NULL && !u->closed && "tide_udp_close called twice");
  u->closed = 1;
  tide_future *receiver = take_user(u);
  drop_op(u); /* a datagram already in C is held, and freed with the socket */
  if (receiver != NULL) tide_future_cancel(receiver);
  fail_sends(u);
  teardown(u);
}

/* --- Receiving ------------------------------------------------------------ */

/* Hand a receive answer (block, len bytes, from the loop's allocator; taken
 * over here) to f: the sender's address is stored first, then f completes with
 * BYTES (the datagram moved to the block's front: a zero-length one still has
 * a real pointer, the header's), TIDE_EMSGSIZE (longer than max: dropped), or
 * TIDE_EINVAL for an answer that breaks the format. */
static void deliver(tide_udp *u, tide_future *f, unsigned char *block, size_t len) {
  tide_address a;
  size_t n = len >= HDR_SIZE ? block[HDR_HOST_LEN] : 0;
  memset(&a, 0, sizeof a);
  if (n > 0 && n < sizeof a.host && HDR_SIZE + n <= len) {
    memcpy(a.host, block + HDR_SIZE, n);
    a.family = block[HDR_FAMILY];
    a.port = block[HDR_PORT] | block[HDR_PORT + 1] << 8;
  }
  int status = len >= HDR_SIZE ? block[HDR_STATUS] : -1;
  if (a.family == 0 || numeric_family(a.host) != a.family ||
      (status != STATUS_DATAGRAM && status != STATUS_TOO_LONG)) {
    tide_loop_dealloc(u->loop, block);
    tide_future_set_error(f, TIDE_EINVAL, "the host's udp_recv answer is no datagram");
    return;
  }
  size_t size = len - HDR_SIZE - n;
  if (u->from != NULL) *u->from = a;
  /* The host checks max itself; C checks again rather than trust it. */
  if (status == STATUS_TOO_LONG || size > u->max) {
    tide_loop_dealloc(u->loop, block);
    tide_future_set_error(f, TIDE_EMSGSIZE, NULL);
    return;
  }
  memmove(block, block + HDR_SIZE + n, size);
  tide_future_set_bytes(f, block, size, free_block, u->loop);
}

static void on_received(tide_future *f, void *ud) {
  tide_udp *u = ud;
  void *data;
  size_t len;
  u->op_pending = 0;
  tide_future *user = take_user(u);
  assert(user != NULL);
  int rc = tide_future_take_bytes(f, &data, &len);
  if (rc == 0) {
    tide_future_release(f);
    deliver(u, user, data, len);
    return;
  }
  if (rc == TIDE_ESTATE)
    tide_future_set_error(user, TIDE_EINVAL, "the host's udp_recv answer is no datagram");
  else
    tide_future_set_error(user, tide__host_code(rc), tide__host_message(f, rc, UNAVAILABLE));
  tide_future_release(f);
}

/* The receive's future was cancelled or released: the host puts back the
 * datagram it may have picked, or C holds it if it has it already. */
static void recv_cancelled(tide_future *f, void *ud) {
  tide_udp *u = ud;
  (void)f;
  u->user = NULL;
  drop_op(u);
}

int tide_udp_recv(tide_udp *u, size_t max, tide_address *from, tide_future *future) {
  assert(u != NULL && future != NULL && !tide_future_done(future));
  if (u->closed) return TIDE_ECLOSED;
  if (u->user != NULL) return TIDE_EBUSY;
  u->max = max == 0 || max > MAX_RECV ? MAX_RECV : max;
  u->from = from;
  if (u->held != NULL) {
    unsigned char *block = u->held;
    u->held = NULL;
    deliver(u, future, block, u->held_len);
    return 0;
  }
  tide_value args[2];
  args[0] = tide_value_int(u->id);
  args[1] = tide_value_int((int64_t)u->max);
  int rc = udp_op(u, FN_RECV, args, 2, on_received);
  if (rc != 0) return rc;
  u->user = future;
  tide_future_set_cancel_hook(future, recv_cancelled, u);
  return 0;
}

/* --- Sending -------------------------------------------------------------- */

/* One send in flight: its host op and the caller's future (NULL for a send
 * without one: a failure is reported to the loop's error handler). The bytes
 * are not kept: the host copied them when the call was made. */
typedef struct udp_send {
  tide__qnode link;
  tide_udp *udp;
  tide_future *user;
  size_t len;
  tide_future op;
} udp_send;

#define SEND_OF(node) tide__container_of(node, udp_send, link)

static void on_sent(tide_future *f, void *ud) {
  udp_send *s = ud;
  tide_loop *loop = s->udp->loop;
  tide__q_remove(&s->link);
  int rc = tide_future_result(f, NULL);
  if (s->user != NULL) {
    tide_future_set_cancel_hook(s->user, NULL, NULL);
    if (rc == 0)
      tide_future_set_int(s->user, (int64_t)s->len);
    else
      tide_future_set_error(s->user, tide__host_code(rc), tide__host_message(f, rc, UNAVAILABLE));
  } else if (rc != 0) {
    /* User code, which may close the socket: s is out of its list already. */
    tide_loop_report(loop, tide__host_code(rc), "udp send failed", tide__host_message(f, rc, UNAVAILABLE));
  }
  tide_future_release(f);
  tide_loop_dealloc(loop, s);
}

/* Forget s: its op is released (a pending one is cancelled: if the host has
 * not started it, the datagram is never sent). */
static void drop_send(udp_send *s) {
  tide_loop *loop = s->udp->loop;
  tide__q_remove(&s->link);
  tide_future_remove_done_callback(&s->op, on_sent, s);
  (void)tide_future_result(&s->op, NULL); /* an error nobody waits for */
  tide_future_release(&s->op);
  tide_loop_dealloc(loop, s);
}

static void send_cancelled(tide_future *f, void *ud) {
  (void)f;
  drop_send(ud);
}

/* The socket closes: every send in flight completes with TIDE_ECANCELED
 * (those without a future unreported). The futures complete after the list is
 * emptied: their done callbacks run later, from the loop, but stay in order. */
static void fail_sends(tide_udp *u) {
  while (!tide__q_empty(&u->sends)) {
    udp_send *s = SEND_OF(u->sends.next);
    tide_future *user = s->user;
    if (user != NULL) tide_future_set_cancel_hook(user, NULL, NULL);
    drop_send(s);
    if (user != NULL) tide_future_cancel(user);
  }
}

int tide_udp_send(tide_udp *u, const void *data, size_t len, const char *host, int port,
                  tide_future *future) {
  assert(u != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (u->closed) return TIDE_ECLOSED;
  if (len > MAX_SEND) return TIDE_EMSGSIZE;
  if (port < 1 || port > 65535) return TIDE_EINVAL;
  /* The destination must be of the socket's family, as natively: an IPv6
   * socket reaches IPv4 peers at ::ffff:a.b.c.d. */
  if (numeric_family(host) != u->family) return TIDE_EINVAL;
  udp_send *s = tide_loop_alloc(u->loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  s->udp = u;
  s->user = future;
  s->len = len;
  tide_value args[4];
  args[0] = tide_value_int(u->id);
  args[1] = tide_value_bytes(len > 0 ? data : "", len);
  args[2] = tide_value_string(host);
  args[3] = tide_value_int(port);
  int rc = tide__host_op(u->loop, &s->op, FN_SEND, args, 4, on_sent, s);
  if (rc != 0) {
    tide_loop_dealloc(u->loop, s);
    return rc;
  }
  tide__q_insert_tail(&u->sends, &s->link);
  if (future != NULL) tide_future_set_cancel_hook(future, send_cancelled, s);
  return 0;
}
