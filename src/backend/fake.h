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

#ifdef __cplusplus
}
#endif

#endif /* TIDE_FAKE_H */
