/* demo.c: the browser demo's C side (examples/browser/index.html runs it with
 * the npm package; built for the JS host only: <build>/examples/browser-demo.wasm).
 *
 * Exported coroutines (rt.call):
 *   job(id, steps, sleep_ms, fetch_ms, crunch)
 *       A task named "job-<id>" that, `steps` times: sleeps sleep_ms, fetches
 *       through the host function fetch_text(fetch_ms, id) (the page fetches
 *       /api/slow from the local server; the AbortSignal aborts the request if
 *       the task is cancelled), then yields `crunch` times (ready, not waiting).
 *       Returns the number of bytes fetched. Cancelled: ECANCELED at its next
 *       await, and the fetch in flight is aborted.
 *   snapshot()
 *       The loop's live tasks, one line each, from tide_loop_dump_tasks:
 *       A first line "ready-queue <n>" (tide_loop_ready_count), then
 *       "<name> <state> awaiting=<what> created=<file>:<line>" per task. The page
 *       polls it for the timeline and the ready-queue length.
 */
#include <stdio.h>
#include <string.h>

#include "tide.h"

static const tide_value *arg(tide_task *t, size_t i) {
  const tide_value *args;
  size_t n;
  tide_task_args(t, &args, &n);
  return i < n ? &args[i] : NULL;
}

static double num(tide_task *t, size_t i, double dflt) {
  const tide_value *v = arg(t, i);
  return v != NULL && v->type == TIDE_VALUE_DOUBLE ? v->as.d : dflt;
}

typedef struct job_frame {
  int step, steps, crunch, k, rc;
  double id, bytes;
  tide_future fetch;
} job_frame;

static int job_main(tide_task *t, void *frame) {
  job_frame *f = frame;
  TIDE_BEGIN(t);
  f->id = num(t, 0, 0);
  f->steps = (int)num(t, 1, 3);
  f->crunch = (int)num(t, 4, 0);
  {
    char name[32];
    snprintf(name, sizeof name, "job-%d", (int)f->id);
    tide_task_set_name(t, name);
  }
  for (f->step = 0; f->step < f->steps; f->step++) {
    TIDE_SLEEP(t, (uint64_t)num(t, 2, 100), f->rc);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "cancelled while sleeping");
    tide_future_init(tide_task_loop(t), &f->fetch);
    {
      tide_value args[2] = {tide_value_double(num(t, 3, 100)), tide_value_double(f->id)};
      f->rc = tide_host_call(tide_task_loop(t), "fetch_text", args, 2, &f->fetch);
    }
    if (f->rc == 0) TIDE_AWAIT(t, &f->fetch, f->rc);
    if (f->rc == 0) {
      tide_value v;
      if (tide_future_result(&f->fetch, &v) == 0 && v.type == TIDE_VALUE_STRING)
        f->bytes += (double)v.as.bytes.len;
    }
    tide_future_release(&f->fetch);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "the fetch failed or was cancelled");
    for (f->k = 0; f->k < f->crunch; f->k++) {
      TIDE_YIELD(t, f->rc);
      if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "cancelled while crunching");
    }
  }
  TIDE_RETURN_DOUBLE(t, f->bytes);
  TIDE_END(t);
}

typedef struct snap_buf {
  char data[16384];
  size_t len;
} snap_buf;

static int snap_write(const char *data, size_t len, void *ud) {
  snap_buf *b = ud;
  if (len > sizeof b->data - 1 - b->len) len = sizeof b->data - 1 - b->len;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

static int snapshot_main(tide_task *t, void *frame) {
  snap_buf *b = frame;
  tide_task_set_name(t, "snapshot");
  /* First line: the loop's real ready queue (the rest of this tick and the next),
   * then one line per live task. */
  b->len = (size_t)snprintf(b->data, sizeof b->data, "ready-queue %zu\n",
                            tide_loop_ready_count(tide_task_loop(t)));
  (void)tide_loop_dump_tasks(tide_task_loop(t), snap_write, b);
  b->data[b->len] = '\0';
  tide_value v = tide_value_string(b->data);
  TIDE_RETURN_VALUE(t, &v);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  int rc = tide_export_task(loop, "job", job_main, sizeof(job_frame));
  if (rc == 0) rc = tide_export_task(loop, "snapshot", snapshot_main, sizeof(snap_buf));
  return rc;
}

TIDE_MAIN(setup)
