/* tcp_listen.c: the native half of TCP listeners: bind and listen on a numeric
 * address (alone, or sharing the port with SO_REUSEPORT), adopt an inherited listening socket, and accept connections the way
 * streams want them. The accept loop itself is fd/tcp_listener.c. */
#define _POSIX_C_SOURCE 200809L
/* SO_REUSEPORT is not POSIX: glibc declares it only with its default
 * extensions (__USE_MISC), which _POSIX_C_SOURCE alone turns off. */
#define _DEFAULT_SOURCE

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_stream.h"
#include "sock_util.h"
#include "tcp_listener.h"

int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_future *future) {
  return tide_tcp_listen_ex(loop, host, port, backlog, 0, future);
}

/* SO_REUSEPORT where the system has it; a flag this system cannot honour is an
 * error, never a listener that silently takes the port alone. */
static int set_reuseport(int fd, const char **out_message) {
#ifdef SO_REUSEPORT
  int one = 1;
  *out_message = NULL;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0
             ? 0
             : tide__errno_code(errno);
#else
  (void)fd;
  *out_message = "TIDE_TCP_REUSEPORT: this system has no SO_REUSEPORT";
  return TIDE_ENOSYS;
#endif
}

int tide_tcp_listen_ex(tide_loop *loop, const char *host, int port, int backlog,
                       unsigned flags, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if ((flags & ~(unsigned)TIDE_TCP_REUSEPORT) != 0) return TIDE_EINVAL;
  tide__sockaddr addr;
  int rc = tide__sockaddr_parse(host, port, 0, &addr);
  if (rc != 0) return rc;
  int fd = tide__socket_new(addr.ss.ss_family, SOCK_STREAM);
  if (fd < 0) return fd == TIDE_ENOMEM ? fd : tide_future_set_error(future, fd, NULL);
  int one = 1;
  const char *message = NULL;
  rc = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 ? 0
                                                                       : tide__errno_code(errno);
  if (rc == 0 && (flags & TIDE_TCP_REUSEPORT) != 0) rc = set_reuseport(fd, &message);
  if (rc == 0 && (bind(fd, (struct sockaddr *)&addr.ss, addr.len) != 0 ||
                  listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0))
    rc = tide__errno_code(errno);
  if (rc != 0) {
    (void)close(fd);
    return tide_future_set_error(future, rc, message);
  }
  int bound = tide__socket_port(fd);
  tide_tcp_listener *l = NULL;
  rc = bound < 0 ? bound : tide__tcp_listener_make(loop, fd, bound, &l);
  if (rc != 0) {
    (void)close(fd);
    return rc == TIDE_ENOMEM ? rc : tide_future_set_error(future, rc, NULL);
  }
  return tide_future_set_ptr(future, l);
}

int tide_tcp_listener_open(tide_loop *loop, int fd, tide_tcp_listener **out) {
  assert(loop != NULL && out != NULL);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (fd < 0) return TIDE_EBADF;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return errno == ENOTSOCK ? TIDE_ENOTSOCK : TIDE_EBADF;
  len = sizeof listening;
  if (type != SOCK_STREAM ||
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
    return TIDE_ENOTSOCK;
  int port = tide__socket_port(fd);
  if (port < 0) return port;
  int err = tide__fd_set_flags(fd);
  if (err != 0) return tide__errno_code(err);
  return tide__tcp_listener_make(loop, fd, port, out);
}

/* Connections go out without Nagle's delay: a stream sends each queued write
 * with its own send(), and a small write after another would otherwise wait
 * for the peer's delayed ACK (tens of ms) on every request/response turn. As
 * Node's net does by default. Best effort: a failure changes nothing else. */
int tide__tcp_accept_fd(int fd) {
  int c = accept(fd, NULL, NULL);
  if (c < 0) return c;
  int err = tide__fd_set_flags(c);
  if (err != 0) {
    (void)close(c);
    errno = err;
    return -1;
  }
  int one = 1;
  (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}
