/* sock_util.h: what the native socket files share (tcp_listen.c, tcp_connect.c,
 * udp.c): numeric addresses to sockaddr and back, and new sockets that are
 * non-blocking and close-on-exec.
 */
#ifndef TIDE_IO_SOCK_UTIL_H
#define TIDE_IO_SOCK_UTIL_H

#include <sys/socket.h>

#include "errno_code.h"
#include "tide.h"

/* A parsed address, ready for bind(), connect() or sendto(). */
typedef struct tide__sockaddr {
  struct sockaddr_storage ss;
  socklen_t len;
} tide__sockaddr;

/* A numeric IPv4 or IPv6 address and a port in [min_port, 65535]: 0 or
 * TIDE_EINVAL (host NULL, not numeric, port out of range). */
int tide__sockaddr_parse(const char *host, int port, int min_port, tide__sockaddr *out);
/* The numeric text, family and port of an AF_INET or AF_INET6 sockaddr. 0 or
 * TIDE_EINVAL (another family). */
int tide__sockaddr_format(const struct sockaddr *sa, tide_address *out);
/* The port a socket is bound to (getsockname), or a TIDE_E*. */
int tide__socket_port(int fd);
/* A new non-blocking, close-on-exec socket: the fd or a TIDE_E*. */
int tide__socket_new(int family, int type);

#endif /* TIDE_IO_SOCK_UTIL_H */
