/* udp.h: the UDP socket object, shared by udp.c (open, receive, close, the
 * watcher) and udp_send.c (the send queue). Native only: on WASI both files
 * are stubs, on the JS host they compile to nothing (host_udp.c has a
 * tide_udp of its own), and nothing includes this there.
 *
 * A tide_udp is an io watcher on a bound datagram socket, watched for READABLE
 * only while a receive waits (datagrams nobody asked for stay in the kernel's
 * buffer) and for WRITABLE only while sends are queued.
 */
#ifndef TIDE_IO_UDP_H
#define TIDE_IO_UDP_H

#include <stddef.h>

#include "queue.h"
#include "sock_util.h"
#include "tide.h"

/* Invariants:
 * - fd < 0 once tide_udp_close ran; nothing is accepted or watched after that.
 * - watching == the events the watcher was last started with (0: stopped): it
 *   is READABLE iff receiver != NULL, WRITABLE iff sends is not empty.
 * - held: scratch holds a received datagram (held_len bytes, SIZE_MAX if it was
 *   truncated, from held_addr) that no receive has taken yet.
 * - max and from describe the current receive (waiting or being served). */
struct tide_udp {
  tide_io io; /* io.handle.data points back at the socket */
  tide_loop *loop;
  int fd;
  int family; /* AF_INET or AF_INET6 */
  int port;
  unsigned watching;

  tide_future *receiver;
  size_t max;
  tide_address *from;
  unsigned char *scratch; /* 64 KiB, from the first receive on */
  int held;
  size_t held_len;
  struct sockaddr_storage held_addr;

  tide__qnode sends; /* udp_send.c's requests, oldest first */
};

/* udp.c: make the watcher match receiver and sends (see invariants). Returns 0
 * or the error of tide_io_start; on error nothing changed. */
int tide__udp_watch(tide_udp *u);
/* The same after a completion or a cancel, which only narrow the interest: if
 * even that fails, what waits is failed with the error. */
void tide__udp_rewatch(tide_udp *u);

/* udp_send.c: send from the head of the queue until the socket is full or the
 * queue is empty (the WRITABLE half of the io callback). May run user code (an
 * error report), which may close the socket. */
void tide__udp_flush(tide_udp *u);
/* Fail every queued send with code; TIDE_ECANCELED (a close) is not reported
 * for sends without a future. */
void tide__udp_fail_sends(tide_udp *u, int code);

#endif /* TIDE_IO_UDP_H */
