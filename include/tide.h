/* tide.h: the one public header of tideloop, an asyncio-style event loop in C11.
 *
 * Everything a user needs is declared here: the loop, handles (timers, fd
 * watchers, signals, cross-thread wakeups), one-shot callbacks, futures, stackless
 * tasks with their coroutine macros, and the fixed error table.
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
 *   start of each iteration (tide_loop_now()).
 * - Structures are shown so they can live in caller storage; fields whose names
 *   start with "priv_" are private to the library and may change in any release.
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
 * are the same on every host; backends translate host errors (errno, WASI errno,
 * JS exceptions) into these in exactly one function each. */
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
  X(EMFILE, -32, "too many open files")

enum {
#define TIDE__ERR_ENUM(name, num, msg) TIDE_##name = (num),
  TIDE_ERRNO_MAP(TIDE__ERR_ENUM)
#undef TIDE__ERR_ENUM
  TIDE__ERR_LAST = -32
};

/* "EINVAL" for TIDE_EINVAL; "EUNKNOWN" for a number outside the table. */
const char *tide_err_name(int code);
/* A human-readable message; "unknown error" for a number outside the table. */
const char *tide_strerror(int code);

/* ------------------------------------------------------------------------ */
/* Private building blocks (shown only so objects fit in caller storage)      */
/* ------------------------------------------------------------------------ */

/* Intrusive doubly linked list node; a list head is a node linked to itself. */
typedef struct tide__qnode {
  struct tide__qnode *next;
  struct tide__qnode *prev;
} tide__qnode;

/* Node of the loop's pointer-based timer min-heap (no array to grow). */
typedef struct tide__heap_node {
  struct tide__heap_node *left;
  struct tide__heap_node *right;
  struct tide__heap_node *parent;
} tide__heap_node;

/* Something the loop can run from its ready queue. */
typedef struct tide__runnable {
  tide__qnode link;
  void (*run)(struct tide__runnable *self);
} tide__runnable;

/* An entry in the timer heap; ordered by (deadline, seq). When due, the loop
 * appends `due` to the ready queue. */
typedef struct tide__timer_entry {
  tide__heap_node node;
  uint64_t deadline;
  uint64_t seq;
  tide__runnable *due;
} tide__timer_entry;

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
  tide_alloc_fn alloc; /* NULL: the C library's realloc/free */
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
struct tide_loop {
  tide_alloc_fn priv_alloc;
  void *priv_alloc_ud;
  void *priv_backend; /* the backend's state, allocated by it */
  uint64_t priv_now;
  uint64_t priv_timer_seq;
  tide__heap_node *priv_timer_min;
  size_t priv_timer_count;
  tide__qnode priv_ready; /* work for the next tick */
  tide__qnode priv_tick;  /* what is left of the current tick's snapshot */
  tide__qnode priv_signals;
  tide__qnode priv_asyncs;
  tide__qnode priv_tasks; /* every live task, for the task dump and close */
  unsigned priv_tick_budget;
  unsigned priv_active_refs; /* referenced active handles and calls */
  unsigned priv_registered;  /* handles not closed, tasks not freed, calls queued */
  int priv_stop;
  int priv_running;
  int priv_allocated;
  int priv_async_pending; /* set from other threads with atomics */
  tide_task *priv_current;
  tide_future *priv_dispatching; /* the future whose waiters are being notified */
  tide__qnode *priv_dispatch_batch; /* and the waiters still to notify */
  uint64_t priv_task_seq;
  void *priv_call_free; /* pooled call records: free list */
  void *priv_call_slabs;
  tide_error_handler priv_error_handler;
  void *priv_error_ud;
  void *priv_host; /* host operations and exported tasks (src/host) */
  void (*priv_host_close)(tide_loop *loop); /* frees priv_host at close */
  int priv_exit_code;
};

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
/* The cached time in ms; refreshed once per iteration. */
uint64_t tide_loop_now(const tide_loop *loop);
/* Refresh the cached time now (costs a clock read). */
void tide_loop_update_time(tide_loop *loop);
/* For an embedding host: how long it may wait, in ms, before it must run the loop
 * again. 0 if work is ready, -1 if no timer is pending (wait for I/O only), else
 * the time to the nearest timer (saturated at INT32_MAX). */
int64_t tide_loop_next_timeout(const tide_loop *loop);
/* Replace the error handler; NULL restores the default. */
void tide_loop_set_error_handler(tide_loop *loop, tide_error_handler handler, void *ud);
/* The task whose coroutine is running right now, or NULL. */
tide_task *tide_loop_current_task(const tide_loop *loop);

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
typedef struct tide_call {
  void *priv_record;
  uint32_t priv_gen;
} tide_call;

/* Run fn(loop, ud) from the loop on the next tick, after everything already
 * scheduled. out_call may be NULL. Returns 0 or TIDE_ENOMEM (only when the
 * loop's pool of call records must grow and the allocator fails). */
int tide_call_soon(tide_loop *loop, tide_call_fn fn, void *ud, tide_call *out_call);
/* Run fn after delay_ms (measured from tide_loop_now()). Calls with equal
 * deadlines run in the order they were scheduled. */
int tide_call_later(tide_loop *loop, uint64_t delay_ms, tide_call_fn fn, void *ud,
                    tide_call *out_call);
/* Run fn at the absolute loop time when_ms (a time in the past means "now"). */
int tide_call_at(tide_loop *loop, uint64_t when_ms, tide_call_fn fn, void *ud,
                 tide_call *out_call);
/* Cancel a scheduled call. Returns 0 if it will not run, TIDE_EALREADY if it
 * already ran or was cancelled. */
int tide_call_cancel(tide_loop *loop, tide_call call);

/* ------------------------------------------------------------------------ */
/* Handles: timers, fd watchers, signals, wakeups                            */
/* ------------------------------------------------------------------------ */

typedef void (*tide_close_cb)(tide_handle *handle);

/* The common head of every handle. `data` is the user's; the rest is private. */
struct tide_handle {
  void *data;
  tide_loop *priv_loop;
  unsigned priv_type;
  unsigned priv_flags;
  tide_close_cb priv_close_cb;
  tide__runnable priv_close_run;
};

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

struct tide_timer {
  tide_handle handle; /* first: a tide_timer* converts to tide_handle* */
  tide__timer_entry priv_entry;
  tide__runnable priv_run;
  uint64_t priv_repeat;
  tide_timer_cb priv_cb;
};

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

struct tide_io {
  tide_handle handle;
  int priv_fd;
  unsigned priv_events;  /* requested */
  int priv_backend_slot; /* the backend's bookkeeping (poll: index) */
  tide__qnode priv_link; /* the backend's list of watchers */
  tide_io_cb priv_cb;
};

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

/* --- Byte streams over file descriptors (native and WASI hosts) ------------
 *
 * A stream reads and writes an fd (stdin, stdout, a pipe, a socket) while the
 * loop runs other work. Every operation completes a future that the caller
 * initialised (tide_future_init) and keeps valid until it is done: await it from a
 * task or add a done callback. Cancelling that future (or releasing it while
 * pending) cancels the operation: nothing is lost, since bytes a cancelled read did
 * not deliver stay buffered for the next read.
 *
 * The fd's flags are never changed (a shared terminal stays blocking for the
 * shell after the program exits): a read makes one read() per readiness, and a
 * write to an fd that is not already non-blocking goes out in chunks of at most
 * 512 bytes (POSIX's smallest PIPE_BUF) per readiness, which poll guarantees will
 * not block. Regular files are always ready, as poll(2) treats them.
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
/* Close: a pending read completes with TIDE_ECANCELED, queued writes are still
 * flushed, then the fd is closed (with TIDE_STREAM_CLOSE_FD) and the stream
 * freed. future (may be NULL) completes with the first write error or none.
 * The stream pointer is invalid after this call. */
void tide_stream_close(tide_stream *stream, tide_future *future);

/* --- Cross-thread wakeup --------------------------------------------------- */

typedef void (*tide_async_cb)(tide_async *async);

/* A handle another thread can poke: tide_async_send() is the one thread-safe
 * function in the library (besides tide_strerror/tide_err_name). Sends that
 * arrive before the callback runs are coalesced into one call. */
struct tide_async {
  tide_handle handle;
  tide__qnode priv_link;
  int priv_pending; /* accessed with atomics */
  tide_async_cb priv_cb;
};

/* Active from init; unref it if it must not keep the loop alive. */
int tide_async_init(tide_loop *loop, tide_async *async, tide_async_cb cb);
/* Thread-safe and async-signal-safe. Returns 0, or TIDE_ECLOSED if closing. */
int tide_async_send(tide_async *async);

/* --- POSIX signals (native host; TIDE_ENOSYS elsewhere) --------------------- */

typedef void (*tide_signal_cb)(tide_signal *sig, int signum);

struct tide_signal {
  tide_handle handle;
  tide__qnode priv_link;
  int priv_signum;
  tide_signal_cb priv_cb;
};

int tide_signal_init(tide_loop *loop, tide_signal *sig);
/* Deliver signum as a loop callback. The process-wide handler only records the
 * signal and wakes the loops watching it; cb runs later from each such loop.
 * Several signals of one kind arriving before the callback runs may coalesce.
 * Returns 0, TIDE_EINVAL (bad signum), TIDE_ENOSYS (no signals on this host). */
int tide_signal_start(tide_signal *sig, tide_signal_cb cb, int signum);
void tide_signal_stop(tide_signal *sig);

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

/* Private: what the loop calls when a waiter's future completes. */
typedef struct tide__waiter {
  tide__qnode link;
  void (*notify)(struct tide__waiter *self, tide_future *future);
} tide__waiter;

/* A future: a value that completes exactly once. Lives in caller storage (or
 * comes from tide_future_new()); fields are private. */
struct tide_future {
  tide_loop *priv_loop;
  uint8_t priv_state;
  uint8_t priv_flags;
  int priv_err_code;
  char *priv_err_msg;
  tide_value priv_value;
  tide__qnode priv_waiters;    /* tide__waiter: tasks and done callbacks */
  tide__runnable priv_dispatch; /* queued when done and waiters exist */
  tide_future_cancel_hook priv_cancel_hook;
  void *priv_cancel_ud;
};

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
 * this call, so the work behind the future can be aborted. For a task's future,
 * this requests cancellation of the task (see tide_task_cancel). */
int tide_future_cancel(tide_future *future);

/* For whoever produces the future's value (a stream, a host operation, your
 * own code): hook(future, ud) runs inside tide_future_cancel() (or the release of
 * the pending future), just before it becomes CANCELLED, so the work behind it
 * can be aborted and the future forgotten. One hook per future; NULL removes it.
 * It is dropped when the future completes. */
void tide_future_set_cancel_hook(tide_future *future, tide_future_cancel_hook hook,
                                 void *ud);

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
 * error, if any, is reported); a running one when it finishes. */
void tide_task_release(tide_task *task);
/* The task's future: await it, read its result, add done callbacks. */
tide_future *tide_task_future(tide_task *task);
void *tide_task_frame(tide_task *task);
tide_loop *tide_task_loop(const tide_task *task);
/* Names are copied (truncated to 31 bytes); the default is "task-<n>". */
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
/* 1 if a cancellation was requested and not withdrawn. */
int tide_task_cancelling(const tide_task *task);
/* Withdraw a delivered cancellation, so that the task may end normally (for a
 * coroutine that deliberately handles it, as asyncio's Task.uncancel). */
void tide_task_uncancel(tide_task *task);

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
int tide__task_pc(const tide_task *task);
void tide__task_set_pc(tide_task *task, int pc);
int tide__task_await(tide_task *task, tide_future *future);
int tide__task_sleep(tide_task *task, uint64_t ms);
int tide__task_yield(tide_task *task);
int tide__task_rc(tide_task *task);
int tide__task_finish(tide_task *task, const tide_value *value);
int tide__task_finish_error(tide_task *task, int code, const char *message);

#define TIDE__SUSPEND(t)                                                         \
  do {                                                                           \
    tide__task_set_pc((t), __LINE__);                                            \
    return TIDE__STEP_SUSPEND;                                                   \
    case __LINE__:;                                                              \
  } while (0)

/* Open the coroutine body; must be the first statement after the frame cast. */
#define TIDE_BEGIN(t)                                                            \
  switch (tide__task_pc(t)) {                                                    \
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
    (rc) = tide__task_rc(t);                                                     \
  } while (0)
/* Sleep ms milliseconds (0: yield). rc is 0 or TIDE_ECANCELED. */
#define TIDE_SLEEP(t, ms, rc)                                                    \
  do {                                                                           \
    if (tide__task_sleep((t), (ms))) TIDE__SUSPEND(t);                           \
    (rc) = tide__task_rc(t);                                                     \
  } while (0)
/* Let every other ready callback run, then continue. rc: 0 or TIDE_ECANCELED. */
#define TIDE_YIELD(t, rc)                                                        \
  do {                                                                           \
    if (tide__task_yield(t)) TIDE__SUSPEND(t);                                   \
    (rc) = tide__task_rc(t);                                                     \
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
/* Finish with an error (TIDE_ECANCELED finishes the task cancelled). */
#define TIDE_RETURN_ERROR(t, code, message)                                      \
  return tide__task_finish_error((t), (code), (message))

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

/* --- A portable main --------------------------------------------------------
 *
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
 * resolves with the exit code. So one C program runs unchanged on every host. */
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

#endif /* TIDE_H */
