/* write_queue.h: the write side every stream shares: a FIFO of copied buffers,
 * each with the future that waits for it, and the rules for completing,
 * cancelling and failing them.
 *
 * How the bytes go out stays with each stream: write()/send() on WRITABLE in
 * fd_write.c (native and WASI), batches handed to a host function in
 * host_stream_write.c (the JS host). The same code decides what a tide_stream_write's
 * future gets, when a failure is reported to the loop and what a cancel does, so
 * every host answers alike. Like read_buffer.c it needs only the loop's
 * allocator and the public future API.
 */
#ifndef TIDE_IO_WRITE_QUEUE_H
#define TIDE_IO_WRITE_QUEUE_H

#include <stddef.h>

#include "queue.h"
#include "tide.h"

typedef struct tide__write_queue tide__write_queue;

/* One queued write: the node and a copy of the bytes in one allocation.
 * `future` is NULL for a write without one (report != 0: a failure is reported
 * to the loop's error handler) and for one whose future was cancelled while it
 * was in progress (report == 0: it is finished silently in the background). */
typedef struct tide__write_req {
  tide__qnode link;
  tide__write_queue *queue; /* its owner */
  tide_future *future;
  int report;
  /* The stream's own progress; > 0 means "in progress": a cancel no longer
   * drops it. fd_write.c: bytes written so far; host_stream_write.c: 1 once it
   * is in the batch the host is writing. */
  size_t progress;
  /* Not a write: fd_write.c's half-close marker (len 0), which a cancel never
   * drops. The JS host keeps its shutdown out of the queue. */
  int shutdown;
  size_t len;
  unsigned char data[];
} tide__write_req;

#define TIDE__WQ_REQ(node) tide__container_of(node, tide__write_req, link)

/* Invariants: `queued` is the bytes of `reqs` not written yet (the stream takes
 * off what goes out); after the first failure err holds it and `reqs` stays
 * empty, so every later write fails with it at once. */
struct tide__write_queue {
  tide_loop *loop; /* allocates every request */
  tide__qnode reqs; /* oldest first */
  size_t queued;
  int err;
  /* The stream's: start on a request just queued (0, or an error: the request
   * is taken back and the error returned). */
  int (*kick)(tide__write_queue *q);
  /* The stream's: a cancel dropped a request that had not started. */
  void (*dropped)(tide__write_queue *q);
};

void tide__wq_init(tide__write_queue *q, tide_loop *loop,
                   int (*kick)(tide__write_queue *), void (*dropped)(tide__write_queue *));

static inline int tide__wq_empty(const tide__write_queue *q) {
  return tide__q_empty(&q->reqs);
}

static inline tide__write_req *tide__wq_head(const tide__write_queue *q) {
  return TIDE__WQ_REQ(q->reqs.next);
}

/* tide_stream_write once the stream accepts writes: after a failure, future
 * fails with err (without one, the failure is reported later, from the loop:
 * callbacks never run inside the call); otherwise a copy of data is queued. 0 or
 * an error, with nothing queued. */
int tide__wq_write(tide__write_queue *q, const void *data, size_t len,
                   tide_future *future);
/* Queue a request (a copy of data, or fd_write.c's shutdown marker) and kick the
 * stream; then a cancel of future reaches it. 0 or an error, nothing queued. */
int tide__wq_push(tide__write_queue *q, const void *data, size_t len, int shutdown,
                  tide_future *future);

/* The request is done: its future gets len, and it is freed. queued is the
 * stream's to have taken its bytes off. */
void tide__wq_complete(tide__write_queue *q, tide__write_req *w);
/* Fail every queued request with code, which is err from now on. A request
 * without a future is reported, unless code is TIDE_ECANCELED (the user asked). */
void tide__wq_fail(tide__write_queue *q, int code);

#endif /* TIDE_IO_WRITE_QUEUE_H */
