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
 * started, cb never runs). cb runs from the loop a tick after the host
 * answered, as a user's done callback would: between the answer and cb, a
 * cancellation finds the operation done, which the I/O code relies on to keep
 * what the answer brought (an accepted connection, a datagram, a message). */
int tide__host_op(tide_loop *loop, tide_future *f, const char *name,
                  const tide_value *args, size_t nargs, tide_future_cb cb, void *ud);

/* The same, but cb runs as soon as the host completes the operation (inside
 * the completion, never inside this call), not a tick later: for an operation
 * whose cb only moves the outcome on to the user's future (a stream's reads
 * and writes, whose bytes are buffered whatever the user does meanwhile), so
 * the user's task resumes one dispatch round after the host answered, as with
 * a tide_host_call of its own. A cancellation (release, close) is notified
 * from the loop as usual. */
int tide__host_op_direct(tide_loop *loop, tide_future *f, const char *name,
                         const tide_value *args, size_t nargs, tide_future_cb cb,
                         void *ud);

#endif /* TIDE_HOSTOPS_LIBRARY_OPS_H */
