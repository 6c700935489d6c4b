/* no_sockets.c: the sockets a host cannot make (WASI preview1 has no socket(),
 * no bind, no connect and no datagrams): every call returns TIDE_ENOSYS, so a
 * program that uses the API links on every host and learns at run time that it
 * cannot have it there. A listening socket the runtime hands in still works
 * (wasi/tcp_listener_open.c), and so do its connections.
 *
 * No tide_udp can exist where this file is built, so tide_udp_port, _recv and
 * _send accept any pointer (NULL included) and tide_udp_close is unreachable.
 */
#include <assert.h>

#include "tide.h"

int tide_tcp_listen(tide_loop *loop, const char *host, int port, int backlog,
                    tide_future *future) {
  assert(loop != NULL && future != NULL);
  (void)loop; /* read only by the assertion: unused under NDEBUG */
  (void)future;
  (void)host;
  (void)port;
  (void)backlog;
  return TIDE_ENOSYS;
}

int tide_tcp_connect(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL);
  (void)loop;
  (void)future;
  (void)host;
  (void)port;
  return TIDE_ENOSYS;
}

int tide_udp_open(tide_loop *loop, const char *host, int port, tide_future *future) {
  assert(loop != NULL && future != NULL);
  (void)loop;
  (void)future;
  (void)host;
  (void)port;
  return TIDE_ENOSYS;
}

int tide_udp_port(const tide_udp *udp) {
  (void)udp;
  return TIDE_ENOSYS;
}

int tide_udp_recv(tide_udp *udp, size_t max, tide_address *from, tide_future *future) {
  (void)udp;
  (void)max;
  (void)from;
  (void)future;
  return TIDE_ENOSYS;
}

int tide_udp_send(tide_udp *udp, const void *data, size_t len, const char *host,
                  int port, tide_future *future) {
  (void)udp;
  (void)data;
  (void)len;
  (void)host;
  (void)port;
  (void)future;
  return TIDE_ENOSYS;
}

void tide_udp_close(tide_udp *udp) {
  (void)udp;
  assert(0 && "tide_udp_close: no tide_udp exists on this host (tide_udp_open is ENOSYS)");
}
