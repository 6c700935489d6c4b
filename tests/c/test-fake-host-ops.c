/* test-fake-host-ops.c (tide-tests-fake only): host operations against the fake
 * backend playing the JS host: arguments on the wire, every kind of completion,
 * refused completions (unknown, stale, finished, cancelled, malformed), and
 * cancellation reaching the host exactly once. Value lists are built by hand
 * here, byte by byte, so the tests check the wire format of src/backend/js/ABI.md rather
 * than the library's own encoder. */
#include <string.h>

#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

/* --- Building value lists --------------------------------------------------- */

typedef struct wire {
  unsigned char b[2048];
  size_t n;
} wire;

static void w_u32(wire *w, uint32_t v) {
  for (int i = 0; i < 4; i++)
    w->b[w->n++] = (unsigned char)(v >> (8 * i));
}
static void w_none(wire *w) {
  w->b[w->n++] = 0;
}
static void w_num(wire *w, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  w->b[w->n++] = 1;
  for (int i = 0; i < 8; i++)
    w->b[w->n++] = (unsigned char)(bits >> (8 * i));
}
static void w_text(wire *w, unsigned tag, const void *data, size_t len) {
  w->b[w->n++] = (unsigned char)tag;
  w_u32(w, (uint32_t)len);
  memcpy(w->b + w->n, data, len);
  w->n += len;
}
static void w_str(wire *w, const char *s) {
  w_text(w, 2, s, strlen(s));
}

/* --- Helpers ---------------------------------------------------------------- */

/* Start a host call of name with no arguments; returns its op id. */
static uint32_t start_op(tide_loop *loop, const char *name, tide_future *f) {
  uint32_t op = 0;
  const char *got = NULL;
  tide_future_init(loop, f);
  ASSERT_OK(tide_host_call(loop, name, NULL, 0, f));
  ASSERT_OK(tide_fake_host_last_op(loop, &op, &got, NULL, NULL));
  ASSERT_STR_EQ(got, name);
  ASSERT_GT(op, 0);
  return op;
}

static void run_nowait(tide_loop *loop) {
  ASSERT_GE(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
}

/* --- Arguments and results --------------------------------------------------- */

TEST(fake_host_call_sends_name_and_args) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f);
  const unsigned char raw[2] = {0xff, 0x00};
  tide_value args[6];
  args[0] = tide_value_int(21);
  args[1] = tide_value_double(1.5);
  args[2] = tide_value_string("hi");
  args[3] = tide_value_bytes(raw, 2);
  args[4] = tide_value_json("[1]");
  args[5] = tide_value_none();
  ASSERT_OK(tide_host_call(&loop, "double", args, 6, &f));

  wire want = {{0}, 0};
  w_num(&want, 21); /* an INT crosses as a number */
  w_num(&want, 1.5);
  w_str(&want, "hi");
  w_text(&want, 3, raw, 2);
  w_text(&want, 4, "[1]", 3);
  w_none(&want);
  uint32_t op;
  const char *name;
  const void *sent;
  size_t sent_len;
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, &name, &sent, &sent_len));
  ASSERT_STR_EQ(name, "double");
  ASSERT_EQ(sent_len, want.n);
  ASSERT(memcmp(sent, want.b, want.n) == 0);
  ASSERT_EQ(tide_fake_host_call_count(&loop), 1);

  /* Pending: referenced work that keeps the loop alive and open. */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);

  wire res = {{0}, 0};
  w_num(&res, 42);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
  ASSERT_EQ(tide_loop_alive(&loop), 0); /* done: nothing referenced is left */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_DOUBLE);
  ASSERT(v.as.d == 42.0);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_call_large_args) {
  /* Past the stack buffer: the list is built on the heap, freed after the call. */
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  char text[700];
  memset(text, 'x', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f);
  tide_value arg = tide_value_string(text);
  ASSERT_OK(tide_host_call(&loop, "big", &arg, 1, &f));
  uint32_t op;
  const void *sent;
  size_t sent_len;
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, &sent, &sent_len));
  ASSERT_EQ(sent_len, 5 + 699);
  ASSERT_EQ(((const unsigned char *)sent)[0], 2);
  ASSERT_EQ(((const unsigned char *)sent)[5 + 698], 'x');
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, "\0", 1));
  run_nowait(&loop);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Complete an op with one item and check the value the future got. */
static void expect_text_result(unsigned tag, tide_value_type type, const void *data,
                               size_t len) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f, g;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "text", &f);
  wire res = {{0}, 0};
  w_text(&res, tag, data, len);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
  run_nowait(&loop);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, type);
  ASSERT_EQ(v.as.bytes.len, len);
  ASSERT(memcmp(v.as.bytes.data, data, len) == 0);
  ASSERT_EQ(((const char *)v.as.bytes.data)[len], '\0'); /* NUL-terminated */
  tide_future_release(&f);                               /* frees the owned bytes */

  /* The same value taken out of the future: freed with tide_loop_dealloc. */
  op = start_op(&loop, "text", &g);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
  run_nowait(&loop);
  void *data_out;
  size_t len_out;
  ASSERT_OK(tide_future_take_bytes(&g, &data_out, &len_out));
  ASSERT_EQ(len_out, len);
  ASSERT(memcmp(data_out, data, len) == 0);
  tide_future_release(&g);
  tide_loop_dealloc(&loop, data_out);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_result_string) {
  expect_text_result(2, TIDE_VALUE_STRING, "h\xc3\xa9llo", 6);
}
TEST(fake_host_result_empty_string) {
  expect_text_result(2, TIDE_VALUE_STRING, "", 0);
}
TEST(fake_host_result_bytes) {
  expect_text_result(3, TIDE_VALUE_BYTES, "\x00\x01\x02", 3);
}
TEST(fake_host_result_json) {
  expect_text_result(4, TIDE_VALUE_JSON, "{\"a\":[1,2]}", 11);
}

TEST(fake_host_result_none) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "nothing", &f);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, "\0", 1));
  run_nowait(&loop);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_NONE);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* --- Errors ------------------------------------------------------------------ */

TEST(fake_host_error_code_and_message) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f, g, h;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "disk", &f);
  ASSERT_OK(tide_fake_host_complete(&loop, op, TIDE_EIO, "disk on fire", 12));
  run_nowait(&loop);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO);
  ASSERT_STR_EQ(tide_future_error_message(&f), "disk on fire");
  tide_future_release(&f);

  /* A long message (past the stack staging buffer) arrives whole. */
  char msg[1000];
  memset(msg, 'm', sizeof msg);
  op = start_op(&loop, "disk", &g);
  ASSERT_OK(tide_fake_host_complete(&loop, op, TIDE_EACCES, msg, sizeof msg));
  run_nowait(&loop);
  ASSERT_ERR(tide_future_result(&g, NULL), TIDE_EACCES);
  ASSERT_EQ(strlen(tide_future_error_message(&g)), sizeof msg);
  tide_future_release(&g);

  /* No message: the code's own text. */
  op = start_op(&loop, "disk", &h);
  ASSERT_OK(tide_fake_host_complete(&loop, op, TIDE_ENOENT, NULL, 0));
  run_nowait(&loop);
  ASSERT_ERR(tide_future_result(&h, NULL), TIDE_ENOENT);
  ASSERT_STR_EQ(tide_future_error_message(&h), tide_strerror(TIDE_ENOENT));
  tide_future_release(&h);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_unknown_code_is_ehost) {
  tide_loop loop;
  tide_future f, g;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  uint32_t op = start_op(&loop, "x", &f);
  ASSERT_OK(
      tide_fake_host_complete(&loop, op, -999, "TypeError: x is not a function", 30));
  op = start_op(&loop, "x", &g);
  ASSERT_OK(tide_fake_host_complete(&loop, op, TIDE__ERR_LAST - 1,
                                    "just past the table", 19));
  run_nowait(&loop);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EHOST);
  ASSERT_STR_EQ(tide_future_error_message(&f), "TypeError: x is not a function");
  ASSERT_ERR(tide_future_result(&g, NULL), TIDE_EHOST);
  tide_future_release(&f);
  tide_future_release(&g);
  CLOSE_LOOP(&loop);
}

TEST(fake_host_ecanceled_code_cancels) {
  /* The host may report the operation cancelled on its side: the future ends
   * CANCELLED, and the host is not told to cancel what it cancelled. */
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  uint32_t op = start_op(&loop, "x", &f);
  ASSERT_OK(tide_fake_host_complete(&loop, op, TIDE_ECANCELED, "aborted", 7));
  run_nowait(&loop);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_fake_host_cancel_count(&loop), 0);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* --- Refused completions ------------------------------------------------------- */

TEST(fake_host_complete_unknown_stale_finished) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f, g;
  wire res = {{0}, 0};
  w_num(&res, 1);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  /* Before any operation exists. */
  ASSERT_ERR(tide_fake_host_complete(&loop, 1, 0, res.b, res.n), TIDE_ENOENT);
  uint32_t op = start_op(&loop, "x", &f);
  ASSERT_ERR(tide_fake_host_complete(&loop, 0, 0, res.b, res.n), TIDE_ENOENT);
  ASSERT_ERR(tide_fake_host_complete(&loop, op + 1, 0, res.b, res.n), TIDE_ENOENT);
  ASSERT_ERR(tide_fake_host_complete(&loop, op + 256, 0, res.b, res.n), TIDE_ENOENT);
  ASSERT_ERR(tide_fake_host_complete(&loop, 0x7fffffff, 0, res.b, res.n), TIDE_ENOENT);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
  /* A second completion, before and after the loop ran: refused, unchanged. */
  ASSERT_ERR(tide_fake_host_complete(&loop, op, TIDE_EIO, "late", 4), TIDE_ENOENT);
  run_nowait(&loop);
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, res.b, res.n), TIDE_ENOENT);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT(v.as.d == 1.0);
  tide_future_release(&f);

  /* The slot is reused with a new generation: the old id stays dead. */
  uint32_t op2 = start_op(&loop, "y", &g);
  ASSERT_NE(op2, op);
  ASSERT_EQ(op2 >> 8, op >> 8);
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, res.b, res.n), TIDE_ENOENT);
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_fake_host_complete(&loop, op2, 0, res.b, res.n));
  run_nowait(&loop);
  tide_future_release(&g);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* A malformed completion fails the operation with TIDE_EINVAL (its awaiter is
 * not left waiting) and takes the buffer. */
static void expect_malformed(int code, const void *data, size_t len) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "bad", &f);
  ASSERT_ERR(tide_fake_host_complete(&loop, op, code, data, len), TIDE_EINVAL);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_ERROR);
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, "\0", 1), TIDE_ENOENT);
  run_nowait(&loop);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EINVAL);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_malformed_bad_tag) {
  expect_malformed(0, "\x05", 1);
}
TEST(fake_host_malformed_length_past_end) {
  expect_malformed(0,
                   "\x02\x0a\x00\x00\x00"
                   "abc",
                   8);
}
TEST(fake_host_malformed_huge_length) {
  expect_malformed(0,
                   "\x03\xff\xff\xff\xff"
                   "abc",
                   8);
}
TEST(fake_host_malformed_short_header) {
  expect_malformed(0, "\x02\x01\x00", 3);
}
TEST(fake_host_malformed_short_number) {
  expect_malformed(0, "\x01\x00\x00\x00\x00", 5);
}
TEST(fake_host_malformed_two_items) {
  expect_malformed(0, "\x00\x00", 2);
}
TEST(fake_host_malformed_empty_list) {
  expect_malformed(0, NULL, 0);
}
TEST(fake_host_malformed_positive_code) {
  expect_malformed(3, "oops", 4);
}

/* --- Cancellation -------------------------------------------------------------- */

typedef struct await_frame {
  tide_future *f;
  int rc;
  int resumed;
  tide_value v;
} await_frame;

static int await_main(tide_task *t, void *frame) {
  await_frame *a = frame;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, a->f, a->rc);
  a->resumed++;
  if (a->rc == 0) (void)tide_future_result(a->f, &a->v);
  TIDE_END(t);
}

TEST(fake_host_cancel_reaches_host) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  tide_task *task;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "slow", &f);
  await_frame init = {&f, 99, 0, {TIDE_VALUE_NONE, {0}, NULL, NULL}};
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &task));
  run_nowait(&loop); /* the task awaits f */
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_fake_host_cancel_count(&loop), 1);
  ASSERT(tide_fake_host_cancelled(&loop, op));
  /* The host's answer, racing with the abort, is refused: never both. */
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, "\0", 1), TIDE_ENOENT);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  await_frame *fr = tide_task_frame(task);
  ASSERT_EQ(fr->resumed, 1);
  ASSERT_ERR(fr->rc, TIDE_ECANCELED);
  ASSERT_ERR(tide_future_cancel(&f), TIDE_EALREADY);
  ASSERT_EQ(tide_fake_host_cancel_count(&loop), 1); /* told once */
  tide_task_release(task);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_completion_wins_over_late_cancel) {
  /* Completed first: cancelling afterwards is too late, the host hears
   * nothing, and the awaiting task sees the result. */
  tide_loop loop;
  tide_future f;
  tide_task *task;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  uint32_t op = start_op(&loop, "fast", &f);
  await_frame init = {&f, 99, 0, {TIDE_VALUE_NONE, {0}, NULL, NULL}};
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &task));
  run_nowait(&loop);
  wire res = {{0}, 0};
  w_num(&res, 7);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
  ASSERT_ERR(tide_future_cancel(&f), TIDE_EALREADY);
  run_nowait(&loop);
  await_frame *fr = tide_task_frame(task);
  ASSERT_EQ(fr->resumed, 1);
  ASSERT_EQ(fr->rc, 0);
  ASSERT(fr->v.as.d == 7.0);
  ASSERT_EQ(tide_fake_host_cancel_count(&loop), 0);
  tide_task_release(task);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(fake_host_task_cancel_reaches_host) {
  /* Cancelling the task cancels the host call it awaits. */
  tide_loop loop;
  tide_future f;
  tide_task *task;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  uint32_t op = start_op(&loop, "slow", &f);
  await_frame init = {&f, 99, 0, {TIDE_VALUE_NONE, {0}, NULL, NULL}};
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &task));
  run_nowait(&loop);
  ASSERT_OK(tide_task_cancel(task));
  ASSERT(tide_fake_host_cancelled(&loop, op));
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, "\0", 1), TIDE_ENOENT);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_task_done(task), 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(task)), TIDE_FUTURE_CANCELLED);
  await_frame *fr = tide_task_frame(task);
  ASSERT_ERR(fr->rc, TIDE_ECANCELED);
  tide_task_release(task);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(fake_host_release_pending_cancels) {
  /* Releasing a pending host future cancels the operation, so the loop can
   * close and the host stops the work. */
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  uint32_t op = start_op(&loop, "slow", &f);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  tide_future_release(&f);
  ASSERT(tide_fake_host_cancelled(&loop, op));
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* --- Refused calls --------------------------------------------------------------- */

TEST(fake_host_call_refused_leaves_nothing) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  size_t blocks = a.live_blocks;
  tide_future_init(&loop, &f);
  tide_fake_host_fail_calls(&loop, TIDE_ENOSYS);
  tide_value arg = tide_value_string("x");
  ASSERT_ERR(tide_host_call(&loop, "f", &arg, 1, &f), TIDE_ENOSYS);
  ASSERT_EQ(a.live_blocks, blocks);
  ASSERT_NULL(loop.priv_host);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  /* The future is untouched and can be used again. */
  tide_fake_host_fail_calls(&loop, 0);
  ASSERT_OK(tide_host_call(&loop, "f", &arg, 1, &f));
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_call_bad_arguments) {
  tide_loop loop, other;
  tide_future f, done, other_f;
  tide_task *task;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  tide_future_init(&loop, &f);
  int x = 0;
  tide_value p = tide_value_none();
  p.type = TIDE_VALUE_PTR;
  p.as.p = &x;
  ASSERT_ERR(tide_host_call(&loop, "f", &p, 1, &f), TIDE_EINVAL); /* a PTR */
  ASSERT_ERR(tide_host_call(&loop, NULL, NULL, 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 1, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 0, NULL), TIDE_EINVAL);
  tide_value bad_bytes = tide_value_none();
  bad_bytes.type = TIDE_VALUE_BYTES;
  bad_bytes.as.bytes.len = 3; /* data NULL */
  ASSERT_ERR(tide_host_call(&loop, "f", &bad_bytes, 1, &f), TIDE_EINVAL);
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_future_set_none(&done));
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 0, &done), TIDE_EINVAL); /* not pending */
  tide_future_init(&other, &other_f);
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 0, &other_f),
             TIDE_EINVAL); /* another loop's */
  ASSERT_OK(tide_task_spawn(&loop, await_main, NULL, sizeof(await_frame), &task));
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 0, tide_task_future(task)), TIDE_EINVAL);
  ASSERT_OK(tide_task_cancel(task));
  ASSERT_OK(tide_host_call(&loop, "f", NULL, 0, &f));
  ASSERT_ERR(tide_host_call(&loop, "f", NULL, 0, &f),
             TIDE_EINVAL); /* already has a producer */
  ASSERT_EQ(tide_fake_host_call_count(&loop), 1);
  tide_future_release(&f);
  tide_future_release(&done);
  tide_future_release(&other_f);
  run_nowait(&loop);
  tide_task_release(task);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
}

/* --- Volume -------------------------------------------------------------------------
 */

TEST(fake_host_many_sequential_calls_no_growth) {
  enum { N = 100000, WARMUP = 16 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  wire res = {{0}, 0};
  size_t blocks = 0, bytes = 0;
  uint32_t last_op = 0;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < N; i++) {
    tide_value arg = tide_value_int(i);
    tide_future_init(&loop, &f);
    ASSERT_OK(tide_host_call(&loop, "inc", &arg, 1, &f));
    uint32_t op;
    ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
    ASSERT_NE(op, last_op); /* the generation moves on */
    last_op = op;
    res.n = 0;
    w_num(&res, i + 1);
    ASSERT_OK(tide_fake_host_complete(&loop, op, 0, res.b, res.n));
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    tide_value v;
    ASSERT_OK(tide_future_result(&f, &v));
    ASSERT(v.as.d == (double)(i + 1));
    tide_future_release(&f);
    if (i == WARMUP) {
      blocks = a.live_blocks;
      bytes = a.live_bytes;
    } else if (i > WARMUP) {
      ASSERT_EQ(a.live_blocks, blocks);
      ASSERT_EQ(a.live_bytes, bytes);
    }
  }
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_host_many_pending_ops) {
  /* Many at once: the op table grows, every id stays distinct, completions in
   * reverse order land on the right futures. */
  enum { N = 300 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  static tide_future fs[N];
  static uint32_t ops[N];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < N; i++)
    ops[i] = start_op(&loop, "op", &fs[i]);
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++)
      ASSERT_NE(ops[i], ops[j]);
  for (int i = N - 1; i >= 0; i--) {
    wire res = {{0}, 0};
    w_num(&res, i);
    ASSERT_OK(tide_fake_host_complete(&loop, ops[i], 0, res.b, res.n));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  for (int i = 0; i < N; i++) {
    tide_value v;
    ASSERT_OK(tide_future_result(&fs[i], &v));
    ASSERT(v.as.d == (double)i);
    tide_future_release(&fs[i]);
  }
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* An id stays refused after its operation ended, however many operations reuse
 * its slot since: a late completion for an operation cancelled long ago must not
 * land on a newer one (the generation must not wrap back within reach). */
TEST(fake_host_stale_id_never_names_a_newer_op) {
  tide_loop loop;
  tide_future f;
  uint32_t first = 0, op = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 300; i++) {
    tide_future_init(&loop, &f);
    ASSERT_OK(tide_host_call(&loop, "sleep", NULL, 0, &f));
    ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
    if (i == 0) first = op;
    if (i < 299) tide_future_release(&f); /* cancelled: the host is told */
  }
  ASSERT_NE(op, first);
  const unsigned char none = 0;
  ASSERT_ERR(tide_fake_host_complete(&loop, first, 0, &none, 1), TIDE_ENOENT);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, &none, 1));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}
