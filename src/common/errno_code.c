/* errno_code.c: errno -> TIDE_E*, for glibc and wasi-libc alike (errno_code.h). */
#define _POSIX_C_SOURCE 200809L

#include "errno_code.h"

#include <errno.h>
#include <stddef.h>

#include "tide.h"

/* First match wins. A table, not a switch: EAGAIN and EWOULDBLOCK (and
 * EOPNOTSUPP and ENOTSUP) may be the same number. Error path only, so a linear
 * scan is fine. Names one of the C libraries lacks are guarded. */
static const struct {
  int err;
  int code;
} errno_map[] = {
    {EINVAL, TIDE_EINVAL},
    {EISDIR, TIDE_EINVAL}, /* read() of a directory: the fd cannot be a stream */
    {ENOMEM, TIDE_ENOMEM},
    {EBUSY, TIDE_EBUSY},
    {ECANCELED, TIDE_ECANCELED},
    {ETIMEDOUT, TIDE_ETIMEDOUT},
    {EALREADY, TIDE_EALREADY},
    {EINPROGRESS, TIDE_EPENDING},
    {ENOENT, TIDE_ENOENT},
    {EEXIST, TIDE_EEXIST},
    {EAGAIN, TIDE_EAGAIN},
    {EWOULDBLOCK, TIDE_EAGAIN},
    {EBADF, TIDE_EBADF},
    {EIO, TIDE_EIO},
    {ENOSYS, TIDE_ENOSYS},
    {EOPNOTSUPP, TIDE_ENOSYS},
    {ENOTSUP, TIDE_ENOSYS},
    {EPIPE, TIDE_EPIPE},
#ifdef ESHUTDOWN /* not in wasi-libc */
    {ESHUTDOWN, TIDE_EPIPE},
#endif
    {ECONNRESET, TIDE_ECONNRESET},
    {ECONNABORTED, TIDE_ECONNRESET},
    {ECONNREFUSED, TIDE_ECONNREFUSED},
    {EADDRINUSE, TIDE_EADDRINUSE},
    {ENOTCONN, TIDE_ENOTCONN},
    {EACCES, TIDE_EACCES},
    {EPERM, TIDE_EACCES}, /* both mean "not allowed" to a user of the loop */
#ifdef ENOTCAPABLE /* WASI: the runtime did not grant the right */
    {ENOTCAPABLE, TIDE_EACCES},
#endif
    {ERANGE, TIDE_ERANGE},
    {EOVERFLOW, TIDE_ERANGE},
    {EINTR, TIDE_EINTR},
    {ENOSPC, TIDE_ENOSPC}, /* also: out of a kernel table (epoll watches) */
    {EDQUOT, TIDE_ENOSPC},
    {EFBIG, TIDE_ENOSPC},
    {EMSGSIZE, TIDE_EMSGSIZE},
    {ENETUNREACH, TIDE_ENETUNREACH},
    {ENETDOWN, TIDE_ENETUNREACH},
    {EHOSTUNREACH, TIDE_EHOSTUNREACH},
    {EADDRNOTAVAIL, TIDE_EADDRNOTAVAIL},
    {EAFNOSUPPORT, TIDE_EADDRNOTAVAIL}, /* an IPv6 address on a host without IPv6 */
    {EMFILE, TIDE_EMFILE},
    {ENFILE, TIDE_EMFILE}, /* the same remedy: close descriptors */
    {ENOTSOCK, TIDE_ENOTSOCK},
    {ESRCH, TIDE_ESRCH},
    {ENOEXEC, TIDE_ENOEXEC},
    {ENOTDIR, TIDE_ENOENT}, /* a path through a file: no such entry either */
};

int tide__errno_code(int err) {
  if (err == 0) return 0;
  for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
    if (errno_map[i].err == err) return errno_map[i].code;
  return TIDE_EUNKNOWN;
}
