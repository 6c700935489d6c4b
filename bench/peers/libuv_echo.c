/* libuv_echo.c: W6's libuv echo server, the idiomatic way (as libuv's own
 * test/echo-server.c and its documentation's echo server): uv_listen, and on each
 * connection uv_read_start with a malloc'd buffer per read, and a uv_write of
 * what was read, freed in the write's callback.
 *
 *   libuv_echo server HOST PORT     (HOST: 127.0.0.1; PORT 0: an ephemeral one)
 *
 * The protocol of every W6 server (bench/driver/echo-pair.mjs): it prints
 * exactly one line "listening on HOST:PORT" on stdout, flushed, and echoes
 * every connection until SIGTERM or SIGINT; then it closes everything and
 * exits 0. Connections set TCP_NODELAY, as tideloop's and Node's do.
 */
#include <uv.h>

#include "bench.h"

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigterm, sigint;

static void on_close_free(uv_handle_t *h) {
  free(h);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base != NULL ? suggested : 0;
}

static void on_written(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  uv_handle_t *client = (uv_handle_t *)req->handle;
  free(w->buf.base);
  free(w);
  if (status < 0 && !uv_is_closing(client)) uv_close(client, on_close_free);
}

static void on_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf) {
  if (nread > 0) {
    write_req *w = malloc(sizeof *w);
    if (w != NULL) {
      w->buf = uv_buf_init(buf->base, (unsigned)nread);
      if (uv_write(&w->req, client, &w->buf, 1, on_written) == 0) return;
      free(w);
    }
    fprintf(stderr, "libuv_echo: cannot write\n");
    nread = UV_ENOMEM;
  }
  free(buf->base);
  if (nread < 0 && !uv_is_closing((uv_handle_t *)client)) {
    if (nread != UV_EOF && nread != UV_ECONNRESET) {
      fprintf(stderr, "libuv_echo: read: %s\n", uv_strerror((int)nread));
    }
    uv_close((uv_handle_t *)client, on_close_free);
  }
}

static void on_connection(uv_stream_t *srv, int status) {
  if (status < 0) {
    fprintf(stderr, "libuv_echo: listen: %s\n", uv_strerror(status));
    return;
  }
  uv_tcp_t *client = malloc(sizeof *client);
  if (client == NULL) return;
  uv_tcp_init(loop, client);
  if (uv_accept(srv, (uv_stream_t *)client) != 0) {
    uv_close((uv_handle_t *)client, on_close_free);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t *)client, on_alloc, on_read);
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h)) return;
  /* Connections were malloc'd; the server and the signals are static. */
  int owned = h->type == UV_TCP && h != (uv_handle_t *)&server;
  uv_close(h, owned ? on_close_free : NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  uv_walk(loop, close_any, NULL);
}

int main(int argc, char **argv) {
  BENCH_CHECK(argc == 4 && !strcmp(argv[1], "server"),
              "usage: libuv_echo server HOST PORT");
  loop = uv_default_loop();
  struct sockaddr_in addr;
  int rc = uv_ip4_addr(argv[2], (int)strtol(argv[3], NULL, 10), &addr);
  BENCH_CHECK(rc == 0, "bad address %s:%s: %s", argv[2], argv[3], uv_strerror(rc));
  uv_tcp_init(loop, &server);
  rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
  BENCH_CHECK(rc == 0, "listen on %s:%s: %s", argv[2], argv[3], uv_strerror(rc));
  struct sockaddr_in bound;
  int len = sizeof bound;
  BENCH_CHECK(uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len) == 0,
              "getsockname");
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  printf("listening on %s:%d\n", argv[2], ntohs(bound.sin_port));
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  BENCH_CHECK(uv_loop_close(loop) == 0, "uv_loop_close: handles left");
  return 0;
}
