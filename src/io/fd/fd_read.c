/* fd_read.c: tide_stream_read and tide_stream_read_line on an fd.
 *
 * A request is first served from the stream's read buffer (read_buffer.c), inline;
 * only when the buffer cannot serve it does it wait, with the fd watched for
 * READABLE, and every readiness then makes exactly one read() (a readiness
 * promises one read will not block, not two; the fd's blocking flag is never
 * changed).
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <unistd.h>

#include "fd_stream.h"

/* The reader's future was cancelled or released: forget it; whatever was read
 * for it stays buffered for the next request. */
static void reader_cancelled(tide_future *f, void *ud) {
  tide_stream *s = ud;
  (void)f;
  s->reader = NULL;
  tide__stream_rewatch(s);
}

void tide__stream_cancel_reader(tide_stream *s) {
  tide_future_set_cancel_hook(s->reader, NULL, NULL);
  s->reader = NULL;
}

static int request(tide_stream *s, tide__read_kind kind, size_t max,
                   tide_future *future) {
  assert(s != NULL && future != NULL && !tide_future_done(future));
  if (s->closing) return TIDE_ECLOSED;
  if (s->reader != NULL) return TIDE_EBUSY;
  tide__rbuf_set_request(&s->rb, kind, max);
  void *data = NULL;
  size_t len = 0;
  int rc = tide__rbuf_serve(&s->rb, 0, &data, &len);
  if (rc == TIDE_ENOMEM) return rc; /* the future is untouched */
  if (rc == TIDE__READ_NEED_MORE && s->rerr != 0) rc = s->rerr;
  if (rc != TIDE__READ_NEED_MORE) {
    tide__rbuf_deliver(&s->rb, future, rc, data, len);
    return 0;
  }
  /* Waiting needs some room to read into; the rest grows on demand. */
  if (tide__rbuf_reserve_first(&s->rb) != 0) return TIDE_ENOMEM;
  s->reader = future;
  s->linger = s->owned_nonblocking;
  rc = tide__stream_watch(s);
  if (rc != 0) {
    s->reader = NULL;
    return rc;
  }
  tide_future_set_cancel_hook(future, reader_cancelled, s);
  return 0;
}

int tide_stream_read(tide_stream *s, size_t max, tide_future *future) {
  return request(s, TIDE__READ_CHUNK, max, future);
}

int tide_stream_read_line(tide_stream *s, size_t max_len, tide_future *future) {
  return request(s, TIDE__READ_LINE, max_len, future);
}

uint64_t tide_stream_bytes_read(const tide_stream *s) {
  return s->bytes_read;
}

/* The READABLE half of the io callback: one read(), then serve the reader. */
void tide__stream_on_readable(tide_stream *s) {
  tide_future *f = s->reader;
  unsigned char *at;
  size_t room;
  int eof = 0;
  int rc = tide__rbuf_room(&s->rb, &at, &room);
  if (rc == 0) {
    ssize_t n;
    do
      n = s->is_socket ? recv(s->fd, at, room, 0) : read(s->fd, at, room);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* spurious: wait on */
      rc = s->rerr = tide__errno_code(errno);
    } else if (n == 0) {
      eof = 1;
    } else {
      tide__rbuf_commit(&s->rb, (size_t)n, room);
      s->bytes_read += (uint64_t)n;
    }
  }
  void *data = NULL;
  size_t len = 0;
  if (rc == 0) rc = tide__rbuf_serve(&s->rb, eof, &data, &len);
  if (rc == TIDE__READ_NEED_MORE) return;
  tide__stream_cancel_reader(s);
  tide__rbuf_deliver(&s->rb, f, rc, data, len);
}
