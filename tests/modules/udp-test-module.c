/* udp-test-module.c: the module tests/js/udp.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-udp-test-module.wasm. UDP on the JS
 * host (src/io/hostcall/host_udp.c over js/src/udp.mjs), driven from JS one call at a
 * time, so a test can put node:dgram peers and cancellations between the steps.
 *
 * Sockets live in a small table here and are named to JS by their slot number
 * (a pointer cannot cross to the host). Its TIDE_MAIN setup exports:
 *   udp_open(host, port)           {"id": slot, "port": bound port}
 *   udp_close(s)                   closes, and frees the slot
 *   udp_send(s, data, host, port)  data's length, once sent; data is bytes, a
 *                                  string, or a number n: n bytes, byte i being
 *                                  i * 7 % 256
 *   udp_recv(s, [max])             the datagram's bytes; its sender is kept for
 *                                  udp_last_from (also for EMSGSIZE). A receive
 *                                  that got its datagram just as the call was
 *                                  cancelled returns it anyway (uncancelling
 *                                  the task) and counts it in "raced", so no
 *                                  datagram is lost between JS and C
 *   udp_last_from(s)               {"family", "host", "port"}
 *   udp_recv_busy(s)               starts a receive, then a second one: the
 *                                  second's return code (EBUSY); the first is
 *                                  cancelled
 *   recv_behind_sync(s)            calls the host function "sync", then
 *                                  starts a receive; once "sync" answered,
 *                                  cancels the receive if it is not done (-1),
 *                                  else returns its length. With a datagram
 *                                  already queued in JS and "sync" answering at
 *                                  once, both answers reach C in one tick,
 *                                  sync's first: the cancel comes after the
 *                                  receive's answer reached C but before its
 *                                  future completed (C holds the datagram)
 *   udp_send_many(s, n, host, port)  sends "0" .. "n-1", each awaited; n
 *   udp_recv_many(s, n)            receives n datagrams (max 16) and checks
 *                                  they are "0" .. "n-1" in order; n
 *   udp_close_pending(s, host, port)  starts a receive and three sends with
 *                                  futures and one without, closes the socket
 *                                  at once, and returns {"recv": rc, "sends":
 *                                  [rc, rc, rc], "done": [4 counts of done
 *                                  callbacks]} a few milliseconds later
 *   udp_stats()                    {"sockets": slots in use, "raced": n}
 */
#include <stdio.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

enum { MAX_SOCKETS = 64, BIG = 65536 };

static tide_udp *sockets[MAX_SOCKETS];
static tide_address last_from[MAX_SOCKETS];
static int raced;

static int slot_of(tide_task *t, size_t i) {
  int s = num(t, i, -1);
  return s >= 0 && s < MAX_SOCKETS && sockets[s] != NULL ? s : -1;
}

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* Most tasks await one future at a time: this frame serves them. */
typedef struct one_frame {
  tide_future f;
  int rc;
  int slot;
  char msg[200];
  char out[160];
} one_frame;

/* Keep the error's message before the future is released. */
static void keep_msg(one_frame *f) {
  const char *m = tide_future_error_message(&f->f);
  snprintf(f->msg, sizeof f->msg, "%s", m != NULL ? m : tide_strerror(f->rc));
}

static int udp_open_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &f->f);
  f->rc = tide_udp_open(tide_task_loop(t), str(t, 0), num(t, 1, 0), &f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_udp_open refused");
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
    tide_udp *u = v.as.p;
    int id = -1;
    for (int i = 0; i < MAX_SOCKETS && id < 0; i++)
      if (sockets[i] == NULL) id = i;
    if (id < 0 || tide_task_cancelling(t) > 0) {
      tide_udp_close(u);
      TIDE_RETURN_ERROR(t, id < 0 ? TIDE_ENOMEM : TIDE_ECANCELED, "not kept");
    }
    sockets[id] = u;
    snprintf(f->out, sizeof f->out, "{\"id\":%d,\"port\":%d}", id, tide_udp_port(u));
    v = tide_value_json(f->out);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int udp_close_main(tide_task *t, void *frame) {
  (void)frame;
  int s = slot_of(t, 0);
  if (s < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
  tide_udp_close(sockets[s]);
  sockets[s] = NULL;
  TIDE_RETURN(t);
}

/* --- Sending -------------------------------------------------------------- */

typedef struct send_frame {
  one_frame one;
  size_t len;
  unsigned char buf[BIG];
} send_frame;

static int udp_send_main(tide_task *t, void *frame) {
  send_frame *f = frame;
  TIDE_BEGIN(t);
  {
    int s = slot_of(t, 0);
    const tide_value *d = arg(t, 1);
    const void *data = f->buf;
    if (s < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
    if (d != NULL && (d->type == TIDE_VALUE_BYTES || d->type == TIDE_VALUE_STRING)) {
      data = d->as.bytes.data;
      f->len = d->as.bytes.len;
    } else if (d != NULL && d->type == TIDE_VALUE_DOUBLE && d->as.d >= 0 && d->as.d <= BIG) {
      f->len = (size_t)d->as.d;
      for (size_t i = 0; i < f->len; i++)
        f->buf[i] = (unsigned char)(i * 7);
    } else {
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "udp_send(s, data, host, port)");
    }
    tide_future_init(tide_task_loop(t), &f->one.f);
    f->one.rc = tide_udp_send(sockets[s], data, f->len, str(t, 2), num(t, 3, 0), &f->one.f);
  }
  if (f->one.rc != 0) {
    tide_future_release(&f->one.f);
    TIDE_RETURN_ERROR(t, f->one.rc, "tide_udp_send refused");
  }
  TIDE_AWAIT(t, &f->one.f, f->one.rc);
  if (f->one.rc != 0) keep_msg(&f->one);
  tide_future_release(&f->one.f);
  if (f->one.rc != 0) TIDE_RETURN_ERROR(t, f->one.rc, f->one.msg);
  TIDE_RETURN_INT(t, f->len);
  TIDE_END(t);
}

typedef struct many_frame {
  tide_future f;
  int rc, i, n, slot;
  char msg[16];
  char why[64];
} many_frame;

static int udp_send_many_main(tide_task *t, void *frame) {
  many_frame *f = frame;
  TIDE_BEGIN(t);
  f->slot = slot_of(t, 0);
  if (f->slot < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
  f->n = num(t, 1, 0);
  for (f->i = 0; f->i < f->n; f->i++) {
    snprintf(f->msg, sizeof f->msg, "%d", f->i);
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_udp_send(sockets[f->slot], f->msg, strlen(f->msg), str(t, 2), num(t, 3, 0),
                          &f->f);
    if (f->rc != 0) {
      tide_future_release(&f->f);
      TIDE_RETURN_ERROR(t, f->rc, "tide_udp_send refused");
    }
    TIDE_AWAIT(t, &f->f, f->rc);
    tide_future_release(&f->f);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "a send failed");
  }
  TIDE_RETURN_INT(t, f->n);
  TIDE_END(t);
}

static int udp_recv_many_main(tide_task *t, void *frame) {
  many_frame *f = frame;
  TIDE_BEGIN(t);
  f->slot = slot_of(t, 0);
  if (f->slot < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
  f->n = num(t, 1, 0);
  for (f->i = 0; f->i < f->n; f->i++) {
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_udp_recv(sockets[f->slot], 16, NULL, &f->f);
    if (f->rc != 0) {
      tide_future_release(&f->f);
      TIDE_RETURN_ERROR(t, f->rc, "tide_udp_recv refused");
    }
    TIDE_AWAIT(t, &f->f, f->rc);
    if (f->rc == 0) {
      tide_value v;
      (void)tide_future_result(&f->f, &v);
      snprintf(f->msg, sizeof f->msg, "%d", f->i);
      if (v.as.bytes.len != strlen(f->msg) || memcmp(v.as.bytes.data, f->msg, v.as.bytes.len))
        f->rc = TIDE_EINVAL;
      snprintf(f->why, sizeof f->why, "datagram %d out of order", f->i);
    }
    tide_future_release(&f->f);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, f->rc == TIDE_EINVAL ? f->why : NULL);
  }
  TIDE_RETURN_INT(t, f->n);
  TIDE_END(t);
}

/* --- Receiving ------------------------------------------------------------ */

static int udp_recv_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  TIDE_BEGIN(t);
  f->slot = slot_of(t, 0);
  if (f->slot < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
  memset(&last_from[f->slot], 0, sizeof last_from[f->slot]);
  tide_future_init(tide_task_loop(t), &f->f);
  f->rc = tide_udp_recv(sockets[f->slot], (size_t)num(t, 1, 0), &last_from[f->slot], &f->f);
  if (f->rc != 0) {
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, "tide_udp_recv refused");
  }
  TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc != 0) {
    keep_msg(f);
    tide_future_release(&f->f);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  {
    void *data;
    size_t len;
    /* The datagram won the race with a cancel: it is this call's answer. */
    if (tide_task_cancelling(t) > 0) {
      raced++;
      tide_task_uncancel(t);
    }
    (void)tide_future_take_bytes(&f->f, &data, &len);
    tide_future_release(&f->f);
    TIDE_RETURN_BYTES(t, data, len, dealloc_bytes, tide_task_loop(t));
  }
  TIDE_END(t);
}

static int udp_last_from_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  int s = num(t, 0, -1);
  if (s < 0 || s >= MAX_SOCKETS) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such slot");
  snprintf(f->out, sizeof f->out, "{\"family\":%d,\"host\":\"%s\",\"port\":%d}",
           last_from[s].family, last_from[s].host, last_from[s].port);
  tide_value v = tide_value_json(f->out);
  TIDE_RETURN_VALUE(t, &v);
}

static int udp_recv_busy_main(tide_task *t, void *frame) {
  (void)frame;
  tide_loop *loop = tide_task_loop(t);
  tide_future a, b;
  int s = slot_of(t, 0);
  if (s < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
  tide_future_init(loop, &a);
  tide_future_init(loop, &b);
  int rc = tide_udp_recv(sockets[s], 0, NULL, &a);
  if (rc == 0) rc = tide_udp_recv(sockets[s], 0, NULL, &b);
  int b_done = tide_future_done(&b);
  tide_future_release(&b);
  tide_future_release(&a); /* cancels the first receive */
  if (b_done) TIDE_RETURN_ERROR(t, TIDE_ESTATE, "a refused receive touched its future");
  TIDE_RETURN_INT(t, rc);
}

typedef struct behind_sync_frame {
  tide_future sync, recv;
  int rc;
} behind_sync_frame;

static int recv_behind_sync_main(tide_task *t, void *frame) {
  behind_sync_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    int s = slot_of(t, 0);
    if (s < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
    tide_future_init(loop, &f->sync);
    f->rc = tide_host_call(loop, "sync", NULL, 0, &f->sync);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "host call refused");
    tide_future_init(loop, &f->recv);
    f->rc = tide_udp_recv(sockets[s], 0, NULL, &f->recv);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "tide_udp_recv refused");
  }
  TIDE_AWAIT(t, &f->sync, f->rc);
  tide_future_release(&f->sync);
  if (!tide_future_done(&f->recv)) {
    tide_future_release(&f->recv); /* cancels it */
    TIDE_RETURN_INT(t, -1);
  }
  {
    tide_value v;
    f->rc = tide_future_result(&f->recv, &v);
    size_t len = f->rc == 0 ? v.as.bytes.len : 0;
    tide_future_release(&f->recv);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "the receive failed");
    TIDE_RETURN_INT(t, len);
  }
  TIDE_END(t);
}

/* --- Close with work pending ---------------------------------------------- */

typedef struct pending_frame {
  tide_future recv, sends[3];
  int done[4];
  int rc;
  char out[160];
} pending_frame;

static void count_done(tide_future *f, void *ud) {
  (void)f;
  (*(int *)ud)++;
}

static int udp_close_pending_main(tide_task *t, void *frame) {
  pending_frame *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    int s = slot_of(t, 0);
    if (s < 0) TIDE_RETURN_ERROR(t, TIDE_ENOENT, "no such socket");
    tide_udp *u = sockets[s];
    tide_future_init(loop, &f->recv);
    if (tide_udp_recv(u, 0, NULL, &f->recv) != 0)
      TIDE_RETURN_ERROR(t, TIDE_ESTATE, "the receive was refused");
    (void)tide_future_add_done_callback(&f->recv, count_done, &f->done[3]);
    for (int i = 0; i < 3; i++) {
      tide_future_init(loop, &f->sends[i]);
      if (tide_udp_send(u, "q", 1, str(t, 1), num(t, 2, 0), &f->sends[i]) != 0)
        TIDE_RETURN_ERROR(t, TIDE_ESTATE, "a send was refused");
      (void)tide_future_add_done_callback(&f->sends[i], count_done, &f->done[i]);
    }
    if (tide_udp_send(u, "q", 1, str(t, 1), num(t, 2, 0), NULL) != 0)
      TIDE_RETURN_ERROR(t, TIDE_ESTATE, "a send was refused");
    tide_udp_close(u);
    sockets[s] = NULL;
  }
  /* The done callbacks run from the loop: give them a few ticks. */
  TIDE_SLEEP(t, 5, f->rc);
  snprintf(f->out, sizeof f->out,
           "{\"recv\":%d,\"sends\":[%d,%d,%d],\"done\":[%d,%d,%d,%d]}",
           tide_future_result(&f->recv, NULL), tide_future_result(&f->sends[0], NULL),
           tide_future_result(&f->sends[1], NULL), tide_future_result(&f->sends[2], NULL),
           f->done[0], f->done[1], f->done[2], f->done[3]);
  tide_future_release(&f->recv);
  for (int i = 0; i < 3; i++)
    tide_future_release(&f->sends[i]);
  {
    tide_value v = tide_value_json(f->out);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int udp_stats_main(tide_task *t, void *frame) {
  one_frame *f = frame;
  int n = 0;
  for (int i = 0; i < MAX_SOCKETS; i++)
    n += sockets[i] != NULL;
  snprintf(f->out, sizeof f->out, "{\"sockets\":%d,\"raced\":%d}", n, raced);
  tide_value v = tide_value_json(f->out);
  TIDE_RETURN_VALUE(t, &v);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  static const test_export exports[] = {
      {"udp_open", udp_open_main, sizeof(one_frame)},
      {"udp_close", udp_close_main, 0},
      {"udp_send", udp_send_main, sizeof(send_frame)},
      {"udp_send_many", udp_send_many_main, sizeof(many_frame)},
      {"udp_recv", udp_recv_main, sizeof(one_frame)},
      {"udp_recv_many", udp_recv_many_main, sizeof(many_frame)},
      {"udp_last_from", udp_last_from_main, sizeof(one_frame)},
      {"udp_recv_busy", udp_recv_busy_main, 0},
      {"recv_behind_sync", recv_behind_sync_main, sizeof(behind_sync_frame)},
      {"udp_close_pending", udp_close_pending_main, sizeof(pending_frame)},
      {"udp_stats", udp_stats_main, sizeof(one_frame)},
  };
  (void)argc;
  (void)argv;
  return export_all(loop, exports, sizeof exports / sizeof exports[0]);
}

TIDE_MAIN(setup)
