/* alloc-test-module.c: the module tests/js/alloc.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-alloc-test-module.wasm. It
 * checks the loop's default allocator through the public API: libc's
 * realloc/free in the default build, src/backend/small_alloc.c in the size build
 * (TIDE_SIZE=ON), where it matters most that it is right.
 *
 * Its TIDE_MAIN setup exports two coroutines (rt.call(name, args)):
 *   churn(ops, seed)  ops random allocations and frees over 512 slots, sizes 1
 *                     byte to 192 KiB, each block filled with its own byte and
 *                     checked when freed (a block that overlapped another would
 *                     show the other's byte) and 16-byte aligned; then all
 *                     freed. Returns "ok grew=<pages>", the pages memory grew
 *                     by during the call (0 once an equal churn ran: freed
 *                     blocks are reused), or what went wrong.
 *   timers(n)         (one call at a time) n timers with deadlines 0-49 ms in
 *                     scrambled order; the loop's timer heap grows past its
 *                     first 1024 entries, which resizes it (the allocator's
 *                     realloc), so a resize that lost contents would break the
 *                     order. Returns "ok" once all ran, in (deadline, start)
 *                     order, else the first out of order.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

#define SLOTS 512
#define MAX_TIMERS 8192

typedef struct {
  unsigned char *ptr;
  size_t size;
  unsigned char fill;
} slot;

static uint32_t next_random(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u; /* Numerical Recipes' LCG */
  return *state >> 8;
}

/* Mostly the loop's sizes (tasks, futures, operations), some buffers, a few
 * blocks larger than a wasm page. */
static size_t random_size(uint32_t *state) {
  uint32_t r = next_random(state);
  if (r % 20 == 0) return 65536 + r % (128 * 1024); /* 5% */
  if (r % 20 <= 5) return 257 + r % 8000;           /* 25% */
  return 1 + r % 256;                               /* 70% */
}

/* NULL if the block still holds only its own byte, else what went wrong. */
static const char *check(const slot *s) {
  for (size_t i = 0; i < s->size; i++)
    if (s->ptr[i] != s->fill) return "a block changed while allocated (overlap)";
  return NULL;
}

static int churn_main(tide_task *t, void *frame) {
  (void)frame;
  tide_loop *loop = tide_task_loop(t);
  static slot slots[SLOTS];
  static char result[32]; /* the value borrows it until the outcome is sent */
  int ops = num(t, 0, -1);
  uint32_t state = (uint32_t)num(t, 1, 1);
  if (ops < 0) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "churn(ops, [seed])");
  size_t pages = __builtin_wasm_memory_size(0);
  const char *error = NULL;
  for (int op = 0; op < ops && error == NULL; op++) {
    slot *s = &slots[next_random(&state) % SLOTS];
    if (s->ptr != NULL) {
      error = check(s);
      tide_loop_dealloc(loop, s->ptr);
      s->ptr = NULL;
      continue;
    }
    s->size = random_size(&state);
    s->fill = (unsigned char)(op * 7 + 1);
    s->ptr = tide_loop_alloc(loop, s->size);
    if (s->ptr == NULL)
      error = "out of memory";
    else if ((uintptr_t)s->ptr % 16 != 0)
      error = "a block is not 16-byte aligned";
    else
      memset(s->ptr, s->fill, s->size);
  }
  for (slot *s = slots; s < slots + SLOTS; s++) {
    if (s->ptr == NULL) continue;
    if (error == NULL) error = check(s);
    tide_loop_dealloc(loop, s->ptr);
    s->ptr = NULL;
  }
  if (error != NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, error);
  snprintf(result, sizeof result, "ok grew=%zu", __builtin_wasm_memory_size(0) - pages);
  tide_value v = tide_value_string(result);
  TIDE_RETURN_VALUE(t, &v);
}

typedef struct {
  int n, started, ran, rc;
  int last_ms, last_index;
  const char *error;
  tide_future done;
} timers_frame;

typedef struct {
  timers_frame *frame;
  int ms, index;
  tide_call call;
} timer_arg;

/* One timers() call at a time: its timers' arguments. */
static timer_arg timer_args[MAX_TIMERS];

static void on_timer(tide_loop *loop, void *ud) {
  (void)loop;
  timer_arg *a = ud;
  timers_frame *f = a->frame;
  if (f->error == NULL &&
      (a->ms < f->last_ms || (a->ms == f->last_ms && a->index < f->last_index)))
    f->error = "a timer ran out of (deadline, start) order";
  f->last_ms = a->ms;
  f->last_index = a->index;
  if (++f->ran == f->n) tide_future_set_none(&f->done);
}

static int timers_main(tide_task *t, void *frame) {
  timers_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  f->n = num(t, 0, 0);
  if (f->n < 1 || f->n > MAX_TIMERS)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "timers(n), 1 <= n <= 8192");
  f->last_ms = -1;
  tide_future_init(loop, &f->done);
  for (f->started = 0; f->started < f->n; f->started++) {
    timer_arg *a = &timer_args[f->started];
    a->frame = f;
    a->ms = (int)(((unsigned)f->started * 7919u) % 50u);
    a->index = f->started;
    f->rc = tide_call_later(loop, (uint64_t)a->ms, on_timer, a, &a->call);
    if (f->rc != 0) break;
  }
  if (f->rc == 0) TIDE_AWAIT(t, &f->done, f->rc);
  /* However the wait ended (all ran, a start failed, the call was cancelled),
   * no timer may outlive this frame, which they point into. */
  for (int i = 0; i < f->started; i++)
    (void)tide_call_cancel(loop, timer_args[i].call);
  tide_future_release(&f->done);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, NULL);
  if (f->error != NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, f->error);
  {
    tide_value v = tide_value_string("ok");
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  static const test_export exports[] = {
      {"churn", churn_main, 0},
      {"timers", timers_main, sizeof(timers_frame)},
  };
  return export_all(loop, exports, sizeof exports / sizeof exports[0]);
}

TIDE_MAIN(setup)
