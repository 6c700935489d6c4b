/* library_ops.h: host operations the library starts for its own I/O (the JS
 * host's streams, sockets and lookups in src/io/hostcall), as opposed to the
 * user's tide_host_call. This is all src/io/hostcall sees of src/hostops.
 */
#ifndef TIDE_HOSTOPS_LIBRARY_OPS_H
#define TIDE_HOSTOPS_LIBRARY_OPS_H

#include <stddef.h>

#include "tide.h"

/* Initialise f, add cb(f, ud) as its done callback and call host function
 * name with args on it. Returns 0, or an error with f released (nothing
 * started, cb never runs).
 *
 * Unlike a user's future, f notifies cb as soon as the host completes the
 * operation (inside the completion, never inside this call), not a tick
 * later: cb only moves the outcome on to the user's future, so the user's
 * task resumes one dispatch round after the host answered, as with a
 * tide_host_call of its own. A cancellation (release, close) is notified from
 * the loop as usual. */
int tide__host_op(tide_loop *loop, tide_future *f, const char *name,
                  const tide_value *args, size_t nargs, tide_future_cb cb, void *ud);

#endif /* TIDE_HOSTOPS_LIBRARY_OPS_H */
