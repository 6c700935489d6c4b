/* fd_write.c: tide_stream_write: a FIFO of copied buffers, flushed on WRITABLE.
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
#include <string.h>
#include <unistd.h>

#include "fd_stream.h"

#define BLOCKING_CHUNK ((size_t)512)

#define REQ_OF(node) tide__container_of(node, tide__write_req, link)

size_t tide_stream_write_queue_size(const tide_stream *s) {
  return s->queued;
}

uint64_t tide_stream_bytes_written(const tide_stream *s) {
  return s->bytes_written;
}

/* A failed write without a future goes to the loop's error handler. */
static void report(tide_loop *loop, int code) {
  tide_loop_report(loop, code, "stream write failed",
                   "a tide_stream_write without a future failed");
}

/* A write after the stream failed has no watcher to wait for: its report is
 * deferred to the loop (ud carries the code), as callbacks never run inline. */
static void report_later(tide_loop *loop, void *ud) {
  report(loop, (int)(intptr_t)ud);
}

static void free_req(tide__write_req *w) {
  tide__q_remove(&w->link);
  tide_loop_dealloc(w->stream->loop, w);
}

static void complete(tide__write_req *w) {
  if (w->future != NULL) {
    tide_future_set_cancel_hook(w->future, NULL, NULL);
    tide_future_set_int(w->future, (int64_t)w->len);
  }
  free_req(w);
}

/* Fail the queue. It is moved to a local list first, and every cancel hook is
 * cleared before anything completes: the error handler (run by report) is user
 * code, and may write, cancel or close meanwhile; a cancel must not reach a
 * request that is already being failed (it would count its bytes twice). */
void tide__stream_fail_writes(tide_stream *s, int code) {
  tide__qnode failed;
  tide__q_init(&failed);
  tide__q_move_all(&s->writes, &failed);
  if (s->werr == 0) s->werr = code;
  s->queued = 0;
  for (tide__qnode *n = failed.next; n != &failed; n = n->next)
    if (REQ_OF(n)->future != NULL) tide_future_set_cancel_hook(REQ_OF(n)->future, NULL, NULL);
  while (!tide__q_empty(&failed)) {
    tide__write_req *w = REQ_OF(failed.next);
    tide__q_remove(&w->link);
    tide_future *f = w->future;
    int rep = w->report;
    tide_loop_dealloc(s->loop, w);
    if (f != NULL) {
      tide_future_set_error(f, code, NULL);
    } else if (rep && code != TIDE_ECANCELED) { /* aborted: the user asked */
      report(s->loop, code);
    }
  }
}

/* The write's future was cancelled or released. Not started: it is dropped.
 * In progress: it is finished (a half-written buffer would corrupt the stream
 * for whoever writes next), silently. */
static void write_cancelled(tide_future *f, void *ud) {
  tide__write_req *w = ud;
  tide_stream *s = w->stream;
  (void)f;
  w->future = NULL;
  /* A shutdown goes on without its future, as on the JS host: dropping it
   * would leave the stream refusing writes with the peer never told. */
  if (w->done > 0 || w->shutdown) return;
  s->queued -= w->len;
  free_req(w);
  tide__stream_rewatch(s);
  tide__stream_maybe_finish_close(s);
}

/* Queue a copy of data (or the shutdown marker) and watch for WRITABLE. */
static int enqueue(tide_stream *s, const void *data, size_t len, int is_shutdown,
                   tide_future *future) {
  if (len > SIZE_MAX - sizeof(tide__write_req)) return TIDE_ENOMEM;
  tide__write_req *w = tide_loop_alloc(s->loop, sizeof *w + len);
  if (w == NULL) return TIDE_ENOMEM;
  w->stream = s;
  w->future = future;
  w->report = future == NULL;
  w->len = len;
  w->done = 0;
  w->shutdown = is_shutdown;
  if (len > 0) memcpy(w->data, data, len);
  tide__q_insert_tail(&s->writes, &w->link);
  s->queued += len;
  int rc = tide__stream_watch(s);
  if (rc != 0) {
    s->queued -= len;
    free_req(w);
    return rc;
  }
  if (future != NULL) tide_future_set_cancel_hook(future, write_cancelled, w);
  return 0;
}

int tide_stream_write(tide_stream *s, const void *data, size_t len,
                      tide_future *future) {
  assert(s != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (s->closing || s->wr_shut) return TIDE_ECLOSED;
  if (s->werr != 0) {
    if (future == NULL)
      return tide_call_soon(s->loop, report_later, (void *)(intptr_t)s->werr, NULL);
    tide_future_set_error(future, s->werr, NULL);
    return 0;
  }
  return enqueue(s, data, len, 0, future);
}

/* Half-close: a marker at the end of the queue (so every write before it goes
 * out first) that the flush turns into shutdown(SHUT_WR). */
int tide_stream_shutdown(tide_stream *s, tide_future *future) {
  assert(s != NULL);
  assert(future == NULL || !tide_future_done(future));
  if (s->closing || s->wr_shut) return TIDE_ECLOSED;
  if (!s->is_socket) return TIDE_ENOTSOCK;
  if (s->werr != 0) {
    s->wr_shut = 1;
    /* Without a future: the failure was reported with the write. */
    if (future != NULL) tide_future_set_error(future, s->werr, NULL);
    return 0;
  }
  int rc = enqueue(s, NULL, 0, 1, future);
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
  int fl = fcntl(s->fd, F_GETFL); /* asked each time: the owner may change it */
  if (s->regular || (fl >= 0 && (fl & O_NONBLOCK))) budget = SIZE_MAX;
  while (!tide__q_empty(&s->writes)) {
    tide__write_req *w = REQ_OF(s->writes.next);
    if (w->shutdown) {
      if (shutdown(s->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
        /* ENOTCONN: the peer is gone already; the half-close holds anyway. */
        tide__stream_fail_writes(s, tide__stream_errno(errno));
        return;
      }
      complete(w);
      continue;
    }
    if (w->done == w->len) {
      complete(w); /* also the empty write, in its turn */
      continue;
    }
    if (budget == 0) break;
    size_t n = w->len - w->done;
    if (n > budget) n = budget;
    ssize_t r = put(s, w->data + w->done, n);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      tide__stream_fail_writes(s, tide__stream_errno(errno));
      return;
    }
    w->done += (size_t)r;
    s->queued -= (size_t)r;
    s->bytes_written += (uint64_t)r;
    budget -= (size_t)r;
    /* Short (or no) progress means the fd is full: another write() would fail
     * with EAGAIN or, on a blocking fd, block. Wait for the next readiness. */
    if ((size_t)r < n) break;
  }
}
