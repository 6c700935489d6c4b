/* test-task.c: stackless tasks: first step on the next tick, await chains and
 * nested tasks, results and errors propagating, yield, detached tasks, the
 * current task, names, frames and cleanup; ordering only (any clock). */
#include <stdlib.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

static void set_int_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_OK(tide_future_set_int(ud, 41));
}

/* --- a task returning a constant ------------------------------------------ */

struct ret_frame {
  int steps;
  int kind; /* 0 int, 1 double, 2 ptr, 3 bytes, 4 fall off the end, 5 RETURN */
  void *ptr;
  void *bytes;
  tide_bytes_free_fn bytes_free;
  void *bytes_ud;
};

static int ret_main(tide_task *t, void *frame) {
  struct ret_frame *f = frame;
  TIDE_BEGIN(t);
  f->steps++;
  if (f->kind == 0) TIDE_RETURN_INT(t, 42);
  if (f->kind == 1) TIDE_RETURN_DOUBLE(t, 0.25);
  if (f->kind == 2) TIDE_RETURN_PTR(t, f->ptr);
  /* Arguments are expressions, not names the macro depends on. */
  if (f->kind == 3) TIDE_RETURN_BYTES(t, f->bytes, 3, f->bytes_free, f->bytes_ud);
  if (f->kind == 5) TIDE_RETURN(t);
  TIDE_END(t);
}

TEST(task_first_step_on_next_tick) {
  tide_loop loop;
  tide_task *t;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, ret_main, NULL, sizeof(struct ret_frame), &t));
  struct ret_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->steps, 0); /* zeroed frame, not run inline */
  ASSERT_EQ(tide_task_done(t), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_PTR_EQ(tide_task_loop(t), &loop);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_EPENDING);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(f->steps, 1);
  ASSERT_EQ(tide_task_done(t), 1);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, 42);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

static void count_free(void *data, void *ud) {
  (void)data;
  (*(int *)ud)++;
}

TEST(task_result_types) {
  tide_loop loop;
  tide_task *t[6];
  tide_value v;
  int x = 0, freed = 0;
  static char bytes[] = "xyz";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int k = 0; k < 6; k++) {
    struct ret_frame init;
    memset(&init, 0, sizeof init);
    init.kind = k;
    init.ptr = &x;
    init.bytes = bytes;
    init.bytes_free = count_free;
    init.bytes_ud = &freed;
    ASSERT_OK(tide_task_spawn(&loop, ret_main, &init, sizeof init, &t[k]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t[0]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, 42);
  ASSERT_OK(tide_future_result(tide_task_future(t[1]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_DOUBLE);
  ASSERT(v.as.d == 0.25);
  ASSERT_OK(tide_future_result(tide_task_future(t[2]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_PTR);
  ASSERT_PTR_EQ(v.as.p, &x);
  ASSERT_OK(tide_future_result(tide_task_future(t[3]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_PTR_EQ(v.as.bytes.data, bytes);
  ASSERT_EQ(v.as.bytes.len, 3);
  ASSERT_OK(tide_future_result(tide_task_future(t[4]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_NONE);
  ASSERT_OK(tide_future_result(tide_task_future(t[5]), &v));
  ASSERT_EQ(v.type, TIDE_VALUE_NONE);
  ASSERT_EQ(freed, 0);
  for (int k = 0; k < 6; k++)
    tide_task_release(t[k]);
  ASSERT_EQ(freed, 1); /* the bytes destructor ran once, at release */
  CLOSE_LOOP(&loop);
}

TEST(task_spawn_null_fn_is_einval) {
  tide_loop loop;
  tide_task *t = NULL;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_ERR(tide_task_spawn(&loop, NULL, NULL, 0, &t), TIDE_EINVAL);
  CLOSE_LOOP(&loop);
}

/* --- await ----------------------------------------------------------------- */

struct await_frame {
  tide_future *fut;
  int rc;
  int64_t got;
  int resumed;
};

static int await_main(tide_task *t, void *frame) {
  struct await_frame *f = frame;
  tide_value v;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, f->fut, f->rc);
  f->resumed++;
  if (f->rc) TIDE_RETURN_ERROR(t, f->rc, tide_future_error_message(f->fut));
  ASSERT_OK(tide_future_result(f->fut, &v));
  f->got = v.as.i;
  TIDE_RETURN_INT(t, v.as.i + 1);
  TIDE_END(t);
}

TEST(task_await_future) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  tide_value v;
  struct await_frame init = {&fut, -99, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &t));
  ASSERT_OK(tide_call_soon(&loop, set_int_cb, &fut, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct await_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->rc, 0);
  ASSERT_EQ(f->got, 41);
  ASSERT_EQ(f->resumed, 1);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.as.i, 42);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(task_waiting_on_future_does_not_keep_loop_alive) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  struct await_frame init = {&fut, -99, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* suspended on fut */
  ASSERT_EQ(tide_task_done(t), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_OK(tide_future_set_int(&fut, 1));
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_task_done(t), 1);
  ASSERT_EQ(((struct await_frame *)tide_task_frame(t))->got, 1);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(task_await_error_future) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  test_errors errs;
  struct await_frame init = {&fut, -99, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_OK(tide_future_set_error(&fut, TIDE_EACCES, "no entry"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(((struct await_frame *)tide_task_frame(t))->rc, TIDE_EACCES);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_EACCES);
  ASSERT_STR_EQ(tide_future_error_message(tide_task_future(t)), "no entry");
  tide_task_release(t);
  tide_future_release(&fut); /* awaited: observed, not reported */
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

/* A chain: top awaits mid (a task) awaits leaf (a task) awaits a future. Each
 * level adds its own amount; errors pass up with their message. */
struct level_frame {
  int depth; /* 0: await fut directly */
  tide_future *fut;
  tide_task *child;
  int rc;
  int add;
};

static int level_main(tide_task *t, void *frame) {
  struct level_frame *f = frame;
  tide_value v;
  TIDE_BEGIN(t);
  if (f->depth == 0) {
    TIDE_AWAIT(t, f->fut, f->rc);
    if (f->rc) TIDE_RETURN_ERROR(t, f->rc, tide_future_error_message(f->fut));
    ASSERT_OK(tide_future_result(f->fut, &v));
    TIDE_RETURN_INT(t, v.as.i + f->add);
  }
  {
    struct level_frame init = {f->depth - 1, f->fut, NULL, 0, f->add * 10};
    ASSERT_OK(
        tide_task_spawn(tide_task_loop(t), level_main, &init, sizeof init, &f->child));
  }
  TIDE_AWAIT(t, tide_task_future(f->child), f->rc);
  ASSERT_EQ(tide_task_done(f->child), 1);
  if (f->rc) {
    const char *msg = tide_future_error_message(tide_task_future(f->child));
    /* The message is copied by finish_error before the child is released. */
    int rc = f->rc;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", msg ? msg : "?");
    tide_task_release(f->child);
    TIDE_RETURN_ERROR(t, rc, buf);
  }
  ASSERT_OK(tide_future_result(tide_task_future(f->child), &v));
  tide_task_release(f->child);
  TIDE_RETURN_INT(t, v.as.i + f->add);
  TIDE_END(t);
}

TEST(task_nested_await_chain_result) {
  tide_loop loop;
  tide_future fut;
  tide_task *top;
  tide_value v;
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  struct level_frame init = {2, &fut, NULL, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, level_main, &init, sizeof init, &top));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* all three wait */
  ASSERT_EQ(tide_task_done(top), 0);
  ASSERT_OK(tide_future_set_int(&fut, 1000));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(top), &v));
  ASSERT_EQ(v.as.i, 1000 + 100 + 10 + 1);
  tide_task_release(top);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(task_nested_await_chain_error) {
  tide_loop loop;
  tide_future fut;
  tide_task *top;
  test_errors errs;
  struct level_frame init = {2, &fut, NULL, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, level_main, &init, sizeof init, &top));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_set_error(&fut, TIDE_ECONNREFUSED, "nobody home"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(top)), TIDE_FUTURE_ERROR);
  ASSERT_ERR(tide_future_result(tide_task_future(top), NULL), TIDE_ECONNREFUSED);
  ASSERT_STR_EQ(tide_future_error_message(tide_task_future(top)), "nobody home");
  tide_task_release(top);
  tide_future_release(&fut);
  ASSERT_EQ(errs.count, 0); /* every level observed the error below it */
  CLOSE_LOOP(&loop);
}

struct done_await_frame {
  tide_future *done;
  int marker;
  int marker_seen_after_await;
  int rc;
};

static void marker_cb(tide_loop *loop, void *ud) {
  (void)loop;
  *(int *)ud = 1;
}

static int done_await_main(tide_task *t, void *frame) {
  struct done_await_frame *f = frame;
  TIDE_BEGIN(t);
  ASSERT_OK(tide_call_soon(tide_task_loop(t), marker_cb, &f->marker, NULL));
  TIDE_AWAIT(t, f->done, f->rc);
  f->marker_seen_after_await = f->marker; /* 0: did not suspend */
  TIDE_END(t);
}

TEST(task_await_done_future_does_not_suspend) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  struct done_await_frame init = {&fut, 0, -1, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_future_set_int(&fut, 5));
  ASSERT_OK(tide_task_spawn(&loop, done_await_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct done_await_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->rc, 0);
  ASSERT_EQ(f->marker_seen_after_await, 0);
  ASSERT_EQ(f->marker, 1);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

/* --- yield ----------------------------------------------------------------- */

struct yield_frame {
  test_log *log;
  int id;
  int i;
  int rc;
  int n;
};

static int yield_main(tide_task *t, void *frame) {
  struct yield_frame *f = frame;
  TIDE_BEGIN(t);
  for (f->i = 0; f->i < f->n; f->i++) {
    test_log_push(f->log, f->id * 10 + f->i);
    TIDE_YIELD(t, f->rc);
    ASSERT_EQ(f->rc, 0);
  }
  TIDE_END(t);
}

TEST(task_yield_interleaves) {
  tide_loop loop;
  tide_task *a, *b;
  test_log log = {0};
  struct yield_frame fa = {&log, 1, 0, 0, 3}, fb = {&log, 2, 0, 0, 3};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, yield_main, &fa, sizeof fa, &a));
  ASSERT_OK(tide_task_spawn(&loop, yield_main, &fb, sizeof fb, &b));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 10, 20, 11, 21, 12, 22);
  tide_task_release(a);
  tide_task_release(b);
  CLOSE_LOOP(&loop);
}

struct yield_marker_frame {
  int marker;
  int seen_before;
  int seen_after;
  int rc;
  int zero_sleep; /* TIDE_SLEEP(0) instead of TIDE_YIELD */
};

static int yield_marker_main(tide_task *t, void *frame) {
  struct yield_marker_frame *f = frame;
  TIDE_BEGIN(t);
  ASSERT_OK(tide_call_soon(tide_task_loop(t), marker_cb, &f->marker, NULL));
  f->seen_before = f->marker;
  if (f->zero_sleep) {
    TIDE_SLEEP(t, 0, f->rc);
  } else {
    TIDE_YIELD(t, f->rc);
  }
  f->seen_after = f->marker;
  TIDE_END(t);
}

TEST(task_yield_lets_others_run) {
  tide_loop loop;
  tide_task *t[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int k = 0; k < 2; k++) {
    struct yield_marker_frame init = {0, -1, -1, -99, k};
    ASSERT_OK(tide_task_spawn(&loop, yield_marker_main, &init, sizeof init, &t[k]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int k = 0; k < 2; k++) {
    struct yield_marker_frame *f = tide_task_frame(t[k]);
    ASSERT_EQ(f->seen_before, 0);
    ASSERT_EQ(f->seen_after, 1); /* the call scheduled before the yield ran */
    ASSERT_EQ(f->rc, 0);
    tide_task_release(t[k]);
  }
  CLOSE_LOOP(&loop);
}

/* --- detached tasks, reports ----------------------------------------------- */

struct fail_frame {
  int code;
  int yield_first;
  int rc;
};

static int fail_main(tide_task *t, void *frame) {
  struct fail_frame *f = frame;
  TIDE_BEGIN(t);
  if (f->yield_first) TIDE_YIELD(t, f->rc);
  if (f->code) TIDE_RETURN_ERROR(t, f->code, "task failed on purpose");
  TIDE_END(t);
}

TEST(task_detached_frees_itself) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  size_t base = a.live_blocks;
  for (int i = 0; i < 10; i++) {
    struct fail_frame init = {0, i & 1, 0};
    ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, NULL));
  }
  ASSERT_GT(a.live_blocks, base);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop); /* nothing registered: they freed themselves */
  ASSERT_NO_LEAKS(&a);
}

TEST(task_detached_failure_is_reported) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  struct fail_frame init = {TIDE_EPIPE, 1, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EPIPE);
  ASSERT_STR_EQ(errs.last_message, "task failed on purpose");
  ASSERT_NE(errs.last_context[0], '\0');
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(task_unobserved_error_reported_at_release) {
  tide_loop loop;
  tide_task *t;
  test_errors errs;
  struct fail_frame init = {TIDE_ERANGE, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_task_done(t), 1);
  ASSERT_EQ(errs.count, 0);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_ERANGE);
  ASSERT_STR_EQ(errs.last_message, "task failed on purpose");
  CLOSE_LOOP(&loop);
}

TEST(task_observed_error_not_reported) {
  tide_loop loop;
  tide_task *t;
  test_errors errs;
  struct fail_frame init = {TIDE_ERANGE, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ERANGE);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(task_released_before_done_finishes_and_frees) {
  /* Dropping the reference early: the task still runs to the end, then frees
   * itself; its unobserved error is reported then. */
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future fut;
  tide_task *t, *t2;
  test_errors errs;
  struct await_frame init = {&fut, -99, 0, 0};
  struct fail_frame init2 = {TIDE_EIO, 1, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &t));
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init2, sizeof init2, &t2));
  tide_task_release(t2);                                /* before its first step */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* t waits on fut */
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EIO);
  tide_task_release(t);                           /* while suspended */
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* still live */
  ASSERT_OK(tide_future_set_error(&fut, TIDE_EAGAIN, "try later"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 2);
  ASSERT_EQ(errs.last_code, TIDE_EAGAIN);
  ASSERT_STR_EQ(errs.last_message, "try later");
  tide_future_release(&fut); /* awaited: not reported */
  ASSERT_EQ(errs.count, 2);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Releasing a finished task whose done callbacks have not run yet (its
 * dispatch is queued): they still run, with the task's future still readable,
 * and the task is freed right after them. Whether they were added before or
 * after it finished, and whatever the tick budget (1: the dispatch is still
 * queued when the run returns; the default: the callbacks added before the
 * end already ran), the same callbacks run. */
struct done_seen {
  test_log log;
  int item;
};

static void record_done_cb(tide_future *f, void *ud) {
  struct done_seen *seen = ud;
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v)); /* not freed under its callbacks */
  ASSERT_EQ(v.as.i, 42);
  test_log_push(&seen->log, ++seen->item);
}

TEST(task_release_runs_pending_done_callbacks_then_frees) {
  static const unsigned budgets[] = {1, 0};
  for (size_t b = 0; b < TEST_ARRAY_SIZE(budgets); b++) {
    test_alloc a;
    test_alloc_init(&a);
    tide_loop_options opts = test_alloc_options(&a);
    opts.tick_budget = budgets[b];
    tide_loop loop;
    tide_task *t;
    struct ret_frame init;
    struct done_seen seen;
    memset(&init, 0, sizeof init);
    memset(&seen, 0, sizeof seen);
    ASSERT_OK(tide_loop_init(&loop, &opts));
    ASSERT_OK(tide_task_spawn(&loop, ret_main, &init, sizeof init, &t));
    ASSERT_OK(tide_future_add_done_callback(tide_task_future(t), record_done_cb, &seen));
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), budgets[b] == 1);
    ASSERT_EQ(tide_task_done(t), 1);
    /* Added after the end: its dispatch is queued now in either case. */
    ASSERT_OK(tide_future_add_done_callback(tide_task_future(t), record_done_cb, &seen));
    tide_task_release(t);
    ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY); /* not freed under them */
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    ASSERT_LOG(&seen.log, 1, 2);
    CLOSE_LOOP(&loop);
    ASSERT_NO_LEAKS(&a);
  }
}

/* --- current task, names, frames, cleanup ----------------------------------- */

struct current_frame {
  tide_task *seen;
  tide_task *seen_after_yield;
  int rc;
};

static void check_no_current_cb(tide_loop *loop, void *ud) {
  (void)ud;
  ASSERT_NULL(tide_loop_current_task(loop));
}

static int current_main(tide_task *t, void *frame) {
  struct current_frame *f = frame;
  TIDE_BEGIN(t);
  f->seen = tide_loop_current_task(tide_task_loop(t));
  ASSERT_OK(tide_call_soon(tide_task_loop(t), check_no_current_cb, NULL, NULL));
  TIDE_YIELD(t, f->rc);
  f->seen_after_yield = tide_loop_current_task(tide_task_loop(t));
  TIDE_END(t);
}

TEST(task_current) {
  tide_loop loop;
  tide_task *a, *b;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(
      tide_task_spawn(&loop, current_main, NULL, sizeof(struct current_frame), &a));
  ASSERT_OK(
      tide_task_spawn(&loop, current_main, NULL, sizeof(struct current_frame), &b));
  ASSERT_NULL(tide_loop_current_task(&loop));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_NULL(tide_loop_current_task(&loop));
  ASSERT_PTR_EQ(((struct current_frame *)tide_task_frame(a))->seen, a);
  ASSERT_PTR_EQ(((struct current_frame *)tide_task_frame(a))->seen_after_yield, a);
  ASSERT_PTR_EQ(((struct current_frame *)tide_task_frame(b))->seen, b);
  ASSERT_PTR_EQ(((struct current_frame *)tide_task_frame(b))->seen_after_yield, b);
  tide_task_release(a);
  tide_task_release(b);
  CLOSE_LOOP(&loop);
}

TEST(task_names) {
  tide_loop loop;
  tide_task *a, *b;
  char long_name[64];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, ret_main, NULL, sizeof(struct ret_frame), &a));
  ASSERT_OK(tide_task_spawn(&loop, ret_main, NULL, sizeof(struct ret_frame), &b));
  ASSERT_EQ(strncmp(tide_task_name(a), "task-", 5), 0);
  ASSERT_EQ(strncmp(tide_task_name(b), "task-", 5), 0);
  ASSERT(strcmp(tide_task_name(a), tide_task_name(b)) != 0);
  char name[] = "fetcher";
  tide_task_set_name(a, name);
  name[0] = 'X'; /* copied */
  ASSERT_STR_EQ(tide_task_name(a), "fetcher");
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  tide_task_set_name(b, long_name);
  ASSERT_EQ(strlen(tide_task_name(b)), 31);
  ASSERT_EQ(strncmp(tide_task_name(b), long_name, 31), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_STR_EQ(tide_task_name(a), "fetcher");
  /* An empty name restores the default, which is the same as before. */
  tide_task_set_name(b, "");
  ASSERT_EQ(strncmp(tide_task_name(b), "task-", 5), 0);
  ASSERT(strcmp(tide_task_name(b), tide_task_name(a)) != 0);
  tide_task_set_name(b, NULL);
  ASSERT_EQ(strncmp(tide_task_name(b), "task-", 5), 0);
  tide_task_release(a);
  tide_task_release(b);
  CLOSE_LOOP(&loop);
}

/* --- the tasks' memory ---------------------------------------------------- */

struct sleeper_frame {
  int rc;
  char payload[40];
};

static int sleeper_main(tide_task *t, void *frame) {
  struct sleeper_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_YIELD(t, f->rc);
  ASSERT_EQ(f->payload[39], 'p'); /* the frame survived its neighbours */
  TIDE_END(t);
}

static void spawn_sleepers(tide_loop *loop, int n) {
  struct sleeper_frame init;
  memset(&init, 'p', sizeof init);
  for (int i = 0; i < n; i++)
    ASSERT_OK(tide_task_spawn(loop, sleeper_main, &init, sizeof init, NULL));
}

/* Tasks come from the loop's slabs: once a burst has warmed the loop up,
 * another burst of the same size asks the allocator for nothing, and after a
 * burst the loop gives its memory back (keeping at most a slab per size). */
TEST(task_memory_is_pooled_and_given_back) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  spawn_sleepers(&loop, 16);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  size_t warm_bytes = a.live_bytes;
  size_t before = a.count;
  spawn_sleepers(&loop, 16);
  ASSERT_EQ(a.count, before); /* no allocation per task once warm */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);

  spawn_sleepers(&loop, 20000);
  ASSERT(a.count - before < 20000 / 8); /* a slab serves many tasks */
  ASSERT(a.live_bytes > warm_bytes + 20000 * sizeof(struct sleeper_frame));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* Everything but one spare slab and the timer heap's kept array is back. */
  ASSERT(a.live_bytes < warm_bytes + 64 * 1024);
  CLOSE_LOOP(&loop);
  ASSERT_EQ(a.live_blocks, 0);
}

/* Frames too large for a slab still work, from the allocator directly. */
static int big_main(tide_task *t, void *frame) {
  unsigned char *bytes = frame;
  TIDE_BEGIN(t);
  TIDE_YIELD(t, bytes[0]);
  for (size_t i = 1; i < 5000; i++) ASSERT_EQ(bytes[i], (unsigned char)i);
  TIDE_END(t);
}

TEST(task_large_frame_outside_the_pool) {
  static unsigned char init[5000];
  for (size_t i = 0; i < sizeof init; i++) init[i] = (unsigned char)i;
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) ASSERT_OK(tide_task_spawn(&loop, big_main, init, sizeof init, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

struct cleanup_frame {
  int *cleanups;
  void **cleaned_frame;
  int value;
};

static void frame_cleanup(void *frame) {
  struct cleanup_frame *f = frame;
  (*f->cleanups)++;
  *f->cleaned_frame = frame;
  ASSERT_EQ(f->value, 77); /* the frame is still intact */
}

static int cleanup_main(tide_task *t, void *frame) {
  struct cleanup_frame *f = frame;
  TIDE_BEGIN(t);
  ASSERT_EQ(f->value, 76); /* copied from init_frame */
  f->value++;
  TIDE_END(t);
}

TEST(task_frame_copied_and_cleanup_runs_once_at_free) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task *t;
  int cleanups = 0;
  void *cleaned = NULL;
  struct cleanup_frame init = {&cleanups, &cleaned, 76};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_task_spawn(&loop, cleanup_main, &init, sizeof init, &t));
  init.value = 0; /* the task has its own copy */
  tide_task_set_cleanup(t, frame_cleanup);
  void *frame = tide_task_frame(t);
  ASSERT_PTR_NE(frame, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(cleanups, 0); /* not before the task is freed */
  tide_task_release(t);
  ASSERT_EQ(cleanups, 1);
  ASSERT_PTR_EQ(cleaned, frame);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(task_many_tasks_no_leaks) {
  enum { N = 500 };
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  tide_task **tasks = malloc(N * sizeof *tasks);
  ASSERT_NOT_NULL(tasks);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < N; i++) {
    struct yield_frame init = {&log, 0, 0, 0, 0};
    ASSERT_OK(tide_task_spawn(&loop, yield_main, &init, sizeof init, &tasks[i]));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(tide_task_done(tasks[i]), 1);
    tide_task_release(tasks[i]);
  }
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
  free(tasks);
}

TEST(task_future_cannot_be_set_from_outside) {
  /* Only the coroutine completes its task's future. */
  tide_loop loop;
  tide_task *t;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, ret_main, NULL, sizeof(struct ret_frame), &t));
  ASSERT_ERR(tide_future_set_int(tide_task_future(t), 1), TIDE_ESTATE);
  ASSERT_ERR(tide_future_set_error(tide_task_future(t), TIDE_EIO, NULL), TIDE_ESTATE);
  ASSERT_EQ(tide_task_done(t), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.as.i, 42);
  ASSERT_ERR(tide_future_set_int(tide_task_future(t), 1), TIDE_ESTATE);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* A task's future takes no cancel hook: cancelling it cancels the task, and
 * the hook, which nothing would ever call, is not kept. */
static void never_called_hook(tide_future *f, void *ud) {
  (void)f;
  (*(int *)ud)++;
}

TEST(task_future_takes_no_cancel_hook) {
  tide_loop loop;
  tide_task *t;
  int calls = 0;
  struct ret_frame init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, ret_main, &init, sizeof init, &t));
  tide_future_set_cancel_hook(tide_task_future(t), never_called_hook, &calls);
  ASSERT_OK(tide_future_cancel(tide_task_future(t)));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(((struct ret_frame *)tide_task_frame(t))->steps, 0); /* never ran */
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(task_awaited_future_cancelled_by_someone_else) {
  /* The future is cancelled, not the task: the coroutine sees TIDE_ECANCELED
   * but may still end normally (it was never asked to stop). */
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  test_errors errs;
  struct await_frame init = {&fut, -99, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, await_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_cancel(&fut));
  ASSERT_EQ(tide_task_cancelling(t), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(((struct await_frame *)tide_task_frame(t))->rc, TIDE_ECANCELED);
  /* await_main passes the code on with RETURN_ERROR: ECANCELED = cancelled. */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&fut);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(task_return_error_ecanceled_ends_cancelled) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task *t;
  test_errors errs;
  struct fail_frame init = {TIDE_ECANCELED, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, &t));
  ASSERT_OK(tide_task_spawn(&loop, fail_main, &init, sizeof init, NULL)); /* detached */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECANCELED);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0); /* cancelled is not an error */
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

struct swallow_frame {
  tide_future *fut;
  int rc;
};

static int swallow_main(tide_task *t, void *frame) {
  struct swallow_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, f->fut, f->rc);
  TIDE_RETURN_INT(t, f->rc == TIDE_ECANCELED ? 5 : 6);
  TIDE_END(t);
}

TEST(task_handles_cancelled_future_and_returns_value) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  tide_value v;
  struct swallow_frame init = {&fut, -99};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  ASSERT_OK(tide_task_spawn(&loop, swallow_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_cancel(&fut));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_EQ(v.as.i, 5);
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

/* The owner may release a task while it still runs (tide_task_release): a task
 * awaiting it must still be woken with its outcome, and only then is it freed. */
struct gated_frame {
  tide_future *gate;
  int rc;
};

static int gated_main(tide_task *t, void *frame) {
  struct gated_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, f->gate, f->rc);
  TIDE_RETURN_INT(t, 7);
  TIDE_END(t);
}

struct awaiter_frame {
  tide_task *child;
  int rc;
  int64_t got;
};

static int awaiter_main(tide_task *t, void *frame) {
  struct awaiter_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_AWAIT(t, tide_task_future(f->child), f->rc);
  if (f->rc == 0) {
    tide_value v;
    ASSERT_OK(tide_future_result(tide_task_future(f->child), &v));
    f->got = v.as.i;
  }
  TIDE_END(t);
}

TEST(task_released_by_owner_while_awaited) {
  tide_loop loop;
  tide_future gate;
  tide_task *child, *parent;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  struct gated_frame g = {&gate, -99};
  ASSERT_OK(tide_task_spawn(&loop, gated_main, &g, sizeof g, &child));
  struct awaiter_frame a = {child, -99, 0};
  ASSERT_OK(tide_task_spawn(&loop, awaiter_main, &a, sizeof a, &parent));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* both suspended */
  tide_task_release(child);                            /* still running */
  ASSERT_OK(tide_future_set_none(&gate));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct awaiter_frame *pf = tide_task_frame(parent);
  ASSERT_EQ(pf->rc, 0);
  ASSERT_EQ(pf->got, 7);
  tide_task_release(parent);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop); /* the child was freed after its awaiter was told */
}
