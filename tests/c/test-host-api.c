/* test-host-api.c (portable: tide-tests on the real backend, and tide-tests-fake):
 * the host-facing API as every host sees it: tide_host_call is TIDE_ENOSYS
 * where there are no host functions (native, WASI) and changes nothing; the
 * export registry; tide_task_args; and the portable main, tide_main_run. */
#include "alloc.h"
#include "test.h"
#include "util.h"

#ifdef TIDE_TEST_FAKE
#include "fake.h"
#endif

TEST(host_call_enosys_without_host_functions) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  size_t blocks = a.live_blocks;
  tide_future_init(&loop, &f);
  tide_value arg = tide_value_int(1);
#ifdef TIDE_TEST_FAKE
  /* The fake plays a JS host; told to refuse, it acts as native and WASI do. */
  tide_fake_host_fail_calls(&loop, TIDE_ENOSYS);
#endif
  ASSERT_ERR(tide_host_call(&loop, "double", &arg, 1, &f), TIDE_ENOSYS);
  /* Nothing left behind: no allocation, no referenced work, the future is as
   * it was (pending, no producer) and the loop closes. */
  ASSERT_EQ(a.live_blocks, blocks);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_future_cancel(&f), 0);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

static int nothing_main(tide_task *t, void *frame) {
  (void)frame;
  TIDE_RETURN(t);
}

TEST(host_export_task_registry) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop, other;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_loop_init(&other, &opts));
  ASSERT_ERR(tide_export_task(&loop, NULL, nothing_main, 0), TIDE_EINVAL);
  ASSERT_ERR(tide_export_task(&loop, "", nothing_main, 0), TIDE_EINVAL);
  ASSERT_ERR(tide_export_task(&loop, "x", NULL, 0), TIDE_EINVAL);
  ASSERT_OK(tide_export_task(&loop, "run", nothing_main, 16));
  ASSERT_OK(tide_export_task(&loop, "run2", nothing_main, 0));
  ASSERT_ERR(tide_export_task(&loop, "run", nothing_main, 0), TIDE_EEXIST);
  /* Per loop: another loop's registry is its own. */
  ASSERT_OK(tide_export_task(&other, "run", nothing_main, 0));
  /* Exports register nothing the loop waits for. */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
  ASSERT_NO_LEAKS(&a);
}

static int args_main(tide_task *t, void *frame) {
  const tide_value *args = (const tide_value *)1;
  size_t n = 99;
  (void)frame;
  tide_task_args(t, &args, &n);
  ASSERT_NULL(args);
  ASSERT_EQ(n, 0);
  TIDE_RETURN(t);
}

TEST(host_task_args_empty_for_spawned_task) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, args_main, NULL, 0, NULL));
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- tide_main_run ------------------------------------------------------------- */

/* The JS host has no tide_main_run: rt.main() drives the loop from JS
 * (src/backend/js/exports.c, tide_js_main), so these are listed as skips in
 * js-host.skip there. */
#ifndef TIDE_HOST_JS

static int failing_setup(tide_loop *loop, int argc, char **argv) {
  (void)loop;
  (void)argc;
  (void)argv;
  return TIDE_EACCES;
}

TEST(host_main_run_setup_failure_exits_1) {
  char arg0[] = "prog";
  char *argv[] = {arg0, NULL};
  ASSERT_EQ(tide_main_run(1, argv, failing_setup), 1);
}

typedef struct exit_frame {
  int code;
  int rc;
} exit_frame;

static int exit_main(tide_task *t, void *frame) {
  exit_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 5, f->rc);
  ASSERT_EQ(tide_main_exit_code(tide_task_loop(t)), 0); /* the default */
  tide_main_exit(tide_task_loop(t), 3);
  tide_main_exit(tide_task_loop(t), f->code); /* the last call wins */
  TIDE_END(t);
}

static int exit_setup(tide_loop *loop, int argc, char **argv) {
  exit_frame init = {0, 0};
  ASSERT_EQ(argc, 2);
  init.code = argv[1][0] - '0';
  return tide_task_spawn(loop, exit_main, &init, sizeof init, NULL);
}

TEST(host_main_run_returns_exit_code) {
  char arg0[] = "prog", arg1[] = "7";
  char *argv[] = {arg0, arg1, NULL};
  ASSERT_EQ(tide_main_run(2, argv, exit_setup), 7);
}

static int empty_setup(tide_loop *loop, int argc, char **argv) {
  (void)loop;
  (void)argc;
  (void)argv;
  return 0;
}

TEST(host_main_run_nothing_to_do_exits_0) {
  char arg0[] = "prog";
  char *argv[] = {arg0, NULL};
  ASSERT_EQ(tide_main_run(1, argv, empty_setup), 0);
}
#endif /* !TIDE_HOST_JS */
