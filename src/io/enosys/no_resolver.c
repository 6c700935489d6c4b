/* no_resolver.c: tide_resolve's lookup where the host has no resolver and no
 * sockets to ask a DNS server with (WASI preview1): "localhost" is the loopback
 * (resolve.c), numeric addresses were answered before, and any other name fails
 * the future with TIDE_ENOSYS and a message that says so. */
#include "resolve.h"

int tide__resolve_lookup(tide_loop *loop, const char *host, int family,
                         tide_future *future) {
  int rc = tide__resolve_localhost(loop, host, family, future);
  if (rc != TIDE_ENOENT) return rc;
  tide__resolve_fail(future, TIDE_ENOSYS, host,
                     "no name resolution under WASI (numeric addresses and "
                     "localhost only)");
  return 0;
}
