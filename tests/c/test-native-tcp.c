/* test-native-tcp.c (tide-tests only: real sockets): TCP listen, accept and
 * connect on 127.0.0.1 and ::1: echo between tasks of one loop, many concurrent
 * clients, refused connects, peers that vanish, ports in use, cancellation
 * without leaked fds, bad addresses, and out-of-memory at every allocation.
 * wasi-skip: WASI preview1 cannot make sockets: tide_tcp_* return TIDE_ENOSYS there.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "net.h"
#include "test.h"
#include "util.h"

#define WATCHDOG_MS 10000

/* --- helpers -------------------------------------------------------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* --- tasks ---------------------------------------------------------------- */

/* Echo every line back until the peer ends; returns the number of lines. */
struct echo_frame {
  tide_stream *s;
  tide_future f;
  int rc;
  int lines;
};

static int echo_main(tide_task *t, void *frame) {
  struct echo_frame *E = frame;
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(tide_task_loop(t), &E->f);
    E->rc = tide_stream_read_line(E->s, 0, &E->f);
    ASSERT_OK(E->rc);
    TIDE_AWAIT(t, &E->f, E->rc);
    if (E->rc == TIDE_EOF) {
      tide_future_release(&E->f);
      break;
    }
    ASSERT_OK(E->rc);
    tide_value v;
    ASSERT_OK(tide_future_result(&E->f, &v));
    ASSERT_OK(tide_stream_write(E->s, v.as.bytes.data, v.as.bytes.len, NULL));
    ASSERT_OK(tide_stream_write(E->s, "\n", 1, NULL));
    tide_future_release(&E->f);
    E->lines++;
  }
  tide_stream_close(E->s, NULL);
  TIDE_RETURN_INT(t, E->lines);
  TIDE_END(t);
}

/* Accept `want` connections, each served by an echo task kept in handlers[]. */
struct server_frame {
  tide_tcp_listener *l;
  int want;
  int n;
  tide_task **handlers;
  tide_future f;
  int rc;
};

static int server_main(tide_task *t, void *frame) {
  struct server_frame *S = frame;
  TIDE_BEGIN(t);
  while (S->n < S->want) {
    tide_future_init(tide_task_loop(t), &S->f);
    ASSERT_OK(tide_tcp_accept(S->l, &S->f));
    TIDE_AWAIT(t, &S->f, S->rc);
    ASSERT_OK(S->rc);
    struct echo_frame init;
    memset(&init, 0, sizeof init);
    init.s = stream_of(&S->f);
    tide_future_release(&S->f);
    ASSERT_OK(tide_task_spawn(tide_task_loop(t), echo_main, &init, sizeof init,
                              &S->handlers[S->n]));
    S->n++;
  }
  TIDE_RETURN_INT(t, S->n);
  TIDE_END(t);
}

/* Connect, send `lines` lines, check each echo, close. */
struct client_frame {
  const char *host;
  int port;
  int id;
  int lines;
  int i;
  tide_stream *s;
  tide_future f;
  int rc;
  char msg[48];
};

static int client_main(tide_task *t, void *frame) {
  struct client_frame *C = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &C->f);
  ASSERT_OK(tide_tcp_connect(tide_task_loop(t), C->host, C->port, &C->f));
  TIDE_AWAIT(t, &C->f, C->rc);
  ASSERT_OK(C->rc);
  C->s = stream_of(&C->f);
  tide_future_release(&C->f);
  for (C->i = 0; C->i < C->lines; C->i++) {
    snprintf(C->msg, sizeof C->msg, "client %d line %d", C->id, C->i);
    ASSERT_OK(tide_stream_write(C->s, C->msg, strlen(C->msg), NULL));
    ASSERT_OK(tide_stream_write(C->s, "\r\n", 2, NULL));
    tide_future_init(tide_task_loop(t), &C->f);
    ASSERT_OK(tide_stream_read_line(C->s, 0, &C->f));
    TIDE_AWAIT(t, &C->f, C->rc);
    ASSERT_OK(C->rc);
    expect_bytes(&C->f, C->msg);
    tide_future_release(&C->f);
  }
  tide_stream_close(C->s, NULL);
  TIDE_RETURN_INT(t, C->id);
  TIDE_END(t);
}

static void expect_task_int(tide_task *t, int64_t want) {
  tide_value v;
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, want);
}

/* nclients clients of `lines` lines each against one server, all in one loop. */
static void echo_clients(const char *host, int nclients, int lines) {
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  tide_task *server;
  tide_task **clients = calloc((size_t)nclients, sizeof *clients);
  tide_task **handlers = calloc((size_t)nclients, sizeof *handlers);
  ASSERT_NOT_NULL(clients);
  ASSERT_NOT_NULL(handlers);
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, host, 0, 0, &l));
  int port = tide_tcp_listener_port(l);
  ASSERT_GT(port, 0);
  struct server_frame sf;
  memset(&sf, 0, sizeof sf);
  sf.l = l;
  sf.want = nclients;
  sf.handlers = handlers;
  ASSERT_OK(tide_task_spawn(&loop, server_main, &sf, sizeof sf, &server));
  for (int i = 0; i < nclients; i++) {
    struct client_frame cf;
    memset(&cf, 0, sizeof cf);
    cf.host = host;
    cf.port = port;
    cf.id = i;
    cf.lines = lines;
    ASSERT_OK(tide_task_spawn(&loop, client_main, &cf, sizeof cf, &clients[i]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  expect_task_int(server, nclients);
  for (int i = 0; i < nclients; i++) {
    expect_task_int(clients[i], i);
    expect_task_int(handlers[i], lines);
    tide_task_release(clients[i]);
    tide_task_release(handlers[i]);
  }
  tide_task_release(server);
  ASSERT_EQ(errs.count, 0);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
  free(clients);
  free(handlers);
}

/* --- echo ----------------------------------------------------------------- */

TEST(tcp_echo_ipv4) { echo_clients("127.0.0.1", 1, 3); }

TEST(tcp_echo_ipv6) { echo_clients("::1", 1, 3); }

TEST(tcp_echo_100_concurrent_clients) { echo_clients("127.0.0.1", 100, 2); }

TEST(tcp_listener_port_and_close_frees_port) {
  tide_loop loop;
  tide_tcp_listener *l;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 8, &l));
  int port = tide_tcp_listener_port(l);
  ASSERT_GT(port, 0);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* registered... */
  ASSERT_EQ(tide_loop_alive(&loop), 0);           /* ...but keeps nothing alive */
  tide_tcp_listener_close(l);
  /* The socket is closed at once: the same port can be bound again. */
  ASSERT_OK(listen_now(&loop, "127.0.0.1", port, 8, &l));
  ASSERT_EQ(tide_tcp_listener_port(l), port);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- errors --------------------------------------------------------------- */

TEST(tcp_connect_refused) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int port = tide_tcp_listener_port(l);
  tide_tcp_listener_close(l); /* nobody listens there now */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_connect(&loop, "127.0.0.1", port, &f));
  run_until_done(&loop, &f);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECONNREFUSED);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before); /* the refused socket was closed */
}

TEST(tcp_listen_port_in_use) {
  tide_loop loop;
  tide_tcp_listener *a, *b = NULL;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &a));
  int fds_before = count_fds();
  ASSERT_ERR(listen_now(&loop, "127.0.0.1", tide_tcp_listener_port(a), 0, &b),
             TIDE_EADDRINUSE);
  ASSERT_NULL(b);
  ASSERT_EQ(count_fds(), fds_before);
  tide_tcp_listener_close(a);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(tcp_bad_addresses) {
  tide_loop loop;
  tide_tcp_listener *l = NULL;
  tide_future f;
  static const char *const bad[] = {"localhost", "1.2.3", "127.0.0.1:80", "",
                                    "[::1]",     "::g",   " 127.0.0.1"};
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(bad); i++) {
    ASSERT_ERR(listen_now(&loop, bad[i], 0, 0, &l), TIDE_EINVAL);
  }
  /* A connect takes names too (resolved, test-native-resolve.c), but not "". */
  ASSERT_ERR(tide_tcp_connect(&loop, "", 80, &f), TIDE_EINVAL);
  ASSERT_ERR(listen_now(&loop, NULL, 0, 0, &l), TIDE_EINVAL);
  ASSERT_ERR(listen_now(&loop, "127.0.0.1", -1, 0, &l), TIDE_EINVAL);
  ASSERT_ERR(listen_now(&loop, "127.0.0.1", 65536, 0, &l), TIDE_EINVAL);
  ASSERT_ERR(tide_tcp_connect(&loop, NULL, 80, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_tcp_connect(&loop, "127.0.0.1", 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_tcp_connect(&loop, "::1", 65536, &f), TIDE_EINVAL);
  ASSERT_NULL(l);
  ASSERT_EQ(tide_future_done(&f), 0); /* refused calls leave the future alone */
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* The peer resets the connection while our read waits mid-line; a write then
 * fails with an error (and no SIGPIPE kills us). */
TEST(tcp_peer_resets_mid_read) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future rf, wf;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  ASSERT_EQ(write(peer, "half a li", 9), 9);
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  for (int i = 0; i < 3; i++) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_future_done(&rf), 0); /* no newline yet */
  raw_reset(peer);
  run_until_done(&loop, &rf);
  int rc = tide_future_result(&rf, NULL);
  ASSERT(rc == TIDE_ECONNRESET || rc == TIDE_EOF);
  tide_future_release(&rf);
  tide_future_init(&loop, &wf);
  ASSERT_OK(tide_stream_write(s, "x", 1, &wf));
  run_until_done(&loop, &wf);
  rc = tide_future_result(&wf, NULL);
  ASSERT(rc == TIDE_EPIPE || rc == TIDE_ECONNRESET);
  tide_future_release(&wf);
  tide_stream_close(s, NULL); /* its future would repeat the write error */
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* The peer closes in an orderly way mid-line: the partial line, then EOF. */
TEST(tcp_peer_closes_mid_line) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future rf;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "::1", 0, 0, &l));
  tide_stream *c = connect_now(&loop, "::1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  ASSERT_OK(tide_stream_write(c, "one\ntw", 6, NULL));
  close_stream(&loop, c);
  run_until_done(&loop, &rf);
  expect_bytes(&rf, "one");
  tide_future_release(&rf);
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  run_until_done(&loop, &rf);
  expect_bytes(&rf, "tw");
  tide_future_release(&rf);
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  run_until_done(&loop, &rf);
  ASSERT_ERR(tide_future_result(&rf, NULL), TIDE_EOF);
  tide_future_release(&rf);
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- cancellation --------------------------------------------------------- */

TEST(tcp_cancel_pending_accept) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int port = tide_tcp_listener_port(l);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_accept(l, &f));
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* a pending accept keeps the loop running */
  ASSERT_ERR(tide_tcp_accept(l, &f), TIDE_EBUSY);
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  /* A connection arriving now waits in the backlog for the next accept. */
  int peer = raw_connect("127.0.0.1", port);
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  tide_stream *s = accept_now(&loop, l);
  ASSERT_EQ(write(peer, "hi\n", 3), 3);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read_line(s, 0, &f));
  run_until_done(&loop, &f);
  expect_bytes(&f, "hi");
  tide_future_release(&f);
  close_stream(&loop, s);
  close(peer);
  /* Closing the listener cancels a pending accept. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_accept(l, &f));
  tide_tcp_listener_close(l);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

TEST(tcp_release_pending_accept) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "::1", 0, 0, &l));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_accept(l, &f));
  tide_future_release(&f); /* cancels it */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_future_init(&loop, &f); /* the listener takes a new accept */
  ASSERT_OK(tide_tcp_accept(l, &f));
  tide_future_release(&f);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* Cancelled right after the call: connect(2) said EINPROGRESS on loopback. */
TEST(tcp_cancel_connect_at_once) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_connect(&loop, "127.0.0.1", tide_tcp_listener_port(l), &f));
  if (!tide_future_done(&f)) {
    ASSERT_OK(tide_future_cancel(&f));
    ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  } else { /* a host that connects loopback at once: nothing to cancel */
    close_stream(&loop, stream_of(&f));
  }
  tide_future_release(&f);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* A connect that really waits: the listener's backlog is full (nobody accepts),
 * so the kernel drops our SYN and retries later. Cancel it while it waits. */
TEST(tcp_cancel_connect_waiting) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f;
  int fillers[8];
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 1, &l));
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)tide_tcp_listener_port(l));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(fillers); i++) {
    fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fillers[i], 0);
    ASSERT_EQ(fcntl(fillers[i], F_SETFL, O_NONBLOCK), 0);
    int r = connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    ASSERT(r == 0 || errno == EINPROGRESS);
  }
  sleep_ms(20);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_connect(&loop, "127.0.0.1", tide_tcp_listener_port(l), &f));
  for (int i = 0; i < 5; i++) {
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    sleep_ms(10);
  }
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(fillers); i++) close(fillers[i]);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* A task awaiting a connect is cancelled: the connect goes with it. */
struct await_connect_frame {
  int port;
  tide_future f;
  int rc;
};

static int await_connect_main(tide_task *t, void *frame) {
  struct await_connect_frame *A = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &A->f);
  ASSERT_OK(tide_tcp_connect(tide_task_loop(t), "127.0.0.1", A->port, &A->f));
  TIDE_AWAIT(t, &A->f, A->rc);
  tide_future_release(&A->f);
  if (A->rc != 0) TIDE_RETURN_ERROR(t, A->rc, NULL);
  TIDE_END(t);
}

TEST(tcp_cancel_task_awaiting_connect) {
  tide_loop loop;
  tide_task *t;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct await_connect_frame init;
  memset(&init, 0, sizeof init);
  init.port = 1; /* never reached: the task is cancelled at its first await */
  ASSERT_OK(tide_task_spawn(&loop, await_connect_main, &init, sizeof init, &t));
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* first step: connect */
  if (!tide_task_done(t)) ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  int rc = tide_future_result(tide_task_future(t), NULL);
  ASSERT(rc == TIDE_ECANCELED || rc == TIDE_ECONNREFUSED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* --- out of memory at every allocation ------------------------------------ */

#define MAX_WALK 300

struct oom {
  test_alloc *a;
  int enomem;
};

#define RETRY(o, call)                                                                 \
  do {                                                                                 \
    int rc_;                                                                           \
    while ((rc_ = (call)) == TIDE_ENOMEM)                                              \
      (o)->enomem++;                                                                   \
    ASSERT_OK(rc_);                                                                    \
  } while (0)

/* Accept or connect (l == NULL) until a stream comes, retrying both a refused
 * call and a future that failed with TIDE_ENOMEM. */
static tide_stream *oom_open(struct oom *o, tide_loop *loop, tide_tcp_listener *l,
                             int port) {
  tide_future f;
  for (;;) {
    tide_future_init(loop, &f);
    int rc = l != NULL ? tide_tcp_accept(l, &f)
                       : tide_tcp_connect(loop, "127.0.0.1", port, &f);
    if (rc == TIDE_ENOMEM) {
      o->enomem++;
      tide_future_release(&f);
      continue;
    }
    ASSERT_OK(rc);
    run_until_done(loop, &f);
    if (tide_future_result(&f, NULL) == TIDE_ENOMEM) {
      o->enomem++;
      tide_future_release(&f);
      continue;
    }
    tide_stream *s = stream_of(&f);
    tide_future_release(&f);
    return s;
  }
}

static void oom_read_line(struct oom *o, tide_loop *loop, tide_stream *s,
                          const char *want) {
  tide_future f;
  for (;;) {
    tide_future_init(loop, &f);
    int rc = tide_stream_read_line(s, 0, &f);
    if (rc == TIDE_ENOMEM) {
      o->enomem++;
      tide_future_release(&f);
      continue;
    }
    ASSERT_OK(rc);
    run_until_done(loop, &f);
    if (tide_future_result(&f, NULL) == TIDE_ENOMEM) {
      o->enomem++;
      tide_future_release(&f);
      continue;
    }
    expect_bytes(&f, want);
    tide_future_release(&f);
    return;
  }
}

static void scenario_tcp(struct oom *o, size_t n) {
  tide_loop_options opts = test_alloc_options(o->a);
  tide_loop loop;
  tide_tcp_listener *l = NULL;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(o->a, n);
  RETRY(o, listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int port = tide_tcp_listener_port(l);
  /* A pending accept first (the watcher may grow the backend's tables), then
   * the connect that it accepts. */
  tide_future af;
  for (;;) {
    tide_future_init(&loop, &af);
    int rc = tide_tcp_accept(l, &af);
    if (rc != TIDE_ENOMEM) {
      ASSERT_OK(rc);
      break;
    }
    o->enomem++;
    tide_future_release(&af);
  }
  tide_stream *c = oom_open(o, &loop, NULL, port);
  run_until_done(&loop, &af);
  tide_stream *s;
  if (tide_future_result(&af, NULL) == TIDE_ENOMEM) {
    o->enomem++; /* the connection is held for the next accept */
    s = oom_open(o, &loop, l, 0);
  } else {
    s = stream_of(&af);
  }
  tide_future_release(&af);
  RETRY(o, tide_stream_write(c, "ping\n", 5, NULL));
  oom_read_line(o, &loop, s, "ping");
  RETRY(o, tide_stream_write(s, "pong\n", 5, NULL));
  oom_read_line(o, &loop, c, "pong");
  /* A pending accept left to the listener's close. */
  tide_future_init(&loop, &af);
  RETRY(o, tide_tcp_accept(l, &af));
  tide_tcp_listener_close(l);
  ASSERT_ERR(tide_future_result(&af, NULL), TIDE_ECANCELED);
  tide_future_release(&af);
  tide_stream_close(c, NULL);
  tide_stream_close(s, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(tcp_alloc_fail_each_allocation) {
  int sites = 0;
  int fds_before = count_fds();
  for (size_t n = 1; n <= MAX_WALK; n++) {
    test_alloc a;
    struct oom o = {&a, 0};
    test_alloc_init(&a);
    scenario_tcp(&o, n);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(o.enomem, (long long)a.failures); /* each failure seen exactly once */
    ASSERT_EQ(count_fds(), fds_before);
    if (a.failures == 0) break;
    sites++;
    ASSERT_LT(n, MAX_WALK);
  }
  /* listener, connect op, 2 streams, 2 read buffers, 2 writes, 2 lines. */
  ASSERT_GE(sites, 8);
}
