/* work.c: tide_work_submit where the build has no threads (WASI preview1, the
 * JS host, the tests' fake backend): fn runs on the loop's thread, one job per
 * loop callback (tide_call_soon at submit, so jobs run in submit order,
 * interleaved with the other callbacks as they were scheduled), and there is
 * no pool to size.
 *
 * Cancelling the future before its callback runs only forgets the future: the
 * callback still comes and runs done(arg) instead of fn, so done runs from the
 * loop (never inside tide_future_cancel) and the cancel hook needs no memory.
 * The queued call keeps the loop alive until then.
 */
#include <assert.h>

#include "work_result.h"

typedef struct job {
  tide_loop *loop;
  tide_work_fn fn;
  tide_work_done_fn done;
  void *arg;
  tide_future *future; /* NULL once cancelled */
} job;

static void run_job(tide_loop *loop, void *ud) {
  job *j = ud;
  if (j->future != NULL) {
    /* fn runs here, on the loop, and cannot be stopped: the hook stays, so a
     * cancel (or release) from inside fn forgets the future and the result is
     * dropped. */
    tide_value result = tide_value_none();
    int rc = j->fn(j->arg, &result);
    if (j->future != NULL) {
      tide_future_set_cancel_hook(j->future, NULL, NULL);
      tide__work_deliver(j->future, rc, &result);
    } else {
      tide__work_discard(&result);
    }
  }
  if (j->done != NULL) j->done(j->arg);
  tide_loop_dealloc(loop, j);
}

static void cancelled(tide_future *f, void *ud) {
  job *j = ud;
  (void)f;
  j->future = NULL;
}

int tide_work_submit(tide_loop *loop, tide_work_fn fn, tide_work_done_fn done, void *arg,
                     tide_future *future) {
  assert(loop != NULL);
  if (!tide__work_args_ok(fn, future)) return TIDE_EINVAL;
  job *j = tide_loop_alloc(loop, sizeof *j);
  if (j == NULL) return TIDE_ENOMEM;
  j->loop = loop;
  j->fn = fn;
  j->done = done;
  j->arg = arg;
  j->future = future;
  if (tide_call_soon(loop, run_job, j, NULL) != 0) {
    tide_loop_dealloc(loop, j);
    return TIDE_ENOMEM;
  }
  tide_future_set_cancel_hook(future, cancelled, j);
  return 0;
}

unsigned tide_work_pool_size(void) {
  return 0;
}

int tide_work_set_pool_size(unsigned threads) {
  (void)threads;
  return TIDE_ENOSYS;
}
