/* test-future.c: future states and transitions, the exactly-once rule, done
 * callbacks (never inline, add order, after done, removal), bytes ownership and
 * the report of an error nobody observed. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* Counts bytes destructor calls and remembers what it freed. */
typedef struct bytes_owner {
  int frees;
  void *last;
} bytes_owner;

static void bytes_free(void *data, void *ud) {
  bytes_owner *o = ud;
  o->frees++;
  o->last = data;
}

static void done_log_cb(tide_future *f, void *ud) {
  test_log_call *c = ud;
  ASSERT_EQ(tide_future_done(f), 1);
  test_log_push(c->log, c->item);
}

TEST(future_pending_state) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_future_done(&f), 0);
  ASSERT_ERR(tide_future_result(&f, &v), TIDE_EPENDING);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EPENDING);
  ASSERT_NULL(tide_future_error_message(&f));
  ASSERT_EQ(tide_loop_alive(&loop), 0); /* a pending future is not work */
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_result_values) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  int x;
  ASSERT_OK(tide_loop_init(&loop, NULL));

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_none(&f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_NONE);
  ASSERT_OK(tide_future_result(&f, NULL));
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_int(&f, -1234567890123LL));
  ASSERT_EQ(tide_future_done(&f), 1);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, -1234567890123LL);
  ASSERT_NULL(tide_future_error_message(&f));
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_double(&f, 2.5));
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_DOUBLE);
  ASSERT(v.as.d == 2.5);
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_ptr(&f, &x));
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_PTR);
  ASSERT_PTR_EQ(v.as.p, &x);
  tide_future_release(&f);

  CLOSE_LOOP(&loop);
}

TEST(future_exactly_once) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  bytes_owner o = {0, NULL};
  static char data[] = "abc";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_int(&f, 1));
  ASSERT_ERR(tide_future_set_int(&f, 2), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_none(&f), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_double(&f, 3.0), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_ptr(&f, &v), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_error(&f, TIDE_EIO, "late"), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_bytes(&f, data, 3, bytes_free, &o), TIDE_EALREADY);
  ASSERT_ERR(tide_future_cancel(&f), TIDE_EALREADY);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, 1);
  tide_future_release(&f);
  ASSERT_EQ(o.frees, 0); /* the refused bytes stayed the caller's */
  CLOSE_LOOP(&loop);
}

TEST(future_error_transition) {
  tide_loop loop;
  tide_future f;
  char msg[] = "disk on fire";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, msg));
  msg[0] = 'X'; /* the message was copied */
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_ERROR);
  ASSERT_EQ(tide_future_done(&f), 1);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO);
  ASSERT_STR_EQ(tide_future_error_message(&f), "disk on fire");
  ASSERT_ERR(tide_future_set_int(&f, 1), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_error(&f, TIDE_EPIPE, "other"), TIDE_EALREADY);
  ASSERT_ERR(tide_future_cancel(&f), TIDE_EALREADY);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO);
  ASSERT_STR_EQ(tide_future_error_message(&f), "disk on fire");
  tide_future_release(&f);

  /* A NULL message is the code's strerror. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_ETIMEDOUT, NULL));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ETIMEDOUT);
  ASSERT_STR_EQ(tide_future_error_message(&f), tide_strerror(TIDE_ETIMEDOUT));
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_cancel_transition) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_done(&f), 1);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  ASSERT_NULL(tide_future_error_message(&f)); /* not an ERROR */
  ASSERT_ERR(tide_future_cancel(&f), TIDE_EALREADY);
  ASSERT_ERR(tide_future_set_int(&f, 1), TIDE_EALREADY);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  tide_future_release(&f);

  /* set_error(ECANCELED) is the same as cancel. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_ECANCELED, "stop"));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_done_callbacks_not_inline_and_in_order) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c[4] = {{&log, 1}, {&log, 2}, {&log, 3}, {&log, 4}};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  for (int i = 0; i < 3; i++)
    ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c[i]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* waiting is not work */
  ASSERT_EQ(log.n, 0);
  ASSERT_OK(tide_future_set_int(&f, 5));
  ASSERT_EQ(log.n, 0); /* never inside set_* */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 0);
  /* Added after done: still scheduled, after the others. */
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c[3]));
  ASSERT_EQ(log.n, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 1, 2, 3, 4);
  /* Each runs once. */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 4);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_done_callback_added_after_done_and_run) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c = {&log, 9};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c));
  ASSERT_EQ(log.n, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 9);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_remove_done_callback) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c1 = {&log, 1}, c2 = {&log, 2};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c1));
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c2));
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c1));
  ASSERT_EQ(tide_future_remove_done_callback(&f, done_log_cb, &c1), 2);
  ASSERT_EQ(tide_future_remove_done_callback(&f, done_log_cb, &c1), 0);
  ASSERT_OK(tide_future_set_none(&f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 2);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_remove_done_callback_after_done_before_run) {
  /* Done but not yet dispatched: removal still prevents the call. */
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c1 = {&log, 1}, c2 = {&log, 2};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c1));
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c2));
  ASSERT_OK(tide_future_set_none(&f));
  ASSERT_EQ(tide_future_remove_done_callback(&f, done_log_cb, &c1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 2);
  /* After it ran there is nothing left to remove. */
  ASSERT_EQ(tide_future_remove_done_callback(&f, done_log_cb, &c2), 0);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_release_drops_scheduled_callbacks) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c1 = {&log, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &c1));
  ASSERT_OK(tide_future_set_int(&f, 1));
  tide_future_release(&f);
  memset(&f, 0xab, sizeof f); /* the storage may be reused at once */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0);
  CLOSE_LOOP(&loop);
}

typedef struct chain_ctx {
  tide_future *next;
  test_log *log;
} chain_ctx;

static void chain_cb(tide_future *f, void *ud) {
  chain_ctx *c = ud;
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  test_log_push(c->log, (int)v.as.i);
  if (c->next) ASSERT_OK(tide_future_set_int(c->next, v.as.i + 1));
}

TEST(future_done_callback_completing_another_future) {
  tide_loop loop;
  tide_future a, b;
  test_log log = {0};
  chain_ctx ca = {&b, &log}, cb = {NULL, &log};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &a);
  tide_future_init(&loop, &b);
  ASSERT_OK(tide_future_add_done_callback(&a, chain_cb, &ca));
  ASSERT_OK(tide_future_add_done_callback(&b, chain_cb, &cb));
  ASSERT_OK(tide_future_set_int(&a, 10));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 10, 11);
  tide_future_release(&a);
  tide_future_release(&b);
  CLOSE_LOOP(&loop);
}

/* --- bytes -------------------------------------------------------------- */

TEST(future_bytes_destructor_runs_once_at_release) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  bytes_owner o = {0, NULL};
  static char data[] = "hello";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_bytes(&f, data, 5, bytes_free, &o));
  ASSERT_EQ(o.frees, 0);
  ASSERT_OK(tide_future_result(&f, &v)); /* borrowed */
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_PTR_EQ(v.as.bytes.data, data);
  ASSERT_EQ(v.as.bytes.len, 5);
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(o.frees, 0);
  tide_future_release(&f);
  ASSERT_EQ(o.frees, 1);
  ASSERT_PTR_EQ(o.last, data);
  CLOSE_LOOP(&loop);
}

TEST(future_bytes_static_without_destructor) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  static const char data[] = "static";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_bytes(&f, (void *)data, 6, NULL, NULL));
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.as.bytes.len, 6);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(future_take_bytes) {
  tide_loop loop;
  tide_future f;
  bytes_owner o = {0, NULL};
  static char data[] = "payload";
  void *out = NULL;
  size_t len = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_future_take_bytes(&f, &out, &len), TIDE_EPENDING);
  ASSERT_OK(tide_future_set_bytes(&f, data, 7, bytes_free, &o));
  ASSERT_OK(tide_future_take_bytes(&f, &out, &len));
  ASSERT_PTR_EQ(out, data);
  ASSERT_EQ(len, 7);
  ASSERT_ERR(tide_future_take_bytes(&f, &out, &len), TIDE_ESTATE); /* taken */
  tide_future_release(&f);
  ASSERT_EQ(o.frees, 0); /* the taker owns them now */

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_int(&f, 3));
  ASSERT_ERR(tide_future_take_bytes(&f, &out, &len), TIDE_ESTATE);
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EPIPE, NULL));
  ASSERT_ERR(tide_future_take_bytes(&f, &out, &len), TIDE_EPIPE);
  tide_future_release(&f); /* observed through take_bytes: not reported */

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_ERR(tide_future_take_bytes(&f, &out, &len), TIDE_ECANCELED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* --- unobserved errors ------------------------------------------------------ */

TEST(future_unobserved_error_reported_at_release) {
  tide_loop loop;
  tide_future f;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_ECONNRESET, "peer went away"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 0); /* only at release, deterministically */
  tide_future_release(&f);
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_ECONNRESET);
  ASSERT_STR_EQ(errs.last_message, "peer went away");
  ASSERT_NE(errs.last_context[0], '\0');
  ASSERT_PTR_EQ(errs.last_future, &f);
  ASSERT_NULL(errs.last_task);
  CLOSE_LOOP(&loop);
}

TEST(future_observed_error_not_reported) {
  tide_loop loop;
  tide_future f;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "read"));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO);
  tide_future_release(&f);

  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "message read"));
  ASSERT_STR_EQ(tide_future_error_message(&f), "message read");
  tide_future_release(&f);

  /* Cancelled is not an error. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_cancel(&f));
  tide_future_release(&f);

  /* Neither is a result, nor a pending future. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_int(&f, 1));
  tide_future_release(&f);
  tide_future_init(&loop, &f);
  tide_future_release(&f);

  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(future_error_handler_restore_default) {
  tide_loop loop;
  tide_future f;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_loop_set_error_handler(&loop, NULL, NULL); /* back to the default */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "expected on stderr (test output)"));
  tide_future_release(&f);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

/* --- allocated futures ------------------------------------------------------ */

TEST(future_new_free) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future *f = NULL;
  bytes_owner o = {0, NULL};
  static char data[] = "x";
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_future_new(&loop, &f));
  ASSERT_NOT_NULL(f);
  ASSERT_EQ(tide_future_state_get(f), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_future_set_bytes(f, data, 1, bytes_free, &o));
  tide_future_free(f);
  ASSERT_EQ(o.frees, 1);
  /* An error message is copied through the loop's allocator and freed too. */
  ASSERT_OK(tide_future_new(&loop, &f));
  ASSERT_OK(tide_future_set_error(f, TIDE_EIO, "a message to copy"));
  ASSERT_ERR(tide_future_result(f, NULL), TIDE_EIO);
  tide_future_free(f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(future_set_error_nonnegative_code_becomes_einval) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, 5, "not a TIDE_E* code"));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_ERROR);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EINVAL);
  tide_future_release(&f);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, 0, NULL));
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EINVAL);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* A done callback may free the future it is called for: the callbacks still
 * queued for it are dropped with it. */
typedef struct freeing_ctx {
  tide_future *f;
  int calls;
} freeing_ctx;

static void free_future_cb(tide_future *f, void *ud) {
  freeing_ctx *c = ud;
  ASSERT_PTR_EQ(f, c->f);
  c->calls++;
  tide_future_free(f);
}

static void must_not_run_cb(tide_future *f, void *ud) {
  (void)f;
  (void)ud;
  test__fail(__FILE__, __LINE__, "a done callback ran after its future was freed");
}

TEST(future_done_callback_frees_its_future) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  freeing_ctx c = {NULL, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_future_new(&loop, &c.f));
  ASSERT_OK(tide_future_add_done_callback(c.f, free_future_cb, &c));
  ASSERT_OK(tide_future_add_done_callback(c.f, must_not_run_cb, NULL));
  ASSERT_OK(tide_future_set_int(c.f, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.calls, 1);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* A done callback removes a later one of the same batch: it does not run. */
typedef struct remover_ctx {
  test_log *log;
  test_log_call *victim;
} remover_ctx;

static void remover_cb(tide_future *f, void *ud) {
  remover_ctx *r = ud;
  test_log_push(r->log, 100);
  ASSERT_EQ(tide_future_remove_done_callback(f, done_log_cb, r->victim), 1);
}

TEST(future_done_callback_removes_a_later_one) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call victim = {&log, 1}, other = {&log, 2};
  remover_ctx r = {&log, &victim};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_add_done_callback(&f, remover_cb, &r));
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &victim));
  ASSERT_OK(tide_future_add_done_callback(&f, done_log_cb, &other));
  ASSERT_OK(tide_future_set_none(&f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 100, 2);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* A done callback that adds another done callback to the same (done) future:
 * the new one runs on a later tick, once. */
static void adder_cb(tide_future *f, void *ud) {
  test_log_call *c = ud;
  test_log_push(c->log, c->item);
  ASSERT_OK(tide_future_add_done_callback(f, done_log_cb, c + 1));
}

TEST(future_done_callback_adds_another) {
  tide_loop loop;
  tide_future f;
  test_log log = {0};
  test_log_call c[2] = {{&log, 1}, {&log, 2}};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_add_done_callback(&f, adder_cb, &c[0]));
  ASSERT_OK(tide_future_set_none(&f));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 1, 2);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

static int future_loop_task(tide_task *t, void *frame) {
  (void)frame;
  TIDE_RETURN(t);
}

TEST(future_loop_is_its_loop) {
  tide_loop loop, other;
  tide_future f, g;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&other, &g);
  ASSERT_PTR_EQ(tide_future_loop(&f), &loop);
  ASSERT_PTR_EQ(tide_future_loop(&g), &other);
  ASSERT_OK(tide_task_spawn(&loop, future_loop_task, NULL, 0, &t));
  ASSERT_PTR_EQ(tide_future_loop(tide_task_future(t)), &loop);
  tide_task_release(t);
  tide_future_release(&f);
  tide_future_release(&g);
  RUN_AND_CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
}
