/* fd_errno.c: the errno values read() and write() report, as TIDE_E* codes.
 *
 * The backends have their own translation (posix_common.c, wasi.c), but a
 * stream runs above every backend and calls libc itself, so it needs one that
 * builds with glibc and wasi-libc alike: only errno names both define.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>

#include "fd_stream.h"

/* A table, not a switch: EAGAIN and EWOULDBLOCK may be the same number. */
static const struct {
  int err;
  int code;
} map[] = {
    {EPIPE, TIDE_EPIPE},
    {ECONNRESET, TIDE_ECONNRESET},
    {ECONNABORTED, TIDE_ECONNRESET},
    {ENOTCONN, TIDE_ENOTCONN},
    {EBADF, TIDE_EBADF},
    {EIO, TIDE_EIO},
    {EAGAIN, TIDE_EAGAIN},
    {EWOULDBLOCK, TIDE_EAGAIN},
    {EINTR, TIDE_EINTR},
    {EINVAL, TIDE_EINVAL},
    {EISDIR, TIDE_EINVAL}, /* read() of a directory: the fd cannot be a stream */
    {ENOMEM, TIDE_ENOMEM},
    {ENOSPC, TIDE_ENOSPC},
    {EDQUOT, TIDE_ENOSPC},
    {EFBIG, TIDE_ENOSPC},
    {EACCES, TIDE_EACCES},
    {EPERM, TIDE_EACCES},
    {ETIMEDOUT, TIDE_ETIMEDOUT},
    {EMSGSIZE, TIDE_EMSGSIZE},
    {ENETUNREACH, TIDE_ENETUNREACH},
    {ENETDOWN, TIDE_ENETUNREACH},
    {EHOSTUNREACH, TIDE_EHOSTUNREACH},
    {EMFILE, TIDE_EMFILE}, /* accept() under WASI: the connection waits */
    {ENFILE, TIDE_EMFILE},
    {ENOTSOCK, TIDE_ENOTSOCK},
};

int tide__stream_errno(int err) {
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (map[i].err == err) return map[i].code;
  return TIDE_EUNKNOWN;
}
