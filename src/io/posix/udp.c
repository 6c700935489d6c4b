/* udp.c: UDP sockets on the native host: open, receive, close, and the one io
 * watcher a socket owns (the object is in udp.h, sending in udp_send.c).
 *
 * Receiving: each readiness makes one recvmsg() into the socket's scratch
 * buffer (64 KiB, more than the longest datagram, allocated by the first
 * receive), and the datagram is then copied into a block of its own size for
 * the future: a long-lived result does not pin 64 KiB. If that block cannot be
 * allocated, the datagram is held in the scratch buffer for the next receive,
 * so running out of memory loses nothing. A receive never reads the socket
 * inline: a task receiving in a loop under a flood of datagrams would never
 * suspend, and would starve the loop.
 *
 * On WASI (no datagram sockets in preview1) every function is a stub returning
 * TIDE_ENOSYS (enosys/no_sockets.c), so the API links there too. The JS host
 * has its own implementation over node:dgram (hostcall/host_udp.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "read_buffer.h"
#include "udp.h"

/* The receive buffer, and the default max: longer than any datagram (an IPv6
 * jumbogram aside, which is reported as too long). */
#define SCRATCH_SIZE ((size_t)65536)

static void on_io(tide_io *io, unsigned events);

/* --- the watcher ------------------------------------------------------------ */

int tide__udp_watch(tide_udp *u) {
  unsigned want = (u->receiver != NULL ? TIDE_READABLE : 0u) |
                  (tide__q_empty(&u->sends) ? 0u : TIDE_WRITABLE);
  if (u->fd < 0 || want == u->watching) return 0;
  if (want == 0) {
    tide_io_stop(&u->io);
    u->watching = 0;
    return 0;
  }
  int rc = tide_io_start(&u->io, want, on_io);
  if (rc == 0) u->watching = want;
  return rc;
}

static void take_receiver(tide_udp *u) {
  tide_future_set_cancel_hook(u->receiver, NULL, NULL);
  u->receiver = NULL;
}

/* After a completion or a cancel the interest only narrows, which the caller
 * cannot be told about if it fails (epoll_ctl refusing a MOD): then nothing
 * that waits could ever be served, so it fails now rather than hang. */
void tide__udp_rewatch(tide_udp *u) {
  int rc = tide__udp_watch(u);
  if (rc == 0) return;
  tide_io_stop(&u->io);
  u->watching = 0;
  if (u->receiver != NULL) {
    tide_future *f = u->receiver;
    take_receiver(u);
    tide_future_set_error(f, rc, NULL);
  }
  tide__udp_fail_sends(u, rc);
}

/* --- open, port, close ------------------------------------------------------ */

/* A datagram socket bound to addr: its fd, or a TIDE_E* (*out_port set). */
static int bind_socket(const tide__sockaddr *addr, int *out_port) {
  int fd = tide__socket_new(addr->ss.ss_family, SOCK_DGRAM);
  if (fd < 0) return fd;
  if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
    int rc = tide__errno_code(errno);
    (void)close(fd);
    return rc;
  }
  *out_port = tide__socket_port(fd);
  if (*out_port < 0) {
    (void)close(fd);
    return *out_port;
  }
  return fd;
}

int tide_udp_open(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  tide__sockaddr addr;
  int rc = tide__sockaddr_parse(host, port, 0, &addr);
  if (rc != 0) return rc;
  tide_udp *u = tide_loop_alloc(loop, sizeof *u);
  if (u == NULL) return TIDE_ENOMEM;
  memset(u, 0, sizeof *u);
  int fd = bind_socket(&addr, &u->port);
  if (fd < 0) {
    tide_loop_dealloc(loop, u);
    /* The kernel out of memory is the caller's TIDE_ENOMEM, as the loop's. */
    return fd == TIDE_ENOMEM ? fd : tide_future_set_error(future, fd, NULL);
  }
  rc = tide_io_init(loop, &u->io, fd); /* cannot fail: fd >= 0 */
  assert(rc == 0);
  u->io.handle.data = u;
  u->loop = loop;
  u->fd = fd;
  u->family = addr.ss.ss_family;
  tide__q_init(&u->sends);
  return tide_future_set_ptr(future, u);
}

int tide_udp_port(const tide_udp *u) {
  assert(u != NULL);
  return u->port;
}

static void udp_freed(tide_handle *h) {
  tide_udp *u = h->data;
  tide_loop_dealloc(u->loop, u->scratch);
  tide_loop_dealloc(u->loop, u);
}

void tide_udp_close(tide_udp *u) {
  assert(u != NULL && u->fd >= 0 && "tide_udp_close called twice");
  if (u->receiver != NULL) {
    tide_future *f = u->receiver;
    take_receiver(u);
    tide_future_cancel(f);
  }
  tide__udp_fail_sends(u, TIDE_ECANCELED);
  /* Closing the handle stops the watcher (the backend forgets the fd) now, so
   * the socket can be closed at once and the port is free when this returns. */
  tide_handle_close(&u->io.handle, udp_freed);
  (void)close(u->fd);
  u->fd = -1;
}

/* --- receiving -------------------------------------------------------------- */

/* Tell the current receive who sent the held datagram. */
static void store_from(tide_udp *u) {
  if (u->from != NULL)
    (void)tide__sockaddr_format((const struct sockaddr *)&u->held_addr, u->from);
}

/* Hand the held datagram to f: BYTES (a block of at least 1 byte, so an empty
 * datagram has a non-NULL pointer), or TIDE_EMSGSIZE when it is longer than
 * max (it is dropped). The sender's address is stored first in both cases.
 * Returns 0 (f completed) or TIDE_ENOMEM (still held; f untouched). */
static int deliver(tide_udp *u, tide_future *f) {
  if (u->held_len > u->max) {
    u->held = 0;
    store_from(u);
    return tide_future_set_error(f, TIDE_EMSGSIZE, NULL);
  }
  void *block = tide_loop_alloc(u->loop, u->held_len > 0 ? u->held_len : 1);
  if (block == NULL) return TIDE_ENOMEM;
  memcpy(block, u->scratch, u->held_len);
  u->held = 0;
  store_from(u);
  return tide_future_set_bytes(f, block, u->held_len, tide__rbuf_free_bytes, u->loop);
}

/* One recvmsg() into the scratch buffer: 0 (now held), TIDE_EAGAIN, or the
 * socket's error (an ICMP error queued by an earlier send, say). */
static int receive(tide_udp *u) {
  struct iovec iov = {u->scratch, SCRATCH_SIZE};
  struct msghdr msg;
  ssize_t n;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &u->held_addr;
  msg.msg_namelen = sizeof u->held_addr;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  do
    n = recvmsg(u->fd, &msg, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? TIDE_EAGAIN
                                                   : tide__errno_code(errno);
  u->held = 1;
  u->held_len = (msg.msg_flags & MSG_TRUNC) ? SIZE_MAX : (size_t)n;
  return 0;
}

/* The READABLE half of the io callback: one datagram (or error) for the
 * waiting receive. */
static void on_readable(tide_udp *u) {
  int rc = receive(u);
  if (rc == TIDE_EAGAIN) return; /* spurious: wait on */
  tide_future *f = u->receiver;
  take_receiver(u);
  if (rc == 0) rc = deliver(u, f); /* TIDE_ENOMEM: the datagram waits, held */
  if (rc != 0) tide_future_set_error(f, rc, NULL);
}

/* The receive's future was cancelled or released: nothing was read for it. */
static void recv_cancelled(tide_future *f, void *ud) {
  tide_udp *u = ud;
  (void)f;
  u->receiver = NULL;
  tide__udp_rewatch(u);
}

int tide_udp_recv(tide_udp *u, size_t max, tide_address *from, tide_future *future) {
  assert(u != NULL && future != NULL && !tide_future_done(future));
  if (u->fd < 0) return TIDE_ECLOSED;
  if (u->receiver != NULL) return TIDE_EBUSY;
  if (u->scratch == NULL) {
    u->scratch = tide_loop_alloc(u->loop, SCRATCH_SIZE);
    if (u->scratch == NULL) return TIDE_ENOMEM;
  }
  u->max = max == 0 || max > SCRATCH_SIZE ? SCRATCH_SIZE : max;
  u->from = from;
  if (u->held) return deliver(u, future);
  u->receiver = future;
  int rc = tide__udp_watch(u);
  if (rc != 0) {
    u->receiver = NULL;
    return rc;
  }
  tide_future_set_cancel_hook(future, recv_cancelled, u);
  return 0;
}

/* --- the io callback -------------------------------------------------------- */

/* Receive first, then send. Sending may run user code (an error report) that
 * closes the socket: then fd < 0, and rewatching does nothing. */
static void on_io(tide_io *io, unsigned events) {
  tide_udp *u = io->handle.data;
  if (u->receiver != NULL && (events & (TIDE_READABLE | TIDE_HANGUP | TIDE_IOERROR)))
    on_readable(u);
  if (events & (TIDE_WRITABLE | TIDE_IOERROR)) tide__udp_flush(u);
  tide__udp_rewatch(u);
}
