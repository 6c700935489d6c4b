/* test-fake-host-calls.c (tide-tests-fake only): exported coroutines called by
 * the host, as tide_js_call does: arguments in, each kind of result and error
 * out through call_done, cancellation by call id, and refused calls. */
#include <string.h>

#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

typedef struct wire {
  unsigned char b[1024];
  size_t n;
} wire;

static void w_num(wire *w, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  w->b[w->n++] = 1;
  for (int i = 0; i < 8; i++)
    w->b[w->n++] = (unsigned char)(bits >> (8 * i));
}
static void w_text(wire *w, unsigned tag, const void *data, size_t len) {
  w->b[w->n++] = (unsigned char)tag;
  for (int i = 0; i < 4; i++)
    w->b[w->n++] = (unsigned char)((uint32_t)len >> (8 * i));
  memcpy(w->b + w->n, data, len);
  w->n += len;
}

/* The last call_done: it must be for call, with code. */
static void expect_done(tide_loop *loop, int call, int code, const void *data,
                        size_t len) {
  uint32_t got_call;
  int got_code;
  const void *got;
  size_t got_len;
  ASSERT_OK(tide_fake_call_done_last(loop, &got_call, &got_code, &got, &got_len));
  ASSERT_EQ(got_call, call);
  ASSERT_ERR(got_code, code);
  ASSERT_EQ(got_len, len);
  ASSERT(memcmp(got, data, len) == 0);
}

static void expect_done_number(tide_loop *loop, int call, double d) {
  wire w = {{0}, 0};
  w_num(&w, d);
  expect_done(loop, call, 0, w.b, w.n);
}

static void expect_done_text(tide_loop *loop, int call, unsigned tag, const char *s) {
  wire w = {{0}, 0};
  w_text(&w, tag, s, strlen(s));
  expect_done(loop, call, 0, w.b, w.n);
}

static void expect_done_error(tide_loop *loop, int call, int code, const char *msg) {
  expect_done(loop, call, code, msg, strlen(msg));
}

/* --- Coroutines to export ------------------------------------------------------ */

static int add_main(tide_task *t, void *frame) {
  const tide_value *args;
  size_t n;
  (void)frame;
  tide_task_args(t, &args, &n);
  if (n != 2 || args[0].type != TIDE_VALUE_DOUBLE || args[1].type != TIDE_VALUE_DOUBLE)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "add takes two numbers");
  TIDE_RETURN_DOUBLE(t, args[0].as.d + args[1].as.d);
}

/* Returns the kind of value its first argument (a string) names. */
static char long_text[300];
static int kind_main(tide_task *t, void *frame) {
  const tide_value *args;
  size_t n;
  (void)frame;
  tide_task_args(t, &args, &n);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(args[0].type, TIDE_VALUE_STRING);
  const char *k = args[0].as.bytes.data;
  ASSERT_EQ(k[args[0].as.bytes.len], '\0');
  tide_value v = tide_value_none();
  static int x;
  if (strcmp(k, "int") == 0) TIDE_RETURN_INT(t, -5);
  if (strcmp(k, "string") == 0) v = tide_value_string("s\xc3\xa9");
  if (strcmp(k, "long") == 0) v = tide_value_string(long_text);
  if (strcmp(k, "bytes") == 0) v = tide_value_bytes("\x00\x01", 2);
  if (strcmp(k, "json") == 0) v = tide_value_json("{\"a\":1}");
  if (strcmp(k, "ptr") == 0) TIDE_RETURN_PTR(t, &x);
  if (strcmp(k, "error") == 0) TIDE_RETURN_ERROR(t, TIDE_EIO, "it broke");
  TIDE_RETURN_VALUE(t, &v);
}

typedef struct sleep_frame {
  int rc;
  int saw_cancel;
} sleep_frame;

static int sleeper_main(tide_task *t, void *frame) {
  sleep_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 1000, f->rc);
  if (f->rc == TIDE_ECANCELED) f->saw_cancel = 1;
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

typedef struct host_frame {
  tide_future f;
  int rc;
} host_frame;

/* Awaits a host operation of its own: cancelling the call reaches both. */
static int via_host_main(tide_task *t, void *frame) {
  host_frame *h = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &h->f);
  h->rc = tide_host_call(tide_task_loop(t), "slow", NULL, 0, &h->f);
  if (h->rc == 0) TIDE_AWAIT(t, &h->f, h->rc);
  tide_future_release(&h->f);
  if (h->rc != 0) TIDE_RETURN_ERROR(t, h->rc, "host call failed");
  TIDE_RETURN_INT(t, 2);
  TIDE_END(t);
}

static void export_all(tide_loop *loop) {
  ASSERT_OK(tide_export_task(loop, "add", add_main, 0));
  ASSERT_OK(tide_export_task(loop, "kind", kind_main, 0));
  ASSERT_OK(tide_export_task(loop, "sleeper", sleeper_main, sizeof(sleep_frame)));
  ASSERT_OK(tide_export_task(loop, "via_host", via_host_main, sizeof(host_frame)));
}

static int call_kind(tide_loop *loop, const char *kind) {
  wire w = {{0}, 0};
  w_text(&w, 2, kind, strlen(kind));
  int call = tide_fake_call_task(loop, "kind", w.b, w.n);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
  return call;
}

/* --- Tests -------------------------------------------------------------------------
 */

TEST(fake_export_call_with_args) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  export_all(&loop);
  wire w = {{0}, 0};
  w_num(&w, 2);
  w_num(&w, 40);
  int call = tide_fake_call_task(&loop, "add", w.b, w.n);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 0); /* runs from the loop */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 1);
  expect_done_number(&loop, call, 42);
  /* Finished: its id is dead. */
  ASSERT_ERR(tide_fake_cancel_call(&loop, (uint32_t)call), TIDE_ENOENT);

  /* The coroutine's own argument check. */
  call = tide_fake_call_task(&loop, "add", NULL, 0);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  expect_done_error(&loop, call, TIDE_EINVAL, "add takes two numbers");
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_export_result_encoding) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  export_all(&loop);
  int call = call_kind(&loop, "int");
  expect_done_number(&loop, call, -5);
  call = call_kind(&loop, "string");
  expect_done_text(&loop, call, 2, "s\xc3\xa9");
  call = call_kind(&loop, "bytes");
  expect_done(&loop, call, 0, "\x03\x02\x00\x00\x00\x00\x01", 7);
  call = call_kind(&loop, "json");
  expect_done_text(&loop, call, 4, "{\"a\":1}");
  call = call_kind(&loop, "none");
  expect_done(&loop, call, 0, "\x00", 1);
  memset(long_text, 'L', sizeof long_text - 1); /* past the encoder's stack buffer */
  call = call_kind(&loop, "long");
  expect_done_text(&loop, call, 2, long_text);
  call = call_kind(&loop, "ptr");
  expect_done_error(&loop, call, TIDE_EINVAL, "a pointer cannot cross to the host");
  call = call_kind(&loop, "error");
  expect_done_error(&loop, call, TIDE_EIO, "it broke");
  /* The error went to the host: it was observed, nothing is reported. */
  ASSERT_EQ(errs.count, 0);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 8);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_export_cancel_by_call_id) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  export_all(&loop);
  /* Cancelled while sleeping: ECANCELED "cancelled" goes back. */
  int call = tide_fake_call_task(&loop, "sleeper", NULL, 0);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_fake_cancel_call(&loop, (uint32_t)call));
  ASSERT_OK(
      tide_fake_cancel_call(&loop, (uint32_t)call)); /* requested already: still 0 */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  expect_done_error(&loop, call, TIDE_ECANCELED, "cancelled");
  ASSERT_ERR(tide_fake_cancel_call(&loop, (uint32_t)call), TIDE_ENOENT);

  /* Cancelled before its first step: the coroutine never runs. */
  call = tide_fake_call_task(&loop, "sleeper", NULL, 0);
  ASSERT_OK(tide_fake_cancel_call(&loop, (uint32_t)call));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  expect_done_error(&loop, call, TIDE_ECANCELED, "cancelled");

  /* Unknown ids. */
  ASSERT_ERR(tide_fake_cancel_call(&loop, 0), TIDE_ENOENT);
  ASSERT_ERR(tide_fake_cancel_call(&loop, 0x7fffff01), TIDE_ENOENT);

  ASSERT_EQ(tide_fake_call_done_count(&loop), 2);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_export_cancel_after_finish_is_too_late) {
  /* One runnable per iteration: the coroutine finishes in one, its outcome is
   * sent in the next. A cancel in between is refused and the result stands. */
  tide_loop_options opts = {NULL, NULL, 1};
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  export_all(&loop);
  wire w = {{0}, 0};
  w_num(&w, 1);
  w_num(&w, 2);
  int call = tide_fake_call_task(&loop, "add", w.b, w.n);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 0);
  ASSERT_ERR(tide_fake_cancel_call(&loop, (uint32_t)call), TIDE_ENOENT);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 1);
  expect_done_number(&loop, call, 3);
  CLOSE_LOOP(&loop);
}

TEST(fake_export_cancel_reaches_host_op) {
  /* The host aborts a call whose coroutine awaits a host operation: the
   * operation is cancelled on the host's side too, and the call ends cancelled. */
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  export_all(&loop);
  int call = tide_fake_call_task(&loop, "via_host", NULL, 0);
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* the op keeps it alive */
  uint32_t op;
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
  ASSERT_OK(tide_fake_cancel_call(&loop, (uint32_t)call));
  ASSERT(tide_fake_host_cancelled(&loop, op));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  expect_done_error(&loop, call, TIDE_ECANCELED, "cancelled");
  ASSERT_ERR(tide_fake_host_complete(&loop, op, 0, "\x00", 1), TIDE_ENOENT);

  /* And completed normally, the same coroutine returns. */
  call = tide_fake_call_task(&loop, "via_host", NULL, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, "\x00", 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  expect_done_number(&loop, call, 2);
  CLOSE_LOOP(&loop);
}

TEST(fake_export_refused_calls) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  /* Nothing exported yet. */
  ASSERT_ERR(tide_fake_call_task(&loop, "add", "\x00", 1), TIDE_ENOENT);
  export_all(&loop);
  ASSERT_ERR(tide_fake_call_task(&loop, "ad", "\x00", 1), TIDE_ENOENT); /* a prefix */
  ASSERT_ERR(tide_fake_call_task(&loop, "addd", NULL, 0), TIDE_ENOENT);
  ASSERT_ERR(tide_fake_call_task(&loop, "", NULL, 0), TIDE_ENOENT);
  /* Malformed argument lists. */
  ASSERT_ERR(tide_fake_call_task(&loop, "add", "\x09", 1), TIDE_EINVAL);
  ASSERT_ERR(tide_fake_call_task(&loop, "add",
                                 "\x02\x05\x00\x00\x00"
                                 "ab",
                                 7),
             TIDE_EINVAL);
  ASSERT_ERR(tide_fake_call_task(&loop, "add", "\x01\x00\x00", 3), TIDE_EINVAL);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_fake_call_done_count(&loop), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(fake_export_many_calls_reuse_ids) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  size_t blocks = 0;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  export_all(&loop);
  for (int i = 0; i < 2000; i++) {
    wire w = {{0}, 0};
    w_num(&w, i);
    w_num(&w, 1);
    int call = tide_fake_call_task(&loop, "add", w.b, w.n);
    ASSERT_GT(call, 0);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
    expect_done_number(&loop, call, i + 1);
    if (i == 8) blocks = a.live_blocks;
    if (i > 8) ASSERT_EQ(a.live_blocks, blocks);
  }
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}
