/* host_stream.c: byte streams on the JS host, over host operations.
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
 * over-long lines, EOF. What differs is where bytes come from and go to:
 *
 * - Reading: a request the buffer cannot serve first takes what the host holds
 *   (a direct read, into the buffer's room); if nothing is there it waits on
 *   fd_wait and reads directly once that answers. Where there is no direct
 *   path it starts one host read instead, whose bytes are appended to the
 *   buffer. At most one wait or host read is in flight. A cancelled request
 *   only lets go of its future: the wait or read behind it is NOT cancelled.
 *   A wait consumes nothing, so the bytes stay with the host for the next
 *   request; a host read's bytes are buffered for it, so nothing is lost
 *   (cancelling it could race with bytes the host already took from its
 *   source). Either is cancelled when the stream closes. Until then it counts
 *   as pending work, so it keeps the loop alive.
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
 * - Shutting down (sockets): a half-close is queued behind the writes like one
 *   more write; once every byte before it has been taken, one host call shuts
 *   the socket down, and close waits for that too. Whether a stream is a socket
 *   is decided in C (TIDE__STREAM_SOCKET from host_tcp.c), so that the answer
 *   for stdio, TIDE_ENOTSOCK, is synchronous and changes nothing, as natively.
 * - Registration: natively an open stream holds an io handle, so the loop cannot
 *   close under it. Here a never-started timer handle plays that part: it
 *   registers the stream until its close callback, which frees the stream.
 *
 * The JS host builds this folder (src/io/hostcall) where the others build the
 * fd streams of src/io/fd.
 */

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "host_direct.h"
#include "host_stream.h"
#include "host_op.h"
#include "queue.h"
#include "read_buffer.h"
#include "stream_owner.h"
#include "tide.h"
#include "write_queue.h"

#define FN_READ "tideloop:fd_read"
#define FN_WRITE "tideloop:fd_write"
#define FN_CLOSE "tideloop:fd_close"
#define FN_SHUTDOWN "tideloop:fd_shutdown"
#define FN_WAIT "tideloop:fd_wait"
#define FN_DRAIN "tideloop:fd_drain"

/* How much a host read asks for while a line is wanted: a few lines' worth, as
 * stdio's BUFSIZ, so short lines do not cost a host call each; a longer line
 * limit asks for more (capped: the buffer grows as the line arrives). */
#define LINE_READ_MIN ((size_t)4096)
#define LINE_READ_MAX ((size_t)64 * 1024)
/* The most bytes one host write carries when it gathers several queued writes
 * (a single larger write still goes out whole). */
#define BATCH_MAX ((size_t)64 * 1024)

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

static int write_queued(tide__write_queue *q);
static void write_dropped(tide__write_queue *q);

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
  tide__wq_init(&s->wq, loop, write_queued, write_dropped);
  *out_stream = s;
  return 0;
}

/* Start a host operation on one of the stream's futures, with done callback
 * cb(f, s). Returns 0 or an error, with the future released. The callback
 * runs as soon as the host answers (tide__host_op_direct): what it brings is
 * buffered or counted whatever the user did meanwhile, so nothing needs the
 * extra tick, and a read or write costs its task one dispatch round. */
static int host_op(tide_stream *s, tide_future *f, const char *name,
                   const tide_value *args, size_t nargs, tide_future_cb cb) {
  return tide__host_op_direct(s->loop, f, name, args, nargs, cb, s);
}

enum { SHUT_NONE = 0, SHUT_QUEUED, SHUT_RUNNING, SHUT_DONE };

/* --- Reading ----------------------------------------------------------------- */

static void on_read_done(tide_future *f, void *ud);
static void on_ready(tide_future *f, void *ud);

static void reader_cancelled(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)f;
  s->reader = NULL; /* the host read, if any, goes on and fills the buffer */
}

static void detach_reader(tide_stream *s) {
  tide_future_set_cancel_hook(s->reader, NULL, NULL);
  s->reader = NULL;
}

static int start_read(tide_stream *s) {
  size_t want = s->rb.max; /* a chunk: the buffer is empty, so exactly max */
  if (s->rb.kind == TIDE__READ_LINE) {
    size_t b = tide__rbuf_bound(&s->rb);
    want = b < LINE_READ_MIN ? LINE_READ_MIN : b > LINE_READ_MAX ? LINE_READ_MAX : b;
  }
  tide_value args[2];
  args[0] = tide_value_int(s->fd);
  args[1] = tide_value_int((int64_t)want);
  int rc = host_op(s, &s->hread, FN_READ, args, 2, on_read_done);
  if (rc == 0) {
    s->reading = 1;
    s->read_cb = on_read_done;
  }
  return rc;
}

/* Wait until a direct read would not wait. */
static int start_wait(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  int rc = host_op(s, &s->hread, FN_WAIT, &fd, 1, on_ready);
  if (rc == 0) {
    s->reading = 1;
    s->read_cb = on_ready;
  }
  return rc;
}

/* Take what the host holds into the buffer's room, inside this call. Returns 1
 * when something changed (bytes buffered, or end of input or an error noted:
 * serve again), 0 if nothing is there yet, TIDE_ENOSYS if the fd has no direct
 * path, or TIDE_ENOMEM (no room; nothing taken). */
static int read_direct(tide_stream *s) {
  unsigned char *at;
  size_t room;
  int rc = tide__rbuf_room(&s->rb, &at, &room);
  if (rc != 0) return rc;
  int n = tide__direct_read(s->loop, s->fd, at, room);
  if (n > 0) {
    tide__rbuf_commit(&s->rb, (size_t)n, room);
    s->nread += (uint64_t)n;
    return 1;
  }
  if (n == 0 || n == TIDE_ENOSYS) return n;
  if (n == TIDE_EOF)
    s->eof_pending = 1;
  else
    s->err_pending = n; /* the host gives it only after every byte before it */
  return 1;
}

/* Serve the request from the buffer, or from a pending EOF or error, taking
 * what the host holds directly when the buffer cannot; wait (with a wait or a
 * host read in flight) if nothing can. Returns 0 once the request is either
 * completed or waiting in s->reader; an error (future untouched) otherwise. */
static int serve(tide_stream *s, tide_future *future) {
  for (;;) {
    void *data = NULL;
    size_t len = 0;
    int rc = tide__rbuf_serve(&s->rb, s->eof_pending, &data, &len);
    if (rc == TIDE_ENOMEM) return rc;
    /* An error stays (as on fds, fd_read.c): once the bytes before it are
     * read, every request fails with it. */
    if (rc == TIDE__READ_NEED_MORE && s->err_pending != 0) rc = s->err_pending;
    if (rc != TIDE__READ_NEED_MORE) {
      if (rc == TIDE_EOF) s->eof_pending = 0; /* EOF is told once per host EOF */
      tide__rbuf_deliver(&s->rb, future, rc, data, len);
      return 0;
    }
    if (s->reading) break; /* a wait or host read is in flight already */
    rc = read_direct(s);
    if (rc == 1) continue;
    if (rc == 0)
      rc = start_wait(s);
    else if (rc == TIDE_ENOSYS)
      rc = start_read(s);
    if (rc != 0) return rc;
    break;
  }
  s->reader = future;
  tide_future_set_cancel_hook(future, reader_cancelled, s);
  return 0;
}

static int request(tide_stream *s, tide__read_kind kind, size_t max,
                   tide_future *future) {
  assert(s != NULL && future != NULL && !tide_future_done(future));
  if (s->closing) return TIDE_ECLOSED;
  if (s->reader != NULL) return TIDE_EBUSY;
  tide__rbuf_set_request(&s->rb, kind, max);
  return serve(s, future);
}

int tide_stream_read(tide_stream *s, size_t max, tide_future *future) {
  return request(s, TIDE__READ_CHUNK, max, future);
}

int tide_stream_read_line(tide_stream *s, size_t max_len, tide_future *future) {
  return request(s, TIDE__READ_LINE, max_len, future);
}

/* What a host read brought: 0 (bytes buffered, or EOF noted) or an error. */
static int take_read_result(tide_stream *s, tide_future *f) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  if (v.type == TIDE_VALUE_NONE) {
    s->eof_pending = 1; /* a host function returning nothing: end of input */
    return 0;
  }
  if (v.type != TIDE_VALUE_BYTES && v.type != TIDE_VALUE_STRING) return TIDE_EINVAL;
  if (v.as.bytes.len == 0) {
    s->eof_pending = 1;
    return 0;
  }
  rc = tide__rbuf_append(&s->rb, v.as.bytes.data, v.as.bytes.len);
  if (rc == 0) s->nread += v.as.bytes.len;
  return rc;
}

/* A host read or wait answered with rc (0: bytes buffered, or ready): serve
 * the waiting request again, if it was not cancelled meanwhile. */
static void read_answered(tide_stream *s, int rc) {
  if (rc != 0) {
    /* For every later request, after what is buffered. Also TIDE_ENOMEM:
     * unlike on fds (where it strikes before read()), the host's bytes are
     * already taken from their source and lost, so the stream is broken. */
    s->err_pending = rc;
    if (s->reader == NULL) return;
    tide_future *r = s->reader;
    detach_reader(s);
    tide_future_set_error(r, rc, NULL);
    return;
  }
  /* Cancelled meanwhile: a host read's bytes stay buffered; after a wait,
   * nothing was taken, and the bytes stay with the host. */
  if (s->reader == NULL) return;
  tide_future *r = s->reader;
  detach_reader(s);
  rc = serve(s, r); /* completes r, or waits again */
  if (rc != 0) tide_future_set_error(r, rc, NULL);
}

static void on_read_done(tide_future *f, void *ud) {
  tide_stream *s = ud;
  assert(f == &s->hread && s->reading);
  s->reading = 0;
  int rc = take_read_result(s, f);
  tide_future_release(f); /* its error, if any, was observed above */
  read_answered(s, rc);
}

/* fd_wait answered: a direct read will find something (its value, a count,
 * is only a hint). An error is the wait's own (the fd is unknown, the runtime
 * closed it): the socket's errors come through the direct read, in order. */
static void on_ready(tide_future *f, void *ud) {
  tide_stream *s = ud;
  assert(f == &s->hread && s->reading);
  s->reading = 0;
  int rc = tide_future_result(f, NULL);
  tide_future_release(f);
  read_answered(s, rc);
}

/* --- Writing ------------------------------------------------------------------ */

size_t tide_stream_write_queue_size(const tide_stream *s) {
  return s->wq.queued;
}

uint64_t tide_stream_bytes_written(const tide_stream *s) {
  return s->nwritten;
}

uint64_t tide_stream_bytes_read(const tide_stream *s) {
  return s->nread;
}

static void on_write_done(tide_future *f, void *ud);

/* The host took the bytes directly but its buffer is past its high-water mark:
 * later writes wait for fd_drain (in hwrite, as a batch of no bytes). If even
 * asking fails (out of memory), they do not wait: the host holds the bytes
 * all the same, and the next write asks again. */
static void start_drain(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  s->batch_len = 0;
  if (host_op(s, &s->hwrite, FN_DRAIN, &fd, 1, on_write_done) == 0) s->writing = 1;
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
 * inside tide__wq_push (write_queued): a request must not complete before it
 * is queued. 0 or an error (nothing started). */
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
    rc = host_op(s, &s->hwrite, FN_WRITE, args, 2, on_write_done);
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

static void after_writes(tide_stream *s);

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

static void on_write_done(tide_future *f, void *ud) {
  tide_stream *s = ud;
  assert(f == &s->hwrite && s->writing);
  int rc = take_write_result(s, f);
  tide_future_release(f);
  s->writing = 0;
  if (rc != 0) {
    tide__wq_fail(&s->wq, rc); /* the batch and everything after it */
  } else {
    batch_done(s);
    if (!tide__wq_empty(&s->wq) && (rc = start_write(s, 1)) != 0) tide__wq_fail(&s->wq, rc);
  }
  after_writes(s);
}

/* The write queue's hooks: one host write at a time carries what is queued, so
 * a write just queued starts one only if none is in flight; a dropped write may
 * be the last thing a shutdown or close waited for. */
static int write_queued(tide__write_queue *q) {
  tide_stream *s = tide__container_of(q, tide_stream, wq);
  return s->writing ? 0 : start_write(s, 0);
}

static void write_dropped(tide__write_queue *q) {
  after_writes(tide__container_of(q, tide_stream, wq));
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

/* --- Shutting down (sockets) --------------------------------------------------- */

static void finish_close(tide_stream *s);

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
  finish_close(s);
}

/* Ask the host to shut the socket down: 0, or an error (nothing started). */
static int start_shutdown(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  int rc = host_op(s, &s->hshut, FN_SHUTDOWN, &fd, 1, on_shutdown_done);
  if (rc == 0) s->shut = SHUT_RUNNING;
  return rc;
}

/* Every write queued before now has been taken (or failed): a queued shutdown
 * goes out now, and a close waits for it before the fd goes. */
static void after_writes(tide_stream *s) {
  if (s->writing || !tide__wq_empty(&s->wq)) return;
  if (s->shut == SHUT_QUEUED) {
    int rc = s->wq.err; /* a broken socket is not shut down: it failed already */
    if (rc == 0) rc = start_shutdown(s);
    if (rc != 0) shutdown_done(s, rc, NULL);
  }
  finish_close(s);
}

/* tide_stream_abort: a shutdown not done yet will not be. */
static void abandon_shutdown(tide_stream *s) {
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
    after_writes(s); /* after a write error: fails at once */
  return 0;
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
static void finish_close(tide_stream *s) {
  if (!s->closing || s->finishing || s->writing || !tide__wq_empty(&s->wq)) return;
  if (s->shut == SHUT_QUEUED || s->shut == SHUT_RUNNING) return;
  s->finishing = 1;
  if (s->flags & TIDE_STREAM_CLOSE_FD) {
    tide_value args[2];
    args[0] = tide_value_int(s->fd);
    args[1] = tide_value_int(s->aborting);
    if (host_op(s, &s->hclose, FN_CLOSE, args, 2, on_fd_closed) == 0) return;
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
    detach_reader(s);
    tide_future_cancel(f);
  }
  if (s->reading) {
    /* Nobody can read any more: abort the host read (its done callback goes
     * first, so nothing runs for it later). */
    tide_future_remove_done_callback(&s->hread, s->read_cb, s);
    tide_future_release(&s->hread);
    s->reading = 0;
  }
  after_writes(s);
}

/* The host write in flight is given up (its signal aborts; what it already
 * handed to the host may still go out before the reset), every queued write
 * fails, and fd_close is asked to reset the socket (its second argument). */
void tide_stream_abort(tide_stream *s) {
  assert(s != NULL && !s->closing && "tide_stream_abort after close");
  s->aborting = 1;
  if (s->writing) {
    tide_future_remove_done_callback(&s->hwrite, on_write_done, s);
    tide_future_release(&s->hwrite);
    s->writing = 0;
  }
  if (s->shut == SHUT_QUEUED || s->shut == SHUT_RUNNING) abandon_shutdown(s);
  if (!tide__wq_empty(&s->wq)) tide__wq_fail(&s->wq, TIDE_ECANCELED);
  tide_stream_close(s, NULL);
}
