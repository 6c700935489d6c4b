/* test-native-tcp-stress.c (tide-tests only: real sockets): TCP under load and
 * failure, natively: 1000 echo connections open at once, peers that reset in
 * the middle of a flood of writes (awaited, and queued without futures), one
 * large write drained by a slow reader thread, memory that stays bounded while a
 * reader is slow or a peer never reads, connects that fail (refused on v4 and
 * v6, out of descriptors, cancelled while the backlog is full), and 200 peers
 * resetting in the middle of a line.
 * wasi-skip: WASI preview1 cannot make sockets: tide_tcp_* return TIDE_ENOSYS there.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "net.h"
#include "test.h"
#include "util.h"

/* Generous: every test here finishes in well under 5 s, even under ASan; the
 * watchdog only turns a lost event into a quick failure. */
#define WATCHDOG_MS 20000
#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)
#define CHUNK (64 * KiB)

/* --- helpers -------------------------------------------------------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* The bytes every bulk test sends: stream offset `off` carries
 * table[off % PERIOD]. The period is prime, so a chunk of 64 KiB lost,
 * repeated or reordered shifts the phase and is caught by pat_check. */
#define PAT_PERIOD 65521u
static unsigned char pat_table[PAT_PERIOD];

static void pat_init(void) {
  test_rng r;
  test_rng_seed(&r, 0x7153);
  for (size_t i = 0; i < PAT_PERIOD; i++)
    pat_table[i] = (unsigned char)(test_rng_next(&r) >> 56);
}

static void pat_fill(unsigned char *dst, size_t n, uint64_t off) {
  while (n > 0) {
    size_t at = (size_t)(off % PAT_PERIOD), k = PAT_PERIOD - at;
    if (k > n) k = n;
    memcpy(dst, pat_table + at, k);
    dst += k;
    off += k;
    n -= k;
  }
}

/* 1 if the n bytes at src are the pattern at offset off. */
static int pat_check(const unsigned char *src, size_t n, uint64_t off) {
  while (n > 0) {
    size_t at = (size_t)(off % PAT_PERIOD), k = PAT_PERIOD - at;
    if (k > n) k = n;
    if (memcmp(src, pat_table + at, k) != 0) return 0;
    src += k;
    off += k;
    n -= k;
  }
  return 1;
}

static int is_conn_error(int rc) {
  return rc == TIDE_EPIPE || rc == TIDE_ECONNRESET;
}

/* RLIMIT_NOFILE's soft limit raised to at least `need` (the hard limit
 * permitting): returns 1 if it changed, and *saved has the old limits. A hard
 * limit below `need` fails the test with what to do, rather than skipping. */
static int raise_nofile(rlim_t need, struct rlimit *saved) {
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, saved), 0);
  if (saved->rlim_cur == RLIM_INFINITY || saved->rlim_cur >= need) return 0;
  if (saved->rlim_max != RLIM_INFINITY && saved->rlim_max < need)
    test__fail(
        __FILE__, __LINE__,
        "this test needs %llu file descriptors but RLIMIT_NOFILE's hard limit is "
        "%llu: raise it (ulimit -Hn %llu, or LimitNOFILE= for a service)",
        (unsigned long long)need, (unsigned long long)saved->rlim_max,
        (unsigned long long)need);
  struct rlimit r = *saved;
  r.rlim_cur = need;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &r), 0);
  return 1;
}

/* A plain blocking IPv4 client with a small receive buffer (set before the
 * connect, so the window it advertises is small from the start). */
static int raw_connect_rcvbuf(int port, int rcvbuf) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Run the loop without blocking (1 ms apart) until s's bytes_written has been
 * above 0 and unchanged for `quiet` turns in a row: its writer is stuck behind
 * full kernel buffers. Fails after max_turns. Returns the count. */
static uint64_t run_until_stalled(tide_loop *loop, tide_stream *s, int quiet,
                                  int max_turns) {
  uint64_t last = tide_stream_bytes_written(s);
  int still = 0;
  for (int turn = 0; turn < max_turns; turn++) {
    ASSERT_GE(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
    uint64_t now = tide_stream_bytes_written(s);
    if (now == last && now > 0) {
      if (++still >= quiet) return now;
    } else {
      still = 0;
      last = now;
    }
    sleep_ms(1);
  }
  test__fail(__FILE__, __LINE__, "the writer never stalled (%llu bytes after %d turns)",
             (unsigned long long)last, max_turns);
}

/* Read s to EOF into nothing, checking the pattern from offset 0; returns the
 * byte count. */
static uint64_t drain_checked(tide_loop *loop, tide_stream *s) {
  uint64_t got = 0;
  for (int i = 0; i < 1000000; i++) {
    tide_future f;
    tide_future_init(loop, &f);
    ASSERT_OK(tide_stream_read(s, 0, &f));
    run_until_done(loop, &f);
    tide_value v;
    int rc = tide_future_result(&f, &v);
    if (rc == TIDE_EOF) {
      tide_future_release(&f);
      return got;
    }
    ASSERT_OK(rc);
    ASSERT(pat_check(v.as.bytes.data, v.as.bytes.len, got));
    got += v.as.bytes.len;
    tide_future_release(&f);
  }
  test__fail(__FILE__, __LINE__, "no EOF after a million reads");
}

/* ======================================================================== */
/* 1. 1000 concurrent echo connections                                       */
/* ======================================================================== */

#define ECHO_CONNS 1000
/* Connections started and not yet accepted, at most: the listener's backlog
 * (somaxconn may be 128 on older kernels) never overflows, so no SYN is
 * dropped and retried a second later. */
#define ECHO_GATE 64
#define MSG_MAX 512

struct echo_ctx {
  tide_tcp_listener *l;
  int port;
  tide_semaphore gate;     /* a permit per connect in flight */
  tide_event all_accepted; /* no server side closes before this */
  int accepted;
  int server_open, server_peak; /* server streams accepted and not closed */
  int client_open, client_peak; /* client streams connected and not closed */
  int served, clients_ok;
  uint64_t echoed;
};

/* Client i's message: a few hundred arbitrary bytes (any value, "\n" and "\0"
 * included), different for every client. */
static size_t make_msg(int id, unsigned char *msg) {
  size_t len = 200 + (size_t)(id * 37) % 300;
  test_rng r;
  test_rng_seed(&r, 0x1000u + (uint64_t)id);
  int head = snprintf((char *)msg, MSG_MAX, "client %04d:", id);
  for (size_t i = (size_t)head; i < len; i++)
    msg[i] = (unsigned char)(test_rng_next(&r) >> 56);
  return len;
}

/* Echo what comes until EOF, then hold the connection until every connection
 * has been accepted, then close. */
struct echo_srv_frame {
  struct echo_ctx *c;
  tide_stream *s;
  tide_future f;
  int rc;
};

static int echo_srv_main(tide_task *t, void *frame) {
  struct echo_srv_frame *E = frame;
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(tide_task_loop(t), &E->f);
    ASSERT_OK(tide_stream_read(E->s, 0, &E->f));
    TIDE_AWAIT(t, &E->f, E->rc);
    if (E->rc == TIDE_EOF) {
      tide_future_release(&E->f);
      break;
    }
    ASSERT_OK(E->rc);
    tide_value v;
    ASSERT_OK(tide_future_result(&E->f, &v));
    ASSERT_OK(tide_stream_write(E->s, v.as.bytes.data, v.as.bytes.len, NULL));
    E->c->echoed += v.as.bytes.len;
    tide_future_release(&E->f);
  }
  tide_future_init(tide_task_loop(t), &E->f);
  ASSERT_OK(tide_event_wait(&E->c->all_accepted, &E->f));
  TIDE_AWAIT(t, &E->f, E->rc);
  ASSERT_OK(E->rc);
  tide_future_release(&E->f);
  tide_future_init(tide_task_loop(t), &E->f);
  tide_stream_close(E->s, &E->f); /* flushes the echo, then the client reads EOF */
  TIDE_AWAIT(t, &E->f, E->rc);
  ASSERT_OK(E->rc);
  tide_future_release(&E->f);
  E->c->server_open--;
  E->c->served++;
  TIDE_END(t);
}

struct echo_acc_frame {
  struct echo_ctx *c;
  tide_future f;
  int rc;
};

static int echo_acc_main(tide_task *t, void *frame) {
  struct echo_acc_frame *A = frame;
  struct echo_ctx *c = A->c; /* in the frame: valid across awaits */
  TIDE_BEGIN(t);
  while (c->accepted < ECHO_CONNS) {
    tide_future_init(tide_task_loop(t), &A->f);
    ASSERT_OK(tide_tcp_accept(c->l, &A->f));
    TIDE_AWAIT(t, &A->f, A->rc);
    ASSERT_OK(A->rc);
    struct echo_srv_frame init;
    memset(&init, 0, sizeof init);
    init.c = c;
    init.s = stream_of(&A->f);
    tide_future_release(&A->f);
    c->accepted++;
    if (++c->server_open > c->server_peak) c->server_peak = c->server_open;
    ASSERT_OK(tide_semaphore_release(&c->gate));
    ASSERT_OK(
        tide_task_spawn(tide_task_loop(t), echo_srv_main, &init, sizeof init, NULL));
  }
  tide_event_set(&c->all_accepted);
  TIDE_END(t);
}

struct echo_cli_frame {
  struct echo_ctx *c;
  int id;
  tide_stream *s;
  tide_future f;
  int rc;
  size_t len, got;
  unsigned char msg[MSG_MAX];
  unsigned char echo[MSG_MAX];
};

static int echo_cli_main(tide_task *t, void *frame) {
  struct echo_cli_frame *C = frame;
  TIDE_BEGIN(t);
  C->len = make_msg(C->id, C->msg);
  tide_future_init(tide_task_loop(t), &C->f);
  ASSERT_OK(tide_semaphore_acquire(&C->c->gate, &C->f));
  TIDE_AWAIT(t, &C->f, C->rc);
  ASSERT_OK(C->rc);
  tide_future_release(&C->f);
  tide_future_init(tide_task_loop(t), &C->f);
  ASSERT_OK(tide_tcp_connect(tide_task_loop(t), "127.0.0.1", C->c->port, &C->f));
  TIDE_AWAIT(t, &C->f, C->rc);
  ASSERT_OK(C->rc);
  C->s = stream_of(&C->f);
  tide_future_release(&C->f);
  if (++C->c->client_open > C->c->client_peak) C->c->client_peak = C->c->client_open;
  /* The message, then end of input: the server echoes and then closes. */
  ASSERT_OK(tide_stream_write(C->s, C->msg, C->len, NULL));
  tide_future_init(tide_task_loop(t), &C->f);
  ASSERT_OK(tide_stream_shutdown(C->s, &C->f));
  TIDE_AWAIT(t, &C->f, C->rc);
  ASSERT_OK(C->rc);
  tide_future_release(&C->f);
  for (;;) {
    tide_future_init(tide_task_loop(t), &C->f);
    ASSERT_OK(tide_stream_read(C->s, 0, &C->f));
    TIDE_AWAIT(t, &C->f, C->rc);
    if (C->rc == TIDE_EOF) {
      tide_future_release(&C->f);
      break;
    }
    ASSERT_OK(C->rc);
    tide_value v;
    ASSERT_OK(tide_future_result(&C->f, &v));
    ASSERT_LE(C->got + v.as.bytes.len, C->len); /* nothing of another client's */
    memcpy(C->echo + C->got, v.as.bytes.data, v.as.bytes.len);
    C->got += v.as.bytes.len;
    tide_future_release(&C->f);
  }
  ASSERT_EQ(C->got, C->len);
  ASSERT_EQ(memcmp(C->echo, C->msg, C->len), 0);
  ASSERT_EQ(tide_stream_bytes_written(C->s), C->len);
  ASSERT_EQ(tide_stream_bytes_read(C->s), C->len);
  tide_future_init(tide_task_loop(t), &C->f);
  tide_stream_close(C->s, &C->f);
  TIDE_AWAIT(t, &C->f, C->rc);
  ASSERT_OK(C->rc);
  tide_future_release(&C->f);
  C->c->client_open--;
  C->c->clients_ok++;
  TIDE_END(t);
}

TEST(tcp_stress_1000_concurrent_echo) {
  struct rlimit saved;
  /* Two fds per connection, the listener, the backend's, the runner's. */
  int raised = raise_nofile(2 * ECHO_CONNS + 100, &saved);
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  test_errors errs;
  struct echo_ctx c;
  tide_task *acceptor;
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  memset(&c, 0, sizeof c);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &c.l));
  c.port = tide_tcp_listener_port(c.l);
  tide_semaphore_init(&loop, &c.gate, ECHO_GATE);
  tide_event_init(&loop, &c.all_accepted);

  struct echo_acc_frame af;
  memset(&af, 0, sizeof af);
  af.c = &c;
  ASSERT_OK(tide_task_spawn(&loop, echo_acc_main, &af, sizeof af, &acceptor));
  for (int i = 0; i < ECHO_CONNS; i++) {
    struct echo_cli_frame cf;
    memset(&cf, 0, sizeof cf);
    cf.c = &c;
    cf.id = i;
    ASSERT_OK(tide_task_spawn(&loop, echo_cli_main, &cf, sizeof cf, NULL));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);

  ASSERT_OK(tide_future_result(tide_task_future(acceptor), NULL));
  ASSERT_EQ(c.accepted, ECHO_CONNS);
  /* Every connection was open at once, on both sides. */
  ASSERT_GE(c.server_peak, ECHO_CONNS);
  ASSERT_GE(c.client_peak, ECHO_CONNS);
  ASSERT_EQ(c.served, ECHO_CONNS);
  ASSERT_EQ(c.clients_ok, ECHO_CONNS);
  ASSERT_EQ(c.server_open, 0);
  ASSERT_EQ(c.client_open, 0);
  uint64_t total = 0;
  for (int i = 0; i < ECHO_CONNS; i++)
    total += 200 + (size_t)(i * 37) % 300;
  ASSERT_EQ(c.echoed, total);
  ASSERT_EQ(errs.count, 0);
  tide_task_release(acceptor);
  tide_semaphore_destroy(&c.gate);
  tide_event_destroy(&c.all_accepted);
  tide_tcp_listener_close(c.l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
  if (raised) ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

/* ======================================================================== */
/* 2. The peer resets in the middle of a flood of writes                      */
/* ======================================================================== */

#define FLOOD_BYTES (32 * MiB)

/* 64 KiB writes of the pattern, each awaited, until one fails; then three more
 * writes, which must fail the same way at once. */
struct flood_frame {
  tide_stream *s;
  unsigned char *buf; /* CHUNK bytes, the test's (not the loop's) memory */
  size_t n, i;
  size_t ok;
  int errors, err, rc;
  int later_same;
  tide_future f;
};

static int flood_main(tide_task *t, void *frame) {
  struct flood_frame *W = frame;
  TIDE_BEGIN(t);
  for (W->i = 0; W->i < W->n; W->i++) {
    pat_fill(W->buf, CHUNK, (uint64_t)W->i * CHUNK);
    tide_future_init(tide_task_loop(t), &W->f);
    ASSERT_OK(tide_stream_write(W->s, W->buf, CHUNK, &W->f));
    TIDE_AWAIT(t, &W->f, W->rc);
    if (W->rc == 0) {
      ASSERT_EQ(int_of(&W->f), CHUNK);
      W->ok++;
    } else {
      W->errors++;
      W->err = W->rc;
    }
    tide_future_release(&W->f);
    if (W->rc != 0) break;
  }
  /* Later writes fail with the same error, at once (no readiness to wait for). */
  for (W->i = 0; W->i < 3; W->i++) {
    uint64_t before = tide_stream_bytes_written(W->s);
    tide_future_init(tide_task_loop(t), &W->f);
    ASSERT_OK(tide_stream_write(W->s, W->buf, CHUNK, &W->f));
    ASSERT(tide_future_done(&W->f));
    if (tide_future_result(&W->f, NULL) == W->err) W->later_same++;
    ASSERT_EQ(tide_stream_bytes_written(W->s), before);
    ASSERT_EQ(tide_stream_write_queue_size(W->s), 0);
    tide_future_release(&W->f);
  }
  TIDE_END(t);
}

/* The peer takes the first 4 KiB (they must be the first bytes written), then
 * resets. */
static void peer_reads_a_little_then_resets(int peer) {
  unsigned char head[4096];
  ASSERT_EQ(recv(peer, head, sizeof head, MSG_WAITALL), (ssize_t)sizeof head);
  ASSERT(pat_check(head, sizeof head, 0));
  raw_reset(peer);
}

TEST(tcp_stress_reset_during_awaited_writes) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  tide_task *w;
  pat_init();
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);

  struct flood_frame init;
  memset(&init, 0, sizeof init);
  init.s = s;
  init.buf = malloc(CHUNK);
  ASSERT_NOT_NULL(init.buf);
  init.n = FLOOD_BYTES / CHUNK;
  ASSERT_OK(tide_task_spawn(&loop, flood_main, &init, sizeof init, &w));
  struct flood_frame *W = tide_task_frame(w);

  /* The peer reads nothing yet: the writes stop completing once the kernel's
   * buffers are full, with one write pending. */
  uint64_t stalled = run_until_stalled(&loop, s, 20, 4000);
  ASSERT_GE(stalled, CHUNK);
  ASSERT_LT(stalled, FLOOD_BYTES);
  ASSERT_EQ(tide_task_done(w), 0);
  ASSERT_GT(tide_stream_write_queue_size(s), 0);
  ASSERT_EQ(W->errors, 0);

  peer_reads_a_little_then_resets(peer);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(tide_task_done(w));
  ASSERT_OK(tide_future_result(tide_task_future(w), NULL)); /* no crash, no abort */
  ASSERT_EQ(W->errors, 1);
  ASSERT(is_conn_error(W->err));
  ASSERT_LT(W->ok, W->n);
  ASSERT_LE((uint64_t)W->ok * CHUNK, tide_stream_bytes_written(s));
  ASSERT_LT(tide_stream_bytes_written(s), (uint64_t)(W->ok + 1) * CHUNK);
  ASSERT_EQ(W->later_same, 3);
  ASSERT_EQ(tide_stream_write_queue_size(s), 0);
  ASSERT_EQ(errs.count, 0); /* every failure went to its future */
  int err = W->err;
  tide_task_release(w);
  free(init.buf);

  /* Closing reports the stream's write error once more, to the close future. */
  tide_future cf;
  tide_future_init(&loop, &cf);
  tide_stream_close(s, &cf);
  run_until_done(&loop, &cf);
  ASSERT_ERR(tide_future_result(&cf, NULL), err);
  tide_future_release(&cf);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(errs.count, 0);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

/* The error handler of a loop whose writes have no futures: counts reports. */
struct write_reports {
  int epipe, econnreset, other;
  int wrong_context;
};

static void count_write_reports(tide_loop *loop, const tide_error_report *r, void *ud) {
  struct write_reports *w = ud;
  (void)loop;
  if (r->code == TIDE_EPIPE)
    w->epipe++;
  else if (r->code == TIDE_ECONNRESET)
    w->econnreset++;
  else
    w->other++;
  if (r->context == NULL || strcmp(r->context, "stream write failed") != 0 ||
      r->future != NULL || r->task != NULL)
    w->wrong_context++;
}

#define QUEUED_WRITES 256 /* x 64 KiB = 16 MiB, more than loopback buffers hold */

TEST(tcp_stress_reset_during_queued_writes_without_futures) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  struct write_reports rep;
  pat_init();
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  memset(&rep, 0, sizeof rep);
  tide_loop_set_error_handler(&loop, count_write_reports, &rep);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);

  unsigned char *buf = malloc(CHUNK);
  ASSERT_NOT_NULL(buf);
  for (size_t i = 0; i < QUEUED_WRITES; i++) {
    pat_fill(buf, CHUNK, (uint64_t)i * CHUNK);
    ASSERT_OK(tide_stream_write(s, buf, CHUNK, NULL));
  }
  ASSERT_EQ(tide_stream_write_queue_size(s), QUEUED_WRITES * CHUNK);
  ASSERT_EQ(tide_stream_bytes_written(s), 0); /* nothing is written inline */

  uint64_t stalled = run_until_stalled(&loop, s, 20, 4000);
  ASSERT_LT(stalled, (uint64_t)QUEUED_WRITES * CHUNK);
  ASSERT_EQ(tide_stream_write_queue_size(s) + stalled, (uint64_t)QUEUED_WRITES * CHUNK);
  ASSERT_EQ(rep.epipe + rep.econnreset + rep.other, 0);

  peer_reads_a_little_then_resets(peer);
  /* The failure stops the watcher: nothing is left to keep the loop running. */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  uint64_t written = tide_stream_bytes_written(s);
  ASSERT_EQ(tide_stream_write_queue_size(s), 0);
  /* Each write that did not go out whole was reported once, all alike. */
  int failed = (int)(QUEUED_WRITES - written / CHUNK);
  ASSERT_GT(failed, 0);
  ASSERT_EQ(rep.other, 0);
  ASSERT_EQ(rep.wrong_context, 0);
  ASSERT_EQ(rep.epipe + rep.econnreset, failed);
  ASSERT(rep.epipe == failed || rep.econnreset == failed);
  int err = rep.epipe ? TIDE_EPIPE : TIDE_ECONNRESET;

  /* A later write without a future fails the same way: reported once, from
   * the loop, not inside the call. */
  ASSERT_OK(tide_stream_write(s, buf, 16, NULL));
  ASSERT_EQ(rep.epipe + rep.econnreset, failed);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(rep.epipe + rep.econnreset, failed + 1);
  ASSERT_EQ(err == TIDE_EPIPE ? rep.epipe : rep.econnreset, failed + 1);
  /* And one with a future fails at once, with the same error, unreported. */
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(s, buf, 16, &f));
  ASSERT_ERR(tide_future_result(&f, NULL), err);
  tide_future_release(&f);
  ASSERT_EQ(tide_stream_bytes_written(s), written);
  free(buf);

  tide_future cf;
  tide_future_init(&loop, &cf);
  tide_stream_close(s, &cf);
  run_until_done(&loop, &cf);
  ASSERT_ERR(tide_future_result(&cf, NULL), err);
  tide_future_release(&cf);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(rep.epipe + rep.econnreset + rep.other, failed + 1);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

/* ======================================================================== */
/* 3. One 8 MiB write, drained by a slow reader                               */
/* ======================================================================== */

#define BIG_WRITE (8 * MiB)

/* A reader thread on a plain blocking socket: 4 KiB at a time, pausing 2 ms
 * after every 256 KiB, checking the pattern, until EOF. */
struct slow_reader {
  int fd;
  uint64_t got;
  int bad; /* bytes that were not the pattern */
  int err; /* errno of a failed recv, or 0 */
};

static void *slow_reader_main(void *arg) {
  struct slow_reader *r = arg;
  unsigned char buf[4096];
  uint64_t next_pause = 256 * KiB;
  for (;;) {
    ssize_t n = recv(r->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r->err = errno;
      break;
    }
    if (n == 0) break;
    if (!pat_check(buf, (size_t)n, r->got)) r->bad = 1;
    r->got += (uint64_t)n;
    if (r->got >= next_pause) {
      sleep_ms(2);
      next_pause += 256 * KiB;
    }
  }
  return NULL;
}

/* A listening socket on 127.0.0.1 whose connections inherit a small send
 * buffer (Linux copies SO_SNDBUF to accepted sockets), taken as a listener:
 * however large the host's tcp_wmem, an 8 MiB write must go out in pieces. */
static tide_tcp_listener *listen_small_sndbuf(tide_loop *loop, int sndbuf) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  tide_tcp_listener *l = NULL;
  ASSERT_OK(tide_tcp_listener_open(loop, fd, &l));
  return l;
}

TEST(tcp_stress_partial_writes_of_one_8mib_write) {
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  pthread_t th;
  pat_init();
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  l = listen_small_sndbuf(&loop, 64 * 1024);
  struct slow_reader r;
  memset(&r, 0, sizeof r);
  r.fd = raw_connect_rcvbuf(tide_tcp_listener_port(l), 16 * 1024);
  tide_stream *s = accept_now(&loop, l);

  unsigned char *big = malloc(BIG_WRITE);
  ASSERT_NOT_NULL(big);
  pat_fill(big, BIG_WRITE, 0);
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(s, big, BIG_WRITE, &f));
  memset(big, 0xee, BIG_WRITE); /* the stream wrote a copy */
  free(big);
  ASSERT_EQ(tide_stream_write_queue_size(s), BIG_WRITE);
  ASSERT_EQ(pthread_create(&th, NULL, slow_reader_main, &r), 0);

  /* The queue shrinks, step by step, as the reader makes room; the future
   * waits for the last byte. */
  size_t last = BIG_WRITE;
  int steps = 0, turns = 0;
  while (!tide_future_done(&f)) {
    ASSERT_LT(turns++, 1000000);
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
    size_t q = tide_stream_write_queue_size(s);
    ASSERT_EQ(tide_stream_bytes_written(s) + q, BIG_WRITE);
    ASSERT_LE(q, last);
    if (!tide_future_done(&f)) ASSERT_GT(q, 0);
    if (q < last) steps++;
    last = q;
  }
  ASSERT_EQ(int_of(&f), BIG_WRITE);
  tide_future_release(&f);
  ASSERT_EQ(tide_stream_write_queue_size(s), 0);
  ASSERT_EQ(tide_stream_bytes_written(s), BIG_WRITE);
  ASSERT_GE(steps, 8); /* many partial writes (about 8 MiB / 128 KiB), not one */
  close_stream(&loop, s);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(r.err, 0);
  ASSERT_EQ(r.got, BIG_WRITE); /* exactly: every byte, once */
  ASSERT_EQ(r.bad, 0);
  ASSERT_EQ(close(r.fd), 0);
  ASSERT_EQ(errs.count, 0);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* ======================================================================== */
/* 4. Memory stays bounded: a slow reader, a peer that never reads            */
/* ======================================================================== */

#define SLOW_TOTAL (64 * MiB)
#define MEM_BOUND MiB

/* Writes `total` bytes of the pattern in `chunk`-byte writes, each awaited,
 * then shuts down its side. */
struct bulk_writer_frame {
  tide_stream *s;
  unsigned char *buf; /* chunk bytes of the test's memory */
  size_t chunk, len;  /* the size of each write; of this one */
  uint64_t total, off;
  size_t completed;
  tide_future f;
  int rc;
};

static int bulk_writer_main(tide_task *t, void *frame) {
  struct bulk_writer_frame *W = frame;
  TIDE_BEGIN(t);
  for (W->off = 0; W->off < W->total; W->off += W->len) {
    W->len = W->total - W->off < W->chunk ? (size_t)(W->total - W->off) : W->chunk;
    pat_fill(W->buf, W->len, W->off);
    tide_future_init(tide_task_loop(t), &W->f);
    ASSERT_OK(tide_stream_write(W->s, W->buf, W->len, &W->f));
    TIDE_AWAIT(t, &W->f, W->rc);
    if (W->rc == 0) ASSERT_EQ(int_of(&W->f), W->len);
    tide_future_release(&W->f);
    if (W->rc != 0) TIDE_RETURN_ERROR(t, W->rc, NULL);
    W->completed++;
  }
  tide_future_init(tide_task_loop(t), &W->f);
  ASSERT_OK(tide_stream_shutdown(W->s, &W->f));
  TIDE_AWAIT(t, &W->f, W->rc);
  tide_future_release(&W->f);
  if (W->rc != 0) TIDE_RETURN_ERROR(t, W->rc, NULL);
  TIDE_END(t);
}

/* Reads to EOF, slowly: 1 ms pause per MiB, and at 0, 16, 32 and 48 MiB it
 * stops reading until the writer (on `peer`) has made no progress for 3 pauses
 * of 2 ms in a row. */
struct slow_client_frame {
  tide_stream *s, *peer;
  uint64_t got, next_mib, next_stall;
  uint64_t first_stall_written; /* what the writer had written by the first stall */
  int stalls, still, pauses, bad;
  uint64_t last;
  tide_future f;
  int rc;
};

static int slow_client_main(tide_task *t, void *frame) {
  struct slow_client_frame *R = frame;
  TIDE_BEGIN(t);
  R->next_stall = 0;
  R->next_mib = MiB;
  for (;;) {
    if (R->got >= R->next_stall && R->next_stall < SLOW_TOTAL) {
      R->still = 0;
      R->last = tide_stream_bytes_written(R->peer);
      for (R->pauses = 0; R->pauses < 500 && R->still < 3; R->pauses++) {
        TIDE_SLEEP(t, 2, R->rc);
        ASSERT_OK(R->rc);
        if (tide_stream_bytes_written(R->peer) == R->last) {
          R->still++;
        } else {
          R->still = 0;
          R->last = tide_stream_bytes_written(R->peer);
        }
      }
      ASSERT_EQ(R->still, 3);
      if (R->stalls++ == 0) R->first_stall_written = R->last;
      R->next_stall += 16 * MiB;
    }
    tide_future_init(tide_task_loop(t), &R->f);
    ASSERT_OK(tide_stream_read(R->s, 0, &R->f));
    TIDE_AWAIT(t, &R->f, R->rc);
    if (R->rc == TIDE_EOF) {
      tide_future_release(&R->f);
      break;
    }
    ASSERT_OK(R->rc);
    tide_value v;
    ASSERT_OK(tide_future_result(&R->f, &v));
    if (!pat_check(v.as.bytes.data, v.as.bytes.len, R->got)) R->bad++;
    R->got += v.as.bytes.len;
    tide_future_release(&R->f);
    if (R->got >= R->next_mib) {
      R->next_mib += MiB;
      TIDE_SLEEP(t, 1, R->rc);
      ASSERT_OK(R->rc);
    }
  }
  TIDE_END(t);
}

TEST(tcp_stress_slow_reader_bounded_memory) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  tide_task *w, *r;
  pat_init();
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  tide_stream *c = connect_now(&loop, "127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);

  struct bulk_writer_frame wf;
  memset(&wf, 0, sizeof wf);
  wf.s = s;
  wf.chunk = CHUNK;
  wf.buf = malloc(wf.chunk);
  ASSERT_NOT_NULL(wf.buf);
  wf.total = SLOW_TOTAL;
  struct slow_client_frame rf;
  memset(&rf, 0, sizeof rf);
  rf.s = c;
  rf.peer = s;
  size_t start = a.live_bytes;
  a.peak_bytes = start;
  ASSERT_OK(tide_task_spawn(&loop, bulk_writer_main, &wf, sizeof wf, &w));
  ASSERT_OK(tide_task_spawn(&loop, slow_client_main, &rf, sizeof rf, &r));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);

  ASSERT_OK(tide_future_result(tide_task_future(w), NULL));
  ASSERT_OK(tide_future_result(tide_task_future(r), NULL));
  struct bulk_writer_frame *W = tide_task_frame(w);
  struct slow_client_frame *R = tide_task_frame(r);
  ASSERT_EQ(W->completed, SLOW_TOTAL / CHUNK);
  ASSERT_EQ(R->got, SLOW_TOTAL);
  ASSERT_EQ(R->bad, 0);
  ASSERT_EQ(R->stalls, 4);
  /* Before the reader took anything, the writer was stopped by backpressure
   * (the kernel's buffers), far from the end. */
  ASSERT_GT(R->first_stall_written, 0);
  ASSERT_LT(R->first_stall_written, SLOW_TOTAL / 2);
  /* ...and the loop never held more than a few buffers: 64 MiB went through
   * less than 1 MiB of the loop's memory. */
  ASSERT_LT(a.peak_bytes - start, MEM_BOUND);
  ASSERT_EQ(tide_stream_bytes_written(s), SLOW_TOTAL);
  ASSERT_EQ(tide_stream_bytes_read(c), SLOW_TOTAL);
  ASSERT_EQ(errs.count, 0);
  tide_task_release(w);
  tide_task_release(r);
  free(wf.buf);
  close_stream(&loop, c);
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

/* Writes `chunk`-byte pieces of the pattern with two writes in flight: the
 * next one is queued before the older one is awaited, so the stream always has
 * one to go on with. Cancelled, it releases what it still holds and ends
 * CANCELLED. */
struct pipe_writer_frame {
  tide_stream *s;
  unsigned char *buf;
  size_t chunk;
  uint64_t total, queued_off;
  size_t completed;
  tide_future f[2];
  int head, nq;
  int rc;
};

static void pipe_queue(struct pipe_writer_frame *W, tide_loop *loop) {
  if (W->queued_off >= W->total) return;
  tide_future *f = &W->f[(W->head + W->nq) % 2];
  pat_fill(W->buf, W->chunk, W->queued_off);
  tide_future_init(loop, f);
  ASSERT_OK(tide_stream_write(W->s, W->buf, W->chunk, f));
  W->queued_off += W->chunk;
  W->nq++;
}

static int pipe_writer_main(tide_task *t, void *frame) {
  struct pipe_writer_frame *W = frame;
  TIDE_BEGIN(t);
  pipe_queue(W, tide_task_loop(t));
  pipe_queue(W, tide_task_loop(t));
  while (W->nq > 0) {
    TIDE_AWAIT(t, &W->f[W->head], W->rc);
    if (W->rc != 0) break;
    ASSERT_EQ(int_of(&W->f[W->head]), W->chunk);
    tide_future_release(&W->f[W->head]);
    W->head ^= 1;
    W->nq--;
    W->completed++;
    pipe_queue(W, tide_task_loop(t));
  }
  if (W->rc != 0) {
    for (; W->nq > 0; W->nq--, W->head ^= 1)
      tide_future_release(&W->f[W->head]);
    TIDE_RETURN_ERROR(t, W->rc, NULL);
  }
  TIDE_END(t);
}

/* The reverse: the client writes as fast as the kernel takes it to a server
 * that never reads. The writes stop completing and memory stays bounded.
 * Cancelling the writer finishes the write in progress (never half a buffer)
 * and drops the one not started; once the server reads, it gets exactly the
 * whole writes, in order. */
TEST(tcp_stress_unread_peer_stalls_writer) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  tide_task *w;
  pat_init();
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "::1", 0, 0, &l));
  tide_stream *c = connect_now(&loop, "::1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);

  /* Writes larger than what the kernel takes after a readiness, and of a size
   * its 64 KiB buffers do not divide, so the one at the head of the queue at
   * the stall is most likely half written. The loop holds the two writes in
   * flight and little else. */
  const size_t chunk = 1000000;
  const size_t bound = 2 * chunk + 256 * KiB;
  struct pipe_writer_frame wf;
  memset(&wf, 0, sizeof wf);
  wf.s = c;
  wf.chunk = chunk;
  wf.buf = malloc(chunk);
  ASSERT_NOT_NULL(wf.buf);
  wf.total = 64 * (uint64_t)chunk; /* 64 MB */
  size_t start = a.live_bytes;
  a.peak_bytes = start;
  ASSERT_OK(tide_task_spawn(&loop, pipe_writer_main, &wf, sizeof wf, &w));
  struct pipe_writer_frame *W = tide_task_frame(w);

  uint64_t stalled = run_until_stalled(&loop, c, 30, 4000);
  ASSERT_EQ(tide_task_done(w), 0);
  ASSERT_LT(stalled, wf.total / 2);
  ASSERT_EQ(W->nq, 2);
  /* Queued: what is left of the head write (in progress, or not started)
   * and the whole write behind it; everything before went out whole. */
  size_t pending = tide_stream_write_queue_size(c);
  ASSERT_GT(pending, chunk);
  ASSERT_LE(pending, 2 * chunk);
  ASSERT_EQ(stalled + pending, (uint64_t)(W->completed + 2) * chunk);
  ASSERT_LT(a.peak_bytes - start, bound);

  ASSERT_OK(tide_task_cancel(w));
  for (int i = 0; i < 100 && !tide_task_done(w); i++)
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT(tide_task_done(w));
  ASSERT_ERR(tide_future_result(tide_task_future(w), NULL), TIDE_ECANCELED);
  /* The head, if started, is finished in the background; the rest is gone. */
  size_t head_left = pending - chunk;
  int started = head_left < chunk;
  ASSERT_EQ(tide_stream_write_queue_size(c), started ? head_left : 0);
  uint64_t expect = (uint64_t)(W->completed + (size_t)started) * chunk;
  tide_task_release(w);
  free(wf.buf);

  /* Close the client (it flushes first); the server reads everything. */
  tide_future cf;
  tide_future_init(&loop, &cf);
  tide_stream_close(c, &cf);
  ASSERT_EQ(drain_checked(&loop, s), expect);
  run_until_done(&loop, &cf);
  ASSERT_OK(tide_future_result(&cf, NULL));
  tide_future_release(&cf);
  ASSERT_EQ(tide_stream_bytes_read(s), expect);
  ASSERT_LT(a.peak_bytes - start, bound);
  ASSERT_EQ(errs.count, 0);
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

/* ======================================================================== */
/* 5. Connects that fail                                                      */
/* ======================================================================== */

#define REFUSED_CONNECTS 100

/* 100 connects at once to a port nobody listens on, over IPv4 and IPv6: each
 * is refused, and nothing is left behind. */
TEST(tcp_stress_refused_connects_v4_v6) {
  static const char *const hosts[] = {"127.0.0.1", "::1"};
  for (size_t h = 0; h < TEST_ARRAY_SIZE(hosts); h++) {
    test_alloc a;
    tide_loop loop;
    tide_tcp_listener *l;
    tide_future f[REFUSED_CONNECTS];
    int fds_before = count_fds();
    test_alloc_init(&a);
    tide_loop_options opts = test_alloc_options(&a);
    ASSERT_OK(tide_loop_init(&loop, &opts));
    ASSERT_OK(listen_now(&loop, hosts[h], 0, 0, &l));
    int port = tide_tcp_listener_port(l);
    tide_tcp_listener_close(l); /* nobody listens there now */
    for (int i = 0; i < REFUSED_CONNECTS; i++) {
      tide_future_init(&loop, &f[i]);
      ASSERT_OK(tide_tcp_connect(&loop, hosts[h], port, &f[i]));
    }
    for (int i = 0; i < REFUSED_CONNECTS; i++) {
      run_until_done(&loop, &f[i]);
      ASSERT_ERR(tide_future_result(&f[i], NULL), TIDE_ECONNREFUSED);
      tide_future_release(&f[i]);
    }
    RUN_AND_CLOSE_LOOP(&loop);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(count_fds(), fds_before);
  }
}

/* The lowest descriptor number free now: with the soft limit there, no new
 * descriptor can be made while those below stay open. */
static int lowest_free_fd(void) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(close(fd), 0);
  return fd;
}

/* Out of descriptors: a connect says TIDE_EMFILE at once (the header's
 * promise: a return value, the future untouched); an accept completes with
 * TIDE_EMFILE, whether it was waiting or the connection was already there, and
 * the connection stays in the backlog for the accept after the limit is
 * raised again. */
TEST(tcp_stress_emfile_connect_and_accept) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  tide_tcp_listener *l;
  test_errors errs;
  struct rlimit saved;
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int port = tide_tcp_listener_port(l);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int peer = socket(AF_INET, SOCK_STREAM, 0); /* made now, connected later */
  ASSERT_GE(peer, 0);
  /* An accept that waits (nothing in the backlog yet). */
  tide_future af;
  tide_future_init(&loop, &af);
  ASSERT_OK(tide_tcp_accept(l, &af));
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_future_done(&af), 0);
  size_t live = a.live_bytes;

  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit low = saved;
  low.rlim_cur = (rlim_t)lowest_free_fd();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ASSERT_EQ(open("/dev/null", O_RDONLY), -1);
  ASSERT_EQ(errno, EMFILE);

  /* Connect: refused by the call, for both families, leaving nothing. */
  static const char *const hosts[] = {"127.0.0.1", "::1"};
  for (size_t h = 0; h < TEST_ARRAY_SIZE(hosts); h++) {
    tide_future f;
    tide_future_init(&loop, &f);
    ASSERT_ERR(tide_tcp_connect(&loop, hosts[h], port, &f), TIDE_EMFILE);
    ASSERT_EQ(tide_future_done(&f), 0);
    tide_future_release(&f);
  }
  ASSERT_EQ(a.live_bytes, live);

  /* The connection comes while the accept waits: TIDE_EMFILE. */
  ASSERT_EQ(connect(peer, (struct sockaddr *)&sa, sizeof sa), 0); /* into the backlog */
  ASSERT_EQ(write(peer, "still here\n", 11), 11);
  run_until_done(&loop, &af);
  ASSERT_ERR(tide_future_result(&af, NULL), TIDE_EMFILE);
  tide_future_release(&af);
  /* The failed accept stops watching: the loop does not spin on the ready
   * listener, nor stay alive for it. */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* Accepting again (the connection is there): TIDE_EMFILE at once. Linux
   * checks for a free descriptor before it looks at the backlog. */
  tide_future_init(&loop, &af);
  ASSERT_OK(tide_tcp_accept(l, &af));
  ASSERT(tide_future_done(&af));
  ASSERT_ERR(tide_future_result(&af, NULL), TIDE_EMFILE);
  tide_future_release(&af);
  ASSERT_EQ(a.live_bytes, live);

  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  /* The connection waited in the backlog, with its bytes. */
  tide_stream *s = accept_now(&loop, l);
  tide_future rf;
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  run_until_done(&loop, &rf);
  expect_bytes(&rf, "still here");
  tide_future_release(&rf);
  /* And connecting works again. */
  tide_stream *c = connect_now(&loop, "127.0.0.1", port);
  tide_stream *s2 = accept_now(&loop, l);
  close_stream(&loop, c);
  close_stream(&loop, s2);
  close_stream(&loop, s);
  ASSERT_EQ(close(peer), 0);
  ASSERT_EQ(errs.count, 0);
  tide_tcp_listener_close(l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

#define WAITING_CONNECTS 100

/* 100 connects waiting on a listener whose backlog is full (the kernel drops
 * their SYNs), then cancelled (half) or released (half): every socket is
 * closed, the loop has nothing left. */
TEST(tcp_stress_cancel_100_waiting_connects) {
  test_alloc a;
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future f[WAITING_CONNECTS];
  int fillers[8];
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 1, &l));
  int port = tide_tcp_listener_port(l);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(fillers); i++) {
    fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fillers[i], 0);
    ASSERT_EQ(fcntl(fillers[i], F_SETFL, O_NONBLOCK), 0);
    int r = connect(fillers[i], (struct sockaddr *)&sa, sizeof sa);
    ASSERT(r == 0 || errno == EINPROGRESS);
  }
  sleep_ms(20);
  int fds_fill = count_fds();
  for (int i = 0; i < WAITING_CONNECTS; i++) {
    tide_future_init(&loop, &f[i]);
    ASSERT_OK(tide_tcp_connect(&loop, "127.0.0.1", port, &f[i]));
  }
  ASSERT_EQ(count_fds(), fds_fill + WAITING_CONNECTS);
  for (int i = 0; i < 5; i++) {
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    sleep_ms(10);
  }
  for (int i = 0; i < WAITING_CONNECTS; i++)
    ASSERT_EQ(tide_future_done(&f[i]), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  size_t live = a.live_bytes;
  for (int i = 0; i < WAITING_CONNECTS; i++) {
    if (i % 2 == 0) {
      ASSERT_OK(tide_future_cancel(&f[i]));
      ASSERT_ERR(tide_future_result(&f[i], NULL), TIDE_ECANCELED);
    }
    tide_future_release(&f[i]);
  }
  ASSERT_LT(a.live_bytes, live); /* the connect ops are freed at once */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* the close callbacks */
  ASSERT_EQ(count_fds(), fds_fill); /* every half-made socket is closed */
  for (size_t i = 0; i < TEST_ARRAY_SIZE(fillers); i++)
    ASSERT_EQ(close(fillers[i]), 0);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
}

/* ======================================================================== */
/* 6. Peers resetting in the middle of a line                                 */
/* ======================================================================== */

#define RESET_PEERS 200
#define HALF_LINE "half a li"

struct line_slot {
  tide_stream *s;
  int id;         /* from the peer's first line; -1 until read */
  int lines;      /* complete lines delivered */
  int half_lines; /* the unfinished line delivered (only fair after EOF) */
  int endings;    /* errors that ended the reading: exactly 1 */
  int code;       /* that error */
  int closed;
};

struct line_ctx {
  tide_tcp_listener *l;
  struct line_slot slot[RESET_PEERS];
  int accepted;
  int finished;
};

struct line_reader_frame {
  struct line_slot *sl;
  struct line_ctx *c;
  tide_future f;
  int rc;
};

static int line_reader_main(tide_task *t, void *frame) {
  struct line_reader_frame *L = frame;
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(tide_task_loop(t), &L->f);
    ASSERT_OK(tide_stream_read_line(L->sl->s, 0, &L->f));
    TIDE_AWAIT(t, &L->f, L->rc);
    if (L->rc != 0) {
      tide_future_release(&L->f);
      L->sl->endings++;
      L->sl->code = L->rc;
      break;
    }
    tide_value v;
    ASSERT_OK(tide_future_result(&L->f, &v));
    char line[64];
    ASSERT_LT(v.as.bytes.len, sizeof line);
    memcpy(line, v.as.bytes.data, v.as.bytes.len);
    line[v.as.bytes.len] = '\0';
    tide_future_release(&L->f);
    if (L->sl->lines == 0) {
      int id = -1, end = 0;
      ASSERT_EQ(sscanf(line, "hello from peer %d%n", &id, &end), 1);
      ASSERT_EQ(line[end], '\0');
      L->sl->id = id;
      L->sl->lines++;
    } else {
      ASSERT_STR_EQ(line, HALF_LINE); /* never anything else */
      L->sl->half_lines++;
    }
  }
  tide_future_init(tide_task_loop(t), &L->f);
  tide_stream_close(L->sl->s, &L->f); /* nothing was written: no error */
  TIDE_AWAIT(t, &L->f, L->rc);
  ASSERT_OK(L->rc);
  tide_future_release(&L->f);
  L->sl->closed = 1;
  L->c->finished++;
  TIDE_END(t);
}

struct line_acc_frame {
  struct line_ctx *c;
  tide_future f;
  int rc;
};

static int line_acc_main(tide_task *t, void *frame) {
  struct line_acc_frame *A = frame;
  TIDE_BEGIN(t);
  while (A->c->accepted < RESET_PEERS) {
    tide_future_init(tide_task_loop(t), &A->f);
    ASSERT_OK(tide_tcp_accept(A->c->l, &A->f));
    TIDE_AWAIT(t, &A->f, A->rc);
    ASSERT_OK(A->rc);
    struct line_slot *sl = &A->c->slot[A->c->accepted++];
    sl->s = stream_of(&A->f);
    sl->id = -1;
    tide_future_release(&A->f);
    struct line_reader_frame init;
    memset(&init, 0, sizeof init);
    init.sl = sl;
    init.c = A->c;
    ASSERT_OK(
        tide_task_spawn(tide_task_loop(t), line_reader_main, &init, sizeof init, NULL));
  }
  TIDE_END(t);
}

/* Run the loop without blocking (1 ms apart) until cond(c) holds. */
static void pump_until(tide_loop *loop, int (*cond)(struct line_ctx *),
                       struct line_ctx *c) {
  for (int turn = 0; turn < 5000; turn++) {
    ASSERT_GE(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
    if (cond(c)) return;
    sleep_ms(1);
  }
  test__fail(__FILE__, __LINE__, "the server did not get there in 5000 turns");
}

static int line_peers_connected;

static int all_accepted(struct line_ctx *c) {
  return c->accepted == line_peers_connected;
}

/* Every reader has its first line and the half line buffered: it waits in
 * the middle of a line. */
static int all_mid_line(struct line_ctx *c) {
  size_t want = strlen("hello from peer 000\n") + strlen(HALF_LINE);
  for (int i = 0; i < RESET_PEERS; i++)
    if (c->slot[i].lines != 1 || tide_stream_bytes_read(c->slot[i].s) < want) return 0;
  return 1;
}

TEST(tcp_stress_200_peers_reset_mid_line) {
  test_alloc a;
  tide_loop loop;
  tide_timer dog;
  test_errors errs;
  struct line_ctx *c = calloc(1, sizeof *c);
  int peers[RESET_PEERS];
  tide_task *acceptor;
  ASSERT_NOT_NULL(c);
  int fds_before = count_fds();
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &c->l));
  int port = tide_tcp_listener_port(c->l);
  struct line_acc_frame af;
  memset(&af, 0, sizeof af);
  af.c = c;
  ASSERT_OK(tide_task_spawn(&loop, line_acc_main, &af, sizeof af, &acceptor));

  /* Peers connect and send a line and half of the next; the server accepts
   * as they come (32 at a time: the backlog never fills). */
  for (int i = 0; i < RESET_PEERS; i++) {
    char msg[64];
    int n = snprintf(msg, sizeof msg, "hello from peer %03d\n" HALF_LINE, i);
    peers[i] = raw_connect("127.0.0.1", port);
    ASSERT_EQ(write(peers[i], msg, (size_t)n), n);
    line_peers_connected = i + 1;
    if (i % 32 == 31 || i == RESET_PEERS - 1) pump_until(&loop, all_accepted, c);
  }
  pump_until(&loop, all_mid_line, c);
  for (int i = 0; i < RESET_PEERS; i++) {
    ASSERT_EQ(c->slot[i].endings, 0);
    ASSERT_EQ(c->slot[i].half_lines, 0);
  }
  /* Every peer vanishes with a reset, the half line never finished. */
  for (int i = 0; i < RESET_PEERS; i++)
    raw_reset(peers[i]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);

  ASSERT_OK(tide_future_result(tide_task_future(acceptor), NULL));
  ASSERT_EQ(c->finished, RESET_PEERS);
  int seen[RESET_PEERS];
  int resets = 0, eofs = 0;
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < RESET_PEERS; i++) {
    struct line_slot *sl = &c->slot[i];
    ASSERT_EQ(sl->endings, 1);
    ASSERT(sl->code == TIDE_ECONNRESET || sl->code == TIDE_EOF);
    /* The unfinished line is delivered only as the last line of an orderly
     * end, never before a reset. */
    if (sl->code == TIDE_ECONNRESET) ASSERT_EQ(sl->half_lines, 0);
    ASSERT_LE(sl->half_lines, 1);
    ASSERT_EQ(sl->lines, 1);
    ASSERT(sl->id >= 0 && sl->id < RESET_PEERS);
    ASSERT_EQ(seen[sl->id]++, 0); /* each peer served once */
    ASSERT_EQ(sl->closed, 1);
    if (sl->code == TIDE_ECONNRESET)
      resets++;
    else
      eofs++;
  }
  ASSERT_EQ(resets + eofs, RESET_PEERS);
  ASSERT_EQ(errs.count, 0);
  tide_task_release(acceptor);
  tide_tcp_listener_close(c->l);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(count_fds(), fds_before);
  free(c);
}

/* After a reset in the middle of a line, the stream stays failed: reading on
 * never turns the unfinished line into a complete one, nor the reset into an
 * orderly end. (Write errors are sticky by contract; a read error that is not
 * lets a line-oriented server that reads on act on a truncated request.)
 * FAILS at the time of writing: the second read_line delivers "half a li" as a
 * line, the third TIDE_EOF (Linux reports ECONNRESET once, then 0 from recv,
 * which the stream takes for end of input). See the stress report. */
TEST(tcp_stress_read_line_after_reset_stays_failed) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future rf;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  ASSERT_EQ(write(peer, "whole\n" HALF_LINE, 6 + strlen(HALF_LINE)),
            (ssize_t)(6 + strlen(HALF_LINE)));
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  run_until_done(&loop, &rf);
  expect_bytes(&rf, "whole");
  tide_future_release(&rf);
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read_line(s, 0, &rf));
  for (int i = 0; i < 1000 && tide_stream_bytes_read(s) < 6 + strlen(HALF_LINE); i++) {
    ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    sleep_ms(1);
  }
  ASSERT_EQ(tide_stream_bytes_read(s), 6 + strlen(HALF_LINE));
  ASSERT_EQ(tide_future_done(&rf), 0); /* waiting in the middle of a line */
  raw_reset(peer);
  run_until_done(&loop, &rf);
  int first = tide_future_result(&rf, NULL);
  tide_future_release(&rf);
  ASSERT(first == TIDE_ECONNRESET || first == TIDE_EOF);
  if (first == TIDE_ECONNRESET) {
    for (int i = 0; i < 3; i++) {
      tide_future_init(&loop, &rf);
      ASSERT_OK(tide_stream_read_line(s, 0, &rf));
      run_until_done(&loop, &rf);
      tide_value v;
      int rc = tide_future_result(&rf, &v);
      if (rc == 0)
        test__fail(__FILE__, __LINE__,
                   "read_line #%d after ECONNRESET delivered the unfinished line "
                   "\"%.*s\" as a complete one",
                   i + 2, (int)v.as.bytes.len, (const char *)v.as.bytes.data);
      ASSERT_ERR(rc, first);
      tide_future_release(&rf);
    }
  }
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}
