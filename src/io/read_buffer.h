/* read_buffer.h: the read side every stream shares: a buffer of received bytes
 * that nobody has read yet, and the rules that cut it into read results.
 *
 * Whatever fills it (read() on an fd in fd_read.c, a host function's bytes on
 * the JS host in host_stream_read.c), the same code decides what a tide_stream_read
 * or tide_stream_read_line delivers, so every host splits lines, reports
 * over-long ones and signals end of input alike. It needs nothing but the
 * loop's allocator and the public future API, and calls no libc I/O.
 */
#ifndef TIDE_IO_READ_BUFFER_H
#define TIDE_IO_READ_BUFFER_H

#include <stddef.h>

#include "tide.h"

/* What the pending request wants: up to max bytes, or one line of at most max
 * bytes (without its "\n" or "\r\n"). */
typedef enum tide__read_kind {
  TIDE__READ_CHUNK = 0,
  TIDE__READ_LINE = 1
} tide__read_kind;

/* serve(): the buffer cannot answer the request yet (not an error code: > 0). */
enum { TIDE__READ_NEED_MORE = 1 };

/* The buffer holds buf[start .. start+len): bytes received that no read has
 * delivered yet. Requests are served from it; only what a request cannot get
 * from it is asked of the source, so a stream never reads what nobody asked for.
 *
 * Invariants: start + len <= cap; len == 0 implies start == 0; skipping means
 * input up to the next "\n" belongs to an over-long line already reported and is
 * discarded as it arrives. kind and max describe the request being served (max is
 * never 0: 0 from the user means the default). */
typedef struct tide__read_buffer {
  tide_loop *loop; /* allocates buf and every result */
  unsigned char *buf;
  size_t cap, start, len;
  int skipping;
  int grow_chunk; /* the last chunk read filled the room: grow before the next */
  tide__read_kind kind;
  size_t max;
} tide__read_buffer;

void tide__rbuf_init(tide__read_buffer *rb, tide_loop *loop);
/* Free the buffer (the struct is the caller's); what was buffered is dropped. */
void tide__rbuf_free(tide__read_buffer *rb);

/* Describe the next request: kind and max (0: the default, 64 KiB). */
void tide__rbuf_set_request(tide__read_buffer *rb, tide__read_kind kind, size_t max);
/* The most a source read should bring for the current request: a chunk's max,
 * or a line's max plus its "\r\n". */
size_t tide__rbuf_bound(const tide__read_buffer *rb);

/* Serve the current request from the buffer; eof says the source has ended
 * (nothing more will come for it). Returns 0 with a new block of *out_len bytes
 * in *out (from the loop's allocator, at least 1 byte, so an empty line has a
 * non-NULL pointer), TIDE__READ_NEED_MORE, TIDE_EOF, TIDE_EMSGSIZE (the
 * over-long line was consumed or will be skipped), or TIDE_ENOMEM (nothing was
 * consumed). */
int tide__rbuf_serve(tide__read_buffer *rb, int eof, void **out, size_t *out_len);
/* Complete future with what serve() returned (0 with data, or an error code). On
 * success the future owns data (freed through the loop). */
void tide__rbuf_deliver(tide__read_buffer *rb, tide_future *future, int rc, void *data,
                        size_t len);

/* For a source that reads into the buffer (read()): make room for the next read
 * and say where it goes and how much it may bring. Returns 0 (room > 0) or
 * TIDE_ENOMEM when a full buffer cannot grow. Room is at most the request's max
 * for a chunk, so a read never takes more than was asked for. */
int tide__rbuf_room(tide__read_buffer *rb, unsigned char **out_at, size_t *out_room);
/* n bytes (<= room) arrived where tide__rbuf_room said. */
void tide__rbuf_commit(tide__read_buffer *rb, size_t n, size_t room);
/* Before a request waits: make sure some room exists (first buffer). 0 or
 * TIDE_ENOMEM. */
int tide__rbuf_reserve_first(tide__read_buffer *rb);

/* For a source that hands over bytes (a host function): append a copy of
 * data[0..n). 0 or TIDE_ENOMEM (nothing appended). */
int tide__rbuf_append(tide__read_buffer *rb, const void *data, size_t n);

/* The free function of every result block: ud is the loop. */
void tide__rbuf_free_bytes(void *data, void *ud);

#endif /* TIDE_IO_READ_BUFFER_H */
