/* echo_client.c: W6's load generator, the one client every echo server is
 * measured with. Plain C on epoll, independent of tideloop and of the servers.
 *
 *   echo_client PORT N [CONNS [SIZE [TIMEOUT_S]]]
 *
 * Opens CONNS (default 50) TCP connections to 127.0.0.1:PORT (nothing else: the
 * host is fixed), then runs N requests in all over them, ping-pong: each
 * connection sends one SIZE-byte message (default 64), waits until exactly those
 * bytes came back, checks them byte for byte, and sends the next one while fewer
 * than N were sent. The clock runs from the first request to the last response
 * (the connects are set-up); then it closes every connection and prints the one
 * JSON line of bench/c/bench.h: {"ops": N, "ns": ..., "check": responses
 * verified, ...}. Any error, mismatch, extra byte, early close, or the
 * TIMEOUT_S deadline (default 60 s, connects included) is "FAIL: ..." on
 * stderr and exit 1: every wait is bounded, so it always stops by itself.
 *
 * Messages differ per connection and per request, so an echo from the wrong
 * connection or a stale one does not pass. Sockets are non-blocking, with
 * TCP_NODELAY (as the servers' sockets: tideloop and Node set it too).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

typedef struct conn {
  int fd;
  int connected;
  long request;       /* this connection's requests so far (message pattern) */
  int busy;           /* a request is out: sent (or being sent), not answered */
  size_t sent;        /* bytes of the current message written */
  size_t got;         /* bytes of its echo read */
  int want_out;       /* EPOLLOUT registered (connect, or a partial write) */
  unsigned char *msg; /* the current message, SIZE bytes */
  unsigned char *in;  /* its echo, SIZE + 1 (one more catches an extra byte) */
} conn;

static int epfd;
static size_t size;
static long total, issued, answered;
static uint64_t deadline;

static void fill(conn *c, long id) {
  /* Depends on the connection, the request and the position. */
  for (size_t j = 0; j < size; j++) {
    c->msg[j] =
        (unsigned char)((unsigned long)id * 131u + (unsigned long)c->request * 17u +
                        (unsigned long)j * 7u + ((unsigned long)c->request >> 8));
  }
}

static void watch(conn *c, long id, int out) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.u64 = (uint64_t)id;
  BENCH_CHECK(epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0, "epoll_ctl: %s",
              strerror(errno));
  c->want_out = out;
}

/* Write what is left of the current message; EPOLLOUT only while some is. */
static void flush(conn *c, long id) {
  while (c->sent < size) {
    ssize_t w = send(c->fd, c->msg + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    BENCH_CHECK(w > 0, "connection %ld: send: %s", id,
                w < 0 ? strerror(errno) : "wrote 0");
    c->sent += (size_t)w;
  }
  int out = c->sent < size;
  if (out != c->want_out) watch(c, id, out);
}

static void next_request(conn *c, long id) {
  if (issued >= total) return;
  issued++;
  c->busy = 1;
  c->sent = c->got = 0;
  fill(c, id);
  flush(c, id);
}

static void on_readable(conn *c, long id) {
  for (;;) {
    ssize_t r = recv(c->fd, c->in + c->got, size + 1 - c->got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    BENCH_CHECK(r >= 0, "connection %ld: recv: %s", id, strerror(errno));
    BENCH_CHECK(
        r > 0,
        "connection %ld: the server closed it after %ld requests (%zu of %zu bytes)",
        id, c->request, c->got, size);
    BENCH_CHECK(c->busy, "connection %ld: %zd bytes nobody asked for", id, r);
    c->got += (size_t)r;
    BENCH_CHECK(c->got <= c->sent,
                "connection %ld: more bytes back (%zu) than sent (%zu)", id, c->got,
                c->sent);
    if (c->got < size) continue;
    for (size_t j = 0; j < size; j++) {
      BENCH_CHECK(c->in[j] == c->msg[j],
                  "connection %ld, request %ld: byte %zu is %u, sent %u", id,
                  c->request, j, c->in[j], c->msg[j]);
    }
    answered++;
    c->request++;
    c->busy = 0;
    next_request(c, id);
    if (!c->busy) return;
  }
}

static int remaining_ms(void) {
  uint64_t now = bench_now_ns();
  return now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
}

int main(int argc, char **argv) {
  BENCH_CHECK(argc >= 3, "usage: echo_client PORT N [CONNS [SIZE [TIMEOUT_S]]]");
  long port = bench_arg(argc, argv, 1, 0);
  total = bench_arg(argc, argv, 2, 100000);
  long nconns = bench_arg(argc, argv, 3, 50);
  long sz = bench_arg(argc, argv, 4, 64);
  long timeout_s = bench_arg(argc, argv, 5, 60);
  BENCH_CHECK(port > 0 && port < 65536, "bad port %s", argv[1]);
  BENCH_CHECK(total > 0 && nconns > 0 && nconns <= 10000 && sz > 0 &&
                  sz <= (1L << 20) && timeout_s > 0 && timeout_s <= 3600,
              "bad arguments (N > 0, 0 < CONNS <= 10000, 0 < SIZE <= 1 MiB, 0 < "
              "TIMEOUT_S <= 3600)");
  size = (size_t)sz;
  deadline = bench_now_ns() + (uint64_t)timeout_s * 1000000000u;

  epfd = epoll_create1(EPOLL_CLOEXEC);
  BENCH_CHECK(epfd >= 0, "epoll_create1: %s", strerror(errno));
  conn *conns = calloc((size_t)nconns, sizeof *conns);
  BENCH_CHECK(conns != NULL, "out of memory");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */

  /* Set-up: every connection made (non-blocking, within the deadline). */
  long pending = nconns;
  for (long i = 0; i < nconns; i++) {
    conn *c = &conns[i];
    c->msg = malloc(size);
    c->in = malloc(size + 1);
    BENCH_CHECK(c->msg != NULL && c->in != NULL, "out of memory");
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    BENCH_CHECK(c->fd >= 0, "socket: %s", strerror(errno));
    int flags = fcntl(c->fd, F_GETFL);
    BENCH_CHECK(flags >= 0 && fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == 0,
                "fcntl: %s", strerror(errno));
    int one = 1;
    BENCH_CHECK(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0,
                "TCP_NODELAY: %s", strerror(errno));
    int rc = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
    BENCH_CHECK(rc == 0 || errno == EINPROGRESS, "connect to 127.0.0.1:%ld: %s", port,
                strerror(errno));
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = (uint64_t)i;
    BENCH_CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0, "epoll_ctl: %s",
                strerror(errno));
    c->want_out = 1;
  }
  struct epoll_event events[256];
  while (pending > 0) {
    int ms = remaining_ms();
    BENCH_CHECK(ms > 0, "timed out after %ld s: %ld of %ld connections made", timeout_s,
                nconns - pending, nconns);
    int k = epoll_wait(epfd, events, 256, ms);
    BENCH_CHECK(k >= 0 || errno == EINTR, "epoll_wait: %s", strerror(errno));
    for (int e = 0; e < k; e++) {
      long id = (long)events[e].data.u64;
      conn *c = &conns[id];
      if (c->connected) {
        /* Nothing was sent yet: the server has nothing to say, or closed. */
        char b;
        ssize_t r = recv(c->fd, &b, 1, MSG_PEEK);
        BENCH_CHECK(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
                    "connection %ld: %s before any request", id,
                    r == 0  ? "closed by the server"
                    : r > 0 ? "bytes"
                            : strerror(errno));
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      BENCH_CHECK(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0,
                  "SO_ERROR: %s", strerror(errno));
      BENCH_CHECK(err == 0, "connect to 127.0.0.1:%ld: %s", port, strerror(err));
      if (!(events[e].events & EPOLLOUT)) continue;
      c->connected = 1;
      pending--;
      watch(c, id, 0);
    }
  }

  /* The measure: N requests, ping-pong on every connection at once. */
  uint64_t t0 = bench_now_ns();
  for (long i = 0; i < nconns; i++)
    next_request(&conns[i], i);
  while (answered < total) {
    int ms = remaining_ms();
    BENCH_CHECK(ms > 0, "timed out after %ld s: %ld of %ld responses", timeout_s,
                answered, total);
    int k = epoll_wait(epfd, events, 256, ms);
    BENCH_CHECK(k >= 0 || errno == EINTR, "epoll_wait: %s", strerror(errno));
    for (int e = 0; e < k; e++) {
      long id = (long)events[e].data.u64;
      conn *c = &conns[id];
      uint32_t got = events[e].events;
      if (got & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, id);
      if ((got & EPOLLOUT) && c->busy && c->sent < size) flush(c, id);
    }
  }
  uint64_t t1 = bench_now_ns();

  uint64_t bytes = 0;
  for (long i = 0; i < nconns; i++) {
    BENCH_CHECK(!conns[i].busy, "connection %ld still has a request out", i);
    bytes += (uint64_t)conns[i].request * size;
    close(conns[i].fd);
    free(conns[i].msg);
    free(conns[i].in);
  }
  free(conns);
  close(epfd);
  BENCH_CHECK(answered == total && bytes == (uint64_t)total * size,
              "%ld responses (%llu bytes), expected %ld", answered,
              (unsigned long long)bytes, total);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"conns\": %ld, \"size\": %zu, "
         "\"bytes\": %llu, \"rps\": %.1f}\n",
         total, (unsigned long long)(t1 - t0), answered, nconns, size,
         (unsigned long long)bytes, (double)total * 1e9 / (double)(t1 - t0));
  return 0;
}
