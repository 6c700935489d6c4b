/* work_pool.h: the process's worker pool, as the library's own code uses it
 * (work.c for tide_work_submit, resolve_threads.c for tide_resolve).
 *
 * A job is caller storage (usually the first member of a block from the
 * loop's allocator). Its life:
 *
 *   QUEUED   in the pool's queue; no thread has seen it
 *   RUNNING  a worker thread took it and is inside run()
 *   DONE     run() returned (ran 1), or the job was cancelled while QUEUED
 *            (ran 0); the pool is done with it for good and complete() will
 *            run on the loop's thread, once, from a loop callback
 *
 * run() may touch only what the job owns (never the loop or a future);
 * complete() runs on the loop's thread and may free the job. The pool's mutex
 * orders the two: whatever run() wrote is visible to complete().
 *
 * A submitted job keeps its loop alive (and tide_loop_close TIDE_EBUSY) until
 * its complete() has run.
 */
#ifndef TIDE_IO_POSIX_WORK_POOL_H
#define TIDE_IO_POSIX_WORK_POOL_H

#include <stdint.h>

#include "queue.h"
#include "tide.h"

typedef struct tide__work_port tide__work_port;
typedef struct tide__job tide__job;

struct tide__job {
  void (*run)(tide__job *job);      /* on a worker thread */
  void (*complete)(tide__job *job); /* on the loop's thread, once DONE */
  /* Private to the pool: */
  tide__qnode link;      /* the pool's queue while QUEUED; the port's list once DONE */
  tide__work_port *port; /* where the loop learns of completion */
  uint64_t seq;          /* submit order, across both classes */
  unsigned char slow;    /* see tide__job_submit */
  unsigned char state;   /* guarded by the pool's mutex */
  unsigned char ran;     /* 1 if run() ran; valid in complete() */
};

/* Queue job (run and complete set) for the pool on behalf of loop, from the
 * loop's thread. slow marks work that may block for long for reasons outside
 * the process (a DNS server): such jobs hold at most half of the pool's
 * threads (rounded up, at least one), so they never starve the others.
 * Returns 0, TIDE_ENOMEM (the loop's completion port could not be allocated)
 * or TIDE_EAGAIN (no thread exists and none could start); on failure the job
 * is not queued and complete() will not run. */
int tide__job_submit(tide_loop *loop, tide__job *job, int slow);

/* From the loop's thread: take a QUEUED job out of the queue. Returns 1 if it
 * was (run() will never run; complete() runs from the loop later, with ran 0),
 * 0 if a thread already has it or it is DONE (complete() comes as usual). */
int tide__job_cancel(tide__job *job);

#endif /* TIDE_IO_POSIX_WORK_POOL_H */
