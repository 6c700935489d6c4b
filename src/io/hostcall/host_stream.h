/* host_stream.h: what the JS host's TCP (host_tcp.c) needs of its streams
 * (host_stream.c) beyond tide.h.
 *
 * On the JS host a stream is only a number the host functions understand, so C
 * cannot ask the fd whether it is a socket (natively shutdown(2) says
 * ENOTSOCK). Instead the code that makes the socket says so when it opens the
 * stream; tide_stream_shutdown on any other stream is TIDE_ENOTSOCK at once,
 * with nothing changed, as natively.
 */
#ifndef TIDE_IO_HOST_STREAM_H
#define TIDE_IO_HOST_STREAM_H

#include "tide.h"

/* A private flag for tide_stream_open on the JS host, beside the public
 * TIDE_STREAM_* ones: the fd is a connected socket (tcp_accept, tcp_connect),
 * so the stream can be shut down ("tideloop:fd_shutdown"). */
#define TIDE__STREAM_SOCKET (1u << 15)

#endif /* TIDE_IO_HOST_STREAM_H */
