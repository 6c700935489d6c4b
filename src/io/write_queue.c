/* write_queue.c: the shared write side of streams: queueing, completing,
 * cancelling and failing writes (see write_queue.h).
 *
 * A write is copied, so the caller's buffer is free once the call returns; a
 * cancel drops a write only before any of it went out (a half-written buffer
 * would corrupt the stream for whoever writes next).
 */
#include <stdint.h>
#include <string.h>

#include "write_queue.h"

void tide__wq_init(tide__write_queue *q, tide_loop *loop,
                   int (*kick)(tide__write_queue *), void (*dropped)(tide__write_queue *)) {
  memset(q, 0, sizeof *q);
  q->loop = loop;
  tide__q_init(&q->reqs);
  q->kick = kick;
  q->dropped = dropped;
}

/* A failed write without a future goes to the loop's error handler. */
static void report(tide_loop *loop, int code) {
  tide_loop_report(loop, code, "stream write failed",
                   "a tide_stream_write without a future failed");
}

/* A write after the stream failed has nothing to wait for: its report is
 * deferred to the loop (ud carries the code), as callbacks never run inline. */
static void report_later(tide_loop *loop, void *ud) {
  report(loop, (int)(intptr_t)ud);
}

static void free_req(tide__write_queue *q, tide__write_req *w) {
  tide__q_remove(&w->link);
  tide_loop_dealloc(q->loop, w);
}

/* The write's future was cancelled or released. Not started: it is dropped.
 * In progress: it is finished, silently. A shutdown goes on without its future
 * too: dropping it would leave the stream refusing writes with the peer never
 * told. */
static void cancelled(tide_future *f, void *ud) {
  tide__write_req *w = ud;
  tide__write_queue *q = w->queue;
  (void)f;
  w->future = NULL;
  w->report = 0;
  if (w->progress > 0 || w->shutdown) return;
  q->queued -= w->len;
  free_req(q, w);
  q->dropped(q);
}

int tide__wq_push(tide__write_queue *q, const void *data, size_t len, int shutdown,
                  tide_future *future) {
  if (len > SIZE_MAX - sizeof(tide__write_req)) return TIDE_ENOMEM;
  tide__write_req *w = tide_loop_alloc(q->loop, sizeof *w + len);
  if (w == NULL) return TIDE_ENOMEM;
  w->queue = q;
  w->future = future;
  w->report = future == NULL;
  w->progress = 0;
  w->shutdown = shutdown;
  w->len = len;
  if (len > 0) memcpy(w->data, data, len);
  tide__q_insert_tail(&q->reqs, &w->link);
  q->queued += len;
  int rc = q->kick(q);
  if (rc != 0) {
    q->queued -= len;
    free_req(q, w);
    return rc;
  }
  if (future != NULL) tide_future_set_cancel_hook(future, cancelled, w);
  return 0;
}

int tide__wq_write(tide__write_queue *q, const void *data, size_t len,
                   tide_future *future) {
  if (q->err != 0) {
    if (future == NULL)
      return tide_call_soon(q->loop, report_later, (void *)(intptr_t)q->err, NULL);
    tide_future_set_error(future, q->err, NULL);
    return 0;
  }
  return tide__wq_push(q, data, len, 0, future);
}

void tide__wq_complete(tide__write_queue *q, tide__write_req *w) {
  if (w->future != NULL) {
    tide_future_set_cancel_hook(w->future, NULL, NULL);
    tide_future_set_int(w->future, (int64_t)w->len);
  }
  free_req(q, w);
}

/* The queue is moved to a local list first, and every cancel hook is cleared
 * before anything completes: the error handler (run by report) is user code,
 * and may write, cancel or close meanwhile; a cancel must not reach a request
 * that is already being failed (it would count its bytes twice). */
void tide__wq_fail(tide__write_queue *q, int code) {
  tide__qnode failed;
  tide__q_init(&failed);
  tide__q_move_all(&q->reqs, &failed);
  if (q->err == 0) q->err = code;
  q->queued = 0;
  for (tide__qnode *n = failed.next; n != &failed; n = n->next)
    if (TIDE__WQ_REQ(n)->future != NULL)
      tide_future_set_cancel_hook(TIDE__WQ_REQ(n)->future, NULL, NULL);
  while (!tide__q_empty(&failed)) {
    tide__write_req *w = TIDE__WQ_REQ(failed.next);
    tide__q_remove(&w->link);
    tide_future *f = w->future;
    int rep = w->report;
    tide_loop_dealloc(q->loop, w);
    if (f != NULL) {
      tide_future_set_error(f, code, NULL);
    } else if (rep && code != TIDE_ECANCELED) { /* aborted: the user asked */
      report(q->loop, code);
    }
  }
}
