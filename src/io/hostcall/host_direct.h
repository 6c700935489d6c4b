/* host_direct.h: direct socket I/O on the JS host: two synchronous imports that
 * read bytes the host already holds and hand bytes to the host, inside the call
 * (src/backend/js/ABI.md, "Direct I/O").
 *
 * Why: a host operation costs a round through JS's promise machinery and a
 * tick before C sees its answer. A socket's bytes that already arrived, and a
 * write the host takes at once (below its high-water mark), need neither: C
 * asks and has the answer when the import returns. What must still wait (no
 * bytes yet, a full send buffer) waits on a host operation that only says
 * "ready" ("tideloop:fd_wait", "tideloop:fd_drain"); it carries no bytes, so
 * nothing is allocated per chunk and a cancelled wait consumes nothing.
 *
 * Only the runtime's own sockets (Node: net.mjs) have a direct path. For any
 * other fd (stdio, a user's own fd_* functions, a browser) the imports answer
 * TIDE_ENOSYS and host_stream.c uses the fd_read / fd_write operations.
 */
#ifndef TIDE_IO_HOST_DIRECT_H
#define TIDE_IO_HOST_DIRECT_H

#include <stddef.h>

#include "tide.h"

/* fd_write_now answers (besides a TIDE_E* < 0): the host took the bytes and has
 * room for more, so the write is done; or it took them but its buffer is past
 * its high-water mark, so the write completes once "tideloop:fd_drain"
 * resolves (backpressure: C's next batch waits for it). */
enum { TIDE__DIRECT_DONE = 0, TIDE__DIRECT_DRAIN = 1 };

/* Copy up to room bytes the host holds for fd to at. Returns the count (> 0);
 * 0 if nothing is there yet (wait with "tideloop:fd_wait"); TIDE_EOF at end of
 * input; the stream's error (TIDE_ECONNRESET, ...), which comes only after
 * every byte before it; TIDE_ENOSYS if fd has no direct path. */
int tide__direct_read(tide_loop *loop, int fd, void *at, size_t room);

/* Hand len bytes at data to the host for fd. Returns TIDE__DIRECT_DONE,
 * TIDE__DIRECT_DRAIN, an error (nothing was taken: the stream's stored error,
 * TIDE_EPIPE once the socket is gone), or TIDE_ENOSYS if fd has no direct
 * path. */
int tide__direct_write(tide_loop *loop, int fd, const void *data, size_t len);

#endif /* TIDE_IO_HOST_DIRECT_H */
