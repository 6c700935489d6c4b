/* test-stdin-stream.c: a stream on fd 0, as a user's filter program reads it.
 *
 * stdin must be tests/c/data/stdin-lines.txt: tests/c/CMakeLists.txt registers
 * these tests (stdin.<name>: redirected from the file; stdin-pipe.<name>: piped
 * through cat) and keeps them out of the generic registration. No pipe(), no
 * threads: the same tests run natively and under a WASI runtime. Each test
 * reads stdin from its start: ctest gives each its own (a fresh redirect or
 * pipe); nothing rewinds it, as a pipe and WAMR's stdin cannot seek. Run by
 * hand with a terminal on stdin, they skip (TEST_SKIP: reported as skipped,
 * never as passed) instead of waiting for typing.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <sys/stat.h>

#include "test.h"
#include "util.h"

#define WATCHDOG_MS 10000
#define LONG_LEN 10000

/* The data file, line by line (what read_line must deliver). */
enum { NLINES = 6, LONG_INDEX = 3 };
static const char *const short_lines[NLINES] = {
    "first line",          /* "\n" */
    "crlf line",           /* "\r\n" */
    "",                    /* an empty line */
    NULL,                  /* LONG_LEN characters of long_char() */
    "  spaces and\ttab  ", /* kept as they are */
    "last line without newline"};

static char long_char(size_t i) {
  return "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
}

/* Fd 0 must be the data file (or a pipe from it). A terminal or /dev/null is
 * not: then the test skips. */
static void require_stdin(void) {
  struct stat st;
  if (fstat(0, &st) != 0 || S_ISCHR(st.st_mode))
    TEST_SKIP("stdin is not tests/c/data/stdin-lines.txt (a terminal or a device)");
}

static void expect_line(int i, const void *data, size_t len) {
  if (i == LONG_INDEX) {
    const char *p = data;
    ASSERT_EQ(len, LONG_LEN);
    for (size_t k = 0; k < LONG_LEN; k++)
      if (p[k] != long_char(k))
        test__fail(__FILE__, __LINE__, "long line: byte %zu", k);
    return;
  }
  ASSERT_EQ(len, strlen(short_lines[i]));
  ASSERT_EQ(memcmp(data, short_lines[i], len), 0);
}

/* A task that reads every line of stdin, checks it, and stops at TIDE_EOF.
 * With a timer, it records how often the timer had ticked at each line. */
struct reader_frame {
  tide_stream *s;
  size_t max_len;
  tide_timer *ticker; /* closed at the end, or NULL */
  int *ticks;
  tide_future f;
  int rc;
  int n; /* results so far (lines, errors) */
  int codes[NLINES + 2];
  int ticks_at[NLINES + 2];
};

static int reader_main(tide_task *t, void *frame) {
  struct reader_frame *R = frame;
  TIDE_BEGIN(t);
  while (R->n < NLINES + 2) {
    tide_future_init(tide_task_loop(t), &R->f);
    ASSERT_OK(tide_stream_read_line(R->s, R->max_len, &R->f));
    TIDE_AWAIT(t, &R->f, R->rc);
    R->codes[R->n] = R->rc;
    R->ticks_at[R->n] = R->ticks ? *R->ticks : 0;
    R->n++;
    if (R->rc == 0) {
      tide_value v;
      ASSERT_OK(tide_future_result(&R->f, &v));
      ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
      /* A refused line keeps its index, so R->n - 1 is this line's. */
      expect_line(R->n - 1, v.as.bytes.data, v.as.bytes.len);
    }
    tide_future_release(&R->f);
    if (R->rc == TIDE_EOF) break;
  }
  if (R->ticker != NULL) tide_handle_close(&R->ticker->handle, NULL);
  TIDE_END(t);
}

static tide_task *spawn_reader(tide_loop *loop, tide_stream *s, size_t max_len,
                               tide_timer *ticker, int *ticks) {
  struct reader_frame init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.s = s;
  init.max_len = max_len;
  init.ticker = ticker;
  init.ticks = ticks;
  ASSERT_OK(tide_task_spawn(loop, reader_main, &init, sizeof init, &t));
  return t;
}

static void close_stream(tide_loop *loop, tide_stream *s) {
  tide_stream_close(s, NULL);
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
}

TEST(stdin_read_lines) {
  tide_loop loop;
  tide_timer dog;
  tide_stream *s;
  require_stdin();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, 0, 0, &s)); /* stdin stays open */
  tide_task *t = spawn_reader(&loop, s, 0, NULL, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), NULL));
  struct reader_frame *R = tide_task_frame(t);
  ASSERT_EQ(R->n, NLINES + 1);
  for (int i = 0; i < NLINES; i++)
    ASSERT_OK(R->codes[i]);
  ASSERT_ERR(R->codes[NLINES], TIDE_EOF);
  tide_task_release(t);
  close_stream(&loop, s);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* A timer restarted from its own callback ticks once per loop iteration. */
static void tick_cb(tide_timer *timer) {
  int *ticks = timer->handle.data;
  (*ticks)++;
  ASSERT_OK(tide_timer_start(timer, tick_cb, 0, 0));
}

TEST(stdin_lines_while_timer_ticks) {
  tide_loop loop;
  tide_timer dog, ticker;
  tide_stream *s;
  int ticks = 0;
  require_stdin();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_timer_init(&loop, &ticker));
  ticker.handle.data = &ticks;
  ASSERT_OK(tide_timer_start(&ticker, tick_cb, 0, 0));
  ASSERT_OK(tide_stream_open(&loop, 0, 0, &s));
  tide_task *t = spawn_reader(&loop, s, 0, &ticker, &ticks);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), NULL));
  struct reader_frame *R = tide_task_frame(t);
  ASSERT_EQ(R->n, NLINES + 1);
  ASSERT_ERR(R->codes[NLINES], TIDE_EOF);
  /* The end of input takes a read() of its own after the one that brought the
   * first line, and the timer ran in between: reading never held the loop. */
  ASSERT_GT(R->ticks_at[NLINES], R->ticks_at[0]);
  ASSERT_GT(ticks, 0);
  tide_task_release(t);
  close_stream(&loop, s);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(stdin_long_line_refused) {
  tide_loop loop;
  tide_timer dog;
  tide_stream *s;
  require_stdin();
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, 0, 0, &s));
  tide_task *t = spawn_reader(&loop, s, 100, NULL, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), NULL));
  struct reader_frame *R = tide_task_frame(t);
  ASSERT_EQ(R->n, NLINES + 1);
  /* Only the long line is refused; the one after it is read whole. */
  for (int i = 0; i < NLINES; i++)
    ASSERT_ERR(R->codes[i], i == LONG_INDEX ? TIDE_EMSGSIZE : 0);
  ASSERT_ERR(R->codes[NLINES], TIDE_EOF);
  tide_task_release(t);
  close_stream(&loop, s);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* The file byte for byte, as it is read in small chunks. */
TEST(stdin_read_chunks_to_eof) {
  tide_loop loop;
  tide_timer dog;
  tide_stream *s;
  tide_future f;
  require_stdin();
  size_t cap = 2 * LONG_LEN, have = 0;
  char *got = malloc(cap), *want = malloc(cap);
  ASSERT_NOT_NULL(got);
  ASSERT_NOT_NULL(want);
  size_t wlen = 0;
  static const char *const ends[NLINES] = {"\n", "\r\n", "\n", "\n", "\n", ""};
  for (int i = 0; i < NLINES; i++) {
    if (i == LONG_INDEX)
      for (size_t k = 0; k < LONG_LEN; k++)
        want[wlen++] = long_char(k);
    else
      for (const char *p = short_lines[i]; *p; p++)
        want[wlen++] = *p;
    for (const char *p = ends[i]; *p; p++)
      want[wlen++] = *p;
  }
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_stream_open(&loop, 0, 0, &s));
  for (;;) {
    tide_future_init(&loop, &f);
    ASSERT_OK(tide_stream_read(s, 700, &f));
    while (!tide_future_done(&f))
      ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
    int rc = tide_future_result(&f, NULL);
    if (rc == TIDE_EOF) {
      tide_future_release(&f);
      break;
    }
    tide_value v;
    ASSERT_OK(tide_future_result(&f, &v));
    ASSERT_GE(v.as.bytes.len, 1);
    ASSERT_LE(v.as.bytes.len, 700);
    ASSERT_LE(have + v.as.bytes.len, wlen);
    memcpy(got + have, v.as.bytes.data, v.as.bytes.len);
    have += v.as.bytes.len;
    tide_future_release(&f);
  }
  ASSERT_EQ(have, wlen);
  ASSERT_EQ(memcmp(got, want, wlen), 0);
  close_stream(&loop, s);
  test_watchdog_close(&dog);
  RUN_AND_CLOSE_LOOP(&loop);
  free(got);
  free(want);
}
