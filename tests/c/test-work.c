/* test-work.c: tide_work_submit on every host: natively on the worker pool,
 * and where there are no threads (WASI, the fake backend) on the loop. The
 * results and errors of fn, a result of the wrong type, arguments refused,
 * cancelling (fn never runs once cancelled before it starts; done runs once,
 * from the loop, never inside the cancel), done-exactly-once over many jobs,
 * FIFO order without threads, the loop held busy while a job is outstanding,
 * awaiting from a task, and out of memory at every allocation.
 *
 * What fn touches belongs to its job alone (a slot): natively fn runs on
 * another thread, and the loop's thread reads the slot only once done ran.
 */
#include <string.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

typedef struct slot {
  int index;
  int ran;        /* fn's: how many times fn ran */
  int done;       /* the loop's: how many times done ran */
  int fut_done;   /* the loop's: how many times the future's callback ran */
  int rc;         /* what fn returns */
  tide_value set; /* what fn stores */
  test_log *log;  /* if set (hosts without threads only): fn logs index */
  int *done_log_n; /* if set: done records its position here */
  int done_pos;
} slot;

static int slot_fn(void *arg, tide_value *result) {
  slot *s = arg;
  s->ran++;
  if (s->log != NULL) test_log_push(s->log, s->index);
  *result = s->set;
  return s->rc;
}

static void slot_done(void *arg) {
  slot *s = arg;
  s->done++;
  if (s->done_log_n != NULL) s->done_pos = (*s->done_log_n)++;
}

static void count_future(tide_future *f, void *ud) {
  (void)f;
  ((slot *)ud)->fut_done++;
}

static void slot_init(slot *s, int index, int rc, tide_value set) {
  memset(s, 0, sizeof *s);
  s->index = index;
  s->rc = rc;
  s->set = set;
}

/* The INT result of a future that has one. */
static int64_t int_of_result(tide_future *f) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  return v.as.i;
}

/* Submit s with a counting done callback on f. */
static void submit(tide_loop *loop, slot *s, tide_future *f) {
  tide_future_init(loop, f);
  ASSERT_OK(tide_future_add_done_callback(f, count_future, s));
  ASSERT_OK(tide_work_submit(loop, slot_fn, slot_done, s, f));
}

TEST(work_results_of_each_type) {
  tide_loop loop;
  slot s[4];
  tide_future f[4];
  int marker = 0;
  tide_value ptr = tide_value_none();
  ptr.type = TIDE_VALUE_PTR;
  ptr.as.p = &marker;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  slot_init(&s[0], 0, 0, tide_value_int(-42));
  slot_init(&s[1], 1, 0, tide_value_double(2.5));
  slot_init(&s[2], 2, 0, ptr);
  slot_init(&s[3], 3, 0, tide_value_none());
  for (int i = 0; i < 4; i++) submit(&loop, &s[i], &f[i]);
  /* Never inside the submit: the future completes from the loop. */
  for (int i = 0; i < 4; i++) ASSERT_EQ(tide_future_state_get(&f[i]), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_value v;
  ASSERT_OK(tide_future_result(&f[0], &v));
  ASSERT_EQ(v.type, TIDE_VALUE_INT);
  ASSERT_EQ(v.as.i, -42);
  ASSERT_OK(tide_future_result(&f[1], &v));
  ASSERT_EQ(v.type, TIDE_VALUE_DOUBLE);
  ASSERT(v.as.d == 2.5);
  ASSERT_OK(tide_future_result(&f[2], &v));
  ASSERT_EQ(v.type, TIDE_VALUE_PTR);
  ASSERT_PTR_EQ(v.as.p, &marker);
  ASSERT_OK(tide_future_result(&f[3], &v));
  ASSERT_EQ(v.type, TIDE_VALUE_NONE);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(s[i].ran, 1);
    ASSERT_EQ(s[i].done, 1);
    ASSERT_EQ(s[i].fut_done, 1);
    tide_future_release(&f[i]);
  }
  CLOSE_LOOP(&loop);
}

static int bytes_freed;
static void count_free(void *data, void *ud) {
  (void)data;
  (void)ud;
  bytes_freed++;
}

TEST(work_errors_and_bad_results) {
  /* fn's negative code is the future's error; a positive return or a result
   * of a type the future cannot carry from a thread is TIDE_EINVAL with a
   * message that says which, and owned bytes of such a result are freed. */
  tide_loop loop;
  slot s[4];
  tide_future f[4];
  static char text[] = "text";
  tide_value owned = tide_value_bytes(text, 4);
  owned.priv_free = count_free;
  bytes_freed = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  slot_init(&s[0], 0, TIDE_EIO, tide_value_int(1));
  slot_init(&s[1], 1, 3, tide_value_none());
  slot_init(&s[2], 2, 0, tide_value_string("not from a thread"));
  slot_init(&s[3], 3, 0, owned);
  for (int i = 0; i < 4; i++) submit(&loop, &s[i], &f[i]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_result(&f[0], NULL), TIDE_EIO);
  ASSERT_ERR(tide_future_result(&f[1], NULL), TIDE_EINVAL);
  ASSERT_NOT_NULL(strstr(tide_future_error_message(&f[1]), "returned 3"));
  ASSERT_ERR(tide_future_result(&f[2], NULL), TIDE_EINVAL);
  ASSERT_NOT_NULL(strstr(tide_future_error_message(&f[2]), "type 5"));
  ASSERT_ERR(tide_future_result(&f[3], NULL), TIDE_EINVAL);
  ASSERT_EQ(bytes_freed, 1);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(s[i].done, 1);
    tide_future_release(&f[i]);
  }
  CLOSE_LOOP(&loop);
}

TEST(work_refuses_bad_arguments) {
  tide_loop loop;
  slot s;
  tide_future f;
  slot_init(&s, 0, 0, tide_value_none());
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_work_submit(&loop, NULL, slot_done, &s, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_work_submit(&loop, slot_fn, slot_done, &s, NULL), TIDE_EINVAL);
  ASSERT_OK(tide_future_set_int(&f, 1));
  ASSERT_ERR(tide_work_submit(&loop, slot_fn, slot_done, &s, &f), TIDE_EINVAL);
  /* Refused: nothing runs, nothing is left registered. */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_EQ(s.ran, 0);
  ASSERT_EQ(s.done, 0);
  tide_future_release(&f);
}

TEST(work_pool_size_by_host) {
  unsigned n = tide_work_pool_size();
  if (n == 0) {
    /* No threads: nothing to size. */
    ASSERT_ERR(tide_work_set_pool_size(2), TIDE_ENOSYS);
    ASSERT_EQ(tide_work_pool_size(), 0);
  } else {
    ASSERT_LE(n, 1024);
    ASSERT_ERR(tide_work_set_pool_size(0), TIDE_EINVAL);
    ASSERT_ERR(tide_work_set_pool_size(1025), TIDE_EINVAL);
    ASSERT_EQ(tide_work_pool_size(), n);
    ASSERT_OK(tide_work_set_pool_size(3));
    ASSERT_EQ(tide_work_pool_size(), 3);
  }
}

TEST(work_cancel_completes_at_once_done_from_loop) {
  /* Cancelled right after submit: CANCELLED when cancel returns, done not run
   * inside the cancel, then exactly once from the loop; fn never runs where
   * there are no threads (natively a worker may have taken it first: then its
   * result is dropped; test-native-work.c pins both cases down). */
  test_alloc al;
  test_alloc_init(&al);
  tide_loop_options opts = test_alloc_options(&al);
  tide_loop loop;
  slot s;
  tide_future f;
  slot_init(&s, 0, 0, tide_value_int(7));
  ASSERT_OK(tide_loop_init(&loop, &opts));
  submit(&loop, &s, &f);
  ASSERT_OK(tide_future_cancel(&f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(s.done, 0);
  /* The job still holds the loop until done has run. */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(s.done, 1);
  ASSERT_EQ(s.fut_done, 1);
  if (tide_work_pool_size() == 0) ASSERT_EQ(s.ran, 0);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECANCELED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&al);
}

TEST(work_release_pending_future) {
  /* Releasing a pending future cancels its job: done still runs once. */
  tide_loop loop;
  slot s[8];
  tide_future f[8];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 8; i++) {
    slot_init(&s[i], i, 0, tide_value_int(i));
    tide_future_init(&loop, &f[i]);
    ASSERT_OK(tide_work_submit(&loop, slot_fn, slot_done, &s[i], &f[i]));
  }
  for (int i = 0; i < 8; i++) tide_future_release(&f[i]);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 8; i++) ASSERT_EQ(s[i].done, 1);
  CLOSE_LOOP(&loop);
}

TEST(work_loop_busy_until_done) {
  /* A job keeps the loop alive and closing refused until its done has run. */
  tide_loop loop;
  slot s;
  tide_future f;
  slot_init(&s, 0, 0, tide_value_int(1));
  ASSERT_OK(tide_loop_init(&loop, NULL));
  submit(&loop, &s, &f);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_ERR(tide_loop_close(&loop), TIDE_EBUSY);
  while (s.done == 0) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT_EQ(int_of_result(&f), 1);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

#define MANY 300

TEST(work_done_exactly_once_many) {
  /* Every third job cancelled at once: each future completes once, each done
   * runs once, fn runs at most once (never for one cancelled where there are
   * no threads), and every job not cancelled has its own result. */
  test_alloc al;
  test_alloc_init(&al);
  tide_loop_options opts = test_alloc_options(&al);
  tide_loop loop;
  static slot s[MANY];
  static tide_future f[MANY];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  for (int i = 0; i < MANY; i++) {
    slot_init(&s[i], i, 0, tide_value_int(i * 3));
    submit(&loop, &s[i], &f[i]);
  }
  for (int i = 0; i < MANY; i += 3) ASSERT_OK(tide_future_cancel(&f[i]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  int ran = 0;
  for (int i = 0; i < MANY; i++) {
    ASSERT_EQ(s[i].done, 1);
    ASSERT_EQ(s[i].fut_done, 1);
    ASSERT_LE(s[i].ran, 1);
    ran += s[i].ran;
    if (i % 3 == 0) {
      ASSERT_ERR(tide_future_result(&f[i], NULL), TIDE_ECANCELED);
      if (tide_work_pool_size() == 0) ASSERT_EQ(s[i].ran, 0);
    } else {
      ASSERT_EQ(s[i].ran, 1);
      ASSERT_EQ(int_of_result(&f[i]), i * 3);
    }
    tide_future_release(&f[i]);
  }
  ASSERT_GE(ran, MANY - MANY / 3);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&al);
}

TEST(work_fifo_on_the_loop_without_threads) {
  /* Without threads fn runs on the loop, one job per callback, in submit
   * order, interleaved with other callbacks as they were scheduled. */
  if (tide_work_pool_size() != 0) return; /* threads: no order is promised */
  tide_loop loop;
  test_log log = {0};
  slot s[3];
  tide_future f[3];
  test_log_call c[2] = {{&log, 100}, {&log, 101}};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    slot_init(&s[i], i, 0, tide_value_none());
    s[i].log = &log;
  }
  submit(&loop, &s[0], &f[0]);
  ASSERT_OK(tide_call_soon(&loop, test_log_call_fn, &c[0], NULL));
  submit(&loop, &s[1], &f[1]);
  submit(&loop, &s[2], &f[2]);
  ASSERT_OK(tide_call_soon(&loop, test_log_call_fn, &c[1], NULL));
  ASSERT_OK(tide_future_cancel(&f[1])); /* removed: it never logs */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 0, 100, 2, 101);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(s[i].done, 1);
    tide_future_release(&f[i]);
  }
  CLOSE_LOOP(&loop);
}

typedef struct await_frame {
  slot s;
  tide_future f;
  int rc;
} await_frame;

static int await_main(tide_task *t, void *frame) {
  await_frame *a = frame;
  TIDE_BEGIN(t);
  slot_init(&a->s, 0, 0, tide_value_int(99));
  tide_future_init(tide_task_loop(t), &a->f);
  ASSERT_OK(tide_work_submit(tide_task_loop(t), slot_fn, NULL, &a->s, &a->f));
  TIDE_AWAIT(t, &a->f, a->rc);
  ASSERT_OK(a->rc);
  {
    int64_t v = int_of_result(&a->f);
    tide_future_release(&a->f);
    TIDE_RETURN_INT(t, v + 1);
  }
  TIDE_END(t);
}

TEST(work_awaited_by_a_task) {
  /* The usual shape: a coroutine awaits the job (done may be NULL). */
  tide_loop loop;
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, await_main, NULL, sizeof(await_frame), &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(int_of_result(tide_task_future(t)), 100);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

/* One job with the nth allocation from now failing. Returns 1 if a failure
 * was injected: the submit then says TIDE_ENOMEM and nothing runs. */
static int submit_failing_at(size_t n) {
  test_alloc al;
  test_alloc_init(&al);
  tide_loop_options opts = test_alloc_options(&al);
  tide_loop loop;
  slot s;
  tide_future f;
  slot_init(&s, 0, 0, tide_value_int(5));
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(&al, n);
  tide_future_init(&loop, &f);
  int rc = tide_work_submit(&loop, slot_fn, slot_done, &s, &f);
  if (rc != 0) {
    ASSERT_ERR(rc, TIDE_ENOMEM);
    ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
    ASSERT_EQ(tide_loop_alive(&loop), 0);
  }
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(s.done, rc == 0);
  if (rc == 0) ASSERT_EQ(int_of_result(&f), 5);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&al);
  return al.failures > 0;
}

TEST(work_alloc_fail_each_allocation) {
  size_t n = 1;
  while (submit_failing_at(n)) {
    n++;
    ASSERT_LT(n, 20);
  }
  ASSERT_GE(n, 2); /* at least the job's block was walked */
}
