/* test-real-process.c (tide-tests on every real backend, native and WASI): what
 * tide_process_spawn does on each host, and the options it refuses everywhere.
 * Natively a child runs (test-native-process.c has the rest); under WASI, whose
 * preview1 has no process API, the spawn future fails at once with
 * TIDE_ENOSYS and a message naming WASI (src/io/enosys/no_process.c), and
 * nothing is left on the loop. */
#include <string.h>

#include "test.h"

TEST(process_spawn_runs_a_child_or_says_the_host_has_none) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  const char *argv[] = {"/bin/sh", "-c", "exit 7", NULL};
  tide_process_options o;
  memset(&o, 0, sizeof o);
  o.argv = argv;
  ASSERT_OK(tide_process_spawn(&loop, &o, &f));
  ASSERT(tide_future_done(&f)); /* on both hosts, complete when the call returns */
#ifdef __wasi__
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ENOSYS);
  ASSERT(strstr(tide_future_error_message(&f), "WASI") != NULL);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
#else
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  tide_process *p = v.as.p;
  tide_future w;
  tide_future_init(&loop, &w);
  ASSERT_OK(tide_process_wait(p, &w));
  while (!tide_future_done(&w)) ASSERT_GE(tide_loop_run(&loop, TIDE_RUN_ONCE), 0);
  ASSERT_OK(tide_future_result(&w, &v));
  ASSERT_EQ(v.as.i, 7);
  tide_future_release(&w);
  tide_process_release(p);
#endif
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(process_spawn_refuses_bad_options_at_once) {
  tide_loop loop;
  tide_future f, done;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_future_set_none(&done));
  const char *argv[] = {"/bin/true", NULL};
  const char *empty[] = {"", NULL};
  const char *none[] = {NULL};
  tide_process_options o;
  memset(&o, 0, sizeof o);
  ASSERT_ERR(tide_process_spawn(&loop, NULL, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL); /* no argv */
  o.argv = none;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL);
  o.argv = empty;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL);
  o.argv = argv;
  o.env_mode = 5;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL);
  o.env_mode = TIDE_ENV_REPLACE;
  o.stdio[1].mode = 4;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL);
  o.stdio[1].mode = TIDE_STDIO_FD;
  o.stdio[1].fd = -1;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &f), TIDE_EINVAL);
  o.stdio[1].mode = TIDE_STDIO_INHERIT;
  ASSERT_ERR(tide_process_spawn(&loop, &o, &done), TIDE_EINVAL); /* a done future */
  ASSERT_ERR(tide_process_spawn(&loop, &o, NULL), TIDE_EINVAL);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_future_release(&f);
  tide_future_release(&done);
  RUN_AND_CLOSE_LOOP(&loop);
}
