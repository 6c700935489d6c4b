/* libuv_echo.c: W6's libuv echo server, the idiomatic way (as libuv's own
 * test/echo-server.c and its documentation's echo server): uv_listen, and on each
 * connection uv_read_start with a malloc'd buffer per read, and a uv_write of
 * what was read, freed in the write's callback.
 *
 *   libuv_echo server HOST PORT [--threads N]   (HOST: 127.0.0.1; PORT 0: an ephemeral one)
 *
 * With --threads N (W6's multi-core rows), N loops on N threads each listen on
 * the same port with SO_REUSEPORT, as tideloop's examples/echo.c --threads does:
 * the first binds PORT (0: the kernel picks), the others the port it got. Each
 * socket is made by uv_tcp_init_ex, so SO_REUSEPORT is set on it before
 * uv_tcp_bind (libuv has no flag for it). The main thread's loop takes the
 * signals and stops the others with uv_async_send.
 *
 * The protocol of every W6 server (bench/driver/echo-pair.mjs): it prints
 * exactly one line "listening on HOST:PORT" on stdout, flushed, and echoes
 * every connection until SIGTERM or SIGINT; then it closes everything and
 * exits 0. Connections set TCP_NODELAY, as tideloop's and Node's do.
 */
/* SO_REUSEPORT is not POSIX: glibc declares it only with its default
 * extensions, which the tree's _POSIX_C_SOURCE turns off. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <uv.h>

#include "bench.h"

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

enum { MAX_THREADS = 64 };

/* One loop, its listener and (but for loop 0) its thread and stop handle. */
typedef struct shard {
  uv_loop_t loop;
  uv_tcp_t server;
  uv_async_t stop;
  uv_thread_t thread;
} shard;

static shard shards[MAX_THREADS];
static int nthreads = 1;
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
  uv_tcp_init(srv->loop, client);
  if (uv_accept(srv, (uv_stream_t *)client) != 0) {
    uv_close((uv_handle_t *)client, on_close_free);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t *)client, on_alloc, on_read);
}

static void close_any(uv_handle_t *h, void *arg) {
  shard *sh = arg;
  if (uv_is_closing(h)) return;
  /* Connections were malloc'd; the server, the signals and the stop handle
   * are static. */
  int owned = h->type == UV_TCP && h != (uv_handle_t *)&sh->server;
  uv_close(h, owned ? on_close_free : NULL);
}

static void on_stop(uv_async_t *a) {
  shard *sh = a->data;
  uv_walk(&sh->loop, close_any, sh);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  for (int i = 1; i < nthreads; i++) uv_async_send(&shards[i].stop);
  uv_walk(&shards[0].loop, close_any, &shards[0]);
}

static void run_shard(void *arg) {
  shard *sh = arg;
  uv_run(&sh->loop, UV_RUN_DEFAULT);
}

/* Listen on addr (port: as given for loop 0, the one it got for the others). */
static int listen_shard(shard *sh, const struct sockaddr_in *addr) {
  int rc = uv_loop_init(&sh->loop);
  if (rc == 0) rc = uv_tcp_init_ex(&sh->loop, &sh->server, AF_INET);
  if (rc == 0 && nthreads > 1) {
    uv_os_fd_t fd;
    int one = 1;
    rc = uv_fileno((uv_handle_t *)&sh->server, &fd);
    if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      rc = uv_translate_sys_error(errno);
  }
  if (rc == 0) rc = uv_tcp_bind(&sh->server, (const struct sockaddr *)addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&sh->server, SOMAXCONN, on_connection);
  return rc;
}

int main(int argc, char **argv) {
  BENCH_CHECK((argc == 4 || (argc == 6 && !strcmp(argv[4], "--threads"))) &&
                  !strcmp(argv[1], "server"),
              "usage: libuv_echo server HOST PORT [--threads N]");
  if (argc == 6) nthreads = (int)strtol(argv[5], NULL, 10);
  BENCH_CHECK(nthreads >= 1 && nthreads <= MAX_THREADS, "--threads: 1 to %d", MAX_THREADS);
  struct sockaddr_in addr;
  int rc = uv_ip4_addr(argv[2], (int)strtol(argv[3], NULL, 10), &addr);
  BENCH_CHECK(rc == 0, "bad address %s:%s: %s", argv[2], argv[3], uv_strerror(rc));
  rc = listen_shard(&shards[0], &addr);
  BENCH_CHECK(rc == 0, "listen on %s:%s: %s", argv[2], argv[3], uv_strerror(rc));
  struct sockaddr_in bound;
  int len = sizeof bound;
  BENCH_CHECK(uv_tcp_getsockname(&shards[0].server, (struct sockaddr *)&bound, &len) == 0,
              "getsockname");
  addr.sin_port = bound.sin_port;
  for (int i = 1; i < nthreads; i++) {
    rc = listen_shard(&shards[i], &addr);
    BENCH_CHECK(rc == 0, "listen (thread %d): %s", i, uv_strerror(rc));
    BENCH_CHECK(uv_async_init(&shards[i].loop, &shards[i].stop, on_stop) == 0, "uv_async_init");
    shards[i].stop.data = &shards[i];
    BENCH_CHECK(uv_thread_create(&shards[i].thread, run_shard, &shards[i]) == 0,
                "uv_thread_create");
  }
  uv_signal_init(&shards[0].loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(&shards[0].loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  printf("listening on %s:%d\n", argv[2], ntohs(bound.sin_port));
  fflush(stdout);
  uv_run(&shards[0].loop, UV_RUN_DEFAULT);
  for (int i = 0; i < nthreads; i++) {
    if (i > 0) BENCH_CHECK(uv_thread_join(&shards[i].thread) == 0, "uv_thread_join");
    BENCH_CHECK(uv_loop_close(&shards[i].loop) == 0, "uv_loop_close: handles left");
  }
  return 0;
}
