/* trace.c: record a trace of a small worker pool and write it as Chrome
 * trace-event JSON. Open the file in https://ui.perfetto.dev (or
 * chrome://tracing): one track per task, a slice for each task's life and each
 * step, and instants where tasks await, sleep, wake and get cancelled.
 *
 * What it shows:
 * - tide_loop_trace_start / _stop / _export, writing through stdio;
 * - TIDE_SPAWN, which records where each task was created, and the task dump;
 * - debug mode (slow-callback reports) left on: nothing here is slow, so it
 *   stays quiet;
 * - a bounded queue feeding three workers, a lock around a shared counter, and
 *   a watchdog task cancelled once the work is done.
 *
 * Usage: trace [output.json]   (default: trace.json in the current directory)
 */
#include <stdio.h>

#include "tide.h"

enum { JOBS = 9, WORKERS = 3 };

struct shared {
  tide_queue jobs; /* items are job numbers + 1 cast to pointers */
  tide_lock lock;  /* guards `done` */
  int done;
};

/* --- A worker: take a job, "process" it (sleep), count it under the lock. */
struct worker {
  struct shared *sh;
  tide_future f;
  int job;
  int rc;
};

static int worker_main(tide_task *t, void *frame) {
  struct worker *w = frame;
  tide_value v;
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(tide_task_loop(t), &w->f);
    tide_queue_get(&w->sh->jobs, &w->f);
    TIDE_AWAIT(t, &w->f, w->rc);
    if (w->rc == 0) tide_future_result(&w->f, &v);
    tide_future_release(&w->f);
    if (w->rc != 0) break; /* TIDE_ECLOSED: the queue was shut down */
    w->job = (int)(intptr_t)v.as.p - 1;
    TIDE_SLEEP(t, 10 + 7 * (w->job % 3), w->rc); /* the work */

    tide_future_init(tide_task_loop(t), &w->f);
    tide_lock_acquire(&w->sh->lock, &w->f);
    TIDE_AWAIT(t, &w->f, w->rc);
    tide_future_release(&w->f);
    if (w->rc == 0) {
      TIDE_SLEEP(t, 2, w->rc); /* hold the lock a little: others queue up */
      w->sh->done++;
      tide_lock_release(&w->sh->lock);
    }
    tide_queue_task_done(&w->sh->jobs);
  }
  TIDE_END(t);
}

/* --- A watchdog that would complain after a second; cancelled when done. */
struct watchdog {
  int rc;
};

static int watchdog_main(tide_task *t, void *frame) {
  struct watchdog *d = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 1000, d->rc);
  if (d->rc == 0) fprintf(stderr, "watchdog: the work took too long\n");
  TIDE_END(t);
}

/* --- The main task: start everything, feed the queue, wait, clean up. */
struct boss {
  struct shared *sh;
  tide_task *workers[WORKERS];
  tide_task *watchdog;
  tide_future f;
  int i;
  int rc;
};

static int boss_main(tide_task *t, void *frame) {
  struct boss *b = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (b->i = 0; b->i < WORKERS; b->i++) {
    TIDE_SPAWN(loop, worker_main, &(struct worker){.sh = b->sh}, sizeof(struct worker),
               &b->workers[b->i]);
    tide_task_set_name(b->workers[b->i], b->i == 0   ? "worker-a"
                                         : b->i == 1 ? "worker-b"
                                                     : "worker-c");
  }
  TIDE_SPAWN(loop, watchdog_main, NULL, sizeof(struct watchdog), &b->watchdog);
  tide_task_set_name(b->watchdog, "watchdog");

  for (b->i = 0; b->i < JOBS; b->i++) { /* waits while 2 jobs are queued */
    tide_future_init(loop, &b->f);
    tide_queue_put(&b->sh->jobs, (void *)(intptr_t)(b->i + 1), 0, &b->f);
    TIDE_AWAIT(t, &b->f, b->rc);
    tide_future_release(&b->f);
  }
  tide_future_init(loop, &b->f);
  tide_queue_join(&b->sh->jobs, &b->f); /* every job processed */
  TIDE_AWAIT(t, &b->f, b->rc);
  tide_future_release(&b->f);

  tide_queue_shutdown(&b->sh->jobs, 0); /* the workers' gets fail: they end */
  tide_task_cancel(b->watchdog);
  for (b->i = 0; b->i < WORKERS; b->i++) {
    TIDE_AWAIT(t, tide_task_future(b->workers[b->i]), b->rc);
    tide_task_release(b->workers[b->i]);
  }
  TIDE_AWAIT(t, tide_task_future(b->watchdog), b->rc);
  tide_task_release(b->watchdog);
  printf("processed %d jobs with %d workers\n", b->sh->done, WORKERS);
  TIDE_END(t);
}

static int write_file(const char *data, size_t len, void *ud) {
  return fwrite(data, 1, len, (FILE *)ud) == len ? 0 : TIDE_EIO;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "trace.json";
  struct shared sh = {0};
  tide_loop loop;
  tide_task *boss;
  size_t recorded, dropped;
  int rc;

  if (tide_loop_init(&loop, NULL) != 0) return 1;
  tide_queue_init(&loop, &sh.jobs, TIDE_QUEUE_FIFO, 2);
  tide_lock_init(&loop, &sh.lock);
  if (tide_loop_set_debug(&loop, 100) != 0 ||
      tide_loop_trace_start(&loop, 10000) != 0) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }

  rc = TIDE_SPAWN(&loop, boss_main, &(struct boss){.sh = &sh}, sizeof(struct boss),
                  &boss);
  if (rc != 0) return 1;
  tide_task_set_name(boss, "boss");
  rc = tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  tide_loop_trace_stop(&loop);

  /* Every task is done by now; the dump shows how each ended. */
  printf("tasks at the end:\n");
  tide_loop_dump_tasks(&loop, write_file, stdout);

  FILE *out = fopen(path, "w");
  if (out == NULL) {
    perror(path);
    return 1;
  }
  int wrc = tide_loop_trace_export(&loop, write_file, out);
  if (fclose(out) != 0 && wrc == 0) wrc = TIDE_EIO;
  tide_loop_trace_counts(&loop, &recorded, &dropped);
  if (wrc != 0) {
    fprintf(stderr, "%s: %s\n", path, tide_strerror(wrc));
    return 1;
  }
  printf("wrote %s: %zu events (%zu dropped); open it in https://ui.perfetto.dev\n",
         path, recorded, dropped);

  int ok = rc == 0 && tide_future_result(tide_task_future(boss), NULL) == 0;
  tide_task_release(boss);
  tide_queue_destroy(&sh.jobs);
  tide_lock_destroy(&sh.lock);
  return tide_loop_close(&loop) == 0 && ok ? 0 : 1;
}
