/* test-native-stream.c (tide-tests only: real fds): byte streams over pipes,
 * socketpairs and regular files: reads, lines, writes, backpressure, errors,
 * cancellation, close, and out-of-memory at every allocation. (On WASI,
 * test-stdin-stream.c covers streams on the fd the runtime gives us.)
 * wasi-skip: WASI preview1 has no pipe() or socketpair() to make fds with.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

#define WATCHDOG_MS 10000

/* --- helpers -------------------------------------------------------------- */

static void set_nonblock(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  ASSERT_GE(fl, 0);
  ASSERT_EQ(fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)), 0);
}

static void make_pipe(int fds[2], int nonblock) {
  ASSERT_EQ(pipe(fds), 0);
  set_nonblock(fds[0], nonblock);
  set_nonblock(fds[1], nonblock);
}

static int fd_is_open(int fd) {
  return fcntl(fd, F_GETFL) >= 0 || errno != EBADF;
}

/* Readable right now? (poll(2) looks without taking anything.) */
static int pipe_has_data(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  ASSERT_GE(poll(&p, 1, 0), 0);
  return (p.revents & POLLIN) != 0;
}

static void write_all(int fd, const char *s) {
  size_t n = strlen(s);
  ASSERT_EQ(write(fd, s, n), (ssize_t)n);
}

/* The future holds BYTES equal to the string s. */
static void expect_bytes(tide_future *f, const char *s) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_NOT_NULL(v.as.bytes.data);
  ASSERT_EQ(v.as.bytes.len, strlen(s));
  ASSERT_EQ(memcmp(v.as.bytes.data, s, v.as.bytes.len), 0);
}

static void expect_int(tide_future *f, int64_t want) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, want);
}

/* Run until the future is done (the stream's watcher keeps the loop alive). */
static void run_until_done(tide_loop *loop, tide_future *f) {
  while (!tide_future_done(f))
    ASSERT_GE(tide_loop_run(loop, TIDE_RUN_ONCE), 0);
}

/* One read_line (or read, max > 0 with line == 0), awaited by running the
 * loop; the future is left done for the caller to check and release. */
static void read_one(tide_loop *loop, tide_stream *s, int line, size_t max,
                     tide_future *f) {
  tide_future_init(loop, f);
  if (line)
    ASSERT_OK(tide_stream_read_line(s, max, f));
  else
    ASSERT_OK(tide_stream_read(s, max, f));
  run_until_done(loop, f);
}

static void expect_line(tide_loop *loop, tide_stream *s, size_t max, const char *want) {
  tide_future f;
  read_one(loop, s, 1, max, &f);
  expect_bytes(&f, want);
  tide_future_release(&f);
}

static void expect_read_err(tide_loop *loop, tide_stream *s, int line, size_t max,
                            int code) {
  tide_future f;
  read_one(loop, s, line, max, &f);
  ASSERT_ERR(tide_future_result(&f, NULL), code);
  tide_future_release(&f);
}

/* Close a stream and run the loop until it is freed. */
static void close_stream(tide_loop *loop, tide_stream *s) {
  tide_future f;
  tide_future_init(loop, &f);
  tide_stream_close(s, &f);
  run_until_done(loop, &f);
  ASSERT_OK(tide_future_result(&f, NULL));
  tide_future_release(&f);
}

/* A task that reads lines until TIDE_EOF and keeps what it got. */
#define MAX_LINES 16
struct lines_frame {
  tide_stream *s;
  size_t max_len;
  tide_future f;
  int rc;
  int n;
  int codes[MAX_LINES];
  char got[MAX_LINES][64];
};

static int lines_main(tide_task *t, void *frame) {
  struct lines_frame *L = frame;
  TIDE_BEGIN(t);
  while (L->n < MAX_LINES) {
    tide_future_init(tide_task_loop(t), &L->f);
    L->rc = tide_stream_read_line(L->s, L->max_len, &L->f);
    if (L->rc != 0) TIDE_RETURN_ERROR(t, L->rc, "read_line refused");
    TIDE_AWAIT(t, &L->f, L->rc);
    L->codes[L->n] = L->rc;
    if (L->rc == 0) {
      tide_value v;
      ASSERT_OK(tide_future_result(&L->f, &v));
      ASSERT_LT(v.as.bytes.len, sizeof L->got[0]);
      memcpy(L->got[L->n], v.as.bytes.data, v.as.bytes.len);
      L->got[L->n][v.as.bytes.len] = '\0';
    }
    L->n++;
    tide_future_release(&L->f);
    if (L->rc == TIDE_EOF) break;
  }
  TIDE_END(t);
}

/* A task that writes chunks to a raw fd, pausing between them so that the
 * reader sees each chunk in its own read(), then closes the fd. */
struct feed_frame {
  int fd;
  const char *const *chunks;
  int i;
  int rc;
};

static int feed_main(tide_task *t, void *frame) {
  struct feed_frame *F = frame;
  TIDE_BEGIN(t);
  for (F->i = 0; F->chunks[F->i] != NULL; F->i++) {
    write_all(F->fd, F->chunks[F->i]);
    TIDE_SLEEP(t, 2, F->rc);
  }
  close(F->fd);
  TIDE_END(t);
}

/* --- opening -------------------------------------------------------------- */

TEST(stream_open_bad_fd) {
  tide_loop loop;
  tide_stream *s = NULL;
  int fds[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_ERR(tide_stream_open(&loop, -1, 0, &s), TIDE_EBADF);
  make_pipe(fds, 0);
  close(fds[1]);
  ASSERT_ERR(tide_stream_open(&loop, fds[1], 0, &s), TIDE_EBADF); /* closed */
  ASSERT_NULL(s);
  close(fds[0]);
  CLOSE_LOOP(&loop);
}

TEST(stream_open_close_keeps_fd) {
  tide_loop loop;
  tide_stream *s;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], 0, &s));
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* an open stream is registered */
  ASSERT_EQ(tide_loop_alive(&loop), 0);           /* ...but keeps nothing alive */
  tide_stream_close(s, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(fd_is_open(fds[0])); /* no TIDE_STREAM_CLOSE_FD: still the caller's */
  CLOSE_LOOP(&loop);
  close(fds[0]);
  close(fds[1]);
}

/* --- reading -------------------------------------------------------------- */

TEST(stream_read_chunks) {
  tide_loop loop;
  tide_stream *s;
  tide_timer dog;
  tide_future f;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));

  /* A read waits for data, then delivers what one read() got. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_future_done(&f), 0);
  write_all(fds[1], "hello");
  run_until_done(&loop, &f);
  expect_bytes(&f, "hello");
  tide_future_release(&f);

  /* max bounds a read; the rest comes with the next ones, in order. */
  write_all(fds[1], "abcdefgh");
  read_one(&loop, s, 0, 3, &f);
  expect_bytes(&f, "abc");
  tide_future_release(&f);
  read_one(&loop, s, 0, 3, &f);
  expect_bytes(&f, "def");
  tide_future_release(&f);
  read_one(&loop, s, 0, 100, &f);
  expect_bytes(&f, "gh");
  tide_future_release(&f);

  /* The writer goes away: end of input, and again. */
  close(fds[1]);
  expect_read_err(&loop, s, 0, 0, TIDE_EOF);
  expect_read_err(&loop, s, 0, 0, TIDE_EOF);
  close_stream(&loop, s);
  ASSERT(!fd_is_open(fds[0]));
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_read_line_crlf_across_chunks) {
  static const char *const chunks[] = {"ab", "c\r",        "\nde", "f\n\r",
                                       "\n", "gh\r\nij\n", NULL};
  tide_loop loop;
  tide_timer dog;
  tide_stream *s;
  tide_task *reader, *feeder;
  struct lines_frame init;
  struct feed_frame feed = {0, chunks, 0, 0};
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  memset(&init, 0, sizeof init);
  init.s = s;
  feed.fd = fds[1];
  ASSERT_OK(tide_task_spawn(&loop, lines_main, &init, sizeof init, &reader));
  ASSERT_OK(tide_task_spawn(&loop, feed_main, &feed, sizeof feed, &feeder));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct lines_frame *L = tide_task_frame(reader);
  ASSERT_OK(tide_future_result(tide_task_future(reader), NULL));
  ASSERT_EQ(L->n, 6);
  ASSERT_STR_EQ(L->got[0], "abc");
  ASSERT_STR_EQ(L->got[1], "def");
  ASSERT_STR_EQ(L->got[2], ""); /* "\r\n" alone is an empty line */
  ASSERT_STR_EQ(L->got[3], "gh");
  ASSERT_STR_EQ(L->got[4], "ij");
  ASSERT_ERR(L->codes[5], TIDE_EOF);
  tide_task_release(reader);
  tide_task_release(feeder);
  close_stream(&loop, s);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_read_line_last_without_newline) {
  tide_loop loop;
  tide_stream *s;
  int fds[2];
  make_pipe(fds, 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  write_all(fds[1], "one\ntwo\r\nthree");
  close(fds[1]);
  expect_line(&loop, s, 0, "one");
  expect_line(&loop, s, 0, "two");
  expect_line(&loop, s, 0, "three"); /* delivered at end of input */
  expect_read_err(&loop, s, 1, 0, TIDE_EOF);
  expect_read_err(&loop, s, 1, 0, TIDE_EOF);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_read_line_too_long) {
  tide_loop loop;
  tide_stream *s;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  /* max_len 8: exactly 8 is fine (with "\n" or "\r\n"), 9 is not. */
  write_all(fds[1], "12345678\n12345678\r\n123456789\nok\n");
  expect_line(&loop, s, 8, "12345678");
  expect_line(&loop, s, 8, "12345678");
  expect_read_err(&loop, s, 1, 8, TIDE_EMSGSIZE);
  expect_line(&loop, s, 8, "ok");

  /* A long line arriving in pieces is refused before its end is seen, and
   * the rest of it is skipped as it arrives: the next line is intact. */
  write_all(fds[1], "this line is far too long");
  expect_read_err(&loop, s, 1, 8, TIDE_EMSGSIZE);
  write_all(fds[1], " and it goes on");
  write_all(fds[1], " and on\nnext\n");
  expect_line(&loop, s, 8, "next");

  /* An over-long last line at end of input, then EOF. */
  write_all(fds[1], "short\nmuch too long at the end");
  close(fds[1]);
  expect_line(&loop, s, 8, "short");
  expect_read_err(&loop, s, 1, 8, TIDE_EMSGSIZE);
  expect_read_err(&loop, s, 1, 8, TIDE_EOF);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_read_busy) {
  tide_loop loop;
  tide_stream *s;
  tide_future f1, f2;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &f2);
  ASSERT_OK(tide_stream_read_line(s, 0, &f1));
  ASSERT_ERR(tide_stream_read(s, 0, &f2), TIDE_EBUSY);
  ASSERT_ERR(tide_stream_read_line(s, 0, &f2), TIDE_EBUSY);
  ASSERT_EQ(tide_future_done(&f2), 0); /* a refused request leaves it alone */
  write_all(fds[1], "x\n");
  run_until_done(&loop, &f1);
  expect_bytes(&f1, "x");
  ASSERT_OK(tide_stream_read(s, 0, &f2)); /* free again */
  write_all(fds[1], "y");
  run_until_done(&loop, &f2);
  expect_bytes(&f2, "y");
  tide_future_release(&f1);
  tide_future_release(&f2);
  close(fds[1]);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_read_directory_error) {
  tide_loop loop;
  tide_stream *s;
  int fd = open(".", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fd, TIDE_STREAM_CLOSE_FD, &s));
  expect_read_err(&loop, s, 0, 0, TIDE_EINVAL); /* read(2): EISDIR */
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- cancellation of reads ------------------------------------------------ */

TEST(stream_cancel_read_keeps_bytes) {
  tide_loop loop;
  tide_stream *s;
  tide_future f;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));

  /* A line half read, then cancelled: the half waits in the stream. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read_line(s, 0, &f));
  write_all(fds[1], "partial");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(pipe_has_data(fds[0]), 0); /* the stream took it */
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_alive(&loop), 0); /* nothing is watched any more */

  /* Not watched means not read: bytes that arrive now stay in the pipe. */
  write_all(fds[1], " line\nmore");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(pipe_has_data(fds[0]), 1);
  expect_line(&loop, s, 0, "partial line");

  /* A cancelled plain read loses nothing either. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f)); /* served at once from the buffer */
  expect_bytes(&f, "more");
  tide_future_release(&f);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f));
  ASSERT_OK(tide_future_cancel(&f));
  tide_future_release(&f);
  write_all(fds[1], "after");
  read_one(&loop, s, 0, 0, &f);
  expect_bytes(&f, "after");
  tide_future_release(&f);
  close(fds[1]);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_release_pending_read) {
  tide_loop loop;
  tide_stream *s;
  tide_future f;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read(s, 0, &f));
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* the pending read is watched */
  tide_future_release(&f);              /* gives up: cancels the read */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  write_all(fds[1], "kept");
  read_one(&loop, s, 0, 0, &f); /* no EBUSY: the stream let go */
  expect_bytes(&f, "kept");
  tide_future_release(&f);
  close(fds[1]);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* A task awaiting a read is cancelled: the read is cancelled with it. */
struct await_read_frame {
  tide_stream *s;
  tide_future f;
  int rc;
};

static int await_read_main(tide_task *t, void *frame) {
  struct await_read_frame *A = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &A->f);
  ASSERT_OK(tide_stream_read(A->s, 0, &A->f));
  TIDE_AWAIT(t, &A->f, A->rc);
  tide_future_release(&A->f);
  TIDE_RETURN_INT(t, A->rc);
  TIDE_END(t);
}

TEST(stream_cancel_task_awaiting_read) {
  tide_loop loop;
  tide_stream *s;
  tide_task *t;
  tide_future f;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  struct await_read_frame init = {s, {0}, 0};
  ASSERT_OK(tide_task_spawn(&loop, await_read_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* now awaiting */
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECANCELED);
  tide_task_release(t);
  write_all(fds[1], "z");
  read_one(&loop, s, 0, 0, &f);
  expect_bytes(&f, "z");
  tide_future_release(&f);
  close(fds[1]);
  close_stream(&loop, s);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_close_cancels_pending_read) {
  tide_loop loop;
  tide_stream *s;
  tide_future f, done;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &s));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_stream_read_line(s, 0, &f));
  tide_stream_close(s, &done);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(&done, NULL));
  ASSERT(!fd_is_open(fds[0]));
  tide_future_release(&f);
  tide_future_release(&done);
  close(fds[1]);
  CLOSE_LOOP(&loop);
}

TEST(stream_requests_after_close_refused) {
  tide_loop loop;
  tide_stream *s;
  tide_future f, w;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[1], 0, &s));
  tide_future_init(&loop, &w);
  ASSERT_OK(tide_stream_write(s, "bye", 3, &w));
  tide_stream_close(s, NULL);
  /* Between close and the close callback the stream still answers. */
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_stream_read(s, 0, &f), TIDE_ECLOSED);
  ASSERT_ERR(tide_stream_write(s, "x", 1, NULL), TIDE_ECLOSED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  expect_int(&w, 3); /* queued before close: flushed */
  tide_future_release(&w);
  tide_future_release(&f);
  char buf[8];
  ASSERT_EQ(read(fds[0], buf, sizeof buf), 3);
  close(fds[0]);
  close(fds[1]);
  CLOSE_LOOP(&loop);
}

/* --- writing -------------------------------------------------------------- */

#define BIG ((size_t)1 << 20)
#define NWRITES 4

/* A task that reads chunks until it has `want` bytes or EOF. */
struct drain_frame {
  tide_stream *s;
  unsigned char *got;
  size_t want;
  size_t have;
  int reads;
  tide_future f;
  int rc;
};

static int drain_main(tide_task *t, void *frame) {
  struct drain_frame *D = frame;
  TIDE_BEGIN(t);
  while (D->have < D->want) {
    tide_future_init(tide_task_loop(t), &D->f);
    ASSERT_OK(tide_stream_read(D->s, 0, &D->f));
    TIDE_AWAIT(t, &D->f, D->rc);
    if (D->rc != 0) {
      tide_future_release(&D->f);
      TIDE_RETURN_ERROR(t, D->rc, "drain: read failed");
    }
    void *data;
    size_t len;
    ASSERT_OK(tide_future_take_bytes(&D->f, &data, &len));
    ASSERT_LE(len, D->want - D->have);
    memcpy(D->got + D->have, data, len);
    tide_loop_dealloc(tide_task_loop(t), data); /* taken: ours to free */
    D->have += len;
    D->reads++;
    tide_future_release(&D->f);
  }
  TIDE_RETURN_INT(t, (int64_t)D->have);
  TIDE_END(t);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)((i * 131u + seed + (i >> 9)) & 0xff);
}

struct order_ud {
  test_log *log;
  int idx;
};

static void log_index(tide_future *f, void *ud) {
  struct order_ud *o = ud;
  (void)f;
  test_log_push(o->log, o->idx);
}

/* 1 MiB, far beyond a pipe's capacity, written in NWRITES writes while a task
 * reads the other end of the same pipe in the same loop. */
static void big_write(int nonblock) {
  tide_loop loop;
  tide_timer dog;
  tide_stream *r, *w;
  tide_task *t;
  tide_future wf[NWRITES];
  struct order_ud ud[NWRITES];
  test_log log = {0};
  int fds[2];
  unsigned char *src = malloc(BIG);
  unsigned char *dst = malloc(BIG);
  ASSERT_NOT_NULL(src);
  ASSERT_NOT_NULL(dst);
  fill_pattern(src, BIG, 7);
  make_pipe(fds, nonblock);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &r));
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  size_t part = BIG / NWRITES;
  for (int i = 0; i < NWRITES; i++) {
    tide_future_init(&loop, &wf[i]);
    ud[i].log = &log;
    ud[i].idx = i;
    ASSERT_OK(tide_stream_write(w, src + (size_t)i * part, part, &wf[i]));
    ASSERT_OK(tide_future_add_done_callback(&wf[i], log_index, &ud[i]));
  }
  ASSERT_EQ(tide_stream_write_queue_size(w), BIG); /* copied, nothing written yet */
  struct drain_frame init;
  memset(&init, 0, sizeof init);
  init.s = r;
  init.got = dst;
  init.want = BIG;
  ASSERT_OK(tide_task_spawn(&loop, drain_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_stream_write_queue_size(w), 0);
  expect_int(tide_task_future(t), (int64_t)BIG);
  ASSERT_GT(((struct drain_frame *)tide_task_frame(t))->reads, 1);
  ASSERT_EQ(memcmp(src, dst, BIG), 0); /* every byte, in order */
  ASSERT_LOG(&log, 0, 1, 2, 3);        /* writes complete in queue order */
  for (int i = 0; i < NWRITES; i++) {
    expect_int(&wf[i], (int64_t)part);
    tide_future_release(&wf[i]);
  }
  tide_task_release(t);
  close_stream(&loop, w);
  close_stream(&loop, r);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  free(src);
  free(dst);
}

TEST(stream_big_write_nonblocking_fds) {
  big_write(1);
}

/* Blocking fds stay blocking: 512 bytes per readiness, and still no stall. */
TEST(stream_big_write_blocking_fds) {
  big_write(0);
}

TEST(stream_write_queue_size) {
  tide_loop loop;
  tide_stream *w;
  tide_future f;
  int fds[2];
  char buf[4096];
  make_pipe(fds, 0); /* blocking: exactly 512 bytes per readiness */
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  ASSERT_EQ(tide_stream_write_queue_size(w), 0);
  memset(buf, 'q', sizeof buf);
  ASSERT_OK(tide_stream_write(w, buf, 1000, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(w, buf, 300, &f));
  ASSERT_OK(tide_stream_write(w, buf, 0, NULL)); /* empty: completes in its turn */
  ASSERT_EQ(tide_stream_write_queue_size(w), 1300);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_stream_write_queue_size(w), 1300 - 512);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_stream_write_queue_size(w), 1300 - 1024);
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_stream_write_queue_size(w), 0);
  expect_int(&f, 300);
  tide_future_release(&f);
  ASSERT_EQ(read(fds[0], buf, sizeof buf), 1300);
  close_stream(&loop, w);
  close(fds[0]);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_cancel_writes) {
  tide_loop loop;
  tide_stream *w;
  tide_future f1, f2, f3;
  int fds[2];
  static unsigned char a[3000], b[100], c[50], got[4000];
  memset(a, 'a', sizeof a);
  memset(b, 'b', sizeof b);
  memset(c, 'c', sizeof c);
  make_pipe(fds, 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &f2);
  tide_future_init(&loop, &f3);
  ASSERT_OK(tide_stream_write(w, a, sizeof a, &f1));
  ASSERT_OK(tide_stream_write(w, b, sizeof b, &f2));
  ASSERT_OK(tide_stream_write(w, c, sizeof c, &f3));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* 512 bytes of a are out */
  /* b has not started: cancelling removes it. a is in progress: it is
   * finished in the background, its future cancelled all the same. */
  ASSERT_OK(tide_future_cancel(&f2));
  ASSERT_EQ(tide_stream_write_queue_size(w), sizeof a - 512 + sizeof c);
  ASSERT_OK(tide_future_cancel(&f1));
  ASSERT_EQ(tide_future_state_get(&f1), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  expect_int(&f3, sizeof c);
  ASSERT_EQ(read(fds[0], got, sizeof got), (ssize_t)(sizeof a + sizeof c));
  ASSERT_EQ(memcmp(got, a, sizeof a), 0);
  ASSERT_EQ(memcmp(got + sizeof a, c, sizeof c), 0);
  tide_future_release(&f1);
  tide_future_release(&f2);
  tide_future_release(&f3);
  close_stream(&loop, w);
  close(fds[0]);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stream_write_epipe) {
  tide_loop loop;
  tide_stream *w;
  tide_future f1, f2, f3, done;
  test_errors errs;
  int fds[2];
  signal(SIGPIPE, SIG_IGN); /* as a program must, to get TIDE_EPIPE */
  make_pipe(fds, 1);
  close(fds[0]);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &f2);
  tide_future_init(&loop, &f3);
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_stream_write(w, "x", 1, &f1));
  ASSERT_OK(tide_stream_write(w, "y", 1, &f2)); /* queued behind: fails the same */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(&f1, NULL), TIDE_EPIPE);
  ASSERT_ERR(tide_future_result(&f2, NULL), TIDE_EPIPE);
  ASSERT_EQ(tide_stream_write_queue_size(w), 0);
  /* Later writes fail at once the same way; one without a future is reported. */
  ASSERT_OK(tide_stream_write(w, "z", 1, &f3));
  ASSERT_ERR(tide_future_result(&f3, NULL), TIDE_EPIPE);
  ASSERT_EQ(errs.count, 0);
  ASSERT_OK(tide_stream_write(w, "z", 1, NULL));
  ASSERT_EQ(errs.count, 0); /* from the loop, not inline */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 1);
  ASSERT_ERR(errs.last_code, TIDE_EPIPE);
  /* close reports the first write error. */
  tide_stream_close(w, &done);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(&done, NULL), TIDE_EPIPE);
  ASSERT(!fd_is_open(fds[1]));
  tide_future_release(&f1);
  tide_future_release(&f2);
  tide_future_release(&f3);
  tide_future_release(&done);
  ASSERT_EQ(errs.count, 1);
  CLOSE_LOOP(&loop);
}

TEST(stream_write_queued_without_future_reported) {
  tide_loop loop;
  tide_stream *w;
  test_errors errs;
  int fds[2];
  signal(SIGPIPE, SIG_IGN);
  make_pipe(fds, 0);
  close(fds[0]);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  ASSERT_OK(tide_stream_write(w, "a", 1, NULL));
  ASSERT_OK(tide_stream_write(w, "b", 1, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 2); /* one report per failed write */
  ASSERT_ERR(errs.last_code, TIDE_EPIPE);
  tide_stream_close(w, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* A socket whose peer is gone gives TIDE_EPIPE without SIGPIPE even when the
 * program left SIGPIPE at its default (which would kill this test). */
TEST(stream_socket_epipe_without_sigpipe) {
  tide_loop loop;
  tide_stream *w;
  tide_future f;
  int sv[2];
  signal(SIGPIPE, SIG_DFL);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, sv[0], TIDE_STREAM_CLOSE_FD, &w));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(w, "x", 1, &f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EPIPE);
  tide_future_release(&f);
  tide_stream_close(w, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(stream_socketpair_echo) {
  tide_loop loop;
  tide_stream *a, *b;
  tide_future f;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, sv[0], TIDE_STREAM_CLOSE_FD, &a));
  ASSERT_OK(tide_stream_open(&loop, sv[1], TIDE_STREAM_CLOSE_FD, &b));
  /* One stream reads and writes the same fd. */
  ASSERT_OK(tide_stream_write(a, "ping\n", 5, NULL));
  expect_line(&loop, b, 0, "ping");
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_read_line(a, 0, &f));
  ASSERT_OK(tide_stream_write(b, "pong\n", 5, NULL));
  run_until_done(&loop, &f);
  expect_bytes(&f, "pong");
  tide_future_release(&f);
  close_stream(&loop, a); /* b sees the end of input */
  expect_read_err(&loop, b, 1, 0, TIDE_EOF);
  close_stream(&loop, b);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- close ---------------------------------------------------------------- */

TEST(stream_close_flushes_then_closes_fd) {
  tide_loop loop;
  tide_timer dog;
  tide_stream *r, *w;
  tide_task *t;
  tide_future done, wf;
  int fds[2];
  size_t n = 200 * 1024; /* more than the pipe holds: close must wait */
  unsigned char *src = malloc(n), *dst = malloc(n);
  ASSERT_NOT_NULL(src);
  ASSERT_NOT_NULL(dst);
  fill_pattern(src, n, 3);
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &r));
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  tide_future_init(&loop, &wf);
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_stream_write(w, src, n / 2, &wf));
  ASSERT_OK(tide_stream_write(w, src + n / 2, n - n / 2, NULL));
  tide_stream_close(w, &done);
  ASSERT_EQ(tide_future_done(&done), 0);
  ASSERT(fd_is_open(fds[1])); /* not before the queue is out */
  struct drain_frame init;
  memset(&init, 0, sizeof init);
  init.s = r;
  init.got = dst;
  init.want = n + 1; /* read to the end: EOF proves the write end was closed */
  ASSERT_OK(tide_task_spawn(&loop, drain_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(&done, NULL));
  expect_int(&wf, (int64_t)(n / 2));
  ASSERT(!fd_is_open(fds[1]));
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_EOF);
  ASSERT_EQ(((struct drain_frame *)tide_task_frame(t))->have, n);
  ASSERT_EQ(memcmp(src, dst, n), 0);
  tide_task_release(t);
  tide_future_release(&wf);
  tide_future_release(&done);
  close_stream(&loop, r);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  free(src);
  free(dst);
}

TEST(stream_close_future_released_early) {
  tide_loop loop;
  tide_stream *w;
  tide_future done;
  int fds[2];
  char buf[8];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  ASSERT_OK(tide_stream_write(w, "abc", 3, NULL));
  tide_future_init(&loop, &done);
  tide_stream_close(w, &done);
  tide_future_release(&done); /* nobody listens: the close goes on */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(!fd_is_open(fds[1]));
  ASSERT_EQ(read(fds[0], buf, sizeof buf), 3);
  close(fds[0]);
  CLOSE_LOOP(&loop);
}

/* --- regular files -------------------------------------------------------- */

static int temp_file(void) {
  char path[] = "/tmp/tide-stream-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(path), 0);
  return fd;
}

TEST(stream_regular_file_write_then_read_to_eof) {
  tide_loop loop;
  tide_stream *s;
  tide_future f;
  size_t n = 100 * 1000 + 7;
  unsigned char *src = malloc(n), *dst = malloc(n);
  ASSERT_NOT_NULL(src);
  ASSERT_NOT_NULL(dst);
  fill_pattern(src, n, 11);
  int fd = temp_file();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  /* Files are always "ready": the backends report them so without watching. */
  ASSERT_OK(tide_stream_open(&loop, fd, 0, &s));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_stream_write(s, src, n, &f));
  run_until_done(&loop, &f);
  expect_int(&f, (int64_t)n);
  tide_future_release(&f);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  size_t have = 0;
  int reads = 0;
  for (;;) {
    read_one(&loop, s, 0, 4096, &f);
    int rc = tide_future_result(&f, NULL);
    if (rc == TIDE_EOF) {
      tide_future_release(&f);
      break;
    }
    ASSERT_OK(rc);
    tide_value v;
    ASSERT_OK(tide_future_result(&f, &v));
    ASSERT_LE(v.as.bytes.len, 4096);
    ASSERT_LE(have + v.as.bytes.len, n);
    memcpy(dst + have, v.as.bytes.data, v.as.bytes.len);
    have += v.as.bytes.len;
    reads++;
    tide_future_release(&f);
  }
  ASSERT_EQ(have, n);
  ASSERT_GE(reads, (int)(n / 4096));
  ASSERT_EQ(memcmp(src, dst, n), 0);
  expect_read_err(&loop, s, 0, 0, TIDE_EOF);
  close_stream(&loop, s);
  ASSERT(fd_is_open(fd));
  close(fd);
  RUN_AND_CLOSE_LOOP(&loop);
  free(src);
  free(dst);
}

TEST(stream_regular_file_lines) {
  tide_loop loop;
  tide_stream *s;
  int fd = temp_file();
  write_all(fd, "alpha\r\n\nbeta\ngamma");
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_stream_open(&loop, fd, TIDE_STREAM_CLOSE_FD, &s));
  expect_line(&loop, s, 0, "alpha");
  expect_line(&loop, s, 0, "");
  expect_line(&loop, s, 0, "beta");
  expect_line(&loop, s, 0, "gamma");
  expect_read_err(&loop, s, 1, 0, TIDE_EOF);
  close_stream(&loop, s);
  ASSERT(!fd_is_open(fd));
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- out of memory at every allocation ------------------------------------ */

#define MAX_WALK 500

#define LONG_LINE 6000 /* longer than any first read buffer */

struct oom {
  test_alloc *a;
  int enomem; /* TIDE_ENOMEM results seen, from calls or futures */
  char *long_line;
  char *rest; /* "ld\n" long_line "\ntail" */
};

/* Call op until it does not return TIDE_ENOMEM (a failure is injected once). */
#define RETRY(o, call)                                                                 \
  do {                                                                                 \
    int rc_;                                                                           \
    while ((rc_ = (call)) == TIDE_ENOMEM)                                              \
      (o)->enomem++;                                                                   \
    ASSERT_OK(rc_);                                                                    \
  } while (0)

/* A read (line or chunk) that retries both a refused call and a future that
 * failed with TIDE_ENOMEM; the bytes are never lost in between. */
static void oom_read(struct oom *o, tide_loop *loop, tide_stream *s, int line,
                     const char *want) {
  tide_future f;
  for (;;) {
    tide_future_init(loop, &f);
    int rc = line ? tide_stream_read_line(s, 0, &f) : tide_stream_read(s, 0, &f);
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

static void scenario_stream(struct oom *o, size_t n) {
  tide_loop_options opts = test_alloc_options(o->a);
  tide_loop loop;
  tide_stream *r = NULL, *w = NULL;
  tide_future wf, done;
  int fds[2];
  make_pipe(fds, 1);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(o->a, n);
  RETRY(o, tide_stream_open(&loop, fds[0], TIDE_STREAM_CLOSE_FD, &r));
  RETRY(o, tide_stream_open(&loop, fds[1], TIDE_STREAM_CLOSE_FD, &w));
  tide_future_init(&loop, &wf);
  RETRY(o, tide_stream_write(w, "hello\nwor", 9, &wf));
  RETRY(o, tide_stream_write(w, o->rest, strlen(o->rest), NULL));
  /* A refused write queued nothing. */
  ASSERT_EQ(tide_stream_write_queue_size(w), 9 + strlen(o->rest));
  run_until_done(&loop, &wf);
  expect_int(&wf, 9);
  tide_future_release(&wf);
  oom_read(o, &loop, r, 1, "hello");
  oom_read(o, &loop, r, 1, "world");
  oom_read(o, &loop, r, 1, o->long_line); /* the buffer must grow for it */
  oom_read(o, &loop, r, 0, "tail");
  tide_future_init(&loop, &done);
  tide_stream_close(w, &done);
  run_until_done(&loop, &done);
  ASSERT_OK(tide_future_result(&done, NULL));
  tide_future_release(&done);
  tide_stream_close(r, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT(!fd_is_open(fds[0]));
  ASSERT(!fd_is_open(fds[1]));
  CLOSE_LOOP(&loop);
}

TEST(stream_alloc_fail_each_allocation) {
  int sites = 0;
  char *long_line = malloc(LONG_LINE + 1), *rest = malloc(LONG_LINE + 16);
  ASSERT_NOT_NULL(long_line);
  ASSERT_NOT_NULL(rest);
  memset(long_line, 'x', LONG_LINE);
  long_line[LONG_LINE] = '\0';
  snprintf(rest, LONG_LINE + 16, "ld\n%s\ntail", long_line);
  for (size_t n = 1; n <= MAX_WALK; n++) {
    test_alloc a;
    struct oom o = {&a, 0, long_line, rest};
    test_alloc_init(&a);
    scenario_stream(&o, n);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(o.enomem, (long long)a.failures); /* each failure seen exactly once */
    if (a.failures == 0) break;
    sites++;
    ASSERT_LT(n, MAX_WALK);
  }
  /* 2 streams, 2 writes, the read buffer and its growth, 4 results. */
  ASSERT_GE(sites, 10);
  free(long_line);
  free(rest);
}
