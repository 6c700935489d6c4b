/* tcp_listener.h: what the host halves of a TCP listener give the shared accept
 * logic (tcp_listener.c): natively, posix/tcp_listen.c (listen, adopt a
 * listening socket); under WASI, wasi/tcp_listener_open.c (adopt a socket the
 * runtime handed in). */
#ifndef TIDE_IO_TCP_LISTENER_H
#define TIDE_IO_TCP_LISTENER_H

#include "tide.h"

/* Wrap a listening socket (already non-blocking) bound to port (0: unknown):
 * 0 or TIDE_ENOMEM. */
int tide__tcp_listener_make(tide_loop *loop, int fd, int port, tide_tcp_listener **out);

/* accept() one connection from listening socket fd, as the host wants it
 * (non-blocking, and natively close-on-exec and without Nagle's delay): the
 * fd, or -1 with errno set, as accept(2). */
int tide__tcp_accept_fd(int fd);

#endif /* TIDE_IO_TCP_LISTENER_H */
