/* http10.c: a small HTTP/1.0 responder, one task per connection.
 *
 *   http10 [HOST [PORT]] [--count N] [--header-timeout MS]
 *
 * Listens on HOST:PORT (default 127.0.0.1, port 0: any free port), prints
 * "listening on HOST:PORT", and answers each connection with one response, then
 * closes it (HTTP/1.0: no keep-alive). With --count N it exits after N
 * connections. Routes:
 *
 *   GET /            200 "hello from tideloop\n"
 *   GET /echo/TEXT   200 TEXT and a newline
 *   HEAD (either)    the same headers, no body
 *   anything else    404; a method other than GET or HEAD: 501
 *
 * It is strict about its input, as a server facing a network must be:
 * - a request line or header longer than 4 KiB: 431, and more than 64
 *   header lines: 431;
 * - a request line that is not "METHOD SP TARGET SP HTTP/1.x", a target that
 *   does not start with "/", bytes other than visible ASCII in it, or a header
 *   line without a colon: 400;
 * - a client that has not sent its whole head within --header-timeout ms
 *   (default 5000; slowloris): 408;
 * - a client that vanishes mid-request costs nothing but its own task.
 * Every error response is sent with "Connection: close" and the connection is
 * closed after it, so nothing a client sends can desynchronise the server.
 *
 * One source (TIDE_MAIN) for native and the JS host (node:net). ctest drives it
 * with valid and malformed requests (examples/check-http.mjs) on both.
 *
 * What it shows: line-based parsing on a stream (tide_stream_read_line with a
 * limit, TIDE_EMSGSIZE for an over-long line), a per-connection deadline
 * (tide_task_timeout_begin/end), half-close after the response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

enum {
  MAX_LINE = 4096,
  MAX_HEADERS = 64,
  MAX_BODY = 512,
  LINGER_MS = 1000
};

static long header_timeout_ms = 5000;

static int parse_long(const char *s, long min, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* --- the request -------------------------------------------------------------- */

struct request {
  int head_only;     /* HEAD */
  int status;        /* 0 until the request line is read */
  char body[MAX_BODY];
};

/* Visible ASCII only: no controls, spaces or bytes >= 0x80 in a target. */
static int visible(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return 0;
  return 1;
}

/* Decide the response from the request line "METHOD SP TARGET SP VERSION". */
static void route(struct request *rq, const char *line, size_t len) {
  const char *sp1 = memchr(line, ' ', len);
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
  if (sp1 == NULL || sp2 == NULL) {
    rq->status = 400;
    return;
  }
  size_t mlen = (size_t)(sp1 - line);
  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  const char *version = sp2 + 1;
  size_t vlen = len - (size_t)(version - line);
  if (mlen == 0 || !visible(line, mlen) || tlen == 0 || target[0] != '/' ||
      !visible(target, tlen) || vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
      (version[7] != '0' && version[7] != '1')) {
    rq->status = 400;
    return;
  }
  if (mlen == 4 && memcmp(line, "HEAD", 4) == 0) {
    rq->head_only = 1;
  } else if (!(mlen == 3 && memcmp(line, "GET", 3) == 0)) {
    rq->status = 501;
    return;
  }
  if (tlen == 1) {
    rq->status = 200;
    snprintf(rq->body, sizeof rq->body, "hello from tideloop\n");
  } else if (tlen > 6 && memcmp(target, "/echo/", 6) == 0 && tlen - 6 < MAX_BODY - 1) {
    rq->status = 200;
    memcpy(rq->body, target + 6, tlen - 6);
    rq->body[tlen - 6] = '\n';
    rq->body[tlen - 5] = '\0';
  } else {
    rq->status = 404;
  }
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 408: return "Request Timeout";
  case 431: return "Request Header Fields Too Large";
  case 501: return "Not Implemented";
  default: return "Internal Server Error";
  }
}

/* Judge line number n of the head: the request line routes the request, a
 * header line must have a colon. Returns 1 when reading the head must stop: at
 * its empty last line, or at an error that leaves no framing to trust. */
static int judge_line(struct request *rq, int n, const tide_value *line) {
  const char *text = line->as.bytes.data;
  size_t len = line->as.bytes.len;
  if (n == 0) {
    route(rq, text, len);
    return rq->status == 400;
  }
  if (len == 0) return 1;
  if (memchr(text, ':', len) == NULL) {
    rq->status = 400;
    return 1;
  }
  return 0;
}

/* --- a connection --------------------------------------------------------------- */

struct conn {
  tide_stream *s;
  tide_timeout scope; /* the header deadline, then the lingering close's */
  struct request rq;
  tide_future f;
  tide_value v;
  int rc;
  int lines;
  int end_of_head;
  char out[MAX_BODY + 256];
};

/* Read the request head (the request line, then header lines up to the empty
 * line) within the header timeout, answer, half-close, and drain what the
 * client still sends until it closes (at most LINGER_MS): closing a socket with
 * unread input makes the kernel send a reset, which can destroy the response
 * before the client reads it (the "lingering close" of Apache and nginx). */
static int conn_main(tide_task *t, void *frame) {
  struct conn *c = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &c->scope, header_timeout_ms);
  for (c->lines = 0;; c->lines++) {
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_read_line(c->s, MAX_LINE, &c->f);
    if (c->rc == 0) {
      TIDE_AWAIT(t, &c->f, c->rc);
    }
    if (c->rc == 0) (void)tide_future_result(&c->f, &c->v);
    c->end_of_head = c->rc == 0 && judge_line(&c->rq, c->lines, &c->v);
    tide_future_release(&c->f);
    if (c->rc == TIDE_EMSGSIZE) {
      c->rq.status = 431;
      c->rc = 0;
      break;
    }
    /* EOF or a reset: the client is gone; or the timeout cancelled the read. */
    if (c->rc != 0 || c->end_of_head) break;
    /* Line n > 0 was header line n and not the empty last one: n past
     * MAX_HEADERS is one header too many (exactly MAX_HEADERS are fine). */
    if (c->lines >= MAX_HEADERS + 1) {
      c->rq.status = 431;
      break;
    }
  }
  tide_task_timeout_end(t, &c->scope, &c->rc);
  if (c->rc == TIDE_ETIMEDOUT)
    c->rq.status = 408;
  else if (c->rc != 0)
    goto done;
  {
    size_t body_len = c->rq.status == 200 ? strlen(c->rq.body) : 0;
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.0 %d %s\r\nServer: tideloop\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     c->rq.status, reason(c->rq.status), body_len,
                     c->rq.head_only || c->rq.status != 200 ? "" : c->rq.body);
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_write(c->s, c->out, (size_t)n, &c->f);
  }
  if (c->rc == 0) {
    TIDE_AWAIT(t, &c->f, c->rc);
  }
  tide_future_release(&c->f);
  if (c->rc != 0 || tide_stream_shutdown(c->s, NULL) != 0) goto done;
  tide_task_timeout_begin(t, &c->scope, LINGER_MS);
  do {
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_read(c->s, 0, &c->f);
    if (c->rc == 0) {
      TIDE_AWAIT(t, &c->f, c->rc);
    }
    tide_future_release(&c->f);
  } while (c->rc == 0);
  tide_task_timeout_end(t, &c->scope, &c->rc);

done:
  tide_stream_close(c->s, NULL);
  TIDE_END(t);
}

/* --- the server ------------------------------------------------------------------- */

struct server {
  const char *host;
  long port;
  long remaining; /* connections still to serve; < 0: no limit */
  tide_tcp_listener *listener;
  tide_future f;
  tide_value v;
  int rc;
};

static int server_main(tide_task *t, void *frame) {
  struct server *srv = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_future_init(loop, &srv->f);
  srv->rc = tide_tcp_listen(loop, srv->host, (int)srv->port, 0, &srv->f);
  if (srv->rc == 0) {
    TIDE_AWAIT(t, &srv->f, srv->rc);
  }
  if (srv->rc == 0) (void)tide_future_result(&srv->f, &srv->v);
  tide_future_release(&srv->f);
  if (srv->rc != 0) {
    fprintf(stderr, "http10: listen: %s\n", tide_strerror(srv->rc));
    tide_main_exit(loop, 1);
    TIDE_RETURN(t);
  }
  srv->listener = srv->v.as.p;
  printf("listening on %s:%d\n", srv->host, tide_tcp_listener_port(srv->listener));
  fflush(stdout);
  while (srv->remaining != 0) {
    tide_future_init(loop, &srv->f);
    srv->rc = tide_tcp_accept(srv->listener, &srv->f);
    if (srv->rc == 0) {
      TIDE_AWAIT(t, &srv->f, srv->rc);
    }
    if (srv->rc == 0) (void)tide_future_result(&srv->f, &srv->v);
    tide_future_release(&srv->f);
    if (srv->rc == TIDE_EMFILE || srv->rc == TIDE_ENOMEM) {
      /* The connection waits in the backlog while others finish. */
      TIDE_SLEEP(t, 100, srv->rc);
      if (srv->rc != 0) break;
      continue;
    }
    if (srv->rc != 0) {
      fprintf(stderr, "http10: accept: %s\n", tide_strerror(srv->rc));
      tide_main_exit(loop, 1);
      break;
    }
    if (srv->remaining > 0) srv->remaining--;
    struct conn init;
    memset(&init, 0, sizeof init);
    init.s = srv->v.as.p;
    if (tide_task_spawn(loop, conn_main, &init, sizeof init, NULL) != 0)
      tide_stream_close(init.s, NULL); /* out of memory: drop the connection */
  }
  tide_tcp_listener_close(srv->listener);
  TIDE_END(t);
}

static int usage(tide_loop *loop) {
  fprintf(stderr, "usage: http10 [HOST [PORT]] [--count N] [--header-timeout MS]\n");
  tide_main_exit(loop, 2);
  return 0;
}

static int setup(tide_loop *loop, int argc, char **argv) {
  struct server srv;
  const char *pos[2] = {"127.0.0.1", "0"};
  int npos = 0;
  memset(&srv, 0, sizeof srv);
  srv.remaining = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      if (parse_long(argv[++i], 1, 1000000000L, &srv.remaining) != 0) return usage(loop);
    } else if (strcmp(argv[i], "--header-timeout") == 0 && i + 1 < argc) {
      if (parse_long(argv[++i], 1, 3600000L, &header_timeout_ms) != 0) return usage(loop);
    } else if (npos < 2 && argv[i][0] != '-') {
      pos[npos++] = argv[i];
    } else {
      return usage(loop);
    }
  }
  srv.host = pos[0];
  if (parse_long(pos[1], 0, 65535, &srv.port) != 0) return usage(loop);
  return tide_task_spawn(loop, server_main, &srv, sizeof srv, NULL);
}

TIDE_MAIN(setup)
