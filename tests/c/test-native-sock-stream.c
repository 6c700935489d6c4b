/* test-native-sock-stream.c (tide-tests only: real sockets): what streams on
 * sockets add to streams on fds: half-close (tide_stream_shutdown), the byte
 * counters, listeners taken from an inherited socket, and connect by name.
 * wasi-skip: WASI preview1 cannot make sockets (handed-in listeners: example-echo-wasi-handed-in).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "test.h"
#include "util.h"

/* Read until EOF; everything read, concatenated, must equal want. */
static void read_to_eof(tide_loop *loop, tide_stream *s, const char *want) {
  char got[256];
  size_t n = 0;
  for (;;) {
    tide_future f;
    tide_future_init(loop, &f);
    ASSERT_OK(tide_stream_read(s, 0, &f));
    run_until_done(loop, &f);
    tide_value v;
    int rc = tide_future_result(&f, &v);
    if (rc == TIDE_EOF) {
      tide_future_release(&f);
      break;
    }
    ASSERT_OK(rc);
    ASSERT_LE(n + v.as.bytes.len, sizeof got);
    memcpy(got + n, v.as.bytes.data, v.as.bytes.len);
    n += v.as.bytes.len;
    tide_future_release(&f);
  }
  ASSERT_EQ(n, strlen(want));
  ASSERT_EQ(memcmp(got, want, n), 0);
}

/* The client sends a request and shuts down its side; the server reads to EOF
 * and then answers on the same connection, which the client reads to EOF. */
TEST(sock_shutdown_half_close_request_response) {
  tide_loop loop;
  tide_tcp_listener *l;
  tide_future wf, sf, sf2;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  tide_stream *c = connect_now(&loop, "127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);

  tide_future_init(&loop, &wf);
  tide_future_init(&loop, &sf);
  ASSERT_OK(tide_stream_write(c, "request", 7, &wf));
  ASSERT_OK(tide_stream_shutdown(c, &sf));
  /* After the shutdown nothing more can be written, nor shut down again. */
  ASSERT_ERR(tide_stream_write(c, "x", 1, NULL), TIDE_ECLOSED);
  tide_future_init(&loop, &sf2);
  ASSERT_ERR(tide_stream_shutdown(c, &sf2), TIDE_ECLOSED);
  ASSERT_EQ(tide_future_done(&sf2), 0);
  tide_future_release(&sf2);
  run_until_done(&loop, &sf);
  ASSERT_EQ(int_of(&wf), 7); /* the write went out before the shutdown */
  ASSERT_EQ(int_of(&sf), 0);
  tide_future_release(&wf);
  tide_future_release(&sf);

  read_to_eof(&loop, s, "request");
  ASSERT_OK(tide_stream_write(s, "response", 8, NULL));
  ASSERT_OK(tide_stream_shutdown(s, NULL));
  read_to_eof(&loop, c, "response");

  ASSERT_EQ(tide_stream_bytes_written(c), 7u);
  ASSERT_EQ(tide_stream_bytes_read(c), 8u);
  ASSERT_EQ(tide_stream_bytes_written(s), 8u);
  ASSERT_EQ(tide_stream_bytes_read(s), 7u);
  close_stream(&loop, c);
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* A pipe cannot be half-closed: ENOTSOCK, and the stream is unchanged. */
TEST(sock_shutdown_pipe_is_not_a_socket) {
  tide_loop loop;
  int p[2];
  tide_stream *w;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_EQ(pipe(p), 0);
  ASSERT_OK(tide_stream_open(&loop, p[1], TIDE_STREAM_CLOSE_FD, &w));
  ASSERT_ERR(tide_stream_shutdown(w, NULL), TIDE_ENOTSOCK);
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(w, "ok", 2, &f));
  run_until_done(&loop, &f);
  ASSERT_EQ(int_of(&f), 2);
  tide_future_release(&f);
  char buf[4];
  ASSERT_EQ(read(p[0], buf, sizeof buf), 2);
  close_stream(&loop, w);
  ASSERT_EQ(close(p[0]), 0);
  CLOSE_LOOP(&loop);
}

/* Shutting down after the peer reset the connection: the queued write and the
 * shutdown both fail with the connection's error, exactly once each. */
TEST(sock_shutdown_after_peer_reset) {
  tide_loop loop;
  tide_tcp_listener *l;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  raw_reset(peer);
  /* Wait until the reset has arrived: a read sees it (or EOF). */
  tide_future rf;
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read(s, 0, &rf));
  run_until_done(&loop, &rf);
  int rrc = tide_future_result(&rf, NULL);
  ASSERT(rrc == TIDE_ECONNRESET || rrc == TIDE_EOF);
  tide_future_release(&rf);
  tide_future wf, sf;
  tide_future_init(&loop, &wf);
  tide_future_init(&loop, &sf);
  ASSERT_OK(tide_stream_write(s, "lost", 4, &wf));
  ASSERT_OK(tide_stream_shutdown(s, &sf));
  run_until_done(&loop, &sf);
  int wrc = tide_future_result(&wf, NULL), src = tide_future_result(&sf, NULL);
  ASSERT(wrc == TIDE_EPIPE || wrc == TIDE_ECONNRESET);
  ASSERT_EQ(src, wrc);
  tide_future_release(&wf);
  tide_future_release(&sf);
  tide_stream_close(s, NULL); /* its future would repeat the write error */
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* A listening socket made elsewhere (as systemd or a parent would hand it
 * down) becomes a listener; anything else is refused without being taken. */
TEST(sock_listener_open_inherited_socket) {
  tide_loop loop;
  tide_tcp_listener *l = NULL;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  /* Bound but not listening: not a listener. */
  ASSERT_ERR(tide_tcp_listener_open(&loop, fd, &l), TIDE_ENOTSOCK);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  ASSERT_OK(tide_tcp_listener_open(&loop, fd, &l));
  ASSERT_EQ(tide_tcp_listener_port(l), ntohs(a.sin_port));
  tide_stream *c = connect_now(&loop, "127.0.0.1", ntohs(a.sin_port));
  tide_stream *s = accept_now(&loop, l);
  ASSERT_OK(tide_stream_write(c, "hi\n", 3, NULL));
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read_line(s, 0, &f));
  run_until_done(&loop, &f);
  expect_bytes(&f, "hi");
  tide_future_release(&f);
  close_stream(&loop, c);
  close_stream(&loop, s);
  tide_tcp_listener_close(l); /* closes fd */
  /* A pipe, a UDP socket and a closed fd are refused. */
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_ERR(tide_tcp_listener_open(&loop, p[0], &l), TIDE_ENOTSOCK);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_ERR(tide_tcp_listener_open(&loop, u, &l), TIDE_ENOTSOCK);
  ASSERT_EQ(close(u), 0);
  ASSERT_EQ(close(p[0]), 0);
  ASSERT_EQ(close(p[1]), 0);
  ASSERT_ERR(tide_tcp_listener_open(&loop, p[0], &l), TIDE_EBADF);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* "localhost" is resolved (tide_resolve) and connected to. The listener is on
 * 127.0.0.1 only: where the resolver gives ::1 first, that address is refused
 * and the next one tried (tcp_connect.c's address loop); where /etc/hosts has
 * no ::1 (this project's CI machines), only the single-address path runs. */
TEST(sock_connect_by_name_localhost) {
  tide_loop loop;
  tide_tcp_listener *l;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  tide_stream *c = connect_now(&loop, "localhost", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  ASSERT_OK(tide_stream_write(c, "named\n", 6, NULL));
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read_line(s, 0, &f));
  run_until_done(&loop, &f);
  expect_bytes(&f, "named");
  tide_future_release(&f);
  close_stream(&loop, c);
  close_stream(&loop, s);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

/* Cancelling a connect by name while it resolves or connects leaves nothing:
 * no fd, no handle (the loop closes). */
TEST(sock_connect_by_name_cancel) {
  tide_loop loop;
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_tcp_connect(&loop, "localhost", 9, &f));
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(count_fds(), fds_before);
}

static int reports;
static void count_reports(tide_loop *loop, const tide_error_report *info, void *ud) {
  (void)loop;
  (void)info;
  (void)ud;
  reports++;
}

/* A peer that never reads: writes stall, close would wait for ever; abort
 * cancels every write (futures ECANCELED once each, nothing reported), resets
 * the connection (the peer reads ECONNRESET, never a clean EOF) and the loop
 * closes with no fd left behind. */
TEST(sock_abort_stalled_writes_resets_peer) {
  tide_loop loop;
  tide_tcp_listener *l;
  enum { N = 64, SIZE = 256 * 1024 };
  static tide_future wf[N];
  static char chunk[SIZE];
  int fds_before = count_fds();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_set_error_handler(&loop, count_reports, NULL);
  reports = 0;
  ASSERT_OK(listen_now(&loop, "127.0.0.1", 0, 0, &l));
  int peer = raw_connect("127.0.0.1", tide_tcp_listener_port(l));
  tide_stream *s = accept_now(&loop, l);
  for (int i = 0; i < N; i++) {
    tide_future_init(&loop, &wf[i]);
    ASSERT_OK(tide_stream_write(s, chunk, SIZE, &wf[i]));
    ASSERT_OK(tide_stream_write(s, chunk, 16, NULL)); /* no future: unreported */
  }
  for (int i = 0; i < 50; i++) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_future_done(&wf[N - 1]), 0); /* stalled: 16 MiB do not fit */
  tide_future rf;
  tide_future_init(&loop, &rf);
  ASSERT_OK(tide_stream_read(s, 0, &rf));
  tide_stream_abort(s);
  ASSERT_ERR(tide_future_result(&rf, NULL), TIDE_ECANCELED);
  tide_future_release(&rf);
  int done = 0, cancelled = 0;
  for (int i = 0; i < N; i++) {
    int rc = tide_future_result(&wf[i], NULL);
    if (rc == 0) done++;
    else {
      ASSERT_EQ(rc, TIDE_ECANCELED);
      cancelled++;
    }
    tide_future_release(&wf[i]);
  }
  ASSERT_GT(cancelled, 0);
  ASSERT_EQ(done + cancelled, N);
  tide_tcp_listener_close(l);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(reports, 0);
  /* The peer drains what arrived, then sees the reset. */
  char buf[65536];
  ssize_t n;
  size_t total = 0;
  while ((n = read(peer, buf, sizeof buf)) > 0) total += (size_t)n;
  ASSERT_EQ(n, -1);
  ASSERT_EQ(errno, ECONNRESET);
  ASSERT_LT(total, (size_t)N * (SIZE + 16));
  ASSERT_EQ(close(peer), 0);
  ASSERT_EQ(count_fds(), fds_before);
}

/* Abort on a stream whose fd is not ours (no TIDE_STREAM_CLOSE_FD): the fd is
 * left open and not reset; queued writes are cancelled. */
TEST(sock_abort_keeps_borrowed_fd) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_stream *s;
  ASSERT_OK(tide_stream_open(&loop, sv[0], 0, &s));
  tide_stream_abort(s);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(write(sv[0], "still open", 10), 10);
  char buf[16];
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 10);
  ASSERT_EQ(close(sv[0]), 0);
  ASSERT_EQ(close(sv[1]), 0);
}

/* Cancelling the future of a shutdown does not cancel the half-close (a task
 * awaiting it under a deadline must not leave the stream refusing writes with
 * the peer never told). */
TEST(sock_shutdown_cancelled_future_still_shuts_down) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_stream *s;
  ASSERT_OK(tide_stream_open(&loop, sv[0], TIDE_STREAM_CLOSE_FD, &s));
  ASSERT_OK(tide_stream_write(s, "hello", 5, NULL));
  tide_future sf;
  tide_future_init(&loop, &sf);
  ASSERT_OK(tide_stream_shutdown(s, &sf));
  ASSERT_OK(tide_future_cancel(&sf));
  tide_future_release(&sf);
  for (int i = 0; i < 5; i++) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  char buf[16];
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 5);
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 0); /* the peer sees the end */
  close_stream(&loop, s);
  CLOSE_LOOP(&loop);
  ASSERT_EQ(close(sv[1]), 0);
}

/* After a write error, a shutdown without a future still ends the write side:
 * a second shutdown and later writes are TIDE_ECLOSED, as documented. */
TEST(sock_shutdown_after_write_error_without_future) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(close(sv[1]), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_set_error_handler(&loop, count_reports, NULL);
  tide_stream *s;
  ASSERT_OK(tide_stream_open(&loop, sv[0], TIDE_STREAM_CLOSE_FD, &s));
  tide_future wf;
  tide_future_init(&loop, &wf);
  ASSERT_OK(tide_stream_write(s, "x", 1, &wf));
  run_until_done(&loop, &wf);
  ASSERT_ERR(tide_future_result(&wf, NULL), TIDE_EPIPE);
  tide_future_release(&wf);
  ASSERT_OK(tide_stream_shutdown(s, NULL));
  ASSERT_ERR(tide_stream_shutdown(s, NULL), TIDE_ECLOSED);
  ASSERT_ERR(tide_stream_write(s, "y", 1, NULL), TIDE_ECLOSED);
  tide_stream_close(s, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* The error handler cancels a queued write while the queue is being failed:
 * nothing is counted twice (the queue size stays 0, not a wrapped huge
 * number), and the cancelled write completes once: cancelled, as the user's
 * cancel came before its turn to fail. */
static tide_future *cancel_in_handler;
static void cancel_other_write(tide_loop *loop, const tide_error_report *info, void *ud) {
  (void)loop;
  (void)info;
  (void)ud;
  if (cancel_in_handler != NULL) (void)tide_future_cancel(cancel_in_handler);
  cancel_in_handler = NULL;
}

TEST(sock_write_cancelled_while_queue_fails) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(close(sv[1]), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_loop_set_error_handler(&loop, cancel_other_write, NULL);
  tide_stream *s;
  ASSERT_OK(tide_stream_open(&loop, sv[0], TIDE_STREAM_CLOSE_FD, &s));
  tide_future b;
  tide_future_init(&loop, &b);
  ASSERT_OK(tide_stream_write(s, "AAAAAAAAAA", 10, NULL)); /* fails: reported */
  ASSERT_OK(tide_stream_write(s, "BBBBBBBB", 8, &b));
  cancel_in_handler = &b;
  run_until_done(&loop, &b);
  ASSERT_ERR(tide_future_result(&b, NULL), TIDE_ECANCELED);
  ASSERT_EQ(tide_stream_write_queue_size(s), 0u);
  tide_future_release(&b);
  tide_stream_close(s, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- a request-response exchange on a connection the stream owns ---------- */

/* A non-blocking socket the stream owns (as accept and connect make them). */
static tide_stream *owned_socket_stream(tide_loop *loop, int fd) {
  int fl = fcntl(fd, F_GETFL);
  ASSERT(fl >= 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
  tide_stream *s;
  ASSERT_OK(tide_stream_open(loop, fd, TIDE_STREAM_CLOSE_FD, &s));
  return s;
}

/* A write goes out from the next tick without waiting for WRITABLE, but its
 * future still completes from the loop, never inside tide_stream_write; writes
 * queued in the same tick go out together, in order. */
TEST(sock_write_completes_from_the_loop_in_order) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_stream *s = owned_socket_stream(&loop, sv[0]);
  tide_future a, b;
  tide_future_init(&loop, &a);
  tide_future_init(&loop, &b);
  ASSERT_OK(tide_stream_write(s, "first ", 6, &a));
  ASSERT_OK(tide_stream_write(s, "second", 6, &b));
  ASSERT_EQ(tide_future_done(&a), 0);
  ASSERT_EQ(tide_stream_write_queue_size(s), 12u);
  run_until_done(&loop, &b);
  ASSERT_EQ(int_of(&a), 6);
  ASSERT_EQ(int_of(&b), 6);
  char buf[32];
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 12);
  ASSERT_EQ(memcmp(buf, "first second", 12), 0);
  tide_future_release(&a);
  tide_future_release(&b);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(close(sv[1]), 0);
}

/* A write cancelled before its tick came is dropped: the peer never sees it,
 * and the write after it still goes out. */
TEST(sock_write_cancelled_before_its_flush_is_dropped) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_stream *s = owned_socket_stream(&loop, sv[0]);
  tide_future a, b;
  tide_future_init(&loop, &a);
  tide_future_init(&loop, &b);
  ASSERT_OK(tide_stream_write(s, "dropped", 7, &a));
  ASSERT_OK(tide_stream_write(s, "kept", 4, &b));
  ASSERT_OK(tide_future_cancel(&a));
  run_until_done(&loop, &b);
  ASSERT_EQ(int_of(&b), 4);
  char buf[32];
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 4);
  ASSERT_EQ(memcmp(buf, "kept", 4), 0);
  tide_future_release(&a);
  tide_future_release(&b);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(close(sv[1]), 0);
}

/* Once its read is served, a stream keeps no loop alive, reads nothing nobody
 * asked for (what the peer sends meanwhile stays in the kernel), and the next
 * read gets it; closing while so idle frees everything. */
TEST(sock_served_reader_keeps_no_loop_alive_and_reads_nothing_more) {
  tide_loop loop;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_stream *s = owned_socket_stream(&loop, sv[0]);
  tide_future f;
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f));
  ASSERT_EQ(write(sv[1], "ping", 4), 4);
  run_until_done(&loop, &f);
  tide_future_release(&f);
  ASSERT_EQ(tide_stream_bytes_read(s), 4u);

  /* Nothing waits: the run ends at once, even with input arriving. */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(write(sv[1], "pong", 4), 4);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT_EQ(tide_stream_bytes_read(s), 4u); /* left in the kernel */

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f));
  run_until_done(&loop, &f);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.as.bytes.len, 4u);
  ASSERT_EQ(memcmp(v.as.bytes.data, "pong", 4), 0);
  tide_future_release(&f);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(close(sv[1]), 0);
}
