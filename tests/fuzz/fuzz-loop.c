/* fuzz-loop.c: a libFuzzer harness that reads its input as a program of public-API
 * operations on the fake backend (virtual clock) and checks a model of the loop
 * after every operation.
 *
 * The input is a byte stream: one opcode byte, then that operation's argument
 * bytes (a missing byte reads as 0, so every input is a valid program). The ops
 * cover one-shot calls, timers, fd watchers (events injected through fake.h),
 * async wakeups, futures and their done callbacks, tasks whose coroutines run a
 * small script taken from the input (sleep, yield, await a future or a child
 * task, every combinator, every sync primitive), cancel and uncancel, the three
 * run modes and stop, the fake backend's clock, the loop's autojump virtual
 * clock (tide_loop_set_clock, then tide_loop_advance), and an allocation
 * failure injected at a chosen allocation (tests/c/alloc.c, as
 * test-alloc-fail.c does).
 *
 * What the model checks (each CHECK names the broken rule when it fails):
 * - every callback runs from the loop, never inside a call the harness or a
 *   coroutine made (api_depth is 0 whenever a callback or a coroutine step runs);
 * - a call, timer, done callback or task completion runs exactly once, and a
 *   cancelled call, a removed done callback or one of a released future never;
 * - call_soon calls run in FIFO order; timed calls and timers in (deadline,
 *   sequence) order; nothing timed runs before its deadline (a sleep returning 0
 *   slept at least its time; a timeout or wait_for reporting its deadline really
 *   reached it);
 * - a done callback of a future the harness completed has run after the next
 *   tide_loop_run, and done callbacks of one future run in the order added;
 * - futures complete once (a second set reports TIDE_EALREADY);
 * - outcomes seen by a coroutine agree with what it awaited (a child's state, a
 *   gather's inputs all finished, as_completed hands out each input once, a task
 *   group's error is its first child's), and TIDE_ECANCELED only reaches a task
 *   some cancellation could reach;
 * - lock holders (<= 1) agree with tide_lock_locked; semaphore value plus holders
 *   equals its permits; queue items come out FIFO and its unfinished count
 *   matches puts minus task_done; a barrier index is below its parties;
 * - TIDE_ENOMEM only when an allocation failure was injected;
 * - at the end, after cancelling and draining everything, tide_loop_close returns
 *   0 and the counting allocator has no live block.
 *
 * Three defects it found (issue 14) are fixed; tests/fuzz/known-bugs/ keeps one
 * reproducer each, replayed by ctest (fuzz.known_bugs) so they stay fixed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fake.h"
#include "tide.h"

#define MAX_OPS 256
#define NCALL 48
#define NTIMER 4
#define NIO 3
#define NASYNC 2
#define NFUT 6
#define NCB 64
#define NTASK 32
#define MAX_STEPS 6
#define MAX_DEPTH 2
#define NLOCK 3 /* two locks and the condition's own lock */
#define NSEM 2
#define QUEUE_MAX 2
#define BARRIER_PARTIES 2
#define GUARD_MS 500 /* a DEFAULT run is stopped by a call this far ahead */

static void fail(int line, const char *what) {
  fflush(stdout);
  fprintf(stderr, "fuzz-loop: model violated at fuzz-loop.c:%d: %s\n", line, what);
  fflush(stderr);
  abort();
}
/* tests/c/alloc.c reports a bad free through the test harness's hook. */
void test__fail(const char *file, int line, const char *fmt, ...);
void test__fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fuzz-loop: %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

#define CHECK(cond, what)                                                              \
  do {                                                                                 \
    if (!(cond)) fail(__LINE__, what " [" #cond "]");                                  \
  } while (0)

/* --- Model state ---------------------------------------------------------- */

typedef struct mcall {
  tide_call h;
  int timed;
  int cancelled;
  int runs;
  uint64_t deadline;
  uint64_t seq; /* soon: FIFO number; timed: schedule order */
} mcall;

enum { H_FREE, H_OPEN, H_CLOSING };

typedef struct mtimer {
  tide_timer t;
  int state;
  int active;
  int ordered; /* first firing of a start: takes part in the order check */
  uint64_t deadline, seq, repeat;
  int close_runs;
} mtimer;

typedef struct mio {
  tide_io io;
  int state;
  int active;
  unsigned events;
  int pending; /* an injection not delivered yet */
} mio;

typedef struct masync {
  tide_async a;
  int state;
  int sends; /* since the callback last ran */
} masync;

typedef struct mfut {
  tide_future f;
  int live;
  int pins; /* awaited by a task or an input of a combinator: never released */
  int gen;
  uint64_t last_cb_seq;
} mfut;

typedef struct mcb {
  int fut, gen;
  uint64_t seq;
  int removed, dropped, runs;
  int must_run_after_epoch; /* 0: no duty; else the run epoch after which it ran */
} mcb;

enum {
  W_NONE,
  W_SLEEP,
  W_FUT,
  W_CHILD,
  W_LOCK,
  W_SEM,
  W_EVENT,
  W_COND_WAIT,
  W_QGET,
  W_QPUT,
  W_QJOIN,
  W_BARRIER,
  W_COMB
};
enum { OWN_HARNESS, OWN_GROUP };

typedef struct mtask {
  int used;
  int owner;
  tide_task *task; /* the harness's reference (OWN_HARNESS) */
  void *frame;
  int awaiter;  /* model index of the task awaiting this one, or -1 */
  int sticky;   /* a cancellation from a group or a parent's deadline may come */
  int scope_ever;
  int cancels; /* tide_task_cancel calls that returned 0 */
  int waiting;
  int finished;
  int ret; /* 0: returned ret_val; else the error it returned with */
  int64_t ret_val;
  int has_cb;
  int cb_runs;
  int released; /* released while its done callback was still queued: that
                   callback still runs (tide.h), then the slot is free */
} mtask;

enum {
  S_SLEEP,
  S_YIELD,
  S_AWAIT_FUT,
  S_SPAWN_AWAIT,
  S_LOCK,
  S_SEM,
  S_EVENT,
  S_COND,
  S_QGET,
  S_QPUT,
  S_QJOIN,
  S_BARRIER,
  S_GATHER,
  S_WAIT,
  S_WAIT_FOR,
  S_TIMEOUT,
  S_SHIELD,
  S_AS_COMPLETED,
  S_GROUP,
  S_RETURN_INT,
  S_RETURN_ERR,
  S_SWALLOW, /* the next ECANCELED is uncancelled and the script goes on */
  S_COUNT
};

typedef struct tframe {
  int id, depth, nsteps, i, k, rc, rc0, held_rc, prim, swallow;
  uint8_t kind[MAX_STEPS], a[MAX_STEPS], b[MAX_STEPS];
  uint64_t t0, ms, ms2, evgen;
  int evset;
  int64_t item;
  int noted; /* a granted queue get was checked for FIFO order */
  tide_future out, next;
  int nin, handed;
  int slot[3];
  tide_future *in[3];
  int child;
  int nkids;
  int kids[3];
  tide_timeout scope;
  tide_as_completed it;
  tide_task_group group;
} tframe;

static struct {
  const uint8_t *p;
  size_t n;
  test_alloc alloc;
  tide_loop loop;
  int api_depth;
  int run_epoch;
  int reports;
  uint64_t soon_seq, soon_last_run, timed_seq;
  int ncalls;
  mcall calls[NCALL];
  tide_call guard;
  int guard_live;
  mtimer timers[NTIMER];
  mio ios[NIO];
  masync asyncs[NASYNC];
  mfut futs[NFUT];
  int ncbs;
  mcb cbs[NCB];
  mtask tasks[NTASK];
  tide_lock locks[2];
  tide_condition cond;
  int lock_res[NLOCK], lock_harness[NLOCK];
  tide_semaphore sems[NSEM];
  unsigned sem_permits[NSEM];
  int sem_res[NSEM], sem_harness[NSEM];
  tide_event ev;
  uint64_t ev_gen;
  tide_queue q;
  int64_t q_seq, q_last_granted;
  int64_t q_entered, q_done;
  int q_shutdown;
  tide_barrier bar;
  int bar_broken_ever;
} G;

static int trace_on = -1;
#define TRACE(...)                                                                     \
  do {                                                                                 \
    if (trace_on > 0) fprintf(stderr, __VA_ARGS__);                                    \
  } while (0)

static tide_loop *L(void) { return &G.loop; }
static uint64_t now(void) { return tide_loop_now(&G.loop); }

static unsigned byte(void) {
  if (G.n == 0) return 0;
  G.n--;
  return *G.p++;
}

/* Every library call made by the harness or a coroutine goes through these, so a
 * callback or coroutine step running inside one is caught. */
#define API(expr) (G.api_depth++, api_rc = (expr), G.api_depth--, api_rc)
#define VAPI(stmt)                                                                     \
  do {                                                                                 \
    G.api_depth++;                                                                     \
    stmt;                                                                              \
    G.api_depth--;                                                                     \
  } while (0)
static int api_rc;

#define NOT_INLINE() CHECK(G.api_depth == 0, "a callback ran inside the call that caused it")

/* TIDE_ENOMEM is acceptable only when the injected failure was met in the call. */
#define ENOMEM_OK(before)                                                              \
  CHECK(G.alloc.failures > (before), "TIDE_ENOMEM without an injected failure")

/* --- Cancellation reachability ------------------------------------------------ */

/* Could a cancellation reach task id: the harness cancelled it, it is a group
 * child, or a task awaiting it (transitively) could be cancelled or had a
 * timeout scope. own_scope: count the task's own open scope too. */
static int cancel_possible(int id, int own_scope) {
  int first = 1;
  for (int hops = 0; id >= 0 && hops < NTASK; hops++) {
    mtask *m = &G.tasks[id];
    if (m->cancels > 0 || m->sticky) return 1;
    if (m->scope_ever && (!first || own_scope)) return 1;
    first = 0;
    id = m->awaiter;
  }
  return 0;
}

/* --- Calls -------------------------------------------------------------------- */

static void call_cb(tide_loop *loop, void *ud) {
  mcall *c = ud;
  NOT_INLINE();
  CHECK(loop == &G.loop, "call ran on another loop");
  CHECK(!c->cancelled, "a cancelled call ran");
  CHECK(c->runs == 0, "a call ran twice");
  c->runs++;
  if (!c->timed) {
    CHECK(c->seq > G.soon_last_run, "call_soon calls ran out of FIFO order");
    G.soon_last_run = c->seq;
    return;
  }
  CHECK(now() >= c->deadline, "a timed call ran before its deadline");
  /* Anything timed that was scheduled before it and is due no later has run. */
  for (int i = 0; i < G.ncalls; i++) {
    mcall *o = &G.calls[i];
    if (o == c || !o->timed || o->cancelled || o->runs) continue;
    CHECK(!(o->seq < c->seq && o->deadline <= c->deadline),
          "timed calls ran out of (deadline, sequence) order");
  }
  for (int i = 0; i < NTIMER; i++) {
    mtimer *t = &G.timers[i];
    if (t->state != H_OPEN || !t->active || !t->ordered) continue;
    CHECK(!(t->seq < c->seq && t->deadline <= c->deadline),
          "a timer due earlier fired after a later call");
  }
}

static void guard_cb(tide_loop *loop, void *ud) {
  (void)ud;
  G.guard_live = 0;
  tide_loop_stop(loop);
}

/* --- Handles ------------------------------------------------------------------ */

static void timer_cb(tide_timer *timer) {
  mtimer *t = timer->handle.data;
  NOT_INLINE();
  CHECK(t->state == H_OPEN && t->active, "an inactive timer fired");
  CHECK(now() >= t->deadline, "a timer fired before its deadline");
  if (t->ordered) {
    for (int i = 0; i < G.ncalls; i++) {
      mcall *o = &G.calls[i];
      if (!o->timed || o->cancelled || o->runs) continue;
      CHECK(!(o->seq < t->seq && o->deadline <= t->deadline),
            "a call due earlier ran after a later timer");
    }
    for (int i = 0; i < NTIMER; i++) {
      mtimer *o = &G.timers[i];
      if (o == t || o->state != H_OPEN || !o->active || !o->ordered) continue;
      CHECK(!(o->seq < t->seq && o->deadline <= t->deadline),
            "timers fired out of (deadline, sequence) order");
    }
  }
  t->ordered = 0; /* a repeat is re-armed by the loop: its order is not modelled */
  if (t->repeat > 0) {
    t->deadline = now() + t->repeat;
  } else {
    t->active = 0;
  }
}

static void timer_close_cb(tide_handle *h) {
  mtimer *t = h->data;
  NOT_INLINE();
  CHECK(t->state == H_CLOSING && t->close_runs == 0, "a close callback ran twice");
  t->close_runs++;
  t->state = H_FREE;
}

static void io_cb(tide_io *io, unsigned events) {
  mio *m = io->handle.data;
  NOT_INLINE();
  CHECK(m->state == H_OPEN && m->active, "a stopped fd watcher was called");
  CHECK(events != 0, "an fd watcher was called with no events");
  CHECK((events & ~(m->events | TIDE_HANGUP | TIDE_IOERROR)) == 0,
        "an fd watcher got events it did not ask for");
  CHECK(m->pending, "an fd watcher was called without an injected event");
  m->pending = 0;
}

static void io_close_cb(tide_handle *h) {
  mio *m = h->data;
  NOT_INLINE();
  CHECK(m->state == H_CLOSING, "fd watcher close callback ran twice");
  m->state = H_FREE;
}

static void async_cb(tide_async *a) {
  masync *m = a->handle.data;
  NOT_INLINE();
  CHECK(m->state == H_OPEN, "a closing async handle was called");
  CHECK(m->sends > 0, "an async callback ran without a send");
  m->sends = 0;
}

static void async_close_cb(tide_handle *h) {
  masync *m = h->data;
  NOT_INLINE();
  CHECK(m->state == H_CLOSING, "async close callback ran twice");
  m->state = H_FREE;
}

/* --- Futures and done callbacks ------------------------------------------------ */

static void done_cb(tide_future *future, void *ud) {
  mcb *e = ud;
  mfut *f = &G.futs[e->fut];
  NOT_INLINE();
  CHECK(!e->removed, "a removed done callback ran");
  CHECK(!e->dropped, "a done callback of a released future ran");
  CHECK(e->runs == 0, "a done callback ran twice");
  CHECK(f->live && f->gen == e->gen && future == &f->f, "done callback got a wrong future");
  CHECK(tide_future_done(future), "a done callback ran before its future completed");
  CHECK(e->seq > f->last_cb_seq, "done callbacks ran out of the order they were added");
  f->last_cb_seq = e->seq;
  e->runs++;
}

/* The harness completed future k (or added to a done one): every callback still
 * registered must have run by the end of the next tide_loop_run. */
static void callbacks_due(int k) {
  for (int i = 0; i < G.ncbs; i++) {
    mcb *e = &G.cbs[i];
    if (e->fut == k && e->gen == G.futs[k].gen && !e->removed && !e->dropped && !e->runs &&
        !e->must_run_after_epoch)
      e->must_run_after_epoch = G.run_epoch + 1;
  }
}

static void check_cbs_after_run(void) {
  for (int i = 0; i < G.ncbs; i++) {
    mcb *e = &G.cbs[i];
    if (e->must_run_after_epoch && e->must_run_after_epoch <= G.run_epoch && !e->removed &&
        !e->dropped)
      CHECK(e->runs == 1, "a done callback of a completed future did not run on the next run");
  }
}

/* --- Tasks ------------------------------------------------------------------------ */

static int task_main(tide_task *t, void *frame);

static void task_done_cb(tide_future *future, void *ud) {
  mtask *m = ud;
  int id = (int)(m - G.tasks);
  tide_value v;
  NOT_INLINE();
  CHECK(m->used && m->has_cb, "done callback of a released task ran");
  CHECK(m->cb_runs == 0, "a task's done callback ran twice");
  m->cb_runs++;
  if (m->released) {
    /* tide_task_release of a finished task: its queued callbacks run, then it
     * is freed. The future is still readable here, inside its callback. */
    m->used = 0;
    m->released = 0;
  }
  tide_future_state st = tide_future_state_get(future);
  int rc = tide_future_result(future, &v);
  if (!m->finished) {
    /* Cancelled before its first step: the coroutine never ran. */
    CHECK(st == TIDE_FUTURE_CANCELLED && cancel_possible(id, 1),
          "a task's future completed before its coroutine returned");
  } else if (m->ret == TIDE_ECANCELED) {
    CHECK(st == TIDE_FUTURE_CANCELLED, "a task returning TIDE_ECANCELED did not end cancelled");
  } else if (st == TIDE_FUTURE_CANCELLED) {
    CHECK(cancel_possible(id, 1), "a task ended cancelled that nothing cancelled");
  } else if (m->ret == 0) {
    CHECK(rc == 0 && v.type == TIDE_VALUE_INT && v.as.i == m->ret_val,
          "a task's result is not what its coroutine returned");
  } else {
    CHECK(rc == m->ret, "a task's error is not what its coroutine returned");
  }
}

static int new_task_slot(void) {
  for (int i = 0; i < NTASK; i++)
    if (!G.tasks[i].used) return i;
  return -1;
}

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s ? *s : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* A script for a top-level task (from the input) or a child (from a seed). */
static void make_frame(tframe *f, int id, int depth, uint32_t *seed) {
  memset(f, 0, sizeof *f);
  f->id = id;
  f->depth = depth;
  if (seed == NULL) {
    f->nsteps = 1 + (int)(byte() % MAX_STEPS);
    for (int i = 0; i < f->nsteps; i++) {
      f->kind[i] = (uint8_t)(byte() % S_COUNT);
      f->a[i] = (uint8_t)byte();
      f->b[i] = (uint8_t)byte();
    }
  } else {
    f->nsteps = 1 + (int)(xorshift(seed) % 3);
    for (int i = 0; i < f->nsteps; i++) {
      uint32_t r = xorshift(seed);
      f->kind[i] = (uint8_t)(r % S_COUNT);
      f->a[i] = (uint8_t)(r >> 8);
      f->b[i] = (uint8_t)(r >> 16);
    }
  }
}

/* Spawn a task owned by the harness (and awaited by task `awaiter`, or -1). */
static int spawn_task(tframe *init, int awaiter) {
  int id = init->id;
  tide_task *task = NULL;
  size_t f0 = G.alloc.failures;
  int rc = API(tide_task_spawn(L(), task_main, init, sizeof *init, &task));
  if (rc == TIDE_ENOMEM) {
    ENOMEM_OK(f0);
    return -1;
  }
  CHECK(rc == 0, "tide_task_spawn failed");
  mtask *m = &G.tasks[id];
  memset(m, 0, sizeof *m);
  m->used = 1;
  m->owner = OWN_HARNESS;
  m->task = task;
  m->frame = tide_task_frame(task);
  m->awaiter = awaiter;
  f0 = G.alloc.failures;
  rc = API(tide_future_add_done_callback(tide_task_future(task), task_done_cb, m));
  if (rc == TIDE_ENOMEM) ENOMEM_OK(f0);
  else CHECK(rc == 0, "add_done_callback on a task failed");
  m->has_cb = rc == 0;
  return id;
}

/* Choose up to n distinct live plain futures from slot `start` on, and pin them. */
static void pick_inputs(tframe *f, unsigned start, int n) {
  f->nin = 0;
  for (int j = 0; j < NFUT && f->nin < n; j++) {
    int k = (int)((start + (unsigned)j) % NFUT);
    if (!G.futs[k].live) continue;
    G.futs[k].pins++;
    f->slot[f->nin] = k;
    f->in[f->nin] = &G.futs[k].f;
    f->nin++;
  }
}

static void unpin_inputs(tframe *f) {
  for (int j = 0; j < f->nin; j++) G.futs[f->slot[j]].pins--;
  f->nin = 0;
}

static int all_inputs_done(tframe *f) {
  for (int j = 0; j < f->nin; j++)
    if (!tide_future_done(f->in[j])) return 0;
  return 1;
}

static void check_sleep(int id, uint64_t t0, uint64_t ms, int rc) {
  if (rc == 0) {
    CHECK(now() >= t0 + ms, "a sleep returned 0 before its time");
  } else {
    CHECK(rc == TIDE_ECANCELED, "a sleep returned an unexpected error");
    CHECK(cancel_possible(id, 1), "a sleep was cancelled that nothing cancelled");
  }
}

/* rc from awaiting future fut agrees with fut's state. */
static void check_await_outcome(int id, tide_future *fut, int rc) {
  tide_future_state st = tide_future_state_get(fut);
  if (rc == 0) {
    CHECK(st == TIDE_FUTURE_RESULT, "await returned 0 for a future without a result");
  } else if (rc == TIDE_ECANCELED) {
    CHECK(st == TIDE_FUTURE_CANCELLED || cancel_possible(id, 1),
          "await returned TIDE_ECANCELED for a future not cancelled");
  } else {
    CHECK(st == TIDE_FUTURE_ERROR && tide_future_result(fut, NULL) == rc,
          "await returned an error the future does not have");
  }
}

/* Queue FIFO order is checked when each get is granted (the item leaves the
 * queue), not when the task resumes: a get that completes at once does not
 * suspend, so it can resume before an earlier get granted inside a put. A waiting
 * get is granted inside a put, so this runs after every put and get call. */
static void q_note_grants(void) {
  for (int i = 0; i < NTASK; i++) {
    tframe *f = G.tasks[i].used ? (tframe *)G.tasks[i].frame : NULL;
    tide_value v;
    if (f == NULL || G.tasks[i].waiting != W_QGET || f->noted) continue;
    if (tide_future_state_get(&f->out) != TIDE_FUTURE_RESULT) continue;
    CHECK(tide_future_result(&f->out, &v) == 0 && v.type == TIDE_VALUE_PTR,
          "queue get gave no item");
    CHECK((int64_t)(intptr_t)v.as.p > G.q_last_granted, "queue items came out of FIFO order");
    G.q_last_granted = (int64_t)(intptr_t)v.as.p;
    f->noted = 1;
  }
}

#define K (f->kind[f->i])
#define A (f->a[f->i])
#define B (f->b[f->i])

/* The coroutine every task runs: its frame's script, step by step. A delivered
 * cancellation ends it with TIDE_ECANCELED unless an S_SWALLOW step armed an
 * uncancel. */
static int task_main(tide_task *t, void *frame) {
  tframe *f = frame;
  mtask *m = &G.tasks[f->id];
  tide_value v;
  NOT_INLINE();
  CHECK(m->used && !m->finished, "a coroutine step ran for a finished task");
  TIDE_BEGIN(t);
  for (f->i = 0; f->i < f->nsteps; f->i++) {
    f->t0 = now();
    f->rc = 0;
    TRACE("  task %d step %d: kind %d a %d b %d (now %llu)\n", f->id, f->i, K, A, B,
          (unsigned long long)now());
    if (K == S_SLEEP) {
      f->ms = A % 40;
      m->waiting = W_SLEEP;
      TIDE_SLEEP(t, f->ms, f->rc);
      m->waiting = W_NONE;
      check_sleep(f->id, f->t0, f->ms, f->rc);
    } else if (K == S_YIELD) {
      TIDE_YIELD(t, f->rc);
      CHECK(f->rc == 0 || (f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1)),
            "yield returned an unexpected code");
    } else if (K == S_AWAIT_FUT) {
      pick_inputs(f, A, 1);
      if (f->nin == 0) continue;
      m->waiting = W_FUT;
      TIDE_AWAIT(t, f->in[0], f->rc);
      m->waiting = W_NONE;
      check_await_outcome(f->id, f->in[0], f->rc);
      unpin_inputs(f);
    } else if (K == S_SPAWN_AWAIT) {
      if (f->depth >= MAX_DEPTH) continue;
      f->child = new_task_slot();
      if (f->child < 0) continue;
      {
        tframe init;
        uint32_t seed = (uint32_t)(A * 131u + B * 7u + (unsigned)f->id + 1u);
        make_frame(&init, f->child, f->depth + 1, &seed);
        f->child = spawn_task(&init, f->id);
      }
      if (f->child < 0) continue;
      m->waiting = W_CHILD;
      TIDE_AWAIT(t, tide_task_future(G.tasks[f->child].task), f->rc);
      m->waiting = W_NONE;
      G.tasks[f->child].awaiter = -1;
      /* A cancellation already pending is delivered at the await itself,
       * without waiting for (or cancelling) the child. */
      CHECK(tide_task_done(G.tasks[f->child].task) ||
                (f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1)),
            "await of a child returned before it finished");
      check_await_outcome(f->id, tide_task_future(G.tasks[f->child].task), f->rc);
    } else if (K == S_LOCK || K == S_SEM) {
      f->prim = A % (K == S_LOCK ? 2 : NSEM);
      tide_future_init(L(), &f->out);
      m->waiting = K == S_LOCK ? W_LOCK : W_SEM;
      f->rc0 = K == S_LOCK ? API(tide_lock_acquire(&G.locks[f->prim], &f->out))
                           : API(tide_semaphore_acquire(&G.sems[f->prim], &f->out));
      CHECK(f->rc0 == 0, "acquire refused a fresh future");
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      VAPI(tide_future_release(&f->out));
      if (f->rc == 0) {
        if (K == S_LOCK) G.lock_res[f->prim]++;
        else G.sem_res[f->prim]++;
        f->ms = B % 10;
        f->t0 = now();
        m->waiting = W_SLEEP;
        TIDE_SLEEP(t, f->ms, f->held_rc);
        m->waiting = W_NONE;
        check_sleep(f->id, f->t0, f->ms, f->held_rc);
        if (K == S_LOCK) {
          G.lock_res[f->prim]--;
          CHECK(API(tide_lock_release(&G.locks[f->prim])) == 0, "a held lock refused release");
        } else {
          G.sem_res[f->prim]--;
          CHECK(API(tide_semaphore_release(&G.sems[f->prim])) == 0,
                "a held semaphore permit was refused back");
        }
        f->rc = f->held_rc;
      } else {
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
              "acquire failed without a cancellation");
      }
    } else if (K == S_EVENT) {
      f->evgen = G.ev_gen;
      f->evset = tide_event_is_set(&G.ev);
      tide_future_init(L(), &f->out);
      m->waiting = W_EVENT;
      CHECK(API(tide_event_wait(&G.ev, &f->out)) == 0, "event wait refused");
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      VAPI(tide_future_release(&f->out));
      if (f->rc == 0)
        CHECK(f->evset || G.ev_gen > f->evgen, "an event wait ended without a set");
      else
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
              "event wait failed without a cancellation");
    } else if (K == S_COND) {
      f->prim = 2;
      tide_future_init(L(), &f->out);
      m->waiting = W_LOCK;
      CHECK(API(tide_lock_acquire(tide_condition_lock(&G.cond), &f->out)) == 0,
            "acquire refused");
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      VAPI(tide_future_release(&f->out));
      if (f->rc != 0) {
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
              "acquire failed without a cancellation");
      } else {
        G.lock_res[2]++;
        tide_future_init(L(), &f->out);
        f->rc0 = API(tide_condition_wait(&G.cond, &f->out));
        CHECK(f->rc0 == 0 || f->rc0 == TIDE_ECANCELED, "condition wait refused");
        if (f->rc0 == 0) {
          G.lock_res[2]--; /* the waiter let go of the lock */
          m->waiting = W_COND_WAIT;
          TIDE_AWAIT(t, &f->out, f->rc);
          m->waiting = W_NONE;
          CHECK(f->rc == 0 || (f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1)),
                "condition wait ended with an unexpected code");
          G.lock_res[2]++; /* it always comes back holding the lock */
        } else {
          f->rc = f->rc0;
        }
        VAPI(tide_future_release(&f->out));
        CHECK(tide_lock_locked(tide_condition_lock(&G.cond)), "condition lock not held");
        G.lock_res[2]--;
        CHECK(API(tide_lock_release(tide_condition_lock(&G.cond))) == 0,
              "a held condition lock refused release");
      }
    } else if (K == S_QGET || K == S_QPUT || K == S_QJOIN) {
      tide_future_init(L(), &f->out);
      if (K == S_QGET) {
        m->waiting = W_QGET;
        f->noted = 0;
        f->rc0 = API(tide_queue_get(&G.q, &f->out));
        q_note_grants();
      } else if (K == S_QPUT) {
        m->waiting = W_QPUT;
        f->item = ++G.q_seq;
        TRACE("  task %d puts item %lld\n", f->id, (long long)f->item);
        {
          size_t f0 = G.alloc.failures;
          f->rc0 = API(tide_queue_put(&G.q, (void *)(intptr_t)f->item, 0, &f->out));
          if (f->rc0 == TIDE_ENOMEM) ENOMEM_OK(f0);
          q_note_grants();
        }
      } else {
        m->waiting = W_QJOIN;
        f->rc0 = API(tide_queue_join(&G.q, &f->out));
      }
      if (f->rc0 != 0) {
        CHECK(f->rc0 == TIDE_ENOMEM, "a queue wait refused a fresh future");
        m->waiting = W_NONE;
        VAPI(tide_future_release(&f->out));
        continue;
      }
      TIDE_AWAIT(t, &f->out, f->rc);
      if (f->rc == 0 && m->waiting == W_QGET) {
        CHECK(tide_future_result(&f->out, &v) == 0 && v.type == TIDE_VALUE_PTR,
              "queue get gave no item");
        f->item = (int64_t)(intptr_t)v.as.p;
        TRACE("  task %d got item %lld\n", f->id, (long long)f->item);
        q_note_grants();
        CHECK(f->noted, "a queue get completed outside any put or get");
        CHECK(API(tide_queue_task_done(&G.q)) == 0, "task_done refused");
        G.q_done++;
      } else if (f->rc == 0 && m->waiting == W_QPUT) {
        G.q_entered++;
      } else if (f->rc == TIDE_ECLOSED) {
        CHECK(G.q_shutdown && m->waiting != W_QJOIN, "queue wait failed without a shutdown");
        f->rc = 0;
      } else if (f->rc != 0) {
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
              "queue wait failed without a cancellation");
      }
      m->waiting = W_NONE;
      VAPI(tide_future_release(&f->out));
    } else if (K == S_BARRIER) {
      tide_future_init(L(), &f->out);
      m->waiting = W_BARRIER;
      CHECK(API(tide_barrier_wait(&G.bar, &f->out)) == 0, "barrier wait refused");
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      if (f->rc == 0) {
        CHECK(tide_future_result(&f->out, &v) == 0 && v.type == TIDE_VALUE_INT &&
                  v.as.i >= 0 && v.as.i < BARRIER_PARTIES,
              "barrier index out of range");
      } else if (f->rc == TIDE_ECLOSED) {
        CHECK(G.bar_broken_ever, "barrier failed without abort or reset");
        f->rc = 0;
      } else {
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
              "barrier wait failed without a cancellation");
      }
      VAPI(tide_future_release(&f->out));
    } else if (K == S_GATHER || K == S_WAIT || K == S_WAIT_FOR || K == S_SHIELD) {
      pick_inputs(f, A, (K == S_WAIT_FOR || K == S_SHIELD) ? 1 : 1 + B % 3);
      if (f->nin == 0) continue;
      tide_future_init(L(), &f->out);
      f->ms = B % 30;
      {
        size_t f0 = G.alloc.failures;
        if (K == S_GATHER)
          f->rc0 = API(tide_gather(L(), f->in, (size_t)f->nin,
                                   (B & 64) ? TIDE_GATHER_CANCEL_ON_ERROR : 0, &f->out));
        else if (K == S_WAIT)
          f->rc0 = API(tide_wait(L(), f->in, (size_t)f->nin, (tide_wait_mode)(1 + A % 3),
                                 (B & 128) ? -1 : (int64_t)f->ms, &f->out));
        else if (K == S_WAIT_FOR)
          f->rc0 = API(tide_wait_for(L(), f->in[0], (B & 128) ? -1 : (int64_t)f->ms, &f->out));
        else
          f->rc0 = API(tide_shield(L(), f->in[0], &f->out));
        if (f->rc0 == TIDE_ENOMEM) ENOMEM_OK(f0);
        else CHECK(f->rc0 == 0, "a combinator refused valid inputs");
      }
      if (f->rc0 != 0) {
        VAPI(tide_future_release(&f->out));
        unpin_inputs(f);
        continue;
      }
      m->waiting = W_COMB;
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      if (K == S_GATHER) {
        CHECK(all_inputs_done(f), "gather completed before all its inputs");
        if (f->rc == 0)
          for (int j = 0; j < f->nin; j++)
            CHECK(tide_future_state_get(f->in[j]) == TIDE_FUTURE_RESULT,
                  "gather succeeded over a failed input");
        if (f->rc == TIDE_ECANCELED) {
          int any = 0;
          for (int j = 0; j < f->nin; j++)
            any |= tide_future_state_get(f->in[j]) == TIDE_FUTURE_CANCELLED;
          CHECK(any || cancel_possible(f->id, 1), "gather cancelled with no cancelled input");
        }
      } else if (K == S_WAIT) {
        if (f->rc == 0) {
          CHECK(tide_future_result(&f->out, &v) == 0 && v.type == TIDE_VALUE_INT,
                "wait gave no count");
          CHECK(v.as.i >= 0 && v.as.i <= f->nin, "wait count out of range");
          int mode = 1 + A % 3;
          int satisfied = mode == TIDE_WAIT_ALL_COMPLETED ? v.as.i == f->nin : v.as.i > 0;
          if (mode == TIDE_WAIT_FIRST_EXCEPTION && v.as.i < f->nin) {
            /* satisfied only by an error among the done inputs */
            int err = 0;
            for (int j = 0; j < f->nin; j++)
              err |= tide_future_state_get(f->in[j]) == TIDE_FUTURE_ERROR;
            satisfied = err;
          }
          if (!satisfied)
            CHECK(!(B & 128) && now() >= f->t0 + f->ms, "wait ended before it was satisfied");
        } else {
          CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
                "wait failed without a cancellation");
        }
      } else if (K == S_WAIT_FOR) {
        if (f->rc == TIDE_ETIMEDOUT) {
          CHECK(!(B & 128) && now() >= f->t0 + f->ms, "wait_for timed out early");
          CHECK(tide_future_state_get(f->in[0]) == TIDE_FUTURE_CANCELLED,
                "wait_for timed out but its input was not cancelled");
        } else {
          check_await_outcome(f->id, f->in[0], f->rc);
        }
      } else {
        if (f->rc != TIDE_ECANCELED) check_await_outcome(f->id, f->in[0], f->rc);
        else
          CHECK(tide_future_state_get(f->in[0]) == TIDE_FUTURE_CANCELLED ||
                    cancel_possible(f->id, 1),
                "shield cancelled with nothing cancelled");
      }
      VAPI(tide_future_release(&f->out));
      unpin_inputs(f);
    } else if (K == S_TIMEOUT) {
      f->ms = A % 30;
      f->ms2 = B % 40;
      VAPI(tide_task_timeout_begin(t, &f->scope, (int64_t)f->ms));
      m->scope_ever = 1;
      m->waiting = W_SLEEP;
      TIDE_SLEEP(t, f->ms2, f->rc);
      m->waiting = W_NONE;
      VAPI(tide_task_timeout_end(t, &f->scope, &f->rc));
      if (f->rc == 0) {
        CHECK(now() >= f->t0 + f->ms2, "a sleep in a timeout scope returned 0 early");
      } else if (f->rc == TIDE_ETIMEDOUT) {
        CHECK(now() >= f->t0 + f->ms, "a timeout scope expired early");
        CHECK(tide_timeout_expired(&f->scope), "ETIMEDOUT from a scope not expired");
        f->rc = 0;
      } else {
        CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 0),
              "a timeout scope let through a cancellation nobody sent");
      }
    } else if (K == S_AS_COMPLETED) {
      pick_inputs(f, A, 1 + B % 3);
      if (f->nin == 0) continue;
      {
        size_t f0 = G.alloc.failures;
        f->rc0 = API(tide_as_completed_init(L(), &f->it, f->in, (size_t)f->nin));
        if (f->rc0 == TIDE_ENOMEM) {
          ENOMEM_OK(f0);
          unpin_inputs(f);
          continue;
        }
        CHECK(f->rc0 == 0, "as_completed refused valid inputs");
      }
      f->handed = 0;
      while (tide_as_completed_left(&f->it) > 0) {
        tide_future_init(L(), &f->next);
        CHECK(API(tide_as_completed_next(&f->it, &f->next)) == 0, "as_completed_next refused");
        m->waiting = W_COMB;
        TIDE_AWAIT(t, &f->next, f->rc);
        m->waiting = W_NONE;
        if (f->rc == 0) {
          int j;
          CHECK(tide_future_result(&f->next, &v) == 0 && v.type == TIDE_VALUE_PTR,
                "as_completed gave no input");
          for (j = 0; j < f->nin && f->in[j] != v.as.p; j++) {
          }
          CHECK(j < f->nin, "as_completed handed out a future that is not an input");
          CHECK(!(f->handed & (1 << j)), "as_completed handed out an input twice");
          CHECK(tide_future_done(f->in[j]), "as_completed handed out a pending input");
          f->handed |= 1 << j;
        } else {
          CHECK(f->rc == TIDE_ECANCELED && cancel_possible(f->id, 1),
                "as_completed failed without a cancellation");
        }
        VAPI(tide_future_release(&f->next));
        if (f->rc != 0) break;
      }
      if (f->rc == 0)
        CHECK(f->handed == (1 << f->nin) - 1, "as_completed did not hand out every input");
      VAPI(tide_as_completed_release(&f->it));
      unpin_inputs(f);
    } else if (K == S_GROUP) {
      if (f->depth >= MAX_DEPTH) continue;
      VAPI(tide_task_group_init(L(), &f->group));
      f->nkids = 0;
      for (f->k = 0; f->k < 1 + A % 3; f->k++) {
        int c = new_task_slot();
        tframe init;
        tide_task *kid = NULL;
        uint32_t seed = (uint32_t)(B * 977u + (unsigned)f->k * 31u + (unsigned)f->id + 7u);
        size_t f0 = G.alloc.failures;
        if (c < 0) break;
        make_frame(&init, c, f->depth + 1, &seed);
        int rc = API(tide_task_group_spawn(&f->group, task_main, &init, sizeof init, &kid));
        if (rc == TIDE_ENOMEM) {
          ENOMEM_OK(f0);
          continue;
        }
        CHECK(rc == 0, "task group refused a spawn");
        memset(&G.tasks[c], 0, sizeof G.tasks[c]);
        G.tasks[c].used = 1;
        G.tasks[c].owner = OWN_GROUP;
        G.tasks[c].task = kid; /* borrowed until the group is released */
        G.tasks[c].frame = tide_task_frame(kid);
        G.tasks[c].awaiter = f->id;
        G.tasks[c].sticky = 1; /* a failing sibling cancels it */
        f->kids[f->nkids++] = c;
      }
      tide_future_init(L(), &f->out);
      CHECK(API(tide_task_group_wait(&f->group, &f->out)) == 0, "task group wait refused");
      m->waiting = W_COMB;
      TIDE_AWAIT(t, &f->out, f->rc);
      m->waiting = W_NONE;
      {
        size_t nerr = tide_task_group_error_count(&f->group);
        int nfailed = 0;
        for (int j = 0; j < f->nkids; j++) {
          mtask *kid = &G.tasks[f->kids[j]];
          CHECK(tide_task_done(kid->task), "task group wait completed before a child finished");
          nfailed += kid->ret != 0 && kid->ret != TIDE_ECANCELED;
        }
        CHECK((int)nerr == nfailed, "task group error count differs from failed children");
        if (f->rc == 0) {
          CHECK(nerr == 0, "task group succeeded with a failed child");
        } else if (f->rc != TIDE_ECANCELED) {
          int code = 0;
          CHECK(tide_task_group_error(&f->group, 0, &code, NULL, NULL) == 0 && code == f->rc,
                "task group error is not its first child's");
        } else {
          CHECK(cancel_possible(f->id, 1), "task group cancelled with nothing cancelled");
        }
        for (size_t j = 0; j < nerr; j++)
          CHECK(tide_task_group_error(&f->group, j, NULL, NULL, NULL) == 0,
                "task group error unreadable");
      }
      VAPI(tide_future_release(&f->out));
      VAPI(tide_task_group_release(&f->group));
      for (int j = 0; j < f->nkids; j++) G.tasks[f->kids[j]].used = 0;
      if (f->rc != TIDE_ECANCELED) f->rc = 0;
    } else if (K == S_RETURN_INT) {
      m->finished = 1;
      m->ret = 0;
      m->ret_val = A;
      TIDE_RETURN_INT(t, A);
    } else if (K == S_RETURN_ERR) {
      m->finished = 1;
      m->ret = (A & 1) ? TIDE_EIO : TIDE_EPIPE;
      TIDE_RETURN_ERROR(t, m->ret, "scripted failure");
    } else if (K == S_SWALLOW) {
      f->swallow = 1;
    }
    if (f->rc == TIDE_ECANCELED) {
      if (f->swallow) {
        f->swallow = 0;
        VAPI(tide_task_uncancel(t));
        continue;
      }
      m->finished = 1;
      m->ret = TIDE_ECANCELED;
      TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
    }
  }
  m->finished = 1;
  m->ret = 0;
  m->ret_val = 1000 + f->id;
  TIDE_RETURN_INT(t, 1000 + f->id);
  TIDE_END(t);
}

#undef K
#undef A
#undef B

/* --- The model's invariants, checked after every operation -------------------------- */

static tframe *frame_of(int i) {
  return G.tasks[i].used ? (tframe *)G.tasks[i].frame : NULL;
}

static void check_model(void) {
  int granted_lock[NLOCK] = {0}, granted_sem[NSEM] = {0};
  int granted_puts = 0;
  for (int i = 0; i < NTASK; i++) {
    tframe *f = frame_of(i);
    if (f == NULL || tide_task_done(G.tasks[i].task)) continue;
    int w = G.tasks[i].waiting;
    tide_future_state st = tide_future_state_get(&f->out);
    if (w == W_LOCK && st == TIDE_FUTURE_RESULT) granted_lock[f->prim]++;
    if (w == W_SEM && st == TIDE_FUTURE_RESULT) granted_sem[f->prim]++;
    if (w == W_COND_WAIT && (st == TIDE_FUTURE_RESULT || st == TIDE_FUTURE_CANCELLED))
      granted_lock[2]++;
    if (w == W_QPUT && st == TIDE_FUTURE_RESULT) granted_puts++;
  }
  for (int i = 0; i < NLOCK; i++) {
    tide_lock *lock = i < 2 ? &G.locks[i] : tide_condition_lock(&G.cond);
    int holders = G.lock_res[i] + G.lock_harness[i] + granted_lock[i];
    CHECK(holders <= 1, "a lock has more than one holder");
    CHECK(tide_lock_locked(lock) == (holders > 0), "lock state differs from its holders");
  }
  for (int i = 0; i < NSEM; i++) {
    unsigned held = (unsigned)(G.sem_res[i] + G.sem_harness[i] + granted_sem[i]);
    CHECK(tide_semaphore_value(&G.sems[i]) + held == G.sem_permits[i],
          "semaphore value plus holders differs from its permits");
  }
  CHECK(tide_queue_size(&G.q) <= QUEUE_MAX, "queue holds more than its maxsize");
  CHECK((int64_t)tide_queue_unfinished(&G.q) == G.q_entered + granted_puts - G.q_done,
        "queue unfinished count differs from puts minus task_done");
  CHECK(tide_barrier_n_waiting(&G.bar) < BARRIER_PARTIES, "barrier holds a full round");
}

/* --- Running the loop ----------------------------------------------------------------- */

static void run(tide_run_mode mode) {
  int guarded = 0;
  if (mode == TIDE_RUN_DEFAULT) {
    /* Repeating timers and ref'd handles keep a DEFAULT run alive for ever: a
     * stop call bounds it (the virtual clock jumps to it when nothing else is
     * due). Without memory for it, run once instead. */
    size_t f0 = G.alloc.failures;
    int rc = API(tide_call_later(L(), GUARD_MS, guard_cb, NULL, &G.guard));
    if (rc == TIDE_ENOMEM) {
      ENOMEM_OK(f0);
      mode = TIDE_RUN_ONCE;
    } else {
      CHECK(rc == 0, "call_later failed");
      G.guard_live = guarded = 1;
    }
  }
  int rc = tide_loop_run(L(), mode);
  CHECK(rc >= 0, "tide_loop_run failed");
  G.run_epoch++;
  if (guarded && G.guard_live) {
    CHECK(API(tide_call_cancel(L(), G.guard)) == 0, "the guard call could not be cancelled");
    G.guard_live = 0;
  }
  check_cbs_after_run();
}

static void queue_drop(void *item, void *ud) {
  (void)item;
  (void)ud;
  G.q_done++;
}

static void on_report(tide_loop *loop, const tide_error_report *report, void *ud) {
  (void)loop;
  (void)report;
  (void)ud;
  G.reports++;
}

/* --- Operations ------------------------------------------------------------------------- */

enum {
  OP_CALL_SOON,
  OP_CALL_LATER,
  OP_CALL_AT,
  OP_CALL_CANCEL,
  OP_TIMER_START,
  OP_TIMER_STOP,
  OP_TIMER_CLOSE,
  OP_IO_START,
  OP_IO_INJECT,
  OP_IO_STOP_CLOSE,
  OP_ASYNC,
  OP_FUT_INIT,
  OP_FUT_SET,
  OP_FUT_ADD_CB,
  OP_FUT_REMOVE_CB,
  OP_FUT_RELEASE,
  OP_TASK_SPAWN,
  OP_TASK_CANCEL,
  OP_TASK_UNCANCEL,
  OP_TASK_RELEASE,
  OP_RUN_NOWAIT,
  OP_RUN_ONCE,
  OP_RUN_DEFAULT,
  OP_STOP_RUN,
  OP_ADVANCE,
  OP_FAIL_IN,
  OP_LOCK,
  OP_SEM,
  OP_EVENT,
  OP_COND_NOTIFY,
  OP_QUEUE,
  OP_BARRIER,
  OP_RUN_NOWAIT2, /* running is the common case: weight it */
  OP_RUN_ONCE2,
  OP_CLOCK, /* the loop goes on the autojump virtual clock (one way) */
  OP_COUNT
};

static mcall *new_call(int timed, uint64_t deadline) {
  if (G.ncalls >= NCALL) return NULL;
  mcall *c = &G.calls[G.ncalls];
  memset(c, 0, sizeof *c);
  c->timed = timed;
  c->deadline = deadline;
  c->seq = timed ? ++G.timed_seq : ++G.soon_seq;
  return c;
}

static void op_call(int op) {
  unsigned x = byte();
  uint64_t deadline = now();
  if (op == OP_CALL_LATER) deadline = now() + x % 50;
  if (op == OP_CALL_AT) {
    uint64_t when = now() + x % 50;
    when = when >= 20 ? when - 20 : 0; /* up to 20 ms in the past */
    deadline = when < now() ? now() : when; /* a past time means "now" */
    mcall *c = new_call(1, deadline);
    if (c == NULL) return;
    size_t f0 = G.alloc.failures;
    int rc = API(tide_call_at(L(), when, call_cb, c, &c->h));
    if (rc == TIDE_ENOMEM) {
      ENOMEM_OK(f0);
      return;
    }
    CHECK(rc == 0, "call_at failed");
    G.ncalls++;
    return;
  }
  mcall *c = new_call(op != OP_CALL_SOON, deadline);
  if (c == NULL) return;
  size_t f0 = G.alloc.failures;
  int rc = op == OP_CALL_SOON ? API(tide_call_soon(L(), call_cb, c, &c->h))
                              : API(tide_call_later(L(), x % 50, call_cb, c, &c->h));
  if (rc == TIDE_ENOMEM) {
    ENOMEM_OK(f0);
    if (op == OP_CALL_SOON) G.soon_seq--; /* keep the FIFO numbering dense */
    return;
  }
  CHECK(rc == 0, "call_soon/call_later failed");
  G.ncalls++;
}

static void op_call_cancel(void) {
  if (G.ncalls == 0) return;
  mcall *c = &G.calls[byte() % (unsigned)G.ncalls];
  int rc = API(tide_call_cancel(L(), c->h));
  if (c->runs || c->cancelled) {
    CHECK(rc == TIDE_EALREADY, "cancelling a finished call did not say TIDE_EALREADY");
  } else {
    CHECK(rc == 0, "cancelling a scheduled call failed");
    c->cancelled = 1;
  }
}

static void op_timer(int op) {
  mtimer *t = &G.timers[byte() % NTIMER];
  unsigned x = byte(), y = byte();
  if (op == OP_TIMER_START) {
    if (t->state == H_CLOSING) return;
    if (t->state == H_FREE) {
      size_t f0 = G.alloc.failures;
      int rc = API(tide_timer_init(L(), &t->t));
      if (rc == TIDE_ENOMEM) {
        ENOMEM_OK(f0);
        return;
      }
      CHECK(rc == 0, "timer init failed");
      t->state = H_OPEN;
      t->active = 0;
      t->close_runs = 0;
      t->t.handle.data = t;
      if (y & 128) VAPI(tide_handle_unref(&t->t.handle));
    }
    t->repeat = (y & 1) ? 1 + y % 20 : 0;
    t->deadline = now() + x % 50;
    t->seq = ++G.timed_seq;
    t->ordered = 1;
    CHECK(API(tide_timer_start(&t->t, timer_cb, x % 50, t->repeat)) == 0, "timer start failed");
    t->active = 1;
  } else if (op == OP_TIMER_STOP) {
    if (t->state != H_OPEN) return;
    VAPI(tide_timer_stop(&t->t));
    t->active = 0;
    CHECK(!tide_handle_is_active(&t->t.handle), "a stopped timer is active");
  } else {
    if (t->state != H_OPEN) return;
    VAPI(tide_handle_close(&t->t.handle, timer_close_cb));
    t->state = H_CLOSING;
    t->active = 0;
  }
}

static void op_io(int op) {
  int k = (int)(byte() % NIO);
  mio *m = &G.ios[k];
  unsigned x = byte();
  if (op == OP_IO_START) {
    if (m->state == H_CLOSING) return;
    if (m->state == H_FREE) {
      CHECK(API(tide_io_init(L(), &m->io, 100 + k)) == 0, "io init failed");
      m->state = H_OPEN;
      m->io.handle.data = m;
    }
    unsigned ev = 1 + x % 3;
    size_t f0 = G.alloc.failures;
    int rc = API(tide_io_start(&m->io, ev, io_cb));
    if (rc == TIDE_ENOMEM) {
      ENOMEM_OK(f0);
      return;
    }
    CHECK(rc == 0, "io start failed");
    m->active = 1;
    m->events = ev; /* an injection not delivered yet stays, masked to the new events */
  } else if (op == OP_IO_INJECT) {
    if (m->state != H_OPEN) return;
    unsigned ev = 1 + x % 15;
    int rc = API(tide_fake_io_inject(&m->io, ev));
    if (!m->active) {
      CHECK(rc == TIDE_ESTATE, "injecting into a stopped watcher was accepted");
    } else if (rc == 0) {
      m->pending = 1;
    } else {
      CHECK(rc == TIDE_EINVAL && (ev & (m->events | TIDE_HANGUP | TIDE_IOERROR)) == 0,
            "an injection the watcher can see was refused");
    }
  } else {
    if (m->state != H_OPEN) return;
    if (x & 1) {
      VAPI(tide_io_stop(&m->io));
      m->active = 0;
      m->pending = 0;
    } else {
      VAPI(tide_handle_close(&m->io.handle, io_close_cb));
      m->state = H_CLOSING;
      m->active = 0;
      m->pending = 0;
    }
  }
}

static void op_async(void) {
  masync *m = &G.asyncs[byte() % NASYNC];
  unsigned x = byte();
  if (m->state == H_FREE) {
    CHECK(API(tide_async_init(L(), &m->a, async_cb)) == 0, "async init failed");
    m->state = H_OPEN;
    m->sends = 0;
    m->a.handle.data = m;
    if (x & 1) VAPI(tide_handle_unref(&m->a.handle));
    return;
  }
  if (m->state != H_OPEN) return;
  if (x % 4 == 3) {
    VAPI(tide_handle_close(&m->a.handle, async_close_cb));
    m->state = H_CLOSING;
  } else {
    CHECK(API(tide_async_send(&m->a)) == 0, "async send failed");
    m->sends++;
  }
}

static void op_fut(int op) {
  int k = (int)(byte() % NFUT);
  mfut *f = &G.futs[k];
  unsigned x = byte();
  if (op == OP_FUT_INIT) {
    if (f->live) return;
    VAPI(tide_future_init(L(), &f->f));
    f->live = 1;
    f->gen++;
    f->pins = 0;
    f->last_cb_seq = 0;
    return;
  }
  if (!f->live) return;
  if (op == OP_FUT_SET) {
    int was_pending = !tide_future_done(&f->f);
    int rc;
    switch (x % 4) {
    case 0: rc = API(tide_future_set_int(&f->f, (int64_t)x)); break;
    case 1: rc = API(tide_future_set_none(&f->f)); break;
    case 2: rc = API(tide_future_set_error(&f->f, TIDE_EIO, "harness error")); break;
    default: rc = API(tide_future_cancel(&f->f)); break;
    }
    if (was_pending) {
      CHECK(rc == 0, "completing a pending future failed");
      CHECK(tide_future_done(&f->f), "a completed future is not done");
      callbacks_due(k);
    } else {
      CHECK(rc == TIDE_EALREADY, "a future completed twice");
    }
  } else if (op == OP_FUT_ADD_CB) {
    if (G.ncbs >= NCB) return;
    mcb *e = &G.cbs[G.ncbs];
    memset(e, 0, sizeof *e);
    e->fut = k;
    e->gen = f->gen;
    e->seq = (uint64_t)G.ncbs + 1;
    size_t f0 = G.alloc.failures;
    int rc = API(tide_future_add_done_callback(&f->f, done_cb, e));
    if (rc == TIDE_ENOMEM) {
      ENOMEM_OK(f0);
      return;
    }
    CHECK(rc == 0, "add_done_callback failed");
    G.ncbs++;
    if (tide_future_done(&f->f)) e->must_run_after_epoch = G.run_epoch + 1;
  } else if (op == OP_FUT_REMOVE_CB) {
    if (G.ncbs == 0) return;
    mcb *e = &G.cbs[x % (unsigned)G.ncbs];
    if (e->fut != k || e->gen != f->gen) return;
    int expect = !e->removed && !e->runs;
    int rc = API(tide_future_remove_done_callback(&f->f, done_cb, e));
    CHECK(rc == expect, "remove_done_callback count differs from the model");
    e->removed = 1;
  } else { /* release */
    if (f->pins) return;
    VAPI(tide_future_release(&f->f));
    for (int i = 0; i < G.ncbs; i++)
      if (G.cbs[i].fut == k && G.cbs[i].gen == f->gen) G.cbs[i].dropped = 1;
    f->live = 0;
  }
}

static void op_task(int op) {
  if (op == OP_TASK_SPAWN) {
    int id = new_task_slot();
    tframe init;
    make_frame(&init, id < 0 ? 0 : id, 0, NULL); /* consume the script either way */
    if (id < 0) return;
    spawn_task(&init, -1);
    return;
  }
  int id = (int)(byte() % NTASK);
  mtask *m = &G.tasks[id];
  if (!m->used || m->released || m->owner != OWN_HARNESS) return;
  if (op == OP_TASK_CANCEL) {
    int done = tide_task_done(m->task);
    int rc = API(tide_task_cancel(m->task));
    if (done) {
      CHECK(rc == TIDE_EALREADY, "cancelling a finished task did not say TIDE_EALREADY");
    } else {
      CHECK(rc == 0, "cancelling a running task failed");
      m->cancels++;
    }
  } else if (op == OP_TASK_UNCANCEL) {
    int before = tide_task_cancelling(m->task);
    int left = API(tide_task_uncancel(m->task));
    CHECK(left == (before > 0 ? before - 1 : 0), "uncancel did not withdraw one request");
  } else {
    if (!tide_task_done(m->task) || m->awaiter >= 0) return;
    VAPI(tide_task_release(m->task));
    if (m->has_cb && m->cb_runs == 0)
      m->released = 1; /* its callback is queued: it still runs (task_done_cb) */
    else
      m->used = 0;
  }
}

static void op_sync(int op) {
  unsigned x = byte();
  if (op == OP_LOCK) {
    int i = (int)(x % NLOCK);
    tide_lock *lock = i < 2 ? &G.locks[i] : tide_condition_lock(&G.cond);
    if (G.lock_harness[i]) {
      CHECK(API(tide_lock_release(lock)) == 0, "releasing the harness's lock failed");
      G.lock_harness[i] = 0;
    } else {
      int locked = tide_lock_locked(lock);
      int rc = API(tide_lock_try_acquire(lock));
      CHECK(rc == (locked ? TIDE_EAGAIN : 0), "try_acquire disagrees with locked");
      if (rc == 0) G.lock_harness[i] = 1;
    }
  } else if (op == OP_SEM) {
    int i = (int)(x % NSEM);
    tide_semaphore *s = &G.sems[i];
    if ((x & 2) && G.sem_harness[i]) {
      CHECK(API(tide_semaphore_release(s)) == 0, "giving back a permit failed");
      G.sem_harness[i]--;
    } else if (x & 4) {
      /* A release without an acquire: the unbounded semaphore (0) gains a
       * permit; the bounded one (1) must refuse to go above its initial value
       * (tried only when it is full: a permit added to it would make a later,
       * legitimate give-back fail). */
      unsigned value = tide_semaphore_value(s);
      if (i == 1 && value != G.sem_permits[1]) return;
      int rc = API(tide_semaphore_release(s));
      if (i == 1) {
        CHECK(rc == TIDE_ERANGE, "a bounded semaphore went above its initial value");
      } else {
        CHECK(rc == 0, "semaphore release failed");
        G.sem_permits[0]++;
      }
    } else {
      unsigned value = tide_semaphore_value(s);
      int rc = API(tide_semaphore_try_acquire(s));
      if (rc == 0) G.sem_harness[i]++;
      else CHECK(rc == TIDE_EAGAIN && (value == 0 || tide_semaphore_locked(s)),
                 "try_acquire failed with permits free");
    }
  } else if (op == OP_EVENT) {
    if (x & 1) {
      VAPI(tide_event_set(&G.ev));
      G.ev_gen++;
      CHECK(tide_event_is_set(&G.ev), "a set event is not set");
    } else {
      VAPI(tide_event_clear(&G.ev));
    }
  } else if (op == OP_COND_NOTIFY) {
    tide_lock *lock = tide_condition_lock(&G.cond);
    if (G.lock_harness[2] || API(tide_lock_try_acquire(lock)) == 0) {
      int mine = !G.lock_harness[2];
      G.lock_harness[2] = 1;
      int waiters = 0;
      for (int i = 0; i < NTASK; i++)
        waiters += G.tasks[i].used && !G.tasks[i].finished && G.tasks[i].waiting == W_COND_WAIT;
      int rc = (x & 1) ? API(tide_condition_notify_all(&G.cond))
                       : API(tide_condition_notify(&G.cond, x % 3));
      CHECK(rc >= 0 && rc <= waiters, "notify woke more waiters than there are");
      if (mine) {
        CHECK(API(tide_lock_release(lock)) == 0, "releasing the condition lock failed");
        G.lock_harness[2] = 0;
      }
    }
  } else if (op == OP_QUEUE) {
    if (x % 5 == 4) {
      VAPI(tide_queue_shutdown(&G.q, (int)(x & 8)));
      G.q_shutdown = 1;
    } else if (x & 1) {
      int64_t item = ++G.q_seq;
      size_t f0 = G.alloc.failures;
      int full = tide_queue_full(&G.q);
      int rc = API(tide_queue_put_nowait(&G.q, (void *)(intptr_t)item, 0));
      q_note_grants();
      if (rc == 0) G.q_entered++;
      else if (rc == TIDE_ENOMEM) ENOMEM_OK(f0);
      else if (rc == TIDE_EAGAIN) CHECK(full, "put_nowait said full for a queue with room");
      else CHECK(rc == TIDE_ECLOSED && G.q_shutdown, "put_nowait failed");
    } else {
      void *item = NULL;
      int rc = API(tide_queue_get_nowait(&G.q, &item, NULL));
      if (rc == 0) {
        CHECK((int64_t)(intptr_t)item > G.q_last_granted, "queue items came out of FIFO order");
        G.q_last_granted = (int64_t)(intptr_t)item;
        CHECK(API(tide_queue_task_done(&G.q)) == 0, "task_done refused");
        G.q_done++;
      } else {
        CHECK(rc == (G.q_shutdown ? TIDE_ECLOSED : TIDE_EAGAIN), "get_nowait failed");
        CHECK(tide_queue_empty(&G.q), "get_nowait failed on a queue with items");
      }
    }
  } else { /* barrier */
    if (x & 1) VAPI(tide_barrier_abort(&G.bar));
    else VAPI(tide_barrier_reset(&G.bar));
    G.bar_broken_ever = 1;
  }
}

/* --- One input ---------------------------------------------------------------------------- */

static void setup(void) {
  memset(&G, 0, sizeof G);
  test_alloc_init(&G.alloc);
  tide_loop_options opts = test_alloc_options(&G.alloc);
  CHECK(tide_loop_init(&G.loop, &opts) == 0, "loop init failed");
  tide_loop_set_error_handler(&G.loop, on_report, NULL);
  for (int i = 0; i < 2; i++) tide_lock_init(L(), &G.locks[i]);
  tide_condition_init(L(), &G.cond, NULL);
  G.sem_permits[0] = 2;
  tide_semaphore_init(L(), &G.sems[0], 2);
  G.sem_permits[1] = 2;
  tide_semaphore_init_bounded(L(), &G.sems[1], 2);
  tide_event_init(L(), &G.ev);
  CHECK(tide_queue_init(L(), &G.q, TIDE_QUEUE_FIFO, QUEUE_MAX) == 0, "queue init failed");
  tide_queue_set_drop(&G.q, queue_drop, NULL);
  CHECK(tide_barrier_init(L(), &G.bar, BARRIER_PARTIES) == 0, "barrier init failed");
  for (int i = 0; i < NTASK; i++) G.tasks[i].awaiter = -1;
}

static int tasks_unfinished(void) {
  int n = 0;
  for (int i = 0; i < NTASK; i++) n += G.tasks[i].used && !tide_task_done(G.tasks[i].task);
  return n;
}

/* Cancel and drain everything, then close: the loop must close with 0 and the
 * allocator must have nothing live. */
static void teardown(void) {
  test_alloc_disarm(&G.alloc);
  for (int i = 0; i < NLOCK; i++)
    if (G.lock_harness[i]) {
      tide_lock *lock = i < 2 ? &G.locks[i] : tide_condition_lock(&G.cond);
      CHECK(tide_lock_release(lock) == 0, "releasing the harness's lock failed");
      G.lock_harness[i] = 0;
    }
  for (int i = 0; i < NSEM; i++)
    for (; G.sem_harness[i] > 0; G.sem_harness[i]--)
      CHECK(tide_semaphore_release(&G.sems[i]) == 0, "giving back a permit failed");
  tide_event_set(&G.ev);
  G.ev_gen++;
  tide_barrier_abort(&G.bar);
  G.bar_broken_ever = 1;
  tide_queue_shutdown(&G.q, 1);
  G.q_shutdown = 1;
  for (int k = 0; k < NFUT; k++)
    if (G.futs[k].live && !tide_future_done(&G.futs[k].f)) {
      CHECK(tide_future_set_none(&G.futs[k].f) == 0, "completing a future failed");
      callbacks_due(k);
    }
  /* Handles first: a repeating timer would make every DEFAULT run below last
   * until its guard. */
  for (int i = 0; i < NTIMER; i++)
    if (G.timers[i].state == H_OPEN) {
      tide_handle_close(&G.timers[i].t.handle, timer_close_cb);
      G.timers[i].state = H_CLOSING;
      G.timers[i].active = 0;
    }
  for (int i = 0; i < NIO; i++)
    if (G.ios[i].state == H_OPEN) {
      tide_handle_close(&G.ios[i].io.handle, io_close_cb);
      G.ios[i].state = H_CLOSING;
      G.ios[i].active = 0;
    }
  for (int i = 0; i < NASYNC; i++)
    if (G.asyncs[i].state == H_OPEN) {
      tide_handle_close(&G.asyncs[i].a.handle, async_close_cb);
      G.asyncs[i].state = H_CLOSING;
    }
  for (int round = 0; round < 64 && tasks_unfinished() > 0; round++) {
    for (int i = 0; i < NTASK; i++) {
      mtask *m = &G.tasks[i];
      /* Group children too: one that swallowed the group's cancellation
       * (S_SWALLOW) would otherwise keep its parent waiting for ever. */
      if (m->used && !tide_task_done(m->task)) {
        if (tide_task_cancel(m->task) == 0) m->cancels++;
      }
    }
    run(TIDE_RUN_DEFAULT);
    check_model();
  }
  for (int i = 0; i < NTASK; i++) {
    mtask *m = &G.tasks[i];
    if (m->used && !tide_task_done(m->task)) {
      tframe *f = m->frame;
      fprintf(stderr, "fuzz-loop: task %d (owner %d, awaiter %d) stuck waiting %d at step %d kind %d; "
              "cancelling %d\n", i, m->owner, m->awaiter, m->waiting, f->i, f->kind[f->i],
              tide_task_cancelling(m->task));
    }
  }
  CHECK(tasks_unfinished() == 0, "a task never finished after being cancelled");
  run(TIDE_RUN_DEFAULT);
  run(TIDE_RUN_NOWAIT);
  for (int i = 0; i < NTIMER; i++)
    CHECK(G.timers[i].state == H_FREE, "a timer's close callback never ran");
  for (int i = 0; i < NIO; i++) CHECK(G.ios[i].state == H_FREE, "an io close callback never ran");
  for (int i = 0; i < NASYNC; i++)
    CHECK(G.asyncs[i].state == H_FREE, "an async close callback never ran");
  for (int i = 0; i < G.ncalls; i++)
    CHECK(G.calls[i].cancelled || G.calls[i].runs == 1, "a scheduled call never ran");
  for (int i = 0; i < NTASK; i++) {
    mtask *m = &G.tasks[i];
    CHECK(!m->released, "a released task's queued done callback never ran");
    if (!m->used || m->owner != OWN_HARNESS) continue;
    CHECK(!m->has_cb || m->cb_runs == 1, "a task's done callback never ran");
    tide_task_release(m->task);
    m->used = 0;
  }
  for (int k = 0; k < NFUT; k++)
    if (G.futs[k].live) {
      tide_future_release(&G.futs[k].f);
      G.futs[k].live = 0;
    }
  tide_lock_destroy(&G.locks[0]);
  tide_lock_destroy(&G.locks[1]);
  tide_condition_destroy(&G.cond);
  tide_semaphore_destroy(&G.sems[0]);
  tide_semaphore_destroy(&G.sems[1]);
  tide_event_destroy(&G.ev);
  tide_queue_destroy(&G.q);
  tide_barrier_destroy(&G.bar);
  CHECK(tide_fake_io_count(L()) == 0, "an fd watcher is still registered");
  CHECK(tide_loop_close(L()) == 0, "tide_loop_close did not return 0");
  CHECK(G.alloc.live_blocks == 0 && G.alloc.live_bytes == 0, "memory leaked");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* TIDE_FUZZ_TRACE=1 prints each operation (to read a reproducer). */
  if (trace_on < 0) trace_on = getenv("TIDE_FUZZ_TRACE") != NULL;
  setup();
  G.p = data;
  G.n = size;
  for (int ops = 0; ops < MAX_OPS && G.n > 0; ops++) {
    int op = (int)(byte() % OP_COUNT);
    if (trace_on)
      fprintf(stderr, "op %d: %d (now %llu, next bytes %02x %02x %02x)\n", ops, op,
              (unsigned long long)now(), G.n > 0 ? G.p[0] : 0, G.n > 1 ? G.p[1] : 0,
              G.n > 2 ? G.p[2] : 0);
    switch (op) {
    case OP_CALL_SOON:
    case OP_CALL_LATER:
    case OP_CALL_AT: op_call(op); break;
    case OP_CALL_CANCEL: op_call_cancel(); break;
    case OP_TIMER_START:
    case OP_TIMER_STOP:
    case OP_TIMER_CLOSE: op_timer(op); break;
    case OP_IO_START:
    case OP_IO_INJECT:
    case OP_IO_STOP_CLOSE: op_io(op); break;
    case OP_ASYNC: op_async(); break;
    case OP_FUT_INIT:
    case OP_FUT_SET:
    case OP_FUT_ADD_CB:
    case OP_FUT_REMOVE_CB:
    case OP_FUT_RELEASE: op_fut(op); break;
    case OP_TASK_SPAWN:
    case OP_TASK_CANCEL:
    case OP_TASK_UNCANCEL:
    case OP_TASK_RELEASE: op_task(op); break;
    case OP_RUN_NOWAIT:
    case OP_RUN_NOWAIT2: run(TIDE_RUN_NOWAIT); break;
    case OP_RUN_ONCE:
    case OP_RUN_ONCE2: run(TIDE_RUN_ONCE); break;
    case OP_RUN_DEFAULT: run(TIDE_RUN_DEFAULT); break;
    case OP_STOP_RUN:
      VAPI(tide_loop_stop(L()));
      run(TIDE_RUN_DEFAULT);
      break;
    case OP_ADVANCE:
      /* On a virtual clock only tide_loop_advance moves the loop's time. */
      if (tide_loop_clock(L()) == TIDE_CLOCK_REAL)
        VAPI(tide_fake_advance(L(), byte() % 64));
      else
        CHECK(API(tide_loop_advance(L(), byte() % 64)) == 0, "advance on a virtual clock failed");
      break;
    case OP_CLOCK:
      /* Autojump only: the manual clock waits for fds as a real poll would,
       * and the fake backend's poll never waits. Every timer check reads the
       * loop's time, so the model holds on either clock. */
      CHECK(API(tide_loop_set_clock(L(), TIDE_CLOCK_AUTOJUMP)) == 0, "set_clock failed");
      break;
    case OP_FAIL_IN: test_alloc_fail_in(&G.alloc, 1 + byte() % 8); break;
    default: op_sync(op); break;
    }
    check_model();
  }
  teardown();
  return 0;
}
