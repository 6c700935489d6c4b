/* fd_read.c: tide_stream_read and tide_stream_read_line over the read buffer.
 *
 * A request is first served from the buffer, inline; only when the buffer cannot
 * serve it does it wait, with the fd watched for READABLE, and every readiness
 * then makes exactly one read() (a readiness promises one read will not block,
 * not two; the fd's blocking flag is never changed). Result bytes are copied out
 * of the buffer into a block the future owns, so the buffer is reused.
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fd_stream.h"

#define DEFAULT_MAX ((size_t)64 * 1024)
/* First buffer size: a terminal line or a pipe chunk fits; bulk reads double it
 * up to their max. */
#define INITIAL_CAP ((size_t)4096)

/* What serve() found: a result, or why not. */
enum { NEED_MORE = 1 };

void tide__stream_free_buffer(tide_stream *s) {
  tide_loop_dealloc(s->loop, s->buf);
  s->buf = NULL;
  s->cap = s->start = s->len = 0;
}

static void consume(tide_stream *s, size_t n) {
  s->start += n;
  s->len -= n;
  if (s->len == 0) s->start = 0;
}

/* Make the buffer at least `want` bytes (keeping its contents at the front).
 * Returns 0 or TIDE_ENOMEM, with the old buffer intact. */
static int reserve(tide_stream *s, size_t want) {
  if (want <= s->cap) return 0;
  unsigned char *nb = tide_loop_alloc(s->loop, want);
  if (nb == NULL) return TIDE_ENOMEM;
  if (s->len > 0) memcpy(nb, s->buf + s->start, s->len);
  tide_loop_dealloc(s->loop, s->buf);
  s->buf = nb;
  s->cap = want;
  s->start = 0;
  return 0;
}

/* The largest buffer a request may need: a chunk of max bytes, or a line of
 * max_len bytes plus its "\r\n" (to tell "too long" from "long, then CRLF"). */
static size_t bound(const tide_stream *s) {
  if (s->kind == READ_CHUNK) return s->max;
  return s->max > SIZE_MAX - 2 ? SIZE_MAX : s->max + 2;
}

/* Drop input up to and including the "\n" that ends an over-long line. */
static void skip_rest_of_line(tide_stream *s) {
  unsigned char *nl = s->len ? memchr(s->buf + s->start, '\n', s->len) : NULL;
  if (nl == NULL) {
    consume(s, s->len);
    return;
  }
  consume(s, (size_t)(nl - (s->buf + s->start)) + 1);
  s->skipping = 0;
}

/* Copy n buffered bytes into a new block (at least 1 byte, so an empty line
 * still has a non-NULL pointer) and consume `used` bytes. */
static int take(tide_stream *s, size_t n, size_t used, void **out) {
  unsigned char *p = tide_loop_alloc(s->loop, n ? n : 1);
  if (p == NULL) return TIDE_ENOMEM; /* nothing consumed: nothing lost */
  memcpy(p, s->buf + s->start, n);
  consume(s, used);
  *out = p;
  return 0;
}

static int serve_line(tide_stream *s, int eof, void **out, size_t *out_len) {
  const unsigned char *p = s->buf + s->start;
  const unsigned char *nl = s->len ? memchr(p, '\n', s->len) : NULL;
  size_t n;
  if (nl != NULL) {
    size_t end = (size_t)(nl - p);
    n = end > 0 && p[end - 1] == '\r' ? end - 1 : end;
    if (n > s->max) {
      consume(s, end + 1);
      return TIDE_EMSGSIZE;
    }
    *out_len = n;
    return take(s, n, end + 1, out);
  }
  if (eof) {
    if (s->len == 0) return TIDE_EOF;
    if (s->len > s->max) { /* the last line, too long: nothing follows it */
      consume(s, s->len);
      return TIDE_EMSGSIZE;
    }
    *out_len = s->len;
    return take(s, s->len, s->len, out);
  }
  /* No newline yet. max_len bytes and a "\r" may still end well; more may not.
   * (Written as len - 1 against max so that a huge max cannot overflow.) */
  if (s->len > 0 &&
      (s->len - 1 > s->max || (s->len - 1 == s->max && p[s->max] != '\r'))) {
    consume(s, s->len);
    s->skipping = 1;
    return TIDE_EMSGSIZE;
  }
  return NEED_MORE;
}

/* Serve the request (kind, max) from the buffer: 0 with the bytes, NEED_MORE,
 * or an error: TIDE_EOF, TIDE_EMSGSIZE (the line was consumed), TIDE_ENOMEM
 * (nothing was consumed). */
static int serve(tide_stream *s, int eof, void **out, size_t *out_len) {
  if (s->skipping) {
    skip_rest_of_line(s);
    if (s->skipping) {
      if (!eof) return NEED_MORE;
      s->skipping = 0; /* the over-long line ended with the input */
    }
  }
  if (s->kind == READ_LINE) return serve_line(s, eof, out, out_len);
  if (s->len == 0) return eof ? TIDE_EOF : NEED_MORE;
  *out_len = s->len < s->max ? s->len : s->max;
  return take(s, *out_len, *out_len, out);
}

/* Complete future with what serve() returned. The caller cleared s->reader. */
static void deliver(tide_stream *s, tide_future *f, int rc, void *data, size_t len) {
  if (rc != 0) {
    tide_future_set_error(f, rc, NULL);
    return;
  }
  if (tide_future_set_bytes(f, data, len, tide__stream_free_bytes, s->loop) != 0)
    tide_loop_dealloc(s->loop, data); /* misuse: someone else completed it */
}

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

static int request(tide_stream *s, read_kind kind, size_t max, tide_future *future) {
  assert(s != NULL && future != NULL && !tide_future_done(future));
  if (s->closing) return TIDE_ECLOSED;
  if (s->reader != NULL) return TIDE_EBUSY;
  s->kind = kind;
  s->max = max ? max : DEFAULT_MAX;
  void *data = NULL;
  size_t len = 0;
  int rc = serve(s, 0, &data, &len);
  if (rc == TIDE_ENOMEM) return rc; /* the future is untouched */
  if (rc != NEED_MORE) {
    deliver(s, future, rc, data, len);
    return 0;
  }
  /* Waiting needs some room to read into; the rest grows on demand. */
  if (s->cap == 0) {
    size_t b = bound(s);
    if (reserve(s, b < INITIAL_CAP ? b : INITIAL_CAP) != 0) return TIDE_ENOMEM;
  }
  s->reader = future;
  rc = tide__stream_watch(s);
  if (rc != 0) {
    s->reader = NULL;
    return rc;
  }
  tide_future_set_cancel_hook(future, reader_cancelled, s);
  return 0;
}

int tide_stream_read(tide_stream *s, size_t max, tide_future *future) {
  return request(s, READ_CHUNK, max, future);
}

int tide_stream_read_line(tide_stream *s, size_t max_len, tide_future *future) {
  return request(s, READ_LINE, max_len, future);
}

/* Room for the next read(): move the data to the front, and grow (doubling,
 * up to the request's bound) when the buffer is full, or when a chunk read last
 * time filled all the room it had. Only a full buffer must grow; otherwise a
 * failed growth just reads into the room there is. */
static int make_room(tide_stream *s) {
  if (s->start > 0) {
    memmove(s->buf, s->buf + s->start, s->len);
    s->start = 0;
  }
  size_t b = bound(s);
  size_t first = b < INITIAL_CAP ? b : INITIAL_CAP;
  int full = s->len == s->cap;
  if ((full || s->grow_chunk || s->cap < first) && s->cap < b) {
    /* A buffer left small by an earlier request starts over at `first`. */
    size_t want = s->cap < first ? first : s->cap > b / 2 ? b : s->cap * 2;
    if (reserve(s, want) != 0 && full) return TIDE_ENOMEM;
  }
  return 0;
}

/* The READABLE half of the io callback: one read(), then serve the reader. */
void tide__stream_on_readable(tide_stream *s) {
  tide_future *f = s->reader;
  int rc = make_room(s);
  int eof = 0;
  if (rc == 0) {
    size_t room = s->cap - s->len;
    if (s->kind == READ_CHUNK && room > s->max) room = s->max;
    assert(room > 0); /* a full buffer grew or was refused above: read() 0 is EOF */
    ssize_t n;
    do
      n = read(s->fd, s->buf + s->len, room);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* spurious: wait on */
      rc = tide__stream_errno(errno);
    } else if (n == 0) {
      eof = 1;
    } else {
      s->len += (size_t)n;
      s->grow_chunk = s->kind == READ_CHUNK && (size_t)n == room;
    }
  }
  void *data = NULL;
  size_t len = 0;
  if (rc == 0) rc = serve(s, eof, &data, &len);
  if (rc == NEED_MORE) return;
  tide__stream_cancel_reader(s);
  deliver(s, f, rc, data, len);
}
