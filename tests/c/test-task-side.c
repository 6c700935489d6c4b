/* test-task-side.c: what a task keeps in its side block, made on first use (a
 * name, where TIDE_SPAWN was called): names set after the spawn or from the
 * coroutine, asked for by an error handler, the block freed on every way a task
 * ends, cleanup callbacks with and without one, and running out of memory for
 * it; ordering only (any clock). The task dump's view is in test-diag.c. */
#include "alloc.h"
#include "test.h"
#include "util.h"

struct named_frame {
  const char *own_name; /* set by the coroutine itself, at its first step */
  int sleep_ms;         /* then sleep (0: yield) */
  int fail;             /* then fail instead of returning */
  int *cleanups;
  int rc;
};

static int named_main(tide_task *t, void *frame) {
  struct named_frame *f = frame;
  TIDE_BEGIN(t);
  if (f->own_name != NULL) tide_task_set_name(t, f->own_name);
  if (f->sleep_ms > 0)
    TIDE_SLEEP(t, f->sleep_ms, f->rc);
  else
    TIDE_YIELD(t, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "stopped");
  if (f->fail) TIDE_RETURN_ERROR(t, TIDE_EIO, "failed on purpose");
  TIDE_RETURN_INT(t, 7);
  TIDE_END(t);
}

static void count_cleanup(void *frame) {
  struct named_frame *f = frame;
  (*f->cleanups)++;
}

TEST(task_side_names_after_spawn_and_from_the_coroutine) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task *outside, *inside, *asked;
  struct named_frame init = {NULL, 0, 0, NULL, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &outside));
  init.own_name = "from-inside";
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &inside));
  init.own_name = NULL;
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &asked));

  tide_task_set_name(outside, "from-outside");
  ASSERT_STR_EQ(tide_task_name(outside), "from-outside");
  ASSERT_STR_EQ(tide_task_name(inside), "task-2"); /* not started yet */
  const char *first = tide_task_name(asked);
  ASSERT_STR_EQ(first, "task-3");
  ASSERT_PTR_EQ(tide_task_name(asked), first); /* the same storage each time */
  ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_STR_EQ(tide_task_name(inside), "from-inside");
  /* Renamed after its default was handed out, then back to the default. */
  tide_task_set_name(asked, "renamed");
  ASSERT_STR_EQ(tide_task_name(asked), "renamed");
  tide_task_set_name(asked, NULL);
  ASSERT_STR_EQ(tide_task_name(asked), "task-3");

  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* Finished and still held: the names stay, with the results. */
  ASSERT_STR_EQ(tide_task_name(outside), "from-outside");
  ASSERT_STR_EQ(tide_task_name(inside), "from-inside");
  tide_value v;
  ASSERT_OK(tide_future_result(tide_task_future(inside), &v));
  ASSERT_EQ(v.as.i, 7);
  tide_task_release(outside);
  tide_task_release(inside);
  tide_task_release(asked);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* The handler of a detached task's failure asks for its name: the block that
 * makes is freed with the task, right after the report. */
static void name_in_handler(tide_loop *loop, const tide_error_report *report,
                            void *ud) {
  (void)loop;
  char *seen = ud;
  ASSERT_NOT_NULL(report->task);
  snprintf(seen, 32, "%s", tide_task_name(report->task));
}

TEST(task_side_name_asked_by_the_error_handler) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  char seen[32] = "";
  struct named_frame init = {NULL, 0, 1, NULL, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_loop_set_error_handler(&loop, name_in_handler, seen);
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_STR_EQ(seen, "task-1");
  init.own_name = "worker";
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_STR_EQ(seen, "worker");
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Tasks with a side block (named, or spawned with TIDE_SPAWN) end in every way
 * a task can: each block goes with its task, and each cleanup runs once,
 * block or not. The closing loop would assert on a block left in its pool. */
TEST(task_side_freed_and_cleanup_run_on_every_end) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_errors errs;
  int cleanups = 0;
  tide_task *sleeper, *fresh, *early, *asked, *named;
  struct named_frame init = {NULL, 0, 0, &cleanups, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);

  /* Detached: plain, named inside, spawned with TIDE_SPAWN, failing. */
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, NULL));
  init.own_name = "detached";
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, NULL));
  init.own_name = NULL;
  ASSERT_OK(TIDE_SPAWN(&loop, named_main, &init, sizeof init, NULL));
  init.fail = 1;
  ASSERT_OK(TIDE_SPAWN(&loop, named_main, &init, sizeof init, NULL));
  init.fail = 0;
  /* Held: cancelled while sleeping, cancelled before its start, released
   * before it ends, and two that end normally. */
  init.sleep_ms = 1000;
  ASSERT_OK(TIDE_SPAWN(&loop, named_main, &init, sizeof init, &sleeper));
  init.sleep_ms = 0;
  ASSERT_OK(TIDE_SPAWN(&loop, named_main, &init, sizeof init, &fresh));
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &early));
  tide_task_set_name(early, "released-early");
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &asked));
  ASSERT_STR_EQ(tide_task_name(asked), "task-8");
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &named));
  tide_task_set_name(named, "named");
  tide_task *all[] = {sleeper, fresh, early, asked, named};
  for (size_t i = 0; i < TEST_ARRAY_SIZE(all); i++)
    tide_task_set_cleanup(all[i], count_cleanup);

  ASSERT_OK(tide_task_cancel(fresh));
  tide_task_release(early);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* the sleeper sleeps */
  ASSERT_OK(tide_task_cancel(sleeper));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(errs.count, 1); /* the detached failure */
  ASSERT_ERR(tide_future_result(tide_task_future(sleeper), NULL), TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(fresh)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(cleanups, 1); /* early's, at its end */
  for (size_t i = 0; i < TEST_ARRAY_SIZE(all); i++)
    if (all[i] != early) tide_task_release(all[i]);
  ASSERT_EQ(cleanups, 5);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Out of memory for the side block: tide_task_set_name keeps the name the task
 * had, tide_task_name still answers (from the loop's buffer), TIDE_SPAWN fails
 * whole and takes no task number. */
TEST(task_side_out_of_memory) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task *t, *u;
  struct named_frame init = {NULL, 0, 0, NULL, 0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &t));
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &u));

  a.fail_at = a.count + 1; /* every request from now on fails */
  a.fail_after = 1;
  tide_task_set_name(t, "lost");
  ASSERT_STR_EQ(tide_task_name(t), "task-1");
  ASSERT_STR_EQ(tide_task_name(u), "task-2");
  ASSERT_ERR(TIDE_SPAWN(&loop, named_main, &init, sizeof init, NULL), TIDE_ENOMEM);
  ASSERT_GT(a.failures, 0);
  test_alloc_disarm(&a);

  tide_task_set_name(t, "kept");
  ASSERT_STR_EQ(tide_task_name(t), "kept");
  ASSERT_OK(TIDE_SPAWN(&loop, named_main, &init, sizeof init, NULL));
  tide_task *v;
  ASSERT_OK(tide_task_spawn(&loop, named_main, &init, sizeof init, &v));
  ASSERT_STR_EQ(tide_task_name(v), "task-4"); /* the failed spawn took none */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_task_release(t);
  tide_task_release(u);
  tide_task_release(v);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}
