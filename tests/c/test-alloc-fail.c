/* test-alloc-fail.c: out-of-memory at every allocation site, in turn.
 *
 * Each walk runs a scenario again and again with the counting allocator failing
 * its Nth request, N = 1, 2, ... until the scenario completes without meeting a
 * failure. Every injected failure must be visible as exactly one TIDE_ENOMEM
 * from the call that needed the memory (or, for an error message copy, as the
 * fixed message the contract promises); the loop must stay usable afterwards;
 * and after closing, the allocator must have no live block. */
#include "alloc.h"
#include "test.h"
#include "util.h"

#define MAX_WALK 5000

typedef struct outcome {
  int enomem;        /* TIDE_ENOMEM results seen */
  int fixed_message; /* set_error landed with a substitute message */
} outcome;

typedef void (*scenario_fn)(test_alloc *a, size_t fail_n, outcome *out);

/* Run scenario for N = 1.. until no failure is injected; returns the number
 * of runs that met a failure (the allocation sites the scenario crosses). */
static int walk(scenario_fn scenario) {
  for (size_t n = 1; n <= MAX_WALK; n++) {
    test_alloc a;
    outcome out = {0, 0};
    test_alloc_init(&a);
    scenario(&a, n, &out);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(out.enomem + out.fixed_message, (long long)a.failures);
    if (a.failures == 0) return (int)n - 1;
  }
  test__fail(__FILE__, __LINE__, "walk did not finish within %d failures", MAX_WALK);
}

static void count_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (*(int *)ud)++;
}

/* After an ENOMEM the loop must still work: disarm, schedule, run. */
static void check_usable(tide_loop *loop, test_alloc *a) {
  int n = 0;
  size_t saved = a->fail_at;
  a->fail_at = 0;
  ASSERT_OK(tide_call_soon(loop, count_cb, &n, NULL));
  ASSERT_GE(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(n, 1);
  a->fail_at = saved;
}

/* --- loop creation --------------------------------------------------------- */

static void scenario_loop_new(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop *loop = NULL;
  a->fail_at = n;
  int rc = tide_loop_new(&opts, &loop);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    ASSERT_EQ(a->live_blocks, 0); /* nothing half-made */
    return;
  }
  ASSERT_OK(rc);
  ASSERT_OK(tide_loop_free(loop));
}

TEST(alloc_fail_loop_new) {
  ASSERT_GE(walk(scenario_loop_new), 1); /* at least the loop itself */
}

static void scenario_loop_init(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  a->fail_at = n;
  int rc = tide_loop_init(&loop, &opts);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    ASSERT_EQ(a->live_blocks, 0);
    /* Nothing needs closing; a retry works. */
    a->fail_at = 0;
    ASSERT_OK(tide_loop_init(&loop, &opts));
    CLOSE_LOOP(&loop);
    return;
  }
  ASSERT_OK(rc);
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_loop_init_backend) {
  ASSERT_GE(walk(scenario_loop_init), 1);
}

/* --- pool growth: call_soon, call_later, done callbacks ---------------------- */

enum { NCALLS = 300 }; /* crosses several slab growths (32, 64, 128, ...) */

static void scenario_calls(test_alloc *a, size_t n, outcome *out, int later) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  int ran[NCALLS] = {0};
  int ok[NCALLS] = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  for (int i = 0; i < NCALLS; i++) {
    int rc = later ? tide_call_later(&loop, (uint64_t)(i % 3), count_cb, &ran[i], NULL)
                   : tide_call_soon(&loop, count_cb, &ran[i], NULL);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      check_usable(&loop, a);
      continue;
    }
    ASSERT_OK(rc);
    ok[i] = 1;
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < NCALLS; i++)
    ASSERT_EQ(ran[i], ok[i]); /* once, or never */
  CLOSE_LOOP(&loop);
}

static void scenario_call_soon(test_alloc *a, size_t n, outcome *out) {
  scenario_calls(a, n, out, 0);
}
static void scenario_call_later(test_alloc *a, size_t n, outcome *out) {
  scenario_calls(a, n, out, 1);
}

TEST(alloc_fail_call_soon_pool_growth) {
  ASSERT_GE(walk(scenario_call_soon), 1);
}
TEST(alloc_fail_call_later_pool_growth) {
  ASSERT_GE(walk(scenario_call_later), 1);
}

static void done_count_cb(tide_future *f, void *ud) {
  (void)f;
  (*(int *)ud)++;
}

static void scenario_done_callbacks(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future fut;
  int ran[NCALLS] = {0};
  int ok[NCALLS] = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &fut);
  test_alloc_fail_in(a, n);
  for (int i = 0; i < NCALLS; i++) {
    if (i == NCALLS / 2) ASSERT_OK(tide_future_set_int(&fut, 1)); /* half after done */
    int rc = tide_future_add_done_callback(&fut, done_count_cb, &ran[i]);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      check_usable(&loop, a);
      continue;
    }
    ASSERT_OK(rc);
    ok[i] = 1;
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < NCALLS; i++)
    ASSERT_EQ(ran[i], ok[i]);
  tide_future_release(&fut);
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_add_done_callback) {
  ASSERT_GE(walk(scenario_done_callbacks), 1);
}

/* --- timers: init reserves the heap slot, so start never fails -------------- */

static void timer_count_cb(tide_timer *timer) { (*(int *)timer->handle.data)++; }

static void scenario_timers(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_timer t[NCALLS];
  int ran[NCALLS] = {0};
  int ok[NCALLS] = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  for (int i = 0; i < NCALLS; i++) {
    int rc = tide_timer_init(&loop, &t[i]);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      check_usable(&loop, a);
      continue;
    }
    ASSERT_OK(rc);
    ok[i] = 1;
    t[i].handle.data = &ran[i];
    ASSERT_OK(tide_timer_start(&t[i], timer_count_cb, (uint64_t)(i % 3), 0));
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < NCALLS; i++) {
    ASSERT_EQ(ran[i], ok[i]);
    if (ok[i]) tide_handle_close(&t[i].handle, NULL);
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_timer_init_heap_growth) {
  ASSERT_GE(walk(scenario_timers), 1);
}

/* --- tasks and futures ------------------------------------------------------ */

struct small_frame {
  int *ran;
  int rc;
};

static int small_main(tide_task *t, void *frame) {
  struct small_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_YIELD(t, f->rc);
  (*f->ran)++;
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

enum { NTASKS = 40 };

static void scenario_task_spawn(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_task *tasks[NTASKS] = {0};
  int ran[NTASKS] = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  for (int i = 0; i < NTASKS; i++) {
    struct small_frame init = {&ran[i], 0};
    /* Half detached, half held. */
    int rc = tide_task_spawn(&loop, small_main, &init, sizeof init,
                             i % 2 ? &tasks[i] : NULL);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      tasks[i] = NULL;
      ran[i] = -1;
      check_usable(&loop, a);
      continue;
    }
    ASSERT_OK(rc);
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < NTASKS; i++) {
    if (ran[i] == -1) continue;
    ASSERT_EQ(ran[i], 1);
    if (tasks[i]) tide_task_release(tasks[i]);
  }
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_task_spawn) {
  ASSERT_GE(walk(scenario_task_spawn), 1);
}

static void scenario_future_new(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future *f[8] = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  for (int i = 0; i < 8; i++) {
    int rc = tide_future_new(&loop, &f[i]);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      f[i] = NULL;
      check_usable(&loop, a);
      continue;
    }
    ASSERT_OK(rc);
    ASSERT_OK(tide_future_set_int(f[i], i));
  }
  for (int i = 0; i < 8; i++)
    if (f[i]) tide_future_free(f[i]);
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_future_new) {
  ASSERT_GE(walk(scenario_future_new), 1);
}

static void scenario_error_message(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future f;
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  tide_future_init(&loop, &f);
  test_alloc_fail_in(a, n);
  /* The error lands even when its message cannot be copied. */
  ASSERT_OK(tide_future_set_error(&f, TIDE_EHOSTUNREACH, "route to host vanished"));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_ERROR);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EHOSTUNREACH);
  const char *msg = tide_future_error_message(&f);
  ASSERT_NOT_NULL(msg);
  if (strcmp(msg, "route to host vanished") != 0) out->fixed_message++;
  tide_future_release(&f);
  /* An unobserved one reports whichever message it has. */
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_future_set_error(&f, TIDE_EIO, "second message"));
  tide_future_release(&f);
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EIO);
  if (strcmp(errs.last_message, "second message") != 0) out->fixed_message++;
  CLOSE_LOOP(&loop);
}

TEST(alloc_fail_error_message_copy) {
  ASSERT_GE(walk(scenario_error_message), 1);
}

/* --- everything at once ------------------------------------------------------ */

struct mixed_frame {
  tide_future *fut;
  int rc;
  int steps;
};

static int mixed_main(tide_task *t, void *frame) {
  struct mixed_frame *f = frame;
  TIDE_BEGIN(t);
  f->steps++;
  TIDE_AWAIT(t, f->fut, f->rc);
  f->steps++;
  TIDE_SLEEP(t, 1, f->rc);
  if (f->rc == 0) TIDE_RETURN_ERROR(t, TIDE_EPIPE, "mixed task error message");
  TIDE_END(t);
}

static void scenario_mixed(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop *loop = NULL;
  tide_future *fut = NULL;
  tide_task *task = NULL;
  test_errors errs;
  int calls = 0, dones = 0;
  a->fail_at = n;
  int rc = tide_loop_new(&opts, &loop);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    return;
  }
  ASSERT_OK(rc);
  test_errors_install(loop, &errs);

  rc = tide_future_new(loop, &fut);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    fut = NULL;
  } else {
    ASSERT_OK(rc);
  }
  for (int i = 0; i < 40; i++) {
    rc = tide_call_soon(loop, count_cb, &calls, NULL);
    if (rc == TIDE_ENOMEM)
      out->enomem++, calls++; /* count it as done */
    else
      ASSERT_OK(rc);
  }
  if (fut) {
    for (int i = 0; i < 40; i++) {
      rc = tide_future_add_done_callback(fut, done_count_cb, &dones);
      if (rc == TIDE_ENOMEM)
        out->enomem++, dones++;
      else
        ASSERT_OK(rc);
    }
    struct mixed_frame init = {fut, 0, 0};
    rc = tide_task_spawn(loop, mixed_main, &init, sizeof init, &task);
    if (rc == TIDE_ENOMEM) {
      out->enomem++;
      task = NULL;
    } else {
      ASSERT_OK(rc);
    }
  }
  ASSERT_GE(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  if (fut) ASSERT_OK(tide_future_set_int(fut, 7));
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(calls, 40);
  if (fut) ASSERT_EQ(dones, 40);
  if (task) {
    ASSERT_ERR(tide_future_result(tide_task_future(task), NULL), TIDE_EPIPE);
    const char *msg = tide_future_error_message(tide_task_future(task));
    ASSERT_NOT_NULL(msg);
    if (strcmp(msg, "mixed task error message") != 0) out->fixed_message++;
    tide_task_release(task);
  }
  if (fut) tide_future_free(fut);
  ASSERT_EQ(errs.count, 0);
  ASSERT_OK(tide_loop_free(loop));
}

TEST(alloc_fail_mixed_scenario) {
  ASSERT_GE(walk(scenario_mixed), 4);
}

/* The harness's own allocator: counts, fails on cue, tracks live memory. */
TEST(test_alloc_counts_fails_and_tracks) {
  test_alloc a;
  test_alloc_init(&a);
  char *p = test_alloc_fn(&a, NULL, 10);
  ASSERT_NOT_NULL(p);
  memcpy(p, "0123456789", 10);
  ASSERT_EQ(a.count, 1);
  ASSERT_EQ(a.live_blocks, 1);
  ASSERT_EQ(a.live_bytes, 10);
  p = test_alloc_fn(&a, p, 20); /* grow keeps the contents */
  ASSERT_NOT_NULL(p);
  ASSERT_EQ(memcmp(p, "0123456789", 10), 0);
  ASSERT_EQ(a.live_blocks, 1);
  ASSERT_EQ(a.live_bytes, 20);
  test_alloc_fail_in(&a, 1);
  ASSERT_NULL(test_alloc_fn(&a, p, 40)); /* a failed resize keeps the block */
  ASSERT_EQ(memcmp(p, "0123456789", 10), 0);
  ASSERT_EQ(a.failures, 1);
  void *q = test_alloc_fn(&a, NULL, 8); /* only the Nth fails */
  ASSERT_NOT_NULL(q);
  ASSERT_NULL(test_alloc_fn(&a, p, 0));
  ASSERT_NULL(test_alloc_fn(&a, q, 0));
  ASSERT_NULL(test_alloc_fn(&a, NULL, 0)); /* freeing NULL is a no-op */
  ASSERT_NO_LEAKS(&a);
  ASSERT_EQ(a.peak_bytes, 28);
  a.fail_at = a.count + 1;
  a.fail_after = 1;
  ASSERT_NULL(test_alloc_fn(&a, NULL, 1));
  ASSERT_NULL(test_alloc_fn(&a, NULL, 1));
  ASSERT_EQ(a.failures, 3);
}
