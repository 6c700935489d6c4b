/* virtual_time.c: testing your own coroutine's timeouts in milliseconds, on a
 * virtual clock (tide.h, "Virtual time").
 *
 * The code under test is an ordinary coroutine: retry an operation with
 * exponential backoff (1 s, 2 s, 4 s, ...), each attempt limited to 5 s, the
 * whole thing to 60 s (asyncio.timeout). On the host's clock a test of it
 * would take a minute per case; on a TIDE_CLOCK_AUTOJUMP loop the same code
 * runs at once, and every time it sees is exact, so the test can assert the
 * whole schedule. The operation is a fake the test scripts: how long each
 * attempt takes, and whether it fails.
 *
 * Run natively or under WASI (one source); it exits 0 if every case behaves.
 */
#include <stdio.h>
#include <string.h>

#include "tide.h"

/* --- The code under test ------------------------------------------------------ */

/* What an attempt does: the fake service the test scripts. */
typedef struct script {
  int attempts;        /* how many the script has */
  uint64_t take_ms[8]; /* how long attempt i takes */
  int fails[8];        /* whether attempt i fails */
  uint64_t started[8]; /* when (loop time) attempt i started */
  int made;            /* attempts made so far */
} script;

typedef struct attempt_frame {
  script *s;
  int i, rc;
} attempt_frame;

/* One attempt: takes its scripted time, then succeeds or fails. */
static int attempt_main(tide_task *t, void *frame) {
  attempt_frame *f = frame;
  TIDE_BEGIN(t);
  f->s->started[f->i] = tide_loop_now(tide_task_loop(t));
  TIDE_SLEEP(t, f->s->take_ms[f->i], f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, NULL);
  if (f->s->fails[f->i]) TIDE_RETURN_ERROR(t, TIDE_EIO, "service unavailable");
  TIDE_RETURN_INT(t, f->i + 1);
  TIDE_END(t);
}

enum { ATTEMPT_TIMEOUT_MS = 5000, TOTAL_TIMEOUT_MS = 60000, FIRST_BACKOFF_MS = 1000 };

typedef struct retry_frame {
  script *s;
  tide_timeout total;
  tide_task *child;
  tide_future limited;
  uint64_t backoff;
  int rc;
} retry_frame;

/* The coroutine under test: returns the number of the attempt that worked, or
 * TIDE_ETIMEDOUT once 60 s have passed. */
static int retry_main(tide_task *t, void *frame) {
  retry_frame *f = frame;
  TIDE_BEGIN(t);
  f->backoff = FIRST_BACKOFF_MS;
  tide_task_timeout_begin(t, &f->total, TOTAL_TIMEOUT_MS);
  for (;;) {
    {
      attempt_frame a = {f->s, f->s->made++, 0};
      f->rc = tide_task_spawn(tide_task_loop(t), attempt_main, &a, sizeof a, &f->child);
      if (f->rc != 0) break;
    }
    tide_future_init(tide_task_loop(t), &f->limited);
    f->rc = tide_wait_for(tide_task_loop(t), tide_task_future(f->child), ATTEMPT_TIMEOUT_MS,
                          &f->limited);
    if (f->rc == 0) TIDE_AWAIT(t, &f->limited, f->rc);
    tide_future_release(&f->limited);
    if (f->rc == 0) {
      tide_value v;
      tide_future_result(tide_task_future(f->child), &v);
      tide_task_release(f->child);
      f->rc = (int)v.as.i;
      break;
    }
    tide_task_release(f->child);
    if (f->rc == TIDE_ECANCELED) break; /* the 60 s are up */
    TIDE_SLEEP(t, f->backoff, f->rc);
    if (f->rc != 0) break;
    f->backoff *= 2;
  }
  tide_task_timeout_end(t, &f->total, &f->rc);
  if (f->rc < 0) TIDE_RETURN_ERROR(t, f->rc, NULL);
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

/* --- The test ---------------------------------------------------------------------- */

static int failures;

#define EXPECT(cond)                                                              \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);         \
      failures++;                                                                 \
    }                                                                             \
  } while (0)

/* Run retry() against a script on a fresh autojump loop: its result (the
 * attempt number or an error) and the loop time it took. */
static int run_case(script *s, uint64_t *took) {
  tide_loop loop;
  if (tide_loop_init(&loop, NULL) != 0) return -1000;
  tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP);
  uint64_t t0 = tide_loop_now(&loop);
  retry_frame init;
  memset(&init, 0, sizeof init);
  init.s = s;
  tide_task *task;
  if (tide_task_spawn(&loop, retry_main, &init, sizeof init, &task) != 0) return -1000;
  tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  tide_value v;
  int rc = tide_future_result(tide_task_future(task), &v);
  tide_task_release(task);
  *took = tide_loop_now(&loop) - t0;
  for (int i = 0; i < s->made; i++) s->started[i] -= t0;
  tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  if (tide_loop_close(&loop) != 0) {
    fprintf(stderr, "the loop did not close: something was left behind\n");
    failures++;
  }
  return rc == 0 ? (int)v.as.i : rc;
}

int main(void) {
  uint64_t took;

  /* Fails twice, then works: attempts at 0, 0.1+1, 1.2+2 s. */
  script flaky = {3, {100, 100, 100}, {1, 1, 0}, {0}, 0};
  EXPECT(run_case(&flaky, &took) == 3);
  EXPECT(flaky.started[0] == 0 && flaky.started[1] == 1100 && flaky.started[2] == 3200);
  EXPECT(took == 3300);
  printf("flaky service: attempt 3 worked after %llu ms of loop time\n",
         (unsigned long long)took);

  /* An attempt that hangs is cut at 5 s, and the next one works. */
  script hanging = {2, {3600000, 200}, {0, 0}, {0}, 0};
  EXPECT(run_case(&hanging, &took) == 2);
  EXPECT(hanging.started[1] == 6000 && took == 6200);
  printf("hanging attempt: cut at 5000 ms, attempt 2 worked after %llu ms\n",
         (unsigned long long)took);

  /* Always failing slowly: the 60 s total ends it, exactly on time. */
  script down = {8, {4000, 4000, 4000, 4000, 4000, 4000, 4000, 4000}, {1, 1, 1, 1, 1, 1, 1, 1},
                 {0}, 0};
  EXPECT(run_case(&down, &took) == TIDE_ETIMEDOUT);
  EXPECT(took == TOTAL_TIMEOUT_MS);
  printf("service down: gave up after %llu ms and %d attempts\n", (unsigned long long)took,
         down.made);

  if (failures == 0) printf("all cases passed, in a few ms of real time\n");
  return failures == 0 ? 0 : 1;
}
