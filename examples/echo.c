/* echo.c: a TCP echo server and client in one portable program.
 *
 *   echo server [HOST [PORT]] [--count N]   serve until killed (or N connections)
 *   echo server --listen-fd FD [--count N]  serve on a listening socket handed in
 *   echo client HOST PORT                   send stdin, print what comes back
 *
 * The server listens on HOST:PORT (default 127.0.0.1, port 0: any free port),
 * prints one line "listening on HOST:PORT" on stdout once it accepts, and echoes
 * every byte of every connection back until the peer ends its side; then it
 * ends its own side and closes. With --count N it exits after N connections
 * have been served. Errors of one connection (a peer that resets) are reported
 * on stderr and end that connection only.
 *
 * The client connects (HOST may be a name: it is resolved without blocking),
 * sends its standard input and then half-closes the connection, while it
 * copies everything that comes back to standard output until the server ends.
 * Piped through the server, stdout equals stdin byte for byte.
 *
 * With --listen-fd it serves on a socket that is already listening, inherited
 * from a parent (systemd's socket activation) or handed in by a WASI runtime
 * (wasmtime run --tcplisten 127.0.0.1:7000 echo.wasm server --listen-fd 3);
 * it prints "listening on fd FD".
 *
 * One source, written with TIDE_MAIN, runs natively, under WASI (the server,
 * on a handed-in socket) and as a JS-host module under Node (node
 * js/bin/tideloop-run.mjs echo.wasm server), where node:net carries the same
 * calls. ctest runs the client against the server natively and on the JS host,
 * and the WASI server against a scripted runtime (check-echo-wasi.mjs).
 *
 * What it shows: tide_tcp_listen/accept/connect, one task per connection,
 * backpressure by awaiting each write before reading more (a slow peer holds at
 * most one chunk per connection in memory), half-close with
 * tide_stream_shutdown, and a loop that closes cleanly when the work is done.
 *
 * Exit status: 0 on success, 1 if the program failed (listen or connect
 * failed, stdin or stdout failed), 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

enum { CHUNK = 64 * 1024 };

static int parse_int(const char *s, long min, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static void fail(tide_loop *loop, const char *what, int rc) {
  fprintf(stderr, "echo: %s: %s\n", what, tide_strerror(rc));
  tide_main_exit(loop, 1);
}

/* --- copying one stream to another ------------------------------------------ */

/* Copy `from` to `to` until EOF, one chunk at a time: each write is awaited
 * before the next read, so memory stays at one chunk whatever the peers do.
 * It is a task of its own (its future ends with 0 at EOF, or the first error),
 * so the client can run one each way at once. */
struct copy {
  tide_stream *from, *to;
  int shutdown_at_eof; /* half-close `to` once `from` ends */
  tide_future f;
  void *data;
  size_t len;
  int rc;
};

static int copy_main(tide_task *t, void *frame) {
  struct copy *c = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_read(c->from, CHUNK, &c->f);
    if (c->rc == 0) {
      TIDE_AWAIT(t, &c->f, c->rc);
    }
    if (c->rc == 0) c->rc = tide_future_take_bytes(&c->f, &c->data, &c->len);
    tide_future_release(&c->f);
    if (c->rc != 0) break;
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_write(c->to, c->data, c->len, &c->f);
    tide_loop_dealloc(loop, c->data); /* the stream copied it */
    c->data = NULL;
    if (c->rc == 0) {
      TIDE_AWAIT(t, &c->f, c->rc);
    }
    tide_future_release(&c->f);
    if (c->rc != 0) break;
  }
  if (c->rc == TIDE_EOF && c->shutdown_at_eof) {
    /* Awaited, so that "done" means the peer has been told. */
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_shutdown(c->to, &c->f);
    if (c->rc == 0) {
      TIDE_AWAIT(t, &c->f, c->rc);
    }
    tide_future_release(&c->f);
  }
  if (c->rc == TIDE_EOF) c->rc = 0;
  if (c->rc != 0) TIDE_RETURN_ERROR(t, c->rc, NULL);
  TIDE_END(t);
}

/* --- server ------------------------------------------------------------------ */

struct server {
  const char *host;
  long port;
  long listen_fd; /* >= 0: serve on this listening socket instead */
  long remaining; /* connections still to serve; < 0: no limit */
  tide_tcp_listener *listener;
  tide_future f;
  tide_value v;
  int rc;
};

/* A connection is a copy task from the socket to itself; when it ends, the
 * stream is closed (after its shutdown, if any, went out). */
static void conn_done(tide_future *f, void *ud) {
  tide_task *task = ud;
  struct copy *c = tide_task_frame(task);
  int rc = tide_future_result(f, NULL);
  if (rc != 0) fprintf(stderr, "echo: connection: %s\n", tide_strerror(rc));
  tide_stream_close(c->from, NULL);
  tide_task_release(task);
}

static int serve_connection(tide_loop *loop, tide_stream *s) {
  struct copy init = {0};
  tide_task *task;
  init.from = init.to = s;
  init.shutdown_at_eof = 1;
  int rc = tide_task_spawn(loop, copy_main, &init, sizeof init, &task);
  if (rc != 0) return rc;
  rc = tide_future_add_done_callback(tide_task_future(task), conn_done, task);
  if (rc != 0) {
    tide_task_cancel(task);
    tide_task_release(task);
  }
  return rc;
}

static int server_main(tide_task *t, void *frame) {
  struct server *srv = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  if (srv->listen_fd >= 0) {
    srv->rc = tide_tcp_listener_open(loop, (int)srv->listen_fd, &srv->listener);
    if (srv->rc != 0) {
      fail(loop, "--listen-fd", srv->rc);
      TIDE_RETURN(t);
    }
    printf("listening on fd %ld\n", srv->listen_fd);
  } else {
    tide_future_init(loop, &srv->f);
    srv->rc = tide_tcp_listen(loop, srv->host, (int)srv->port, 0, &srv->f);
    if (srv->rc == 0) {
      TIDE_AWAIT(t, &srv->f, srv->rc);
    }
    if (srv->rc == 0) (void)tide_future_result(&srv->f, &srv->v);
    tide_future_release(&srv->f);
    if (srv->rc != 0) {
      fail(loop, "listen", srv->rc);
      TIDE_RETURN(t);
    }
    srv->listener = srv->v.as.p;
    printf("listening on %s:%d\n", srv->host, tide_tcp_listener_port(srv->listener));
  }
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
      /* Out of fds or memory: the connection waits in the backlog while the
       * others finish; try again a little later. */
      fprintf(stderr, "echo: accept: %s (retrying)\n", tide_strerror(srv->rc));
      TIDE_SLEEP(t, 100, srv->rc);
      if (srv->rc != 0) break;
      continue;
    }
    if (srv->rc != 0) {
      fail(loop, "accept", srv->rc);
      break;
    }
    if (srv->remaining > 0) srv->remaining--;
    if (serve_connection(loop, srv->v.as.p) != 0) {
      fprintf(stderr, "echo: out of memory: connection dropped\n");
      tide_stream_close(srv->v.as.p, NULL);
    }
  }
  tide_tcp_listener_close(srv->listener);
  TIDE_END(t);
}

/* --- client ------------------------------------------------------------------ */

struct client {
  const char *host;
  long port;
  tide_stream *sock, *in, *out;
  tide_task *up, *down;
  tide_future f;
  tide_value v;
  int rc;
};

static int client_main(tide_task *t, void *frame) {
  struct client *cl = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_future_init(loop, &cl->f);
  cl->rc = tide_tcp_connect(loop, cl->host, (int)cl->port, &cl->f);
  if (cl->rc == 0) {
    TIDE_AWAIT(t, &cl->f, cl->rc);
  }
  if (cl->rc == 0) (void)tide_future_result(&cl->f, &cl->v);
  tide_future_release(&cl->f);
  if (cl->rc != 0) {
    fail(loop, "connect", cl->rc);
    TIDE_RETURN(t);
  }
  cl->sock = cl->v.as.p;
  if ((cl->rc = tide_stream_open(loop, 0, 0, &cl->in)) != 0 ||
      (cl->rc = tide_stream_open(loop, 1, 0, &cl->out)) != 0) {
    fail(loop, "stdio", cl->rc);
  } else {
    /* stdin -> socket (then half-close) and socket -> stdout, at once. */
    struct copy up = {0}, down = {0};
    up.from = cl->in;
    up.to = cl->sock;
    up.shutdown_at_eof = 1;
    down.from = cl->sock;
    down.to = cl->out;
    cl->rc = tide_task_spawn(loop, copy_main, &up, sizeof up, &cl->up);
    if (cl->rc == 0) cl->rc = tide_task_spawn(loop, copy_main, &down, sizeof down, &cl->down);
    if (cl->rc != 0) fail(loop, "spawn", cl->rc);
  }
  /* The server ends its side after echoing everything: down finishes last. */
  if (cl->down != NULL) {
    TIDE_AWAIT(t, tide_task_future(cl->down), cl->rc);
    if (cl->rc != 0) fail(loop, "receive", cl->rc);
  }
  if (cl->up != NULL) {
    TIDE_AWAIT(t, tide_task_future(cl->up), cl->rc);
    if (cl->rc != 0) fail(loop, "send", cl->rc);
  }
  if (cl->up != NULL) tide_task_release(cl->up);
  if (cl->down != NULL) tide_task_release(cl->down);
  if (cl->in != NULL) tide_stream_close(cl->in, NULL);
  if (cl->out != NULL) tide_stream_close(cl->out, NULL);
  tide_stream_close(cl->sock, NULL);
  TIDE_END(t);
}

/* --- main ---------------------------------------------------------------------- */

static int usage(tide_loop *loop) {
  fprintf(stderr, "usage: echo server [HOST [PORT] | --listen-fd FD] [--count N]\n"
                  "       echo client HOST PORT\n");
  tide_main_exit(loop, 2);
  return 0;
}

static int setup(tide_loop *loop, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "server") == 0) {
    struct server srv = {0};
    const char *pos[2] = {"127.0.0.1", "0"};
    int npos = 0;
    srv.remaining = -1;
    srv.listen_fd = -1;
    for (int i = 2; i < argc; i++) {
      if (strcmp(argv[i], "--listen-fd") == 0 && i + 1 < argc) {
        if (parse_int(argv[++i], 0, 1 << 30, &srv.listen_fd) != 0) return usage(loop);
      } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
        if (parse_int(argv[++i], 1, 1000000000L, &srv.remaining) != 0) return usage(loop);
      } else if (npos < 2) {
        pos[npos++] = argv[i];
      } else {
        return usage(loop);
      }
    }
    srv.host = pos[0];
    if (parse_int(pos[1], 0, 65535, &srv.port) != 0) return usage(loop);
    return tide_task_spawn(loop, server_main, &srv, sizeof srv, NULL);
  }
  if (argc == 4 && strcmp(argv[1], "client") == 0) {
    struct client cl = {0};
    cl.host = argv[2];
    if (parse_int(argv[3], 1, 65535, &cl.port) != 0) return usage(loop);
    return tide_task_spawn(loop, client_main, &cl, sizeof cl, NULL);
  }
  return usage(loop);
}

TIDE_MAIN(setup)
