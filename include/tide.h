/* tide.h: the one public header of tideloop, an asyncio-style event loop in C11.
 *
 * Everything a user needs is declared here, each part after the parts it builds
 * on: the fixed error table; the loop; one-shot callbacks; futures; stackless
 * tasks with their coroutine macros; handles (timers, fd watchers, cross-thread
 * wakeups, signals); byte streams; addresses and sockets (name resolution, TCP,
 * UDP, WebSocket); combinators and task groups (gather, wait, wait_for, timeout
 * scopes, shield, as_completed); synchronization primitives (event, lock,
 * semaphore, condition, queue, barrier); diagnostics (slow callbacks, task dump,
 * Chrome trace export); host operations and exported coroutines for the JS host;
 * and a portable main (TIDE_MAIN) that runs one program on every host.
 *
 * Conventions used throughout:
 * - Fallible functions return int: 0 on success or a negative TIDE_E* code. The
 *   numbers are fixed and identical on every host (native, WASI, JS).
 * - Misuse that breaks an invariant (a NULL loop, closing a handle twice) is caught
 *   by assert(); bad input that a program can meet at run time returns a code.
 * - The caller owns what it passes in. Objects in caller storage (tide_loop,
 *   tide_timer, tide_io, tide_signal, tide_async, tide_future) must stay valid and
 *   must not move while registered: handles until their close callback has run,
 *   futures until tide_future_release().
 * - All callbacks run on the loop's thread, from inside tide_loop_run(), never
 *   inline inside the call that caused them (except where a function says so).
 * - Time is in milliseconds of a monotonic clock, as cached by the loop at the
 *   start of each iteration (tide_loop_now()). Every delay counts from that
 *   cached time, not from the clock when the call is made: timers, call_later,
 *   TIDE_SLEEP, the timeouts of tide_wait and tide_wait_for, and timeout
 *   scopes. A callback that ran long makes them fire that much earlier than
 *   "now + delay"; tide_loop_update_time() refreshes the cache first.
 * - Objects that live in caller storage are complete types, so they can be
 *   declared on the stack or embedded in a structure of your own. Their layouts
 *   are in tide/private.h, which this header includes at its end (include only
 *   tide.h); every field there is private to the library and may change in any
 *   release, except a handle's `handle.data` (see "Handles"). Fields whose names
 *   start with "priv_" are private wherever they appear.
 */
#ifndef TIDE_H
#define TIDE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIDE_VERSION_MAJOR 0
#define TIDE_VERSION_MINOR 1
#define TIDE_VERSION_PATCH 0

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* The fixed error table: X(NAME, number, message). The numbers never change and
 * are the same on every host; host errors are translated into these in one
 * place each (errno and WASI errno in one table, JS exceptions in the package). */
#define TIDE_ERRNO_MAP(X)                                                        \
  X(EINVAL, -1, "invalid argument")                                               \
  X(ENOMEM, -2, "out of memory")                                                  \
  X(EBUSY, -3, "resource busy: the loop still has registered work")               \
  X(ECANCELED, -4, "operation canceled")                                          \
  X(ETIMEDOUT, -5, "operation timed out")                                         \
  X(EALREADY, -6, "already completed")                                            \
  X(EPENDING, -7, "still pending")                                                \
  X(ENOENT, -8, "no such entry")                                                  \
  X(EEXIST, -9, "already exists")                                                 \
  X(EAGAIN, -10, "resource temporarily unavailable")                              \
  X(EBADF, -11, "bad file descriptor")                                            \
  X(EIO, -12, "input/output error")                                               \
  X(ENOSYS, -13, "not supported on this host")                                    \
  X(EPIPE, -14, "broken pipe")                                                    \
  X(ECONNRESET, -15, "connection reset by peer")                                  \
  X(ECONNREFUSED, -16, "connection refused")                                      \
  X(EADDRINUSE, -17, "address already in use")                                    \
  X(ENOTCONN, -18, "socket is not connected")                                     \
  X(EACCES, -19, "permission denied")                                             \
  X(ERANGE, -20, "value out of range")                                            \
  X(EOF, -21, "end of file")                                                      \
  X(ECLOSED, -22, "handle is closing or closed")                                  \
  X(ESTATE, -23, "object is in the wrong state for this call")                    \
  X(EHOST, -24, "the host reported an error")                                     \
  X(EINTR, -25, "interrupted")                                                    \
  X(ENOSPC, -26, "no space left")                                                 \
  X(EMSGSIZE, -27, "message too long")                                            \
  X(ENETUNREACH, -28, "network is unreachable")                                   \
  X(EHOSTUNREACH, -29, "host is unreachable")                                     \
  X(EADDRNOTAVAIL, -30, "address not available")                                  \
  X(EUNKNOWN, -31, "unknown error")                                               \
  X(EMFILE, -32, "too many open files")                                           \
  X(ENOTFOUND, -33, "host name not found")                                        \
  X(ENOTSOCK, -34, "not a socket")                                              \
  X(ESRCH, -35, "no such process")                                               \
  X(ENOEXEC, -36, "not an executable format")

/* The codes are dense, -1 down to TIDE__ERR_LAST (tests/c/test-errors.c checks
 * it), so the last one is minus the number of rows: counted, never typed, so a
 * new row cannot leave it behind (the JS host's codes are checked against it). */
enum {
#define TIDE__ERR_ENUM(name, num, msg) TIDE_##name = (num),
#define TIDE__ERR_ONE(name, num, msg) +1
  TIDE_ERRNO_MAP(TIDE__ERR_ENUM)
  TIDE__ERR_LAST = -(0 TIDE_ERRNO_MAP(TIDE__ERR_ONE))
#undef TIDE__ERR_ONE
#undef TIDE__ERR_ENUM
};

/* "EINVAL" for TIDE_EINVAL; "EUNKNOWN" for a number outside the table. */
const char *tide_err_name(int code);
/* A human-readable message; "unknown error" for a number outside the table. */
const char *tide_strerror(int code);

/* ------------------------------------------------------------------------ */
/* Object types                                                              */
/* ------------------------------------------------------------------------ */

/* The library's main objects, declared first so that every section can name them.
 * A task is only ever used through a pointer (tide_task_spawn makes it). The
 * others are complete types, as are tide_call, the synchronization primitives,
 * timeout scopes, as_completed iterators and task groups, declared in their own
 * sections: their layouts are in tide/private.h (see the conventions above). */
typedef struct tide_loop tide_loop;
typedef struct tide_handle tide_handle;
typedef struct tide_timer tide_timer;
typedef struct tide_io tide_io;
typedef struct tide_signal tide_signal;
typedef struct tide_async tide_async;
typedef struct tide_future tide_future;
typedef struct tide_task tide_task;

/* ------------------------------------------------------------------------ */
/* Loop                                                                      */
/* ------------------------------------------------------------------------ */

/* The loop's allocator, Lua style: allocate (ptr NULL, size > 0), resize, or free
 * (size 0, returns NULL). Returning NULL for size > 0 means out of memory; the
 * library then fails the call with TIDE_ENOMEM and leaves everything as before. */
typedef void *(*tide_alloc_fn)(void *ud, void *ptr, size_t size);

/* What the loop reports to its error handler: an error nobody observed. */
typedef struct tide_error_report {
  int code;            /* TIDE_E* */
  const char *message; /* the error's message; never NULL */
  const char *context; /* what was dropped: "unobserved future error", ... */
  tide_future *future; /* the future being released, or NULL */
  tide_task *task;     /* the task whose result was dropped, or NULL */
} tide_error_report;

/* Called from the loop's thread; the report is valid for the call only. The
 * default handler writes one line to the host's error stream (stderr natively,
 * console.error on the JS host). */
typedef void (*tide_error_handler)(tide_loop *loop, const tide_error_report *report,
                                   void *ud);

typedef struct tide_loop_options {
  tide_alloc_fn alloc; /* NULL: the C library's realloc/free (in a size build,
                          TIDE_SIZE=ON, a compact allocator of its own) */
  void *alloc_ud;
  /* How many ready callbacks run before the loop polls for I/O again while it is
   * busy (0: the default, 1024). A smaller budget gives I/O lower latency under a
   * flood of callbacks; a larger one pays fewer system calls. */
  unsigned tick_budget;
} tide_loop_options;

typedef enum tide_run_mode {
  TIDE_RUN_DEFAULT = 0, /* run until no referenced work is left or stopped */
  TIDE_RUN_ONCE = 1,    /* one iteration; may block for I/O or the next timer */
  TIDE_RUN_NOWAIT = 2   /* one iteration; never blocks */
} tide_run_mode;

/* The loop. Caller storage with tide_loop_init()/tide_loop_close(), or allocated
 * with tide_loop_new()/tide_loop_free(). All fields are private. */

/* Initialise a loop in caller storage. opts may be NULL. Returns 0, TIDE_ENOMEM,
 * or an error from the backend (for example TIDE_EUNKNOWN if epoll_create fails).
 * On failure nothing needs closing. */
int tide_loop_init(tide_loop *loop, const tide_loop_options *opts);
/* Close a loop from tide_loop_init(). Returns TIDE_EBUSY, changing nothing, while
 * anything is registered: an open handle, a live task, a queued call, a close
 * callback that has not run yet. Run the loop until it returns 0, then close. */
int tide_loop_close(tide_loop *loop);
/* Allocate and initialise a loop (through opts->alloc when given). */
int tide_loop_new(const tide_loop_options *opts, tide_loop **out_loop);
/* Close and free a loop from tide_loop_new(). TIDE_EBUSY as tide_loop_close(). */
int tide_loop_free(tide_loop *loop);

/* Run the loop. One iteration: poll for I/O (blocking only in DEFAULT and ONCE,
 * and only while no callback is ready), refresh the cached time, move due timers
 * to the ready queue, then run ready work tick by tick. A tick runs a snapshot of
 * the ready queue taken when it starts, in FIFO order, so work scheduled during a
 * tick runs in a later tick. Ticks repeat without polling until the queue is empty
 * or tick_budget callbacks have run; then the iteration ends, so a flood of
 * callbacks pays one poll per tick_budget callbacks and I/O is never starved.
 * Returns 1 if referenced work is left, 0 if none, or a negative TIDE_E* if the
 * backend failed. On the JS host, which never blocks, DEFAULT and ONCE return
 * TIDE_EAGAIN when they would have to wait (the host resumes the loop; use
 * TIDE_MAIN or the JS runtime there). Must not be called from inside a callback
 * of the same loop. */
int tide_loop_run(tide_loop *loop, tide_run_mode mode);
/* Ask tide_loop_run() to return after the current tick. Safe from callbacks.
 * Called before tide_loop_run(), the run does one iteration (polling without
 * blocking and running one tick of what is ready) and returns, as asyncio's
 * stop() before run_forever(). */
void tide_loop_stop(tide_loop *loop);
/* 1 if the loop has referenced work: ref'd active handles, queued callbacks,
 * runnable or sleeping tasks, pending host operations. Tasks waiting only on
 * futures do not count. */
int tide_loop_alive(const tide_loop *loop);
/* The cached time in ms; refreshed once per iteration. On the JS host, an
 * iteration the host ran without reading its clock (a tick straight from a
 * promise reaction: src/backend/js/ABI.md, "tide_js_tick") reads it the first
 * time the time is needed in that iteration instead, never earlier. */
uint64_t tide_loop_now(const tide_loop *loop);
/* Refresh the cached time now (costs a clock read). */
void tide_loop_update_time(tide_loop *loop);
/* --- Virtual time: testing code with timeouts in milliseconds ----------------
 *
 * A loop can run on a virtual clock instead of the host's, so that a test of
 * code full of sleeps, timeouts and retries runs in milliseconds and gives the
 * same times on every run and every host (Trio's MockClock):
 *
 *   tide_loop_set_clock(&loop, TIDE_CLOCK_AUTOJUMP);
 *   tide_task_spawn(&loop, retry_with_backoff, ...);  // sleeps 1 s, 2 s, 4 s...
 *   tide_loop_run(&loop, TIDE_RUN_DEFAULT);           // returns at once, having
 *                                                     // "waited" 7 s of loop time
 *
 * Time starts where the loop's clock was and moves only as below; everything
 * that reads time (sleeps, timers, call_later, wait_for, timeout scopes, the
 * diagnostics' ms) reads the virtual clock. Ordering is unchanged: timers fire
 * in (deadline, start order), each at exactly its deadline.
 * - TIDE_CLOCK_AUTOJUMP: whenever the loop has referenced work but nothing to
 *   run and nothing from the host (no I/O ready when it polls without
 *   waiting), time jumps to the next timer's deadline at once. It does not
 *   jump while a host operation (tide_host_call, JS-host I/O) is in flight:
 *   its answer might come first. Natively, fds, threads (tide_work_submit,
 *   tide_resolve) and child processes are not waited for: a test on this clock
 *   should fake them, or use TIDE_CLOCK_VIRTUAL and advance by hand.
 * - TIDE_CLOCK_VIRTUAL: time moves only with tide_loop_advance. A run never
 *   blocks for a timer: once only timers are left, tide_loop_run(DEFAULT or
 *   ONCE) returns 1, and the caller advances the clock and runs again. While
 *   something else is referenced (an fd watcher, a wakeup, a signal, a child,
 *   a job on the worker pool, a host operation) a run waits for that as on
 *   the real clock.
 * On the JS host: load(source, {clock: 'autojump' | 'virtual'}) and
 * rt.advance(ms) (js/README.md). */
typedef enum tide_clock_mode {
  TIDE_CLOCK_REAL = 0,     /* the host's monotonic clock (the default) */
  TIDE_CLOCK_VIRTUAL = 1,  /* moved by tide_loop_advance only */
  TIDE_CLOCK_AUTOJUMP = 2  /* virtual, and jumps to the next timer when idle */
} tide_clock_mode;

/* Switch the loop's clock, at any time (not from virtual back to real: that is
 * TIDE_ESTATE). Returns 0, TIDE_EINVAL, TIDE_ESTATE. */
int tide_loop_set_clock(tide_loop *loop, tide_clock_mode mode);
tide_clock_mode tide_loop_clock(const tide_loop *loop);
/* Move a virtual clock forward by ms. What becomes due runs on the next
 * iteration (tide_loop_run), in deadline order, never inside this call.
 * Returns 0, or TIDE_ESTATE on the real clock. */
int tide_loop_advance(tide_loop *loop, uint64_t ms);

/* For an embedding host: how long it may wait, in ms, before it must run the loop
 * again. 0 if work is ready, -1 if no timer is pending (wait for I/O only), else
 * the time to the nearest timer (saturated at INT32_MAX). On a virtual clock a
 * timer is never waited for: 0 if the autojump will jump to it, else -1. */
int64_t tide_loop_next_timeout(const tide_loop *loop);
/* Replace the error handler; NULL restores the default. */
void tide_loop_set_error_handler(tide_loop *loop, tide_error_handler handler, void *ud);
/* Report an error that nobody else will see (a fire-and-forget operation that
 * failed) to the error handler, as the loop reports an unobserved error:
 * context says what failed, message may be NULL (then tide_strerror(code)).
 * The handler runs inside this call. */
void tide_loop_report(tide_loop *loop, int code, const char *context, const char *message);
/* The task whose coroutine is running right now, or NULL. */
tide_task *tide_loop_current_task(const tide_loop *loop);
/* How many runnables are queued right now (callbacks, woken tasks, done
 * callback dispatches, close callbacks): what is left of the current tick plus
 * what the next tick will run. A diagnostic for live views; O(n). */
size_t tide_loop_ready_count(const tide_loop *loop);

/* Allocate through the loop's allocator (used by the library; handy for frames). */
void *tide_loop_alloc(tide_loop *loop, size_t size);
void tide_loop_dealloc(tide_loop *loop, void *ptr);

/* ------------------------------------------------------------------------ */
/* One-shot callbacks: call_soon, call_later, call_at                        */
/* ------------------------------------------------------------------------ */

typedef void (*tide_call_fn)(tide_loop *loop, void *ud);

/* A cancellable reference to a scheduled call. It stays safe to use after the
 * call ran or was cancelled (cancelling then returns TIDE_EALREADY): the record
 * it points to is pooled by the loop and a generation number tells it apart. */
typedef struct tide_call tide_call;

/* Run fn(loop, ud) from the loop on the next tick, after everything already
 * scheduled. out_call may be NULL. Returns 0 or TIDE_ENOMEM (only when the
 * loop's pool of call records must grow and the allocator fails). */
int tide_call_soon(tide_loop *loop, tide_call_fn fn, void *ud, tide_call *out_call);
/* Run fn after delay_ms (measured from tide_loop_now(), the time the loop
 * cached when its iteration began, not the clock now: after a long callback,
 * call tide_loop_update_time() first to count from now). Calls with equal
 * deadlines run in the order they were scheduled. */
int tide_call_later(tide_loop *loop, uint64_t delay_ms, tide_call_fn fn, void *ud,
                    tide_call *out_call);
/* Run fn at the absolute loop time when_ms. A time in the past means "now":
 * it counts as tide_loop_now(), so the call runs after the calls already due
 * (a past time never jumps ahead of them), in the order they were scheduled. */
int tide_call_at(tide_loop *loop, uint64_t when_ms, tide_call_fn fn, void *ud,
                 tide_call *out_call);
/* Cancel a scheduled call. Returns 0 if it will not run, TIDE_EALREADY if it
 * already ran or was cancelled. */
int tide_call_cancel(tide_loop *loop, tide_call call);

/* ------------------------------------------------------------------------ */
/* Futures                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum tide_future_state {
  TIDE_FUTURE_PENDING = 0,
  TIDE_FUTURE_RESULT = 1,
  TIDE_FUTURE_ERROR = 2,
  TIDE_FUTURE_CANCELLED = 3
} tide_future_state;

typedef enum tide_value_type {
  TIDE_VALUE_NONE = 0,
  TIDE_VALUE_INT = 1,
  TIDE_VALUE_DOUBLE = 2,
  TIDE_VALUE_PTR = 3,
  TIDE_VALUE_BYTES = 4,
  /* UTF-8 text (bytes.data, bytes.len): a JS string on the JS host. Received
   * from a host, it is owned and NUL-terminated (the NUL not counted in len). */
  TIDE_VALUE_STRING = 5,
  /* UTF-8 JSON text, as STRING: any other JS value on the JS host. */
  TIDE_VALUE_JSON = 6
} tide_value_type;

/* Frees owned bytes (BYTES, STRING, JSON); called once, when the future is
 * released (unless the bytes were taken with tide_future_take_bytes()). */
typedef void (*tide_bytes_free_fn)(void *data, void *ud);

/* A future's result, or an argument. For BYTES, STRING and JSON in a future, the
 * future owns data (see tide_future_set_bytes); as arguments they are borrowed. */
typedef struct tide_value {
  tide_value_type type;
  union {
    int64_t i;
    double d;
    void *p;
    struct {
      void *data;
      size_t len;
    } bytes;
  } as;
  tide_bytes_free_fn priv_free;
  void *priv_free_ud;
} tide_value;

/* Constructors for values passed as arguments (borrowed, nothing owned). */
static inline tide_value tide_value_none(void) {
  tide_value v;
  v.type = TIDE_VALUE_NONE;
  v.as.i = 0;
  v.priv_free = NULL;
  v.priv_free_ud = NULL;
  return v;
}
static inline tide_value tide_value_double(double d) {
  tide_value v = tide_value_none();
  v.type = TIDE_VALUE_DOUBLE;
  v.as.d = d;
  return v;
}
static inline tide_value tide_value_int(int64_t i) {
  tide_value v = tide_value_none();
  v.type = TIDE_VALUE_INT;
  v.as.i = i;
  return v;
}
/* text: len bytes of UTF-8 (len (size_t)-1: up to the NUL). */
static inline tide_value tide_value_text(tide_value_type type, const char *text, size_t len) {
  tide_value v = tide_value_none();
  size_t n = 0;
  if (len == (size_t)-1)
    while (text[n] != '\0') n++;
  v.type = type;
  v.as.bytes.data = (void *)(uintptr_t)text;
  v.as.bytes.len = len == (size_t)-1 ? n : len;
  return v;
}
static inline tide_value tide_value_string(const char *s) {
  return tide_value_text(TIDE_VALUE_STRING, s, (size_t)-1);
}
static inline tide_value tide_value_json(const char *json) {
  return tide_value_text(TIDE_VALUE_JSON, json, (size_t)-1);
}
static inline tide_value tide_value_bytes(const void *data, size_t len) {
  tide_value v = tide_value_text(TIDE_VALUE_BYTES, (const char *)data, len);
  return v;
}

/* Done callbacks run from the loop, in the order they were added. */
typedef void (*tide_future_cb)(tide_future *future, void *ud);
/* A producer's cancel hook (see tide_future_set_cancel_hook). */
typedef void (*tide_future_cancel_hook)(tide_future *future, void *ud);

/* A future: a value that completes exactly once. Lives in caller storage (or
 * comes from tide_future_new()); fields are private. */

/* Initialise a pending future in caller storage. Infallible. */
void tide_future_init(tide_loop *loop, tide_future *future);
/* Release a future: a pending one is cancelled first (so its producer, a stream
 * read for example, lets go of it); then free its owned result or message, drop
 * its done callbacks, and report an error nobody observed to the loop's error
 * handler. A task must not be awaiting it. The storage may be reused afterwards. */
void tide_future_release(tide_future *future);
/* Allocate and initialise / release and free. TIDE_ENOMEM. */
int tide_future_new(tide_loop *loop, tide_future **out_future);
void tide_future_free(tide_future *future);

/* Complete the future. Each returns 0, TIDE_EALREADY if it was already done
 * (nothing changes; for set_bytes the caller still owns data), or TIDE_ESTATE for
 * a task's future (only its coroutine completes it). Done callbacks and
 * awaiting tasks run from the loop on the next tick, never inside these calls. */
int tide_future_set_none(tide_future *future);
int tide_future_set_int(tide_future *future, int64_t value);
int tide_future_set_double(tide_future *future, double value);
int tide_future_set_ptr(tide_future *future, void *value);
/* Takes ownership of data on success: free_fn(data, free_ud) runs at release
 * (free_fn may be NULL for static data). */
int tide_future_set_bytes(tide_future *future, void *data, size_t len,
                          tide_bytes_free_fn free_fn, void *free_ud);
/* code is a negative TIDE_E* (TIDE_EINVAL if not); message may be NULL (then
 * tide_strerror(code)) and is copied. TIDE_ECANCELED is the same as cancel. If the
 * copy cannot be allocated the error still lands, with a fixed message. */
int tide_future_set_error(tide_future *future, int code, const char *message);
/* Cancel: 0, or TIDE_EALREADY if done. The producer's cancel hook runs inside
 * this call, so the work behind the future can be aborted. Most futures are
 * CANCELLED when this returns; a producer that must finish something first (a
 * gather waiting for its cancelled inputs, a condition wait taking its lock
 * back) keeps it pending and completes it later. For a task's future, this
 * requests cancellation of the task (see tide_task_cancel). */
int tide_future_cancel(tide_future *future);

/* For whoever produces the future's value (a stream, a host operation, your
 * own code): hook(future, ud) runs inside tide_future_cancel() (or the release of
 * the pending future), just before it becomes CANCELLED, so the work behind it
 * can be aborted and the future forgotten. A hook that sets a hook again (itself
 * or another) defers the cancellation: the future stays pending and the producer
 * completes it once its work is undone (never on release, which cannot wait).
 * One hook per future; NULL removes it. It is dropped when the future
 * completes. A task's future takes none (cancelling it cancels the task). */
void tide_future_set_cancel_hook(tide_future *future, tide_future_cancel_hook hook,
                                 void *ud);

/* The loop the future belongs to (the one given to tide_future_init). */
tide_loop *tide_future_loop(const tide_future *future);
tide_future_state tide_future_state_get(const tide_future *future);
int tide_future_done(const tide_future *future);
/* The outcome: 0 and *out_value (borrowed: bytes stay owned by the future) for a
 * result; the error code for an error; TIDE_ECANCELED if cancelled; TIDE_EPENDING
 * if not done. out_value may be NULL. Reading an error marks it observed. */
int tide_future_result(tide_future *future, tide_value *out_value);
/* The error message (NULL unless state is ERROR); marks the error observed. */
const char *tide_future_error_message(tide_future *future);
/* Take ownership of a BYTES, STRING or JSON result: 0, TIDE_ESTATE if the result
 * is none of those (or was taken already), or the outcome's error code. Free the
 * data as the producer documents (host values: tide_loop_dealloc). */
int tide_future_take_bytes(tide_future *future, void **out_data, size_t *out_len);
/* Add a done callback; if the future is already done it is scheduled at once.
 * Returns 0 or TIDE_ENOMEM. */
int tide_future_add_done_callback(tide_future *future, tide_future_cb cb, void *ud);
/* Remove every done callback equal to (cb, ud) not yet run; returns how many. */
int tide_future_remove_done_callback(tide_future *future, tide_future_cb cb, void *ud);

/* ------------------------------------------------------------------------ */
/* Tasks: stackless coroutines                                               */
/* ------------------------------------------------------------------------ */

/* A coroutine's step function: write it with the TIDE_* macros below. It gets
 * its task and the frame the task owns. */
typedef int (*tide_task_fn)(tide_task *task, void *frame);

/* Called with the frame when the task is freed (whether or not it ever ran):
 * free what the frame owns there. */
typedef void (*tide_frame_cleanup_fn)(void *frame);

/* Spawn a task running fn. The task owns a frame of frame_size bytes, copied from
 * init_frame (zeroed if init_frame is NULL); the coroutine keeps in it every
 * local that must live across an await. The first step runs on the next tick.
 *
 * Ownership: with out_task, the caller holds a reference and must drop it with
 * tide_task_release() (it may await the task first). With out_task NULL the task
 * is detached: it frees itself when done, and an error it ends with is reported
 * to the loop's error handler. Returns 0, TIDE_ENOMEM, TIDE_EINVAL (fn NULL). */
int tide_task_spawn(tide_loop *loop, tide_task_fn fn, const void *init_frame,
                    size_t frame_size, tide_task **out_task);
/* Drop the caller's reference. A finished task is freed now (its unobserved
 * error, if any, is reported then), unless done callbacks or tasks awaiting it
 * have not been told yet: they still run, from the loop, whatever the tick
 * budget, and the task is freed right after them. A running one is freed when
 * it finishes (likewise after its waiters were told). Either way the pointer is
 * the caller's no more. */
void tide_task_release(tide_task *task);
/* The task's future: await it, read its result, add done callbacks. */
tide_future *tide_task_future(tide_task *task);
void *tide_task_frame(tide_task *task);
tide_loop *tide_task_loop(const tide_task *task);
/* Names are copied (truncated to 31 bytes); the default, and what an empty or
 * NULL name restores, is "task-<n>". A task keeps its name in a small block of
 * the loop's allocator, made the first time it is named or its name is asked
 * for; if that allocation fails, tide_task_set_name leaves the name as it was,
 * and tide_task_name gives the default in a buffer of the loop's, valid until
 * it gives the next one so. */
void tide_task_set_name(tide_task *task, const char *name);
const char *tide_task_name(const tide_task *task);
void tide_task_set_cleanup(tide_task *task, tide_frame_cleanup_fn cleanup);
int tide_task_done(const tide_task *task);

/* Request cancellation. Delivered as TIDE_ECANCELED at the task's next await,
 * sleep or yield (or before its first step: then the coroutine never runs). If
 * the task is awaiting a future, that future is cancelled too (a child task gets
 * the request in turn) and the task resumes when it completes. If what it awaited
 * had already finished with its own outcome (a result, an error, a sleep that came
 * due) before the request, the await returns that outcome and the request stays
 * pending for the next suspension point: the task sees the result that won the
 * race or TIDE_ECANCELED, never both and never neither. Once delivered, or still
 * pending when the coroutine returns, the task ends CANCELLED even if its
 * coroutine returns a value, unless it calls tide_task_uncancel(): cancellation
 * cannot be lost silently.
 * Returns 0, or TIDE_EALREADY if the task is done. */
int tide_task_cancel(tide_task *task);
/* How many cancellation requests are pending or delivered and not withdrawn
 * (asyncio's Task.cancelling()): each tide_task_cancel() that returns 0 counts
 * one, also while an earlier one is pending; 0 if none. */
int tide_task_cancelling(const tide_task *task);
/* Withdraw one cancellation request (asyncio's Task.uncancel()) and return how
 * many are left. When none is left, the pending or delivered cancellation is
 * cleared, so the task may await again and end normally (for a coroutine that
 * deliberately handles it). With requests left it stays cancelled: a timeout
 * scope or task group withdrawing its own request never swallows another one.
 * Returns 0 (and does nothing) if there were none.
 * What the task's awaits return around a cancellation:
 * - An await, sleep or wait_for/gather/... that the request interrupted (a sleep
 *   cut short, an awaited future or child task cancelled) returns
 *   TIDE_ECANCELED, also when the request is withdrawn before the task
 *   resumes (as asyncio's uncancel() does not un-raise the CancelledError);
 *   or the outcome that won the race (a child task that handled the
 *   cancellation and returned a result gives that result).
 * - A request withdrawn before it interrupted anything (the task was ready:
 *   its first step, a yield, a sleep that had come due) is as if never made.
 * - Once TIDE_ECANCELED was delivered, later awaits work normally, so
 *   cleanup may await (a new tide_task_cancel is delivered at the next one).
 *   The task then ends CANCELLED whatever it returns, unless the last
 *   request was withdrawn: then it ends with what its coroutine returns. */
int tide_task_uncancel(tide_task *task);

/* --- Coroutine macros ------------------------------------------------------
 *
 *   struct counter { int i; int rc; tide_future *f; };   // the frame
 *
 *   static int counter_main(tide_task *t, void *frame) {
 *     struct counter *c = frame;
 *     TIDE_BEGIN(t);
 *     for (c->i = 0; c->i < 3; c->i++) {
 *       TIDE_SLEEP(t, 100, c->rc);            // c->rc: 0 or TIDE_ECANCELED
 *       if (c->rc) TIDE_RETURN_ERROR(t, c->rc, "stopped early");
 *     }
 *     TIDE_RETURN_INT(t, c->i);
 *     TIDE_END(t);
 *   }
 *
 * Rules: locals do not survive an await, so keep what must in the frame; use at
 * most one await macro per source line (each marks a resume point); do not put an
 * await inside a switch statement of your own. rc is any int lvalue: 0 when the
 * awaited future has a result, its error code, or TIDE_ECANCELED when the future
 * was cancelled or this task is being cancelled.
 */

/* Private step results and helpers used by the macros. */
#define TIDE__STEP_SUSPEND 0
#define TIDE__STEP_DONE 1
int tide__task_await(tide_task *task, tide_future *future);
int tide__task_sleep(tide_task *task, uint64_t ms);
int tide__task_yield(tide_task *task);
int tide__task_finish(tide_task *task, const tide_value *value);
int tide__task_finish_error(tide_task *task, int code, const char *message);

#define TIDE__SUSPEND(t)                                                         \
  do {                                                                           \
    TIDE__CORO(t)->priv_pc = __LINE__;                                           \
    return TIDE__STEP_SUSPEND;                                                   \
    case __LINE__:;                                                              \
  } while (0)

/* Open the coroutine body; must be the first statement after the frame cast. */
#define TIDE_BEGIN(t)                                                            \
  switch (TIDE__CORO(t)->priv_pc) {                                              \
  case 0:
/* Close the body: falling off the end finishes the task with no value. */
#define TIDE_END(t)                                                              \
  }                                                                              \
  return tide__task_finish((t), NULL)

/* Await a future (or tide_task_future(child)); rc gets the outcome. Does not
 * suspend when the future is already done (unless a cancellation is pending). */
#define TIDE_AWAIT(t, future, rc)                                                \
  do {                                                                           \
    if (tide__task_await((t), (future))) TIDE__SUSPEND(t);                       \
    (rc) = TIDE__CORO(t)->priv_rc;                                               \
  } while (0)
/* Sleep ms milliseconds (0: yield), counted from tide_loop_now(), the loop's
 * cached time, as every timeout is. rc is 0 or TIDE_ECANCELED. */
#define TIDE_SLEEP(t, ms, rc)                                                    \
  do {                                                                           \
    if (tide__task_sleep((t), (ms))) TIDE__SUSPEND(t);                           \
    (rc) = TIDE__CORO(t)->priv_rc;                                               \
  } while (0)
/* Let every other ready callback run, then continue. rc: 0 or TIDE_ECANCELED. */
#define TIDE_YIELD(t, rc)                                                        \
  do {                                                                           \
    if (tide__task_yield(t)) TIDE__SUSPEND(t);                                   \
    (rc) = TIDE__CORO(t)->priv_rc;                                               \
  } while (0)

/* Finish the task. Each returns from the step function. */
#define TIDE_RETURN(t) return tide__task_finish((t), NULL)
#define TIDE_RETURN_VALUE(t, value_ptr) return tide__task_finish((t), (value_ptr))
#define TIDE_RETURN_INT(t, v)                                                    \
  do {                                                                           \
    tide_value tide__v_;                                                         \
    tide__v_.type = TIDE_VALUE_INT;                                              \
    tide__v_.as.i = (int64_t)(v);                                                \
    tide__v_.priv_free = NULL;                                                   \
    tide__v_.priv_free_ud = NULL;                                                \
    return tide__task_finish((t), &tide__v_);                                    \
  } while (0)
#define TIDE_RETURN_DOUBLE(t, v)                                                 \
  do {                                                                           \
    tide_value tide__v_;                                                         \
    tide__v_.type = TIDE_VALUE_DOUBLE;                                           \
    tide__v_.as.d = (double)(v);                                                 \
    tide__v_.priv_free = NULL;                                                   \
    tide__v_.priv_free_ud = NULL;                                                \
    return tide__task_finish((t), &tide__v_);                                    \
  } while (0)
#define TIDE_RETURN_PTR(t, v)                                                    \
  do {                                                                           \
    tide_value tide__v_;                                                         \
    tide__v_.type = TIDE_VALUE_PTR;                                              \
    tide__v_.as.p = (void *)(v);                                                 \
    tide__v_.priv_free = NULL;                                                   \
    tide__v_.priv_free_ud = NULL;                                                \
    return tide__task_finish((t), &tide__v_);                                    \
  } while (0)
/* The task's future takes ownership of data (see tide_future_set_bytes). */
#define TIDE_RETURN_BYTES(t, data_, len_, free_fn_, free_ud_)                    \
  do {                                                                           \
    tide_value tide__v_;                                                         \
    tide__v_.type = TIDE_VALUE_BYTES;                                            \
    tide__v_.as.bytes.data = (data_);                                            \
    tide__v_.as.bytes.len = (len_);                                              \
    tide__v_.priv_free = (free_fn_);                                             \
    tide__v_.priv_free_ud = (free_ud_);                                          \
    return tide__task_finish((t), &tide__v_);                                    \
  } while (0)
/* Finish with an error (TIDE_ECANCELED finishes the task cancelled). code must
 * be a negative TIDE_E*: 0 or a positive number is misuse, caught by assert()
 * in debug builds (with NDEBUG the task fails with TIDE_EINVAL), so test rc
 * before returning it: if (rc) TIDE_RETURN_ERROR(t, rc, ...). message may be
 * NULL (then tide_strerror(code)); it is copied, so a buffer in the frame or on
 * the stack is fine (if the copy cannot be allocated, a fixed message stands
 * in). */
#define TIDE_RETURN_ERROR(t, code, message)                                      \
  return tide__task_finish_error((t), (code), (message))

/* ------------------------------------------------------------------------ */
/* Handles: timers, fd watchers, wakeups, signals                            */
/* ------------------------------------------------------------------------ */

typedef void (*tide_close_cb)(tide_handle *handle);

/* The common head of every handle. Each handle type (tide_timer, tide_io,
 * tide_async, tide_signal) starts with it as its member `handle`, so a pointer to
 * one converts to tide_handle * and &timer->handle is what the tide_handle_*
 * calls take. `handle.data` (a void *) is the user's; the rest is private. */

/* Close a handle: stop it and run close_cb (may be NULL) from the loop on a later
 * tick. The handle's memory may be reused once close_cb has run. Closing twice is
 * misuse. */
void tide_handle_close(tide_handle *handle, tide_close_cb close_cb);
/* ref'd (the default) active handles keep tide_loop_run(DEFAULT) running;
 * unref'd ones do not. Both are idempotent. */
void tide_handle_ref(tide_handle *handle);
void tide_handle_unref(tide_handle *handle);
int tide_handle_has_ref(const tide_handle *handle);
/* 1 if started and not stopped (a timer that will still fire, a watcher on). */
int tide_handle_is_active(const tide_handle *handle);
int tide_handle_is_closing(const tide_handle *handle);
tide_loop *tide_handle_loop(const tide_handle *handle);

/* --- Timers --------------------------------------------------------------- */

typedef void (*tide_timer_cb)(tide_timer *timer);

/* Returns 0 or TIDE_ENOMEM: the timer's place in the loop's timer heap is
 * reserved here, so starting it never needs memory. */
int tide_timer_init(tide_loop *loop, tide_timer *timer);
/* Fire cb after timeout_ms, then every repeat_ms if repeat_ms > 0 (measured from
 * when the callback runs, so a slow callback delays, never bunches, later runs).
 * Restarting an active timer reschedules it. Returns 0 or TIDE_ECLOSED. */
int tide_timer_start(tide_timer *timer, tide_timer_cb cb, uint64_t timeout_ms,
                     uint64_t repeat_ms);
/* Stop the timer; it will not fire again until restarted. Safe from its own
 * callback, and when already stopped. */
void tide_timer_stop(tide_timer *timer);
void tide_timer_set_repeat(tide_timer *timer, uint64_t repeat_ms);
uint64_t tide_timer_get_repeat(const tide_timer *timer);
/* Milliseconds until the timer is due (0 if due or inactive). */
uint64_t tide_timer_get_due_in(const tide_timer *timer);

/* --- File descriptor readiness (native and WASI hosts) -------------------- */

enum {
  TIDE_READABLE = 1,
  TIDE_WRITABLE = 2,
  /* Only ever reported, never requested: the peer hung up, or the fd errored.
   * Reported together with the requested events so a reader sees EOF. */
  TIDE_HANGUP = 4,
  TIDE_IOERROR = 8
};

typedef void (*tide_io_cb)(tide_io *io, unsigned events);

/* Watch fd (which the caller keeps open and owns). Returns 0, TIDE_EBADF. */
int tide_io_init(tide_loop *loop, tide_io *io, int fd);
/* Start or change watching: events is TIDE_READABLE | TIDE_WRITABLE (non-zero).
 * cb runs from the loop with the events that are ready. Level-triggered: it runs
 * again next iteration while the fd stays ready. Returns 0, TIDE_EINVAL,
 * TIDE_EBADF, TIDE_EEXIST (another watcher on the same fd in this loop),
 * TIDE_ENOMEM, TIDE_ECLOSED. */
int tide_io_start(tide_io *io, unsigned events, tide_io_cb cb);
/* Stop watching; safe from the callback. Pending events are dropped. */
void tide_io_stop(tide_io *io);
int tide_io_fd(const tide_io *io);

/* --- Cross-thread wakeup --------------------------------------------------- */

typedef void (*tide_async_cb)(tide_async *async);

/* A handle another thread can poke: tide_async_send() is the one thread-safe
 * function in the library (besides tide_strerror/tide_err_name). Sends that
 * arrive before the callback runs are coalesced into one call. Close the handle
 * only once no other thread can send to it any more (for example after
 * joining them): a send racing the close may touch freed memory. This is how
 * loops on different threads talk (README.md, "Scaling a server"). */

/* Active from init; unref it if it must not keep the loop alive. */
int tide_async_init(tide_loop *loop, tide_async *async, tide_async_cb cb);
/* Thread-safe and async-signal-safe. Returns 0, or TIDE_ECLOSED if closing. */
int tide_async_send(tide_async *async);

/* --- POSIX signals (native host; TIDE_ENOSYS elsewhere) --------------------- */

typedef void (*tide_signal_cb)(tide_signal *sig, int signum);

int tide_signal_init(tide_loop *loop, tide_signal *sig);
/* Deliver signum as a loop callback. The process-wide handler only records the
 * signal and wakes the loops watching it; cb runs later from each such loop.
 * Several signals of one kind arriving before the callback runs may coalesce.
 * Returns 0, TIDE_EINVAL (bad signum), TIDE_ENOSYS (no signals on this host). */
int tide_signal_start(tide_signal *sig, tide_signal_cb cb, int signum);
void tide_signal_stop(tide_signal *sig);

/* ------------------------------------------------------------------------ */
/* Byte streams over file descriptors (every host)                           */
/* ------------------------------------------------------------------------ */

/* A stream reads and writes an fd (stdin, stdout, a pipe, a socket) while the
 * loop runs other work. Natively and under WASI it uses the fd itself; on the JS
 * host, fds 0, 1 and 2 are the runtime's stdin/stdout/stderr (the host functions
 * "tideloop:fd_read", "tideloop:fd_write" and "tideloop:fd_close" of src/backend/js/ABI.md,
 * which a program may replace with its own). Every operation completes a future
 * that the caller initialised (tide_future_init) and keeps valid until it is
 * done: await it from a task or add a done callback. Cancelling that future (or
 * releasing it while pending) cancels the operation: nothing is lost, since bytes
 * a cancelled read did not deliver stay buffered for the next read.
 *
 * Natively and under WASI the fd's flags are never changed (a shared terminal
 * stays blocking for the shell after the program exits): a read makes one read()
 * per readiness, and a write to an fd that is not already non-blocking goes out
 * in chunks of at most 512 bytes (POSIX's smallest PIPE_BUF) per readiness, which
 * poll guarantees will not block. Regular files are always ready, as poll(2)
 * treats them.
 */
typedef struct tide_stream tide_stream;

enum {
  TIDE_STREAM_CLOSE_FD = 1 /* close the fd when the stream closes */
};

/* Open a stream on fd (which stays the caller's unless TIDE_STREAM_CLOSE_FD).
 * Returns 0, TIDE_EBADF, TIDE_ENOMEM. */
int tide_stream_open(tide_loop *loop, int fd, unsigned flags, tide_stream **out_stream);
/* Read what is available, 1 to max bytes (max 0: 64 KiB). future completes with
 * BYTES the future owns, or the error TIDE_EOF at end of input, or a read error.
 * A read error is sticky: once the bytes received before it are read, every
 * later read fails with it (a reset connection never turns into a clean EOF).
 * One read or read_line at a time: TIDE_EBUSY while one is pending. Returns 0,
 * TIDE_EBUSY, TIDE_ECLOSED, TIDE_ENOMEM. */
int tide_stream_read(tide_stream *stream, size_t max, tide_future *future);
/* Read one line: BYTES without its "\n" (or "\r\n"); a last line without a
 * newline is delivered at end of input, then TIDE_EOF. A line longer than
 * max_len bytes (0: 64 KiB) completes with TIDE_EMSGSIZE and is skipped up to its
 * newline, so the next read_line starts on the following line. */
int tide_stream_read_line(tide_stream *stream, size_t max_len, tide_future *future);
/* Queue len bytes (copied) for writing, after earlier writes. future (may be
 * NULL) completes with INT len once every byte was written, or an error (for
 * example TIDE_EPIPE): then later queued writes fail the same way. A write
 * without a future that fails is reported to the loop's error handler.
 * Cancelling a write that has not started removes it; one in progress is
 * finished first (a stream never writes half a buffer and stops). Returns 0,
 * TIDE_ECLOSED, TIDE_ENOMEM. */
int tide_stream_write(tide_stream *stream, const void *data, size_t len,
                      tide_future *future);
/* Bytes queued and not yet written (for backpressure). */
size_t tide_stream_write_queue_size(const tide_stream *stream);
/* Bytes written to (handed to the host for) and read from the fd since the
 * stream opened, as Node's socket.bytesWritten and bytesRead. A cancelled read
 * has consumed nothing (its bytes stay buffered); a cancelled write had written
 * nothing if it had not started (it is dropped), and is otherwise finished in
 * the background so the stream stays whole: these counters say how many bytes
 * went out. */
uint64_t tide_stream_bytes_written(const tide_stream *stream);
uint64_t tide_stream_bytes_read(const tide_stream *stream);
/* Close: a pending read completes with TIDE_ECANCELED, queued writes are still
 * flushed, then the fd is closed (with TIDE_STREAM_CLOSE_FD) and the stream
 * freed. future (may be NULL) completes with the first write error or none.
 * The stream pointer is invalid after this call. */
void tide_stream_close(tide_stream *stream, tide_future *future);
/* Close at once, for a peer that neither reads nor closes (asyncio's
 * transport.abort(), Node's socket.destroy()): a pending read and every queued
 * write, even one in progress, complete with TIDE_ECANCELED (writes without a
 * future are dropped unreported) and their unwritten bytes are dropped; a socket
 * the stream owns (TIDE_STREAM_CLOSE_FD) is reset, so the peer sees
 * TIDE_ECONNRESET rather than a clean end; then the stream closes as with
 * tide_stream_close. The pointer is invalid after this call. */
void tide_stream_abort(tide_stream *stream);

/* Half-close: once every queued write is written, shut the socket down for
 * writing, so the peer reads end of input while this side can still read.
 * future (may be NULL) completes with INT 0, or the first write error. Later
 * writes fail with TIDE_ECLOSED; a second shutdown is TIDE_ECLOSED. Returns 0,
 * TIDE_ECLOSED, TIDE_ENOTSOCK (the stream is not on a socket; nothing changed),
 * TIDE_ENOMEM. */
int tide_stream_shutdown(tide_stream *stream, tide_future *future);

/* ------------------------------------------------------------------------ */
/* Addresses and sockets: name resolution, TCP, UDP, WebSocket               */
/* ------------------------------------------------------------------------ */

/* --- Addresses and name resolution ------------------------------------------
 *
 * Every host gives addresses in one form: the numeric text of an IPv4 or IPv6
 * address ("127.0.0.1", "::1") and a port, so a program prints and compares them
 * alike everywhere.
 */
typedef struct tide_address {
  int family; /* 4 or 6 */
  int port;   /* 0 where no port applies (tide_resolve) */
  char host[46]; /* numeric, NUL-terminated (INET6_ADDRSTRLEN) */
} tide_address;

/* Resolve a host name to its addresses without blocking the loop. family: 0
 * (any), 4 or 6. future (initialised by the caller, pending, with no other
 * producer) completes with BYTES holding an array of tide_address (count =
 * length / sizeof(tide_address), at least 1, port 0, numeric text in canonical
 * form, without duplicates, in the resolver's order), from the loop's
 * allocator (after tide_future_take_bytes, free it with tide_loop_dealloc); or
 * with an error: TIDE_ENOTFOUND (no such name, or no address of that family),
 * TIDE_EAGAIN (temporary failure: try again later), TIDE_ENOSYS (this host
 * cannot resolve names, below), TIDE_ENOMEM, TIDE_EIO (any other failure).
 * A numeric address resolves to itself ("0:0::1" gives "::1"; one of the other
 * family than asked, TIDE_ENOTFOUND) without asking anyone: the future is
 * complete when this returns (its done callbacks still run from the loop).
 *   Natively: getaddrinfo() on a small pool of resolver threads shared by every
 *   loop (as libuv does: the C library's resolver honours /etc/hosts,
 *   nsswitch and resolv.conf, which no DNS-only client does); "localhost" too.
 *   A pending lookup keeps the loop alive; cancelling it completes the future
 *   at once with TIDE_ECANCELED, while the thread's answer, when it comes, is
 *   dropped. getaddrinfo() cannot be interrupted, so a cancelled lookup that a
 *   thread is running still keeps the loop alive (and registered) until the
 *   thread returns, as in libuv: tide_loop_run(DEFAULT) returns, and
 *   tide_loop_close succeeds, only once no thread uses the loop.
 *   Under WASI (no resolver in preview1) and on the JS host: "localhost" is
 *   answered without asking anyone, 127.0.0.1 then ::1 (filtered by family).
 *   Other names: on the JS host in Node, dns.lookup (the same C library
 *   resolver, on libuv's pool) through the host function "tideloop:dns_lookup"
 *   (src/backend/js/ABI.md); in a browser, which has none, the future completes with
 *   TIDE_ENOSYS; under WASI it is complete with TIDE_ENOSYS when this returns.
 * Returns 0 (the outcome is in future), TIDE_EINVAL (host NULL or empty, or bad
 * family), TIDE_ENOMEM (future untouched). */
int tide_resolve(tide_loop *loop, const char *host, int family, tide_future *future);

/* --- TCP ---------------------------------------------------------------------
 *
 * Natively: non-blocking sockets. On the JS host in Node: node:net sockets
 * behind the same calls (src/backend/js/ABI.md, "Sockets"). Under WASI, preview1 cannot
 * make sockets: a program accepts on a listener the runtime hands in
 * (tide_tcp_listener_open; for example wasmtime's --tcplisten, which puts it
 * at fd 3) and the rest is TIDE_ENOSYS. In a browser everything is TIDE_ENOSYS
 * (listen and connect complete their future with it: only the host knows).
 *
 * A connection is a tide_stream (above) on the socket, opened with
 * TIDE_STREAM_CLOSE_FD: read, write, shut down and close it as any stream.
 * Natively, sockets are non-blocking and close-on-exec; listeners set
 * SO_REUSEADDR; connections set TCP_NODELAY (as Node's net does), so small
 * writes are not held back.
 *
 * Listen, accept and connect complete a future the caller initialised with PTR
 * (the new tide_tcp_listener * or tide_stream *), which then belongs to the
 * caller: take it with tide_future_result and close it (one nobody takes stays
 * open, and keeps tide_loop_close at TIDE_EBUSY). Cancelling (or releasing) a
 * pending accept or connect future completes it with TIDE_ECANCELED and leaves
 * nothing behind: a connect's half-made socket is closed, and a connection not
 * yet accepted waits for the next accept.
 */
typedef struct tide_tcp_listener tide_tcp_listener;

/* Listen on host:port, a numeric address (port 0: an ephemeral port, see
 * tide_tcp_listener_port); backlog <= 0 means the system's maximum. future
 * completes with PTR (the listener) or an error: TIDE_EADDRINUSE,
 * TIDE_EADDRNOTAVAIL, TIDE_EACCES, TIDE_EMFILE. (Natively it is complete when
 * this returns; on the JS host the bind takes a round trip.) The listener is
 * registered with the loop (tide_loop_close says TIDE_EBUSY until it is closed)
 * but keeps nothing alive by itself. Returns 0 (the outcome is in future),
 * TIDE_EINVAL (host NULL or not a numeric address, port outside 0..65535),
 * TIDE_ENOMEM, TIDE_ENOSYS (WASI, browsers). */
int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_future *future);

enum {
  TIDE_TCP_REUSEPORT = 1 /* share the port with the listeners that set it too */
};

/* tide_tcp_listen with flags (0: exactly tide_tcp_listen). With
 * TIDE_TCP_REUSEPORT several listeners, typically one per loop on its own
 * thread, bind the same host:port and the kernel hands each new connection to
 * one of them: that is how a tideloop server uses the cores of one machine
 * (README.md, "Scaling a server"; across machines, a load balancer in front).
 * Listen first with port 0 or a fixed port, read tide_tcp_listener_port, then
 * have the other loops listen on that port. Listeners share a port only if
 * every one sets the flag: otherwise the later one fails with
 * TIDE_EADDRINUSE. Natively on Linux
 * (3.9+) the flag sets SO_REUSEPORT. Where the host cannot share a port it is
 * never ignored: future completes with TIDE_ENOSYS and a message naming the
 * host (a system without SO_REUSEPORT; the JS host, since Node's net has no
 * reusePort; WASI). Returns 0 (the outcome is in future), TIDE_EINVAL (unknown
 * flags, or as tide_tcp_listen), TIDE_ENOMEM, TIDE_ENOSYS (flags 0 where
 * tide_tcp_listen says so). */
int tide_tcp_listen_ex(tide_loop *loop, const char *host, int port, int backlog,
                       unsigned flags, tide_future *future);
/* Take a socket that is already listening (inherited, as with systemd's socket
 * activation, or handed in by a WASI runtime) as a listener; it is closed with
 * the listener. Returns 0, TIDE_EBADF, TIDE_ENOTSOCK (fd is not a listening
 * stream socket), TIDE_ENOMEM, TIDE_ENOSYS (JS host). */
int tide_tcp_listener_open(tide_loop *loop, int fd, tide_tcp_listener **out_listener);
/* The local port the listener is bound to (the one chosen for port 0); 0 when
 * the host cannot tell (a WASI listener). */
int tide_tcp_listener_port(const tide_tcp_listener *listener);
/* Accept one connection: future completes with PTR (a tide_stream *), or an
 * error such as TIDE_EMFILE (then the connection waits in the backlog), or
 * TIDE_ENOMEM (the connection is kept and handed to the next accept). One accept
 * at a time. Returns 0, TIDE_EBUSY (an accept is pending), TIDE_ECLOSED,
 * TIDE_ENOMEM (nothing changed, the future untouched). */
int tide_tcp_accept(tide_tcp_listener *listener, tide_future *future);
/* Close the listener and its socket: a pending accept completes with
 * TIDE_ECANCELED; the memory is freed from the loop on a later tick. Streams it
 * accepted are not affected. The pointer is invalid after this call. */
void tide_tcp_listener_close(tide_tcp_listener *listener);
/* Connect to host:port (port 1..65535) without blocking the loop. host is a
 * numeric address or a name, resolved as tide_resolve does; the addresses are
 * tried in order until one connects. future completes with PTR (a tide_stream
 * *), or an error: TIDE_ECONNREFUSED, TIDE_ETIMEDOUT, TIDE_ENETUNREACH,
 * TIDE_EHOSTUNREACH, TIDE_EADDRNOTAVAIL, TIDE_ENOTFOUND, ... (the last
 * address's error). Returns 0 (the outcome is in future), TIDE_EINVAL (host NULL
 * or empty, bad port), TIDE_EMFILE, TIDE_ENOMEM (the future untouched),
 * TIDE_ENOSYS (WASI, browsers). */
int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future);

/* --- UDP (native, and the JS host in Node; TIDE_ENOSYS on WASI) -------------
 *
 * A datagram socket bound to a local address. Each send and receive completes a
 * future the caller initialised; sends are queued in order and each datagram
 * goes out whole or not at all; a receive takes exactly one datagram.
 * Natively: non-blocking sockets. On the JS host in Node: node:dgram sockets
 * behind the same calls (src/backend/js/ABI.md, "Sockets"). There open takes a round
 * trip (its future completes later); close frees the port once the host has
 * run it, before any later call of the program reaches the host; a send the
 * host has started cannot be taken back (cancelling it only completes its
 * future); and datagrams that arrive while nobody receives wait in the host
 * (up to 1024 of them or 4 MiB; newer ones past that are dropped) rather than
 * in the kernel's buffer. In a browser tide_udp_open completes its future with
 * TIDE_ENOSYS. Under WASI, which has no datagram sockets in preview1, every
 * call returns TIDE_ENOSYS.
 */
typedef struct tide_udp tide_udp;

/* Bind a datagram socket to host:port (numeric; port 0: an ephemeral port).
 * future completes with PTR (the tide_udp *, the caller's to close) or an error
 * (TIDE_EADDRINUSE, TIDE_EADDRNOTAVAIL, TIDE_EACCES, TIDE_EMFILE); natively it is
 * complete when this returns. The socket is registered with the loop
 * (tide_loop_close says TIDE_EBUSY until it is closed) but keeps the loop alive
 * only while a receive is pending or sends are queued. Returns 0, TIDE_EINVAL,
 * TIDE_ENOMEM, TIDE_ENOSYS. */
int tide_udp_open(tide_loop *loop, const char *host, int port, tide_future *future);
/* The local port the socket is bound to. */
int tide_udp_port(const tide_udp *udp);
/* Send one datagram (len bytes, copied; len <= 65507) to host:port (numeric).
 * future (may be NULL) completes with INT len once the datagram went out, or an
 * error (TIDE_EMSGSIZE, TIDE_ENETUNREACH, ...); a failed send without a future
 * is reported to the loop's error handler. Cancelling a queued send removes
 * it. Returns 0, TIDE_EINVAL (bad address or port, or an address of the other
 * family: an IPv6 socket reaches IPv4 peers at ::ffff:a.b.c.d), TIDE_EMSGSIZE,
 * TIDE_ECLOSED, TIDE_ENOMEM. */
int tide_udp_send(tide_udp *udp, const void *data, size_t len, const char *host, int port,
                  tide_future *future);
/* Receive one datagram of at most max bytes (0: 65536): future completes with
 * BYTES (possibly empty: a zero-length datagram) and, if from is not NULL, the
 * sender's address is stored there before the future completes. A datagram
 * longer than max is dropped and the future completes with TIDE_EMSGSIZE. One
 * receive at a time: TIDE_EBUSY. Returns 0, TIDE_EBUSY, TIDE_ECLOSED,
 * TIDE_ENOMEM. The future may also complete with TIDE_ENOMEM (the datagram is
 * kept for the next receive) or a socket error (TIDE_ECONNREFUSED after an ICMP
 * error, ...); *from is stored for TIDE_EMSGSIZE too. Datagrams that arrive
 * while nobody receives wait in the kernel's buffer (and past it are dropped,
 * as UDP does). */
int tide_udp_recv(tide_udp *udp, size_t max, tide_address *from, tide_future *future);
/* Close now: a pending receive and queued sends complete with TIDE_ECANCELED
 * (sends without a future are dropped unreported); the socket is closed before
 * this returns and the memory is freed from the loop on a later tick. The
 * pointer is invalid after this call. */
void tide_udp_close(tide_udp *udp);

/* --- WebSocket messages (JS host; TIDE_ENOSYS natively and under WASI) -------
 *
 * A browser has no sockets; what it has is WebSocket, a stream of messages. On
 * the JS host (the browser's WebSocket, or Node's where the runtime has one) a
 * C program connects and exchanges whole messages, with the same futures,
 * cancellation and backpressure rules as streams. Natively and under WASI every
 * call returns TIDE_ENOSYS (use TCP there).
 */
typedef struct tide_ws tide_ws;

/* Open a WebSocket to url ("ws://..." or "wss://..."). future completes with
 * PTR (the tide_ws *, the caller's to close) once the handshake is done, or an
 * error: TIDE_ECONNREFUSED (the connection or the handshake failed: a browser
 * tells no more), TIDE_EINVAL (a URL the host refuses), TIDE_ENOSYS (no
 * WebSocket on this host). Cancelling it closes the half-open socket. Returns
 * 0, TIDE_EINVAL (url NULL or empty), TIDE_ENOMEM, TIDE_ENOSYS (native, WASI). */
int tide_ws_connect(tide_loop *loop, const char *url, tide_future *future);
/* Send one message (len bytes, copied): binary != 0 for a binary message, else
 * text (the bytes must then be UTF-8: TIDE_EINVAL if not). Messages go out in
 * order. future (may be NULL) completes with INT len once the host has handed
 * the message to the network (its send buffer drained below a bound), or an
 * error (TIDE_ECLOSED after a close). Returns 0, TIDE_EINVAL, TIDE_ECLOSED,
 * TIDE_ENOMEM. */
int tide_ws_send(tide_ws *ws, const void *data, size_t len, int binary,
                 tide_future *future);
/* Receive the next message: BYTES (a text message's UTF-8) and, if out_binary
 * is not NULL, whether it was binary, stored before the future completes. A
 * message longer than max (0: 1 MiB) completes with TIDE_EMSGSIZE and is
 * dropped. After the peer closes: TIDE_EOF (a normal close, code 1000) or
 * TIDE_ECONNRESET (any other way). Messages that arrive while nobody receives
 * are queued by the host. One receive at a time: TIDE_EBUSY. Returns 0,
 * TIDE_EBUSY, TIDE_ECLOSED, TIDE_ENOMEM. */
int tide_ws_recv(tide_ws *ws, size_t max, int *out_binary, tide_future *future);
/* Close with code 1000: a pending receive completes with TIDE_ECANCELED; future
 * (may be NULL) completes with INT 0 once the closing handshake is done. The
 * pointer is invalid after this call. */
void tide_ws_close(tide_ws *ws, tide_future *future);

/* ------------------------------------------------------------------------ */
/* Subprocesses (native, and the JS host in Node; TIDE_ENOSYS elsewhere)     */
/* ------------------------------------------------------------------------ */

/* asyncio's create_subprocess_exec and libuv's uv_spawn: start a program from
 * an argument vector (never through a shell: to run a command line, spawn
 * {"/bin/sh", "-c", line, NULL}), talk to it through its standard streams, and
 * await its exit.
 *
 *   tide_process_options o = {0};          // every stream inherited
 *   const char *argv[] = {"sort", "-u", NULL};
 *   o.argv = argv;
 *   o.stdio[0].mode = TIDE_STDIO_PIPE;     // tide_process_stdin(p) writes to it
 *   o.stdio[1].mode = TIDE_STDIO_PIPE;     // tide_process_stdout(p) reads it
 *   tide_process_spawn(loop, &o, &f->spawned);
 *   TIDE_AWAIT(t, &f->spawned, f->rc);     // PTR: the tide_process *
 *
 * Natively the child is started with posix_spawn (the library's own fds are all
 * close-on-exec, so the child gets only its three streams and the fds the
 * program left open without FD_CLOEXEC); every signal the child starts with is
 * at its default action and none is blocked. Pipes are Unix stream socket pairs
 * (as in libuv): writing to a child that stopped reading fails with TIDE_EPIPE
 * and never raises SIGPIPE in this process; the child's stdin can be
 * half-closed with tide_stream_shutdown (or closed) to give it end of input.
 * The exit is watched through a pidfd on Linux (epoll- and poll-able), else
 * through SIGCHLD and waitpid() on that one pid (never waitpid(-1), so a
 * program's own children are left alone, and a tide_signal on SIGCHLD keeps
 * working). A child is always reaped: no zombie outlives its exit by more than
 * a loop iteration while the loop runs. Several loops may each have children.
 * On the JS host in Node the same calls go to node:child_process (the host
 * functions "tideloop:process_*" of src/backend/js/ABI.md), and "this process"
 * below is the Node process (its environment, working directory and stdio). In a browser and
 * under WASI, which have no processes, the spawn future completes with
 * TIDE_ENOSYS and a message that names the host (under WASI, at once).
 */
typedef struct tide_process tide_process;

/* What a child's stdin, stdout or stderr is. */
enum {
  TIDE_STDIO_INHERIT = 0, /* this process's own (the default of a zeroed option) */
  TIDE_STDIO_PIPE = 1,    /* a pipe to a tide_stream of this process */
  TIDE_STDIO_NULL = 2,    /* /dev/null */
  TIDE_STDIO_FD = 3       /* the given fd, still the caller's (JS host: 0-2) */
};

/* How options.env applies. */
enum {
  TIDE_ENV_INHERIT = 0, /* this process's environment, env's entries added or
                           replacing those of the same name */
  TIDE_ENV_REPLACE = 1  /* env alone (NULL: an empty environment) */
};

/* POSIX's signal numbers, the same on every host (the JS host's too), so a
 * portable program needs no <signal.h> (which WASI lacks). */
enum { TIDE_SIGHUP = 1, TIDE_SIGINT = 2, TIDE_SIGKILL = 9, TIDE_SIGTERM = 15 };

/* Zero-initialise, then set what differs: {0} is "argv with everything
 * inherited". Strings and arrays are borrowed for the call only. */
typedef struct tide_process_options {
  /* argv[0] is the program: with a '/' it is a path (from cwd), without one it
   * is searched in PATH (the child's PATH when env sets one, as execvpe does).
   * NULL-terminated, at least argv[0]. */
  const char *const *argv;
  /* "NAME=value" entries, NULL-terminated; NULL for none. */
  const char *const *env;
  int env_mode; /* TIDE_ENV_INHERIT or TIDE_ENV_REPLACE */
  const char *cwd; /* the child's working directory; NULL: this process's */
  struct {
    int mode; /* TIDE_STDIO_* */
    int fd;   /* for TIDE_STDIO_FD */
  } stdio[3];
} tide_process_options;

/* Start a child. future (initialised by the caller, pending, with no other
 * producer) completes with PTR, the tide_process * (the caller's: release it
 * with tide_process_release), or with the reason it could not start:
 * TIDE_ENOENT (no such program, or cwd does not exist), TIDE_EACCES (not
 * executable, or cwd not permitted), TIDE_ENOEXEC (not a format the system
 * runs), TIDE_EMFILE, TIDE_EAGAIN (out of processes), TIDE_ENOMEM,
 * TIDE_ENOSYS (a browser, WASI), with a message naming the program. Nothing is left
 * behind by a failed start: no child, no zombie, no fd. Natively the future is
 * complete when this returns (its done callbacks still run from the loop).
 * Returns 0 (the outcome is in future), TIDE_EINVAL (no argv[0], a bad mode or
 * env_mode, a TIDE_STDIO_FD with fd < 0; future untouched), TIDE_ENOMEM
 * (future untouched). */
int tide_process_spawn(tide_loop *loop, const tide_process_options *options,
                       tide_future *future);

/* The child's process id. */
int tide_process_pid(const tide_process *process);
/* The streams of the stdio entries set to TIDE_STDIO_PIPE, NULL for the others.
 * They are the caller's from the spawn on: use and close them (tide_stream_close
 * or tide_stream_abort) as any stream; once closed (or taken by
 * tide_process_communicate) the accessor returns NULL. They outlive the process
 * handle, and tide_process_release does not touch them. */
tide_stream *tide_process_stdin(tide_process *process);
tide_stream *tide_process_stdout(tide_process *process);
tide_stream *tide_process_stderr(tide_process *process);

/* Await the exit: future (the caller's, pending, no other producer) completes
 * with INT, asyncio's returncode: the exit status (0-255), or minus the number
 * of the signal that ended the child (-9 for SIGKILL). Any number of waits may
 * be pending; an exited child's completes at once. Cancelling a wait cancels
 * only the wait: the child runs on (as asyncio). Returns 0, TIDE_EINVAL
 * (future unusable), TIDE_ENOMEM. */
int tide_process_wait(tide_process *process, tide_future *future);
/* 0 and *returncode once the exit has been seen, TIDE_EPENDING before. */
int tide_process_returncode(const tide_process *process, int *returncode);
/* Send signum (TIDE_SIGTERM, TIDE_SIGKILL, ...). Returns 0, TIDE_EINVAL (not a
 * signal number), TIDE_ESRCH (the child has exited: nothing was sent, so a pid
 * the system reused is never signalled), TIDE_EACCES. On the JS host the
 * signal goes through a host call: 0 once it is asked for (TIDE_ESRCH only when
 * C has seen the exit already), and a refusal the host answers later (not
 * permitted) goes to the loop's error handler. */
int tide_process_kill(tide_process *process, int signum);
/* Stop a child politely: TIDE_SIGTERM now, TIDE_SIGKILL if it has not exited
 * grace_ms later. future (as for tide_process_wait; may be NULL) completes with
 * the returncode. The usual way to end a child that timed out or whose
 * awaiting task was cancelled:
 *
 *   TIDE_AWAIT(t, &f->wait_for, f->rc);   // tide_wait_for(wait, 5000, ...)
 *   if (f->rc == TIDE_ETIMEDOUT || f->rc == TIDE_ECANCELED) {
 *     tide_process_stop(f->proc, 2000, &f->stopped);
 *     TIDE_AWAIT(t, &f->stopped, f->rc2);  // cleanup awaits run normally
 *   }
 *
 * Returns 0, TIDE_EINVAL (future unusable), TIDE_ENOMEM. */
int tide_process_stop(tide_process *process, uint64_t grace_ms, tide_future *future);
/* asyncio's communicate(): write input (len bytes, copied; may be 0) to the
 * child's stdin pipe and close it, and read its stdout and stderr pipes to the
 * end, both at once, so a child that fills one while this side drains the
 * other never deadlocks. out and err (each may be NULL; pending, no other
 * producer) complete with BYTES holding everything read from that pipe (from
 * the loop's allocator; tide_future_take_bytes then tide_loop_dealloc), or the
 * first read error. A pipe whose future is NULL is still drained, and what it
 * gives is dropped; one the caller closed already is left alone (its future
 * completes with empty BYTES), so closing stdin to send end of input and then
 * collecting the output works. Input the child does not read (it exits first) is dropped
 * without error. Every pipe communicate uses is closed by it when done: do not
 * use the process's streams after this call. Await the exit separately
 * (tide_process_wait). Returns 0, TIDE_EINVAL (input given but stdin is not a
 * pipe, a future unusable), TIDE_ENOMEM (nothing started). */
int tide_process_communicate(tide_process *process, const void *input, size_t len,
                             tide_future *out, tide_future *err);
/* Let go of the handle. A child that has not exited is killed (TIDE_SIGKILL, as
 * asyncio's transport close does) and reaped in the background: waits still
 * pending complete with its returncode, and the loop stays alive until it is
 * reaped. The pointer is invalid after this call. */
void tide_process_release(tide_process *process);

/* ------------------------------------------------------------------------ */
/* The worker pool: blocking work off the loop                               */
/* ------------------------------------------------------------------------ */

/* asyncio's to_thread / run_in_executor, libuv's uv_queue_work: run a function
 * that blocks (file I/O, a C library without async, heavy computation) on one
 * of the process's worker threads, and complete a future on the loop when it
 * returns. The pool is shared by every loop of the process and by
 * tide_resolve's lookups (which may hold at most half of the threads, so slow
 * name servers never starve the work).
 *
 * On hosts without threads (WASI, the JS host) fn runs on the loop's thread, from
 * a loop callback (one job per callback, in submit order, interleaved with other
 * callbacks as they were scheduled), so a program gets the same results
 * everywhere; the loop does nothing else while fn runs there. A job cancelled
 * before its callback never runs fn; its done still runs, from that callback.
 * tide_work_pool_size() says which: 0 means "no threads, run on the loop". */

/* Runs on a worker thread (or see above). Store the result in *result (it starts
 * as NONE; INT, DOUBLE or PTR: anything else is TIDE_EINVAL, and bytes such a
 * result owns are freed through its priv_free) and return 0, or return a
 * negative TIDE_E* code to complete the future with that error (a positive
 * return is TIDE_EINVAL). */
typedef int (*tide_work_fn)(void *arg, tide_value *result);
/* Runs on the loop's thread once fn will never touch arg again: after fn
 * returned, or when the job was cancelled before it started. */
typedef void (*tide_work_done_fn)(void *arg);

/* Queue fn(arg) for the pool. future (initialised by the caller, pending, of
 * this loop, not a task's, no other producer) completes with fn's result or
 * error, from the loop. Cancelling it before fn starts removes the job (fn
 * never runs); once fn runs it cannot be stopped: the future is CANCELLED at
 * once and fn's result is dropped when it returns. done (may be NULL) runs
 * exactly once, from the loop (never inside tide_future_cancel), when arg is
 * free again: the place to free it. A queued or running job keeps the loop
 * alive, also after its future was cancelled (tide_loop_close is TIDE_EBUSY
 * until done has run). Returns 0, TIDE_EINVAL (fn or future NULL, future
 * already done; the other conditions on future are not checked: breaking them
 * is misuse), TIDE_ENOMEM, TIDE_EAGAIN (natively: no thread could be started
 * at all); on failure nothing runs. */
int tide_work_submit(tide_loop *loop, tide_work_fn fn, tide_work_done_fn done,
                     void *arg, tide_future *future);
/* Threads the pool may run (4 by default, as libuv; the environment variable
 * TIDE_THREADPOOL_SIZE, read once at first use, changes the default: a decimal
 * number from 1 to 1024, anything else is ignored); 0 on hosts without
 * threads. Threads start only as work needs them. */
unsigned tide_work_pool_size(void);
/* Change the pool's size, process-wide, at any time: more threads start as
 * work needs them; surplus threads exit once idle (a running job finishes
 * first). Returns 0, TIDE_EINVAL (0 or more than 1024), TIDE_ENOSYS (no
 * threads on this host, whatever the argument). */
int tide_work_set_pool_size(unsigned threads);

/* ------------------------------------------------------------------------ */
/* Combinators and task groups                                               */
/* ------------------------------------------------------------------------ */

/* asyncio's gather, wait, wait_for, timeout, shield, as_completed and
 * TaskGroup, for the futures and tasks of one loop (a task's inputs are
 * tide_task_future(child)).
 *
 * Rules shared by all of them:
 * - Each combinator completes an output future `out` the caller initialised
 *   with tide_future_init(): pending, of the same loop, not a task's, and with no
 *   other producer. Otherwise the call returns TIDE_EINVAL and changes nothing.
 *   Await it (TIDE_AWAIT(t, &f->out, rc)) or add a done callback. out belongs to
 *   the combinator until it completes: never complete it yourself. Release it as
 *   usual (tide_future_release) when done with it; to use the storage for
 *   another call, tide_future_init() it again first (a released future is not
 *   pending any more, so a call refuses it and leaves its old outcome there).
 * - A call that fails for any other reason (a bad input or flag, TIDE_ENOMEM,
 *   TIDE_EBUSY, ...) returns the error and also completes that usable out with
 *   it ("tide_gather refused the call"; the table's message for TIDE_ENOMEM),
 *   starting nothing and touching no input: so a task that awaits out without
 *   checking the return value gets the error at its await, rather than
 *   waiting forever on an out nobody would complete. To retry, init a fresh out.
 * - Inputs are borrowed: each input future, and a task behind one, must stay
 *   valid (not released) until out has completed (as_completed: until the
 *   iterator is released). The array of pointers is copied during the call.
 * - gather, wait, wait_for and shield allocate their state in one block from
 *   the loop's allocator when they start (TIDE_ENOMEM if that fails: nothing
 *   started, and out holds the error, as above) and free it when out completes; as_completed allocates one block at
 *   init and frees it at release; nothing allocates later. Timeout scopes and
 *   task groups live in caller storage (a group's spawn allocates the task).
 * - out completes from the loop, not inside the call that started it, even when
 *   every input is done already; the exceptions, where there is nothing to wait
 *   for, say "at once" (its done callbacks still run from the loop). Reading out
 *   reads what the combinator handed on; every input's own outcome stays
 *   readable from the input.
 * - Cancellation is never swallowed. Cancelling out (tide_future_cancel(out), or
 *   cancelling the task that awaits it) is a request, as for a task: gather,
 *   wait_for and a task group pass it to their inputs still running and complete
 *   out once those have finished, so cancelled children clean up before the
 *   awaiting task resumes (tide_future_cancel returns 0 and out stays pending
 *   meanwhile). A task with a cancellation pending that awaits such an out passes
 *   the request on the same way and resumes after the inputs finished, with
 *   TIDE_ECANCELED. wait, shield and as_completed cancel no input: their out ends
 *   CANCELLED at once. Releasing a pending out cancels the same way but cannot
 *   wait: out is detached from its inputs at once.
 */

/* --- gather: wait for every input ---------------------------------------------
 *
 *   // frame: tide_task *kid[3]; tide_future *in[3]; tide_future out; int rc; int i;
 *   for (f->i = 0; f->i < 3; f->i++) {
 *     tide_task_spawn(loop, fetch_main, &args[f->i], sizeof args[0], &f->kid[f->i]);
 *     f->in[f->i] = tide_task_future(f->kid[f->i]);
 *   }
 *   tide_future_init(loop, &f->out);
 *   tide_gather(loop, f->in, 3, 0, &f->out);
 *   TIDE_AWAIT(t, &f->out, f->rc);   // 0: all succeeded; else the first failure
 *   tide_future_release(&f->out);
 *   // each outcome: tide_future_result(f->in[i], &v); then tide_task_release(kid[i])
 */
enum {
  /* Cancel the other inputs at the first error instead of collecting every
   * outcome (asyncio.gather's default propagates the first exception at once and
   * leaves the rest running; here out always completes after all finished). */
  TIDE_GATHER_CANCEL_ON_ERROR = 1
};

/* Complete out (no value) once every input has finished:
 * - NONE if each input has a result: read the results from the inputs.
 * - By default (flags 0: collect every outcome), with the first failure in input
 *   order: that input's error (code and message copied) or CANCELLED if that
 *   input was cancelled. No input is cancelled by gather.
 * - TIDE_GATHER_CANCEL_ON_ERROR: the first input to fail with an error (in
 *   completion order) makes gather cancel every other input still running; out
 *   fails with that error once all of them have finished. An input that ends
 *   CANCELLED does not trigger this (as asyncio: cancelling one input does not
 *   cancel the others); out then reports the first failure in input order.
 * - CANCELLED if out was cancelled before it completed: gather cancels every
 *   input still running and completes out once they have all finished,
 *   whatever they ended with.
 * gather awaits each input, so an input's error counts as observed (it is not
 * reported when the input is released); the one handed to out is reported if
 * nobody reads out. n 0: out completes at once with NONE. Returns 0,
 * TIDE_EINVAL (out unusable; futures NULL; an input NULL, of another loop, or
 * out itself; unknown flags), TIDE_ENOMEM. */
int tide_gather(tide_loop *loop, tide_future *const *futures, size_t n, unsigned flags,
                tide_future *out);

/* --- wait: until the first, the first error, or all --------------------------
 *
 *   tide_future *in[2] = {tide_task_future(a), tide_task_future(b)};
 *   tide_wait(loop, in, 2, TIDE_WAIT_FIRST_COMPLETED, 1000, &f->out);
 *   TIDE_AWAIT(t, &f->out, f->rc);
 *   tide_future_result(&f->out, &v);   // v.as.i: how many are done (0: timeout)
 *   if (tide_future_done(in[0])) ...    // the done/pending split of asyncio.wait
 */
typedef enum tide_wait_mode {
  TIDE_WAIT_FIRST_COMPLETED = 1, /* any input finished (any outcome) */
  TIDE_WAIT_FIRST_EXCEPTION = 2, /* any input failed with an error, or all finished */
  TIDE_WAIT_ALL_COMPLETED = 3    /* every input finished */
} tide_wait_mode;

/* Complete out with an INT: the number of inputs done at that moment (see which
 * with tide_future_done), when mode is satisfied or timeout_ms has passed
 * (timeout_ms < 0: no timeout). A timeout is not an error (asyncio.wait): out
 * gets the count, possibly 0. A CANCELLED input does not satisfy
 * FIRST_EXCEPTION. wait neither cancels inputs nor reads their outcomes (an
 * error stays unobserved until you read it). Cancelling out completes it
 * CANCELLED at once. n 0: out completes with 0 on the next tick. Returns 0,
 * TIDE_EINVAL (out unusable, unknown mode, bad inputs as for gather),
 * TIDE_ENOMEM. */
int tide_wait(tide_loop *loop, tide_future *const *futures, size_t n, tide_wait_mode mode,
              int64_t timeout_ms, tide_future *out);

/* --- wait_for: one future with a timeout ------------------------------------
 *
 *   tide_future_init(loop, &f->out);
 *   tide_wait_for(loop, tide_task_future(f->kid), 500, &f->out);
 *   TIDE_AWAIT(t, &f->out, f->rc);  // kid's outcome, or TIDE_ETIMEDOUT (kid was
 *                                   // cancelled and has finished cleaning up)
 */

/* Complete out with fut's outcome. If timeout_ms passes first (timeout_ms < 0:
 * none; 0: at the next tick unless fut is done), fut is cancelled and out
 * completes once fut has finished (a task gets to clean up): with TIDE_ETIMEDOUT
 * if fut ended cancelled, else with the outcome fut ended with: a result that won
 * the race (fut completed in the same iteration as the deadline, or before the
 * cancellation reached it) is never lost.
 * The outcome is copied to out: an INT, DOUBLE or PTR result as is; BYTES,
 * STRING and JSON borrowed (fut keeps owning the bytes: take them from fut, and
 * read them before releasing fut); an error with its code and message (it counts
 * as observed on fut).
 * Cancelling out: if fut is still running it is cancelled and out ends
 * CANCELLED once fut has finished, whatever fut ended with (read fut for that;
 * never turned into TIDE_ETIMEDOUT, also when the deadline passed as well). If
 * fut had finished already, the race is decided: out gets fut's outcome, and a
 * task awaiting out sees it and gets its cancellation at its next await.
 * Returns 0, TIDE_EINVAL (out unusable; fut NULL, of another loop, or out),
 * TIDE_ENOMEM. For a deadline that allocates nothing, use a timeout scope. */
int tide_wait_for(tide_loop *loop, tide_future *fut, int64_t timeout_ms, tide_future *out);

/* --- Timeout scopes: one deadline over a block of awaits (asyncio.timeout) -----
 *
 *   // frame: tide_timeout scope; tide_future *a, *b; int rc;
 *   tide_task_timeout_begin(t, &f->scope, 500);
 *   TIDE_AWAIT(t, f->a, f->rc);
 *   if (f->rc == 0) TIDE_AWAIT(t, f->b, f->rc);
 *   tide_task_timeout_end(t, &f->scope, &f->rc);
 *   if (f->rc == TIDE_ETIMEDOUT) ...    // deadline passed; the task goes on normally
 *   if (f->rc == TIDE_ECANCELED) TIDE_RETURN_ERROR(t, f->rc, NULL); // really cancelled
 */
typedef struct tide_timeout tide_timeout;

/* Open a scope on task (normally the calling coroutine's own) in caller storage
 * (the frame), which must stay put until the scope ends. Allocates nothing. When
 * ms have passed (ms < 0: no deadline until tide_timeout_reschedule), the task is
 * cancelled (tide_task_cancel): the await in progress reports TIDE_ECANCELED, a
 * child task it awaits being cancelled and finishing first. A pending deadline
 * keeps the loop alive. Scopes nest; end them innermost first. */
void tide_task_timeout_begin(tide_task *task, tide_timeout *scope, int64_t ms);
/* Close the scope. If its deadline passed, its cancellation request is withdrawn
 * (tide_task_uncancel); then if *rc is TIDE_ECANCELED and no cancellation of the
 * task older or newer than the scope's is left, *rc becomes TIDE_ETIMEDOUT and the
 * task goes on normally. If another cancellation is pending or was delivered (a
 * real tide_task_cancel, an enclosing scope that expired too), *rc stays
 * TIDE_ECANCELED and the task stays cancelled: the other request is still
 * delivered, never swallowed. If the work finished in the same iteration as the
 * deadline, its outcome stands (*rc is not TIDE_ECANCELED, so it is left alone).
 * rc may be NULL. A coroutine that returns inside open scopes has them closed as
 * if ended. */
void tide_task_timeout_end(tide_task *task, tide_timeout *scope, int *rc);
/* Move the deadline of an open scope to ms from now (ms < 0: none). Returns 0,
 * or TIDE_ESTATE if the scope is not open or its deadline already passed. */
int tide_timeout_reschedule(tide_timeout *scope, int64_t ms);
/* 1 once the deadline has passed and cancelled the task (also after end). */
int tide_timeout_expired(const tide_timeout *scope);

/* --- shield: protect a future from the cancellation of its awaiter ------------
 *
 *   tide_shield(loop, tide_task_future(f->commit), &f->out);
 *   TIDE_AWAIT(t, &f->out, f->rc);  // if this task is cancelled, rc is
 *                                   // TIDE_ECANCELED at once, commit goes on
 */

/* Complete out with inner's outcome (copied as wait_for does), but cancelling
 * out does not cancel inner: out ends CANCELLED at once and inner keeps running
 * (asyncio.shield). Releasing out likewise leaves inner alone. Keep your own
 * hold on inner (a task's reference) to see how it ends. Returns 0, TIDE_EINVAL
 * (out unusable; inner NULL, of another loop, or out), TIDE_ENOMEM. */
int tide_shield(tide_loop *loop, tide_future *inner, tide_future *out);

/* --- as_completed: the inputs in the order they finish -----------------------
 *
 *   // frame: tide_as_completed it; tide_future next; tide_future *in[4]; ...
 *   tide_as_completed_init(loop, &f->it, f->in, 4);
 *   while (tide_as_completed_left(&f->it) > 0) {
 *     tide_future_init(loop, &f->next);
 *     tide_as_completed_next(&f->it, &f->next);
 *     TIDE_AWAIT(t, &f->next, f->rc);  // TIDE_ECANCELED if this task is cancelled
 *     if (f->rc == 0) { tide_future_result(&f->next, &v); done = v.as.p; ... }
 *     tide_future_release(&f->next);
 *     if (f->rc != 0) break;
 *   }
 *   tide_as_completed_release(&f->it);
 */
typedef struct tide_as_completed tide_as_completed;

/* Start watching n inputs (the array is copied) in caller storage, which must
 * stay put until tide_as_completed_release. Returns 0, TIDE_EINVAL (bad inputs
 * as for gather), TIDE_ENOMEM (one block for the n inputs). */
int tide_as_completed_init(tide_loop *loop, tide_as_completed *it,
                           tide_future *const *futures, size_t n);
/* out completes with a PTR value, the next input to finish (in completion
 * order; inputs already done come first, in input order): read its outcome from
 * it. If one has finished already and not been handed out, out completes at
 * once. Returns 0; TIDE_ENOENT when every input has been handed out;
 * TIDE_EBUSY while the out of the previous call is pending; TIDE_EINVAL (out
 * unusable). On ENOENT and EBUSY, out completes with that error (see above). Cancelling out ends it CANCELLED at once, and the
 * input it would have received goes to the next call: none is lost. */
int tide_as_completed_next(tide_as_completed *it, tide_future *out);
/* Inputs not handed out yet (as_completed's remaining iterations). */
size_t tide_as_completed_left(const tide_as_completed *it);
/* Stop watching: a pending next's out is cancelled; the inputs are left running
 * and untouched. Frees the block; the storage may be reused. */
void tide_as_completed_release(tide_as_completed *it);

/* --- Task groups: structured concurrency (asyncio.TaskGroup) ------------------
 *
 *   // frame: tide_task_group g; tide_future out; int rc;
 *   tide_task_group_init(tide_task_loop(t), &f->g);      // this task is the parent
 *   tide_task_group_spawn(&f->g, worker_main, &a, sizeof a, NULL);
 *   tide_task_group_spawn(&f->g, worker_main, &b, sizeof b, NULL);
 *   ... the parent's own awaits ...
 *   tide_future_init(tide_task_loop(t), &f->out);
 *   tide_task_group_wait(&f->g, &f->out);
 *   TIDE_AWAIT(t, &f->out, f->rc);  // after every child finished: 0, the first
 *                                   // error ("2 of 2 tasks failed; ..."), or
 *                                   // TIDE_ECANCELED if this task was cancelled
 *   tide_future_release(&f->out);
 *   tide_task_group_release(&f->g);  // always, before the parent returns
 *   if (f->rc) TIDE_RETURN_ERROR(t, f->rc, NULL);
 *
 * The first child to fail with an error (a child that ends CANCELLED is not a
 * failure) makes the group cancel every other child still running, and refuse
 * new spawns. If the parent (the task that initialised the group) has not
 * called tide_task_group_wait yet, it is cancelled too, so that its await in
 * progress ends with TIDE_ECANCELED and it reaches the wait soon; the group
 * withdraws that request of its own when the parent calls wait
 * (tide_task_uncancel), so only a cancellation from elsewhere stays.
 */
typedef struct tide_task_group tide_task_group;

/* Initialise a group in caller storage (normally the parent's frame), which
 * must stay put until tide_task_group_release. The task running now (NULL
 * outside any task) becomes its parent, and must not end before the group is
 * released. Infallible; the loop refuses to close until the group is released. */
void tide_task_group_init(tide_loop *loop, tide_task_group *group);
/* Spawn a child, as tide_task_spawn (frame copied from init_frame, first step on
 * the next tick). The group holds the child. With out_task, *out_task is a
 * borrowed pointer to it, valid until tide_task_group_release (the group keeps
 * the finished child until then, so its result can be read); without, the
 * group frees a child that ends well at once. Children may spawn into their
 * own group. Returns 0, TIDE_ESTATE (the group is shutting down after a
 * failure or a cancellation, or its wait has completed), TIDE_EINVAL (fn NULL),
 * TIDE_ENOMEM. */
int tide_task_group_spawn(tide_task_group *group, tide_task_fn fn, const void *init_frame,
                          size_t frame_size, tide_task **out_task);
/* Complete out once every child has finished (children spawned meanwhile
 * included), at once if none is running:
 * - NONE if no child failed;
 * - the first child's error (code) with a message naming how many failed,
 *   "task group: 2 of 3 tasks failed; first (task-4): <its message>"; each
 *   error stays readable with tide_task_group_error();
 * - CANCELLED if out was cancelled (or the task awaiting it was: the group
 *   cancels every child and completes out after they have finished, even if some
 *   failed meanwhile), or if the parent calls wait with a cancellation of its
 *   own pending or delivered (its body was cancelled: the children are cancelled
 *   as well). The cancellation of the waiting task is never swallowed.
 * Call it once. Returns 0, TIDE_EINVAL (out unusable), TIDE_ESTATE (called
 * before). */
int tide_task_group_wait(tide_task_group *group, tide_future *out);
/* How many children failed with an error so far. */
size_t tide_task_group_error_count(const tide_task_group *group);
/* The index-th failure, in the order they happened: any of out_code, out_message
 * (borrowed until release) and out_task may be NULL. Reading it marks that error
 * observed. Returns 0 or TIDE_ENOENT (index out of range). */
int tide_task_group_error(tide_task_group *group, size_t index, int *out_code,
                          const char **out_message, tide_task **out_task);
/* Release the group and every child it holds. Call it after the wait completed;
 * children still running (a parent that skipped the wait) are cancelled and
 * detached (they free themselves; their errors go to the loop's error handler),
 * a pending wait's out ends CANCELLED. A failed child's error that nobody
 * observed (the wait's out ended CANCELLED and tide_task_group_error was not
 * called) is reported to the loop's error handler here: no error is lost. */
void tide_task_group_release(tide_task_group *group);

/* ------------------------------------------------------------------------ */
/* Synchronization primitives                                                */
/* ------------------------------------------------------------------------ */

/* asyncio's Event, Lock, Semaphore, BoundedSemaphore, Condition, Queue and
 * Barrier for the tasks of one loop. Like the rest of the loop they are not
 * thread-safe: use them from the loop's thread.
 *
 * Rules shared by all of them:
 * - A primitive lives in caller storage between tide_<kind>_init() and
 *   tide_<kind>_destroy() ("release" is the unlock verb of locks and semaphores,
 *   so the end of life is "destroy" here) and must not move in between. Nothing
 *   allocates except a queue, which grows its item storage as needed.
 * - A wait operation (tide_event_wait, tide_lock_acquire, tide_queue_get, ...)
 *   takes a future the caller initialised with tide_future_init(): pending, of
 *   the same loop, not a task's and with no other producer. The call returns 0
 *   when it took the future, which then completes exactly once: with success
 *   when the wait is over (at once when the resource is free: the future is done
 *   before the call returns and TIDE_AWAIT does not suspend; done callbacks still
 *   run from the loop), or with an error (TIDE_ECLOSED: the queue was shut down,
 *   the barrier broken, the primitive destroyed). Any other return (TIDE_EINVAL
 *   for an unusable future, TIDE_ESTATE, TIDE_ENOMEM) leaves the future untouched
 *   and the primitive unchanged.
 * - The future belongs to the primitive until it completes: never complete it
 *   yourself. To stop waiting, cancel it (tide_future_cancel) or cancel the task
 *   awaiting it: the waiter leaves the queue, takes nothing, and the primitive
 *   stays consistent (the next waiter is served, counts stay right). Releasing
 *   a pending waiter's future does the same.
 * - Waiters are served in FIFO order, and a freed resource is handed directly to
 *   the first waiter (its future completes with success), so a caller arriving
 *   later never barges ahead of the queue.
 * - The result that won the race (see tide_task_cancel): once a waiter's future
 *   has completed with success, what it got is its owner's, even if the awaiting
 *   task is cancelled before it resumes. The await then reports 0 (the
 *   cancellation stays pending for the next suspension point) and the coroutine
 *   must give back what it got: rc == 0 from an acquire means "you hold it",
 *   any other rc means "you do not" (tide_condition_wait is the exception: it
 *   always returns holding the lock). A task whose cancellation was requested
 *   and not yet delivered that calls a wait operation takes nothing: its future
 *   is cancelled at once.
 *
 *   struct worker { tide_lock *lock; tide_future f; int rc; };
 *
 *   static int worker_main(tide_task *t, void *frame) {
 *     struct worker *w = frame;
 *     TIDE_BEGIN(t);
 *     tide_future_init(tide_task_loop(t), &w->f);
 *     tide_lock_acquire(w->lock, &w->f);
 *     TIDE_AWAIT(t, &w->f, w->rc);
 *     tide_future_release(&w->f);
 *     if (w->rc != 0) TIDE_RETURN_ERROR(t, w->rc, "no lock"); // not held
 *     TIDE_SLEEP(t, 10, w->rc);     // the critical section; may be cancelled
 *     tide_lock_release(w->lock);   // released whatever rc says
 *     TIDE_END(t);
 *   }
 */

/* --- Event: a flag tasks can wait for --------------------------------------
 *
 *   tide_event ready;  tide_event_init(loop, &ready);
 *   // waiters:  tide_event_wait(&ready, &f->fut); TIDE_AWAIT(t, &f->fut, rc);
 *   // producer: tide_event_set(&ready);   -> every waiter resumes, FIFO order
 */
typedef struct tide_event tide_event;

/* A cleared event. */
void tide_event_init(tide_loop *loop, tide_event *event);
/* Fail pending waiters with TIDE_ECLOSED; the storage may be reused. */
void tide_event_destroy(tide_event *event);
/* Set the flag and complete every waiter (no value), in the order they came;
 * waits started while it stays set complete at once. Idempotent. */
void tide_event_set(tide_event *event);
/* Clear the flag: later waits wait for the next set. */
void tide_event_clear(tide_event *event);
int tide_event_is_set(const tide_event *event);
/* future completes (no value) when the event is set; at once if it is set now.
 * Returns 0 or TIDE_EINVAL. */
int tide_event_wait(tide_event *event, tide_future *future);

/* --- Lock: mutual exclusion between tasks ------------------------------------
 *
 * Not owned by a task: any code may release it (asyncio's rule); releasing an
 * unlocked lock is refused. See the example at the top of this section. */
typedef struct tide_lock tide_lock;

/* An unlocked lock. */
void tide_lock_init(tide_loop *loop, tide_lock *lock);
/* Fail pending acquires with TIDE_ECLOSED; the storage may be reused. */
void tide_lock_destroy(tide_lock *lock);
/* future completes (no value) once the lock is the caller's: at once if it is
 * unlocked and nobody waits, else when every earlier waiter had its turn.
 * Returns 0 or TIDE_EINVAL. */
int tide_lock_acquire(tide_lock *lock, tide_future *future);
/* Take the lock without waiting: 0, or TIDE_EAGAIN if it is locked. */
int tide_lock_try_acquire(tide_lock *lock);
/* Unlock, or hand the lock to the first waiter (which then holds it: the lock
 * stays locked). Returns 0, or TIDE_ESTATE if it is not locked. */
int tide_lock_release(tide_lock *lock);
int tide_lock_locked(const tide_lock *lock);

/* --- Semaphore and BoundedSemaphore -----------------------------------------
 *
 *   tide_semaphore slots;  tide_semaphore_init(loop, &slots, 3); // 3 at a time
 *   // each task: tide_semaphore_acquire(&slots, &f->fut); TIDE_AWAIT(...);
 *   //            if (rc == 0) { ...work...; tide_semaphore_release(&slots); }
 */
typedef struct tide_semaphore tide_semaphore;

/* A semaphore with value permits; release may add permits beyond it. */
void tide_semaphore_init(tide_loop *loop, tide_semaphore *sem, unsigned value);
/* A bounded semaphore: a release that would raise the value above the initial
 * one is refused with TIDE_ERANGE (it catches releases without acquires). */
void tide_semaphore_init_bounded(tide_loop *loop, tide_semaphore *sem, unsigned value);
/* Fail pending acquires with TIDE_ECLOSED; the storage may be reused. */
void tide_semaphore_destroy(tide_semaphore *sem);
/* future completes (no value) with one permit taken: at once if the value is
 * above 0 and nobody waits. Returns 0 or TIDE_EINVAL. */
int tide_semaphore_acquire(tide_semaphore *sem, tide_future *future);
/* Take a permit without waiting: 0, or TIDE_EAGAIN if none is free. */
int tide_semaphore_try_acquire(tide_semaphore *sem);
/* Give a permit back: to the first waiter if any, else to the value. Returns 0,
 * or TIDE_ERANGE (bounded: above the initial value; unbounded: UINT_MAX). */
int tide_semaphore_release(tide_semaphore *sem);
/* Free permits now. */
unsigned tide_semaphore_value(const tide_semaphore *sem);
/* 1 if an acquire would wait. */
int tide_semaphore_locked(const tide_semaphore *sem);

/* --- Condition: wait for a state change under a lock -------------------------
 *
 * wait releases the lock and re-acquires it before its future completes, so the
 * coroutine always resumes holding the lock, whatever rc says: also when the
 * wait was cancelled (rc TIDE_ECANCELED: as asyncio, the lock is taken back
 * first; cancelling the future therefore leaves it pending until then). The
 * exceptions: TIDE_ECLOSED (the condition or its lock was destroyed) and a
 * future released while pending. Re-check the state after waking (the loop
 * below is asyncio's wait_for(predicate)):
 *
 *   // frame: tide_condition *cond; tide_future fut; int rc; ...
 *   tide_future_init(loop, &f->fut);
 *   tide_lock_acquire(tide_condition_lock(f->cond), &f->fut);
 *   TIDE_AWAIT(t, &f->fut, f->rc);
 *   tide_future_release(&f->fut);
 *   if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, NULL);
 *   while (!f->state->ready && f->rc == 0) {
 *     tide_future_init(loop, &f->fut);
 *     tide_condition_wait(f->cond, &f->fut);
 *     TIDE_AWAIT(t, &f->fut, f->rc);        // the lock is held again here
 *     tide_future_release(&f->fut);
 *   }
 *   ... use the state ...
 *   tide_lock_release(tide_condition_lock(f->cond));
 *
 *   // the producer, holding the lock: state->ready = 1;
 *   // tide_condition_notify_all(cond); tide_lock_release(tide_condition_lock(cond));
 */
typedef struct tide_condition tide_condition;

/* A condition over lock, or over a lock of its own if lock is NULL. */
void tide_condition_init(tide_loop *loop, tide_condition *cond, tide_lock *lock);
/* Fail pending waits with TIDE_ECLOSED (their owners do not hold the lock) and
 * destroy the condition's own lock; a given lock is left alone. */
void tide_condition_destroy(tide_condition *cond);
/* The associated lock: acquire and release it with the tide_lock_* calls. */
tide_lock *tide_condition_lock(tide_condition *cond);
/* The caller holds the lock: release it, wait for a notify, re-acquire it, then
 * complete future (no value; TIDE_ECANCELED if it was cancelled meanwhile, still
 * with the lock held). Returns 0, TIDE_EINVAL, or TIDE_ESTATE if the lock is not
 * locked. A task with a cancellation pending gets TIDE_ECANCELED at once and
 * keeps the lock. */
int tide_condition_wait(tide_condition *cond, tide_future *future);
/* Wake up to n waiters (FIFO): each queues for the lock, behind the lock's
 * current waiters. The caller must hold the lock. Returns how many were woken,
 * or TIDE_ESTATE if the lock is not locked. */
int tide_condition_notify(tide_condition *cond, size_t n);
/* Wake every waiter: as tide_condition_notify(cond, SIZE_MAX). */
int tide_condition_notify_all(tide_condition *cond);

/* --- Queue: FIFO, LIFO or priority; bounded or not ---------------------------
 *
 * Items are void pointers the caller owns: the queue stores and hands them over
 * and never looks at them. A PRIORITY queue gives the item with the lowest
 * priority number first, and equal priorities in the order they were put; FIFO
 * and LIFO keep the priority only to give it back from tide_queue_get_nowait.
 *
 *   tide_queue q;  tide_queue_init(loop, &q, TIDE_QUEUE_FIFO, 16); // 16 max
 *   // producer: tide_queue_put(&q, job, 0, &f->fut); TIDE_AWAIT(t, &f->fut, rc);
 *   //           (waits while 16 items are queued; rc TIDE_ECLOSED after shutdown)
 *   // consumer: tide_queue_get(&q, &f->fut); TIDE_AWAIT(t, &f->fut, rc);
 *   //           if (rc == 0) { tide_future_result(&f->fut, &v); job = v.as.p;
 *   //                          ...; tide_queue_task_done(&q); }
 *   // main:     tide_queue_join(&q, &f->fut) completes when every item put was
 *   //           marked done; tide_queue_shutdown(&q, 0) then ends the consumers.
 */
typedef enum tide_queue_kind {
  TIDE_QUEUE_FIFO = 0,
  TIDE_QUEUE_LIFO = 1,
  TIDE_QUEUE_PRIORITY = 2
} tide_queue_kind;

/* Called for each item the queue discards (tide_queue_shutdown(q, 1), destroy). */
typedef void (*tide_queue_drop_fn)(void *item, void *ud);

typedef struct tide_queue tide_queue;

/* An empty queue holding at most maxsize items (0: no limit). Allocates nothing
 * yet. Returns 0 or TIDE_EINVAL (unknown kind). */
int tide_queue_init(tide_loop *loop, tide_queue *queue, tide_queue_kind kind,
                    size_t maxsize);
/* Set the function that disposes of discarded items (NULL: none). */
void tide_queue_set_drop(tide_queue *queue, tide_queue_drop_fn drop, void *ud);
/* Drop the remaining items, fail pending gets, puts and joins with
 * TIDE_ECLOSED, and free the storage. */
void tide_queue_destroy(tide_queue *queue);
/* Put item: future completes (no value) once the item is in the queue, at once
 * if there is room, else when a get makes room (puts are served FIFO); a get
 * already waiting receives the item directly. After a shutdown it fails with
 * TIDE_ECLOSED and the item stays the caller's (also for a put waiting then).
 * Returns 0, TIDE_EINVAL, TIDE_ENOMEM (the storage could not grow). */
int tide_queue_put(tide_queue *queue, void *item, int priority, tide_future *future);
/* Put without waiting: 0, TIDE_EAGAIN (full), TIDE_ECLOSED (shut down),
 * TIDE_ENOMEM. */
int tide_queue_put_nowait(tide_queue *queue, void *item, int priority);
/* Get the next item: future completes with a PTR value (the item, now the
 * caller's), at once if one is queued, else when one is put (gets are served
 * FIFO). Fails with TIDE_ECLOSED once the queue is shut down and empty.
 * Returns 0 or TIDE_EINVAL. */
int tide_queue_get(tide_queue *queue, tide_future *future);
/* Get without waiting: 0 with *out_item (and *out_priority if not NULL),
 * TIDE_EAGAIN (empty), TIDE_ECLOSED (shut down and empty). */
int tide_queue_get_nowait(tide_queue *queue, void **out_item, int *out_priority);
/* Items queued now (asyncio's qsize), and the limit (0: none). */
size_t tide_queue_size(const tide_queue *queue);
size_t tide_queue_maxsize(const tide_queue *queue);
int tide_queue_empty(const tide_queue *queue);
int tide_queue_full(const tide_queue *queue);
/* Mark one item got earlier as processed. Returns 0, or TIDE_ERANGE if called
 * more often than items were put. */
int tide_queue_task_done(tide_queue *queue);
/* Items put and not yet marked done. */
size_t tide_queue_unfinished(const tide_queue *queue);
/* future completes (no value) when every item put has been marked done: at
 * once if none is unfinished. Returns 0 or TIDE_EINVAL. */
int tide_queue_join(tide_queue *queue, tide_future *future);
/* Shut down (asyncio 3.13): puts fail with TIDE_ECLOSED from now on, waiting
 * puts and gets are woken with TIDE_ECLOSED, and gets fail once the queue is
 * empty. immediate: also discard the queued items now (through the drop
 * function), each counting as done, so a join completes. Idempotent. */
void tide_queue_shutdown(tide_queue *queue, int immediate);
int tide_queue_is_shutdown(const tide_queue *queue);

/* --- Barrier: wait until `parties` tasks arrived -----------------------------
 *
 *   tide_barrier b;  tide_barrier_init(loop, &b, 3);
 *   // each of 3 tasks: tide_barrier_wait(&b, &f->fut); TIDE_AWAIT(t, &f->fut, rc);
 *   //   rc 0: tide_future_result(&f->fut, &v); v.as.i is 0, 1 or 2 (arrival order)
 *
 * When the last party arrives every waiter completes and the barrier is ready
 * for the next round at once. A waiter cancelled before that leaves, and does
 * not count. */
typedef struct tide_barrier tide_barrier;

/* Returns 0 or TIDE_EINVAL (parties 0). */
int tide_barrier_init(tide_loop *loop, tide_barrier *barrier, size_t parties);
/* Fail pending waiters with TIDE_ECLOSED; the storage may be reused. */
void tide_barrier_destroy(tide_barrier *barrier);
/* Arrive and wait: future completes with an INT value, the arrival index in
 * this round (0 for the first, parties - 1 for the last, which completes at
 * once), or fails with TIDE_ECLOSED if the barrier is or becomes broken.
 * Returns 0 or TIDE_EINVAL. */
int tide_barrier_wait(tide_barrier *barrier, tide_future *future);
/* Break the barrier: waiters and every later wait fail with TIDE_ECLOSED until
 * tide_barrier_reset(). */
void tide_barrier_abort(tide_barrier *barrier);
/* Fail the current waiters with TIDE_ECLOSED and start an empty, unbroken round. */
void tide_barrier_reset(tide_barrier *barrier);
size_t tide_barrier_parties(const tide_barrier *barrier);
size_t tide_barrier_n_waiting(const tide_barrier *barrier);
int tide_barrier_broken(const tide_barrier *barrier);

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                               */
/* ------------------------------------------------------------------------ */

/* Besides the error handler (tide_loop_set_error_handler) and the report of
 * errors nobody observed: a debug mode that reports slow callbacks, a task dump,
 * and a trace of task and host-operation events exported as Chrome trace-event
 * JSON (open it in https://ui.perfetto.dev or chrome://tracing).
 *
 *   static int write_file(const char *data, size_t len, void *ud) {
 *     return fwrite(data, 1, len, (FILE *)ud) == len ? 0 : TIDE_EIO;
 *   }
 *   tide_loop_set_debug(loop, 50);        // report callbacks slower than 50 ms
 *   tide_loop_trace_start(loop, 100000);  // keep up to 100000 events
 *   TIDE_SPAWN(loop, worker_main, NULL, sizeof(struct worker), NULL);
 *   tide_loop_run(loop, TIDE_RUN_DEFAULT);
 *   tide_loop_trace_stop(loop);
 *   tide_loop_trace_export(loop, write_file, fopen("trace.json", "w"));
 *   tide_loop_dump_tasks(loop, write_file, stderr); // "worker waiting awaiting=lock ..."
 *
 * A size build (CMake -DTIDE_SIZE=ON, the JS host's smallest modules;
 * README.md, "The size build") compiles all of this out: tide_loop_set_debug
 * (with a threshold other than 0), tide_loop_dump_tasks, tide_loop_trace_start
 * and tide_loop_trace_export return TIDE_ENOSYS, and tide_loop_trace_counts
 * reports 0 and 0. The error handler and the report of unobserved errors stay. */

/* Receives output in pieces; return 0 to go on, anything else to stop (the
 * writing function then returns that value). */
typedef int (*tide_write_fn)(const char *data, size_t len, void *ud);

/* Debug mode: with slow_callback_ms > 0, every ready callback (a task step, a
 * timer, a call_soon, a done callback) that runs slow_callback_ms or longer is
 * reported to the error handler with context "slow callback", code
 * TIDE_ETIMEDOUT, the task (if it was a task's step and the task still lives;
 * the message names it in any case) and a message such as
 * "task 'fetch' step took 120 ms (threshold 50 ms)". Measuring costs one clock
 * read per callback, and nothing when off. 0 turns it off. Returns 0 or
 * TIDE_ENOMEM (the first call allocates a small state, freed at loop close). */
int tide_loop_set_debug(tide_loop *loop, uint32_t slow_callback_ms);

/* tide_task_spawn that records where the task was created, for the task dump;
 * TIDE_SPAWN passes the caller's file and line. file must stay valid as long as
 * the task (a string literal such as __FILE__). */
int tide_task_spawn_at(tide_loop *loop, tide_task_fn fn, const void *init_frame,
                       size_t frame_size, tide_task **out_task, const char *file,
                       int line);
#define TIDE_SPAWN(loop, fn, init_frame, frame_size, out_task)                   \
  tide_task_spawn_at((loop), (fn), (init_frame), (frame_size), (out_task),       \
                     __FILE__, __LINE__)

/* Write one line per live task, oldest first:
 *   "<name> <state> awaiting=<what> created=<file>:<line>\n"
 * state: new (not started), ready, running, sleeping, waiting, done, failed,
 * cancelled. what: none, sleep, task:<name>, lock, event, semaphore,
 * condition, queue-get, queue-put, queue-join, barrier, or future (any other).
 * created is "?" for a task spawned without TIDE_SPAWN. Allocates nothing.
 * Returns 0 or what write_fn returned to stop. */
int tide_loop_dump_tasks(tide_loop *loop, tide_write_fn write_fn, void *ud);

/* Start recording a trace into a buffer of max_events events (from the loop's
 * allocator; about 64 bytes each), discarding any earlier trace. Recorded: task
 * spawn and finish (a slice per task's life), each step (a slice), await,
 * sleep, wake and cancel (instants), and host operations (a slice from start to
 * complete or cancel). Tasks and operations started before the trace get no
 * life slice, so every slice that ends also begins in the trace. Once the
 * buffer is full later events are counted as dropped, not recorded (the oldest
 * are kept). Each event costs a clock read; nothing is done while off.
 * Returns 0, TIDE_EINVAL (max_events 0), TIDE_ENOMEM (the earlier trace, if any,
 * stays as it was). */
int tide_loop_trace_start(tide_loop *loop, size_t max_events);
/* Stop recording; the events stay for export until the next start or the
 * loop's close. */
void tide_loop_trace_stop(tide_loop *loop);
/* Events recorded and dropped so far (0 and 0 before any start). */
void tide_loop_trace_counts(const tide_loop *loop, size_t *out_recorded,
                            size_t *out_dropped);
/* Write the trace as Chrome trace-event JSON: {"traceEvents":[...]}, pid 1, one
 * track (tid) per task named after it (tid = the task's spawn number), one per
 * host-operation slot, ts and dur in microseconds since the start. Works while
 * recording too. Allocates nothing. Returns 0, TIDE_ESTATE (never started), or
 * what write_fn returned to stop. */
int tide_loop_trace_export(tide_loop *loop, tide_write_fn write_fn, void *ud);

/* ------------------------------------------------------------------------ */
/* Host operations and exported coroutines (the JS host)                      */
/* ------------------------------------------------------------------------ */

/* Call the host function registered under name (on the JS host:
 * rt.register(name, fn)) with args (copied before this returns). future (caller
 * initialised, pending) completes exactly once: with the function's value
 * (number -> DOUBLE, string -> STRING, Uint8Array -> BYTES, null/undefined ->
 * NONE, anything else -> JSON text), with its thrown error (code: the TIDE_E* its
 * `code` names, else TIDE_EHOST; message: its message), or TIDE_ENOENT if no such
 * function is registered. Cancelling the future aborts the AbortSignal the JS
 * function received; a completion arriving after that is refused.
 * The future belongs to the operation until it completes: complete it only
 * through the host (or cancel it). Returns 0, TIDE_ENOSYS (this host has no host
 * functions: native, WASI), TIDE_EINVAL (a PTR argument, name NULL, or a future
 * that is not pending, is a task's, belongs to another loop or already has a
 * producer), TIDE_ENOMEM. */
int tide_host_call(tide_loop *loop, const char *name, const tide_value *args,
                   size_t nargs, tide_future *future);

/* Make a coroutine callable from the host by name (on the JS host:
 * await rt.call(name, args, {signal})). Each call spawns a task running fn with a
 * zeroed frame of frame_size bytes; it reads its arguments with tide_task_args().
 * Its result resolves the JS promise (INT/DOUBLE -> number, STRING -> string,
 * BYTES -> Uint8Array, JSON -> parsed, NONE -> undefined); its error rejects it
 * with a TideError {code, name, message}; aborting the signal cancels the task.
 * Returns 0, TIDE_EEXIST (name taken), TIDE_EINVAL, TIDE_ENOMEM. */
int tide_export_task(tide_loop *loop, const char *name, tide_task_fn fn,
                     size_t frame_size);
/* The arguments a host call gave this task (none for other tasks): borrowed, valid
 * while the task lives. */
void tide_task_args(const tide_task *task, const tide_value **out_args,
                    size_t *out_count);

/* ------------------------------------------------------------------------ */
/* A portable main                                                           */
/* ------------------------------------------------------------------------ */

/*
 *   static int setup(tide_loop *loop, int argc, char **argv) {
 *     return tide_task_spawn(loop, main_task, NULL, sizeof(struct frame), NULL);
 *   }
 *   TIDE_MAIN(setup)
 *
 * Natively and under WASI this defines main(): make a loop, call setup, run the
 * loop until no referenced work is left, close it, and exit with the code from
 * tide_main_exit() (0 by default; 1 if setup fails or the loop cannot close).
 * Built for the JS host (TIDE_HOST_JS defined), the same source exports the
 * setup for the host's rt.main(argv), which drives the loop without blocking and
 * resolves with the exit code. So one C program runs unchanged on every host.
 * At the end, stdout and stderr are flushed on every host: natively and under
 * WASI by returning from main(); on the JS host when rt.main() resolves (C's
 * stdio buffers, and a last line without its newline).
 * tide_loop_stop() ends the run early: natively and under WASI the loop is then
 * closed at once, so with anything still registered (the task that called
 * stop, until it returns; a sleeping task; an open handle) the close fails and
 * the program exits 1 with a line on stderr saying work was left; stop only
 * where the program is done, or have every task end instead. On the JS host
 * the host keeps driving the loop, and rt.main() resolves once nothing
 * referenced is left. */
typedef int (*tide_main_fn)(tide_loop *loop, int argc, char **argv);
/* Set the program's exit code (the last call wins). */
void tide_main_exit(tide_loop *loop, int code);
int tide_main_exit_code(const tide_loop *loop);
int tide_main_run(int argc, char **argv, tide_main_fn setup);
int tide__js_user_main(tide_loop *loop, int argc, char **argv);

#ifdef TIDE_HOST_JS
#define TIDE_MAIN(setup)                                                         \
  int tide__js_user_main(tide_loop *loop, int argc, char **argv) {               \
    return (setup)(loop, argc, argv);                                            \
  }
#else
#define TIDE_MAIN(setup)                                                         \
  int main(int argc, char **argv) { return tide_main_run(argc, argv, (setup)); }
#endif

#ifdef __cplusplus
}
#endif

/* The layouts of the types above that live in caller storage. */
#include "tide/private.h"

#endif /* TIDE_H */
