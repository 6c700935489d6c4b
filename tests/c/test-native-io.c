/* test-native-io.c (tide-tests only: real fds): fd readiness on pipes and
 * socketpairs through the real backend (epoll or poll).
 * wasi-skip: WASI preview1 has no pipe() or socketpair() to make fds with.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

#define WATCHDOG_MS 5000

typedef struct rec {
  int calls;
  unsigned events;     /* of the last call */
  unsigned all_events; /* or of every call */
  int read_bytes;      /* read what is there on each call */
  int got;             /* bytes read */
  int eof;             /* read returned 0 */
  int stop_after;      /* tide_io_stop at this call */
  int close_after;     /* tide_handle_close at this call */
  int closed;
  tide_io *stop_other; /* stop this watcher on the first call */
  char buf[64];
} rec;

static void rec_close_cb(tide_handle *h) {
  ((rec *)h->data)->closed++;
}

static void rec_cb(tide_io *io, unsigned events) {
  rec *r = io->handle.data;
  r->calls++;
  r->events = events;
  r->all_events |= events;
  if (r->read_bytes && (events & TIDE_READABLE)) {
    ssize_t n = read(tide_io_fd(io), r->buf, sizeof r->buf);
    if (n > 0) r->got += (int)n;
    if (n == 0) r->eof = 1;
  }
  if (r->stop_other && r->calls == 1) tide_io_stop(r->stop_other);
  if (r->stop_after == r->calls) tide_io_stop(io);
  if (r->close_after == r->calls) tide_handle_close(&io->handle, rec_close_cb);
}

static void make_pipe(int fds[2]) {
  ASSERT_EQ(pipe(fds), 0);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
}

static void make_socketpair(int fds[2]) {
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
}

/* Close the watcher (if not closed yet) and the watchdog, run to the end. */
static void finish(tide_loop *loop, tide_io *io, tide_timer *dog) {
  rec *r = io->handle.data;
  if (!tide_handle_is_closing(&io->handle))
    tide_handle_close(&io->handle, rec_close_cb);
  if (dog) test_watchdog_close(dog);
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r->closed, 1);
}

TEST(native_pipe_readable) {
  tide_loop loop;
  tide_io io;
  tide_timer dog;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.read_bytes = 1;
  r.stop_after = 1;
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_EQ(tide_io_fd(&io), fds[0]);
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 0); /* nothing to read yet */
  ASSERT_EQ(write(fds[1], "hi!", 3), 3);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* until it stops itself */
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.events, TIDE_READABLE);
  ASSERT_EQ(r.got, 3);
  ASSERT_EQ(memcmp(r.buf, "hi!", 3), 0);
  finish(&loop, &io, &dog);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_pipe_level_triggered) {
  tide_loop loop;
  tide_io io;
  rec r;
  int fds[2];
  char c;
  memset(&r, 0, sizeof r);
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* still unread: again */
  ASSERT_EQ(r.calls, 2);
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 2); /* drained: quiet */
  finish(&loop, &io, NULL);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_socketpair_writable) {
  tide_loop loop;
  tide_io io;
  tide_timer dog;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.stop_after = 1;
  make_socketpair(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_WRITABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.events, TIDE_WRITABLE);
  finish(&loop, &io, &dog);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_socketpair_readable_and_writable) {
  tide_loop loop;
  tide_io io;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.stop_after = 1;
  make_socketpair(fds);
  ASSERT_EQ(write(fds[1], "ab", 2), 2);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE | TIDE_WRITABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.events, TIDE_READABLE | TIDE_WRITABLE);
  /* Narrow the request: only what was asked for is reported. */
  r.stop_after = 2;
  ASSERT_OK(tide_io_start(&io, TIDE_WRITABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 2);
  ASSERT_EQ(r.events, TIDE_WRITABLE);
  finish(&loop, &io, NULL);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_pipe_writer_closed_gives_hangup_and_readable) {
  tide_loop loop;
  tide_io io;
  tide_timer dog;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.read_bytes = 1;
  r.stop_after = 1;
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  close(fds[1]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_NE(r.events & TIDE_HANGUP, 0);
  ASSERT_NE(r.events & TIDE_READABLE, 0); /* a reader sees EOF */
  ASSERT_EQ(r.eof, 1);
  finish(&loop, &io, &dog);
  CLOSE_LOOP(&loop);
  close(fds[0]);
}

TEST(native_socket_peer_closed_gives_readable_eof) {
  tide_loop loop;
  tide_io io;
  tide_timer dog;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.read_bytes = 1;
  r.stop_after = 1;
  make_socketpair(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  close(fds[1]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_NE(r.events & TIDE_READABLE, 0);
  ASSERT_EQ(r.events & TIDE_WRITABLE, 0); /* not requested */
  ASSERT_EQ(r.eof, 1);
  finish(&loop, &io, &dog);
  CLOSE_LOOP(&loop);
  close(fds[0]);
}

TEST(native_second_watcher_same_fd_eexist) {
  tide_loop loop, other;
  tide_io a, b, c;
  rec ra, rb, rc;
  int fds[2];
  memset(&ra, 0, sizeof ra);
  memset(&rb, 0, sizeof rb);
  memset(&rc, 0, sizeof rc);
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  ASSERT_OK(tide_io_init(&loop, &a, fds[0]));
  ASSERT_OK(tide_io_init(&loop, &b, fds[0]));
  ASSERT_OK(tide_io_init(&other, &c, fds[0]));
  a.handle.data = &ra;
  b.handle.data = &rb;
  c.handle.data = &rc;
  ASSERT_OK(tide_io_start(&a, TIDE_READABLE, rec_cb));
  ASSERT_ERR(tide_io_start(&b, TIDE_READABLE, rec_cb), TIDE_EEXIST);
  ASSERT_ERR(tide_io_start(&b, TIDE_WRITABLE, rec_cb), TIDE_EEXIST);
  ASSERT_EQ(tide_handle_is_active(&b.handle), 0);
  ASSERT_OK(tide_io_start(&c, TIDE_READABLE, rec_cb)); /* another loop: fine */
  /* The refused watcher did not disturb the first one. */
  ASSERT_EQ(write(fds[1], "z", 1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(ra.calls, 1);
  ASSERT_EQ(rb.calls, 0);
  tide_io_stop(&a);
  ASSERT_OK(tide_io_start(&b, TIDE_READABLE, rec_cb)); /* free again */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(rb.calls, 1);
  ASSERT_EQ(ra.calls, 1);
  tide_handle_close(&b.handle, rec_close_cb); /* the pipe stays readable */
  finish(&loop, &a, NULL);
  finish(&other, &c, NULL);
  ASSERT_EQ(rb.closed, 1);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_stop_inside_callback) {
  tide_loop loop;
  tide_io io;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.stop_after = 1; /* leaves the byte unread: level-triggered would repeat */
  make_pipe(fds);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* the stop ended it */
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(tide_handle_is_active(&io.handle), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(r.calls, 1);
  finish(&loop, &io, NULL);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_stop_other_watcher_with_pending_event) {
  /* Both fds are ready in the same poll; whichever callback runs first stops
   * the other, whose pending event is dropped. */
  tide_loop loop;
  tide_io a, b;
  rec ra, rb;
  int p[2], q[2];
  memset(&ra, 0, sizeof ra);
  memset(&rb, 0, sizeof rb);
  make_pipe(p);
  make_pipe(q);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  ASSERT_EQ(write(q[1], "y", 1), 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &a, p[0]));
  ASSERT_OK(tide_io_init(&loop, &b, q[0]));
  a.handle.data = &ra;
  b.handle.data = &rb;
  ra.stop_other = &b;
  rb.stop_other = &a;
  ra.stop_after = rb.stop_after = 1;
  ASSERT_OK(tide_io_start(&a, TIDE_READABLE, rec_cb));
  ASSERT_OK(tide_io_start(&b, TIDE_READABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(ra.calls + rb.calls, 1);
  finish(&loop, &a, NULL);
  finish(&loop, &b, NULL);
  CLOSE_LOOP(&loop);
  close(p[0]);
  close(p[1]);
  close(q[0]);
  close(q[1]);
}

TEST(native_close_watcher_inside_callback) {
  tide_loop loop;
  tide_io io;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.close_after = 1;
  make_pipe(fds);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.closed, 1);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_closed_fd_is_ebadf) {
  tide_loop loop;
  tide_io io;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  ASSERT_OK(tide_loop_init(&loop, NULL)); /* first: it must not reuse the numbers */
  make_pipe(fds);
  close(fds[0]);
  close(fds[1]);
  int rc = tide_io_init(&loop, &io, fds[0]);
  if (rc == 0) {
    io.handle.data = &r;
    ASSERT_ERR(tide_io_start(&io, TIDE_READABLE, rec_cb), TIDE_EBADF);
    ASSERT_EQ(tide_handle_is_active(&io.handle), 0);
    finish(&loop, &io, NULL);
  } else {
    ASSERT_ERR(rc, TIDE_EBADF);
  }
  CLOSE_LOOP(&loop);
}

TEST(native_fd_number_reused_after_close) {
  /* Watch, stop, close the fd; a new pipe gets the same number: watching it
   * works and reports the new pipe's readiness. */
  tide_loop loop;
  tide_io io, io2;
  rec r, r2;
  int fds[2], fds2[2];
  memset(&r, 0, sizeof r);
  memset(&r2, 0, sizeof r2);
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  tide_handle_close(&io.handle, rec_close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
  make_pipe(fds2);
  ASSERT_OK(tide_io_init(&loop, &io2, fds2[0]));
  io2.handle.data = &r2;
  r2.stop_after = 1;
  r2.read_bytes = 1;
  ASSERT_OK(tide_io_start(&io2, TIDE_READABLE, rec_cb));
  ASSERT_EQ(write(fds2[1], "k", 1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r2.calls, 1);
  ASSERT_EQ(r2.got, 1);
  finish(&loop, &io2, NULL);
  CLOSE_LOOP(&loop);
  close(fds2[0]);
  close(fds2[1]);
}

static void write_later_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_EQ(write(*(int *)ud, "w", 1), 1);
}

TEST(native_loop_blocks_until_io) {
  /* DEFAULT sleeps in the backend until a timer writes to the pipe. */
  tide_loop loop;
  tide_io io;
  tide_timer dog;
  rec r;
  int fds[2];
  memset(&r, 0, sizeof r);
  r.stop_after = 1;
  r.read_bytes = 1;
  make_pipe(fds);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_io_init(&loop, &io, fds[0]));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, rec_cb));
  ASSERT_OK(tide_call_later(&loop, 20, write_later_cb, &fds[1], NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.got, 1);
  finish(&loop, &io, &dog);
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

TEST(native_many_pipes) {
  enum { N = 64 };
  tide_loop loop;
  tide_io io[N];
  rec r[N];
  int fds[N][2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < N; i++) {
    memset(&r[i], 0, sizeof r[i]);
    r[i].read_bytes = 1;
    r[i].stop_after = 1;
    make_pipe(fds[i]);
    ASSERT_OK(tide_io_init(&loop, &io[i], fds[i][0]));
    io[i].handle.data = &r[i];
    ASSERT_OK(tide_io_start(&io[i], TIDE_READABLE, rec_cb));
  }
  for (int i = N - 1; i >= 0; i -= 2)
    ASSERT_EQ(write(fds[i][1], "m", 1), 1);
  for (int i = N - 2; i >= 0; i -= 2)
    ASSERT_EQ(write(fds[i][1], "m", 1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(r[i].calls, 1);
    ASSERT_EQ(r[i].got, 1);
    tide_handle_close(&io[i].handle, rec_close_cb);
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(r[i].closed, 1);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  CLOSE_LOOP(&loop);
}
