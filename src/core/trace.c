/* trace.c: a bounded recording of task and host-operation events, exported as
 * Chrome trace-event JSON (the format Perfetto and chrome://tracing open).
 *
 * Layout of the export: pid 1; one track (tid) per task, its id, named after
 * the task (thread_name metadata); on it a "B"/"E" slice for the task's life,
 * an "X" slice per step and "i" instants for await, sleep, wake and cancel.
 * Host operations get one track per operation slot (an op id's slot is busy
 * until the op ends, so its B/E slices never overlap). Records are appended in
 * time order and never rewritten except a step's duration, filled in when the
 * step returns; a full buffer drops new events (and counts them) rather than
 * overwriting old ones, so every "E" that is kept has its "B".
 */
#include <string.h>

#include "diag.h"
#include "sync.h"

static void copy_name(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > sizeof(((tide__trace_event *)0)->name) - 1)
    n = sizeof(((tide__trace_event *)0)->name) - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Append a record stamped now, or count it as dropped when the buffer is full
 * (keeping the oldest events keeps every kept "E" matched by its "B"). */
static tide__trace_event *record(tide_loop *loop, tide__diag *d, int kind,
                                 uint64_t tid) {
  if (d->len == d->cap) {
    d->dropped++;
    return NULL;
  }
  tide__trace_event *e = &d->events[d->len++];
  uint64_t now = tide__diag_now_us(loop);
  e->ts = now > d->start_us ? now - d->start_us : 0;
  e->dur = 0;
  e->tid = tid;
  e->arg = 0;
  e->kind = (uint8_t)kind;
  e->name[0] = '\0';
  return e;
}

/* A step is recorded as one "X" at its start and its duration filled in at its
 * end, so the record order stays the time order. A task's life ends ("E") at
 * the end of its last step, after the step's slice, never inside it. */
void tide__trace_task(tide_loop *loop, tide__diag *d, int event, tide_task *t,
                      int arg) {
  tide__trace_event *e;
  char what[48];
  char label[TIDE__TASK_NAME_MAX];
  switch (event) {
  case TIDE__EV_SPAWN:
    if ((e = record(loop, d, TIDE__TR_SPAWN, t->id)) == NULL) return;
    e->dur = loop->priv_current != NULL ? loop->priv_current->id : 0;
    copy_name(e->name, tide__task_label(t, label));
    return;
  case TIDE__EV_STEP_BEGIN:
    if ((e = record(loop, d, TIDE__TR_STEP, t->id)) == NULL) return;
    copy_name(e->name, tide__task_label(t, label));
    d->open_step = (size_t)(e - d->events);
    return;
  case TIDE__EV_STEP_END:
    if (d->open_step < d->len && d->events[d->open_step].tid == t->id) {
      e = &d->events[d->open_step];
      uint64_t now = tide__diag_now_us(loop);
      uint64_t end = now > d->start_us ? now - d->start_us : 0;
      e->dur = end > e->ts ? end - e->ts : 0;
    }
    d->open_step = SIZE_MAX;
    if (arg != TIDE__STEP_DONE) return;
    break; /* finished: record the end of its life below */
  case TIDE__EV_FINISH:
    break;
  case TIDE__EV_AWAIT:
    if ((e = record(loop, d, TIDE__TR_AWAIT, t->id)) == NULL) return;
    tide__diag_describe_wait(t, what, sizeof what);
    copy_name(e->name, what);
    return;
  case TIDE__EV_SLEEP:
  case TIDE__EV_WAKE:
  case TIDE__EV_CANCEL:
    e = record(loop, d,
               event == TIDE__EV_SLEEP  ? TIDE__TR_SLEEP
               : event == TIDE__EV_WAKE ? TIDE__TR_WAKE
                                        : TIDE__TR_CANCEL,
               t->id);
    if (e != NULL) e->arg = arg;
    return;
  default:
    return;
  }
  if (t->id < d->first_id) return; /* its life began before the trace */
  if ((e = record(loop, d, TIDE__TR_FINISH, t->id)) == NULL) return;
  e->arg = (int32_t)tide_future_state_get(&t->future);
  copy_name(e->name, tide__task_label(t, label));
}

/* Host operations go on the track of their id's slot: a slot holds one live
 * operation at a time, so its B/E pairs nest trivially. */
void tide__diag_host(tide_loop *loop, int event, uint32_t op, const char *name,
                     int code) {
  tide__diag *d = loop->priv_diag_state;
  if (!(loop->priv_diag & TIDE__DIAG_TRACE)) return;
  int kind = event == TIDE__EV_HOST_START      ? TIDE__TR_HOST_START
             : event == TIDE__EV_HOST_COMPLETE ? TIDE__TR_HOST_COMPLETE
                                               : TIDE__TR_HOST_CANCEL;
  uint64_t tid = TIDE__TRACE_HOST_TID + (op >> 8);
  if (kind != TIDE__TR_HOST_START && d->len < d->cap) {
    /* An "E" needs its "B": the last record on this track must be op's start
     * (not so for an op started before the trace). Usually a short scan. */
    size_t i = d->len;
    while (i > 0 && d->events[i - 1].tid != tid)
      i--;
    if (i == 0 || d->events[i - 1].kind != TIDE__TR_HOST_START ||
        d->events[i - 1].dur != op)
      return;
  }
  tide__trace_event *e = record(loop, d, kind, tid);
  if (e == NULL) return;
  e->dur = op;
  e->arg = code;
  if (name != NULL) copy_name(e->name, name);
}

/* --- Control ---------------------------------------------------------------------- */

/* The buffer is kept across restarts of the same size: tracing a phase of a
 * program again costs no allocation. */
int tide_loop_trace_start(tide_loop *loop, size_t max_events) {
  assert(loop != NULL);
  if (max_events == 0) return TIDE_EINVAL;
  if (max_events > SIZE_MAX / sizeof(tide__trace_event)) return TIDE_ENOMEM;
  tide__diag *d = tide__diag_get(loop);
  if (d == NULL) return TIDE_ENOMEM;
  if (d->cap != max_events) {
    tide__trace_event *events = tide_loop_alloc(loop, max_events * sizeof *events);
    if (events == NULL) return TIDE_ENOMEM; /* the earlier trace stays */
    tide_loop_dealloc(loop, d->events);
    d->events = events;
    d->cap = max_events;
  }
  d->len = 0;
  d->dropped = 0;
  d->open_step = SIZE_MAX;
  d->first_id = loop->priv_task_seq + 1;
  d->start_us = tide__diag_now_us(loop);
  loop->priv_diag |= TIDE__DIAG_TRACE;
  return 0;
}

void tide_loop_trace_stop(tide_loop *loop) {
  loop->priv_diag &= ~(unsigned)TIDE__DIAG_TRACE;
}

void tide_loop_trace_counts(const tide_loop *loop, size_t *out_recorded,
                            size_t *out_dropped) {
  const tide__diag *d = loop->priv_diag_state;
  if (out_recorded != NULL) *out_recorded = d != NULL ? d->len : 0;
  if (out_dropped != NULL) *out_dropped = d != NULL ? d->dropped : 0;
}

/* --- Export ------------------------------------------------------------------------
 */

static const char *outcome_name(int state) {
  return state == TIDE_FUTURE_ERROR       ? "failed"
         : state == TIDE_FUTURE_CANCELLED ? "cancelled"
                                          : "done";
}

static const char *code_name(int code) {
  return code == 0 ? "OK" : tide_err_name(code);
}

/* ,{"ph":"<ph>","pid":1,"tid":<tid>[,"ts":<ts>] */
static void head(tide__writer *w, int *first, const char *ph, uint64_t tid) {
  tide__w_str(w, *first ? "\n{\"ph\":\"" : ",\n{\"ph\":\"");
  *first = 0;
  tide__w_str(w, ph);
  tide__w_str(w, "\",\"pid\":1,\"tid\":");
  tide__w_u64(w, tid);
}

static void thread_name(tide__writer *w, int *first, uint64_t tid, const char *name) {
  head(w, first, "M", tid);
  tide__w_str(w, ",\"ts\":0,\"name\":\"thread_name\",\"args\":{\"name\":");
  tide__w_json(w, name);
  tide__w_str(w, "}}");
}

/* Track names: every name a task had in the trace, oldest first, then the
 * live tasks' current names; the last one given for a track wins. */
static void write_track_names(tide_loop *loop, const tide__diag *d, tide__writer *w,
                              int *first) {
  uint64_t host_named[4] = {0, 0, 0, 0}; /* slots 0..255 named already */
  head(w, first, "M", 0);
  tide__w_str(w,
              ",\"ts\":0,\"name\":\"process_name\",\"args\":{\"name\":\"tideloop\"}}");
  for (size_t i = 0; i < d->len; i++) {
    const tide__trace_event *e = &d->events[i];
    if (e->kind == TIDE__TR_SPAWN || e->kind == TIDE__TR_FINISH) {
      thread_name(w, first, e->tid, e->name);
    } else if (e->kind == TIDE__TR_HOST_START) {
      uint64_t slot = e->tid - TIDE__TRACE_HOST_TID;
      if (slot < 256 && (host_named[slot / 64] >> (slot % 64) & 1)) continue;
      if (slot < 256) host_named[slot / 64] |= (uint64_t)1 << (slot % 64);
      char label[40] = "host calls #";
      tide__fmt_u64(label + strlen(label), slot);
      thread_name(w, first, e->tid, label);
    }
  }
  for (tide__qnode *n = loop->priv_tasks.next; n != &loop->priv_tasks; n = n->next) {
    const tide_task *t = tide__container_of(n, tide_task, link);
    char name[TIDE__TASK_NAME_MAX];
    thread_name(w, first, t->id, tide__task_label(t, name));
  }
}

/* One event, by kind; the instants (await, sleep, wake, cancel) share a tail. */
static void write_event(tide__writer *w, int *first, const tide__trace_event *e) {
  static const char *const ph[] = {"",  "B", "X", "i", "i", "i",
                                   "i", "E", "B", "E", "E"};
  head(w, first, ph[e->kind], e->tid);
  tide__w_str(w, ",\"ts\":");
  tide__w_u64(w, e->ts);
  switch (e->kind) {
  case TIDE__TR_SPAWN:
    tide__w_str(w, ",\"cat\":\"task\",\"name\":\"life\",\"args\":{\"parent\":");
    tide__w_u64(w, e->dur);
    tide__w_str(w, "}}");
    return;
  case TIDE__TR_STEP:
    tide__w_str(w, ",\"dur\":");
    tide__w_u64(w, e->dur);
    tide__w_str(w, ",\"cat\":\"task\",\"name\":");
    tide__w_json(w, e->name);
    tide__w_str(w, "}");
    return;
  case TIDE__TR_FINISH:
    tide__w_str(w, ",\"cat\":\"task\",\"args\":{\"outcome\":\"");
    tide__w_str(w, outcome_name(e->arg));
    tide__w_str(w, "\"}}");
    return;
  case TIDE__TR_HOST_START:
    tide__w_str(w, ",\"cat\":\"host\",\"name\":");
    tide__w_json(w, e->name);
    tide__w_str(w, ",\"args\":{\"op\":");
    tide__w_u64(w, e->dur);
    tide__w_str(w, "}}");
    return;
  case TIDE__TR_HOST_COMPLETE:
  case TIDE__TR_HOST_CANCEL:
    tide__w_str(w, ",\"cat\":\"host\",\"args\":{\"rc\":\"");
    tide__w_str(w, e->kind == TIDE__TR_HOST_CANCEL ? "ECANCELED" : code_name(e->arg));
    tide__w_str(w, "\"}}");
    return;
  default:
    break;
  }
  /* Instants on the task's track: "s":"t" scopes them to it. */
  tide__w_str(w, ",\"s\":\"t\",\"cat\":\"task\",\"name\":");
  if (e->kind == TIDE__TR_AWAIT) {
    char name[48] = "await ";
    memcpy(name + 6, e->name, strlen(e->name) + 1);
    tide__w_json(w, name);
  } else if (e->kind == TIDE__TR_SLEEP) {
    tide__w_str(w, "\"sleep\",\"args\":{\"ms\":");
    tide__w_i64(w, e->arg);
    tide__w_str(w, "}");
  } else if (e->kind == TIDE__TR_WAKE) {
    tide__w_str(w, "\"wake\",\"args\":{\"rc\":\"");
    tide__w_str(w, code_name(e->arg));
    tide__w_str(w, "\"}");
  } else {
    tide__w_str(w, "\"cancel\"");
  }
  tide__w_str(w, "}");
}

/* The trace is written in one pass over the buffer, through a 1 KiB chunk on the
 * stack, so exporting allocates nothing and may run at any time. */
int tide_loop_trace_export(tide_loop *loop, tide_write_fn write_fn, void *ud) {
  assert(loop != NULL && write_fn != NULL);
  const tide__diag *d = loop->priv_diag_state;
  if (d == NULL || d->events == NULL) return TIDE_ESTATE;
  tide__writer w;
  int first = 1;
  tide__w_init(&w, write_fn, ud);
  tide__w_str(&w, "{\"traceEvents\":[");
  write_track_names(loop, d, &w, &first);
  for (size_t i = 0; i < d->len && w.rc == 0; i++)
    write_event(&w, &first, &d->events[i]);
  tide__w_str(&w, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"recorded\":");
  tide__w_u64(&w, d->len);
  tide__w_str(&w, ",\"dropped\":");
  tide__w_u64(&w, d->dropped);
  tide__w_str(&w, "}}\n");
  return tide__w_finish(&w);
}
