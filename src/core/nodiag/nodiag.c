/* nodiag.c: the diagnostics of a size build (TIDE_SIZE=ON), in place of
 * diag.c, diag_write.c and trace.c: debug mode, the task dump and the Chrome
 * trace are compiled out, about 3 KB of a minimal module. Their public functions
 * fail with TIDE_ENOSYS (tide.h, "Diagnostics"), so a program that asks for them
 * learns it at its first call instead of getting an empty trace. loop->priv_diag
 * is then never set, so the core's hooks below are never called; they keep the
 * normal build's meaning all the same. The error handler and the report of
 * unobserved errors are not diagnostics: they stay (error.c). */
#include "internal.h"

int tide_loop_set_debug(tide_loop *loop, uint32_t slow_callback_ms) {
  (void)loop;
  return slow_callback_ms == 0 ? 0 : TIDE_ENOSYS; /* off is what it is */
}

int tide_loop_dump_tasks(tide_loop *loop, tide_write_fn write_fn, void *ud) {
  (void)loop;
  (void)write_fn;
  (void)ud;
  return TIDE_ENOSYS;
}

int tide_loop_trace_start(tide_loop *loop, size_t max_events) {
  (void)loop;
  (void)max_events;
  return TIDE_ENOSYS;
}

void tide_loop_trace_stop(tide_loop *loop) {
  (void)loop;
}

/* Nothing recorded: as before any start (which cannot succeed here). */
void tide_loop_trace_counts(const tide_loop *loop, size_t *out_recorded,
                            size_t *out_dropped) {
  (void)loop;
  if (out_recorded != NULL) *out_recorded = 0;
  if (out_dropped != NULL) *out_dropped = 0;
}

int tide_loop_trace_export(tide_loop *loop, tide_write_fn write_fn, void *ud) {
  (void)loop;
  (void)write_fn;
  (void)ud;
  return TIDE_ENOSYS;
}

/* --- The core's hooks (internal.h) --------------------------------------------- */

void tide__diag_task(tide_loop *loop, int event, tide_task *t, int arg) {
  (void)loop;
  (void)event;
  (void)t;
  (void)arg;
}

void tide__diag_ticks_begin(tide_loop *loop) {
  (void)loop;
}

/* Runs r untimed: the caller leaves running it to this hook. */
void tide__diag_run(tide_loop *loop, tide__runnable *r) {
  (void)loop;
  r->run(r);
}

void tide__diag_host(tide_loop *loop, int event, uint32_t op, const char *name,
                     int code) {
  (void)loop;
  (void)event;
  (void)op;
  (void)name;
  (void)code;
}

void tide__diag_close(tide_loop *loop) {
  (void)loop;
}
