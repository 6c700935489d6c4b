/* test-fake-diag.c: diagnostics that need exact time, on the virtual clock:
 * slow-callback reports (a callback or task step that advances the clock
 * inside its run), their threshold and wording, the default handler's line,
 * and trace timestamps, step durations and host-operation slices. */
#include <stdlib.h>

#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

/* A call_soon callback that takes `ms` of (virtual) time. */
typedef struct slow_call {
  uint64_t ms;
  int runs;
} slow_call;

static void slow_fn(tide_loop *loop, void *ud) {
  slow_call *c = ud;
  c->runs++;
  tide_fake_advance(loop, c->ms);
}

TEST(fake_diag_slow_callback_reported) {
  tide_loop loop;
  test_errors errs;
  slow_call fast = {10, 0}, slow = {80, 0}, edge = {50, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  /* Off by default: nothing is measured. */
  ASSERT_OK(tide_call_soon(&loop, slow_fn, &slow, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 0);

  ASSERT_OK(tide_loop_set_debug(&loop, 50));
  ASSERT_OK(tide_call_soon(&loop, slow_fn, &fast, NULL));
  ASSERT_OK(tide_call_soon(&loop, slow_fn, &slow, NULL));
  ASSERT_OK(tide_call_soon(&loop, slow_fn, &fast, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 1); /* only the slow one */
  ASSERT_STR_EQ(errs.last_context, "slow callback");
  ASSERT_EQ(errs.last_code, TIDE_ETIMEDOUT);
  ASSERT_STR_EQ(errs.last_message, "callback took 80 ms (threshold 50 ms)");
  ASSERT_NULL(errs.last_task);

  ASSERT_OK(tide_call_soon(&loop, slow_fn, &edge, NULL)); /* the threshold itself */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 2);
  ASSERT_STR_EQ(errs.last_message, "callback took 50 ms (threshold 50 ms)");

  ASSERT_OK(tide_loop_set_debug(&loop, 0)); /* off again */
  ASSERT_OK(tide_call_soon(&loop, slow_fn, &slow, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 2);
  CLOSE_LOOP(&loop);
}

/* A task step that takes 120 ms, in a task that lives on: the report names it
 * and carries it. A detached task that ends in its slow step is named in the
 * message, and report.task is NULL (it was freed). */
struct slow_task {
  uint64_t ms;
  int rc;
};

static int slow_task_main(tide_task *t, void *frame) {
  struct slow_task *s = frame;
  TIDE_BEGIN(t);
  TIDE_YIELD(t, s->rc);
  tide_fake_advance(tide_task_loop(t), s->ms);
  TIDE_END(t);
}

TEST(fake_diag_slow_task_step_names_the_task) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  tide_task *t, *detached;
  struct slow_task init = {120, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_loop_set_debug(&loop, 100));
  ASSERT_OK(tide_task_spawn(&loop, slow_task_main, &init, sizeof init, &t));
  tide_task_set_name(t, "slowpoke");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 1);
  ASSERT_STR_EQ(errs.last_message,
                "task 'slowpoke' step took 120 ms (threshold 100 ms)");
  ASSERT_PTR_EQ(errs.last_task, t);

  ASSERT_OK(tide_task_spawn(&loop, slow_task_main, &init, sizeof init, &detached));
  tide_task_set_name(detached, "gone");
  tide_task_release(detached); /* frees itself when done */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 2);
  ASSERT_STR_EQ(errs.last_message, "task 'gone' step took 120 ms (threshold 100 ms)");
  ASSERT_NULL(errs.last_task);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* With the default handler the report is one line on the host's error stream. */
TEST(fake_diag_slow_report_default_handler) {
  tide_loop loop;
  tide_task *t;
  struct slow_task init = {300, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_set_debug(&loop, 250));
  ASSERT_OK(tide_task_spawn(&loop, slow_task_main, &init, sizeof init, &t));
  tide_task_set_name(t, "crunch");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_fake_report_count(&loop), 1);
  ASSERT_STR_EQ(tide_fake_last_report(&loop),
                "tideloop: slow callback [crunch]: ETIMEDOUT: task 'crunch' step took "
                "300 ms (threshold 250 ms)");
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* Time spent polling (a timer's wait) is not charged to the next callback. */
TEST(fake_diag_poll_time_not_charged) {
  tide_loop loop;
  test_errors errs;
  tide_task *t;
  struct slow_task init = {0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  ASSERT_OK(tide_loop_set_debug(&loop, 10));
  slow_call idle = {0, 0};
  ASSERT_OK(tide_call_later(&loop, 1000, slow_fn, &idle, NULL));
  ASSERT_OK(tide_task_spawn(&loop, slow_task_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_now(&loop), 1000);
  ASSERT_EQ(errs.count, 0);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* --- Trace timing and host operations ----------------------------------------- */

typedef struct sink {
  char buf[1 << 16];
  size_t len;
} sink;

static int sink_write(const char *data, size_t len, void *ud) {
  sink *s = ud;
  ASSERT_LT(s->len + len, sizeof s->buf);
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  s->buf[s->len] = '\0';
  return 0;
}

struct caller {
  tide_future f;
  int rc;
};

static int caller_main(tide_task *t, void *frame) {
  struct caller *c = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 5, c->rc);
  tide_fake_advance(tide_task_loop(t), 3); /* a 3 ms step */
  tide_future_init(tide_task_loop(t), &c->f);
  ASSERT_OK(tide_host_call(tide_task_loop(t), "fetch", NULL, 0, &c->f));
  TIDE_AWAIT(t, &c->f, c->rc);
  tide_future_release(&c->f);
  tide_future_init(tide_task_loop(t), &c->f);
  ASSERT_OK(tide_host_call(tide_task_loop(t), "slow", NULL, 0, &c->f));
  tide_future_cancel(&c->f);
  tide_future_release(&c->f);
  TIDE_END(t);
}

TEST(fake_diag_trace_times_and_host_ops) {
  static sink s;
  tide_loop loop;
  tide_task *t;
  uint32_t op;
  static const unsigned char none[] = {0}; /* a list of one NONE value */
  memset(&s, 0, sizeof s);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_trace_start(&loop, 100));
  ASSERT_OK(tide_task_spawn(&loop, caller_main, NULL, sizeof(struct caller), &t));
  tide_task_set_name(t, "caller");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1); /* first step: sleeps */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_ONCE), 1); /* 5 ms later: host call */
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
  tide_fake_advance(&loop, 20);
  ASSERT_OK(tide_fake_host_complete(&loop, op, 0, none, sizeof none));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
  /* The second step started at 5 ms and took 3 ms; the task's life began at 0. */
  ASSERT_NOT_NULL(
      strstr(s.buf, "\"ph\":\"X\",\"pid\":1,\"tid\":1,\"ts\":5000,\"dur\":3000,"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"ph\":\"B\",\"pid\":1,\"tid\":1,\"ts\":0,"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"name\":\"sleep\",\"args\":{\"ms\":5}"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"cat\":\"host\",\"name\":\"fetch\""));
  ASSERT_NOT_NULL(
      strstr(s.buf, "\"ts\":28000,\"cat\":\"host\",\"args\":{\"rc\":\"OK\"}"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"cat\":\"host\",\"name\":\"slow\""));
  ASSERT_NOT_NULL(strstr(s.buf, "\"args\":{\"rc\":\"ECANCELED\"}"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"name\":\"await future\""));
  ASSERT_NOT_NULL(strstr(s.buf, "\"args\":{\"name\":\"host calls #"));
  ASSERT_NOT_NULL(strstr(s.buf, "\"args\":{\"outcome\":\"done\"}"));
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* An operation started before the trace ends without an "E" (it has no "B");
 * one started after gets both. */
TEST(fake_diag_trace_host_op_started_before) {
  static sink s;
  tide_loop loop;
  tide_future f, g;
  uint32_t op1, op2;
  static const unsigned char none[] = {0};
  memset(&s, 0, sizeof s);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &g);
  ASSERT_OK(tide_host_call(&loop, "before", NULL, 0, &f));
  ASSERT_OK(tide_fake_host_last_op(&loop, &op1, NULL, NULL, NULL));
  ASSERT_OK(tide_loop_trace_start(&loop, 100));
  ASSERT_OK(tide_host_call(&loop, "after", NULL, 0, &g));
  ASSERT_OK(tide_fake_host_last_op(&loop, &op2, NULL, NULL, NULL));
  ASSERT_OK(tide_fake_host_complete(&loop, op1, 0, none, sizeof none));
  ASSERT_OK(tide_fake_host_complete(&loop, op2, 0, none, sizeof none));
  ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
  int begins = 0, ends = 0;
  for (const char *p = s.buf; (p = strstr(p, "\"ph\":\"B\"")) != NULL; p++)
    begins++;
  for (const char *p = s.buf; (p = strstr(p, "\"ph\":\"E\"")) != NULL; p++)
    ends++;
  ASSERT_EQ(begins, 1);
  ASSERT_EQ(ends, 1);
  ASSERT_NOT_NULL(strstr(s.buf, "\"name\":\"after\""));
  ASSERT_NULL(strstr(s.buf, "\"name\":\"before\""));
  tide_future_release(&f);
  tide_future_release(&g);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}
