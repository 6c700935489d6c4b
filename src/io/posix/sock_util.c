/* sock_util.c: numeric addresses and new sockets, for the native socket files. */
#define _POSIX_C_SOURCE 200809L

#include "sock_util.h"

#include "fd_stream.h" /* tide__fd_set_flags */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

int tide__sockaddr_parse(const char *host, int port, int min_port, tide__sockaddr *out) {
  if (host == NULL || port < min_port || port > 65535) return TIDE_EINVAL;
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    out->len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    out->len = sizeof *v6;
    return 0;
  }
  return TIDE_EINVAL;
}

int tide__sockaddr_format(const struct sockaddr *sa, tide_address *out) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    out->family = 4;
    out->port = ntohs(v4->sin_port);
    (void)inet_ntop(AF_INET, &v4->sin_addr, out->host, sizeof out->host);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    out->family = 6;
    out->port = ntohs(v6->sin6_port);
    (void)inet_ntop(AF_INET6, &v6->sin6_addr, out->host, sizeof out->host);
    return 0;
  }
  return TIDE_EINVAL;
}

int tide__socket_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  tide_address a;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return tide__errno_code(errno);
  int rc = tide__sockaddr_format((struct sockaddr *)&ss, &a);
  return rc != 0 ? rc : a.port;
}

int tide__socket_new(int family, int type) {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tide__errno_code(errno);
#else
  int fd = socket(family, type, 0);
  if (fd < 0) return tide__errno_code(errno);
  int err = tide__fd_set_flags(fd);
  if (err != 0) {
    (void)close(fd);
    return tide__errno_code(err);
  }
#endif
  return fd;
}
