/* tcp_listener_open.c: the WASI half of TCP listeners. Preview1 cannot make
 * or bind a socket (tide_tcp_listen is TIDE_ENOSYS: enosys/no_sockets.c), but a
 * runtime may hand a listening one in (wasmtime --tcplisten); accept() is
 * wasi-libc's, over sock_accept. The accept loop is fd/tcp_listener.c. */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fd_stream.h"
#include "tcp_listener.h"

/* WASI tells a socket from a file by its filetype, and cannot tell a listening
 * one from a connected one before an accept: the runtime decides what it hands
 * in. The port is unknown (no getsockname in preview1). */
int tide_tcp_listener_open(tide_loop *loop, int fd, tide_tcp_listener **out) {
  assert(loop != NULL && out != NULL);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return TIDE_EBADF;
  if (!S_ISSOCK(st.st_mode)) return TIDE_ENOTSOCK;
  int err = tide__fd_set_flags(fd);
  if (err != 0) return tide__errno_code(err);
  return tide__tcp_listener_make(loop, fd, 0, out);
}

/* sock_accept hands out a blocking fd unless asked: ask for non-blocking. */
int tide__tcp_accept_fd(int fd) {
  return accept4(fd, NULL, NULL, SOCK_NONBLOCK);
}
