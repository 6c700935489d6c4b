/* host_stream.c: a stream's life on the JS host: open, the registration that
 * keeps the loop from closing under it, close and abort. What a stream is, and
 * which file does what: host_stream.h.
 *
 * - Registration: natively an open stream holds an io handle, so the loop cannot
 *   close under it. Here a never-started timer handle plays that part: it
 *   registers the stream until its close callback, which frees the stream.
 */

#include <assert.h>
#include <string.h>

#include "host_op.h"
#include "host_stream.h"
#include "stream_owner.h"
#include "tide.h"

#define FN_CLOSE "tideloop:fd_close"

int tide_stream_open(tide_loop *loop, int fd, unsigned flags,
                     tide_stream **out_stream) {
  assert(loop != NULL && out_stream != NULL);
  /* Whether the host knows fd shows at the first read or write (TIDE_EBADF
   * from the host function): asking now would take a round trip. */
  if (fd < 0) return TIDE_EBADF;
  tide_stream *s = tide_loop_alloc(loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  memset(s, 0, sizeof *s);
  int rc = tide_timer_init(loop, &s->reg);
  if (rc != 0) {
    tide_loop_dealloc(loop, s);
    return rc;
  }
  s->reg.handle.data = s;
  s->loop = loop;
  s->fd = fd;
  s->flags = flags;
  tide__rbuf_init(&s->rb, loop);
  tide__wq_init(&s->wq, loop, tide__stream_write_queued, tide__stream_write_dropped);
  *out_stream = s;
  return 0;
}

/* Start a host operation on one of the stream's futures, with done callback
 * cb(f, s). Returns 0 or an error, with the future released. The callback
 * runs as soon as the host answers (tide__host_op_direct): what it brings is
 * buffered or counted whatever the user did meanwhile, so nothing needs the
 * extra tick, and a read or write costs its task one dispatch round. */
int tide__stream_host_op(tide_stream *s, tide_future *f, const char *name,
                         const tide_value *args, size_t nargs, tide_future_cb cb) {
  return tide__host_op_direct(s->loop, f, name, args, nargs, cb, s);
}

/* --- Closing ------------------------------------------------------------------ */

/* The registration handle is gone (its close callback runs from the loop, so no
 * callback of this stream is on the stack): report and free. */
static void on_reg_closed(tide_handle *h) {
  tide_stream *s = h->data;
  tide_loop *loop = s->loop;
  tide_future *f = s->close_future;
  tide__rbuf_free(&s->rb);
  if (f != NULL) {
    tide_future_set_cancel_hook(f, NULL, NULL);
    if (s->wq.err != 0)
      tide_future_set_error(f, s->wq.err, NULL);
    else
      tide_future_set_none(f);
  }
  tide_loop_dealloc(loop, s);
}

/* fd_close answered. Its error is not reported, as close(2)'s is not natively:
 * the stream's bytes were all delivered (or the write error is reported). */
static void on_fd_closed(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)tide_future_result(f, NULL); /* observed: released silently */
  tide_future_release(f);
  tide_handle_close(&s->reg.handle, on_reg_closed);
}

/* Once closing and nothing is being written: close the fd (if ours), then the
 * registration. */
void tide__stream_finish_close(tide_stream *s) {
  if (!s->closing || s->finishing || s->writing || !tide__wq_empty(&s->wq)) return;
  if (s->shut == SHUT_QUEUED || s->shut == SHUT_RUNNING) return;
  s->finishing = 1;
  if (s->flags & TIDE_STREAM_CLOSE_FD) {
    tide_value args[2];
    args[0] = tide_value_int(s->fd);
    args[1] = tide_value_int(s->aborting);
    if (tide__stream_host_op(s, &s->hclose, FN_CLOSE, args, 2, on_fd_closed) == 0)
      return;
    /* Could not even ask (out of memory): the fd stays open, the stream goes. */
  }
  tide_handle_close(&s->reg.handle, on_reg_closed);
}

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
    tide__stream_detach_reader(s);
    tide_future_cancel(f);
  }
  if (s->reading) {
    /* Nobody can read any more: abort the host read (its done callback goes
     * first, so nothing runs for it later). */
    tide_future_remove_done_callback(&s->hread, s->read_cb, s);
    tide_future_release(&s->hread);
    s->reading = 0;
  }
  tide__stream_after_writes(s);
}

/* The host write in flight is given up (its signal aborts; what it already
 * handed to the host may still go out before the reset), every queued write
 * fails, and fd_close is asked to reset the socket (its second argument). */
void tide_stream_abort(tide_stream *s) {
  assert(s != NULL && !s->closing && "tide_stream_abort after close");
  s->aborting = 1;
  if (s->writing) {
    tide_future_remove_done_callback(&s->hwrite, tide__stream_on_write_done, s);
    tide_future_release(&s->hwrite);
    s->writing = 0;
  }
  if (s->shut == SHUT_QUEUED || s->shut == SHUT_RUNNING)
    tide__stream_abandon_shutdown(s);
  if (!tide__wq_empty(&s->wq)) tide__wq_fail(&s->wq, TIDE_ECANCELED);
  tide_stream_close(s, NULL);
}
