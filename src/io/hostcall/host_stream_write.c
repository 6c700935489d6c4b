/* host_stream_write.c: tide_stream_write on the JS host: the write queue
 * (write_queue.c), handed to the host.
 *
 * - Writing: a write with nothing queued before it is handed to the host at
 *   once (directly), and is done when the import returns, as a write(2) the
 *   kernel took; if the host's buffer is then past its high-water mark, an
 *   fd_drain is in flight and later writes queue behind it (backpressure: a
 *   slow peer holds the writer back by one write). Without a direct path,
 *   writes are queued in order (write_queue.c, as on fds), and one host write
 *   is in flight at a time; it carries every queued write (up to BATCH_MAX
 *   bytes) at once, so a burst of small writes costs one host call, and the
 *   next batch starts when the host has taken the previous one. Errors the
 *   host meets after it took the bytes reach the next operation, as natively.
 */

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "host_direct.h"
#include "host_stream.h"
#include "queue.h"
#include "tide.h"
#include "write_queue.h"

#define FN_WRITE "tideloop:fd_write"
#define FN_DRAIN "tideloop:fd_drain"

/* The most bytes one host write carries when it gathers several queued writes
 * (a single larger write still goes out whole). */
#define BATCH_MAX ((size_t)64 * 1024)

size_t tide_stream_write_queue_size(const tide_stream *s) {
  return s->wq.queued;
}

uint64_t tide_stream_bytes_written(const tide_stream *s) {
  return s->nwritten;
}

/* The host took the bytes directly but its buffer is past its high-water mark:
 * later writes wait for fd_drain (in hwrite, as a batch of no bytes). If even
 * asking fails (out of memory), they do not wait: the host holds the bytes
 * all the same, and the next write asks again. */
static void start_drain(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  s->batch_len = 0;
  if (tide__stream_host_op(s, &s->hwrite, FN_DRAIN, &fd, 1,
                           tide__stream_on_write_done) == 0)
    s->writing = 1;
}

/* The batch (the started requests at the head of wq) went out: each is done. */
static void batch_done(tide_stream *s) {
  s->nwritten += s->batch_len;
  while (!tide__wq_empty(&s->wq) && tide__wq_head(&s->wq)->progress > 0) {
    tide__write_req *w = tide__wq_head(&s->wq);
    s->wq.queued -= w->len;
    tide__wq_complete(&s->wq, w);
  }
}

static int write_batch(tide_stream *s, int direct);

/* Write what is queued, batch after batch: directly while the host takes them
 * (0 then, failures go to wq), else with a host write in flight. direct is 0
 * inside tide__wq_push (tide__stream_write_queued): a request must not
 * complete before it is queued. 0 or an error (nothing started). */
static int start_write(tide_stream *s, int direct) {
  int rc;
  while ((rc = write_batch(s, direct)) == 1) {
  }
  return rc;
}

/* One batch: the queued writes from the head, up to BATCH_MAX bytes (at least
 * the first), gathered into one block; if that cannot be allocated, the first
 * goes alone. Returns 1 if it went out directly and more is queued, 0 when
 * done or waiting (a host write or drain in flight, or the queue failed), or
 * an error (nothing started). */
static int write_batch(tide_stream *s, int direct) {
  assert(!s->writing && !tide__wq_empty(&s->wq));
  tide__write_req *first = tide__wq_head(&s->wq);
  size_t total = first->len;
  size_t count = 1;
  for (tide__qnode *n = first->link.next; n != &s->wq.reqs; n = n->next) {
    size_t len = TIDE__WQ_REQ(n)->len;
    if (total >= BATCH_MAX || len > BATCH_MAX - total) break;
    total += len;
    count++;
  }
  unsigned char *block = NULL;
  if (count > 1 && (block = tide_loop_alloc(s->loop, total)) == NULL) {
    count = 1;
    total = first->len;
  }
  const void *bytes = first->data;
  if (block != NULL) {
    size_t at = 0, i = 0;
    for (tide__qnode *n = s->wq.reqs.next; i < count; n = n->next, i++) {
      memcpy(block + at, TIDE__WQ_REQ(n)->data, TIDE__WQ_REQ(n)->len);
      at += TIDE__WQ_REQ(n)->len;
    }
    bytes = block;
  }
  int rc = direct ? tide__direct_write(s->loop, s->fd, bytes, total) : TIDE_ENOSYS;
  int taken = rc != TIDE_ENOSYS;
  if (!taken) {
    tide_value args[2];
    args[0] = tide_value_int(s->fd);
    args[1] = tide_value_bytes(bytes, total);
    rc = tide__stream_host_op(s, &s->hwrite, FN_WRITE, args, 2,
                              tide__stream_on_write_done);
  }
  tide_loop_dealloc(s->loop, block); /* the host copied the bytes */
  if (rc < 0 && taken) {
    tide__wq_fail(&s->wq, rc); /* this batch and everything after it */
    return 0;
  }
  if (rc < 0) return rc;
  size_t i = 0;
  for (tide__qnode *n = s->wq.reqs.next; i < count; n = n->next, i++)
    TIDE__WQ_REQ(n)->progress = 1; /* in the batch: a cancel no longer drops it */
  s->batch_len = total;
  if (!taken) {
    s->writing = 1;
    return 0;
  }
  batch_done(s);
  if (rc == TIDE__DIRECT_DRAIN) {
    start_drain(s);
    return 0;
  }
  return tide__wq_empty(&s->wq) ? 0 : 1;
}

/* What a host write answered: 0 if it took the whole batch. */
static int take_write_result(tide_stream *s, tide_future *f) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  if (v.type == TIDE_VALUE_NONE) return 0; /* "done", without a count */
  if (v.type != TIDE_VALUE_DOUBLE) return TIDE_EINVAL;
  /* The host writes everything or fails: a short count is an I/O error. */
  return v.as.d == (double)s->batch_len ? 0 : TIDE_EIO;
}

void tide__stream_on_write_done(tide_future *f, void *ud) {
  tide_stream *s = ud;
  assert(f == &s->hwrite && s->writing);
  int rc = take_write_result(s, f);
  tide_future_release(f);
  s->writing = 0;
  if (rc != 0) {
    tide__wq_fail(&s->wq, rc); /* the batch and everything after it */
  } else {
    batch_done(s);
    if (!tide__wq_empty(&s->wq) && (rc = start_write(s, 1)) != 0)
      tide__wq_fail(&s->wq, rc);
  }
  tide__stream_after_writes(s);
}

/* The write queue's hooks: one host write at a time carries what is queued, so
 * a write just queued starts one only if none is in flight; a dropped write may
 * be the last thing a shutdown or close waited for. */
int tide__stream_write_queued(tide__write_queue *q) {
  tide_stream *s = tide__container_of(q, tide_stream, wq);
  return s->writing ? 0 : start_write(s, 0);
}

void tide__stream_write_dropped(tide__write_queue *q) {
  tide__stream_after_writes(tide__container_of(q, tide_stream, wq));
}

int tide_stream_write(tide_stream *s, const void *data, size_t len,
                      tide_future *future) {
  assert(s != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (s->closing || s->shut != SHUT_NONE) return TIDE_ECLOSED;
  if (!s->writing && tide__wq_empty(&s->wq) && s->wq.err == 0) {
    /* Nothing before it: hand it to the host now, without a copy into the
     * queue. Done when the host took it (its future completes from the loop,
     * as always); an error fails it and every later write. */
    int rc = tide__direct_write(s->loop, s->fd, data, len);
    if (rc != TIDE_ENOSYS) {
      if (rc < 0) {
        tide__wq_fail(&s->wq, rc); /* an empty queue: only remembers rc */
        return tide__wq_write(&s->wq, data, len, future); /* fails with it */
      }
      s->nwritten += len;
      if (future != NULL) tide_future_set_int(future, (int64_t)len);
      if (rc == TIDE__DIRECT_DRAIN) start_drain(s);
      return 0;
    }
  }
  return tide__wq_write(&s->wq, data, len, future);
}
