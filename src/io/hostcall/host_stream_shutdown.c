/* host_stream_shutdown.c: tide_stream_shutdown on the JS host (sockets).
 *
 * - Shutting down (sockets): a half-close is queued behind the writes like one
 *   more write; once every byte before it has been taken, one host call shuts
 *   the socket down, and close waits for that too. Whether a stream is a socket
 *   is decided in C (TIDE__STREAM_SOCKET from host_tcp.c), so that the answer
 *   for stdio, TIDE_ENOTSOCK, is synchronous and changes nothing, as natively.
 */

#include <assert.h>

#include "host_stream.h"
#include "tide.h"
#include "write_queue.h"

#define FN_SHUTDOWN "tideloop:fd_shutdown"

/* Complete the caller's shutdown future with code (0: done). A failure nobody
 * waits for is reported, as a write's is; a write error (wq.err) was already
 * reported with the write, so it is not reported twice. */
static void shutdown_done(tide_stream *s, int code, const char *message) {
  tide_future *f = s->shut_future;
  s->shut_future = NULL;
  s->shut = SHUT_DONE;
  if (f != NULL) {
    tide_future_set_cancel_hook(f, NULL, NULL);
    if (code == 0)
      tide_future_set_int(f, 0);
    else
      tide_future_set_error(f, code, message);
  } else if (code != 0 && code != s->wq.err && code != TIDE_ECANCELED) {
    tide_loop_report(s->loop, code, "stream shutdown failed",
                     "a tide_stream_shutdown without a future failed");
  }
}

static void on_shutdown_done(tide_future *f, void *ud) {
  tide_stream *s = ud;
  assert(f == &s->hshut && s->shut == SHUT_RUNNING);
  int rc = tide_future_result(f, NULL);
  /* The host's message (Node's, naming the cause) is copied before release. */
  shutdown_done(s, rc, rc != 0 ? tide_future_error_message(f) : NULL);
  tide_future_release(f);
  tide__stream_finish_close(s);
}

/* Ask the host to shut the socket down: 0, or an error (nothing started). */
static int start_shutdown(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  int rc = tide__stream_host_op(s, &s->hshut, FN_SHUTDOWN, &fd, 1, on_shutdown_done);
  if (rc == 0) s->shut = SHUT_RUNNING;
  return rc;
}

/* Every write queued before now has been taken (or failed): a queued shutdown
 * goes out now, and a close waits for it before the fd goes. */
void tide__stream_after_writes(tide_stream *s) {
  if (s->writing || !tide__wq_empty(&s->wq)) return;
  if (s->shut == SHUT_QUEUED) {
    int rc = s->wq.err; /* a broken socket is not shut down: it failed already */
    if (rc == 0) rc = start_shutdown(s);
    if (rc != 0) shutdown_done(s, rc, NULL);
  }
  tide__stream_finish_close(s);
}

/* tide_stream_abort: a shutdown not done yet will not be. */
void tide__stream_abandon_shutdown(tide_stream *s) {
  if (s->shut == SHUT_RUNNING) {
    tide_future_remove_done_callback(&s->hshut, on_shutdown_done, s);
    tide_future_release(&s->hshut);
  }
  shutdown_done(s, TIDE_ECANCELED, NULL);
}

static void shut_future_cancelled(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)f;
  s->shut_future = NULL; /* the shutdown itself goes on: it may be half done */
}

int tide_stream_shutdown(tide_stream *s, tide_future *future) {
  assert(s != NULL && (future == NULL || !tide_future_done(future)));
  if (s->closing || s->shut != SHUT_NONE) return TIDE_ECLOSED;
  if (!(s->flags & TIDE__STREAM_SOCKET)) return TIDE_ENOTSOCK;
  if (!s->writing && tide__wq_empty(&s->wq) && s->wq.err == 0) {
    /* Nothing to wait for: start now, so that failing to even ask (out of
     * memory) is returned with nothing changed. */
    int rc = start_shutdown(s);
    if (rc != 0) return rc;
  } else {
    s->shut = SHUT_QUEUED;
  }
  s->shut_future = future;
  if (future != NULL) tide_future_set_cancel_hook(future, shut_future_cancelled, s);
  if (s->shut == SHUT_QUEUED && !s->writing && tide__wq_empty(&s->wq))
    tide__stream_after_writes(s); /* after a write error: fails at once */
  return 0;
}
