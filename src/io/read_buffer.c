/* read_buffer.c: the shared read side of streams: buffering, and serving chunk
 * and line requests from the buffer (see read_buffer.h).
 *
 * Result bytes are copied out of the buffer into a block the future owns, so
 * the buffer is reused; a line longer than its max is reported once
 * (TIDE_EMSGSIZE) and skipped up to its newline, however it arrives.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "read_buffer.h"

#define DEFAULT_MAX ((size_t)64 * 1024)
/* First buffer size: a terminal line or a pipe chunk fits; bulk reads double it
 * up to their max. */
#define INITIAL_CAP ((size_t)4096)

void tide__rbuf_free_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

void tide__rbuf_init(tide__read_buffer *rb, tide_loop *loop) {
  memset(rb, 0, sizeof *rb);
  rb->loop = loop;
  rb->max = DEFAULT_MAX;
}

void tide__rbuf_free(tide__read_buffer *rb) {
  tide_loop_dealloc(rb->loop, rb->buf);
  rb->buf = NULL;
  rb->cap = rb->start = rb->len = 0;
}

void tide__rbuf_set_request(tide__read_buffer *rb, tide__read_kind kind, size_t max) {
  rb->kind = kind;
  rb->max = max ? max : DEFAULT_MAX;
}

static void consume(tide__read_buffer *rb, size_t n) {
  rb->start += n;
  rb->len -= n;
  if (rb->len == 0) rb->start = 0;
}

/* Make the buffer at least `want` bytes (keeping its contents at the front).
 * Returns 0 or TIDE_ENOMEM, with the old buffer intact. */
static int reserve(tide__read_buffer *rb, size_t want) {
  if (want <= rb->cap) return 0;
  unsigned char *nb = tide_loop_alloc(rb->loop, want);
  if (nb == NULL) return TIDE_ENOMEM;
  if (rb->len > 0) memcpy(nb, rb->buf + rb->start, rb->len);
  tide_loop_dealloc(rb->loop, rb->buf);
  rb->buf = nb;
  rb->cap = want;
  rb->start = 0;
  return 0;
}

/* The largest buffer a request may need: a chunk of max bytes, or a line of
 * max_len bytes plus its "\r\n" (to tell "too long" from "long, then CRLF"). */
size_t tide__rbuf_bound(const tide__read_buffer *rb) {
  if (rb->kind == TIDE__READ_CHUNK) return rb->max;
  return rb->max > SIZE_MAX - 2 ? SIZE_MAX : rb->max + 2;
}

/* Drop input up to and including the "\n" that ends an over-long line. */
static void skip_rest_of_line(tide__read_buffer *rb) {
  unsigned char *nl = rb->len ? memchr(rb->buf + rb->start, '\n', rb->len) : NULL;
  if (nl == NULL) {
    consume(rb, rb->len);
    return;
  }
  consume(rb, (size_t)(nl - (rb->buf + rb->start)) + 1);
  rb->skipping = 0;
}

/* Copy n buffered bytes into a new block (at least 1 byte, so an empty line
 * still has a non-NULL pointer) and consume `used` bytes. */
static int take(tide__read_buffer *rb, size_t n, size_t used, void **out) {
  unsigned char *p = tide_loop_alloc(rb->loop, n ? n : 1);
  if (p == NULL) return TIDE_ENOMEM; /* nothing consumed: nothing lost */
  memcpy(p, rb->buf + rb->start, n);
  consume(rb, used);
  *out = p;
  return 0;
}

static int serve_line(tide__read_buffer *rb, int eof, void **out, size_t *out_len) {
  const unsigned char *p = rb->buf + rb->start;
  const unsigned char *nl = rb->len ? memchr(p, '\n', rb->len) : NULL;
  size_t n;
  if (nl != NULL) {
    size_t end = (size_t)(nl - p);
    n = end > 0 && p[end - 1] == '\r' ? end - 1 : end;
    if (n > rb->max) {
      consume(rb, end + 1);
      return TIDE_EMSGSIZE;
    }
    *out_len = n;
    return take(rb, n, end + 1, out);
  }
  if (eof) {
    if (rb->len == 0) return TIDE_EOF;
    if (rb->len > rb->max) { /* the last line, too long: nothing follows it */
      consume(rb, rb->len);
      return TIDE_EMSGSIZE;
    }
    *out_len = rb->len;
    return take(rb, rb->len, rb->len, out);
  }
  /* No newline yet. max_len bytes and a "\r" may still end well; more may not.
   * (Written as len - 1 against max so that a huge max cannot overflow.) */
  if (rb->len > 0 &&
      (rb->len - 1 > rb->max || (rb->len - 1 == rb->max && p[rb->max] != '\r'))) {
    consume(rb, rb->len);
    rb->skipping = 1;
    return TIDE_EMSGSIZE;
  }
  return TIDE__READ_NEED_MORE;
}

int tide__rbuf_serve(tide__read_buffer *rb, int eof, void **out, size_t *out_len) {
  if (rb->skipping) {
    skip_rest_of_line(rb);
    if (rb->skipping) {
      if (!eof) return TIDE__READ_NEED_MORE;
      rb->skipping = 0; /* the over-long line ended with the input */
    }
  }
  if (rb->kind == TIDE__READ_LINE) return serve_line(rb, eof, out, out_len);
  if (rb->len == 0) return eof ? TIDE_EOF : TIDE__READ_NEED_MORE;
  *out_len = rb->len < rb->max ? rb->len : rb->max;
  return take(rb, *out_len, *out_len, out);
}

void tide__rbuf_deliver(tide__read_buffer *rb, tide_future *f, int rc, void *data,
                        size_t len) {
  if (rc != 0) {
    tide_future_set_error(f, rc, NULL);
    return;
  }
  if (tide_future_set_bytes(f, data, len, tide__rbuf_free_bytes, rb->loop) != 0)
    tide_loop_dealloc(rb->loop, data); /* misuse: someone else completed it */
}

int tide__rbuf_reserve_first(tide__read_buffer *rb) {
  if (rb->cap > 0) return 0;
  size_t b = tide__rbuf_bound(rb);
  return reserve(rb, b < INITIAL_CAP ? b : INITIAL_CAP);
}

/* Move the data to the front, and grow (doubling, up to the request's bound)
 * when the buffer is full, or when a chunk read last time filled all the room it
 * had. Only a full buffer must grow; otherwise a failed growth just reads into
 * the room there is. */
int tide__rbuf_room(tide__read_buffer *rb, unsigned char **out_at, size_t *out_room) {
  if (rb->start > 0) {
    memmove(rb->buf, rb->buf + rb->start, rb->len);
    rb->start = 0;
  }
  size_t b = tide__rbuf_bound(rb);
  size_t first = b < INITIAL_CAP ? b : INITIAL_CAP;
  int full = rb->len == rb->cap;
  if ((full || rb->grow_chunk || rb->cap < first) && rb->cap < b) {
    /* A buffer left small by an earlier request starts over at `first`. */
    size_t want = rb->cap < first ? first : rb->cap > b / 2 ? b : rb->cap * 2;
    if (reserve(rb, want) != 0 && full) return TIDE_ENOMEM;
  }
  size_t room = rb->cap - rb->len;
  if (rb->kind == TIDE__READ_CHUNK && room > rb->max) room = rb->max;
  /* A full buffer grew or was refused above, so there is room: a read of 0
   * bytes would mean end of input, never "no room". */
  assert(room > 0);
  *out_at = rb->buf + rb->len;
  *out_room = room;
  return 0;
}

void tide__rbuf_commit(tide__read_buffer *rb, size_t n, size_t room) {
  assert(n <= room && rb->start == 0 && rb->len + n <= rb->cap);
  rb->len += n;
  rb->grow_chunk = rb->kind == TIDE__READ_CHUNK && n == room;
}

int tide__rbuf_append(tide__read_buffer *rb, const void *data, size_t n) {
  if (n == 0) return 0;
  if (n > SIZE_MAX - rb->len) return TIDE_ENOMEM;
  if (rb->cap - rb->start - rb->len < n) {
    if (rb->cap - rb->len >= n) {
      memmove(rb->buf, rb->buf + rb->start, rb->len); /* the room is at the front */
      rb->start = 0;
    } else {
      /* Grow geometrically, so a long line arriving in small pieces costs
       * amortised linear copying. */
      size_t want = rb->len + n;
      if (want < INITIAL_CAP) want = INITIAL_CAP;
      if (rb->cap <= SIZE_MAX / 2 && want < rb->cap * 2) want = rb->cap * 2;
      if (reserve(rb, want) != 0) return TIDE_ENOMEM;
    }
  }
  memcpy(rb->buf + rb->start + rb->len, data, n);
  rb->len += n;
  return 0;
}
