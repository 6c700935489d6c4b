/* test-module.c: the module the JS package's tests load (tests/js), built with
 * tide_add_js_module() to <build>/tests/modules/tide-test-module.wasm.
 *
 * Its TIDE_MAIN setup (rt.main(argv)) exports these coroutines (rt.call(name,
 * args)):
 *   add(a, b)               a + b
 *   echo(x)                 x unchanged (number, string, bytes, JSON, none)
 *   sleep_then(ms, [text])  sleeps ms, then text (default "slept")
 *   fail([code], [msg])     the error code (default TIDE_EIO) and message
 *   call_host(x)            awaits the host function "double"(x), returns it
 *   call_host_any(name, ...)  awaits host function name(...), returns its value
 *                           or its error (code and message) unchanged
 *   call_host_timeout(ms, name, ...)  as call_host_any, but C cancels the host
 *                           call after ms and then fails with TIDE_ETIMEDOUT
 *   unref_timer(ms)         starts an unref'd timer that would print "unref
 *                           fired" after ms, and returns at once
 *   toolbox()               the asyncio toolbox on this host: a task group of
 *                           sleepers, a wait_for that times out, a FIFO queue;
 *                           returns "group=bca wait_for=ETIMEDOUT queue=123"
 *   spin_cancel()           sleeps "forever": cancel it (ends TIDE_ECANCELED)
 *   spin_uncancel()         the same, but catches the cancellation and returns
 *                           "cleaned up" (the coroutine saw it and went on)
 *   timer_order()           timers and callbacks with equal and different
 *                           deadlines; returns the order they ran in: "sSabcdz"
 *   async_wake()            a tide_async woken from C; returns "woken" once its
 *                           callback ran (exercises the schedule import)
 *   burst(n, [width])       runs n C callbacks as `width` (default 1000) call_soon
 *                           chains, each callback rescheduling itself: width
 *                           callbacks a loop iteration (a host tick), n/width
 *                           ticks; returns the number that ran (n). The browser
 *                           suite counts frames while it runs (tests/browser)
 * With argv[1] given, setup also starts a main task that writes each argument
 * to stdout on its own line after 1 ms and sets the exit code to argv[1]
 * (argv[2] "unflushed": argv[1], then a last line without newline, unflushed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

static int is_number(const tide_value *v) {
  return v != NULL && v->type == TIDE_VALUE_DOUBLE;
}
static int is_string(const tide_value *v) {
  return v != NULL && v->type == TIDE_VALUE_STRING;
}

/* --- Plain values --------------------------------------------------------------- */

static int add_main(tide_task *t, void *frame) {
  (void)frame;
  const tide_value *a = arg(t, 0), *b = arg(t, 1);
  if (!is_number(a) || !is_number(b))
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "add(a, b) takes two numbers");
  TIDE_RETURN_DOUBLE(t, a->as.d + b->as.d);
}

/* The arguments live as long as the task, so returning one borrowed is safe:
 * the result goes out before the task is freed. */
static int echo_main(tide_task *t, void *frame) {
  (void)frame;
  const tide_value *x = arg(t, 0);
  if (x == NULL) TIDE_RETURN(t);
  TIDE_RETURN_VALUE(t, x);
}

typedef struct sleep_frame {
  int rc;
} sleep_frame;

static int sleep_then_main(tide_task *t, void *frame) {
  sleep_frame *f = frame;
  TIDE_BEGIN(t);
  if (!is_number(arg(t, 0)) || arg(t, 0)->as.d < 0)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "sleep_then(ms) takes a number of ms");
  TIDE_SLEEP(t, (uint64_t)arg(t, 0)->as.d, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "sleep interrupted");
  if (is_string(arg(t, 1))) TIDE_RETURN_VALUE(t, arg(t, 1));
  {
    tide_value v = tide_value_string("slept");
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

/* The loop's cached time, as C code sees it in the tick the call runs in. */
static int loop_now_main(tide_task *t, void *frame) {
  (void)frame;
  tide_value v = tide_value_double((double)tide_loop_now(tide_task_loop(t)));
  TIDE_RETURN_VALUE(t, &v);
}

static int fail_main(tide_task *t, void *frame) {
  (void)frame;
  int code = is_number(arg(t, 0)) ? (int)arg(t, 0)->as.d : TIDE_EIO;
  const char *msg =
      is_string(arg(t, 1)) ? arg(t, 1)->as.bytes.data : "failed on purpose";
  TIDE_RETURN_ERROR(t, code, msg);
}

/* --- Host functions --------------------------------------------------------------- */

typedef struct call_frame {
  tide_future f;
  int started;
  int rc;
  tide_value v;
  char msg[256];
} call_frame;

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* Move the finished host future's outcome into the frame (value with owned
 * bytes, or error message) and release it, so the task can return it. */
static void take_outcome(tide_task *t, call_frame *f) {
  f->v = tide_value_none();
  if (f->rc == 0) {
    (void)tide_future_result(&f->f, &f->v);
    if (f->v.type == TIDE_VALUE_STRING || f->v.type == TIDE_VALUE_JSON ||
        f->v.type == TIDE_VALUE_BYTES) {
      tide_value_type type = f->v.type;
      (void)tide_future_take_bytes(&f->f, &f->v.as.bytes.data, &f->v.as.bytes.len);
      f->v.type = type;
      f->v.priv_free = dealloc_bytes;
      f->v.priv_free_ud = tide_task_loop(t);
    }
  } else {
    const char *m = tide_future_error_message(&f->f);
    snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : tide_strerror(f->rc));
  }
  tide_future_release(&f->f);
}

/* Start name(args...) on the host; rc is tide_host_call's result. */
static int start(tide_task *t, call_frame *f, const char *name, const tide_value *args,
                 size_t nargs) {
  tide_future_init(tide_task_loop(t), &f->f);
  f->started = 1;
  return tide_host_call(tide_task_loop(t), name, args, nargs, &f->f);
}

static int call_host_main(tide_task *t, void *frame) {
  call_frame *f = frame;
  TIDE_BEGIN(t);
  {
    const tide_value *x = arg(t, 0);
    tide_value none = tide_value_none();
    f->rc = start(t, f, "double", x != NULL ? x : &none, 1);
  }
  if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
  take_outcome(t, f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_VALUE(t, &f->v);
  TIDE_END(t);
}

static int call_host_any_main(tide_task *t, void *frame) {
  call_frame *f = frame;
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n == 0 || !is_string(&args[0]))
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "call_host_any(name, ...args) takes a name");
    f->rc = start(t, f, args[0].as.bytes.data, args + 1, n - 1);
  }
  if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
  take_outcome(t, f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_VALUE(t, &f->v);
  TIDE_END(t);
}

/* C gives up on its own host call: the timer cancels the host future, which
 * aborts the JS function's signal; the coroutine sees TIDE_ECANCELED and turns it
 * into its own TIDE_ETIMEDOUT. */
typedef struct timeout_frame {
  call_frame call;
  tide_call timer;
  int timed_out;
} timeout_frame;

static void on_call_timeout(tide_loop *loop, void *ud) {
  timeout_frame *f = ud;
  (void)loop;
  f->timed_out = 1;
  (void)tide_future_cancel(&f->call.f);
}

static int call_host_timeout_main(tide_task *t, void *frame) {
  timeout_frame *f = frame;
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n < 2 || !is_number(&args[0]) || !is_string(&args[1]))
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "call_host_timeout(ms, name, ...args)");
    f->call.rc = start(t, &f->call, args[1].as.bytes.data, args + 2, n - 2);
    if (f->call.rc == 0)
      f->call.rc = tide_call_later(tide_task_loop(t), (uint64_t)args[0].as.d,
                                   on_call_timeout, f, &f->timer);
  }
  if (f->call.rc == 0) TIDE_AWAIT(t, &f->call.f, f->call.rc);
  (void)tide_call_cancel(tide_task_loop(t), f->timer);
  take_outcome(t, &f->call);
  if (f->timed_out) TIDE_RETURN_ERROR(t, TIDE_ETIMEDOUT, "the host call timed out");
  if (f->call.rc != 0) TIDE_RETURN_ERROR(t, f->call.rc, f->call.msg);
  TIDE_RETURN_VALUE(t, &f->call.v);
  TIDE_END(t);
}

/* An unref'd timer must not keep the host alive: the module returns at once and
 * the timer (allocated, as it outlives the task) would only print if it fired. */
static void on_unref_timer(tide_timer *timer) {
  printf("unref fired\n");
  fflush(stdout);
  tide_handle_close(&timer->handle, NULL);
}

static int unref_timer_main(tide_task *t, void *frame) {
  (void)frame;
  const tide_value *ms = arg(t, 0);
  if (!is_number(ms)) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "unref_timer(ms) takes a number");
  tide_timer *timer = tide_loop_alloc(tide_task_loop(t), sizeof *timer);
  if (timer == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no memory for the timer");
  if (tide_timer_init(tide_task_loop(t), timer) != 0) {
    tide_loop_dealloc(tide_task_loop(t), timer);
    TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no memory for the timer's heap slot");
  }
  tide_handle_unref(&timer->handle);
  (void)tide_timer_start(timer, on_unref_timer, (uint64_t)ms->as.d, 0);
  TIDE_RETURN(t);
}

/* --- Cancellation ----------------------------------------------------------------- */

static int spin_cancel_main(tide_task *t, void *frame) {
  sleep_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, UINT32_MAX, f->rc);
  TIDE_RETURN_ERROR(t, f->rc != 0 ? f->rc : TIDE_ETIMEDOUT, "the long sleep ended");
  TIDE_END(t);
}

static int spin_uncancel_main(tide_task *t, void *frame) {
  sleep_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, UINT32_MAX, f->rc);
  if (f->rc == TIDE_ECANCELED) tide_task_uncancel(t);
  {
    tide_value v = tide_value_string("cleaned up");
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

/* --- Ordering -----------------------------------------------------------------------
 */

/* The calls write into the frame, so they are cancelled in the frame's cleanup
 * if the task ends (is cancelled) before they ran. */
typedef struct order_frame {
  tide_loop *loop;
  int rc;
  char order[16];
  size_t n;
  tide_call calls[7];
  struct order_item {
    struct order_frame *frame;
    char c;
  } items[7];
} order_frame;

static void record(tide_loop *loop, void *ud) {
  (void)loop;
  struct order_item *item = ud;
  order_frame *f = item->frame;
  if (f->n < sizeof f->order - 1) f->order[f->n++] = item->c;
}

static void order_cleanup(void *frame) {
  order_frame *f = frame;
  for (size_t i = 0; i < 7; i++)
    if (f->loop != NULL) (void)tide_call_cancel(f->loop, f->calls[i]);
}

static int timer_order_main(tide_task *t, void *frame) {
  order_frame *f = frame;
  TIDE_BEGIN(t);
  {
    /* (delay, char): equal deadlines run in the order they were scheduled,
     * and call_soon runs before any timer. */
    static const struct {
      int delay; /* -1: call_soon */
      char c;
    } plan[7] = {{20, 'z'}, {5, 'a'},  {5, 'b'}, {-1, 's'},
                 {10, 'c'}, {-1, 'S'}, {10, 'd'}};
    f->loop = tide_task_loop(t);
    tide_task_set_cleanup(t, order_cleanup);
    for (size_t i = 0; i < 7; i++) {
      f->items[i].frame = f;
      f->items[i].c = plan[i].c;
      int rc = plan[i].delay < 0
                   ? tide_call_soon(f->loop, record, &f->items[i], &f->calls[i])
                   : tide_call_later(f->loop, (uint64_t)plan[i].delay, record,
                                     &f->items[i], &f->calls[i]);
      if (rc != 0) TIDE_RETURN_ERROR(t, rc, "cannot schedule");
    }
  }
  TIDE_SLEEP(t, 30, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "interrupted");
  {
    f->order[f->n] = '\0';
    tide_value v = tide_value_string(f->order);
    TIDE_RETURN_VALUE(t, &v); /* copied out before the frame goes */
  }
  TIDE_END(t);
}

/* --- Wakeups -------------------------------------------------------------------------
 */

typedef struct wake_frame {
  tide_async async;
  tide_future woken;
  tide_future closed;
  int rc;
} wake_frame;

static void on_async(tide_async *a) {
  wake_frame *f = a->handle.data;
  (void)tide_future_set_none(&f->woken);
}

static void on_async_closed(tide_handle *h) {
  wake_frame *f = h->data;
  (void)tide_future_set_none(&f->closed);
}

static int async_wake_main(tide_task *t, void *frame) {
  wake_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->woken);
  tide_future_init(tide_task_loop(t), &f->closed);
  f->rc = tide_async_init(tide_task_loop(t), &f->async, on_async);
  if (f->rc != 0) {
    tide_future_release(&f->woken);
    tide_future_release(&f->closed);
    TIDE_RETURN_ERROR(t, f->rc, "tide_async_init failed");
  }
  f->async.handle.data = f;
  (void)tide_async_send(&f->async);
  TIDE_AWAIT(t, &f->woken, f->rc);
  /* The handle is in the frame: it must be closed before the task ends, even
   * when cancelled, so wait for the close callback whatever happened. */
  tide_handle_close(&f->async.handle, on_async_closed);
  tide_task_uncancel(t);
  TIDE_AWAIT(t, &f->closed, f->rc);
  tide_future_release(&f->woken);
  tide_future_release(&f->closed);
  {
    tide_value v = tide_value_string("woken");
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}


/* --- Bursts of callbacks -------------------------------------------------------------
 */

/* width chains of call_soon: a callback scheduled from a callback runs on the
 * next iteration (as in asyncio), so every iteration runs width callbacks and
 * the host gets control back between iterations. */
struct burst_frame;
typedef struct burst_chain {
  struct burst_frame *frame;
  tide_call call;
} burst_chain;

typedef struct burst_frame {
  tide_loop *loop;
  burst_chain *chains;
  size_t width;
  double n, started, ran;
  tide_future done;
  int rc;
} burst_frame;

static void burst_step(tide_loop *loop, void *ud) {
  burst_chain *c = ud;
  burst_frame *f = c->frame;
  f->ran++;
  if (f->started < f->n) {
    f->started++;
    if (tide_call_soon(loop, burst_step, c, &c->call) != 0)
      (void)tide_future_set_error(&f->done, TIDE_ENOMEM, "call_soon failed");
  } else if (f->ran >= f->n) {
    (void)tide_future_set_none(&f->done);
  }
}

static void burst_cleanup(void *frame) {
  burst_frame *f = frame;
  if (f->chains == NULL) return;
  for (size_t i = 0; i < f->width; i++) (void)tide_call_cancel(f->loop, f->chains[i].call);
  tide_loop_dealloc(f->loop, f->chains);
  f->chains = NULL;
  tide_future_release(&f->done);
}

static int burst_main(tide_task *t, void *frame) {
  burst_frame *f = frame;
  TIDE_BEGIN(t);
  if (!is_number(arg(t, 0)) || arg(t, 0)->as.d < 1)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "burst(n, [width]) takes a count >= 1");
  f->loop = tide_task_loop(t);
  f->n = arg(t, 0)->as.d;
  f->width = is_number(arg(t, 1)) && arg(t, 1)->as.d >= 1 ? (size_t)arg(t, 1)->as.d : 1000;
  if ((double)f->width > f->n) f->width = (size_t)f->n;
  f->chains = tide_loop_alloc(f->loop, f->width * sizeof *f->chains);
  if (f->chains == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no memory for the chains");
  tide_future_init(f->loop, &f->done);
  tide_task_set_cleanup(t, burst_cleanup);
  for (size_t i = 0; i < f->width; i++) {
    f->chains[i].frame = f;
    f->chains[i].call = (tide_call){0};
  }
  for (size_t i = 0; i < f->width; i++) {
    f->started++;
    if (tide_call_soon(f->loop, burst_step, &f->chains[i], &f->chains[i].call) != 0)
      TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "call_soon failed");
  }
  TIDE_AWAIT(t, &f->done, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "burst interrupted");
  TIDE_RETURN_DOUBLE(t, f->ran);
  TIDE_END(t);
}

/* --- The asyncio toolbox ---------------------------------------------------------- */

typedef struct toolbox_frame {
  tide_task_group group;
  tide_future out;
  tide_task *sleeper;
  tide_queue q;
  int i, rc, wait_rc;
  size_t nlog;
  char log[8];
  char qlog[8];
  char result[96];
} toolbox_frame;

typedef struct letter_frame {
  char letter;
  int ms;
  int rc;
  toolbox_frame *parent;
} letter_frame;

/* Sleeps, then appends its letter: the order of the letters is the order the
 * sleeps came due. A cancelled one appends nothing. */
static int letter_main(tide_task *t, void *frame) {
  letter_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, (uint64_t)f->ms, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "letter cancelled");
  f->parent->log[f->parent->nlog++] = f->letter;
  TIDE_END(t);
}

static int toolbox_main(tide_task *t, void *frame) {
  toolbox_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  /* A task group: it ends after its three children, whatever their order. */
  tide_task_group_init(loop, &f->group);
  for (f->i = 0; f->i < 3; f->i++) {
    static const int ms[3] = {30, 10, 20}; /* a, b, c: due in the order b c a */
    letter_frame init = {(char)('a' + f->i), ms[f->i], 0, f};
    f->rc = tide_task_group_spawn(&f->group, letter_main, &init, sizeof init, NULL);
    if (f->rc != 0) break;
  }
  tide_future_init(loop, &f->out);
  if (f->rc == 0) f->rc = tide_task_group_wait(&f->group, &f->out);
  if (f->rc == 0) TIDE_AWAIT(t, &f->out, f->rc);
  tide_future_release(&f->out);
  tide_task_group_release(&f->group);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "the task group failed");
  /* wait_for: the 1 s sleeper is cancelled at 5 ms and has finished when the
   * timeout is reported. */
  {
    letter_frame init = {'z', 1000, 0, f};
    f->rc = tide_task_spawn(loop, letter_main, &init, sizeof init, &f->sleeper);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn failed");
  tide_future_init(loop, &f->out);
  f->rc = tide_wait_for(loop, tide_task_future(f->sleeper), 5, &f->out);
  if (f->rc == 0) TIDE_AWAIT(t, &f->out, f->rc);
  f->wait_rc = f->rc;
  tide_future_release(&f->out);
  tide_task_release(f->sleeper);
  /* A FIFO queue hands items over in order. */
  (void)tide_queue_init(loop, &f->q, TIDE_QUEUE_FIFO, 0);
  for (f->i = 1; f->i <= 3; f->i++)
    (void)tide_queue_put_nowait(&f->q, (void *)(intptr_t)f->i, 0);
  for (f->i = 0; f->i < 3; f->i++) {
    tide_future_init(loop, &f->out);
    f->rc = tide_queue_get(&f->q, &f->out);
    if (f->rc == 0) TIDE_AWAIT(t, &f->out, f->rc);
    if (f->rc == 0) {
      tide_value v;
      (void)tide_future_result(&f->out, &v);
      f->qlog[f->i] = (char)('0' + (int)(intptr_t)v.as.p);
    }
    tide_future_release(&f->out);
  }
  tide_queue_destroy(&f->q);
  snprintf(f->result, sizeof f->result, "group=%s wait_for=%s queue=%s", f->log,
           tide_err_name(f->wait_rc), f->qlog);
  {
    tide_value v = tide_value_string(f->result);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

/* --- main
 * -------------------------------------------------------------------------------- */

typedef struct main_frame {
  int argc;
  char **argv;
  int rc;
} main_frame;

static int program_main(tide_task *t, void *frame) {
  main_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 1, f->rc);
  if (f->argc == 3 && strcmp(f->argv[2], "unflushed") == 0) {
    /* Left in stdio's buffer (no fflush, and a last line without newline):
     * only the program's end writes it, as exit() does natively. */
    printf("%s\nno newline, no fflush", f->argv[1]);
  } else {
    for (int i = 1; i < f->argc; i++)
      printf("%s\n", f->argv[i]);
    fflush(stdout);
  }
  tide_main_exit(tide_task_loop(t), atoi(f->argv[1]));
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  static const test_export exports[] = {
      {"add", add_main, 0},
      {"echo", echo_main, 0},
      {"sleep_then", sleep_then_main, sizeof(sleep_frame)},
      {"fail", fail_main, 0},
      {"loop_now", loop_now_main, 0},
      {"call_host", call_host_main, sizeof(call_frame)},
      {"call_host_any", call_host_any_main, sizeof(call_frame)},
      {"call_host_timeout", call_host_timeout_main, sizeof(timeout_frame)},
      {"unref_timer", unref_timer_main, 0},
      {"toolbox", toolbox_main, sizeof(toolbox_frame)},
      {"spin_cancel", spin_cancel_main, sizeof(sleep_frame)},
      {"spin_uncancel", spin_uncancel_main, sizeof(sleep_frame)},
      {"timer_order", timer_order_main, sizeof(order_frame)},
      {"async_wake", async_wake_main, sizeof(wake_frame)},
      {"burst", burst_main, sizeof(burst_frame)},
  };
  int rc = export_all(loop, exports, sizeof exports / sizeof exports[0]);
  if (rc != 0) return rc;
  if (argc >= 2) {
    main_frame init = {argc, argv, 0};
    return tide_task_spawn(loop, program_main, &init, sizeof init, NULL);
  }
  return 0;
}

TIDE_MAIN(setup)
