/* udp_send.c: tide_udp_send: a FIFO of copied datagrams, flushed on WRITABLE.
 *
 * Each datagram goes out with one sendto(), which sends it whole or fails it
 * alone: one bad destination does not fail the sends queued after it. Nothing
 * is ever half sent, so cancelling a queued send simply removes it.
 *
 * Native only: see udp.c for the other hosts.
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "udp.h"

/* The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define MAX_SEND ((size_t)65507)

/* One queued datagram: the node, its destination and a copy of the bytes in
 * one allocation. future is NULL for a send without one. */
typedef struct udp_send {
  tide__qnode link;
  tide_udp *udp;
  tide_future *future;
  tide__sockaddr to;
  size_t len;
  unsigned char data[];
} udp_send;

#define SEND_OF(node) tide__container_of(node, udp_send, link)

/* A failed send without a future goes to the loop's error handler. */
static void report(tide_loop *loop, int code) {
  tide_loop_report(loop, code, "udp send failed",
                   "a tide_udp_send without a future failed");
}

/* Unlink and free s, then complete its future with INT len or code. The
 * report runs user code: the caller must expect anything to have changed. */
static void finish_send(udp_send *s, int code) {
  tide_loop *loop = s->udp->loop;
  tide_future *f = s->future;
  size_t len = s->len;
  tide__q_remove(&s->link);
  tide_loop_dealloc(loop, s);
  if (f == NULL) {
    if (code != 0 && code != TIDE_ECANCELED) report(loop, code);
    return;
  }
  tide_future_set_cancel_hook(f, NULL, NULL);
  if (code == 0)
    tide_future_set_int(f, (int64_t)len);
  else
    tide_future_set_error(f, code, NULL);
}

/* The queue is moved to a local list first, since reports run user code that
 * may send or close meanwhile. */
void tide__udp_fail_sends(tide_udp *u, int code) {
  tide__qnode failed;
  tide__q_init(&failed);
  tide__q_move_all(&u->sends, &failed);
  while (!tide__q_empty(&failed))
    finish_send(SEND_OF(failed.next), code);
}

void tide__udp_flush(tide_udp *u) {
  while (u->fd >= 0 && !tide__q_empty(&u->sends)) {
    udp_send *s = SEND_OF(u->sends.next);
    ssize_t r;
    do
      r = sendto(u->fd, s->data, s->len, 0, (struct sockaddr *)&s->to.ss, s->to.len);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    /* A datagram socket sends all of it or nothing: r is len or an error. */
    finish_send(s, r < 0 ? tide__errno_code(errno) : 0);
  }
}

/* The send's future was cancelled or released: nothing of it went out, since a
 * datagram is sent by one call, so it is dropped. */
static void send_cancelled(tide_future *f, void *ud) {
  udp_send *s = ud;
  tide_udp *u = s->udp;
  (void)f;
  tide__q_remove(&s->link);
  tide_loop_dealloc(u->loop, s);
  tide__udp_rewatch(u);
}

int tide_udp_send(tide_udp *u, const void *data, size_t len, const char *host, int port,
                  tide_future *future) {
  assert(u != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (u->fd < 0) return TIDE_ECLOSED;
  if (len > MAX_SEND) return TIDE_EMSGSIZE;
  tide__sockaddr to;
  int rc = tide__sockaddr_parse(host, port, 1, &to);
  if (rc != 0) return rc;
  /* The destination must be of the socket's family. An IPv6 socket reaches
   * IPv4 peers through their mapped address (::ffff:a.b.c.d), as the kernel
   * reports them to it; taking a plain IPv4 one would work on some hosts only
   * (Linux, unless IPV6_V6ONLY) and fail through the future elsewhere. */
  if (to.ss.ss_family != u->family) return TIDE_EINVAL;
  udp_send *s = tide_loop_alloc(u->loop, sizeof *s + len);
  if (s == NULL) return TIDE_ENOMEM;
  s->udp = u;
  s->future = future;
  s->to = to;
  s->len = len;
  if (len > 0) memcpy(s->data, data, len);
  tide__q_insert_tail(&u->sends, &s->link);
  rc = tide__udp_watch(u);
  if (rc != 0) {
    tide__q_remove(&s->link);
    tide_loop_dealloc(u->loop, s);
    return rc;
  }
  if (future != NULL) tide_future_set_cancel_hook(future, send_cancelled, s);
  return 0;
}
