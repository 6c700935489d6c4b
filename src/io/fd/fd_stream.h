/* fd_stream.h: the stream object and what the fd-based files share.
 *
 * A stream is a tide_io watcher on one fd plus a read buffer and a write queue,
 * all in memory from the loop's allocator. It is built on the public API only
 * (watchers, futures and their cancel hooks, tide_loop_alloc), so it runs
 * unchanged on every host that has read()/write(): native and WASI.
 *
 * Files: fd_stream.c (open, watcher, close), fd_read.c (read, read_line, over
 * the shared read_buffer.c), fd_write.c (flushing the shared write_queue.c);
 * errno becomes a TIDE_E* code through src/common/errno_code.c.
 */
#ifndef TIDE_IO_FD_STREAM_H
#define TIDE_IO_FD_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "errno_code.h"
#include "queue.h"
#include "read_buffer.h"
#include "tide.h"
#include "write_queue.h"

/* send(MSG_NOSIGNAL) turns SIGPIPE into EPIPE for sockets without touching the
 * process's signal dispositions. Pipes have no such flag (see fd_write.c); WASI
 * has no signals (send() is sock_send there). Every file that includes this
 * header defines _POSIX_C_SOURCE first. */
#if defined(MSG_NOSIGNAL) && !defined(__wasi__)
#define TIDE__SEND_FLAGS MSG_NOSIGNAL
#else
#define TIDE__SEND_FLAGS 0
#endif

/* The read side is a tide__read_buffer (read_buffer.h), shared with the JS
 * host's streams. A request that the buffer cannot satisfy waits in `reader`;
 * only then does the stream read from the fd, so it never reads what nobody
 * asked for (backpressure stays with the kernel), though the watcher may
 * linger on READABLE for the next request (see `linger` below). */

/* Invariants:
 * - watching == the events the io watcher was last started with (0: stopped);
 *   it is READABLE iff reader != NULL or the stream lingers (below), WRITABLE
 *   iff wq is not empty and no early flush is pending.
 * - linger: an owned non-blocking stream keeps READABLE after its reader was
 *   served, so the next read (in a request-response exchange, right after the
 *   reply) needs no change of the watcher. It ends at the first READABLE that
 *   finds no reader (nothing is read: backpressure stays with the kernel) or at
 *   close. The watcher is referenced only while a read or write waits, so a
 *   lingering stream never keeps the loop alive.
 * - flush_pending: a write reached an idle, non-blocking stream, and a call in
 *   the next tick writes it without waiting for WRITABLE (fd_write.c); `flush`
 *   is that call, cancelled if the stream goes first.
 * - wq (write_queue.h): a request's progress is the bytes of it written, so
 *   wq.queued == the sum of (len - progress); after a write error wq.err holds
 *   it for good.
 * - closing: tide_stream_close was called; no new request is accepted. The io
 *   handle is closed (io_closing) once the queue is empty; its close callback
 *   closes the fd (CLOSE_FD), completes close_future and frees the stream. */
struct tide_stream {
  tide_io io; /* io.handle.data points back at the stream */
  tide_loop *loop;
  int fd;
  unsigned flags;
  unsigned watching;
  int is_socket; /* read with recv(), written with send() */
  int regular;  /* a regular file: never blocks, so writes are not chunked */
  /* The stream owns the fd (TIDE_STREAM_CLOSE_FD) and it was non-blocking at
   * open: nobody else may change its flags, so they need not be asked again
   * before each write, and a write may be tried before WRITABLE. */
  int owned_nonblocking;
  int linger;

  /* Reading: the buffer, and the request waiting for more input. */
  tide__read_buffer rb;
  tide_future *reader;
  /* The first read error: sticky, as write errors are. Linux reports a reset
   * once and then reads 0, which must not pass for an orderly end (a half line
   * delivered as a whole one). Bytes buffered before it are still served. */
  int rerr;

  /* Writing. */
  tide__write_queue wq;
  int wr_shut; /* tide_stream_shutdown was called: no more writes */
  int flush_pending;
  tide_call flush;

  uint64_t bytes_read, bytes_written;

  /* Closing. */
  int closing;
  int io_closing;
  tide_future *close_future;
  tide_stream **owner; /* cleared at close (stream_owner.h) */
};

/* Start or stop the watcher so that it matches reader and wq (see invariants).
 * Returns 0 or the error of tide_io_start; on error nothing changed. */
int tide__stream_watch(tide_stream *s);
/* The same, after a completion: narrowing the interest cannot be refused by the
 * caller, so on failure the watcher is stopped and what still waits fails. */
void tide__stream_rewatch(tide_stream *s);
/* Once closing and the write queue is empty: close the watcher (once). */
void tide__stream_maybe_finish_close(tide_stream *s);

/* fd_read.c: the READABLE half of the io callback, and the read request the
 * close path cancels. */
void tide__stream_on_readable(tide_stream *s);
void tide__stream_cancel_reader(tide_stream *s);

/* fd_write.c: the WRITABLE half of the io callback; and the write queue's
 * kick: a write just queued on an idle stream goes out from the next tick
 * (owned non-blocking fds) or waits for WRITABLE. */
void tide__stream_on_writable(tide_stream *s);
int tide__stream_write_queued(tide_stream *s);

/* Make fd non-blocking and close-on-exec (WASI has no exec): 0 or an errno. */
int tide__fd_set_flags(int fd);

#endif /* TIDE_IO_FD_STREAM_H */
