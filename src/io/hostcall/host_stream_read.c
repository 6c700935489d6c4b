/* host_stream_read.c: tide_stream_read and tide_stream_read_line on the JS host.
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
 */

#include <assert.h>
#include <stdint.h>

#include "host_direct.h"
#include "host_stream.h"
#include "read_buffer.h"
#include "tide.h"

#define FN_READ "tideloop:fd_read"
#define FN_WAIT "tideloop:fd_wait"

/* How much a host read asks for while a line is wanted: a few lines' worth, as
 * stdio's BUFSIZ, so short lines do not cost a host call each; a longer line
 * limit asks for more (capped: the buffer grows as the line arrives). */
#define LINE_READ_MIN ((size_t)4096)
#define LINE_READ_MAX ((size_t)64 * 1024)

static void on_read_done(tide_future *f, void *ud);
static void on_ready(tide_future *f, void *ud);

static void reader_cancelled(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)f;
  s->reader = NULL; /* the host read, if any, goes on and fills the buffer */
}

void tide__stream_detach_reader(tide_stream *s) {
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
  int rc = tide__stream_host_op(s, &s->hread, FN_READ, args, 2, on_read_done);
  if (rc == 0) {
    s->reading = 1;
    s->read_cb = on_read_done;
  }
  return rc;
}

/* Wait until a direct read would not wait. */
static int start_wait(tide_stream *s) {
  tide_value fd = tide_value_int(s->fd);
  int rc = tide__stream_host_op(s, &s->hread, FN_WAIT, &fd, 1, on_ready);
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
    tide__stream_detach_reader(s);
    tide_future_set_error(r, rc, NULL);
    return;
  }
  /* Cancelled meanwhile: a host read's bytes stay buffered; after a wait,
   * nothing was taken, and the bytes stay with the host. */
  if (s->reader == NULL) return;
  tide_future *r = s->reader;
  tide__stream_detach_reader(s);
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

uint64_t tide_stream_bytes_read(const tide_stream *s) {
  return s->nread;
}
