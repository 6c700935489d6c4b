/* net-test-module.c: the module tests/js/net.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-net-test-module.wasm. TCP on the JS
 * host (src/io/hostcall/host_tcp.c over js/src/net.mjs), driven from JS one call at a
 * time, so a test can put node:net peers, cancellations and resets between the
 * steps.
 *
 * Listeners and streams live in small tables here and are named to JS by their
 * slot number (a pointer cannot cross to the host). Its TIDE_MAIN setup exports:
 *   tcp_listen(host, port, [backlog])  {"id": slot, "port": bound port}
 *   tcp_accept(id)                 slot of the accepted stream
 *   tcp_listener_close(id)
 *   accept_behind_sync(id)         calls the host function "sync", then
 *                                  starts an accept; once "sync" answered,
 *                                  cancels the accept if it is not done (-1),
 *                                  else keeps its stream (the slot). With a
 *                                  connection already queued and "sync"
 *                                  answering at once, both answers reach C in
 *                                  one tick, sync's first: the cancel comes
 *                                  after the accept's answer reached C but
 *                                  before the accept's future completed
 *   tcp_connect(host, port)        slot of the connected stream
 *   stream_write(s, data)          data's length, once written
 *   stream_read(s, [max])          bytes (1..max); error EOF at end of input
 *   stream_read_all(s)             every byte until end of input
 *   stream_shutdown(s)             0 once shut down for writing
 *   stream_close(s)                closes, and frees the slot
 *   stream_stats(s)                {"written", "read", "queue"}
 *   stream_send_pattern(s, n, [chunk])  writes n bytes (byte i is i % 251) in
 *                                  chunks (default 64 KiB), awaiting each write
 *                                  before the next; {"sent", "maxQueue"}
 *   stdio_shutdown(fd)             tide_stream_shutdown's return on a stream
 *                                  opened on fd (then closed): ENOTSOCK on stdio
 *   echo_server(id, n)             accepts n connections, echoes each (its own
 *                                  task) until the peer's end of input, then
 *                                  shuts down and closes it; returns the bytes
 *                                  echoed, once all n are done
 *   client(host, port, data)       connects, writes data, shuts down, reads
 *                                  until end of input, closes; returns what it
 *                                  read
 *   net_stats()                    {"racedClosed", "streams", "listeners"}
 * A task that is cancelled just after its listen, accept or connect succeeded
 * (the result won the race with the cancel) closes what it got, counts it in
 * racedClosed and ends cancelled, so a cancelled call never leaves anything open
 * and a test can tell that case from a lost connection.
 */
#include <stdio.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

enum { MAX_LISTENERS = 64, MAX_STREAMS = 256, CHUNK = 64 * 1024 };

static tide_tcp_listener *listeners[MAX_LISTENERS];
static tide_stream *streams[MAX_STREAMS];
static int raced_closed;

static tide_tcp_listener *listener_at(int id) {
  return id >= 0 && id < MAX_LISTENERS ? listeners[id] : NULL;
}

static tide_stream *stream_at(int s) {
  return s >= 0 && s < MAX_STREAMS ? streams[s] : NULL;
}

static int put_stream(tide_stream *s) {
  for (int i = 0; i < MAX_STREAMS; i++)
    if (streams[i] == NULL) {
      streams[i] = s;
      return i;
    }
  return -1;
}

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* Most tasks await one future at a time: this frame serves them. */
typedef struct one_frame {
  tide_future f;
  int rc;
  char msg[200];
  char out[96];
} one_frame;

/* Keep the error's message before the future is released. */
static int fail_msg(one_frame *f) {
  const char *m = tide_future_error_message(&f->f);
  snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : tide_strerror(f->rc));
  return f->rc;
}

/* --- Listeners ------------------------------------------------------------ */

static int tcp_listen_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->f);
  f->rc =
      tide_tcp_listen(tide_task_loop(t), str(t, 0), num(t, 1, 0), num(t, 2, 0), &f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_tcp_listen refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    fail_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  {
    tide_value v;
    (void)tide_future_result(&f->f, &v);
    tide_future_release(&f->f);
    tide_tcp_listener *l = v.as.p;
    int id = -1;
    if (tide_task_cancelling(t) > 0) { /* won the race with a cancel: undo */
      raced_closed++;
      tide_tcp_listener_close(l);
      TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
    }
    for (int i = 0; i < MAX_LISTENERS && id < 0; i++)
      if (listeners[i] == NULL) id = i;
    if (id < 0) {
      tide_tcp_listener_close(l);
      TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no listener slot");
    }
    listeners[id] = l;
    snprintf(f->out, sizeof f->out, "{\"id\":%d,\"port\":%d}", id,
             tide_tcp_listener_port(l));
    v = tide_value_json(f->out);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int tcp_listener_close_main(tide_task *t, void *frame) {
  (void)frame;
  int id = num(t, 0, -1);
  tide_tcp_listener *l = listener_at(id);
  if (l == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such listener");
  listeners[id] = NULL;
  tide_tcp_listener_close(l);
  TIDE_RETURN(t);
}

/* The stream a finished accept or connect future brought, into a slot. If this
 * task is being cancelled, the connection that won the race is closed instead:
 * the caller will only see ECANCELED. Returns the slot or an error. */
static int keep_stream(tide_task *t, one_frame *f) {
  tide_value v;
  (void)tide_future_result(&f->f, &v);
  tide_future_release(&f->f);
  tide_stream *s = v.as.p;
  if (tide_task_cancelling(t) > 0) {
    raced_closed++;
    tide_stream_close(s, NULL);
    return TIDE_ECANCELED;
  }
  int slot = put_stream(s);
  if (slot < 0) tide_stream_close(s, NULL);
  return slot < 0 ? TIDE_ENOMEM : slot;
}

static int tcp_accept_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_tcp_listener *l = listener_at(num(t, 0, -1));
    if (l == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such listener");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_tcp_accept(l, &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_tcp_accept refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    fail_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  f->rc = keep_stream(t, f);
  if (f->rc < 0) TIDE_RETURN_ERROR(t, f->rc, "accepted, but not kept");
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

typedef struct behind_sync_frame {
  tide_future sync, acc;
  int rc;
} behind_sync_frame;

static int accept_behind_sync_main(tide_task *t, void *frame) {
  behind_sync_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    tide_tcp_listener *l = listener_at(num(t, 0, -1));
    if (l == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such listener");
    tide_future_init(loop, &f->sync);
    f->rc = tide_host_call(loop, "sync", NULL, 0, &f->sync);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "host call refused");
    tide_future_init(loop, &f->acc);
    f->rc = tide_tcp_accept(l, &f->acc);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_tcp_accept refused");
  }
  TIDE_AWAIT(t, &f->sync, f->rc);
  tide_future_release(&f->sync);
  if (!tide_future_done(&f->acc)) {
    tide_future_cancel(&f->acc);
    tide_future_release(&f->acc);
    TIDE_RETURN_INT(t, -1);
  }
  {
    tide_value v;
    f->rc = tide_future_result(&f->acc, &v);
    tide_future_release(&f->acc);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "accept failed");
    TIDE_RETURN_INT(t, put_stream(v.as.p));
  }
  TIDE_END(t);
}

static int tcp_connect_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->f);
  f->rc = tide_tcp_connect(tide_task_loop(t), str(t, 0), num(t, 1, 0), &f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_tcp_connect refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    fail_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  f->rc = keep_stream(t, f);
  if (f->rc < 0) TIDE_RETURN_ERROR(t, f->rc, "connected, but not kept");
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

/* --- Streams -------------------------------------------------------------- */

static int stream_write_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_stream *s = stream_at(num(t, 0, -1));
    const tide_value *d = arg(t, 1);
    if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
    if (d == NULL || (d->type != TIDE_VALUE_BYTES && d->type != TIDE_VALUE_STRING))
      TIDE_RETURN_ERROR(t, TIDE_EINVAL,
                        "stream_write(s, data): data is bytes or a string");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_stream_write(s, d->as.bytes.data, d->as.bytes.len, &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_stream_write refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) fail_msg(f);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_INT(t, arg(t, 1)->as.bytes.len);
  TIDE_END(t);
}

static int stream_read_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_stream *s = stream_at(num(t, 0, -1));
    if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_stream_read(s, (size_t)num(t, 1, 0), &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_stream_read refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    fail_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  {
    void *data;
    size_t len;
    (void)tide_future_take_bytes(&f->f, &data, &len);
    tide_future_release(&f->f);
    TIDE_RETURN_BYTES(t, data, len, dealloc_bytes, tide_task_loop(t));
  }
  TIDE_END(t);
}

/* Reads until end of input into one growing block. */
typedef struct read_all_frame {
  tide_loop *loop;
  tide_future f;
  int rc;
  tide_stream *s;
  unsigned char *buf;
  size_t len, cap;
  char msg[200];
} read_all_frame;

/* A task cancelled half-way still frees what it has read. */
static void read_all_cleanup(void *frame) {
  read_all_frame *f = frame;
  tide_loop_dealloc(f->loop, f->buf);
  f->buf = NULL;
}

/* Append the finished read's bytes to the frame's block: 0 or TIDE_ENOMEM. */
static int append_read(tide_loop *loop, read_all_frame *f) {
  tide_value v;
  (void)tide_future_result(&f->f, &v);
  size_t n = v.as.bytes.len;
  if (f->len + n > f->cap) {
    size_t cap = f->cap ? f->cap : 4096;
    while (cap < f->len + n)
      cap *= 2;
    unsigned char *b = tide_loop_alloc(loop, cap);
    if (b == NULL) return TIDE_ENOMEM;
    if (f->len) memcpy(b, f->buf, f->len);
    tide_loop_dealloc(loop, f->buf);
    f->buf = b;
    f->cap = cap;
  }
  memcpy(f->buf + f->len, v.as.bytes.data, n);
  f->len += n;
  return 0;
}

static int stream_read_all_main(tide_task *t, void *frame) {
  read_all_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  f->loop = loop;
  tide_task_set_cleanup(t, read_all_cleanup);
  f->s = stream_at(num(t, 0, -1));
  if (f->s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
  for (;;) {
    tide_future_init(loop, &f->f);
    f->rc = tide_stream_read(f->s, 0, &f->f);
    if (f->rc != 0) break;
    TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) f->rc = append_read(loop, f);
    if (f->rc != 0 && f->rc != TIDE_EOF && f->rc != TIDE_ENOMEM) {
      const char *m = tide_future_error_message(&f->f);
      snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : tide_strerror(f->rc));
    }
    tide_future_release(&f->f);
    if (f->rc != 0) break;
  }
  if (f->rc != TIDE_EOF) TIDE_RETURN_ERROR(t, f->rc, f->msg[0] ? f->msg : NULL);
  {
    unsigned char *b = f->buf;
    f->buf = NULL;
    if (b == NULL) b = tide_loop_alloc(loop, 1); /* an empty result is still a block */
    TIDE_RETURN_BYTES(t, b, f->len, dealloc_bytes, loop);
  }
  TIDE_END(t);
}

static int stream_shutdown_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    tide_stream *s = stream_at(num(t, 0, -1));
    if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_stream_shutdown(s, &f->f);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_stream_shutdown refused");
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) fail_msg(f);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_RETURN_INT(t, 0);
  TIDE_END(t);
}

static int stream_close_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  {
    int slot = num(t, 0, -1);
    tide_stream *s = stream_at(slot);
    if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
    streams[slot] = NULL;
    tide_future_init(tide_task_loop(t), &f->f);
    tide_stream_close(s, &f->f);
  }
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) fail_msg(f);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->msg);
  TIDE_END(t);
}

/* Queue count writes of size bytes without awaiting them, then abort: the
 * peer is meant to see a reset. Returns how many of the writes were cancelled
 * (their futures are checked here: each completes exactly once). */
typedef struct abort_frame {
  tide_future f[64];
  int count, cancelled, rc_unused;
} abort_frame;

static void abort_write_done(tide_future *fut, void *ud) {
  abort_frame *f = ud;
  if (tide_future_result(fut, NULL) == TIDE_ECANCELED) f->cancelled++;
}

static int stream_abort_main(tide_task *t, void *frame) {
  abort_frame *f = frame;
  static unsigned char chunk[CHUNK];
  TIDE_BEGIN(t);
  {
    int slot = num(t, 0, -1);
    tide_stream *s = stream_at(slot);
    if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
    f->count = num(t, 1, 16);
    if (f->count < 1 || f->count > 64) f->count = 64;
    for (int i = 0; i < f->count; i++) {
      tide_future_init(tide_task_loop(t), &f->f[i]);
      if (tide_stream_write(s, chunk, sizeof chunk, &f->f[i]) != 0 ||
          tide_future_add_done_callback(&f->f[i], abort_write_done, f) != 0)
        TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "write");
    }
    streams[slot] = NULL;
    tide_stream_abort(s);
  }
  TIDE_YIELD(t, f->rc_unused);
  TIDE_YIELD(t, f->rc_unused); /* the done callbacks have run */
  for (int i = 0; i < f->count; i++) {
    if (!tide_future_done(&f->f[i])) TIDE_RETURN_ERROR(t, TIDE_ESTATE, "a write is pending");
    tide_future_release(&f->f[i]);
  }
  TIDE_RETURN_INT(t, f->cancelled);
  TIDE_END(t);
}

static int stream_stats_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  tide_stream *s = stream_at(num(t, 0, -1));
  if (s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
  snprintf(f->out, sizeof f->out, "{\"written\":%llu,\"read\":%llu,\"queue\":%zu}",
           (unsigned long long)tide_stream_bytes_written(s),
           (unsigned long long)tide_stream_bytes_read(s),
           tide_stream_write_queue_size(s));
  tide_value v = tide_value_json(f->out);
  TIDE_RETURN_VALUE(t, &v);
}

typedef struct pattern_frame {
  tide_future f;
  int rc;
  tide_stream *s;
  double total, sent;
  size_t chunk, max_queue;
  unsigned char buf[CHUNK];
  char out[96];
} pattern_frame;

static int stream_send_pattern_main(tide_task *t, void *frame) {
  pattern_frame *f = frame;
  TIDE_BEGIN(t);
  f->s = stream_at(num(t, 0, -1));
  if (f->s == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such stream");
  f->total = num(t, 1, 0);
  f->chunk = (size_t)num(t, 2, CHUNK);
  if (f->chunk < 1 || f->chunk > CHUNK) f->chunk = CHUNK;
  for (f->sent = 0; f->sent < f->total; f->sent += (double)f->chunk) {
    {
      size_t n = f->total - f->sent < (double)f->chunk ? (size_t)(f->total - f->sent)
                                                       : f->chunk;
      for (size_t i = 0; i < n; i++)
        f->buf[i] = (unsigned char)(((unsigned long long)f->sent + i) % 251);
      tide_future_init(tide_task_loop(t), &f->f);
      f->rc = tide_stream_write(f->s, f->buf, n, &f->f);
      if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_stream_write refused");
      if (tide_stream_write_queue_size(f->s) > f->max_queue)
        f->max_queue = tide_stream_write_queue_size(f->s);
    }
    TIDE_AWAIT(t, &f->f, f->rc);
    tide_future_release(&f->f);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "a write failed");
  }
  snprintf(f->out, sizeof f->out, "{\"sent\":%.0f,\"maxQueue\":%zu}", f->total,
           f->max_queue);
  {
    tide_value v = tide_value_json(f->out);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

/* Shut down a stream that is no socket: the return code (ENOTSOCK), which
 * must change nothing (a write still works afterwards on stdout). */
static int stdio_shutdown_main(tide_task *t, void *frame) {
  (void)frame;
  tide_stream *s = NULL;
  int rc = tide_stream_open(tide_task_loop(t), num(t, 0, 1), 0, &s);
  if (rc != 0) TIDE_RETURN_ERROR(t, rc, "tide_stream_open failed");
  rc = tide_stream_shutdown(s, NULL);
  tide_stream_close(s, NULL);
  TIDE_RETURN_INT(t, rc);
}

/* --- Echo server and client ----------------------------------------------- */

typedef struct echo_server_frame {
  tide_task_group group;
  tide_future f;
  int rc, i, n;
  double echoed;
} echo_server_frame;

typedef struct echo_frame {
  echo_server_frame *server; /* lives until the group is done */
  tide_stream *s;
  tide_future f, wf;
  int rc;
} echo_frame;

/* One connection: echo each chunk (its write awaited before the next read, so
 * a slow peer holds back its own input) until end of input, then shut down and
 * close. */
static int echo_main(tide_task *t, void *frame) {
  echo_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(loop, &f->f);
    f->rc = tide_stream_read(f->s, 0, &f->f);
    if (f->rc != 0) break;
    TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      tide_value v;
      (void)tide_future_result(&f->f, &v);
      f->server->echoed += (double)v.as.bytes.len;
      tide_future_init(loop, &f->wf);
      f->rc = tide_stream_write(f->s, v.as.bytes.data, v.as.bytes.len, &f->wf);
    }
    tide_future_release(&f->f); /* the write copied the bytes */
    if (f->rc != 0) break;
    TIDE_AWAIT(t, &f->wf, f->rc);
    tide_future_release(&f->wf);
    if (f->rc != 0) break;
  }
  if (f->rc == TIDE_EOF) {
    tide_future_init(loop, &f->f);
    f->rc = tide_stream_shutdown(f->s, &f->f);
    if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
    tide_future_release(&f->f);
  }
  tide_future_init(loop, &f->f);
  tide_stream_close(f->s, &f->f);
  TIDE_AWAIT(t, &f->f, f->rc);
  tide_future_release(&f->f);
  TIDE_END(t);
}

static int echo_server_main(tide_task *t, void *frame) {
  echo_server_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    tide_tcp_listener *l = listener_at(num(t, 0, -1));
    if (l == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such listener");
  }
  f->n = num(t, 1, 1);
  tide_task_group_init(loop, &f->group);
  for (f->i = 0; f->i < f->n; f->i++) {
    tide_future_init(loop, &f->f);
    f->rc = tide_tcp_accept(listener_at(num(t, 0, -1)), &f->f);
    if (f->rc != 0) break;
    TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      tide_value v;
      echo_frame init;
      (void)tide_future_result(&f->f, &v);
      memset(&init, 0, sizeof init);
      init.server = f;
      init.s = v.as.p;
      f->rc = tide_task_group_spawn(&f->group, echo_main, &init, sizeof init, NULL);
      if (f->rc != 0) tide_stream_close(v.as.p, NULL);
    }
    tide_future_release(&f->f);
    if (f->rc != 0) break;
  }
  tide_future_init(loop, &f->f);
  {
    int rc = tide_task_group_wait(&f->group, &f->f);
    if (rc == 0) TIDE_AWAIT(t, &f->f, rc);
    if (f->rc == 0) f->rc = rc;
  }
  tide_future_release(&f->f);
  tide_task_group_release(&f->group);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "echo server failed");
  TIDE_RETURN_DOUBLE(t, f->echoed);
  TIDE_END(t);
}

typedef struct client_frame {
  read_all_frame r; /* first: the read loop's state */
  int rc;
  char msg[200];
} client_frame;

static int client_main(tide_task *t, void *frame) {
  client_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    const tide_value *d = arg(t, 2);
    if (d == NULL || (d->type != TIDE_VALUE_BYTES && d->type != TIDE_VALUE_STRING))
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "client(host, port, data)");
  }
  f->r.loop = loop;
  tide_task_set_cleanup(t, read_all_cleanup); /* r is the frame's first member */
  tide_future_init(loop, &f->r.f);
  f->rc = tide_tcp_connect(loop, str(t, 0), num(t, 1, 0), &f->r.f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_tcp_connect refused");
  TIDE_AWAIT(t, &f->r.f, f->rc);
  if (f->rc != 0) {
    const char *m = tide_future_error_message(&f->r.f);
    snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : "");
    tide_future_release(&f->r.f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  {
    tide_value v;
    (void)tide_future_result(&f->r.f, &v);
    f->r.s = v.as.p;
    tide_future_release(&f->r.f);
  }
  /* The write and the shutdown are queued together: the shutdown goes out
   * once the write is done. */
  f->rc = tide_stream_write(f->r.s, arg(t, 2)->as.bytes.data, arg(t, 2)->as.bytes.len,
                            NULL);
  if (f->rc == 0) f->rc = tide_stream_shutdown(f->r.s, NULL);
  while (f->rc == 0) {
    tide_future_init(loop, &f->r.f);
    f->rc = tide_stream_read(f->r.s, 0, &f->r.f);
    if (f->rc != 0) break;
    TIDE_AWAIT(t, &f->r.f, f->rc);
    if (f->rc == 0) f->rc = append_read(loop, &f->r);
    tide_future_release(&f->r.f);
  }
  tide_future_init(loop, &f->r.f);
  tide_stream_close(f->r.s, &f->r.f);
  {
    int rc;
    TIDE_AWAIT(t, &f->r.f, rc);
    tide_future_release(&f->r.f);
    if (f->rc == TIDE_EOF && rc != 0) f->rc = rc;
  }
  if (f->rc != TIDE_EOF) TIDE_RETURN_ERROR(t, f->rc, "client failed");
  {
    unsigned char *b = f->r.buf != NULL ? f->r.buf : tide_loop_alloc(loop, 1);
    f->r.buf = NULL;
    TIDE_RETURN_BYTES(t, b, f->r.len, dealloc_bytes, loop);
  }
  TIDE_END(t);
}

static int net_stats_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  int ns = 0, nl = 0;
  for (int i = 0; i < MAX_STREAMS; i++)
    ns += streams[i] != NULL;
  for (int i = 0; i < MAX_LISTENERS; i++)
    nl += listeners[i] != NULL;
  snprintf(f->out, sizeof f->out,
           "{\"racedClosed\":%d,\"streams\":%d,\"listeners\":%d}", raced_closed, ns,
           nl);
  tide_value v = tide_value_json(f->out);
  TIDE_RETURN_VALUE(t, &v);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  static const test_export exports[] = {
      {"tcp_listen", tcp_listen_main, sizeof(one_frame)},
      {"tcp_listener_close", tcp_listener_close_main, 0},
      {"tcp_accept", tcp_accept_main, sizeof(one_frame)},
      {"accept_behind_sync", accept_behind_sync_main, sizeof(behind_sync_frame)},
      {"tcp_connect", tcp_connect_main, sizeof(one_frame)},
      {"stream_write", stream_write_main, sizeof(one_frame)},
      {"stream_read", stream_read_main, sizeof(one_frame)},
      {"stream_read_all", stream_read_all_main, sizeof(read_all_frame)},
      {"stream_shutdown", stream_shutdown_main, sizeof(one_frame)},
      {"stream_close", stream_close_main, sizeof(one_frame)},
      {"stream_abort", stream_abort_main, sizeof(abort_frame)},
      {"stream_stats", stream_stats_main, sizeof(one_frame)},
      {"stream_send_pattern", stream_send_pattern_main, sizeof(pattern_frame)},
      {"stdio_shutdown", stdio_shutdown_main, 0},
      {"echo_server", echo_server_main, sizeof(echo_server_frame)},
      {"client", client_main, sizeof(client_frame)},
      {"net_stats", net_stats_main, sizeof(one_frame)},
  };
  (void)argc;
  (void)argv;
  return export_all(loop, exports, sizeof exports / sizeof exports[0]);
}

TIDE_MAIN(setup)
