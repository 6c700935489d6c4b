/* net.h: socket helpers for the native socket tests (test-native-*.c): wait
 * for a future, listen/connect/accept and wait, plain blocking peers, and the
 * count of open fds for leak checks. Each fails the test on any surprise. */
#ifndef TIDE_TEST_NET_H
#define TIDE_TEST_NET_H

#include "tide.h"

/* Open descriptors of this process (/proc/self/fd). */
int count_fds(void);
/* Run the loop one iteration at a time until f is done. */
void run_until_done(tide_loop *loop, tide_future *f);
/* The INT result of f (a write's length, a shutdown's 0). */
int64_t int_of(tide_future *f);
/* The PTR result of an accept or connect: the stream. */
tide_stream *stream_of(tide_future *f);
/* f's result is BYTES equal to s. */
void expect_bytes(tide_future *f, const char *s);
tide_stream *connect_now(tide_loop *loop, const char *host, int port);
/* tide_tcp_listen, waited for: its return value, else the future's outcome
 * (0 with *out set). */
int listen_now(tide_loop *loop, const char *host, int port, int backlog,
               tide_tcp_listener **out);
tide_stream *accept_now(tide_loop *loop, tide_tcp_listener *l);
/* Close and wait; the close must report no error. */
void close_stream(tide_loop *loop, tide_stream *s);
/* A plain blocking IPv4 client socket, connected (the listener's backlog takes
 * it without an accept). */
int raw_connect(const char *host, int port);
/* Close with a reset (SO_LINGER 0) instead of an orderly FIN. */
void raw_reset(int fd);

#endif
