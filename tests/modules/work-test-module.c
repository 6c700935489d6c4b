/* work-test-module.c: the module tests/js/work.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-work-test-module.wasm.
 *
 * The JS host has no threads: tide_work_submit runs each job's fn on the
 * loop, one job per loop callback, in submit order. Its TIDE_MAIN setup
 * exports one coroutine (rt.call(name, args)):
 *   work(n, cancel, fail)  submits n jobs (at most 16); job i's fn logs i and
 *                          returns the INT i * 10, or fails with TIDE_EIO when
 *                          i is `fail`; job `cancel` is cancelled right after
 *                          the submits. Awaits every job in order and returns
 *                          "order=<fn runs> results=<each outcome> done=<done
 *                          calls> pool=<tide_work_pool_size()>
 *                          resize=<tide_work_set_pool_size(2)>", outcomes and
 *                          codes by name (ECANCELED, EIO, ENOSYS).
 */
#include <stdio.h>
#include <string.h>

#include "tide.h"

#define MAX_JOBS 16

typedef struct work_frame work_frame;

typedef struct slot {
  work_frame *frame;
  int index, fail;
} slot;

struct work_frame {
  int n, i, rc, done;
  slot slots[MAX_JOBS];
  tide_future f[MAX_JOBS];
  char order[128];
  char out[512];
};

static int job_fn(void *arg, tide_value *result) {
  slot *s = arg;
  size_t len = strlen(s->frame->order);
  snprintf(s->frame->order + len, sizeof s->frame->order - len, "%s%d", len ? "," : "",
           s->index);
  if (s->fail) return TIDE_EIO;
  *result = tide_value_int(s->index * 10);
  return 0;
}

static void job_done(void *arg) {
  ((slot *)arg)->frame->done++;
}

static void free_text(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

static int work_main(tide_task *t, void *frame) {
  work_frame *w = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n < 3 || args[0].type != TIDE_VALUE_DOUBLE || args[1].type != TIDE_VALUE_DOUBLE ||
        args[2].type != TIDE_VALUE_DOUBLE || args[0].as.d < 0 || args[0].as.d > MAX_JOBS)
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "work(n, cancel, fail) takes three numbers");
    w->n = (int)args[0].as.d;
    int cancel = (int)args[1].as.d, fail = (int)args[2].as.d;
    for (int i = 0; i < w->n; i++) {
      w->slots[i].frame = w;
      w->slots[i].index = i;
      w->slots[i].fail = i == fail;
      tide_future_init(loop, &w->f[i]);
      int rc = tide_work_submit(loop, job_fn, job_done, &w->slots[i], &w->f[i]);
      if (rc != 0) TIDE_RETURN_ERROR(t, rc, "tide_work_submit refused a job");
    }
    if (cancel >= 0 && cancel < w->n) tide_future_cancel(&w->f[cancel]);
    snprintf(w->out, sizeof w->out, "order=");
  }
  for (w->i = 0; w->i < w->n; w->i++) {
    TIDE_AWAIT(t, &w->f[w->i], w->rc);
    w->rc = 0; /* the outcome is read below */
  }
  /* Every future is done; done() of the last job ran in the same callback. */
  {
    size_t len = strlen(w->out);
    len += (size_t)snprintf(w->out + len, sizeof w->out - len, "%s results=", w->order);
    for (int i = 0; i < w->n; i++) {
      tide_value v;
      int rc = tide_future_result(&w->f[i], &v);
      len += (size_t)snprintf(w->out + len, sizeof w->out - len, "%s", i ? "," : "");
      if (rc == 0)
        len += (size_t)snprintf(w->out + len, sizeof w->out - len, "%lld", (long long)v.as.i);
      else
        len += (size_t)snprintf(w->out + len, sizeof w->out - len, "%s", tide_err_name(rc));
      tide_future_release(&w->f[i]);
    }
    int resize = tide_work_set_pool_size(2);
    snprintf(w->out + len, sizeof w->out - len, " done=%d pool=%u resize=%s", w->done,
             tide_work_pool_size(), resize == 0 ? "0" : tide_err_name(resize));
    /* The result outlives the frame: a copy the future owns. */
    size_t size = strlen(w->out) + 1;
    char *text = tide_loop_alloc(loop, size);
    if (text == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no memory for the answer");
    memcpy(text, w->out, size);
    tide_value v = tide_value_text(TIDE_VALUE_STRING, text, size - 1);
    v.priv_free = free_text;
    v.priv_free_ud = loop;
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tide_export_task(loop, "work", work_main, sizeof(work_frame));
}

TIDE_MAIN(setup)
