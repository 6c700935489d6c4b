/* fake.h: test controls of the fake backend (fake.c), a virtual clock for exact,
 * fast tests of the core on every host.
 *
 * How the fake behaves (the parts of backend.h it implements its own way):
 * - Time is virtual, in ms, starting at 0; only tide_fake_advance() and polls
 *   move it. tide_loop_now() still shows the time the loop cached last.
 * - A poll first delivers the injected I/O events (each once, in injection
 *   order) and then a pending wakeup (tide_async_send works, from any thread).
 *   If it delivered nothing, a poll with timeout > 0 advances the clock by the
 *   whole timeout (as if it had slept until the next timer); timeout 0 or -1
 *   leaves the clock alone (-1 returns at once instead of blocking forever).
 * - fd watchers are bookkeeping only: no system call, any fd >= 0 is accepted,
 *   and a second watcher on the same fd in one loop gets TIDE_EEXIST.
 * - Signals are not supported (TIDE_ENOSYS).
 * - Reports go to stderr and are also remembered (tide_fake_last_report).
 * - It plays the JS host for host operations: tide_host_call() succeeds and is
 *   recorded (op id, name, the raw value list of its arguments) until the test
 *   completes it with tide_fake_host_complete(); cancellations and the outcomes
 *   of exported coroutines (call_done) are recorded too. Recording uses fixed
 *   storage, never the loop's allocator.
 */
#ifndef TIDE_FAKE_H
#define TIDE_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "tide.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Move the virtual clock forward by ms (saturating). Call tide_loop_update_time
 * or run the loop for the loop's cached time to follow. */
void tide_fake_advance(tide_loop *loop, uint64_t ms);
/* Read the clock as the JS host does (on: 1): an iteration marks the loop's
 * cached time stale instead of reading it, and the first use in the
 * iteration reads it (core: tide__now). And how many times the loop read
 * the fake clock so far. */
void tide_fake_lazy_time(tide_loop *loop, int on);
uint64_t tide_fake_clock_reads(const tide_loop *loop);
/* Report io ready with events at the next poll. events is any non-empty mix of
 * TIDE_READABLE|TIDE_WRITABLE|TIDE_HANGUP|TIDE_IOERROR; at delivery it is masked
 * to what the watcher requested (plus HANGUP/IOERROR, which, like the real
 * backends, also carry the requested bits). Injecting again before the poll adds
 * events (one delivery). Stopping the watcher drops its pending events.
 * Returns 0, TIDE_ESTATE if io is not started, TIDE_EINVAL if events is empty,
 * has unknown bits, or has nothing the watcher could see. */
int tide_fake_io_inject(tide_io *io, unsigned events);
/* How many times the loop polled the backend, and the timeout of the last poll
 * (-1: would block without limit; 0 if it never polled). */
uint64_t tide_fake_poll_count(const tide_loop *loop);
int64_t tide_fake_last_poll_timeout(const tide_loop *loop);
/* Started fd watchers in this loop (0 means nothing left registered). */
size_t tide_fake_io_count(const tide_loop *loop);
/* Lines written with tide__backend_report (the default error handler's output),
 * and the last one ("" if none; truncated to 255 bytes). */
uint64_t tide_fake_report_count(const tide_loop *loop);
const char *tide_fake_last_report(const tide_loop *loop);

/* --- Host operations (the JS host's side, see src/backend/js/ABI.md) ----------------- */

/* Make starting a host operation fail with code (TIDE_ENOSYS: a host without
 * host functions); 0 accepts again. */
void tide_fake_host_fail_calls(tide_loop *loop, int code);
/* Host operations started (accepted by the host). */
uint64_t tide_fake_host_call_count(const tide_loop *loop);
/* The last started operation: its id, name (NUL-terminated, cut at 63 bytes)
 * and arguments as the value list the host received (*out_args_len is the real
 * length; the copy holds the first 1024 bytes). Any out pointer may be NULL; the
 * pointers stay valid until the next host call. 0, or TIDE_ENOENT if none. */
int tide_fake_host_last_op(const tide_loop *loop, uint32_t *out_op, const char **out_name,
                           const void **out_args, size_t *out_args_len);
/* Cancellations the host was told of; whether op is among the latest 64. */
uint64_t tide_fake_host_cancel_count(const tide_loop *loop);
int tide_fake_host_cancelled(const tide_loop *loop, uint32_t op);
/* Complete op as tide_js_complete does: code 0 with a one-item value list, or
 * code < 0 with a UTF-8 message (data, len). The bytes are copied into a buffer
 * from the loop's allocator, which the core takes. Returns what
 * tide__host_complete returns, or TIDE_ENOMEM if the copy cannot be made. */
int tide_fake_host_complete(tide_loop *loop, uint32_t op, int code, const void *data,
                            size_t len);
/* Call the exported coroutine name with a value list of arguments, as
 * tide_js_call does: a call id > 0 or a TIDE_E* (TIDE_ENOMEM also if the copy of
 * the arguments cannot be made). */
int tide_fake_call_task(tide_loop *loop, const char *name, const void *args,
                        size_t args_len);
/* Cancel the task behind call, as tide_js_cancel: 0 or TIDE_ENOENT. */
int tide_fake_cancel_call(tide_loop *loop, uint32_t call);
/* Outcomes of exported coroutines sent to the host, and the last one: its call
 * id, code (0: data is a one-item value list; < 0: data is the message) and
 * bytes (the copy holds the first 1024). 0, or TIDE_ENOENT if none. */
uint64_t tide_fake_call_done_count(const tide_loop *loop);
int tide_fake_call_done_last(const tide_loop *loop, uint32_t *out_call, int *out_code,
                             const void **out_data, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* TIDE_FAKE_H */
