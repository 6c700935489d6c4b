/* hello.c: the smallest tideloop program: one coroutine that sleeps and returns.
 * This is the example in README.md; keep the two identical. */
#include <stdio.h>

#include "tide.h"

/* The frame: everything the coroutine needs across an await. */
struct counter {
  uint64_t start;
  int i;
  int rc;
};

static int counter_main(tide_task *t, void *frame) {
  struct counter *c = frame;
  TIDE_BEGIN(t);
  c->start = tide_loop_now(tide_task_loop(t));
  for (c->i = 0; c->i < 3; c->i++) {
    TIDE_SLEEP(t, 10, c->rc); /* c->rc: 0, or TIDE_ECANCELED */
    if (c->rc) TIDE_RETURN_ERROR(t, c->rc, "stopped early");
    printf("%s: tick %d after %d ms\n", tide_task_name(t), c->i,
           (int)(tide_loop_now(tide_task_loop(t)) - c->start));
  }
  TIDE_RETURN_INT(t, c->i);
  TIDE_END(t);
}

int main(void) {
  tide_loop loop;
  tide_task *task;
  tide_value result;
  int rc;

  if (tide_loop_init(&loop, NULL) != 0) return 1;
  /* A zeroed frame of sizeof(struct counter) bytes; the first step runs on the
   * loop's next tick. We keep a reference (&task) to read the result. */
  rc = tide_task_spawn(&loop, counter_main, NULL, sizeof(struct counter), &task);
  if (rc != 0) {
    fprintf(stderr, "spawn: %s\n", tide_strerror(rc));
    return 1;
  }
  tide_task_set_name(task, "counter");

  /* Run until nothing referenced is left: here, until the task has finished. */
  rc = tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  if (rc < 0) fprintf(stderr, "run: %s\n", tide_strerror(rc));

  rc = tide_future_result(tide_task_future(task), &result);
  if (rc == 0)
    printf("counter returned %lld\n", (long long)result.as.i);
  else
    printf("counter failed: %s\n", tide_err_name(rc));
  tide_task_release(task);

  /* 0 only when nothing is left registered with the loop. */
  return tide_loop_close(&loop) == 0 && rc == 0 ? 0 : 1;
}
