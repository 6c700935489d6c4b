/* echo.c: a TCP echo server and client in one portable program.
 *
 *   echo server [HOST [PORT]] [--count N] [--threads N]
 *                                           serve until SIGINT/SIGTERM (or N connections)
 *   echo server --listen-fd FD [--count N]  serve on a listening socket handed in
 *   echo client HOST PORT                   send stdin, print what comes back
 *
 * The server listens on HOST:PORT (default 127.0.0.1, port 0: any free port),
 * prints one line "listening on HOST:PORT" on stdout once it accepts, and echoes
 * every byte of every connection back until the peer ends its side; then it
 * ends its own side and closes. With --count N it stops accepting after N
 * connections and exits once they have been served. Natively SIGINT and
 * SIGTERM end it cleanly: listeners and connections are closed and it exits 0
 * (elsewhere the host ends it). Errors of one connection (a peer that resets)
 * are reported on stderr and end that connection only.
 *
 * With --threads N (native only: elsewhere it is refused, exit 2) it serves
 * with N loops, one per thread, each with its own listener on the same port
 * (TIDE_TCP_REUSEPORT): the way a tideloop server uses N cores (README.md,
 * "Scaling a server").
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
 * and the WASI server against a scripted runtime (check-echo-wasi.mjs);
 * check-echo-threads.mjs runs --threads 2 with 200 clients, then SIGTERM.
 *
 * What it shows: tide_tcp_listen/accept/connect, one task per connection,
 * backpressure by awaiting each write before reading more (a slow peer holds at
 * most one chunk per connection in memory), half-close with
 * tide_stream_shutdown, a loop that closes cleanly when the work is done, and
 * loops on several threads stopped by tide_async_send.
 *
 * Exit status: 0 on success, 1 if the program failed (listen or connect
 * failed, stdin or stdout failed), 2 for a usage error.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

/* Threads and signals are native only (TIDE_HOST_JS: built for the JS host). */
#if defined(__wasi__) || defined(TIDE_HOST_JS)
#define ECHO_THREADS 0
#else
#define ECHO_THREADS 1
#include <pthread.h>
#include <signal.h>
#endif

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

/* With --threads N the server is N loops, each on its own thread with its own
 * listener on one port (TIDE_TCP_REUSEPORT: the kernel hands each connection to
 * one of them), so it uses N cores; the loops share nothing but the group
 * below. Loop 0 is the main thread's (TIDE_MAIN's): it listens first (port 0
 * picks the port the others then share), starts the others, prints the one
 * "listening on" line, takes SIGINT and SIGTERM, and at the end waits for the
 * other threads. Without --threads, it is the only loop. */
enum { MAX_THREADS = 64 };

struct shard {
  struct group *g;
  tide_loop *loop;  /* loop 0: TIDE_MAIN's; the others: &own */
  tide_loop own;
  tide_tcp_listener *listener;
  tide_async stop;  /* with other loops: how they ask this one to stop */
  int stop_unrefd;
  int stopping;     /* no more accepts (this loop's thread only) */
  tide_future *accept; /* the pending accept, to cancel on stop */
  struct conn *conns;  /* open connections, to cancel on a signal */
#if ECHO_THREADS
  pthread_t thread;
  int has_thread;
#endif
};

struct group {
  const char *host;
  long port, listen_fd, threads;
  atomic_long remaining; /* connections still to serve; < 0: no limit */
  atomic_int aborting;   /* a signal came: close connections, not only listeners */
  atomic_int failed;     /* a loop failed: exit 1 */
  atomic_int loops;      /* loops 0..loops-1 can be sent a stop */
  struct shard shard[MAX_THREADS];
#if ECHO_THREADS
  tide_signal sigint, sigterm;
  int signals; /* both started (loop 0 only) */
#endif
};

/* Say why on stderr (message: the future's, if any) and make the program exit
 * 1; safe from any loop's thread. */
static void server_fail(struct shard *sh, const char *what, const char *message, int rc) {
  fprintf(stderr, "echo: %s: %s\n", what, message != NULL ? message : tide_strerror(rc));
  atomic_store(&sh->g->failed, 1);
}

/* A connection is a copy task from the socket to itself, in its loop's list;
 * when it ends, the stream is closed (after its shutdown, if any, went out). */
struct conn {
  struct copy c; /* first: the frame is copy_main's */
  struct shard *sh;
  tide_task *task;
  struct conn *prev, *next;
};

static void conn_done(tide_future *f, void *ud) {
  tide_task *task = ud;
  struct conn *cn = tide_task_frame(task);
  int rc = tide_future_result(f, NULL);
  if (rc != 0 && rc != TIDE_ECANCELED)
    fprintf(stderr, "echo: connection: %s\n", tide_strerror(rc));
  if (cn->prev != NULL) cn->prev->next = cn->next;
  else cn->sh->conns = cn->next;
  if (cn->next != NULL) cn->next->prev = cn->prev;
  tide_stream_close(cn->c.from, NULL);
  tide_task_release(task);
}

static int serve_connection(struct shard *sh, tide_stream *s) {
  struct conn init = {0};
  tide_task *task;
  init.c.from = init.c.to = s;
  init.c.shutdown_at_eof = 1;
  init.sh = sh;
  int rc = tide_task_spawn(sh->loop, copy_main, &init, sizeof init, &task);
  if (rc != 0) return rc;
  rc = tide_future_add_done_callback(tide_task_future(task), conn_done, task);
  if (rc != 0) {
    tide_task_cancel(task);
    tide_task_release(task);
    return rc;
  }
  struct conn *cn = tide_task_frame(task);
  cn->task = task;
  cn->next = sh->conns;
  if (sh->conns != NULL) sh->conns->prev = cn;
  sh->conns = cn;
  return 0;
}

/* Stop this loop's accepting; after a signal, end its connections too (their
 * tasks see TIDE_ECANCELED and close their streams). The loop then ends when
 * its last connection does. Called again after a --count stop, a signal still
 * ends the connections. */
static void stop_shard(struct shard *sh) {
  sh->stopping = 1;
  if (sh->accept != NULL) tide_future_cancel(sh->accept);
  if (atomic_load(&sh->g->aborting))
    for (struct conn *cn = sh->conns; cn != NULL; cn = cn->next) tide_task_cancel(cn->task);
  /* Stopped once is enough for the loop to end; the handle stays open
   * (unreferenced) until loop 0 has joined every thread, since another loop
   * may still send to it. */
  if (sh->g->threads > 1 && !sh->stop_unrefd) {
    tide_handle_unref(&sh->stop.handle);
    sh->stop_unrefd = 1;
  }
}

/* Stop every loop that runs: this one at once, the others through their
 * tide_async (the one call that is safe from another thread). */
static void stop_all(struct shard *from) {
  struct group *g = from->g;
  stop_shard(from);
  int n = atomic_load(&g->loops);
  for (int i = 0; i < n; i++)
    if (&g->shard[i] != from) (void)tide_async_send(&g->shard[i].stop);
}

/* Take one of --count's connections: 0 if none was left (the connection is
 * refused), 1 if one was taken, 2 if it was the last (then every loop stops). */
static int claim(struct group *g) {
  long n = atomic_load(&g->remaining);
  if (n < 0) return 1; /* no --count */
  while (n > 0 && !atomic_compare_exchange_weak(&g->remaining, &n, n - 1)) {
  }
  if (n == 0) return 0;
  return n == 1 ? 2 : 1;
}

#if ECHO_THREADS
static void on_stop(tide_async *a) {
  stop_shard(a->handle.data);
}

/* SIGINT or SIGTERM: every loop closes its listener and connections. */
static void on_signal(tide_signal *sig, int signum) {
  (void)signum;
  struct group *g = sig->handle.data;
  atomic_store(&g->aborting, 1);
  stop_all(&g->shard[0]);
}

/* Handled natively only (elsewhere there are no signals, and the host ends the
 * program); unreferenced, so they keep nothing alive. */
static int start_signals(struct group *g, tide_loop *loop) {
  tide_signal *sigs[2] = {&g->sigint, &g->sigterm};
  int nums[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    int rc = tide_signal_init(loop, sigs[i]);
    if (rc == 0) rc = tide_signal_start(sigs[i], on_signal, nums[i]);
    if (rc != 0) {
      if (rc != TIDE_ENOMEM) tide_handle_close(&sigs[i]->handle, NULL);
      if (i == 1) tide_handle_close(&sigs[0]->handle, NULL);
      return rc;
    }
    sigs[i]->handle.data = g;
    tide_handle_unref(&sigs[i]->handle);
  }
  g->signals = 1;
  return 0;
}

static void stop_signals(struct group *g) {
  if (!g->signals) return;
  tide_handle_close(&g->sigint.handle, NULL);
  tide_handle_close(&g->sigterm.handle, NULL);
  g->signals = 0;
}

static void *loop_thread(void *arg) {
  struct shard *sh = arg;
  int rc = tide_loop_run(sh->loop, TIDE_RUN_DEFAULT);
  if (rc < 0) server_fail(sh, "a server loop failed", NULL, rc);
  return NULL;
}

/* Loops 1..n-1 end once stopped and their connections are done. */
static int join_threads(void *arg, tide_value *result) {
  struct group *g = arg;
  (void)result;
  for (int i = 1; i < atomic_load(&g->loops); i++)
    if (g->shard[i].has_thread) (void)pthread_join(g->shard[i].thread, NULL);
  return 0;
}
#endif

/* The accept loop of one loop; loop 0's also listens first and, at the end,
 * waits for the other loops and closes them. */
struct server {
  struct shard *sh;
  tide_future f;
  tide_value v;
  int rc;
};

static int server_main(tide_task *t, void *frame);

/* Loop i > 0: its loop, its listener on the port that loop 0 got, its stop
 * handle and its server task, then its thread. Natively a listen is complete
 * when it returns, so a loop that does not run yet can listen. The loop is
 * counted in g->loops (and so may be sent a stop) once it can take one; if
 * its thread cannot start, it stays counted, stopped, and loop 0 closes it at
 * the end with the others. */
static int start_loop(struct group *g, int i, int port) {
#if ECHO_THREADS
  struct shard *sh = &g->shard[i];
  tide_future f;
  tide_value v;
  sh->loop = &sh->own;
  int rc = tide_loop_init(sh->loop, NULL);
  if (rc != 0) return rc;
  tide_future_init(sh->loop, &f);
  rc = tide_tcp_listen_ex(sh->loop, g->host, port, 0, TIDE_TCP_REUSEPORT, &f);
  if (rc == 0) rc = tide_future_result(&f, &v);
  tide_future_release(&f);
  if (rc == 0) {
    sh->listener = v.as.p;
    struct server init = {0};
    init.sh = sh;
    rc = tide_async_init(sh->loop, &sh->stop, on_stop);
    if (rc == 0) rc = tide_task_spawn(sh->loop, server_main, &init, sizeof init, NULL);
    if (rc != 0) {
      if (tide_handle_is_active(&sh->stop.handle)) tide_handle_close(&sh->stop.handle, NULL);
      tide_tcp_listener_close(sh->listener);
    }
  }
  if (rc != 0) { /* nobody knows of this loop yet: close it here */
    (void)tide_loop_run(sh->loop, TIDE_RUN_DEFAULT);
    (void)tide_loop_close(sh->loop);
    return rc;
  }
  sh->stop.handle.data = sh;
  atomic_store(&g->loops, i + 1);
  if (pthread_create(&sh->thread, NULL, loop_thread, sh) != 0) {
    stop_shard(sh); /* its server task, run at the end by loop 0, just closes */
    return TIDE_EAGAIN;
  }
  sh->has_thread = 1;
  return 0;
#else
  (void)g;
  (void)i;
  (void)port;
  return TIDE_ENOSYS; /* not reached: --threads is refused without threads */
#endif
}

/* Loop 0: listen (or take --listen-fd), start the other loops, say where it
 * listens. 0, or an error already reported. */
static int server_start(struct group *g, struct shard *sh) {
  int port = tide_tcp_listener_port(sh->listener);
  for (int i = 1; i < g->threads; i++) {
    int rc = start_loop(g, i, port);
    if (rc != 0) {
      server_fail(sh, "starting the server threads", NULL, rc);
      return rc;
    }
  }
#if ECHO_THREADS
  int rc = start_signals(g, sh->loop);
  if (rc != 0) {
    server_fail(sh, "SIGINT and SIGTERM", NULL, rc);
    return rc;
  }
#endif
  if (g->listen_fd >= 0) printf("listening on fd %ld\n", g->listen_fd);
  else printf("listening on %s:%d\n", g->host, port);
  fflush(stdout);
  return 0;
}

/* Loop 0, at the end: wait for the other threads (on the worker pool, so loop
 * 0 keeps serving its own connections meanwhile), then close their loops here,
 * now that no thread can send to them any more. */
#if ECHO_THREADS
static void close_others(struct group *g) {
  for (int i = 1; i < atomic_load(&g->loops); i++) {
    struct shard *o = &g->shard[i];
    tide_handle_close(&o->stop.handle, NULL);
    (void)tide_loop_run(o->loop, TIDE_RUN_DEFAULT);
    int rc = tide_loop_close(o->loop);
    if (rc != 0) server_fail(o, "a server loop left work behind", NULL, rc);
  }
  if (g->threads > 1) tide_handle_close(&g->shard[0].stop.handle, NULL);
  stop_signals(g);
}
#endif

static int server_main(tide_task *t, void *frame) {
  struct server *srv = frame;
  struct shard *sh = srv->sh;
  struct group *g = sh->g;
  TIDE_BEGIN(t);
  if (sh == &g->shard[0]) {
    if (g->listen_fd >= 0) {
      srv->rc = tide_tcp_listener_open(sh->loop, (int)g->listen_fd, &sh->listener);
      if (srv->rc != 0) server_fail(sh, "--listen-fd", NULL, srv->rc);
    } else {
      tide_future_init(sh->loop, &srv->f);
      srv->rc = tide_tcp_listen_ex(sh->loop, g->host, (int)g->port, 0,
                                   g->threads > 1 ? TIDE_TCP_REUSEPORT : 0, &srv->f);
      if (srv->rc == 0) {
        TIDE_AWAIT(t, &srv->f, srv->rc);
      }
      if (srv->rc == 0) {
        (void)tide_future_result(&srv->f, &srv->v);
        sh->listener = srv->v.as.p;
      } else {
        server_fail(sh, "listen",
                    tide_future_done(&srv->f) ? tide_future_error_message(&srv->f) : NULL,
                    srv->rc);
      }
      tide_future_release(&srv->f);
    }
    if (srv->rc == 0) srv->rc = server_start(g, sh);
    if (srv->rc != 0) {
      atomic_store(&g->aborting, 1);
      stop_all(sh);
    }
  }
  while (!sh->stopping) {
    tide_future_init(sh->loop, &srv->f);
    srv->rc = tide_tcp_accept(sh->listener, &srv->f);
    if (srv->rc == 0) {
      sh->accept = &srv->f;
      TIDE_AWAIT(t, &srv->f, srv->rc);
      sh->accept = NULL;
    }
    if (srv->rc == 0) (void)tide_future_result(&srv->f, &srv->v);
    tide_future_release(&srv->f);
    if (srv->rc == TIDE_ECANCELED && sh->stopping) break;
    if (srv->rc == TIDE_EMFILE || srv->rc == TIDE_ENOMEM) {
      /* Out of fds or memory: the connection waits in the backlog while the
       * others finish; try again a little later. */
      fprintf(stderr, "echo: accept: %s (retrying)\n", tide_strerror(srv->rc));
      TIDE_SLEEP(t, 100, srv->rc);
      continue;
    }
    if (srv->rc != 0) {
      server_fail(sh, "accept", NULL, srv->rc);
      stop_all(sh);
      break;
    }
    int taken = claim(g);
    if (taken == 0) { /* another loop took the last one */
      tide_stream_close(srv->v.as.p, NULL);
      continue;
    }
    if (serve_connection(sh, srv->v.as.p) != 0) {
      fprintf(stderr, "echo: out of memory: connection dropped\n");
      tide_stream_close(srv->v.as.p, NULL);
    }
    if (taken == 2) stop_all(sh);
  }
  if (sh->listener != NULL) tide_tcp_listener_close(sh->listener);
#if ECHO_THREADS
  if (sh == &g->shard[0] && atomic_load(&g->loops) > 1) {
    tide_future_init(sh->loop, &srv->f);
    srv->rc = tide_work_submit(sh->loop, join_threads, NULL, g, &srv->f);
    if (srv->rc == 0) {
      TIDE_AWAIT(t, &srv->f, srv->rc);
    } else {
      (void)join_threads(g, NULL); /* no pool job: wait here */
    }
    tide_future_release(&srv->f);
  }
  if (sh == &g->shard[0]) close_others(g);
#endif
  if (sh == &g->shard[0] && atomic_load(&g->failed)) tide_main_exit(sh->loop, 1);
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
  fprintf(stderr, "usage: echo server [HOST [PORT] | --listen-fd FD] [--count N] [--threads N]\n"
                  "       echo client HOST PORT\n");
  tide_main_exit(loop, 2);
  return 0;
}

static int setup(tide_loop *loop, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "server") == 0) {
    static struct group g; /* lives as long as the program: every loop uses it */
    const char *pos[2] = {"127.0.0.1", "0"};
    int npos = 0;
    long remaining = -1;
    g.listen_fd = -1;
    g.threads = 0; /* not given */
    for (int i = 2; i < argc; i++) {
      if (strcmp(argv[i], "--listen-fd") == 0 && i + 1 < argc) {
        if (parse_int(argv[++i], 0, 1 << 30, &g.listen_fd) != 0) return usage(loop);
      } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
        if (parse_int(argv[++i], 1, 1000000000L, &remaining) != 0) return usage(loop);
      } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
        if (parse_int(argv[++i], 1, MAX_THREADS, &g.threads) != 0) return usage(loop);
      } else if (npos < 2) {
        pos[npos++] = argv[i];
      } else {
        return usage(loop);
      }
    }
    if (g.threads > 0 && g.listen_fd >= 0) return usage(loop); /* one socket, one loop */
    if (g.threads > 0 && !ECHO_THREADS) {
      fprintf(stderr, "echo: --threads: this host has no threads (a loop per core is "
                      "native only: WASI and the JS host run one loop)\n");
      tide_main_exit(loop, 2);
      return 0;
    }
    if (g.threads == 0) g.threads = 1;
    g.host = pos[0];
    if (parse_int(pos[1], 0, 65535, &g.port) != 0) return usage(loop);
    atomic_init(&g.remaining, remaining);
    atomic_init(&g.aborting, 0);
    atomic_init(&g.failed, 0);
    atomic_init(&g.loops, 1);
    for (int i = 0; i < MAX_THREADS; i++) g.shard[i].g = &g;
    g.shard[0].loop = loop;
    struct server srv = {0};
    srv.sh = &g.shard[0];
#if ECHO_THREADS
    if (g.threads > 1) {
      int rc = tide_async_init(loop, &g.shard[0].stop, on_stop);
      if (rc != 0) return rc;
      g.shard[0].stop.handle.data = &g.shard[0];
    }
#endif
    int rc = tide_task_spawn(loop, server_main, &srv, sizeof srv, NULL);
#if ECHO_THREADS
    if (rc != 0 && g.threads > 1) tide_handle_close(&g.shard[0].stop.handle, NULL);
#endif
    return rc;
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
