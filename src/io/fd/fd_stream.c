/* fd_stream.c: a stream's life: open, the one io watcher it owns, close. */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_stream.h"
#include "stream_owner.h"

/* What kind of fd this is decides how it is written (see fd_write.c). */
static void classify(tide_stream *s) {
  struct stat st;
  if (fstat(s->fd, &st) != 0) return; /* unknown: chunked write() is always safe */
  s->regular = S_ISREG(st.st_mode);
#if !defined(__wasi__)
  s->is_socket = S_ISSOCK(st.st_mode);
#endif
  /* Under WASI the filetype cannot be trusted for this: Node's WASI reports a
   * pipe as a SOCKET_STREAM, and its sock_recv on a pipe kills the process.
   * There a stream is a socket only when tcp_listener.c accepted it. */
}

int tide__fd_set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return errno;
#if !defined(__wasi__) /* WASI has no exec */
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return errno;
#endif
  return 0;
}

/* The write queue's hooks: a write just queued is flushed (fd_write.c); a
 * dropped one may leave nothing to watch for, or to wait for before closing. */
static int write_queued(tide__write_queue *q) {
  return tide__stream_write_queued(tide__container_of(q, tide_stream, wq));
}

static void write_dropped(tide__write_queue *q) {
  tide_stream *s = tide__container_of(q, tide_stream, wq);
  tide__stream_rewatch(s);
  tide__stream_maybe_finish_close(s);
}

int tide_stream_open(tide_loop *loop, int fd, unsigned flags,
                     tide_stream **out_stream) {
  assert(loop != NULL && out_stream != NULL);
  /* F_GETFL only looks: it fails for a closed fd, which is all we ask of it. */
  if (fd < 0 || fcntl(fd, F_GETFL) < 0) return TIDE_EBADF;
  tide_stream *s = tide_loop_alloc(loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  memset(s, 0, sizeof *s);
  int rc = tide_io_init(loop, &s->io, fd);
  if (rc != 0) {
    tide_loop_dealloc(loop, s);
    return rc;
  }
  s->io.handle.data = s;
  s->loop = loop;
  s->fd = fd;
  s->flags = flags;
  tide__rbuf_init(&s->rb, loop);
  classify(s);
  s->owned_nonblocking =
      (flags & TIDE_STREAM_CLOSE_FD) && (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
  tide__wq_init(&s->wq, loop, write_queued, write_dropped);
  *out_stream = s;
  return 0;
}

/* The io callback: reads first (a reader may be waiting on a peer that waits
 * for our writes, and neither order can deadlock since both are non-blocking
 * per readiness), then writes, then make the watcher match what is left. */
static void on_io(tide_io *io, unsigned events) {
  tide_stream *s = io->handle.data;
  if (events & (TIDE_READABLE | TIDE_HANGUP | TIDE_IOERROR)) {
    if (s->reader != NULL)
      tide__stream_on_readable(s);
    else
      s->linger = 0; /* input nobody asked for: stop watching (rewatch below) */
  }
  /* HANGUP alone does not mean a write would not block (a socket whose peer
   * only shut down its side); WRITABLE or an error does. */
  if (!tide__wq_empty(&s->wq) && (events & (TIDE_WRITABLE | TIDE_IOERROR)))
    tide__stream_on_writable(s);
  tide__stream_rewatch(s);
  tide__stream_maybe_finish_close(s);
}

static unsigned wanted(const tide_stream *s) {
  unsigned want = 0;
  if (s->reader != NULL) want |= TIDE_READABLE;
  if (!tide__wq_empty(&s->wq) && !s->flush_pending) want |= TIDE_WRITABLE;
  return want;
}

int tide__stream_watch(tide_stream *s) {
  unsigned need = wanted(s);
  if (s->io_closing) return 0;
  unsigned want = need;
  if (s->linger && !s->closing && (s->watching & TIDE_READABLE)) want |= TIDE_READABLE;
  if (need != 0)
    tide_handle_ref(&s->io.handle);
  else
    tide_handle_unref(&s->io.handle); /* lingering: keeps no loop alive */
  if (want == s->watching) return 0;
  if (want == 0) {
    tide_io_stop(&s->io);
    s->watching = 0;
    return 0;
  }
  int rc = tide_io_start(&s->io, want, on_io);
  if (rc == 0) s->watching = want;
  return rc;
}

void tide__stream_rewatch(tide_stream *s) {
  if (tide__stream_watch(s) == 0) return;
  /* Changing the events of a started watcher failed (the fd was closed behind
   * our back, say). Start afresh; if even that fails, nothing that waits can
   * ever be served, so it fails now rather than hang. */
  tide_io_stop(&s->io);
  s->watching = 0;
  int rc = tide__stream_watch(s);
  if (rc == 0) return;
  if (s->reader != NULL) {
    tide_future *f = s->reader;
    tide__stream_cancel_reader(s);
    tide_future_set_error(f, rc, NULL);
  }
  if (!tide__wq_empty(&s->wq)) tide__wq_fail(&s->wq, rc);
}

/* --- Closing --------------------------------------------------------------- */

/* The watcher is gone (its close callback runs from the loop, so no io callback
 * can be on the stack): close the fd, report, free. */
static void on_io_closed(tide_handle *h) {
  tide_stream *s = h->data;
  tide_loop *loop = s->loop;
  tide_future *f = s->close_future;
  /* close() is not retried on EINTR: the fd is released either way on Linux,
   * and retrying could close an fd another thread just opened. */
  if (s->flags & TIDE_STREAM_CLOSE_FD) (void)close(s->fd);
  if (s->flush_pending) (void)tide_call_cancel(loop, s->flush);
  tide__rbuf_free(&s->rb);
  if (f != NULL) {
    tide_future_set_cancel_hook(f, NULL, NULL);
    if (s->wq.err != 0)
      tide_future_set_error(f, s->wq.err, NULL); /* NULL: no copy to allocate */
    else
      tide_future_set_none(f);
  }
  tide_loop_dealloc(loop, s);
}

void tide__stream_maybe_finish_close(tide_stream *s) {
  if (!s->closing || s->io_closing || !tide__wq_empty(&s->wq)) return;
  s->io_closing = 1;
  s->watching = 0;
  tide_handle_close(&s->io.handle, on_io_closed);
}

/* The close future was cancelled or released: the close goes on, unreported. */
static void close_future_cancelled(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)f;
  s->close_future = NULL;
}

void tide__stream_set_owner(tide_stream *s, tide_stream **slot) {
  s->owner = slot;
}

void tide_stream_close(tide_stream *s, tide_future *future) {
  assert(s != NULL && !s->closing && "tide_stream_close called twice");
  s->closing = 1;
  if (s->owner != NULL) *s->owner = NULL;
  s->owner = NULL;
  if (future != NULL) {
    assert(!tide_future_done(future));
    s->close_future = future;
    tide_future_set_cancel_hook(future, close_future_cancelled, s);
  }
  if (s->reader != NULL) {
    tide_future *f = s->reader;
    tide__stream_cancel_reader(s);
    tide_future_cancel(f);
  }
  /* Queued writes keep the watcher (WRITABLE) until they are flushed. */
  tide__stream_rewatch(s);
  tide__stream_maybe_finish_close(s);
}

void tide_stream_abort(tide_stream *s) {
  assert(s != NULL && !s->closing && "tide_stream_abort after close");
#if defined(SO_LINGER) && !defined(__wasi__)
  /* A zero linger makes close() send a reset and drop what the kernel still
   * holds. Only on a socket we close: the option would outlive us otherwise. */
  if (s->is_socket && (s->flags & TIDE_STREAM_CLOSE_FD)) {
    struct linger lg = {1, 0};
    (void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
#endif
  if (!tide__wq_empty(&s->wq)) tide__wq_fail(&s->wq, TIDE_ECANCELED);
  tide_stream_close(s, NULL);
}
