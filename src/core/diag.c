/* diag.c: debug mode (slow-callback reports) and the task dump, plus the
 * dispatch of task events to whichever diagnostics are on.
 *
 * Cost model: with every diagnostic off the loop and the task code test one
 * word (loop->priv_diag) per hook. In debug mode the loop reads the clock once
 * per runnable: the end of one runnable is the start of the next, so a tick
 * batch costs one read more than it runs runnables.
 */
#include <string.h>

#include "diag.h"
#include "sync.h"

tide__diag *tide__diag_get(tide_loop *loop) {
  if (loop->priv_diag_state == NULL) {
    tide__diag *d = tide_loop_alloc(loop, sizeof *d);
    if (d == NULL) return NULL;
    memset(d, 0, sizeof *d);
    d->open_step = SIZE_MAX;
    loop->priv_diag_state = d;
  }
  return loop->priv_diag_state;
}

void tide__diag_close(tide_loop *loop) {
  tide__diag *d = loop->priv_diag_state;
  if (d == NULL) return;
  tide_loop_dealloc(loop, d->events);
  tide_loop_dealloc(loop, d);
  loop->priv_diag_state = NULL;
  loop->priv_diag = 0;
}

uint64_t tide__diag_now_us(tide_loop *loop) {
  return tide__backend_now_us(loop);
}

int tide_loop_set_debug(tide_loop *loop, uint32_t slow_callback_ms) {
  assert(loop != NULL);
  if (slow_callback_ms == 0) {
    loop->priv_diag &= ~(unsigned)TIDE__DIAG_SLOW;
    return 0;
  }
  tide__diag *d = tide__diag_get(loop);
  if (d == NULL) return TIDE_ENOMEM;
  d->slow_us = (uint64_t)slow_callback_ms * 1000u;
  /* Enabled from inside a callback: measure from now, not from some old t0. */
  d->t0 = tide__diag_now_us(loop);
  loop->priv_diag |= TIDE__DIAG_SLOW;
  return 0;
}

/* --- Slow callbacks ------------------------------------------------------------ */

void tide__diag_ticks_begin(tide_loop *loop) {
  tide__diag *d = loop->priv_diag_state;
  d->t0 = tide__diag_now_us(loop);
}

/* The remembered task, if it still lives (it may have finished and been freed
 * inside the runnable); a report happens rarely, so a scan is fine. */
static tide_task *remembered_task(tide_loop *loop, const tide__diag *d) {
  for (tide__qnode *n = loop->priv_tasks.next; n != &loop->priv_tasks; n = n->next) {
    tide_task *t = tide__container_of(n, tide_task, link);
    if (t == d->task && t->id == d->task_id) return t;
  }
  return NULL;
}

static void append(char *buf, size_t cap, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (n > cap - 1 - *len) n = cap - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

static void append_u64(char *buf, size_t cap, size_t *len, uint64_t v) {
  char digits[21];
  tide__fmt_u64(digits, v);
  append(buf, cap, len, digits);
}

/* "task 'x' step took 120 ms (threshold 50 ms)", or "callback took ...", or
 * "3 task steps took ... (threshold 50 ms), the last of task 'x'". */
static void report_slow(tide_loop *loop, tide__diag *d, uint64_t elapsed_us) {
  char msg[160];
  size_t len = 0;
  msg[0] = '\0';
  if (d->steps == 1) {
    append(msg, sizeof msg, &len, "task '");
    append(msg, sizeof msg, &len, d->task_name);
    append(msg, sizeof msg, &len, "' step took ");
  } else if (d->steps > 1) {
    append_u64(msg, sizeof msg, &len, d->steps);
    append(msg, sizeof msg, &len, " task steps took ");
  } else {
    append(msg, sizeof msg, &len, "callback took ");
  }
  append_u64(msg, sizeof msg, &len, elapsed_us / 1000u);
  append(msg, sizeof msg, &len, " ms (threshold ");
  append_u64(msg, sizeof msg, &len, d->slow_us / 1000u);
  append(msg, sizeof msg, &len, " ms)");
  if (d->steps > 1) {
    append(msg, sizeof msg, &len, ", the last of task '");
    append(msg, sizeof msg, &len, d->task_name);
    append(msg, sizeof msg, &len, "'");
  }
  tide_error_report report;
  report.code = TIDE_ETIMEDOUT;
  report.message = msg;
  report.context = "slow callback";
  report.future = NULL;
  report.task = d->steps > 0 ? remembered_task(loop, d) : NULL;
  tide__report(loop, &report);
}

void tide__diag_run(tide_loop *loop, tide__runnable *r) {
  tide__diag *d = loop->priv_diag_state;
  d->task = NULL;
  d->steps = 0;
  r->run(r);
  /* The runnable may have turned debug mode off, or freed nothing we hold. */
  if (!(loop->priv_diag & TIDE__DIAG_SLOW)) return;
  uint64_t now = tide__diag_now_us(loop);
  uint64_t elapsed = now > d->t0 ? now - d->t0 : 0;
  d->t0 = now;
  if (elapsed >= d->slow_us) {
    report_slow(loop, d, elapsed);
    d->t0 = tide__diag_now_us(loop); /* the handler's time is not the next one's */
  }
}

/* --- Task events ---------------------------------------------------------------- */

/* Debug mode only needs to know which task a runnable stepped; the trace wants
 * every event. Both are off the hot path: TIDE__DIAG tested the bits first. */
void tide__diag_task(tide_loop *loop, int event, tide_task *t, int arg) {
  tide__diag *d = loop->priv_diag_state;
  if ((loop->priv_diag & TIDE__DIAG_SLOW) && event == TIDE__EV_STEP_BEGIN) {
    char label[TIDE__TASK_NAME_MAX];
    d->task = t;
    d->task_id = t->id;
    d->steps++;
    memcpy(d->task_name, tide__task_label(t, label), sizeof d->task_name);
  }
  if (loop->priv_diag & TIDE__DIAG_TRACE) tide__trace_task(loop, d, event, t, arg);
}

/* --- Task dump ------------------------------------------------------------------ */

/* The dump's state word, from the task's flags (see internal.h). */
static const char *state_name(const tide_loop *loop, const tide_task *t) {
  if (tide__task_has(t, TIDE__T_FINISHED)) {
    switch (tide_future_state_get(&t->future)) {
    case TIDE_FUTURE_ERROR:
      return "failed";
    case TIDE_FUTURE_CANCELLED:
      return "cancelled";
    default:
      return "done";
    }
  }
  if (t == loop->priv_current) return "running";
  if (!tide__task_has(t, TIDE__T_STARTED)) return "new";
  if (tide__task_awaiting(t) != NULL) return "waiting";
  if (tide__task_has(t, TIDE__T_SLEEPING)) return "sleeping";
  return "ready";
}

void tide__diag_describe_wait(const tide_task *t, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  const tide_future *f = tide__task_awaiting(t);
  if (f == NULL) {
    append(out, cap, &len, tide__task_has(t, TIDE__T_SLEEPING) ? "sleep" : "none");
  } else if (f->priv_flags & TIDE__F_TASK) {
    char label[TIDE__TASK_NAME_MAX];
    append(out, cap, &len, "task:");
    append(out, cap, &len, tide__task_label((const tide_task *)(const void *)f, label));
  } else {
    const char *what = tide__wait_describe(f);
    append(out, cap, &len, what != NULL ? what : "future");
  }
}

/* Oldest task first (the loop's task list is in spawn order). */
int tide_loop_dump_tasks(tide_loop *loop, tide_write_fn write_fn, void *ud) {
  tide__writer w;
  char what[48];
  char label[TIDE__TASK_NAME_MAX];
  int line;
  assert(loop != NULL && write_fn != NULL);
  tide__w_init(&w, write_fn, ud);
  for (tide__qnode *n = loop->priv_tasks.next; n != &loop->priv_tasks && w.rc == 0;
       n = n->next) {
    const tide_task *t = tide__container_of(n, tide_task, link);
    tide__diag_describe_wait(t, what, sizeof what);
    tide__w_str(&w, tide__task_label(t, label));
    tide__w_str(&w, " ");
    tide__w_str(&w, state_name(loop, t));
    tide__w_str(&w, " awaiting=");
    tide__w_str(&w, what);
    tide__w_str(&w, " created=");
    const char *file = tide__task_site(t, &line);
    if (file != NULL) {
      tide__w_str(&w, file);
      tide__w_str(&w, ":");
      tide__w_i64(&w, line);
    } else {
      tide__w_str(&w, "?");
    }
    tide__w_str(&w, "\n");
  }
  return tide__w_finish(&w);
}
