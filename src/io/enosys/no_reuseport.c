/* no_reuseport.c: tide_tcp_listen_ex where listeners cannot share a port (WASI
 * preview1 makes no sockets at all; Node 20's net.Server has no reusePort). The
 * flag is refused, never ignored: a server that asked for one listener per
 * loop must not end up with all its connections on one loop without knowing.
 * Without flags it is tide_tcp_listen, whatever that does on this host. */
#include <assert.h>

#include "tide.h"

#ifdef TIDE_HOST_JS
#define NO_REUSEPORT "TIDE_TCP_REUSEPORT: not on the JS host (Node's net has no reusePort)"
#else
#define NO_REUSEPORT "TIDE_TCP_REUSEPORT: not under WASI (preview1 cannot make sockets)"
#endif

int tide_tcp_listen_ex(tide_loop *loop, const char *host, int port, int backlog,
                       unsigned flags, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if ((flags & ~(unsigned)TIDE_TCP_REUSEPORT) != 0) return TIDE_EINVAL;
  if (flags == 0) return tide_tcp_listen(loop, host, port, backlog, future);
  return tide_future_set_error(future, TIDE_ENOSYS, NO_REUSEPORT);
}
