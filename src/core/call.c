/* call.c: call_soon / call_later / call_at / cancel, on pooled call records.
 *
 * Records come from slabs owned by the loop, so scheduling allocates only when
 * the pool or the timer heap must grow (then TIDE_ENOMEM is the only failure)
 * and a stale tide_call is detected by its generation instead of touching freed
 * memory. A call_later record holds a heap reservation until it runs or is
 * cancelled.
 */
#include "internal.h"

/* A slab header followed by its records; slabs form a list freed at close. */
typedef struct call_slab {
  struct call_slab *next;
  size_t count;
} call_slab;

/* Slabs double from 32 to 4096 records, so small loops stay small. */
static size_t next_slab_count(const tide_loop *loop) {
  size_t n = 32;
  for (const call_slab *s = loop->priv_call_slabs; s != NULL && n < 4096; s = s->next)
    n *= 2;
  return n;
}

static int grow_pool(tide_loop *loop) {
  size_t count = next_slab_count(loop);
  size_t header = (sizeof(call_slab) + sizeof(void *) * 2 - 1) / (sizeof(void *) * 2) *
                  (sizeof(void *) * 2);
  call_slab *slab = tide_loop_alloc(loop, header + count * sizeof(tide__call_record));
  if (slab == NULL) return TIDE_ENOMEM;
  slab->next = loop->priv_call_slabs;
  slab->count = count;
  loop->priv_call_slabs = slab;
  tide__call_record *recs = (tide__call_record *)(void *)((char *)slab + header);
  for (size_t i = count; i-- > 0;) {
    recs[i].loop = loop; /* a record stays in its loop's pool for good */
    recs[i].gen = 0;
    recs[i].run.link.next = loop->priv_call_free;
    loop->priv_call_free = &recs[i];
  }
  return 0;
}

/* The head of the pool, which the caller knows is not empty. The run link
 * still holds the free list's pointer: the caller either queues it at once or
 * initialises it (a cancel removes it whether or not it was queued). */
static inline tide__call_record *take(tide_loop *loop, tide__call_kind kind) {
  tide__call_record *rec = loop->priv_call_free;
  loop->priv_call_free = rec->run.link.next;
  rec->kind = (uint8_t)kind;
  loop->priv_registered++;
  return rec;
}

tide__call_record *tide__call_acquire(tide_loop *loop, tide__call_kind kind) {
  if (loop->priv_call_free == NULL && grow_pool(loop) != 0) return NULL;
  tide__call_record *rec = take(loop, kind);
  tide__q_init(&rec->run.link);
  return rec;
}

void tide__call_release(tide__call_record *rec) {
  tide_loop *loop = rec->loop;
  rec->gen++;
  rec->kind = 0;
  rec->run.link.next = loop->priv_call_free;
  loop->priv_call_free = rec;
  loop->priv_registered--;
}

void tide__call_pool_free(tide_loop *loop) {
  call_slab *slab = loop->priv_call_slabs;
  while (slab != NULL) {
    call_slab *next = slab->next;
    tide_loop_dealloc(loop, slab);
    slab = next;
  }
  loop->priv_call_slabs = NULL;
  loop->priv_call_free = NULL;
}

static void fill_call(const tide__call_record *rec, tide_call *out_call) {
  if (out_call != NULL) {
    out_call->priv_record = (tide__call_record *)rec;
    out_call->priv_gen = rec->gen;
  }
}

/* Runs a scheduled call: the record is recycled first, so the callback may
 * schedule again (reusing it) and a cancel of its own tide_call reports
 * TIDE_EALREADY. Soon and later calls have a function each, so that the
 * soon one, on every link of a call_soon chain (bench W1), calls nothing
 * but the callback (a tail call: no registers to save). In wasm the loop
 * calls it directly (loop.c, run_runnable). */
void tide__run_soon(tide__runnable *r) {
  tide__call_record *rec = tide__container_of(r, tide__call_record, run);
  tide_loop *loop = rec->loop;
  tide_call_fn fn = rec->fn.call;
  void *ud = rec->ud;
  tide__call_release(rec);
  fn(loop, ud);
}

static void run_later(tide__runnable *r) {
  tide__call_record *rec = tide__container_of(r, tide__call_record, run);
  tide_loop *loop = rec->loop;
  tide_call_fn fn = rec->fn.call;
  void *ud = rec->ud;
  loop->priv_active_refs--;
  tide__heap_release(loop);
  tide__call_release(rec);
  fn(loop, ud);
}

/* tide_call_soon's way when the pool is empty, kept out of it so that its own
 * path calls nothing and saves no registers. */
static int soon_after_growing(tide_loop *loop, tide_call_fn fn, void *ud, tide_call *out_call) {
  if (grow_pool(loop) != 0) return TIDE_ENOMEM;
  return tide_call_soon(loop, fn, ud, out_call);
}

int tide_call_soon(tide_loop *loop, tide_call_fn fn, void *ud, tide_call *out_call) {
  assert(loop != NULL);
  if (fn == NULL) return TIDE_EINVAL;
  if (loop->priv_call_free == NULL) return soon_after_growing(loop, fn, ud, out_call);
  tide__call_record *rec = take(loop, TIDE__CALL_SOON);
  rec->run.run = tide__run_soon;
  rec->fn.call = fn;
  rec->ud = ud;
  tide__ready_push(loop, &rec->run);
  fill_call(rec, out_call);
  return 0;
}

static int schedule_later(tide_loop *loop, uint64_t when, tide_call_fn fn, void *ud,
                          tide_call *out_call) {
  assert(loop != NULL);
  if (fn == NULL) return TIDE_EINVAL;
  tide__call_record *rec = tide__call_acquire(loop, TIDE__CALL_LATER); /* link queued once due */
  if (rec == NULL) return TIDE_ENOMEM;
  if (tide__heap_reserve(loop) != 0) {
    tide__call_release(rec);
    return TIDE_ENOMEM;
  }
  rec->run.run = run_later;
  rec->fn.call = fn;
  rec->ud = ud;
  tide__heap_entry_init(&rec->u.timer, &rec->run);
  tide__timer_entry_schedule(loop, &rec->u.timer, when);
  loop->priv_active_refs++;
  fill_call(rec, out_call);
  return 0;
}

int tide_call_later(tide_loop *loop, uint64_t delay_ms, tide_call_fn fn, void *ud,
                    tide_call *out_call) {
  return schedule_later(loop, tide__deadline(loop, delay_ms), fn, ud, out_call);
}

int tide_call_at(tide_loop *loop, uint64_t when_ms, tide_call_fn fn, void *ud,
                 tide_call *out_call) {
  /* A time in the past means now: clamped to the cached time, so it takes its
   * turn after the calls already due (a raw past deadline would sort before
   * them in the (deadline, seq) heap and jump the queue). */
  uint64_t now = tide__now(loop);
  if (when_ms < now) when_ms = now;
  return schedule_later(loop, when_ms, fn, ud, out_call);
}

int tide_call_cancel(tide_loop *loop, tide_call call) {
  tide__call_record *rec = call.priv_record;
  if (rec == NULL || rec->gen != call.priv_gen ||
      (rec->kind != TIDE__CALL_SOON && rec->kind != TIDE__CALL_LATER))
    return TIDE_EALREADY;
  assert(rec->loop == loop);
  if (rec->kind == TIDE__CALL_LATER) {
    if (tide__heap_contains(&rec->u.timer)) tide__timer_entry_cancel(loop, &rec->u.timer);
    loop->priv_active_refs--;
    tide__heap_release(loop);
  }
  tide__q_remove(&rec->run.link); /* no-op unless it is queued */
  tide__call_release(rec);
  return 0;
}
