/* test-combinators.c: gather, wait, wait_for, shield, as_completed and timeout
 * scopes: outcomes, ordering, cancellation passing down and waiting for the
 * inputs, misuse refused, and every allocation failing in turn. Ordering only:
 * deadlines are 0 (due next tick) or an hour (never reached). */
#include "alloc.h"
#include "test.h"
#include "util.h"

#define HOUR_MS (3600 * 1000)

/* --- a worker task: yields or awaits a gate, then succeeds or fails ---------- */

/* Log items: id*10 + WK_*. */
enum { WK_START = 1, WK_OK = 2, WK_FAIL = 3, WK_SAW_CANCEL = 4, WK_CLEANED = 5 };

struct worker {
  test_log *log;
  int id;
  tide_future *gate; /* await it; else sleep sleep_ms; else yield `steps` times */
  int64_t sleep_ms;
  int steps;
  int fail;          /* finish with this error (also after a cancellation) */
  int64_t value;
  int cleanup;       /* after seeing TIDE_ECANCELED, yield this many times */
  int swallow;       /* ... then withdraw the cancellation and return value */
  int rc;
  int i;
};

static int worker_main(tide_task *t, void *frame) {
  struct worker *w = frame;
  TIDE_BEGIN(t);
  test_log_push(w->log, w->id * 10 + WK_START);
  w->rc = 0;
  if (w->gate != NULL) {
    TIDE_AWAIT(t, w->gate, w->rc);
  } else if (w->sleep_ms > 0) {
    TIDE_SLEEP(t, (uint64_t)w->sleep_ms, w->rc);
  } else {
    for (w->i = 0; w->i < w->steps && w->rc == 0; w->i++) TIDE_YIELD(t, w->rc);
  }
  if (w->rc == TIDE_ECANCELED) {
    test_log_push(w->log, w->id * 10 + WK_SAW_CANCEL);
    for (w->i = 0; w->i < w->cleanup; w->i++) TIDE_YIELD(t, w->rc);
    test_log_push(w->log, w->id * 10 + WK_CLEANED);
    if (w->swallow) {
      tide_task_uncancel(t);
      TIDE_RETURN_INT(t, w->value);
    }
    if (w->fail) TIDE_RETURN_ERROR(t, w->fail, "failed while cancelled");
    TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  if (w->fail) {
    test_log_push(w->log, w->id * 10 + WK_FAIL);
    TIDE_RETURN_ERROR(t, w->fail, w->id == 1 ? "one failed" : "another failed");
  }
  test_log_push(w->log, w->id * 10 + WK_OK);
  TIDE_RETURN_INT(t, w->value);
  TIDE_END(t);
}

static tide_task *spawn_worker(tide_loop *loop, const struct worker *init) {
  tide_task *t;
  ASSERT_OK(tide_task_spawn(loop, worker_main, init, sizeof *init, &t));
  return t;
}

static struct worker worker_init(test_log *log, int id, int steps) {
  struct worker w;
  memset(&w, 0, sizeof w);
  w.log = log;
  w.id = id;
  w.steps = steps;
  w.value = id * 100;
  return w;
}

static int64_t int_of(tide_future *f) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  return v.as.i;
}

/* --- a driver task: runs one combinator on its inputs and awaits its out ------ */

enum { OP_GATHER, OP_WAIT, OP_WAIT_FOR, OP_SHIELD };

struct driver {
  test_log *log;
  int op;
  tide_future **in;
  size_t n;
  unsigned flags;      /* gather */
  int mode;            /* wait */
  int64_t timeout;     /* wait, wait_for */
  tide_future out;
  int start_rc;
  int rc;              /* out's outcome as the await saw it */
  int rc2;             /* the await after it (a cancellation left pending) */
  int64_t got;         /* out's INT result, if any */
};

static int driver_main(tide_task *t, void *frame) {
  struct driver *d = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_future_init(loop, &d->out);
  if (d->op == OP_GATHER) d->start_rc = tide_gather(loop, d->in, d->n, d->flags, &d->out);
  if (d->op == OP_WAIT)
    d->start_rc = tide_wait(loop, d->in, d->n, (tide_wait_mode)d->mode, d->timeout, &d->out);
  if (d->op == OP_WAIT_FOR) d->start_rc = tide_wait_for(loop, d->in[0], d->timeout, &d->out);
  if (d->op == OP_SHIELD) d->start_rc = tide_shield(loop, d->in[0], &d->out);
  ASSERT_OK(d->start_rc);
  test_log_push(d->log, 900); /* awaiting */
  TIDE_AWAIT(t, &d->out, d->rc);
  test_log_push(d->log, 901); /* resumed */
  if (d->rc == 0) {
    tide_value v;
    ASSERT_OK(tide_future_result(&d->out, &v));
    if (v.type == TIDE_VALUE_INT) d->got = v.as.i;
  }
  tide_future_release(&d->out);
  TIDE_YIELD(t, d->rc2);
  if (d->rc) TIDE_RETURN_ERROR(t, d->rc, NULL);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

static tide_task *spawn_driver(tide_loop *loop, test_log *log, int op, tide_future **in,
                               size_t n) {
  struct driver init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.log = log;
  init.op = op;
  init.in = in;
  init.n = n;
  init.timeout = -1;
  init.rc = init.rc2 = -99;
  ASSERT_OK(tide_task_spawn(loop, driver_main, &init, sizeof init, &t));
  return t;
}

static struct driver *driver_of(tide_task *t) { return tide_task_frame(t); }

/* ============================== gather ===================================== */

TEST(gather_all_results_after_every_input) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  tide_task *k[3], *d;
  tide_future *in[3];
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  for (int i = 0; i < 3; i++) {
    struct worker w = worker_init(&log, i + 1, 3 - i); /* finish in order 3, 2, 1 */
    k[i] = spawn_worker(&loop, &w);
    in[i] = tide_task_future(k[i]);
  }
  d = spawn_driver(&loop, &log, OP_GATHER, in, 3);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 21, 31, 900, 32, 22, 12, 901);
  ASSERT_EQ(driver_of(d)->rc, 0);
  for (int i = 0; i < 3; i++) ASSERT_EQ(int_of(in[i]), (i + 1) * 100);
  ASSERT_EQ(tide_future_state_get(tide_task_future(d)), TIDE_FUTURE_RESULT);
  for (int i = 0; i < 3; i++) tide_task_release(k[i]);
  tide_task_release(d);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(gather_collects_first_error_in_input_order) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k[3], *d;
  tide_future *in[3];
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  struct worker w0 = worker_init(&log, 1, 1);
  struct worker w1 = worker_init(&log, 2, 3); /* fails last, but comes first */
  struct worker w2 = worker_init(&log, 3, 1); /* fails first */
  w1.fail = TIDE_EIO;
  w2.fail = TIDE_EPIPE;
  k[0] = spawn_worker(&loop, &w0);
  k[1] = spawn_worker(&loop, &w1);
  k[2] = spawn_worker(&loop, &w2);
  for (int i = 0; i < 3; i++) in[i] = tide_task_future(k[i]);
  d = spawn_driver(&loop, &log, OP_GATHER, in, 3);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* Nobody was cancelled: every input ran to its own end. */
  ASSERT_LOG(&log, 11, 21, 31, 900, 12, 33, 23, 901);
  ASSERT_ERR(driver_of(d)->rc, TIDE_EIO);
  ASSERT_EQ(int_of(in[0]), 100);
  ASSERT_ERR(tide_future_result(tide_task_future(d), NULL), TIDE_EIO);
  tide_task_release(d);
  for (int i = 0; i < 3; i++) tide_task_release(k[i]);
  ASSERT_EQ(errs.count, 0); /* gather observed the inputs' errors */
  CLOSE_LOOP(&loop);
}

/* The error gather hands on keeps its message. */
struct message_frame {
  tide_future *in[1];
  tide_future out;
  int rc;
  char msg[64];
};

static int gather_message_main(tide_task *t, void *frame) {
  struct message_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->out);
  ASSERT_OK(tide_gather(tide_task_loop(t), f->in, 1, 0, &f->out));
  TIDE_AWAIT(t, &f->out, f->rc);
  snprintf(f->msg, sizeof f->msg, "%s", tide_future_error_message(&f->out));
  tide_future_release(&f->out);
  TIDE_END(t);
}

TEST(gather_error_keeps_message) {
  tide_loop loop;
  tide_future fut;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &fut);
  struct message_frame init;
  memset(&init, 0, sizeof init);
  init.in[0] = &fut;
  ASSERT_OK(tide_task_spawn(&loop, gather_message_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_set_error(&fut, TIDE_EACCES, "no entry for you"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct message_frame *f = tide_task_frame(t);
  ASSERT_ERR(f->rc, TIDE_EACCES);
  ASSERT_STR_EQ(f->msg, "no entry for you");
  tide_task_release(t);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(gather_cancel_on_error_waits_for_the_cancelled) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  tide_task *k[3], *d;
  tide_future *in[3];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  struct worker w0 = worker_init(&log, 1, 100); /* long: cancelled, cleans up */
  struct worker w1 = worker_init(&log, 2, 1);   /* fails */
  struct worker w2 = worker_init(&log, 3, 0);   /* done before the failure */
  w0.cleanup = 2;
  w1.fail = TIDE_EPIPE;
  k[0] = spawn_worker(&loop, &w0);
  k[1] = spawn_worker(&loop, &w1);
  k[2] = spawn_worker(&loop, &w2);
  for (int i = 0; i < 3; i++) in[i] = tide_task_future(k[i]);
  d = spawn_driver(&loop, &log, OP_GATHER, in, 3);
  driver_of(d)->flags = TIDE_GATHER_CANCEL_ON_ERROR;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* 1 sees the cancellation and cleans up before the driver resumes. */
  ASSERT_LOG(&log, 11, 21, 31, 32, 900, 23, 14, 15, 901);
  ASSERT_ERR(driver_of(d)->rc, TIDE_EPIPE);
  ASSERT_EQ(tide_future_state_get(in[0]), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(int_of(in[2]), 300);
  for (int i = 0; i < 3; i++) tide_task_release(k[i]);
  tide_future_result(tide_task_future(d), NULL);
  tide_task_release(d);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(gather_cancel_on_error_ignores_a_cancelled_input) {
  tide_loop loop;
  tide_future f0, f1;
  tide_future *in[2] = {&f0, &f1};
  tide_future out;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f0);
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_gather(&loop, in, 2, TIDE_GATHER_CANCEL_ON_ERROR, &out));
  ASSERT_OK(tide_future_cancel(&f0)); /* someone else cancels one input */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&f1), TIDE_FUTURE_PENDING); /* not cancelled */
  ASSERT_EQ(tide_future_done(&out), 0);
  ASSERT_OK(tide_future_set_int(&f1, 7));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* The first failure in input order is the cancellation. */
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(int_of(&f1), 7);
  tide_future_release(&out);
  tide_future_release(&f0);
  tide_future_release(&f1);
  CLOSE_LOOP(&loop);
}

TEST(gather_cancelling_out_cancels_inputs_and_waits) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k[2], *d;
  tide_future *in[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 2; i++) {
    struct worker w = worker_init(&log, i + 1, 0);
    w.sleep_ms = HOUR_MS;
    w.cleanup = i + 1;
    k[i] = spawn_worker(&loop, &w);
    in[i] = tide_task_future(k[i]);
  }
  d = spawn_driver(&loop, &log, OP_GATHER, in, 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_LOG(&log, 11, 21, 900);
  ASSERT_OK(tide_task_cancel(d));
  ASSERT_EQ(tide_task_cancelling(k[0]), 1); /* passed down at once */
  ASSERT_EQ(tide_task_cancelling(k[1]), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* The driver resumes only after both cleaned up. */
  ASSERT_LOG(&log, 11, 21, 900, 14, 24, 15, 25, 901);
  ASSERT_ERR(driver_of(d)->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(d)), TIDE_FUTURE_CANCELLED);
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(tide_future_state_get(in[i]), TIDE_FUTURE_CANCELLED);
    tide_task_release(k[i]);
  }
  tide_task_release(d);
  CLOSE_LOOP(&loop);
}

TEST(gather_cancel_out_directly_is_a_request) {
  tide_loop loop;
  tide_future f0, out;
  tide_future *in[1] = {&f0};
  test_log log = {0};
  tide_task *k;
  struct worker w = worker_init(&log, 1, 0);
  w.sleep_ms = HOUR_MS;
  w.cleanup = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_gather(&loop, in, 1, 0, &out));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_future_cancel(&out));
  ASSERT_EQ(tide_future_done(&out), 0); /* pending until the child finished */
  ASSERT_OK(tide_future_cancel(&out));  /* a second request changes nothing */
  ASSERT_EQ(tide_task_cancelling(k), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_CANCELLED);
  ASSERT_LOG(&log, 11, 14, 15);
  ASSERT_ERR(tide_future_cancel(&out), TIDE_EALREADY);
  tide_future_release(&out);
  tide_task_release(k);
  (void)f0;
  CLOSE_LOOP(&loop);
}

TEST(gather_completes_from_the_loop_even_if_all_done) {
  tide_loop loop;
  tide_future f0, f1, out;
  tide_future *in[2] = {&f0, &f1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f0);
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_future_set_int(&f0, 1));
  ASSERT_OK(tide_future_set_int(&f1, 2));
  ASSERT_OK(tide_gather(&loop, in, 2, 0, &out));
  ASSERT_EQ(tide_future_done(&out), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_RESULT);
  tide_future_release(&out);
  /* No inputs: done at once. */
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_gather(&loop, NULL, 0, 0, &out));
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_RESULT);
  tide_future_release(&out);
  tide_future_release(&f0);
  tide_future_release(&f1);
  CLOSE_LOOP(&loop);
}

static void noop_hook(tide_future *f, void *ud) {
  (void)f;
  (void)ud;
}

TEST(combinators_refuse_unusable_arguments) {
  tide_loop loop, other;
  tide_future f, done, foreign, hooked, out;
  tide_future *in[2] = {&f, NULL};
  tide_as_completed it;
  tide_task *t;
  test_log log = {0};
  struct worker w = worker_init(&log, 1, 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &done);
  tide_future_init(&loop, &hooked);
  tide_future_init(&loop, &out);
  tide_future_init(&other, &foreign);
  ASSERT_OK(tide_future_set_none(&done));
  tide_future_set_cancel_hook(&hooked, noop_hook, NULL);
  t = spawn_worker(&loop, &w);
  tide_future *bad_outs[] = {NULL, &done, &foreign, &hooked, tide_task_future(t)};
  /* An unusable out is not the call's to complete: each stays as it was. */
  for (size_t i = 0; i < TEST_ARRAY_SIZE(bad_outs); i++) {
    ASSERT_ERR(tide_gather(&loop, in, 1, 0, bad_outs[i]), TIDE_EINVAL);
    ASSERT_ERR(tide_wait(&loop, in, 1, TIDE_WAIT_ALL_COMPLETED, -1, bad_outs[i]),
               TIDE_EINVAL);
    ASSERT_ERR(tide_wait_for(&loop, &f, -1, bad_outs[i]), TIDE_EINVAL);
    ASSERT_ERR(tide_shield(&loop, &f, bad_outs[i]), TIDE_EINVAL);
  }
  ASSERT_EQ(tide_future_state_get(&done), TIDE_FUTURE_RESULT);
  ASSERT_EQ(tide_future_state_get(&hooked), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_future_state_get(&foreign), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_task_done(t), 0);
  /* A usable out of a refused call completes with the call's error, so a task
     awaiting it sees the error instead of waiting forever. */
#define REFUSED(call)                                                                  \
  do {                                                                                 \
    tide_future_init(&loop, &out);                                                     \
    ASSERT_ERR(call, TIDE_EINVAL);                                                     \
    ASSERT_ERR(tide_future_result(&out, NULL), TIDE_EINVAL);                           \
    ASSERT_NOT_NULL(strstr(tide_future_error_message(&out), "refused the call"));      \
    tide_future_release(&out);                                                         \
  } while (0)
  REFUSED(tide_gather(&loop, in, 2, 0, &out));   /* NULL input */
  REFUSED(tide_gather(&loop, NULL, 1, 0, &out)); /* NULL array */
  in[1] = &out;
  REFUSED(tide_gather(&loop, in, 2, 0, &out)); /* out as its input */
  in[1] = &foreign;
  REFUSED(tide_gather(&loop, in, 2, 0, &out)); /* another loop */
  ASSERT_ERR(tide_as_completed_init(&loop, &it, in, 2), TIDE_EINVAL);
  REFUSED(tide_gather(&loop, in, 1, 4, &out)); /* unknown flag */
  REFUSED(tide_wait(&loop, in, 1, (tide_wait_mode)0, -1, &out));
  REFUSED(tide_wait_for(&loop, NULL, -1, &out));
  REFUSED(tide_wait_for(&loop, &out, -1, &out));
  REFUSED(tide_shield(&loop, &foreign, &out));
#undef REFUSED
  /* Nothing else was taken: f is still free for a real call. */
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_shield(&loop, &f, &out));
  ASSERT_OK(tide_future_set_int(&f, 5));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(int_of(&out), 5);
  tide_task_release(t);
  tide_future_release(&out);
  tide_future_release(&f);
  tide_future_release(&done);
  tide_future_release(&hooked);
  tide_future_release(&foreign);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
}

TEST(gather_release_pending_out_lets_go) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f0, f1, out;
  tide_future *in[2] = {&f0, &f1};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f0);
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_future_set_int(&f1, 1));
  ASSERT_OK(tide_gather(&loop, in, 2, 0, &out));
  ASSERT_EQ(tide_loop_close(&loop), TIDE_EBUSY); /* gather is registered */
  tide_future_release(&out); /* pending: cancels the inputs, detaches at once */
  ASSERT_EQ(tide_future_state_get(&f0), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(int_of(&f1), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_future_release(&f0);
  tide_future_release(&f1);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(gather_same_input_twice) {
  tide_loop loop;
  tide_future f, out;
  tide_future *in[2] = {&f, &f};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_gather(&loop, in, 2, 0, &out));
  ASSERT_OK(tide_future_set_int(&f, 3));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_RESULT);
  tide_future_release(&out);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* =============================== wait ====================================== */

TEST(wait_first_completed_leaves_the_rest_running) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k[3], *d;
  tide_future *in[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    struct worker w = worker_init(&log, i + 1, i == 1 ? 1 : 4);
    k[i] = spawn_worker(&loop, &w);
    in[i] = tide_task_future(k[i]);
  }
  d = spawn_driver(&loop, &log, OP_WAIT, in, 3);
  driver_of(d)->mode = TIDE_WAIT_FIRST_COMPLETED;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(driver_of(d)->rc, 0);
  ASSERT_EQ(driver_of(d)->got, 1);
  ASSERT_LOG(&log, 11, 21, 31, 900, 22, 901, 12, 32); /* the others not cancelled */
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(tide_future_state_get(in[i]), TIDE_FUTURE_RESULT);
    tide_task_release(k[i]);
  }
  tide_task_release(d);
  CLOSE_LOOP(&loop);
}

TEST(wait_first_exception_skips_cancelled_inputs) {
  tide_loop loop;
  tide_future f[3], out;
  tide_future *in[3] = {&f[0], &f[1], &f[2]};
  tide_value v;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  for (int i = 0; i < 3; i++) tide_future_init(&loop, &f[i]);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait(&loop, in, 3, TIDE_WAIT_FIRST_EXCEPTION, -1, &out));
  ASSERT_OK(tide_future_cancel(&f[0]));
  ASSERT_OK(tide_future_set_int(&f[1], 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_done(&out), 0); /* a cancellation is not an exception */
  ASSERT_OK(tide_future_set_error(&f[2], TIDE_EIO, "bad"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.as.i, 3);
  tide_future_release(&out);
  for (int i = 0; i < 3; i++) tide_future_release(&f[i]);
  ASSERT_EQ(errs.count, 1); /* wait does not read outcomes: f[2]'s error is unread */
  CLOSE_LOOP(&loop);
}

TEST(wait_first_exception_without_error_waits_for_all) {
  tide_loop loop;
  tide_future f[2], out;
  tide_future *in[2] = {&f[0], &f[1]};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 2; i++) tide_future_init(&loop, &f[i]);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait(&loop, in, 2, TIDE_WAIT_FIRST_EXCEPTION, -1, &out));
  ASSERT_OK(tide_future_set_int(&f[0], 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_done(&out), 0);
  ASSERT_OK(tide_future_set_int(&f[1], 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(int_of(&out), 2);
  tide_future_release(&out);
  for (int i = 0; i < 2; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
}

TEST(wait_all_completed_counts_all) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k[3], *d;
  tide_future *in[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    struct worker w = worker_init(&log, i + 1, 3 - i);
    if (i == 0) w.fail = TIDE_EIO;
    k[i] = spawn_worker(&loop, &w);
    in[i] = tide_task_future(k[i]);
  }
  d = spawn_driver(&loop, &log, OP_WAIT, in, 3);
  driver_of(d)->mode = TIDE_WAIT_ALL_COMPLETED;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(driver_of(d)->got, 3);
  ASSERT_LOG(&log, 11, 21, 31, 900, 32, 22, 13, 901);
  ASSERT_ERR(tide_future_result(in[0], NULL), TIDE_EIO);
  for (int i = 0; i < 3; i++) tide_task_release(k[i]);
  tide_task_release(d);
  CLOSE_LOOP(&loop);
}

TEST(wait_timeout_is_a_count_not_an_error) {
  tide_loop loop;
  tide_future f[2], out;
  tide_future *in[2] = {&f[0], &f[1]};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 2; i++) tide_future_init(&loop, &f[i]);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait(&loop, in, 2, TIDE_WAIT_ALL_COMPLETED, 0, &out));
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* the deadline is referenced work */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_RESULT);
  ASSERT_EQ(int_of(&out), 0);
  ASSERT_EQ(tide_future_state_get(&f[0]), TIDE_FUTURE_PENDING); /* not cancelled */
  tide_future_release(&out);
  /* Partly done at the timeout: the count says how many. */
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_future_set_int(&f[1], 1));
  ASSERT_OK(tide_wait(&loop, in, 2, TIDE_WAIT_ALL_COMPLETED, 0, &out));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(int_of(&out), 1);
  tide_future_release(&out);
  /* No inputs: 0 on the next tick. */
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait(&loop, NULL, 0, TIDE_WAIT_FIRST_COMPLETED, -1, &out));
  ASSERT_EQ(tide_future_done(&out), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(int_of(&out), 0);
  tide_future_release(&out);
  for (int i = 0; i < 2; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
}

TEST(wait_cancelled_leaves_inputs_alone) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k, *d;
  tide_future *in[1], gate;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  struct worker w = worker_init(&log, 1, 0);
  w.gate = &gate;
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  d = spawn_driver(&loop, &log, OP_WAIT, in, 1);
  driver_of(d)->mode = TIDE_WAIT_ALL_COMPLETED;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_task_cancel(d));
  ASSERT_EQ(tide_task_cancelling(k), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 900, 901); /* resumed at once; the input still runs */
  ASSERT_OK(tide_future_set_none(&gate));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 900, 901, 12);
  ASSERT_ERR(driver_of(d)->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(d)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(int_of(in[0]), 100);
  tide_task_release(k);
  tide_task_release(d);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

/* ============================== wait_for =================================== */

TEST(wait_for_passes_result_and_error) {
  tide_loop loop;
  tide_future f, out;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, &f, HOUR_MS, &out));
  ASSERT_OK(tide_future_set_int(&f, 42));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour: timer gone */
  ASSERT_EQ(int_of(&out), 42);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  tide_future_release(&out);
  tide_future_release(&f);
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, &f, -1, &out));
  ASSERT_OK(tide_future_set_error(&f, TIDE_ECONNRESET, "peer left"));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(&out, NULL), TIDE_ECONNRESET);
  ASSERT_STR_EQ(tide_future_error_message(&out), "peer left");
  tide_future_release(&out);
  tide_future_release(&f); /* handed on: observed */
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(wait_for_bytes_are_borrowed) {
  tide_loop loop;
  tide_future f, out;
  tide_value v;
  static char text[] = "hello";
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, &f, -1, &out));
  ASSERT_OK(tide_future_set_bytes(&f, text, 5, NULL, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(&out, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_PTR_EQ(v.as.bytes.data, text);
  ASSERT_EQ(v.as.bytes.len, 5);
  tide_future_release(&out);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(wait_for_timeout_cancels_and_waits_for_cleanup) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  tide_task *k, *d;
  tide_future *in[1];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  struct worker w = worker_init(&log, 1, 1000000);
  w.cleanup = 3;
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  d = spawn_driver(&loop, &log, OP_WAIT_FOR, in, 1);
  driver_of(d)->timeout = 0;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 900, 14, 15, 901);
  ASSERT_ERR(driver_of(d)->rc, TIDE_ETIMEDOUT);
  ASSERT_EQ(tide_future_state_get(in[0]), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_task_cancelling(d), 0); /* the driver itself was not cancelled */
  tide_future_result(tide_task_future(d), NULL);
  tide_task_release(k);
  tide_task_release(d);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(wait_for_timeout_but_inner_handles_it_result_stands) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k, *d;
  tide_future *in[1];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct worker w = worker_init(&log, 1, 1000000);
  w.cleanup = 1;
  w.swallow = 1; /* returns 100 after the cancellation */
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  d = spawn_driver(&loop, &log, OP_WAIT_FOR, in, 1);
  driver_of(d)->timeout = 0;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(driver_of(d)->rc, 0); /* not ETIMEDOUT: the value is not lost */
  ASSERT_EQ(driver_of(d)->got, 100);
  tide_task_release(k);
  tide_task_release(d);
  CLOSE_LOOP(&loop);
}

TEST(wait_for_without_timeout_keeps_nothing_alive) {
  tide_loop loop;
  tide_future f, out;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_wait_for(&loop, &f, -1, &out));
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_done(&out), 0);
  tide_future_release(&out); /* releasing cancels f, as releasing any pending future */
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

/* =============================== shield ==================================== */

TEST(shield_cancel_stops_at_out) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k, *d;
  tide_future *in[1], gate;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  struct worker w = worker_init(&log, 1, 0);
  w.gate = &gate;
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  d = spawn_driver(&loop, &log, OP_SHIELD, in, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_task_cancel(d));
  ASSERT_EQ(tide_task_cancelling(k), 0); /* inner untouched */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 900, 901); /* the driver resumed at once */
  ASSERT_OK(tide_future_set_none(&gate));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 900, 901, 12);
  ASSERT_ERR(driver_of(d)->rc, TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(d)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(int_of(in[0]), 100);
  tide_task_release(k);
  tide_task_release(d);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(shield_mirrors_inner) {
  tide_loop loop;
  test_log log = {0};
  tide_task *k, *d;
  tide_future *in[1];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct worker w = worker_init(&log, 1, 2);
  k = spawn_worker(&loop, &w);
  in[0] = tide_task_future(k);
  d = spawn_driver(&loop, &log, OP_SHIELD, in, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(driver_of(d)->rc, 0);
  ASSERT_EQ(driver_of(d)->got, 100);
  ASSERT_LOG(&log, 11, 900, 12, 901);
  tide_task_release(k);
  tide_task_release(d);
  CLOSE_LOOP(&loop);
}

/* ============================ as_completed ================================= */

struct iter_frame {
  test_log *log;
  tide_future **in;
  size_t n;
  tide_as_completed it;
  tide_future next;
  int rc;
  int cancel_at; /* cancel its own next() at this iteration (0: never) */
  int round;
};

static int iter_main(tide_task *t, void *frame) {
  struct iter_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  ASSERT_OK(tide_as_completed_init(loop, &f->it, f->in, f->n));
  while (tide_as_completed_left(&f->it) > 0) {
    f->round++;
    tide_future_init(loop, &f->next);
    ASSERT_OK(tide_as_completed_next(&f->it, &f->next));
    if (!tide_future_done(&f->next))
      ASSERT_ERR(tide_as_completed_next(&f->it, &f->next), TIDE_EBUSY);
    if (f->round == f->cancel_at && !tide_future_done(&f->next))
      ASSERT_OK(tide_future_cancel(&f->next));
    TIDE_AWAIT(t, &f->next, f->rc);
    if (f->rc == 0) {
      tide_value v;
      ASSERT_OK(tide_future_result(&f->next, &v));
      ASSERT_EQ(v.type, TIDE_VALUE_PTR);
      for (size_t i = 0; i < f->n; i++)
        if (v.as.p == f->in[i]) test_log_push(f->log, (int)i);
    } else {
      test_log_push(f->log, f->rc);
    }
    tide_future_release(&f->next);
  }
  {
    tide_future spare;
    tide_future_init(loop, &spare);
    ASSERT_ERR(tide_as_completed_next(&f->it, &spare), TIDE_ENOENT);
    tide_future_release(&spare);
  }
  tide_as_completed_release(&f->it);
  TIDE_END(t);
}

static void complete_cb(tide_loop *loop, void *ud) {
  (void)loop;
  ASSERT_OK(tide_future_set_int(ud, 1));
}

TEST(as_completed_in_completion_order) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f[4];
  tide_future *in[4] = {&f[0], &f[1], &f[2], &f[3]};
  test_log log = {0};
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < 4; i++) tide_future_init(&loop, &f[i]);
  ASSERT_OK(tide_future_set_int(&f[3], 1)); /* done before: comes first */
  struct iter_frame init;
  memset(&init, 0, sizeof init);
  init.log = &log;
  init.in = in;
  init.n = 4;
  ASSERT_OK(tide_task_spawn(&loop, iter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 3);
  /* Two finish before the iterator asks again: both kept, in order. */
  ASSERT_OK(tide_future_set_int(&f[2], 1));
  ASSERT_OK(tide_future_set_int(&f[0], 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 3, 2, 0);
  ASSERT_OK(tide_call_soon(&loop, complete_cb, &f[1], NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 3, 2, 0, 1);
  ASSERT_EQ(tide_task_done(t), 1);
  tide_task_release(t);
  for (int i = 0; i < 4; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(as_completed_cancelled_next_loses_nothing) {
  tide_loop loop;
  tide_future f[2];
  tide_future *in[2] = {&f[0], &f[1]};
  test_log log = {0};
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 2; i++) tide_future_init(&loop, &f[i]);
  struct iter_frame init;
  memset(&init, 0, sizeof init);
  init.log = &log;
  init.in = in;
  init.n = 2;
  init.cancel_at = 1;
  ASSERT_OK(tide_task_spawn(&loop, iter_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, TIDE_ECANCELED); /* round 1 gave up; both inputs still due */
  ASSERT_EQ(tide_as_completed_left(&((struct iter_frame *)tide_task_frame(t))->it), 2);
  ASSERT_OK(tide_future_set_int(&f[1], 1));
  ASSERT_OK(tide_future_set_int(&f[0], 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, TIDE_ECANCELED, 1, 0);
  tide_task_release(t);
  for (int i = 0; i < 2; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
}

TEST(as_completed_release_cancels_pending_next) {
  tide_loop loop;
  tide_future f, next;
  tide_future *in[1] = {&f};
  tide_as_completed it;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &next);
  ASSERT_OK(tide_as_completed_init(&loop, &it, in, 1));
  ASSERT_EQ(tide_loop_close(&loop), TIDE_EBUSY); /* registered until release */
  ASSERT_OK(tide_as_completed_next(&it, &next));
  tide_as_completed_release(&it);
  ASSERT_EQ(tide_future_state_get(&next), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING); /* inputs untouched */
  tide_future_release(&next);
  tide_future_release(&f);
  /* Empty: nothing to hand out, nothing allocated. */
  ASSERT_OK(tide_as_completed_init(&loop, &it, NULL, 0));
  tide_future_init(&loop, &next);
  ASSERT_ERR(tide_as_completed_next(&it, &next), TIDE_ENOENT);
  tide_future_release(&next);
  tide_as_completed_release(&it);
  CLOSE_LOOP(&loop);
}

/* =========================== timeout scopes ================================ */

struct scoped {
  test_log *log;
  tide_future *gate;  /* awaited inside the scope */
  int64_t ms;         /* the scope's deadline */
  int64_t inner_ms;   /* >= 0: a nested scope with this deadline */
  int leave_open;     /* return from inside the scope */
  tide_timeout scope;
  tide_timeout inner;
  int rc;             /* what the await saw */
  int inner_rc;       /* rc after the inner end */
  int end_rc;         /* rc after the (outer) end */
  int after_rc;       /* an await after the scope */
  int cancelling_after;
};

static int scoped_main(tide_task *t, void *frame) {
  struct scoped *s = frame;
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &s->scope, s->ms);
  if (s->inner_ms >= 0) tide_task_timeout_begin(t, &s->inner, s->inner_ms);
  TIDE_AWAIT(t, s->gate, s->rc);
  if (s->leave_open) TIDE_RETURN_INT(t, 7);
  s->inner_rc = s->rc;
  if (s->inner_ms >= 0) tide_task_timeout_end(t, &s->inner, &s->inner_rc);
  s->end_rc = s->inner_rc;
  tide_task_timeout_end(t, &s->scope, &s->end_rc);
  s->cancelling_after = tide_task_cancelling(t);
  TIDE_YIELD(t, s->after_rc);
  if (s->end_rc) TIDE_RETURN_ERROR(t, s->end_rc, NULL);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

static tide_task *spawn_scoped(tide_loop *loop, tide_future *gate, int64_t ms,
                               int64_t inner_ms) {
  struct scoped init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.gate = gate;
  init.ms = ms;
  init.inner_ms = inner_ms;
  init.rc = init.inner_rc = init.end_rc = init.after_rc = -99;
  ASSERT_OK(tide_task_spawn(loop, scoped_main, &init, sizeof init, &t));
  return t;
}

TEST(timeout_scope_expires_as_etimedout) {
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &gate);
  t = spawn_scoped(&loop, &gate, 0, -1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct scoped *s = tide_task_frame(t);
  ASSERT_ERR(s->rc, TIDE_ECANCELED); /* what the body saw */
  ASSERT_ERR(s->end_rc, TIDE_ETIMEDOUT);
  ASSERT_EQ(s->cancelling_after, 0); /* withdrawn: the task goes on */
  ASSERT_EQ(s->after_rc, 0);
  ASSERT_EQ(tide_timeout_expired(&s->scope), 1);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ETIMEDOUT);
  ASSERT_EQ(tide_future_state_get(&gate), TIDE_FUTURE_CANCELLED); /* what it awaited */
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(timeout_scope_not_reached_changes_nothing) {
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  t = spawn_scoped(&loop, &gate, HOUR_MS, -1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* the deadline keeps it alive */
  ASSERT_OK(tide_future_set_int(&gate, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour-long wait */
  struct scoped *s = tide_task_frame(t);
  ASSERT_EQ(s->rc, 0);
  ASSERT_EQ(s->end_rc, 0);
  ASSERT_EQ(tide_timeout_expired(&s->scope), 0);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  ASSERT_EQ(int_of(tide_task_future(t)), 1);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(timeout_scope_nested_outer_expires) {
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  t = spawn_scoped(&loop, &gate, 0, HOUR_MS); /* outer expires, inner not */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct scoped *s = tide_task_frame(t);
  ASSERT_ERR(s->inner_rc, TIDE_ECANCELED); /* not the inner scope's timeout */
  ASSERT_ERR(s->end_rc, TIDE_ETIMEDOUT);   /* the outer one's */
  ASSERT_EQ(tide_timeout_expired(&s->inner), 0);
  ASSERT_EQ(tide_timeout_expired(&s->scope), 1);
  ASSERT_EQ(s->cancelling_after, 0);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ETIMEDOUT);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(timeout_scope_nested_both_expire) {
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  t = spawn_scoped(&loop, &gate, 0, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct scoped *s = tide_task_frame(t);
  /* Both cancelled the task; the inner end leaves the outer's request. */
  ASSERT_ERR(s->inner_rc, TIDE_ECANCELED);
  ASSERT_ERR(s->end_rc, TIDE_ETIMEDOUT);
  ASSERT_EQ(s->cancelling_after, 0);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ETIMEDOUT);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(timeout_scope_left_open_is_closed_at_return) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &gate);
  t = spawn_scoped(&loop, &gate, HOUR_MS, HOUR_MS);
  ((struct scoped *)tide_task_frame(t))->leave_open = 1;
  ASSERT_OK(tide_future_set_int(&gate, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour: deadlines gone */
  ASSERT_EQ(int_of(tide_task_future(t)), 7);
  ASSERT_EQ(tide_loop_next_timeout(&loop), -1);
  tide_task_release(t); /* the frame (and its scopes) go away safely */
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

struct resched {
  tide_timeout scope;
  tide_future *gate;
  int rc;
  int resched_rc;
  int late_rc;
};

static int resched_main(tide_task *t, void *frame) {
  struct resched *r = frame;
  TIDE_BEGIN(t);
  tide_task_timeout_begin(t, &r->scope, -1); /* no deadline yet */
  ASSERT_OK(tide_timeout_reschedule(&r->scope, 0));
  TIDE_AWAIT(t, r->gate, r->rc);
  r->late_rc = tide_timeout_reschedule(&r->scope, HOUR_MS); /* expired: refused */
  tide_task_timeout_end(t, &r->scope, &r->rc);
  r->resched_rc = tide_timeout_reschedule(&r->scope, 1); /* ended: refused */
  TIDE_END(t);
}

TEST(timeout_scope_reschedule) {
  tide_loop loop;
  tide_future gate;
  tide_task *t;
  struct resched init;
  memset(&init, 0, sizeof init);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  init.gate = &gate;
  ASSERT_OK(tide_task_spawn(&loop, resched_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct resched *r = tide_task_frame(t);
  ASSERT_ERR(r->rc, TIDE_ETIMEDOUT);
  ASSERT_ERR(r->late_rc, TIDE_ESTATE);
  ASSERT_ERR(r->resched_rc, TIDE_ESTATE);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

/* ===================== out of memory, at every site ======================== */

/* Run a scenario with the Nth allocation failing, N = 1.. until none fails.
 * Every failure must surface as exactly one TIDE_ENOMEM (or a fixed error
 * message), the loop must stay usable, and nothing may leak. */
typedef int (*oom_scenario)(test_alloc *a, size_t n);

static void oom_walk(oom_scenario scenario) {
  for (size_t n = 1; n < 1000; n++) {
    test_alloc a;
    test_alloc_init(&a);
    int seen = scenario(&a, n);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(seen, (long long)a.failures);
    if (a.failures == 0) {
      ASSERT_GE(n, 2); /* the walk met at least one allocation site */
      return;
    }
  }
  ASSERT(0 && "walk did not finish");
}

enum { COMB_GATHER, COMB_WAIT, COMB_WAIT_FOR, COMB_SHIELD, COMB_AS_COMPLETED };

static int oom_combinator(test_alloc *a, size_t n, int which) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future f[2], out;
  tide_future *in[2] = {&f[0], &f[1]};
  tide_as_completed it;
  int seen = 0, rc = 0;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  for (int i = 0; i < 2; i++) tide_future_init(&loop, &f[i]);
  tide_future_init(&loop, &out);
  switch (which) {
  case COMB_GATHER: rc = tide_gather(&loop, in, 2, 0, &out); break;
  case COMB_WAIT: rc = tide_wait(&loop, in, 2, TIDE_WAIT_ALL_COMPLETED, 0, &out); break;
  case COMB_WAIT_FOR: rc = tide_wait_for(&loop, &f[0], -1, &out); break;
  case COMB_SHIELD: rc = tide_shield(&loop, &f[0], &out); break;
  default: rc = tide_as_completed_init(&loop, &it, in, 2); break;
  }
  if (rc == TIDE_ENOMEM) {
    seen++;
    test_alloc_disarm(a);
    if (which == COMB_AS_COMPLETED) {
      ASSERT_EQ(tide_future_done(&out), 0); /* init takes no out: untouched */
      ASSERT_OK(tide_future_set_none(&out));
    } else {
      /* Refused: out holds the error, so an awaiting task would see it; its
       * message is the table's (nothing more was allocated for it). */
      ASSERT_ERR(tide_future_result(&out, NULL), TIDE_ENOMEM);
      ASSERT_STR_EQ(tide_future_error_message(&out), tide_strerror(TIDE_ENOMEM));
    }
  } else {
    ASSERT_OK(rc);
    ASSERT_OK(tide_future_set_error(&f[0], TIDE_EIO, "an error message to copy"));
    ASSERT_OK(tide_future_set_int(&f[1], 1));
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    if (which == COMB_AS_COMPLETED) {
      ASSERT_OK(tide_as_completed_next(&it, &out));
      tide_as_completed_release(&it);
    }
    ASSERT_EQ(tide_future_done(&out), 1);
    /* An error message copy that failed lands with a fixed message: in f[0]
     * (set_error), or in out (the copy a combinator hands on). */
    const char *m0 = tide_future_error_message(&f[0]);
    const char *mo = tide_future_error_message(&out);
    if (strcmp(m0, "an error message to copy") != 0) seen++;
    if (mo != NULL && strcmp(mo, m0) != 0) seen++;
  }
  tide_future_release(&out);
  for (int i = 0; i < 2; i++) tide_future_release(&f[i]);
  CLOSE_LOOP(&loop);
  return seen;
}

static int oom_gather(test_alloc *a, size_t n) { return oom_combinator(a, n, COMB_GATHER); }
static int oom_wait(test_alloc *a, size_t n) { return oom_combinator(a, n, COMB_WAIT); }
static int oom_wait_for(test_alloc *a, size_t n) { return oom_combinator(a, n, COMB_WAIT_FOR); }
static int oom_shield(test_alloc *a, size_t n) { return oom_combinator(a, n, COMB_SHIELD); }
static int oom_as_completed(test_alloc *a, size_t n) {
  return oom_combinator(a, n, COMB_AS_COMPLETED);
}

TEST(alloc_fail_gather) { oom_walk(oom_gather); }
TEST(alloc_fail_wait) { oom_walk(oom_wait); }
TEST(alloc_fail_wait_for) { oom_walk(oom_wait_for); }
TEST(alloc_fail_shield) { oom_walk(oom_shield); }
TEST(alloc_fail_as_completed) { oom_walk(oom_as_completed); }

/* A task awaiting the out of a call that was refused (here: a gather with an
 * unknown flag, as a typo would give) gets the call's error at its await; it
 * used to wait forever on an out nobody would complete, and the loop ended
 * under it. */
struct refused_frame {
  tide_future *in;
  tide_future out;
  int call_rc;
  int rc;
};

static int refused_main(tide_task *t, void *frame) {
  struct refused_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->out);
  f->call_rc = tide_gather(tide_task_loop(t), &f->in, 1, 0x80, &f->out);
  TIDE_AWAIT(t, &f->out, f->rc);
  tide_future_release(&f->out);
  TIDE_END(t);
}

TEST(combinator_refused_call_completes_out_with_its_error) {
  tide_loop loop;
  tide_future in;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &in);
  struct refused_frame init = {&in, {0}, 0, -99};
  ASSERT_OK(tide_task_spawn(&loop, refused_main, &init, sizeof init, &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct refused_frame *f = tide_task_frame(t);
  ASSERT_EQ(f->call_rc, TIDE_EINVAL);
  ASSERT_EQ(tide_task_done(t), 1); /* not stuck on out */
  ASSERT_EQ(f->rc, TIDE_EINVAL);
  ASSERT_EQ(tide_future_state_get(&in), TIDE_FUTURE_PENDING); /* inputs untouched */
  tide_task_release(t);
  tide_future_release(&in);
  CLOSE_LOOP(&loop);
}
