/* host_op.h: what the JS host's I/O files share (host_stream.c, host_tcp.c,
 * host_udp.c, host_ws.c, host_resolve.c): starting a host function on a future
 * with a done callback, and the rule for a host that lacks the function.
 *
 * Every I/O call on this host is a named host function (src/backend/js/ABI.md, "Host
 * functions the runtime provides"). Which functions exist depends on the engine
 * (Node has node:net, a browser does not), and a call to a missing one fails
 * with TIDE_ENOENT ("no such host function"); to the caller of tide_tcp_*,
 * tide_udp_* or tide_ws_* that means the host cannot do it: TIDE_ENOSYS.
 */
#ifndef TIDE_IO_HOST_OP_H
#define TIDE_IO_HOST_OP_H

#include "library_ops.h" /* tide__host_op: start one, with its done callback */
#include "tide.h"

/* A finished host operation's code as the caller sees it: TIDE_ENOENT (the
 * host lacks the function) becomes TIDE_ENOSYS; any other code is unchanged. */
int tide__host_code(int rc);

/* Its message: `unavailable` for a missing function, else the host's own
 * (which names the cause, as Node's messages do). */
const char *tide__host_message(tide_future *f, int rc, const char *unavailable);

#endif /* TIDE_IO_HOST_OP_H */
