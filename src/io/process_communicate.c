/* process_communicate.c: tide_process_communicate, asyncio's communicate(), on
 * the process's pipe streams alone (so it is the same code on every host).
 *
 * One block holds the whole exchange: the input write, and one reader per
 * output pipe that reads until end of input into a buffer that doubles as it
 * fills. Both readers run at once, so a child that blocks writing to stderr
 * while this side waits on stdout cannot happen. Each part closes its stream
 * when it ends; the block is freed when the last part has ended.
 *
 * Cancelling out (or err) stops that reader and closes its pipe (the child may
 * then die of SIGPIPE if it keeps writing): a cancelled exchange is over.
 */
#include <assert.h>
#include <string.h>

#include "process.h"
#include "stream_owner.h"

typedef struct reader {
  struct exchange *x;
  tide_stream *stream;
  tide_future *out;  /* the caller's, or NULL: drain and drop */
  tide_future read;  /* the read in flight */
  unsigned char *buf;
  size_t len, cap;
  int live;          /* reading (read is pending or about to be) */
} reader;

typedef struct exchange {
  tide_loop *loop;
  unsigned parts;    /* readers and the input write still going */
  tide_stream *in;
  tide_future write; /* the input write */
  reader r[2];       /* stdout, stderr */
} exchange;

static void part_done(exchange *x) {
  assert(x->parts > 0);
  if (--x->parts > 0) return;
  tide_loop_dealloc(x->loop, x);
}

static void free_buf(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* Grow r's buffer to hold at least need bytes: 0 or TIDE_ENOMEM. */
static int reserve(reader *r, size_t need) {
  if (need <= r->cap) return 0;
  size_t cap = r->cap < 4096 ? 4096 : r->cap;
  while (cap < need) cap *= 2;
  tide_loop *loop = r->x->loop;
  void *p = loop->priv_alloc(loop->priv_alloc_ud, r->buf, cap);
  if (p == NULL) return TIDE_ENOMEM;
  r->buf = p;
  r->cap = cap;
  return 0;
}

/* The reader is over, with code (0: end of input reached) and message. */
static void reader_end(reader *r, int code, const char *message) {
  r->live = 0;
  if (r->out != NULL) {
    tide_future_set_cancel_hook(r->out, NULL, NULL);
    if (code == 0 && tide_future_set_bytes(r->out, r->buf, r->len, free_buf, r->x->loop) == 0)
      r->buf = NULL; /* the future's now */
    else if (code != 0)
      tide_future_set_error(r->out, code, message);
  }
  if (r->buf != NULL) tide_loop_dealloc(r->x->loop, r->buf);
  r->buf = NULL;
  tide_stream_close(r->stream, NULL);
  r->stream = NULL;
  part_done(r->x);
}

static void read_more(reader *r);

static void on_read(tide_future *f, void *ud) {
  reader *r = ud;
  void *data;
  size_t n;
  int rc = tide_future_take_bytes(f, &data, &n);
  const char *message = rc != 0 ? tide_future_error_message(f) : NULL;
  if (rc == 0) {
    int grow = r->out != NULL ? reserve(r, r->len + n) : 0;
    if (grow == 0 && r->out != NULL) {
      memcpy(r->buf + r->len, data, n);
      r->len += n;
    }
    tide_loop_dealloc(r->x->loop, data);
    if (grow != 0) {
      rc = grow;
      message = "communicate: no memory for the output";
    }
  }
  /* Copied above where needed: the message lives in f until it is released. */
  if (rc != 0) {
    int code = rc == TIDE_EOF ? 0 : rc;
    char copy[160] = "";
    if (message != NULL) {
      strncpy(copy, message, sizeof copy - 1);
    }
    tide_future_release(f);
    reader_end(r, code, copy[0] != '\0' ? copy : NULL);
    return;
  }
  tide_future_release(f);
  read_more(r);
}

static void read_more(reader *r) {
  tide_future_init(r->x->loop, &r->read);
  int rc = tide_stream_read(r->stream, 0, &r->read);
  if (rc == 0) rc = tide_future_add_done_callback(&r->read, on_read, r);
  if (rc != 0) {
    tide_future_release(&r->read);
    reader_end(r, rc, "communicate: cannot read the child's output");
  }
}

/* The caller gave up on this output: stop reading, close the pipe. */
static void out_cancelled(tide_future *f, void *ud) {
  reader *r = ud;
  (void)f;
  r->out = NULL;
  if (!r->live) return;
  tide_future_remove_done_callback(&r->read, on_read, r);
  tide_future_release(&r->read); /* cancels the read */
  reader_end(r, 0, NULL);
}

static void on_written(tide_future *f, void *ud) {
  exchange *x = ud;
  /* A child that exits without reading its input is not an error here. */
  (void)tide_future_result(f, NULL);
  tide_future_release(f);
  tide_stream_close(x->in, NULL);
  part_done(x);
}

/* NULL (not wanted) or a future a process call may take. */
static int usable(tide_loop *loop, const tide_future *f) {
  return f == NULL || tide__process_future_usable(loop, f);
}

int tide_process_communicate(tide_process *p, const void *input, size_t len,
                             tide_future *out, tide_future *err) {
  assert(p != NULL && !p->released);
  assert(input != NULL || len == 0);
  if (len > 0 && p->stdio[0] == NULL) return TIDE_EINVAL;
  if (!usable(p->loop, out) || !usable(p->loop, err) || (out != NULL && out == err))
    return TIDE_EINVAL;
  exchange *x = tide_loop_alloc(p->loop, sizeof *x);
  if (x == NULL) return TIDE_ENOMEM;
  memset(x, 0, sizeof *x);
  x->loop = p->loop;
  x->parts = 1; /* held while starting, so no part can free x meanwhile */

  /* The pipes become the exchange's: a close of ours must not clear p's
   * slots (p may be released first), so they are taken out of p now. */
  for (int i = 0; i < 3; i++)
    if (p->stdio[i] != NULL) tide__stream_set_owner(p->stdio[i], NULL);
  if (p->stdio[0] != NULL) {
    x->in = p->stdio[0];
    tide_future_init(x->loop, &x->write);
    if (len > 0 && tide_stream_write(x->in, input, len, &x->write) == 0 &&
        tide_future_add_done_callback(&x->write, on_written, x) == 0) {
      x->parts++;
    } else {
      /* No input (or no memory to queue it: asyncio's communicate would raise;
       * the child then just sees end of input, and its output tells). */
      tide_future_release(&x->write);
      tide_stream_close(x->in, NULL);
    }
    p->stdio[0] = NULL;
  }
  tide_future *outs[2] = {out, err};
  for (int i = 0; i < 2; i++) {
    reader *r = &x->r[i];
    r->x = x;
    r->out = outs[i];
    r->stream = p->stdio[i + 1];
    p->stdio[i + 1] = NULL;
    if (r->stream == NULL) {
      if (r->out != NULL) tide_future_set_bytes(r->out, NULL, 0, NULL, NULL);
      continue;
    }
    x->parts++;
    r->live = 1;
    if (r->out != NULL) tide_future_set_cancel_hook(r->out, out_cancelled, r);
    read_more(r);
  }
  part_done(x);
  return 0;
}
