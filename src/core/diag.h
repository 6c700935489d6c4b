/* diag.h: what diag.c, trace.c and diag_write.c share: the diagnostics' state
 * (loop->priv_diag_state, allocated on first use) and a buffered writer that
 * formats text and numbers without stdio, for the task dump and the trace. */
#ifndef TIDE_DIAG_H
#define TIDE_DIAG_H

#include "internal.h"

/* One trace record. Fixed size (64 bytes on common targets) so the buffer is
 * one allocation; `name` is copied because tasks die and rename. */
typedef struct tide__trace_event {
  uint64_t ts;  /* microseconds since the trace started */
  uint64_t dur; /* STEP: its duration; SPAWN: the parent's id; HOST_*: the op */
  uint64_t tid; /* the task's id, or TIDE__TRACE_HOST_TID + the op's slot */
  int32_t arg;  /* SLEEP: ms; WAKE, FINISH, HOST_COMPLETE: a code; ... */
  uint8_t kind; /* TIDE__TR_* */
  char name[32];
} tide__trace_event;

enum {
  TIDE__TR_SPAWN = 1,     /* "B" of the task's life (name: its name then) */
  TIDE__TR_STEP,          /* "X" (name: the task's name) */
  TIDE__TR_AWAIT,         /* "i" (name: what it awaits) */
  TIDE__TR_SLEEP,         /* "i" */
  TIDE__TR_WAKE,          /* "i" */
  TIDE__TR_CANCEL,        /* "i" */
  TIDE__TR_FINISH,        /* "E" of the task's life (name: its final name) */
  TIDE__TR_HOST_START,    /* "B" on the op's slot track (name: the function) */
  TIDE__TR_HOST_COMPLETE, /* "E" */
  TIDE__TR_HOST_CANCEL    /* "E" */
};

/* Host-operation tracks come after every plausible task id. */
#define TIDE__TRACE_HOST_TID ((uint64_t)1 << 40)

typedef struct tide__diag {
  /* Debug mode (diag.c). The clock is read once per runnable: t0 is when the
   * runnable now running started. The task it stepped last is remembered by
   * pointer, id and name: a report checks it still lives before naming it. */
  uint64_t slow_us;
  uint64_t t0;
  const tide_task *task;
  uint64_t task_id;
  unsigned steps;
  char task_name[32];
  /* Tracing (trace.c): events[0..len) recorded, the rest dropped. */
  tide__trace_event *events;
  size_t cap;
  size_t len;
  size_t dropped;
  uint64_t start_us;
  uint64_t first_id; /* tasks spawned before the start have no "B": no "E" */
  size_t open_step;  /* the STEP record of the step running now, or SIZE_MAX */
} tide__diag;

/* The loop's diagnostics state, allocated (zeroed) on first use; NULL if that
 * allocation fails. */
tide__diag *tide__diag_get(tide_loop *loop);
/* Microseconds of the backend's clock. */
uint64_t tide__diag_now_us(tide_loop *loop);
/* What t waits for, as the task dump writes it ("lock", "task:<name>", ...). */
void tide__diag_describe_wait(const tide_task *t, char *out, size_t cap);
/* Record a task event in the trace (trace.c). */
void tide__trace_task(tide_loop *loop, tide__diag *d, int event, tide_task *t, int arg);

/* --- Buffered output (diag_write.c) --------------------------------------- */

typedef struct tide__writer {
  tide_write_fn fn;
  void *ud;
  int rc; /* the first non-zero return of fn; later output is dropped */
  size_t len;
  char buf[1024];
} tide__writer;

void tide__w_init(tide__writer *w, tide_write_fn fn, void *ud);
void tide__w_mem(tide__writer *w, const char *s, size_t n);
void tide__w_str(tide__writer *w, const char *s);
void tide__w_u64(tide__writer *w, uint64_t v);
void tide__w_i64(tide__writer *w, int64_t v);
/* s as a JSON string literal: quoted, escaped, invalid UTF-8 replaced by '?'. */
void tide__w_json(tide__writer *w, const char *s);
/* Flush what is buffered; returns w->rc. */
int tide__w_finish(tide__writer *w);

#endif /* TIDE_DIAG_H */
