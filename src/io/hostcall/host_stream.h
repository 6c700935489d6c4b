/* host_stream.h: the JS host's stream object and what its files share; and the
 * flag the JS host's TCP (host_tcp.c) and subprocesses (host_process.c) open
 * their streams with.
 *
 * The JS host has no fds to poll, so a stream asks the runtime for bytes through
 * three host functions it provides (src/backend/js/ABI.md, "Host functions the runtime
 * provides"):
 *
 *   "tideloop:fd_read"(fd, max)   -> Uint8Array of 1..max bytes; empty at EOF
 *   "tideloop:fd_write"(fd, bytes) -> the number of bytes written (all of them),
 *                                    once the host has accepted them
 *   "tideloop:fd_close"(fd, reset)  reset: 1 after tide_stream_abort
 *   "tideloop:fd_shutdown"(fd)    -> once the host has shut the socket down for
 *                                    writing (sockets only: host_tcp.c)
 *
 * and, for the runtime's own sockets, the direct path (host_direct.h): bytes
 * the host already holds are read, and writes are handed over, inside one
 * synchronous import, with no host operation and no tick; what must wait does
 * so on an operation that only says "ready":
 *
 *   "tideloop:fd_wait"(fd)        -> once a direct read would not wait (bytes,
 *                                    end of input or an error are there)
 *   "tideloop:fd_drain"(fd)       -> once the host's send buffer is below its
 *                                    high-water mark again
 *
 * The API and its semantics are those of tide.h ("Byte streams"), and the read
 * side is the same code as on fds (read_buffer.c): the buffer, line splitting,
 * over-long lines, EOF. What differs is where bytes come from and go to.
 *
 * Files: host_stream.c (open, the registration, close and abort),
 * host_stream_read.c (read, read_line, over the shared read_buffer.c),
 * host_stream_write.c (handing the shared write_queue.c to the host),
 * host_stream_shutdown.c (the half-close, queued behind the writes). The JS
 * host builds this folder (src/io/hostcall) where the others build the fd
 * streams of src/io/fd.
 */
#ifndef TIDE_IO_HOST_STREAM_H
#define TIDE_IO_HOST_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "read_buffer.h"
#include "tide.h"
#include "write_queue.h"

/* On the JS host a stream is only a number the host functions understand, so C
 * cannot ask the fd whether it is a socket (natively shutdown(2) says
 * ENOTSOCK). Instead the code that makes the socket says so when it opens the
 * stream; tide_stream_shutdown on any other stream is TIDE_ENOTSOCK at once,
 * with nothing changed, as natively.
 *
 * A private flag for tide_stream_open on the JS host, beside the public
 * TIDE_STREAM_* ones: the fd is a connected socket (tcp_accept, tcp_connect),
 * so the stream can be shut down ("tideloop:fd_shutdown"). */
#define TIDE__STREAM_SOCKET (1u << 15)

enum { SHUT_NONE = 0, SHUT_QUEUED, SHUT_RUNNING, SHUT_DONE };

/* Invariants:
 * - reading: hread is a pending host read (done callback on_read_done) or wait
 *   (on_ready), read_cb says which. At most one is in flight; it outlives a
 *   cancelled request.
 * - eof_pending / err_pending: the host reported EOF or an error, which the
 *   next request that the buffer cannot serve gets (after the bytes buffered
 *   before it). EOF is told once; an error stays, for every later request.
 * - writing: hwrite is a pending host write carrying the started requests
 *   (progress 1) at the head of wq (batch_len bytes), or a drain (batch_len 0,
 *   no request started: the bytes before it are done). wq is non-empty =>
 *   writing, except while the failure of a start is being handled.
 * - wq (write_queue.h): a request's bytes leave wq.queued when the host has
 *   taken its batch; after the first write error wq.err holds it for good.
 * - shut: SHUT_NONE until tide_stream_shutdown; then SHUT_QUEUED while writes
 *   queued before it are still going out, SHUT_RUNNING while hshut (the host's
 *   shutdown) is in flight, SHUT_DONE after. Past SHUT_NONE no write is
 *   accepted. shut_future is the caller's, NULL if none or cancelled.
 * - nwritten / nread: bytes the host took in successful writes, and bytes the
 *   host brought (buffered, whether or not a request has taken them yet).
 * - closing: no new request is accepted. Once nothing is being written and no
 *   shutdown is queued or in flight, `finishing` starts: fd_close (with
 *   TIDE_STREAM_CLOSE_FD), then the close of `reg`, whose callback completes
 *   close_future and frees the stream. */
struct tide_stream {
  tide_timer reg; /* never started; reg.handle.data points back at the stream */
  tide_loop *loop;
  int fd;
  unsigned flags;
  uint64_t nwritten;
  uint64_t nread;

  /* Reading. */
  tide__read_buffer rb;
  tide_future *reader;
  tide_future hread;
  tide_future_cb read_cb;
  int reading;
  int eof_pending;
  int err_pending;

  /* Writing. */
  tide__write_queue wq;
  size_t batch_len;
  tide_future hwrite;
  int writing;

  /* Half-close (sockets). */
  int shut;
  tide_future hshut;
  tide_future *shut_future;

  /* Closing. */
  int closing;
  int finishing;
  int aborting; /* tide_stream_abort: fd_close resets the socket */
  tide_future hclose;
  tide_future *close_future;
  tide_stream **owner; /* cleared at close (stream_owner.h) */
};

/* host_stream.c: a host operation on one of the stream's futures, whose done
 * callback gets the stream; and the end of a close, once nothing is written. */
int tide__stream_host_op(tide_stream *s, tide_future *f, const char *name,
                         const tide_value *args, size_t nargs, tide_future_cb cb);
void tide__stream_finish_close(tide_stream *s);

/* host_stream_read.c: let go of the waiting request (close cancels it). */
void tide__stream_detach_reader(tide_stream *s);

/* host_stream_write.c: the write queue's hooks (tide_stream_open installs
 * them), and the done callback of hwrite (tide_stream_abort removes it). */
int tide__stream_write_queued(tide__write_queue *q);
void tide__stream_write_dropped(tide__write_queue *q);
void tide__stream_on_write_done(tide_future *f, void *ud);

/* host_stream_shutdown.c: every write queued before now has been taken (or
 * failed): start a queued shutdown, and let a close go on; and, for
 * tide_stream_abort, give up a shutdown not done yet. */
void tide__stream_after_writes(tide_stream *s);
void tide__stream_abandon_shutdown(tide_stream *s);

#endif /* TIDE_IO_HOST_STREAM_H */
