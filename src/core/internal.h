/* internal.h: what the core's files share and nothing outside the core sees.
 *
 * Handle bookkeeping, the pooled call record, the task layout, and the hooks each
 * core file offers the others. The core includes only tide.h, this header,
 * queue.h, heap.h and backend.h.
 */
#ifndef TIDE_INTERNAL_H
#define TIDE_INTERNAL_H

#include <assert.h>

#include "backend.h"
#include "heap.h"
#include "queue.h"
#include "tide.h"

/* --- Handles --------------------------------------------------------------- */

enum { TIDE__HANDLE_TIMER = 1, TIDE__HANDLE_IO, TIDE__HANDLE_ASYNC, TIDE__HANDLE_SIGNAL };

/* Invariants: ACTIVE|REF handles are counted in loop->priv_active_refs; a handle
 * is counted in loop->priv_registered from init until its close callback ran. */
enum {
  TIDE__H_ACTIVE = 1,
  TIDE__H_REF = 2,
  TIDE__H_CLOSING = 4,
  TIDE__H_CLOSED = 8
};

void tide__handle_init(tide_loop *loop, tide_handle *h, unsigned type);

/* Count an ACTIVE|REF handle in (d 1) or out of (d -1) the loop's references;
 * one that is not a timer (an fd, a signal, a wakeup) is also something from
 * outside the loop's clock that can end a wait (priv_waker_refs). */
static inline void tide__handle_count(tide_handle *h, int d) {
  h->priv_loop->priv_active_refs += (unsigned)d;
  if (h->priv_type != TIDE__HANDLE_TIMER) h->priv_loop->priv_waker_refs += (unsigned)d;
}

static inline void tide__handle_start(tide_handle *h) {
  if (h->priv_flags & TIDE__H_ACTIVE) return;
  h->priv_flags |= TIDE__H_ACTIVE;
  if (h->priv_flags & TIDE__H_REF) tide__handle_count(h, 1);
}

static inline void tide__handle_stop(tide_handle *h) {
  if (!(h->priv_flags & TIDE__H_ACTIVE)) return;
  h->priv_flags &= ~(unsigned)TIDE__H_ACTIVE;
  if (h->priv_flags & TIDE__H_REF) tide__handle_count(h, -1);
}

/* Closing an async handle unlinks it; closing a timer stops it and gives its
 * heap reservation back (the other handle kinds close through their public
 * stop functions). */
void tide__async_close(tide_async *async);
void tide__timer_close(tide_timer *timer);

/* --- The ready queue ------------------------------------------------------- */

static inline void tide__ready_push(tide_loop *loop, tide__runnable *r) {
  tide__q_insert_tail(&loop->priv_ready, &r->link);
}

/* --- Pooled call records ----------------------------------------------------
 * One record backs a call_soon/call_later/call_at or a future's done callback.
 * Records come from per-loop slabs that live until the loop closes, so a stale
 * tide_call still points at valid memory and the generation tells it apart. */
typedef enum { TIDE__CALL_SOON = 1, TIDE__CALL_LATER, TIDE__CALL_DONE_CB } tide__call_kind;

typedef struct tide__call_record {
  tide__runnable run; /* queued in the ready queue; free-list link when idle */
  union {
    tide__timer_entry timer; /* CALL_LATER: in the timer heap */
    tide__waiter waiter;     /* CALL_DONE_CB: in a future's waiter list */
  } u;
  tide_loop *loop;
  uint32_t gen;
  uint8_t kind;
  union {
    tide_call_fn call;
    tide_future_cb done;
  } fn;
  void *ud;
} tide__call_record;

/* Take a record from the pool (NULL when the pool cannot grow). */
tide__call_record *tide__call_acquire(tide_loop *loop, tide__call_kind kind);
/* Return a record; every tide_call that named it becomes stale. */
void tide__call_release(tide__call_record *rec);
/* A call_soon record's runnable function (call.c). */
void tide__run_soon(tide__runnable *r);
/* Free every slab (at loop close, with no record in use). */
void tide__call_pool_free(tide_loop *loop);

/* --- Timers ---------------------------------------------------------------- */

/* Put an entry in the heap due at deadline, with a sequence taken now (moving it
 * if it is in already), or remove it. Its owner holds a reservation (heap.h). */
void tide__timer_entry_schedule(tide_loop *loop, tide__timer_entry *e, uint64_t deadline);
void tide__timer_entry_cancel(tide_loop *loop, tide__timer_entry *e);
/* Append every due timer's runnable to the ready queue, in (deadline, seq) order. */
void tide__timers_run_due(tide_loop *loop);
/* The loop's cached time (tide_loop_now): read from the backend first when
 * this iteration has not needed it yet (a lazy-time backend's iteration marks
 * it stale rather than read the clock: loop.c). */
static inline uint64_t tide__now(tide_loop *loop) {
  if (loop->priv_now_stale) tide_loop_update_time(loop);
  return loop->priv_now;
}

/* now + delay, saturating instead of wrapping. */
static inline uint64_t tide__deadline(tide_loop *loop, uint64_t delay) {
  uint64_t now = tide__now(loop);
  return delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
}

/* --- Futures and tasks ------------------------------------------------------ */

enum {
  TIDE__F_OBSERVED = 1,    /* the error was read, or a task awaited it */
  TIDE__F_TASK = TIDE__FUTURE_TASK, /* the future is a task's (struct tide_task) */
  TIDE__F_MSG_OWNED = 4,   /* priv_error.msg was allocated and must be freed */
  /* Some of the library's own host operations (tide__host_op_direct): when
   * the producer completes the future, its waiters (the library's done
   * callbacks, never a user's) are notified at once instead of a tick later,
   * so the user's future that they complete costs one dispatch round, not two. */
  TIDE__F_NOTIFY_NOW = 8,
  TIDE__F_RELEASING = 16,  /* being released: its cancel hook cannot defer */
  /* A combinator's output (gather, wait_for, task group wait): cancelling it
   * defers (see tide__future_cancel_now) until its inputs finished, so a task
   * that awaits it with a cancellation pending forwards the request to it and
   * resumes after them, instead of leaving them running (see task.c). */
  TIDE__F_CANCEL_WAITS = 32
};

/* Complete a future (for the task code too, which bypasses the public "a task's
 * future is set by its coroutine only" rule). Returns 0 or TIDE_EALREADY. */
int tide__future_complete(tide_future *f, const tide_value *value);
int tide__future_fail(tide_future *f, int code, const char *message);
int tide__future_cancel_now(tide_future *f);
/* Add an embedded waiter (no allocation; combinators, task groups): notified
 * from the loop when f completes, at once (next tick) if it is done already. */
void tide__future_add_waiter(tide_future *f, tide__waiter *w);
/* The outcome code a waiter sees (0, error, TIDE_ECANCELED); marks it observed. */
int tide__future_outcome(tide_future *f);
/* Free what a value owns (bytes with a free function). */
void tide__value_drop(tide_value *v);

/* A task: its future comes first so a tide_future* of a task converts back.
 *
 * A task is the block most programs hold by the thousand, so it keeps only what
 * every task uses, and borrows from its future what the future does not use
 * yet: the runnable the future queues once done (future.priv_dispatch) is,
 * until then, the task's step in the ready queue or its waiter on what it
 * awaits (never two at once); the future's pending part (future.priv_task)
 * holds the task's timer entry and step function, which the outcome replaces
 * when the coroutine returns. What few tasks use (a name, where TIDE_SPAWN was
 * called, a host call's arguments) is in a side block made on first use
 * (task_side.c). */
struct tide_task {
  tide_future future;
  tide__coro coro; /* where TIDE__CORO finds it: see private.h */
  /* While TIDE__T_SLEEPING the sleep's (deadline, seq) when it is armed, else
   * what the task is suspended on, or NULL: read it with tide__task_awaiting(). */
  union {
    tide_future *awaiting;
    struct {
      uint64_t deadline;
      uint64_t seq;
    } sleep;
  } wait;
  tide__qnode link; /* the loop's list of live tasks */
  uint64_t id;      /* spawn number: its default name, its track in a trace */
  struct tide__task_side *side; /* NULL until first needed */
  void *pool_slab;  /* where the task's block came from (task_pool.c) */
  tide_frame_cleanup_fn cleanup;
  struct tide_timeout *timeouts; /* innermost open timeout scope, or NULL */
  /* And in its future's header, which has room for them: priv_task_flags,
   * TIDE__T_* below and task.c's own bits after them (tide__task_has); and
   * priv_task_cancels, the cancellation requests not withdrawn (asyncio's
   * Task.cancelling()): each tide_task_cancel adds one, each
   * tide_task_uncancel takes one back, so a timeout scope or task group
   * withdrawing its own request leaves an outer one pending. The CANCEL_*
   * flags below track delivery; at 0 both are clear. */
};

_Static_assert(offsetof(struct tide_task, coro) == TIDE__CORO_OFFSET,
               "the coroutine macros find a task's pc and rc at TIDE__CORO_OFFSET");

enum {
  TIDE__T_STARTED = 1,
  TIDE__T_CANCEL_REQUESTED = 2, /* requested, not yet delivered */
  TIDE__T_CANCEL_DELIVERED = 4, /* the coroutine saw TIDE_ECANCELED */
  TIDE__T_SLEEPING = 8,         /* from the sleep until the task resumes */
  TIDE__T_FINISHED = 16,        /* the coroutine returned */
  TIDE__T_SLEEP_ARMED = 32      /* the sleep is not due yet */
};

/* The task's state bits (TIDE__T_*), kept in its future's header. */
static inline int tide__task_has(const tide_task *t, unsigned bits) {
  return (t->future.priv_task_flags & bits) != 0;
}
static inline void tide__task_set_flags(tide_task *t, unsigned bits) {
  t->future.priv_task_flags = (uint16_t)(t->future.priv_task_flags | bits);
}
static inline void tide__task_clear_flags(tide_task *t, unsigned bits) {
  t->future.priv_task_flags = (uint16_t)(t->future.priv_task_flags & ~bits);
}

/* What the task is suspended on (a future), or NULL (also while it sleeps). */
static inline tide_future *tide__task_awaiting(const tide_task *t) {
  return tide__task_has(t, TIDE__T_SLEEPING) ? NULL : t->wait.awaiting;
}

/* Its one entry in the timer heap, which needs no reservation (heap.h): the
 * earliest of its sleep and its open timeout scopes' deadlines (task_timer.c).
 * Only until the coroutine returns: then the future's outcome takes its
 * storage. */
static inline tide__timer_entry *tide__task_timer(tide_task *t) {
  return &t->future.priv_task.timer;
}

/* The runnable function of a task's step (task.c): what its future's runnable
 * runs while the task is neither awaiting nor finished. */
void tide__task_step_run(tide__runnable *r);

/* Queue the task's step (its first, a yield, a sleep that ended): its future's
 * runnable, which is the step whenever the task neither awaits nor has ended
 * (task.c sets it back when an await ends). */
static inline void tide__task_queue_step(tide_task *t) {
  tide__ready_push(t->future.priv_loop, &t->future.priv_dispatch);
}

/* A task's deadlines changed (its sleep, a scope armed or disarmed): put its
 * heap entry at the earliest one left, or take it out. Never allocates. */
void tide__task_timer_sync(tide_task *t);
/* The timer heap gave up a task's entry: queue the deadline that came due (the
 * task's step, or a scope's expiry) and put the entry back for the next one. */
void tide__task_timer_due(tide_loop *loop, tide__timer_entry *e);

/* The memory of tasks (task_pool.c): blocks of up to TIDE__POOL_MAX bytes come
 * from per-loop slabs (*out_slab says which; NULL: from the allocator). */
#define TIDE__POOL_MAX 1024
void *tide__pool_alloc(tide_loop *loop, size_t size, void **out_slab);
void tide__pool_free(tide_loop *loop, void *block, void *slab);
/* Free the slabs (at loop close, with no task left). */
void tide__pool_close(tide_loop *loop);

/* Close the timeout scopes a finishing coroutine left open (timeout.c). */
void tide__task_timeouts_close(tide_task *t);

/* --- A task's side block (task_side.c) ---------------------------------------
 * Made from the loop's pool the first time a task needs it, freed with it. */
#define TIDE__TASK_NAME_MAX 32 /* a name's storage, its NUL included */
/* Make t's side block if it has none: 0 or TIDE_ENOMEM. */
int tide__task_side_make(tide_task *t);
/* Free it (and the arguments it owns), at the task's free. */
void tide__task_side_free(tide_task *t);
/* Where TIDE_SPAWN was called: 0 or TIDE_ENOMEM (the side block). */
int tide__task_set_site(tide_task *t, const char *file, int line);
/* The file (NULL if unknown) and line the task was spawned at. */
const char *tide__task_site(const tide_task *t, int *out_line);
/* Give a task the arguments of a host call: 0, and it frees buf when it is
 * freed; or TIDE_ENOMEM (the side block), and buf stays the caller's. */
int tide__task_set_args(tide_task *t, const tide_value *args, size_t nargs, void *buf);
/* The task's name for the diagnostics, which must not allocate: its own, or
 * the default "task-<id>" written into buf. */
const char *tide__task_label(const tide_task *t, char buf[TIDE__TASK_NAME_MAX]);

/* Decimal digits of v into buf (at least 21 bytes, NUL-terminated); returns
 * the length (fmt.c: task names, diagnostics and trace labels share it). */
size_t tide__fmt_u64(char *buf, uint64_t v);

/* A task future's dispatch has told its waiters (future.c): the task may now
 * drop the reference it kept for them. May free the task. */
void tide__task_dispatched(tide_future *f);

/* Cancellation for a task's future (tide_future_cancel on it). */
int tide__task_cancel_from_future(tide_future *f);
tide_task *tide__task_of(tide_future *f);

/* --- Reports ---------------------------------------------------------------- */

void tide__report(tide_loop *loop, const tide_error_report *report);

/* --- Diagnostics (diag.c, trace.c) --------------------------------------------
 * loop->priv_diag holds these bits; with all of them clear every hook below
 * costs the one branch of TIDE__DIAG. */
enum { TIDE__DIAG_SLOW = 1, TIDE__DIAG_TRACE = 2 };

/* What happened to a task (arg in parentheses). */
enum {
  TIDE__EV_SPAWN = 1,  /* spawned (the spawning task's id, 0 if none) */
  TIDE__EV_STEP_BEGIN, /* its coroutine is about to run */
  TIDE__EV_STEP_END,   /* it returned (the step result) */
  TIDE__EV_AWAIT,      /* suspended on t->awaiting */
  TIDE__EV_SLEEP,      /* suspended in a sleep (ms, saturated) */
  TIDE__EV_WAKE,       /* what it awaited completed (the outcome code) */
  TIDE__EV_CANCEL,     /* cancellation requested */
  TIDE__EV_FINISH      /* ended without running (cancelled before its start) */
};
void tide__diag_task(tide_loop *loop, int event, tide_task *t, int arg);
#define TIDE__DIAG(loop, event, t, arg)                                          \
  do {                                                                           \
    if ((loop)->priv_diag) tide__diag_task((loop), (event), (t), (arg));         \
  } while (0)

/* Debug mode: a tick batch starts (take the time), and one ready runnable runs
 * timed (reported when slow). */
void tide__diag_ticks_begin(tide_loop *loop);
void tide__diag_run(tide_loop *loop, tide__runnable *r);

/* Host operations, for the trace: started (name), completed (code), cancelled. */
enum { TIDE__EV_HOST_START = 1, TIDE__EV_HOST_COMPLETE, TIDE__EV_HOST_CANCEL };
void tide__diag_host(tide_loop *loop, int event, uint32_t op, const char *name, int code);

/* Free the diagnostics' state (at loop close). */
void tide__diag_close(tide_loop *loop);

#endif /* TIDE_INTERNAL_H */
