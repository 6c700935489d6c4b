/* imports.c: the JS host backend: the core -> JS direction of ABI.md (beside
 * this file).
 *
 * The loop never blocks here: JS owns the real event loop and calls
 * tide_js_tick (src/backend/js/exports.c) whenever work may be ready, arming one host
 * timer from tide_loop_next_timeout in between. So a poll only delivers a
 * pending wakeup, and a poll that was asked to wait (tide_loop_run in DEFAULT or
 * ONCE with nothing ready) returns TIDE_EAGAIN instead of spinning: the C caller
 * learns that this host cannot wait, and NOWAIT works as everywhere.
 * There are no fds and no signals; host operations go to the imports.
 */
#include <string.h>

#include "backend.h"
#include "bridge.h"

/* --- The imports: module "tideloop", declared once, here --------------------- */

#define TIDE_JS_IMPORT(name)                                                           \
  __attribute__((import_module("tideloop"), import_name(#name)))

TIDE_JS_IMPORT(now_ms) double tide__js_now_ms(void);
TIDE_JS_IMPORT(schedule) void tide__js_schedule(tide_loop *loop);
TIDE_JS_IMPORT(report)
void tide__js_report(tide_loop *loop, const char *ptr, uint32_t len);
TIDE_JS_IMPORT(host_start)
void tide__js_host_start(tide_loop *loop, uint32_t op, uint32_t name_id,
                         const char *name_ptr, uint32_t name_len, const void *args_ptr,
                         uint32_t args_len, int32_t shape, double a0, double a1,
                         double a2);
TIDE_JS_IMPORT(host_cancel) void tide__js_host_cancel(tide_loop *loop, uint32_t op);
TIDE_JS_IMPORT(call_done)
void tide__js_call_done(tide_loop *loop, uint32_t call, int32_t code, const void *ptr,
                        uint32_t len);

/* --- Backend state ------------------------------------------------------------ */

/* A wakeup flag: wasm here has no threads, so tide_async_send runs on the
 * loop's own thread and a plain int is enough. And the clock: the time of the
 * tick running (bridge.h), and the latest time given, which no later one may
 * go below. */
typedef struct js_names js_names;
typedef struct js_state {
  int wakeup_pending;
  int in_tick;
  int tick_now_known; /* tick_now holds the tick's time (given, or read once) */
  uint64_t tick_now;
  uint64_t last_now;
  js_names *names; /* host functions' names by id (below), made on first use */
} js_state;

int tide__backend_init(tide_loop *loop) {
  js_state *s = tide_loop_alloc(loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  memset(s, 0, sizeof *s);
  loop->priv_backend = s;
  /* The clock only when an iteration needs it (core: tide__now): a tick that
   * takes a completion and resumes a task reads none. */
  loop->priv_lazy_time = 1;
  return 0;
}

void tide__backend_close(tide_loop *loop) {
  js_state *s = loop->priv_backend;
  tide_loop_dealloc(loop, s->names);
  tide_loop_dealloc(loop, s);
  loop->priv_backend = NULL;
}

/* performance.now() is >= 0 and finite; a broken host must not make the
 * conversion undefined. */
static uint64_t ms_of(double ms) {
  if (!(ms >= 0.0)) return 0;
  if (ms >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)ms;
}

static uint64_t monotonic(js_state *s, uint64_t ms) {
  if (ms < s->last_now) return s->last_now;
  s->last_now = ms;
  return ms;
}

void tide__js_tick_begin(tide_loop *loop, double now_ms) {
  js_state *s = loop->priv_backend;
  /* performance.now() is finite, >= 0 and below 2^53 ms. Anything else (the
   * host read no clock for this tick, NaN, a broken host's number) is no
   * time: the tick asks the clock itself if it needs the time at all. */
  s->tick_now_known = now_ms >= 0.0 && now_ms <= 9007199254740992.0;
  if (s->tick_now_known) s->tick_now = monotonic(s, ms_of(now_ms));
  s->in_tick = 1;
}

void tide__js_tick_end(tide_loop *loop) {
  js_state *s = loop->priv_backend;
  s->in_tick = 0;
}

uint64_t tide__backend_now(tide_loop *loop) {
  js_state *s = loop->priv_backend;
  if (s->in_tick && s->tick_now_known) return s->tick_now;
  uint64_t now = monotonic(s, ms_of(tide__js_now_ms()));
  if (s->in_tick) {
    s->tick_now = now;
    s->tick_now_known = 1;
  }
  return now;
}

/* performance.now() has sub-millisecond resolution (coarsened by browsers). */
uint64_t tide__backend_now_us(tide_loop *loop) {
  (void)loop;
  double us = tide__js_now_ms() * 1000.0;
  if (!(us >= 0.0)) return 0;
  if (us >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)us;
}

int tide__backend_poll(tide_loop *loop, int64_t timeout_ms) {
  js_state *s = loop->priv_backend;
  if (s->wakeup_pending) {
    s->wakeup_pending = 0;
    tide__loop_wakeup_received(loop);
    return 0;
  }
  return timeout_ms != 0 ? TIDE_EAGAIN : 0;
}

int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events) {
  (void)loop;
  (void)io;
  return events == 0 ? 0 : TIDE_ENOSYS; /* stopping never fails */
}

/* tide_async_send: remember it for the next poll and ask the host for a tick. */
void tide__backend_wakeup(tide_loop *loop) {
  js_state *s = loop->priv_backend;
  s->wakeup_pending = 1;
  tide__js_schedule(loop);
}

void tide__backend_report(tide_loop *loop, const char *line) {
  tide__js_report(loop, line, (uint32_t)strlen(line));
}

/* --- Host operations ----------------------------------------------------------- */

/* A host call names its function by bytes, which JS would have to compare
 * or decode on every call, in code that runs slowly until the engine has
 * compiled it. C names it by a small id instead (ABI.md, "host_start"): the
 * first NAME_IDS distinct names of up to NAME_ID_LEN bytes get ids 1, 2, ...
 * in the order they are first called, and keep them for the loop's life;
 * JS decodes each name once, the first time its id comes. Others go as id 0,
 * decoded each time. */
enum { NAME_IDS = 32, NAME_ID_LEN = 31 };
struct js_names {
  uint32_t count;
  struct {
    uint8_t len;
    char bytes[NAME_ID_LEN];
  } name[NAME_IDS];
};

static uint32_t name_id(tide_loop *loop, const char *name, size_t len) {
  js_state *s = loop->priv_backend;
  if (len > NAME_ID_LEN) return 0;
  js_names *t = s->names;
  if (t == NULL) {
    t = s->names = tide_loop_alloc(loop, sizeof *t);
    if (t == NULL) return 0;
    t->count = 0;
  }
  for (uint32_t i = 0; i < t->count; i++)
    if (t->name[i].len == len && memcmp(t->name[i].bytes, name, len) == 0) return i + 1;
  if (t->count == NAME_IDS) return 0;
  t->name[t->count].len = (uint8_t)len;
  memcpy(t->name[t->count].bytes, name, len);
  return ++t->count;
}

/* Arguments that are up to three numbers or nones also go as the import's own
 * parameters, so that JS reads no memory for them: the shape is their count,
 * with bit 2 + i set when argument i is none (ABI.md, "host_start"). -1: JS
 * reads the value list. */
static int32_t shape_of(const tide_value *vals, size_t n, double a[3]) {
  if (n > 3) return -1;
  int32_t shape = (int32_t)n;
  for (size_t i = 0; i < n; i++) {
    switch (vals[i].type) {
    case TIDE_VALUE_NONE:
      shape |= 4 << i;
      break;
    case TIDE_VALUE_INT:
      a[i] = (double)vals[i].as.i;
      break;
    case TIDE_VALUE_DOUBLE:
      a[i] = vals[i].as.d;
      break;
    default:
      return -1;
    }
  }
  return shape;
}

int tide__backend_host_wants_list(const tide_value *vals, size_t nvals) {
  double a[3];
  return shape_of(vals, nvals, a) < 0;
}

int tide__backend_host_call(tide_loop *loop, uint32_t op, const char *name,
                            size_t name_len, const tide_value *vals, size_t nvals,
                            const void *args, size_t args_len) {
  double a[3] = {0, 0, 0};
  int32_t shape = shape_of(vals, nvals, a);
  tide__js_host_start(loop, op, name_id(loop, name, name_len), name, (uint32_t)name_len,
                      args, (uint32_t)args_len, shape, a[0], a[1], a[2]);
  return 0;
}

void tide__backend_host_cancel(tide_loop *loop, uint32_t op) {
  tide__js_host_cancel(loop, op);
}

void tide__backend_call_done(tide_loop *loop, uint32_t call, int code, const void *data,
                             size_t len) {
  tide__js_call_done(loop, call, code, data, (uint32_t)len);
}
