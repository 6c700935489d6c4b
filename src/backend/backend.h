/* backend.h: THE contract between the portable core and a host backend.
 *
 * The core never includes a host header; everything it needs from the host goes
 * through the functions below, and everything the host tells the core comes back
 * through the tide__loop_* upcalls at the end. The build links exactly one
 * backend: posix/epoll.c or posix/poll.c (with posix/posix_common.c),
 * wasi/wasi.c, js/imports.c (with js/exports.c, the other direction), or
 * fake/fake.c for the tests.
 */
#ifndef TIDE_BACKEND_H
#define TIDE_BACKEND_H

#include "tide.h"

/* Create the backend's state (through tide_loop_alloc) and store it in
 * loop->priv_backend. Returns 0, TIDE_ENOMEM or a translated host error; on
 * failure nothing is left allocated. */
int tide__backend_init(tide_loop *loop);
/* Free everything tide__backend_init made. Only called with no watchers left. */
void tide__backend_close(tide_loop *loop);

/* The host's monotonic clock in milliseconds. */
uint64_t tide__backend_now(tide_loop *loop);
/* The same clock in microseconds, as fine as the host gives it: only the
 * diagnostics read it (slow-callback reports, trace timestamps). */
uint64_t tide__backend_now_us(tide_loop *loop);

/* Wait up to timeout_ms (-1: no limit; 0: do not block) for I/O, a wakeup or a
 * signal, and report each through the upcalls below before returning. Returns 0
 * (also on timeout or EINTR) or a negative TIDE_E* if the host failed.
 * A host that cannot block (js/imports.c: JS owns the real event loop) returns
 * TIDE_EAGAIN when asked to wait (timeout_ms != 0) and nothing was ready;
 * tide_loop_run then ends that iteration and returns TIDE_EAGAIN, so a C caller
 * of DEFAULT or ONCE there gets a code instead of a spinning loop. */
int tide__backend_poll(tide_loop *loop, int64_t timeout_ms);

/* Start, change or stop (events == 0) watching io->priv_fd for events
 * (TIDE_READABLE | TIDE_WRITABLE). Returns 0, TIDE_EBADF, TIDE_EEXIST,
 * TIDE_ENOMEM or TIDE_ENOSYS. Stopping never fails. */
int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events);

/* Interrupt a poll in progress, or make the next poll return at once. Must be
 * thread-safe and async-signal-safe. */
void tide__backend_wakeup(tide_loop *loop);

/* Start/stop delivering signum to this loop (reference counted per signum by
 * the core: start is called for the first watcher, stop for the last).
 * Returns 0, TIDE_EINVAL or TIDE_ENOSYS. */
int tide__backend_signal_start(tide_loop *loop, int signum);
void tide__backend_signal_stop(tide_loop *loop, int signum);

/* Write one line (no trailing newline given) to the host's error stream: the
 * default error handler's output. */
void tide__backend_report(tide_loop *loop, const char *line);

/* --- Host operations (src/hostops), for a host that has host functions (JS) ----
 * Hosts without them (native, WASI) return TIDE_ENOSYS and ignore the rest. */

/* Whether the host reads the arguments vals[0..nvals) of a host call as their
 * encoded value list (src/backend/js/ABI.md). When it does not (the JS host
 * takes up to three numbers as parameters), the caller does not encode them:
 * a round trip's arguments cost no encoding. The JS host works their shape
 * out again in tide__backend_host_call (a few instructions for at most three
 * values), which keeps the value codec out of the backends of the hosts that
 * have no host calls. */
int tide__backend_host_wants_list(const tide_value *vals, size_t nvals);

/* Start operation op: call the host function name (name_len bytes, not
 * NUL-terminated) with the arguments vals[0..nvals), which the caller also
 * encoded as the value list args (args_len bytes; see src/backend/js/ABI.md)
 * if the host wants the list, else args is NULL and args_len 0. Both are
 * borrowed for the call. The host later completes it through
 * tide__host_complete(), never from inside this call. Returns 0 or
 * TIDE_ENOSYS. */
int tide__backend_host_call(tide_loop *loop, uint32_t op, const char *name,
                            size_t name_len, const tide_value *vals, size_t nvals,
                            const void *args, size_t args_len);
/* op was cancelled in C: abort the host's side of it (its future is already
 * cancelled, and a later completion for op will be refused). */
void tide__backend_host_cancel(tide_loop *loop, uint32_t op);
/* The task behind host call `call` (tide__host_call_task) finished: code 0 and
 * a one-item value list, or code < 0 and a UTF-8 message; borrowed for the call. */
void tide__backend_call_done(tide_loop *loop, uint32_t call, int code,
                             const void *data, size_t len);

/* The default allocator (libc realloc/free on every host). */
void *tide__default_alloc(void *ud, void *ptr, size_t size);

/* --- Upcalls: backend -> core (only from inside tide__backend_poll) -------- */

/* io is ready with events (requested ones, plus TIDE_HANGUP/TIDE_IOERROR). */
void tide__loop_io_ready(tide_io *io, unsigned events);
/* A wakeup arrived (tide_async_send from some thread). */
void tide__loop_wakeup_received(tide_loop *loop);
/* signum was raised at least once since the last report. */
void tide__loop_signal_received(tide_loop *loop, int signum);

#endif /* TIDE_BACKEND_H */
