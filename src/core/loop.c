/* loop.c: the loop's life cycle, its run modes and iteration, and reporting.
 *
 * One iteration: poll (blocking only when nothing is ready), refresh the time,
 * then run ticks. A tick moves due timers to the ready queue and runs a snapshot
 * of it; ticks repeat without polling until the queue is empty or tick_budget
 * runnables ran. That is the fairness rule: a flood of callbacks costs one poll
 * per budget, and I/O and timers still get a turn at least once per budget.
 */
#include <string.h>

#include "internal.h"

enum { DEFAULT_TICK_BUDGET = 1024 };

int tide_loop_init(tide_loop *loop, const tide_loop_options *opts) {
  assert(loop != NULL);
  memset(loop, 0, sizeof *loop);
  loop->priv_alloc = opts != NULL && opts->alloc != NULL ? opts->alloc : tide__default_alloc;
  loop->priv_alloc_ud = opts != NULL && opts->alloc != NULL ? opts->alloc_ud : NULL;
  loop->priv_tick_budget =
      opts != NULL && opts->tick_budget > 0 ? opts->tick_budget : DEFAULT_TICK_BUDGET;
  tide__q_init(&loop->priv_ready);
  tide__q_init(&loop->priv_tick);
  tide__q_init(&loop->priv_signals);
  tide__q_init(&loop->priv_asyncs);
  tide__q_init(&loop->priv_tasks);
  int rc = tide__backend_init(loop);
  if (rc != 0) return rc;
  loop->priv_now = tide__backend_now(loop);
  return 0;
}

static int has_registered(const tide_loop *loop) {
  return loop->priv_registered > 0 || !tide__q_empty(&loop->priv_ready) ||
         !tide__q_empty(&loop->priv_tick) || loop->priv_timer_count > 0;
}

int tide_loop_close(tide_loop *loop) {
  assert(!loop->priv_running && "closing a running loop");
  if (has_registered(loop)) return TIDE_EBUSY;
  if (loop->priv_host_close != NULL) loop->priv_host_close(loop);
  tide__diag_close(loop);
  tide__call_pool_free(loop);
  tide__pool_close(loop);
  tide__heap_free(loop);
  tide__backend_close(loop);
  loop->priv_backend = NULL;
  return 0;
}

int tide_loop_new(const tide_loop_options *opts, tide_loop **out_loop) {
  tide_alloc_fn alloc = opts != NULL && opts->alloc != NULL ? opts->alloc : tide__default_alloc;
  void *ud = opts != NULL && opts->alloc != NULL ? opts->alloc_ud : NULL;
  tide_loop *loop = alloc(ud, NULL, sizeof *loop);
  if (loop == NULL) return TIDE_ENOMEM;
  int rc = tide_loop_init(loop, opts);
  if (rc != 0) {
    alloc(ud, loop, 0);
    return rc;
  }
  loop->priv_allocated = 1;
  *out_loop = loop;
  return 0;
}

int tide_loop_free(tide_loop *loop) {
  assert(loop->priv_allocated && "tide_loop_free on a loop from tide_loop_init");
  int rc = tide_loop_close(loop);
  if (rc != 0) return rc;
  loop->priv_alloc(loop->priv_alloc_ud, loop, 0);
  return 0;
}

void *tide_loop_alloc(tide_loop *loop, size_t size) {
  return size == 0 ? NULL : loop->priv_alloc(loop->priv_alloc_ud, NULL, size);
}

void tide_loop_dealloc(tide_loop *loop, void *ptr) {
  if (ptr != NULL) loop->priv_alloc(loop->priv_alloc_ud, ptr, 0);
}

static int has_ready(const tide_loop *loop) {
  return !tide__q_empty(&loop->priv_ready) || !tide__q_empty(&loop->priv_tick);
}

int tide_loop_alive(const tide_loop *loop) {
  return loop->priv_active_refs > 0 || has_ready(loop);
}

/* Reading the cache may fill it (lazy time), which changes no observable
 * state of the loop: hence the const interface. */
uint64_t tide_loop_now(const tide_loop *loop) {
  return tide__now((tide_loop *)loop);
}

void tide_loop_update_time(tide_loop *loop) {
  /* On a virtual clock only tide_loop_advance and the autojump move time. */
  if (loop->priv_clock != TIDE_CLOCK_REAL) return;
  loop->priv_now = tide__backend_now(loop);
  loop->priv_now_stale = 0;
}

/* The time an iteration runs on: read now, or, on a lazy-time backend, on
 * first use (tide__now). The JS host's ticks that only take a completion and
 * resume a task then cost no clock read, which costs as much as the rest of
 * the tick's C work in a browser. */
static void begin_time(tide_loop *loop) {
  if (loop->priv_lazy_time && loop->priv_clock == TIDE_CLOCK_REAL)
    loop->priv_now_stale = 1;
  else
    tide_loop_update_time(loop);
}

int tide_loop_set_clock(tide_loop *loop, tide_clock_mode mode) {
  assert(loop != NULL);
  if (mode != TIDE_CLOCK_REAL && mode != TIDE_CLOCK_VIRTUAL && mode != TIDE_CLOCK_AUTOJUMP)
    return TIDE_EINVAL;
  /* Back to the host's clock would move time backwards or leap forwards under
   * the timers already set on the virtual one. */
  if (mode == TIDE_CLOCK_REAL && loop->priv_clock != TIDE_CLOCK_REAL) return TIDE_ESTATE;
  (void)tide__now(loop); /* a virtual clock starts from the time as it is */
  loop->priv_clock = (int)mode;
  return 0;
}

tide_clock_mode tide_loop_clock(const tide_loop *loop) {
  return (tide_clock_mode)loop->priv_clock;
}

int tide_loop_advance(tide_loop *loop, uint64_t ms) {
  assert(loop != NULL);
  if (loop->priv_clock == TIDE_CLOCK_REAL) return TIDE_ESTATE;
  loop->priv_now = ms > UINT64_MAX - loop->priv_now ? UINT64_MAX : loop->priv_now + ms;
  return 0;
}

/* The autojump's rule: the loop has referenced work but nothing to run now,
 * the next thing it waits for is a timer, and no host operation is on its way
 * back (its answer could come before that timer is due). Then time may jump
 * to the timer's deadline at once. */
static const tide__heap_slot *jumpable_timer(const tide_loop *loop) {
  if (loop->priv_clock != TIDE_CLOCK_AUTOJUMP || loop->priv_stop ||
      loop->priv_host_ops > 0 || loop->priv_active_refs == 0 ||
      !tide__q_empty(&loop->priv_ready) || !tide__q_empty(&loop->priv_tick))
    return NULL;
  const tide__heap_slot *top = tide__heap_top(loop);
  return top != NULL && top->deadline > loop->priv_now ? top : NULL;
}

void tide_loop_stop(tide_loop *loop) { loop->priv_stop = 1; }

tide_task *tide_loop_current_task(const tide_loop *loop) { return loop->priv_current; }

static size_t list_length(const tide__qnode *head) {
  size_t n = 0;
  for (const tide__qnode *q = head->next; q != head; q = q->next) n++;
  return n;
}

size_t tide_loop_ready_count(const tide_loop *loop) {
  return list_length(&loop->priv_tick) + list_length(&loop->priv_ready);
}

int64_t tide_loop_next_timeout(const tide_loop *loop) {
  if (has_ready(loop)) return 0;
  const tide__heap_slot *top = tide__heap_top(loop);
  if (top == NULL) return -1;
  uint64_t now = tide__now((tide_loop *)loop); /* const as tide_loop_now */
  if (top->deadline <= now) return 0;
  /* On a virtual clock a timer is never reached by waiting: the next
   * iteration jumps to it (autojump), or only tide_loop_advance does (then
   * wait for I/O alone). */
  if (loop->priv_clock != TIDE_CLOCK_REAL) return jumpable_timer(loop) != NULL ? 0 : -1;
  uint64_t delta = top->deadline - now;
  return delta > INT32_MAX ? INT32_MAX : (int64_t)delta;
}

/* Run one runnable. In wasm, where a call through a function pointer checks
 * the table index and the signature, the two the loop runs most are called
 * directly: a call_soon record's (every link of a call_soon chain) and a
 * task's step (every yield and wake). Natively that call is a predicted
 * branch and the tests only cost, so they are made in wasm only
 * (bench/RESULTS.md, W1's "what is left"); nor in a size build, where the
 * test would link call_soon's runner into programs that never schedule a
 * call (about 100 bytes). */
static inline void run_runnable(tide__runnable *r) {
#if defined(__wasm__) && !defined(__OPTIMIZE_SIZE__)
  if (r->run == tide__run_soon) {
    tide__run_soon(r);
    return;
  }
  if (r->run == tide__task_step_run) {
    tide__task_step_run(r);
    return;
  }
#endif
  r->run(r);
}

/* Run ticks until the queue is empty, the budget is spent, or stop was asked.
 * A tick's snapshot is the priv_tick list; if the budget runs out in the middle
 * of one, the rest stays there and runs first in the next iteration. */
static void run_ticks(tide_loop *loop) {
  unsigned budget = loop->priv_tick_budget;
  int ticked = 0;
  if (loop->priv_diag & TIDE__DIAG_SLOW) tide__diag_ticks_begin(loop);
  for (;;) {
    if (tide__q_empty(&loop->priv_tick)) {
      if (ticked && loop->priv_stop) return;
      ticked = 1;
      /* Most ticks of a busy loop have no timer due: test before calling. */
      const tide__heap_slot *top = tide__heap_top(loop);
      if (top != NULL && top->deadline <= tide__now(loop)) tide__timers_run_due(loop);
      if (tide__q_empty(&loop->priv_ready)) return;
      tide__q_move_all(&loop->priv_ready, &loop->priv_tick);
    }
    do {
      tide__runnable *r = tide__container_of(loop->priv_tick.next, tide__runnable, link);
      tide__q_remove(&r->link);
      if (loop->priv_diag & TIDE__DIAG_SLOW)
        tide__diag_run(loop, r); /* debug mode: timed */
      else
        run_runnable(r);
      if (--budget == 0) return;
    } while (!tide__q_empty(&loop->priv_tick));
  }
}

/* A loop on the manual virtual clock whose only referenced work is timers
 * cannot progress until its caller advances time: a run returns then rather
 * than wait for a time that never comes. With anything else referenced (an
 * fd, a wakeup a worker thread sends, a signal, a host operation) it waits
 * for that, as on the real clock. */
static int waits_for_advance(const tide_loop *loop) {
  if (loop->priv_clock != TIDE_CLOCK_VIRTUAL || has_ready(loop) ||
      loop->priv_waker_refs > 0 || loop->priv_host_ops > 0)
    return 0;
  const tide__heap_slot *top = tide__heap_top(loop);
  return top != NULL && top->deadline > loop->priv_now;
}

static int iterate(tide_loop *loop, tide_run_mode mode) {
  int64_t timeout = 0;
  if (mode != TIDE_RUN_NOWAIT && !loop->priv_stop && tide_loop_alive(loop) &&
      !waits_for_advance(loop))
    timeout = tide_loop_next_timeout(loop);
  int rc = tide__backend_poll(loop, timeout);
  begin_time(loop);
  /* Nothing came from the poll either: a virtual clock jumps to the timer. */
  const tide__heap_slot *top = jumpable_timer(loop);
  if (top != NULL) loop->priv_now = top->deadline;
  run_ticks(loop);
  return rc;
}

int tide_loop_run(tide_loop *loop, tide_run_mode mode) {
  assert(!loop->priv_running && "tide_loop_run called from inside the loop");
  loop->priv_running = 1;
  begin_time(loop);
  int rc;
  do {
    rc = iterate(loop, mode);
  } while (rc == 0 && mode == TIDE_RUN_DEFAULT && !loop->priv_stop && tide_loop_alive(loop) &&
           !waits_for_advance(loop));
  loop->priv_stop = 0;
  loop->priv_running = 0;
  if (rc != 0) return rc;
  return tide_loop_alive(loop);
}

void tide_loop_set_error_handler(tide_loop *loop, tide_error_handler handler, void *ud) {
  loop->priv_error_handler = handler;
  loop->priv_error_ud = ud;
}

void tide_loop_report(tide_loop *loop, int code, const char *context, const char *message) {
  tide_error_report report;
  report.code = code;
  report.message = message != NULL ? message : tide_strerror(code);
  report.context = context != NULL ? context : "error";
  report.future = NULL;
  report.task = NULL;
  tide__report(loop, &report);
}

/* The default handler: "tideloop: <context> [<task>]: <ENAME>: <message>", built
 * without stdio (the core makes no libc calls beyond string.h). */
static void append(char *buf, size_t cap, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (n > cap - 1 - *len) n = cap - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

void tide__report(tide_loop *loop, const tide_error_report *report) {
  if (loop->priv_error_handler != NULL) {
    loop->priv_error_handler(loop, report, loop->priv_error_ud);
    return;
  }
  char line[512];
  size_t len = 0;
  line[0] = '\0';
  append(line, sizeof line, &len, "tideloop: ");
  append(line, sizeof line, &len, report->context);
  if (report->task != NULL) {
    char label[TIDE__TASK_NAME_MAX];
    append(line, sizeof line, &len, " [");
    append(line, sizeof line, &len, tide__task_label(report->task, label));
    append(line, sizeof line, &len, "]");
  }
  append(line, sizeof line, &len, ": ");
  append(line, sizeof line, &len, tide_err_name(report->code));
  append(line, sizeof line, &len, ": ");
  append(line, sizeof line, &len, report->message);
  tide__backend_report(loop, line);
}
