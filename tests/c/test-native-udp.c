/* test-native-udp.c (tide-tests only: real sockets): UDP datagrams on 127.0.0.1
 * and ::1: round trips with the sender's address, order under load, empty and
 * over-long datagrams, bad addresses, ports in use, cancellation, close with
 * work pending, errors reported, fd leaks, and out-of-memory at every
 * allocation.
 * wasi-skip: WASI preview1 has no datagram sockets: tide_udp_* return TIDE_ENOSYS
 * there.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "net.h"
#include "test.h"
#include "util.h"

#define WATCHDOG_MS 10000

/* --- helpers -------------------------------------------------------------- */

/* tide_udp_open, waited for: its return value, else the future's outcome (0
 * with *out set). */
static int open_now(tide_loop *loop, const char *host, int port, tide_udp **out) {
  tide_future f;
  tide_value v;
  tide_future_init(loop, &f);
  int rc = tide_udp_open(loop, host, port, &f);
  if (rc == 0) {
    run_until_done(loop, &f);
    rc = tide_future_result(&f, &v);
  }
  if (rc == 0) {
    ASSERT_EQ(v.type, TIDE_VALUE_PTR);
    ASSERT_NOT_NULL(v.as.p);
    *out = v.as.p;
  }
  tide_future_release(&f);
  return rc;
}

static tide_udp *open_ok(tide_loop *loop, const char *host) {
  tide_udp *u = NULL;
  ASSERT_OK(open_now(loop, host, 0, &u));
  ASSERT_GT(tide_udp_port(u), 0);
  return u;
}

/* Send and wait: the future's INT must be the length. */
static void send_now(tide_loop *loop, tide_udp *u, const void *data, size_t len,
                     const char *host, int port) {
  tide_future f;
  tide_value v;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_udp_send(u, data, len, host, port, &f));
  run_until_done(loop, &f);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, (long long)len);
  tide_future_release(&f);
}

/* Receive one datagram equal to want, from the given port and host. */
static void recv_expect(tide_loop *loop, tide_udp *u, const char *want,
                        const char *from_host, int from_port) {
  tide_future f;
  tide_address from;
  memset(&from, 0, sizeof from);
  tide_future_init(loop, &f);
  ASSERT_OK(tide_udp_recv(u, 0, &from, &f));
  run_until_done(loop, &f);
  expect_bytes(&f, want);
  tide_future_release(&f);
  ASSERT_STR_EQ(from.host, from_host);
  ASSERT_EQ(from.family, strchr(from_host, ':') ? 6 : 4);
  ASSERT_EQ(from.port, from_port);
}

/* A done callback counting how often it ran: "completed exactly once". */
static void count_done(tide_future *f, void *ud) {
  (void)f;
  (*(int *)ud)++;
}

/* --- round trips ---------------------------------------------------------- */

static void round_trip(const char *host) {
  tide_loop loop;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  int fds_before = count_fds();
  test_errors_install(&loop, &errs);
  tide_udp *a = open_ok(&loop, host);
  tide_udp *b = open_ok(&loop, host);
  ASSERT_NE(tide_udp_port(a), tide_udp_port(b));
  ASSERT_EQ(count_fds(), fds_before + 2);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* registered... */
  ASSERT_EQ(tide_loop_alive(&loop), 0);           /* ...but keeps nothing alive */
  send_now(&loop, a, "ping", 4, host, tide_udp_port(b));
  recv_expect(&loop, b, "ping", host, tide_udp_port(a));
  send_now(&loop, b, "pong!", 5, host, tide_udp_port(a));
  recv_expect(&loop, a, "pong!", host, tide_udp_port(b));
  ASSERT_EQ(errs.count, 0);
  tide_udp_close(a);
  tide_udp_close(b);
  ASSERT_EQ(count_fds(), fds_before); /* closed at once */
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(udp_round_trip_ipv4) {
  round_trip("127.0.0.1");
}

TEST(udp_round_trip_ipv6) {
  round_trip("::1");
}

/* The largest datagram there is, and the empty one, with an explicit max. */
TEST(udp_largest_and_empty_datagrams) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  size_t big = 65507;
  unsigned char *data = malloc(big);
  ASSERT_NOT_NULL(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (unsigned char)(i * 7);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "127.0.0.1");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  send_now(&loop, a, data, big, "127.0.0.1", tide_udp_port(b));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(b, big, NULL, &f));
  run_until_done(&loop, &f);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_EQ(v.as.bytes.len, big);
  ASSERT_EQ(memcmp(v.as.bytes.data, data, big), 0);
  tide_future_release(&f);
  /* A zero-length datagram is a datagram: empty BYTES, a real pointer. */
  send_now(&loop, a, NULL, 0, "127.0.0.1", tide_udp_port(b));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(b, 1, NULL, &f));
  run_until_done(&loop, &f);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_EQ(v.as.bytes.len, 0);
  ASSERT_NOT_NULL(v.as.bytes.data);
  tide_future_release(&f);
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
  free(data);
}

/* --- order ---------------------------------------------------------------- */

#define MANY 1000

/* The receiver's progress, shared with the sender. */
struct flow {
  tide_udp *a, *b;
  int received;
};

/* Send MANY numbered datagrams from a to b, each awaited. */
struct sender_frame {
  struct flow *flow;
  int i;
  int rc;
  tide_future f;
  char msg[16];
};

static int sender_main(tide_task *t, void *frame) {
  struct sender_frame *S = frame;
  TIDE_BEGIN(t);
  for (S->i = 0; S->i < MANY; S->i++) {
    snprintf(S->msg, sizeof S->msg, "%d", S->i);
    tide_future_init(tide_task_loop(t), &S->f);
    ASSERT_OK(tide_udp_send(S->flow->a, S->msg, strlen(S->msg), "127.0.0.1",
                            tide_udp_port(S->flow->b), &S->f));
    TIDE_AWAIT(t, &S->f, S->rc);
    ASSERT_OK(S->rc);
    tide_future_release(&S->f);
  }
  TIDE_END(t);
}

/* Receive MANY datagrams and check they come in order. */
struct receiver_frame {
  struct flow *flow;
  int rc;
  tide_future f;
  char want[16];
};

static int receiver_main(tide_task *t, void *frame) {
  struct receiver_frame *R = frame;
  TIDE_BEGIN(t);
  while (R->flow->received < MANY) {
    tide_future_init(tide_task_loop(t), &R->f);
    ASSERT_OK(tide_udp_recv(R->flow->b, 16, NULL, &R->f));
    TIDE_AWAIT(t, &R->f, R->rc);
    ASSERT_OK(R->rc);
    snprintf(R->want, sizeof R->want, "%d", R->flow->received);
    expect_bytes(&R->f, R->want);
    tide_future_release(&R->f);
    R->flow->received++;
  }
  TIDE_END(t);
}

TEST(udp_1000_datagrams_in_order) {
  tide_loop loop;
  tide_timer dog;
  tide_task *sender, *receiver;
  struct flow flow;
  struct sender_frame sf;
  struct receiver_frame rf;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  memset(&flow, 0, sizeof flow);
  flow.a = open_ok(&loop, "127.0.0.1");
  flow.b = open_ok(&loop, "127.0.0.1");
  memset(&sf, 0, sizeof sf);
  memset(&rf, 0, sizeof rf);
  sf.flow = rf.flow = &flow;
  ASSERT_OK(tide_task_spawn(&loop, receiver_main, &rf, sizeof rf, &receiver));
  ASSERT_OK(tide_task_spawn(&loop, sender_main, &sf, sizeof sf, &sender));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(sender), NULL));
  ASSERT_OK(tide_future_result(tide_task_future(receiver), NULL));
  ASSERT_EQ(flow.received, MANY);
  tide_task_release(sender);
  tide_task_release(receiver);
  tide_udp_close(flow.a);
  tide_udp_close(flow.b);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* Sends queued at once, some without a future, go out in order. */
TEST(udp_queued_sends_in_order) {
  tide_loop loop;
  tide_future f[50];
  char msg[16];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "::1");
  tide_udp *b = open_ok(&loop, "::1");
  for (int i = 0; i < 50; i++) {
    snprintf(msg, sizeof msg, "m%d", i);
    tide_future_init(&loop, &f[i]);
    ASSERT_OK(tide_udp_send(a, msg, strlen(msg), "::1", tide_udp_port(b),
                            i % 3 ? &f[i] : NULL));
  }
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* queued sends keep the loop running */
  for (int i = 0; i < 50; i++) {
    snprintf(msg, sizeof msg, "m%d", i);
    recv_expect(&loop, b, msg, "::1", tide_udp_port(a));
    ASSERT_EQ(tide_future_done(&f[i]), i % 3 != 0);
    tide_future_release(&f[i]);
  }
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- errors --------------------------------------------------------------- */

/* A datagram longer than max is dropped with TIDE_EMSGSIZE (its sender named);
 * the next one arrives whole. */
TEST(udp_recv_too_long_then_next) {
  tide_loop loop;
  tide_future f;
  tide_address from;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "127.0.0.1");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  send_now(&loop, a, "0123456789abcdef", 16, "127.0.0.1", tide_udp_port(b));
  send_now(&loop, a, "short", 5, "127.0.0.1", tide_udp_port(b));
  memset(&from, 0, sizeof from);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(b, 15, &from, &f));
  run_until_done(&loop, &f);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EMSGSIZE);
  tide_future_release(&f);
  ASSERT_STR_EQ(from.host, "127.0.0.1");
  ASSERT_EQ(from.port, tide_udp_port(a));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(b, 5, NULL, &f)); /* exactly max fits */
  run_until_done(&loop, &f);
  expect_bytes(&f, "short");
  tide_future_release(&f);
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(udp_bad_arguments) {
  tide_loop loop;
  tide_future f;
  tide_udp *u = NULL;
  static const char *const bad[] = {"localhost", "1.2.3", "127.0.0.1:80", "",
                                    "[::1]",     "::g",   " 127.0.0.1"};
  static char big[65508];
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(bad); i++)
    ASSERT_ERR(tide_udp_open(&loop, bad[i], 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_open(&loop, NULL, 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_open(&loop, "127.0.0.1", -1, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_open(&loop, "127.0.0.1", 65536, &f), TIDE_EINVAL);
  ASSERT_EQ(tide_future_done(&f), 0); /* refused calls leave the future alone */
  u = open_ok(&loop, "127.0.0.1");
  for (size_t i = 0; i < TEST_ARRAY_SIZE(bad); i++)
    ASSERT_ERR(tide_udp_send(u, "x", 1, bad[i], 9, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_send(u, "x", 1, NULL, 9, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_send(u, "x", 1, "127.0.0.1", 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_send(u, "x", 1, "127.0.0.1", 65536, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_udp_send(u, "x", 1, "::1", 9, &f), TIDE_EINVAL); /* other family */
  ASSERT_ERR(tide_udp_send(u, big, sizeof big, "127.0.0.1", 9, &f), TIDE_EMSGSIZE);
  ASSERT_EQ(tide_future_done(&f), 0);
  /* One receive at a time. */
  ASSERT_OK(tide_udp_recv(u, 0, NULL, &f));
  tide_future g;
  tide_future_init(&loop, &g);
  ASSERT_ERR(tide_udp_recv(u, 0, NULL, &g), TIDE_EBUSY);
  ASSERT_EQ(tide_future_done(&g), 0);
  tide_future_release(&g);
  tide_future_release(&f); /* cancels the receive */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_udp_close(u);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

TEST(udp_open_port_in_use) {
  tide_loop loop;
  tide_udp *b = NULL;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "::1");
  int fds_before = count_fds();
  ASSERT_ERR(open_now(&loop, "::1", tide_udp_port(a), &b), TIDE_EADDRINUSE);
  ASSERT_NULL(b);
  ASSERT_EQ(count_fds(), fds_before);
  int port = tide_udp_port(a);
  tide_udp_close(a);
  /* The socket is closed at once: the same port can be bound again. */
  ASSERT_OK(open_now(&loop, "::1", port, &b));
  ASSERT_EQ(tide_udp_port(b), port);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* A send the kernel refuses (broadcast without SO_BROADCAST: EACCES) fails
 * alone: with a future it completes with the error, without one it is
 * reported; the sends queued after it go out. */
TEST(udp_send_failure_is_reported) {
  tide_loop loop;
  test_errors errs;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_udp *a = open_ok(&loop, "0.0.0.0");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_send(a, "x", 1, "255.255.255.255", 9, &f));
  ASSERT_OK(tide_udp_send(a, "y", 1, "255.255.255.255", 9, NULL));
  ASSERT_OK(tide_udp_send(a, "after", 5, "127.0.0.1", tide_udp_port(b), NULL));
  run_until_done(&loop, &f);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EACCES);
  tide_future_release(&f);
  recv_expect(&loop, b, "after", "127.0.0.1", tide_udp_port(a));
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EACCES);
  ASSERT_STR_EQ(errs.last_context, "udp send failed");
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* The error handler closes the socket while its queue is being flushed: the
 * rest of the queue is cancelled, nothing else is reported, nothing leaks. */
static void close_on_report(tide_loop *loop, const tide_error_report *report,
                            void *ud) {
  tide_udp **u = ud;
  (void)loop;
  ASSERT_EQ(report->code, TIDE_EACCES);
  ASSERT_NOT_NULL(*u);
  tide_udp_close(*u);
  *u = NULL;
}

TEST(udp_close_from_error_handler) {
  tide_loop loop;
  tide_future f;
  int done = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "0.0.0.0");
  tide_loop_set_error_handler(&loop, close_on_report, &a);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_send(a, "x", 1, "255.255.255.255", 9, NULL));
  ASSERT_OK(tide_udp_send(a, "y", 1, "255.255.255.255", 9, NULL));
  ASSERT_OK(tide_udp_send(a, "z", 1, "127.0.0.1", 9, &f));
  ASSERT_OK(tide_future_add_done_callback(&f, count_done, &done));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_NULL(a);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  ASSERT_EQ(done, 1);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* A datagram to a port nobody listens on draws an ICMP "port unreachable".
 * Whether the kernel reports it (Linux does not, to an unconnected socket), it
 * must not break the socket: the next datagram still arrives. */
TEST(udp_port_unreachable_does_not_break_socket) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "127.0.0.1");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  tide_udp *gone = open_ok(&loop, "127.0.0.1");
  int dead_port = tide_udp_port(gone);
  tide_udp_close(gone);
  send_now(&loop, a, "void", 4, "127.0.0.1", dead_port);
  /* A reply from b, which a's pending receive gets: first, perhaps, the
   * refusal, then b's datagram. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(a, 0, NULL, &f));
  ASSERT_OK(tide_udp_send(b, "back", 4, "127.0.0.1", tide_udp_port(a), NULL));
  run_until_done(&loop, &f);
  if (tide_future_result(&f, NULL) == TIDE_ECONNREFUSED) {
    tide_future_release(&f);
    tide_future_init(&loop, &f);
    ASSERT_OK(tide_udp_recv(a, 0, NULL, &f));
    run_until_done(&loop, &f);
  }
  expect_bytes(&f, "back");
  tide_future_release(&f);
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- cancellation and close ------------------------------------------------ */

TEST(udp_cancel_recv_then_recv_again) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "127.0.0.1");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_recv(b, 0, NULL, &f));
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* a pending receive keeps it running */
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  /* Arriving now, it waits in the kernel for the next receive. */
  send_now(&loop, a, "kept", 4, "127.0.0.1", tide_udp_port(b));
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  recv_expect(&loop, b, "kept", "127.0.0.1", tide_udp_port(a));
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(udp_cancel_queued_send) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_udp *a = open_ok(&loop, "127.0.0.1");
  tide_udp *b = open_ok(&loop, "127.0.0.1");
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_send(a, "dropped", 7, "127.0.0.1", tide_udp_port(b), &f));
  ASSERT_OK(tide_future_cancel(&f)); /* before the loop ever flushed it */
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_alive(&loop), 0); /* nothing left to send */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_udp_send(a, "released", 8, "127.0.0.1", tide_udp_port(b), &f));
  tide_future_release(&f); /* cancels it */
  send_now(&loop, a, "sent", 4, "127.0.0.1", tide_udp_port(b));
  recv_expect(&loop, b, "sent", "127.0.0.1", tide_udp_port(a));
  tide_udp_close(a);
  tide_udp_close(b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* Close with a receive pending and sends queued: each future completes with
 * TIDE_ECANCELED exactly once; the send without a future is not reported. */
TEST(udp_close_cancels_pending_work) {
  tide_loop loop;
  test_errors errs;
  tide_future rf, sf[3];
  int done[4] = {0, 0, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  int fds_before = count_fds();
  test_errors_install(&loop, &errs);
  tide_udp *a = open_ok(&loop, "::1");
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_udp_recv(a, 0, NULL, &rf));
  ASSERT_OK(tide_future_add_done_callback(&rf, count_done, &done[3]));
  for (int i = 0; i < 3; i++) {
    tide_future_init(&loop, &sf[i]);
    ASSERT_OK(tide_udp_send(a, "q", 1, "::1", 9, &sf[i]));
    ASSERT_OK(tide_future_add_done_callback(&sf[i], count_done, &done[i]));
  }
  ASSERT_OK(tide_udp_send(a, "q", 1, "::1", 9, NULL));
  tide_udp_close(a);
  ASSERT_EQ(count_fds(), fds_before);
  ASSERT_ERR(tide_future_result(&rf, NULL), TIDE_ECANCELED);
  for (int i = 0; i < 3; i++)
    ASSERT_ERR(tide_future_result(&sf[i], NULL), TIDE_ECANCELED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(done[i], 1);
  for (int i = 0; i < 3; i++)
    tide_future_release(&sf[i]);
  tide_future_release(&rf);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

/* --- out of memory at every allocation ------------------------------------ */

#define MAX_WALK 200

struct oom {
  test_alloc *a;
  int enomem;
};

/* Run call until it stops returning TIDE_ENOMEM (counting each), then expect 0. */
#define RETRY(o, call)                                                                 \
  do {                                                                                 \
    int rc_;                                                                           \
    while ((rc_ = (call)) == TIDE_ENOMEM)                                              \
      (o)->enomem++;                                                                   \
    ASSERT_OK(rc_);                                                                    \
  } while (0)

static tide_udp *oom_open(struct oom *o, tide_loop *loop) {
  tide_udp *u = NULL;
  RETRY(o, open_now(loop, "127.0.0.1", 0, &u));
  return u;
}

/* Receive want, retrying a call refused and a datagram that could not be
 * handed over (it stays held, so the retry gets it). */
static void oom_recv(struct oom *o, tide_loop *loop, tide_udp *u, const char *want,
                     int from_port) {
  tide_future f;
  tide_address from;
  for (;;) {
    tide_future_init(loop, &f);
    RETRY(o, tide_udp_recv(u, 0, &from, &f));
    run_until_done(loop, &f);
    if (tide_future_result(&f, NULL) != TIDE_ENOMEM) break;
    o->enomem++;
    tide_future_release(&f);
  }
  expect_bytes(&f, want);
  ASSERT_EQ(from.port, from_port);
  tide_future_release(&f);
}

static void scenario_udp(struct oom *o, size_t n) {
  tide_loop_options opts = test_alloc_options(o->a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(o->a, n);
  tide_udp *a = oom_open(o, &loop);
  tide_udp *b = oom_open(o, &loop);
  int pa = tide_udp_port(a), pb = tide_udp_port(b);
  tide_future_init(&loop, &f);
  RETRY(o, tide_udp_send(a, "one", 3, "127.0.0.1", pb, &f));
  RETRY(o, tide_udp_send(a, "two", 3, "127.0.0.1", pb, NULL));
  oom_recv(o, &loop, b, "one", pa);
  ASSERT_OK(tide_future_result(&f, NULL));
  tide_future_release(&f);
  oom_recv(o, &loop, b, "two", pa);
  /* A receive and a send left to the close. */
  tide_future_init(&loop, &f);
  RETRY(o, tide_udp_recv(a, 0, NULL, &f));
  RETRY(o, tide_udp_send(b, "three", 5, "127.0.0.1", pa, NULL));
  tide_udp_close(a);
  tide_udp_close(b);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(udp_alloc_fail_each_allocation) {
  int sites = 0;
  int fds_before = count_fds();
  for (size_t n = 1; n <= MAX_WALK; n++) {
    test_alloc a;
    struct oom o = {&a, 0};
    test_alloc_init(&a);
    scenario_udp(&o, n);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(o.enomem, (long long)a.failures); /* each failure seen exactly once */
    ASSERT_EQ(count_fds(), fds_before);
    if (a.failures == 0) break;
    sites++;
    ASSERT_LT(n, MAX_WALK);
  }
  /* 2 sockets, 2 sends, 2 scratch buffers, 2 datagrams, 1 receive and 1 send
   * left to the close: 8 on epoll; the poll backend adds its table's growth. */
  ASSERT_GE(sites, 8);
}
