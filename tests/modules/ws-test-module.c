/* ws-test-module.c: the module the WebSocket suites load (tests/browser/
 * ws.test.mjs in Chromium, tests/js/ws.test.mjs under Node), built with
 * tide_add_js_module() to <build>/tests/modules/tide-ws-test-module.wasm. WebSocket
 * messages on the JS host (src/io/hostcall/host_ws.c over js/src/ws.mjs), driven from
 * JS one call at a time, so a test can put server commands, cancellations and
 * drops between the steps.
 *
 * WebSockets live in a small table here and are named to JS by their slot
 * number (a pointer cannot cross to the host). Its TIDE_MAIN setup exports:
 *   ws_connect(url)             slot of the open WebSocket
 *   ws_send(s, data, [binary])  data's length, once sent; binary defaults to
 *                               1 for bytes, 0 for a string
 *   ws_send_nowait(s, data, [binary])  tide_ws_send without a future: its
 *                               return code (a failure later goes to the
 *                               loop's error handler)
 *   ws_send_invalid_utf8(s)     tide_ws_send's return for text that is not
 *                               UTF-8 (EINVAL), then for a lone surrogate
 *   ws_recv(s, [max])           the next message: a string (text) or bytes
 *                               (binary); its error otherwise (EOF, ...)
 *   ws_close(s)                 0 once closed; frees the slot
 *   ws_echo(url, text)          connect, send text, receive, close: the echo
 *   ws_roundtrip(url, n)        connect, send n bytes (byte i is i % 251) as
 *                               one binary message, receive, check it is the
 *                               same binary message, close: n
 *   ws_many(url, n)             connect, send "m0".."m<n-1>" (all but the last
 *                               without a future), receive n messages checking
 *                               each is the next in order, close: n
 *   recv_behind_sync(s)         calls the host function "sync", then starts a
 *                               receive; once "sync" answered, cancels the
 *                               receive if it is not done (-1), else returns
 *                               its message. With a message already queued on
 *                               the host and "sync" answering at once, both
 *                               answers reach C in one tick, sync's first: the
 *                               cancel comes after the receive's answer
 *                               reached C but before its future completed
 *   ws_stats()                  {"open": slots in use, "racedClosed": n}
 * A connect task cancelled just after its connect succeeded (the result won
 * the race) closes what it got and counts it in racedClosed, so a cancelled
 * call never leaves a socket open.
 */
#include <stdio.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

enum { MAX_WS = 64 };

static tide_ws *sockets[MAX_WS];
static int raced_closed;

/* Bytes or a string argument, and the kind it implies (bytes: binary). */
static const tide_value *data_arg(tide_task *t, size_t i, int *out_binary) {
  const tide_value *v = arg(t, i);
  if (v == NULL || (v->type != TIDE_VALUE_BYTES && v->type != TIDE_VALUE_STRING))
    return NULL;
  *out_binary = num(t, i + 1, v->type == TIDE_VALUE_BYTES ? 1 : 0);
  return v;
}

static tide_ws *ws_at(int s) {
  return s >= 0 && s < MAX_WS ? sockets[s] : NULL;
}

static int put_ws(tide_ws *ws) {
  for (int i = 0; i < MAX_WS; i++)
    if (sockets[i] == NULL) {
      sockets[i] = ws;
      return i;
    }
  return -1;
}

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* Finish the task with a received message: text as a string, binary as bytes
 * (the task's future takes the block). */
static int return_message(tide_task *t, tide_future *f, int binary) {
  void *data;
  size_t len;
  (void)tide_future_take_bytes(f, &data, &len);
  tide_future_release(f);
  tide_value v = tide_value_none();
  v.type = binary ? TIDE_VALUE_BYTES : TIDE_VALUE_STRING;
  v.as.bytes.data = data;
  v.as.bytes.len = len;
  v.priv_free = dealloc_bytes;
  v.priv_free_ud = tide_task_loop(t);
  TIDE_RETURN_VALUE(t, &v);
}

/* Most tasks await one future at a time: this frame serves them. */
typedef struct one_frame {
  tide_future f;
  int rc;
  int binary;
  char msg[200];
  char out[96];
} one_frame;

/* Keep the error's message before the future is released. */
static void keep_msg(one_frame *f) {
  const char *m = tide_future_error_message(&f->f);
  snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : tide_strerror(f->rc));
}

/* --- One step at a time ---------------------------------------------------- */

static int ws_connect_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->f);
  f->rc = tide_ws_connect(tide_task_loop(t), str(t, 0), &f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_connect refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    keep_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  {
    tide_value v;
    (void)tide_future_result(&f->f, &v);
    tide_future_release(&f->f);
    tide_ws *ws = v.as.p;
    if (tide_task_cancelling(t) > 0) { /* won the race with a cancel: undo */
      raced_closed++;
      tide_ws_close(ws, NULL);
      TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
    }
    int slot = put_ws(ws);
    if (slot < 0) {
      tide_ws_close(ws, NULL);
      TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no WebSocket slot");
    }
    TIDE_RETURN_INT(t, slot);
  }
  TIDE_END(t);
}

static int ws_send_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_ws *ws = ws_at(num(t, 0, -1));
    const tide_value *d = data_arg(t, 1, &f->binary);
    if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
    if (d == NULL)
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "ws_send(s, data): bytes or a string");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_ws_send(ws, d->as.bytes.data, d->as.bytes.len, f->binary, &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_send refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) keep_msg(f);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_INT(t, arg(t, 1)->as.bytes.len);
  TIDE_END(t);
}

static int ws_send_nowait_main(tide_task *t, void *frame) {
  int binary = 0;
  tide_ws *ws = ws_at(num(t, 0, -1));
  const tide_value *d = data_arg(t, 1, &binary);
  (void)frame;
  if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
  if (d == NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "ws_send_nowait(s, data)");
  TIDE_RETURN_INT(t, tide_ws_send(ws, d->as.bytes.data, d->as.bytes.len, binary, NULL));
}

static int ws_send_invalid_utf8_main(tide_task *t, void *frame) {
  static const unsigned char bad[] = {'a', 0xC3, 0x28};        /* a cut sequence */
  static const unsigned char surrogate[] = {0xED, 0xA0, 0x80}; /* U+D800 */
  tide_ws *ws = ws_at(num(t, 0, -1));
  (void)frame;
  if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
  int a = tide_ws_send(ws, bad, sizeof bad, 0, NULL);
  int b = tide_ws_send(ws, surrogate, sizeof surrogate, 0, NULL);
  if (a != b) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "the two invalid texts differ");
  TIDE_RETURN_INT(t, a);
}

static int ws_recv_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_ws *ws = ws_at(num(t, 0, -1));
    if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
    tide_future_init(tide_task_loop(t), &f->f);
    f->binary = -1;
    f->rc = tide_ws_recv(ws, (size_t)num(t, 1, 0), &f->binary, &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_recv refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    keep_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  if (f->binary != 0 && f->binary != 1) {
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "out_binary was not stored");
  }
  return return_message(t, &f->f, f->binary);
  TIDE_END(t);
}

static int ws_close_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    int slot = num(t, 0, -1);
    tide_ws *ws = ws_at(slot);
    if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
    sockets[slot] = NULL;
    tide_future_init(tide_task_loop(t), &f->f);
    tide_ws_close(ws, &f->f);
  }
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) keep_msg(f);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_INT(t, 0);
  TIDE_END(t);
}

/* --- Whole exchanges in C --------------------------------------------------- */

/* A connected WebSocket and one future at a time, for the coroutines below:
 * each connects, exchanges, closes (also on failure) and reports the first
 * error. */
typedef struct session_frame {
  tide_ws *ws;
  tide_future f;
  int rc, fail, binary, i, n;
  unsigned char *buf;
  tide_loop *loop;
  char msg[200];
  char out[64];
} session_frame;

/* A task cancelled half-way still frees its buffer and closes its socket. */
static void session_cleanup(void *frame) {
  session_frame *f = frame;
  tide_loop_dealloc(f->loop, f->buf);
  f->buf = NULL;
  if (f->ws != NULL) tide_ws_close(f->ws, NULL);
  f->ws = NULL;
}

static void session_fail(session_frame *f, int rc, const char *what) {
  if (f->fail != 0) return;
  f->fail = rc;
  snprintf(f->msg, sizeof f->msg, "%s: %s", what, tide_strerror(rc));
}

/* Start connecting to the url argument: 0, or tide_ws_connect's refusal. */
static int session_connect(tide_task *t, session_frame *f) {
  f->loop = tide_task_loop(t);
  tide_task_set_cleanup(t, session_cleanup);
  tide_future_init(f->loop, &f->f);
  int rc = tide_ws_connect(f->loop, str(t, 0), &f->f);
  if (rc != 0) tide_future_release(&f->f);
  return rc;
}

/* The connect finished with rc: 0 and f->ws, or rc (its message in f->msg). */
static int session_connected(session_frame *f, int rc) {
  if (rc == 0) {
    tide_value v;
    (void)tide_future_result(&f->f, &v);
    f->ws = v.as.p;
  } else {
    const char *m = tide_future_error_message(&f->f);
    snprintf(f->msg, sizeof f->msg, "connect: %s", m != NULL ? m : tide_strerror(rc));
  }
  tide_future_release(&f->f);
  return rc;
}

/* Start closing f->ws (awaited on f->f); session_closed takes the outcome. */
static void session_close(session_frame *f) {
  tide_future_init(f->loop, &f->f);
  tide_ws_close(f->ws, &f->f);
  f->ws = NULL;
}

static int session_closed(session_frame *f, int rc) {
  tide_future_release(&f->f);
  if (rc != 0) session_fail(f, rc, "close");
  return f->fail;
}

static int ws_echo_main(tide_task *t, void *frame) {
  session_frame *f = frame;
  TIDE_BEGIN(t);
  if (str(t, 1) == NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "ws_echo(url, text)");
  f->rc = session_connect(t, f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_connect refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_connected(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  tide_future_init(f->loop, &f->f);
  f->rc = tide_ws_send(f->ws, str(t, 1), arg(t, 1)->as.bytes.len, 0, &f->f);
  if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
  tide_future_release(&f->f);
  if (f->rc != 0) session_fail(f, f->rc, "send");
  if (f->fail == 0) {
    tide_future_init(f->loop, &f->f);
    f->rc = tide_ws_recv(f->ws, 0, &f->binary, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      void *data;
      size_t len;
      (void)tide_future_take_bytes(&f->f, &data, &len);
      f->buf = data;
      f->n = (int)len;
      if (f->binary != 0) session_fail(f, TIDE_EINVAL, "the echo is not text");
    } else {
      session_fail(f, f->rc, "recv");
    }
    tide_future_release(&f->f);
  }
  session_close(f);
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_closed(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->fail, f->msg);
  {
    tide_value v =
        tide_value_text(TIDE_VALUE_STRING, (const char *)f->buf, (size_t)f->n);
    v.priv_free = dealloc_bytes;
    v.priv_free_ud = f->loop;
    f->buf = NULL;
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int ws_roundtrip_main(tide_task *t, void *frame) {
  session_frame *f = frame;
  TIDE_BEGIN(t);
  f->n = num(t, 1, 0);
  if (f->n < 0) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "ws_roundtrip(url, n)");
  f->rc = session_connect(t, f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_connect refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_connected(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  f->buf = tide_loop_alloc(f->loop, (size_t)f->n + 1);
  if (f->buf == NULL) session_fail(f, TIDE_ENOMEM, "buffer");
  if (f->fail == 0) {
    for (int i = 0; i < f->n; i++)
      f->buf[i] = (unsigned char)(i % 251);
    tide_future_init(f->loop, &f->f);
    f->rc = tide_ws_send(f->ws, f->buf, (size_t)f->n, 1, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    tide_future_release(&f->f);
    if (f->rc != 0) session_fail(f, f->rc, "send");
  }
  if (f->fail == 0) {
    tide_future_init(f->loop, &f->f);
    f->rc = tide_ws_recv(f->ws, (size_t)f->n + 1, &f->binary, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      tide_value v;
      (void)tide_future_result(&f->f, &v);
      if (!f->binary) session_fail(f, TIDE_EINVAL, "the echo is not binary");
      if (v.as.bytes.len != (size_t)f->n ||
          (f->n > 0 && memcmp(v.as.bytes.data, f->buf, (size_t)f->n) != 0))
        session_fail(f, TIDE_EIO, "the echo differs");
    } else {
      session_fail(f, f->rc, "recv");
    }
    tide_future_release(&f->f);
  }
  session_close(f);
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_closed(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->fail, f->msg);
  TIDE_RETURN_INT(t, f->n);
  TIDE_END(t);
}

static int ws_many_main(tide_task *t, void *frame) {
  session_frame *f = frame;
  TIDE_BEGIN(t);
  f->n = num(t, 1, 0);
  f->rc = session_connect(t, f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_connect refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_connected(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  /* All but the last without a future: they go out in order all the same,
   * and the last one's future says they all have. */
  for (f->i = 0; f->i < f->n && f->fail == 0; f->i++) {
    int len = snprintf(f->out, sizeof f->out, "m%d", f->i);
    if (f->i + 1 < f->n) {
      f->rc = tide_ws_send(f->ws, f->out, (size_t)len, 0, NULL);
      if (f->rc != 0) session_fail(f, f->rc, "send");
      continue;
    }
    tide_future_init(f->loop, &f->f);
    f->rc = tide_ws_send(f->ws, f->out, (size_t)len, 0, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    tide_future_release(&f->f);
    if (f->rc != 0) session_fail(f, f->rc, "send");
  }
  for (f->i = 0; f->i < f->n && f->fail == 0; f->i++) {
    tide_future_init(f->loop, &f->f);
    f->rc = tide_ws_recv(f->ws, 64, &f->binary, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      tide_value v;
      int len = snprintf(f->out, sizeof f->out, "m%d", f->i);
      (void)tide_future_result(&f->f, &v);
      if (f->binary || v.as.bytes.len != (size_t)len ||
          memcmp(v.as.bytes.data, f->out, (size_t)len) != 0) {
        session_fail(f, TIDE_EIO, "a message out of order");
        snprintf(f->msg, sizeof f->msg, "message %d is not %s", f->i, f->out);
      }
    } else {
      session_fail(f, f->rc, "recv");
    }
    tide_future_release(&f->f);
  }
  session_close(f);
  TIDE_AWAIT(t, &f->f, f->rc);
  if (session_closed(f, f->rc) != 0) TIDE_RETURN_ERROR(t, f->fail, f->msg);
  TIDE_RETURN_INT(t, f->n);
  TIDE_END(t);
}

/* --- Races ----------------------------------------------------------------- */

typedef struct behind_sync_frame {
  tide_future sync, recv;
  int rc, binary;
} behind_sync_frame;

static int recv_behind_sync_main(tide_task *t, void *frame) {
  behind_sync_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    tide_ws *ws = ws_at(num(t, 0, -1));
    if (ws == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such WebSocket");
    tide_future_init(loop, &f->sync);
    f->rc = tide_host_call(loop, "sync", NULL, 0, &f->sync);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "host call refused");
    tide_future_init(loop, &f->recv);
    f->rc = tide_ws_recv(ws, 0, &f->binary, &f->recv);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_ws_recv refused");
  }
  TIDE_AWAIT(t, &f->sync, f->rc);
  tide_future_release(&f->sync);
  if (!tide_future_done(&f->recv)) {
    tide_future_cancel(&f->recv);
    tide_future_release(&f->recv);
    TIDE_RETURN_INT(t, -1);
  }
  f->rc = tide_future_result(&f->recv, NULL);
  if (f->rc != 0) {
    tide_future_release(&f->recv);
    TIDE_RETURN_ERROR(t, f->rc, "receive failed");
  }
  return return_message(t, &f->recv, f->binary);
  TIDE_END(t);
}

static int ws_stats_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  int open = 0;
  for (int i = 0; i < MAX_WS; i++)
    open += sockets[i] != NULL;
  snprintf(f->out, sizeof f->out, "{\"open\":%d,\"racedClosed\":%d}", open,
           raced_closed);
  tide_value v = tide_value_json(f->out);
  TIDE_RETURN_VALUE(t, &v);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  static const test_export exports[] = {
      {"ws_connect", ws_connect_main, sizeof(one_frame)},
      {"ws_send", ws_send_main, sizeof(one_frame)},
      {"ws_send_nowait", ws_send_nowait_main, 0},
      {"ws_send_invalid_utf8", ws_send_invalid_utf8_main, 0},
      {"ws_recv", ws_recv_main, sizeof(one_frame)},
      {"ws_close", ws_close_main, sizeof(one_frame)},
      {"ws_echo", ws_echo_main, sizeof(session_frame)},
      {"ws_roundtrip", ws_roundtrip_main, sizeof(session_frame)},
      {"ws_many", ws_many_main, sizeof(session_frame)},
      {"recv_behind_sync", recv_behind_sync_main, sizeof(behind_sync_frame)},
      {"ws_stats", ws_stats_main, sizeof(one_frame)},
  };
  (void)argc;
  (void)argv;
  return export_all(loop, exports, sizeof exports / sizeof exports[0]);
}

TIDE_MAIN(setup)
