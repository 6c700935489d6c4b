/* host_ws.c: WebSocket messages on the JS host, over host functions the
 * runtime provides where the engine has a WebSocket (js/src/ws.mjs; src/backend/js/ABI.md,
 * "WebSockets"):
 *
 *   "tideloop:ws_connect"(url)             -> id, once the handshake is done
 *   "tideloop:ws_send"(id, bytes, binary)  -> bytes.length, once the host's
 *                                             send buffer is below its bound
 *   "tideloop:ws_recv"(id, max)            -> the next message: a kind byte
 *                                             (0 text, 1 binary), then its bytes
 *   "tideloop:ws_close"(id)                -> once the close event came
 *
 * The API and its semantics are those of tide.h ("WebSocket messages"); what
 * this file decides:
 *
 * - A host without these functions (no WebSocket) answers "no such host
 *   function" (TIDE_ENOENT); that means TIDE_ENOSYS here, and it arrives
 *   through the connect's future, since only the host knows.
 * - Each send is one host call, made at once: the host hands the message to
 *   its WebSocket in call order, so messages go out in the order C sent them,
 *   and C queues nothing (the browser's send buffer is the queue; the future
 *   completing only once that buffer is below the bound is the backpressure).
 *   Cancelling a send the host has not started drops the message; one the host
 *   has started is already on the socket, and the future just stops waiting.
 * - Text must be UTF-8 (a WebSocket text message is): checked here, so that a
 *   bad one is TIDE_EINVAL at once, not after a round trip.
 * - One receive at a time, one host call each. Nothing is lost to
 *   cancellation: a cancelled receive aborts its host call, and the host keeps
 *   the message for the next one, also when its answer was already on the way
 *   (the signal aborts when C drops a value: src/backend/js/ABI.md). An answer that has
 *   reached C but not yet the caller is held here for the next receive.
 * - The peer's close (TIDE_EOF, TIDE_ECONNRESET) is remembered, so every later
 *   receive gets it without asking, and a send fails with TIDE_ECLOSED at once.
 * - A tide_ws is registered with the loop (tide_loop_close says TIDE_EBUSY
 *   until it is closed) by a never-started timer handle, as streams are; its
 *   memory goes in that handle's close callback. The same object carries the
 *   connect, so a successful handshake needs no allocation after the fact.
 *
 * Natively and under WASI src/io/enosys/no_websocket.c answers TIDE_ENOSYS.
 */

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "host_op.h"
#include "tide.h"

#define FN_CONNECT "tideloop:ws_connect"
#define FN_SEND "tideloop:ws_send"
#define FN_RECV "tideloop:ws_recv"
#define FN_CLOSE "tideloop:ws_close"

/* tide_ws_recv's max when the caller passes 0 (tide.h). */
#define RECV_MAX_DEFAULT ((size_t)1 << 20)
/* Ids are C ints on the host's side (ws.mjs), exact in a double. */
#define ID_MAX 2147483647.0

enum { KIND_TEXT = 0, KIND_BINARY = 1 };

/* Invariants:
 * - id != 0 once the handshake is done (and the ws handed to the caller, or
 *   about to be closed because the caller went away).
 * - connect_user: the caller's connect future while the connect (cop) is
 *   pending; it carries a cancel hook of ours.
 * - receiving: rop is a pending host receive whose done callback is on_recv;
 *   reader (with its hook) is the caller's future it completes, reader_binary
 *   where to store the kind, reader_max its limit. At most one.
 * - held: a message that reached C for a receive cancelled before it
 *   completed (loop-allocated, held_len bytes, held_binary); the next receive
 *   gets it before asking the host.
 * - end: TIDE_EOF or TIDE_ECONNRESET once the host reported the peer's close;
 *   every later receive gets it.
 * - closing: tide_ws_close was called; xop (the host's close) runs, then reg
 *   closes and its callback completes close_future and frees the object. */
struct tide_ws {
  tide_timer reg; /* never started; reg.handle.data points back at the ws */
  tide_loop *loop;
  int64_t id;
  int closing;
  int end;

  /* Connecting. */
  tide_future cop;
  tide_future *connect_user;

  /* Receiving. */
  tide_future rop;
  int receiving;
  tide_future *reader;
  int *reader_binary;
  size_t reader_max;
  unsigned char *held;
  size_t held_len;
  int held_binary;

  /* Closing. */
  tide_future xop;
  tide_future *close_future;
  int close_rc;
};

/* One send in flight: independent of the tide_ws, so a close need not wait
 * for the sends before it (the host sends their messages before its close). */
typedef struct ws_send {
  tide_loop *loop;
  tide_future hop;
  tide_future *user; /* NULL: none given, or cancelled */
  int report;        /* no future was given: a failure goes to the error handler */
  size_t len;
} ws_send;

/* --- Shared helpers ------------------------------------------------------- */

/* The message of TIDE_ENOSYS when the host lacks the functions. */
#define UNAVAILABLE "WebSocket is not available on this host"

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* A well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), as the host's strict decoder and every peer want. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t k;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the byte after the lead */
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      k = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      if (c == 0xE0) lo = 0xA0; /* overlong */
      if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      if (c == 0xF0) lo = 0x90; /* overlong */
      if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
      return 0;
    }
    if (n - i <= k) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t j = 2; j <= k; j++)
      if ((s[i + j] & 0xC0) != 0x80) return 0;
    i += k + 1;
  }
  return 1;
}

/* The end of the connection that stays: later receives get it too. Other
 * errors (a message too long, no memory for one) concern one message. */
static int is_end(int rc) {
  return rc == TIDE_EOF || rc == TIDE_ECONNRESET;
}

/* --- Registration --------------------------------------------------------- */

static void ws_freed(tide_handle *h) {
  tide_ws *ws = h->data;
  tide_loop *loop = ws->loop;
  tide_future *f = ws->close_future;
  if (f != NULL) {
    tide_future_set_cancel_hook(f, NULL, NULL);
    if (ws->close_rc == 0)
      tide_future_set_int(f, 0);
    else
      tide_future_set_error(f, ws->close_rc, NULL);
  }
  tide_loop_dealloc(loop, ws->held);
  tide_loop_dealloc(loop, ws);
}

static void on_closed(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  ws->close_rc = tide_future_result(f, NULL); /* observed: reported via the future */
  if (ws->close_rc == TIDE_ECANCELED) ws->close_rc = 0; /* the runtime closed: gone */
  tide_future_release(f);
  tide_handle_close(&ws->reg.handle, ws_freed);
}

/* Ask the host to close the socket (if it has one), then free the object. A
 * close that cannot even be asked for (out of memory) leaves the socket to the
 * runtime's close. */
static void teardown(tide_ws *ws) {
  if (ws->id != 0) {
    tide_value id = tide_value_int(ws->id);
    int rc = tide__host_op(ws->loop, &ws->xop, FN_CLOSE, &id, 1, on_closed, ws);
    if (rc == 0) return;
    ws->close_rc = rc;
  }
  tide_handle_close(&ws->reg.handle, ws_freed);
}

/* --- Connect -------------------------------------------------------------- */

/* The id a finished connect answered: 0 and *out_id, its error, or
 * TIDE_EINVAL for a value that is no id. */
static int take_id(tide_future *f, int64_t *out_id) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  if (v.type != TIDE_VALUE_DOUBLE || !(v.as.d >= 1 && v.as.d <= ID_MAX) ||
      (double)(int64_t)v.as.d != v.as.d)
    return TIDE_EINVAL;
  *out_id = (int64_t)v.as.d;
  return 0;
}

static void on_connected(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  tide_future *u = ws->connect_user;
  ws->connect_user = NULL;
  assert(u != NULL);
  tide_future_set_cancel_hook(u, NULL, NULL);
  int64_t id = 0;
  int rc = take_id(f, &id);
  if (rc == 0) {
    ws->id = id;
    tide_future_release(f);
    tide_future_set_ptr(u, ws);
    return;
  }
  tide_future_set_error(u, tide__host_code(rc),
                        rc == TIDE_EINVAL ? "the host's ws_connect answer is no id"
                                          : tide__host_message(f, rc, UNAVAILABLE));
  tide_future_release(f);
  teardown(ws);
}

/* The connect's future was cancelled or released: a pending connect is
 * aborted (the host closes its half-open socket); a socket whose id reached C
 * already is closed here. */
static void connect_cancelled(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  (void)f;
  ws->connect_user = NULL;
  tide_future_remove_done_callback(&ws->cop, on_connected, ws);
  if (tide_future_done(&ws->cop) && take_id(&ws->cop, &ws->id) != 0) ws->id = 0;
  (void)tide_future_result(&ws->cop, NULL); /* an error is not reported */
  tide_future_release(&ws->cop);
  teardown(ws);
}

int tide_ws_connect(tide_loop *loop, const char *url, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if (url == NULL || url[0] == '\0') return TIDE_EINVAL;
  tide_ws *ws = tide_loop_alloc(loop, sizeof *ws);
  if (ws == NULL) return TIDE_ENOMEM;
  memset(ws, 0, sizeof *ws);
  int rc = tide_timer_init(loop, &ws->reg);
  if (rc != 0) {
    tide_loop_dealloc(loop, ws);
    return rc;
  }
  ws->reg.handle.data = ws;
  ws->loop = loop;
  tide_value arg = tide_value_string(url);
  rc = tide__host_op(loop, &ws->cop, FN_CONNECT, &arg, 1, on_connected, ws);
  if (rc != 0) {
    tide_handle_close(&ws->reg.handle, ws_freed);
    return rc;
  }
  ws->connect_user = future;
  tide_future_set_cancel_hook(future, connect_cancelled, ws);
  return 0;
}

/* --- Send ----------------------------------------------------------------- */

static void on_sent(tide_future *f, void *ud) {
  ws_send *s = ud;
  tide_future *u = s->user;
  int rc = tide_future_result(f, NULL);
  if (u != NULL) {
    tide_future_set_cancel_hook(u, NULL, NULL);
    if (rc == 0)
      tide_future_set_int(u, (int64_t)s->len);
    else
      tide_future_set_error(u, tide__host_code(rc), tide__host_message(f, rc, UNAVAILABLE));
  } else if (rc != 0 && s->report) {
    tide_loop_report(s->loop, tide__host_code(rc), "WebSocket send failed",
                     tide__host_message(f, rc, UNAVAILABLE));
  }
  tide_future_release(f);
  tide_loop_dealloc(s->loop, s);
}

/* The send's future was cancelled or released: the host call is aborted (a
 * message the host has not sent yet stays unsent). */
static void send_cancelled(tide_future *f, void *ud) {
  ws_send *s = ud;
  (void)f;
  tide_future_remove_done_callback(&s->hop, on_sent, s);
  (void)tide_future_result(&s->hop, NULL); /* an error is not reported */
  tide_future_release(&s->hop);
  tide_loop_dealloc(s->loop, s);
}

int tide_ws_send(tide_ws *ws, const void *data, size_t len, int binary,
                 tide_future *future) {
  assert(ws != NULL && (data != NULL || len == 0));
  assert(future == NULL || !tide_future_done(future));
  if (ws->closing || ws->end != 0) return TIDE_ECLOSED;
  if (!binary && !utf8_valid(data, len)) return TIDE_EINVAL;
  ws_send *s = tide_loop_alloc(ws->loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  s->loop = ws->loop;
  s->user = future;
  s->report = future == NULL;
  s->len = len;
  tide_value args[3];
  args[0] = tide_value_int(ws->id);
  args[1] = tide_value_bytes(data, len);
  args[2] = tide_value_int(binary ? KIND_BINARY : KIND_TEXT);
  int rc = tide__host_op(ws->loop, &s->hop, FN_SEND, args, 3, on_sent, s);
  if (rc != 0) {
    tide_loop_dealloc(ws->loop, s);
    return rc;
  }
  if (future != NULL) tide_future_set_cancel_hook(future, send_cancelled, s);
  return 0;
}

/* --- Receive -------------------------------------------------------------- */

/* The message a finished receive brought: 0 with *out_data (loop-allocated,
 * the kind byte removed) and its length and kind; or the receive's error, or
 * TIDE_EINVAL for a value that is no message. */
static int take_message(tide_future *f, unsigned char **out_data, size_t *out_len,
                        int *out_binary) {
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) return rc;
  if (v.type != TIDE_VALUE_BYTES || v.as.bytes.len < 1) return TIDE_EINVAL;
  unsigned char kind = ((const unsigned char *)v.as.bytes.data)[0];
  if (kind != KIND_TEXT && kind != KIND_BINARY) return TIDE_EINVAL;
  void *data;
  size_t len;
  rc = tide_future_take_bytes(f, &data, &len);
  if (rc != 0) return rc;
  /* The block stays the one the host value came in (so the caller frees it
   * with tide_loop_dealloc, as any host value): the kind byte is moved out. */
  memmove(data, (unsigned char *)data + 1, len - 1);
  *out_data = data;
  *out_len = len - 1;
  *out_binary = kind == KIND_BINARY;
  return 0;
}

/* Complete future with a message (taking data) or the error that says why
 * not: a message longer than max is dropped. */
static void deliver(tide_ws *ws, tide_future *future, size_t max, int *out_binary,
                    unsigned char *data, size_t len, int binary) {
  if (len > max) {
    tide_loop_dealloc(ws->loop, data);
    tide_future_set_error(future, TIDE_EMSGSIZE,
                          "the WebSocket message is longer than max");
    return;
  }
  if (out_binary != NULL) *out_binary = binary;
  if (tide_future_set_bytes(future, data, len, dealloc_bytes, ws->loop) != 0)
    tide_loop_dealloc(ws->loop, data);
}

static void detach_reader(tide_ws *ws) {
  tide_future_set_cancel_hook(ws->reader, NULL, NULL);
  ws->reader = NULL;
  ws->reader_binary = NULL;
}

static void on_recv(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  assert(f == &ws->rop && ws->receiving && ws->reader != NULL);
  tide_future *r = ws->reader;
  int *binp = ws->reader_binary;
  size_t max = ws->reader_max;
  ws->receiving = 0;
  detach_reader(ws);
  unsigned char *data = NULL;
  size_t len = 0;
  int binary = 0;
  int rc = take_message(f, &data, &len, &binary);
  if (rc == 0) {
    /* The runtime's own host applies max itself; one a program registered
     * may not, and the caller's limit holds all the same. */
    deliver(ws, r, max, binp, data, len, binary);
  } else {
    if (is_end(rc)) ws->end = rc;
    tide_future_set_error(r, tide__host_code(rc),
                          rc == TIDE_EINVAL ? "the host's ws_recv answer is no message"
                                            : tide__host_message(f, rc, UNAVAILABLE));
  }
  tide_future_release(f);
}

/* The receive's future was cancelled or released. A pending host receive is
 * aborted (the host keeps its message); an answer that already reached C is
 * held for the next receive. */
static void recv_cancelled(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  (void)f;
  ws->reader = NULL;
  ws->reader_binary = NULL;
  ws->receiving = 0;
  tide_future_remove_done_callback(&ws->rop, on_recv, ws);
  if (tide_future_done(&ws->rop)) {
    int rc = take_message(&ws->rop, &ws->held, &ws->held_len, &ws->held_binary);
    if (rc != 0) ws->held = NULL;
    if (is_end(rc)) ws->end = rc;
    (void)tide_future_result(&ws->rop, NULL); /* observed: the next receive tells */
  }
  tide_future_release(&ws->rop);
}

int tide_ws_recv(tide_ws *ws, size_t max, int *out_binary, tide_future *future) {
  assert(ws != NULL && future != NULL && !tide_future_done(future));
  if (ws->closing) return TIDE_ECLOSED;
  if (ws->reader != NULL) return TIDE_EBUSY;
  if (max == 0) max = RECV_MAX_DEFAULT;
  if (ws->held != NULL) {
    unsigned char *data = ws->held;
    ws->held = NULL;
    deliver(ws, future, max, out_binary, data, ws->held_len, ws->held_binary);
    return 0;
  }
  if (ws->end != 0) {
    tide_future_set_error(future, ws->end, NULL);
    return 0;
  }
  tide_value args[2];
  args[0] = tide_value_int(ws->id);
  args[1] = tide_value_int((int64_t)max);
  int rc = tide__host_op(ws->loop, &ws->rop, FN_RECV, args, 2, on_recv, ws);
  if (rc != 0) return rc;
  ws->receiving = 1;
  ws->reader = future;
  ws->reader_binary = out_binary;
  ws->reader_max = max;
  tide_future_set_cancel_hook(future, recv_cancelled, ws);
  return 0;
}

/* --- Close ---------------------------------------------------------------- */

static void close_future_cancelled(tide_future *f, void *ud) {
  tide_ws *ws = ud;
  (void)f;
  ws->close_future = NULL; /* the close itself goes on */
}

void tide_ws_close(tide_ws *ws, tide_future *future) {
  assert(ws != NULL && !ws->closing && "tide_ws_close called twice");
  assert(ws->id != 0 && ws->connect_user == NULL);
  ws->closing = 1;
  if (future != NULL) {
    assert(!tide_future_done(future));
    ws->close_future = future;
    tide_future_set_cancel_hook(future, close_future_cancelled, ws);
  }
  if (ws->reader != NULL) {
    /* Nobody can receive any more: abort the host receive first (its done
     * callback removed, so nothing runs for it later), then tell the reader. */
    tide_future *r = ws->reader;
    detach_reader(ws);
    ws->receiving = 0;
    tide_future_remove_done_callback(&ws->rop, on_recv, ws);
    (void)tide_future_result(&ws->rop, NULL);
    tide_future_release(&ws->rop);
    tide_future_cancel(r);
  }
  tide_loop_dealloc(ws->loop, ws->held);
  ws->held = NULL;
  teardown(ws);
}
