/* work.c: tide_work_submit natively: fn runs on the process's worker pool
 * (work_pool.c), and its result completes the future on the loop's thread.
 *
 * A job is one block from its loop's allocator. The worker touches only fn,
 * arg, rc and result; the future, done() and the allocator are the loop
 * thread's (complete() and the cancel hook). Cancelling the future completes
 * it CANCELLED at once (the hook does not defer it) and forgets it: a queued
 * job leaves the queue and comes back through the port with ran 0, a running
 * one comes back when fn returns; either way complete() runs done(arg) from
 * the loop and frees the block, and until then the job keeps the loop alive.
 */
#include <assert.h>
#include <string.h>

#include "work_pool.h"
#include "work_result.h"

typedef struct work {
  tide__job job; /* first: the block is the job */
  tide_loop *loop;
  tide_work_fn fn;
  tide_work_done_fn done;
  void *arg;
  tide_future *future; /* the caller's; NULL once cancelled (loop thread) */
  int rc;              /* fn's return and result: written by the worker */
  tide_value result;
} work;

static void run(tide__job *job) {
  work *w = (work *)job;
  w->result = tide_value_none();
  w->rc = w->fn(w->arg, &w->result);
}

static void complete(tide__job *job) {
  work *w = (work *)job;
  if (w->future != NULL) {
    assert(job->ran); /* a job taken out of the queue was cancelled first */
    tide_future_set_cancel_hook(w->future, NULL, NULL);
    tide__work_deliver(w->future, w->rc, &w->result);
  } else if (job->ran) {
    tide__work_discard(&w->result); /* cancelled while fn ran */
  }
  if (w->done != NULL) w->done(w->arg);
  tide_loop_dealloc(w->loop, w);
}

/* The future was cancelled or released: it is CANCELLED when this returns.
 * Whether the job was still queued or is running, complete() follows. */
static void cancelled(tide_future *f, void *ud) {
  work *w = ud;
  (void)f;
  w->future = NULL;
  (void)tide__job_cancel(&w->job);
}

/* tide_work_submit with a class: slow 1 is for tests of the slow class (a
 * job that stands in for a lookup blocked on a DNS server); not public. */
int tide__work_submit_class(tide_loop *loop, tide_work_fn fn, tide_work_done_fn done,
                            void *arg, tide_future *future, int slow) {
  assert(loop != NULL);
  if (!tide__work_args_ok(fn, future)) return TIDE_EINVAL;
  work *w = tide_loop_alloc(loop, sizeof *w);
  if (w == NULL) return TIDE_ENOMEM;
  memset(w, 0, sizeof *w);
  w->job.run = run;
  w->job.complete = complete;
  w->loop = loop;
  w->fn = fn;
  w->done = done;
  w->arg = arg;
  w->future = future;
  int rc = tide__job_submit(loop, &w->job, slow);
  if (rc != 0) {
    tide_loop_dealloc(loop, w);
    return rc;
  }
  tide_future_set_cancel_hook(future, cancelled, w);
  return 0;
}

int tide_work_submit(tide_loop *loop, tide_work_fn fn, tide_work_done_fn done, void *arg,
                     tide_future *future) {
  return tide__work_submit_class(loop, fn, done, arg, future, 0);
}
