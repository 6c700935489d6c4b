/* test-native-misuse.c: misuse the library catches with assert() in debug
 * builds, checked in a child process (the assertion aborts it), and what the
 * same misuse does with NDEBUG.
 * wasi-skip: WASI preview1 has no fork() to survive an abort in.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* TIDE_RETURN_ERROR with a code that is not an error: rc was 0 after all. */
static int return_error_zero_main(tide_task *t, void *frame) {
  (void)frame;
  TIDE_BEGIN(t);
  TIDE_RETURN_ERROR(t, 0, "not an error");
  TIDE_END(t);
}

TEST(native_return_error_zero_asserts_in_debug) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    tide_loop loop;
    tide_task *t;
    if (tide_loop_init(&loop, NULL) != 0 ||
        tide_task_spawn(&loop, return_error_zero_main, NULL, 0, &t) != 0)
      _exit(4);
    (void)tide_loop_run(&loop, TIDE_RUN_DEFAULT);
    /* Reached only with NDEBUG: the task failed with TIDE_EINVAL. */
    _exit(tide_future_result(tide_task_future(t), NULL) == TIDE_EINVAL ? 3 : 5);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
#ifdef NDEBUG
  ASSERT(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 3);
#else
  ASSERT(WIFSIGNALED(status));
  ASSERT_EQ(WTERMSIG(status), SIGABRT);
#endif
}
