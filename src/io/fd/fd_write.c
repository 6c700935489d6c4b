/* fd_write.c: tide_stream_write: the write queue (write_queue.c), flushed on
 * WRITABLE.
 *
 * How much one readiness may write depends on the fd, whose flags are never
 * changed: a non-blocking fd takes writes until EAGAIN; a blocking one takes at
 * most 512 bytes (POSIX's smallest PIPE_BUF), which poll's "writable" promises
 * will not block; a regular file never blocks for long and takes everything.
 *
 * SIGPIPE: writing to a pipe whose reader is gone raises SIGPIPE, which kills
 * the process unless the program ignores it. The library does not install a
 * process-wide disposition behind the program's back (that is the program's
 * choice: `prog | head` quietly dying is what Unix tools do). A program that
 * wants TIDE_EPIPE instead calls signal(SIGPIPE, SIG_IGN) once. Sockets need no
 * such care: they are written with send(MSG_NOSIGNAL) where it exists.
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "fd_stream.h"

#define BLOCKING_CHUNK ((size_t)512)

size_t tide_stream_write_queue_size(const tide_stream *s) {
  return s->wq.queued;
}

uint64_t tide_stream_bytes_written(const tide_stream *s) {
  return s->bytes_written;
}

int tide_stream_write(tide_stream *s, const void *data, size_t len,
                      tide_future *future) {
  assert(s != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (s->closing || s->wr_shut) return TIDE_ECLOSED;
  return tide__wq_write(&s->wq, data, len, future);
}

/* Half-close: a marker at the end of the queue (so every write before it goes
 * out first) that the flush turns into shutdown(SHUT_WR). */
int tide_stream_shutdown(tide_stream *s, tide_future *future) {
  assert(s != NULL);
  assert(future == NULL || !tide_future_done(future));
  if (s->closing || s->wr_shut) return TIDE_ECLOSED;
  if (!s->is_socket) return TIDE_ENOTSOCK;
  if (s->wq.err != 0) {
    s->wr_shut = 1;
    /* Without a future: the failure was reported with the write. */
    if (future != NULL) tide_future_set_error(future, s->wq.err, NULL);
    return 0;
  }
  int rc = tide__wq_push(&s->wq, NULL, 0, 1, future);
  if (rc == 0) s->wr_shut = 1;
  return rc;
}

/* One write(2) (or send(2) on a socket), retried on EINTR. */
static ssize_t put(tide_stream *s, const unsigned char *p, size_t n) {
  ssize_t r;
  do {
    if (s->is_socket)
      r = send(s->fd, p, n, TIDE__SEND_FLAGS);
    else
      r = write(s->fd, p, n);
  } while (r < 0 && errno == EINTR);
  return r;
}

/* The WRITABLE half of the io callback: write from the head of the queue until
 * the budget is spent, the fd is full, or the queue is empty. Writes complete
 * in queue order, each once all of its bytes are out. Several small writes may
 * share one readiness's 512 bytes: Linux and the BSDs report a pipe writable
 * only with PIPE_BUF (>= 512) bytes free, so their sum cannot block either. */
void tide__stream_on_writable(tide_stream *s) {
  size_t budget = BLOCKING_CHUNK;
  if (s->regular || s->owned_nonblocking) {
    budget = SIZE_MAX;
  } else {
    int fl = fcntl(s->fd, F_GETFL); /* asked each time: the owner may change it */
    if (fl >= 0 && (fl & O_NONBLOCK)) budget = SIZE_MAX;
  }
  while (!tide__wq_empty(&s->wq)) {
    tide__write_req *w = tide__wq_head(&s->wq);
    if (w->shutdown) {
      if (shutdown(s->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
        /* ENOTCONN: the peer is gone already; the half-close holds anyway. */
        tide__wq_fail(&s->wq, tide__errno_code(errno));
        return;
      }
      tide__wq_complete(&s->wq, w);
      continue;
    }
    if (w->progress == w->len) {
      tide__wq_complete(&s->wq, w); /* also the empty write, in its turn */
      continue;
    }
    if (budget == 0) break;
    size_t n = w->len - w->progress;
    if (n > budget) n = budget;
    ssize_t r = put(s, w->data + w->progress, n);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      tide__wq_fail(&s->wq, tide__errno_code(errno));
      return;
    }
    w->progress += (size_t)r;
    s->wq.queued -= (size_t)r;
    s->bytes_written += (uint64_t)r;
    budget -= (size_t)r;
    /* Short (or no) progress means the fd is full: another write() would fail
     * with EAGAIN or, on a blocking fd, block. Wait for the next readiness. */
    if ((size_t)r < n) break;
  }
}

/* The early flush: in the tick after the first write of a burst, write what
 * the queue holds (a non-blocking fd only says EAGAIN when full), and watch
 * for WRITABLE only if something is left. A request-response exchange then
 * costs no change of the watcher per write, where waiting for WRITABLE first
 * cost two (arm, then disarm). The future still completes from the loop,
 * never inside tide_stream_write. */
static void flush_early(tide_loop *loop, void *ud) {
  tide_stream *s = ud;
  (void)loop;
  s->flush_pending = 0;
  if (!tide__wq_empty(&s->wq)) tide__stream_on_writable(s);
  tide__stream_rewatch(s);
  tide__stream_maybe_finish_close(s);
}

int tide__stream_write_queued(tide_stream *s) {
  if (s->flush_pending || (s->watching & TIDE_WRITABLE)) return 0;
  if (!s->owned_nonblocking || s->io_closing)
    return tide__stream_watch(s); /* a blocking fd waits for WRITABLE */
  int rc = tide_call_soon(s->loop, flush_early, s, &s->flush);
  if (rc == 0) s->flush_pending = 1;
  return rc; /* TIDE_ENOMEM: the write is taken back and refused */
}
