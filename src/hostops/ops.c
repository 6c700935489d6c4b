/* ops.c: host operations: tide_host_call() starts one, the host completes it
 * with tide__host_complete(), and cancelling its future aborts it.
 *
 * An operation lives in the loop's op table from start to end, named by an id
 * that goes to the host; while it is there it counts as referenced, registered
 * work (the loop stays alive and cannot close), and its future carries a cancel
 * hook. It ends exactly once, by whichever comes first: the host's completion
 * or the future's cancellation (or release); the other then finds the id stale
 * and changes nothing. That is the "never both, never none" rule of docs/ARCHITECTURE.md.
 */
#include <string.h>

#include "hostops.h"
#include "internal.h"
#include "library_ops.h"

/* Arguments up to this size are encoded on the stack: the host copies them
 * during the call, so most calls allocate nothing. */
enum { STACK_ARGS = 256, STACK_MESSAGE = 256 };

static void *id_to_ud(uint32_t id) {
  return (void *)(uintptr_t)id;
}
static uint32_t ud_to_id(void *ud) {
  return (uint32_t)(uintptr_t)ud;
}

/* Take op out of the table and out of the loop's counts. */
static void op_end(tide_loop *loop, tide__host *h, uint32_t op) {
  tide__ids_remove(&h->ops, op);
  assert(loop->priv_active_refs > 0 && loop->priv_registered > 0);
  loop->priv_active_refs--;
  loop->priv_registered--;
  loop->priv_host_ops--;
}

/* The future was cancelled (or released) while the host still had the
 * operation: end it here first, so a completion racing with the abort is
 * refused, then tell the host. */
static void on_cancel(tide_future *future, void *ud) {
  tide_loop *loop = future->priv_loop;
  tide__host *h = loop->priv_host;
  uint32_t op = ud_to_id(ud);
  assert(h != NULL && tide__ids_get(&h->ops, op) == future);
  op_end(loop, h, op);
  if (loop->priv_diag) tide__diag_host(loop, TIDE__EV_HOST_CANCEL, op, NULL, 0);
  tide__backend_host_cancel(loop, op);
}

/* The future must be one a host can complete: pending, of this loop, not a
 * task's (only its coroutine completes that) and with no other producer. */
static int usable_future(const tide_loop *loop, const tide_future *f) {
  return f != NULL && f->priv_loop == loop && f->priv_state == TIDE_FUTURE_PENDING &&
         !(f->priv_flags & TIDE__F_TASK) && f->priv_pending.hook == NULL;
}

int tide_host_call(tide_loop *loop, const char *name, const tide_value *args,
                   size_t nargs, tide_future *future) {
  assert(loop != NULL);
  if (name == NULL || (nargs > 0 && args == NULL) || !usable_future(loop, future))
    return TIDE_EINVAL;
  /* The value list, if the host reads it (the JS host takes up to three
   * numbers as parameters: a round trip's arguments need no encoding). */
  size_t len = 0;
  int rc;
  unsigned char stack[STACK_ARGS];
  unsigned char *buf = stack;
  if (tide__backend_host_wants_list(args, nargs)) {
    rc = tide__values_measure(args, nargs, &len);
    if (rc != 0) return rc;
    if (len > sizeof stack) {
      buf = tide_loop_alloc(loop, len);
      if (buf == NULL) return TIDE_ENOMEM;
    }
    tide__values_write(args, nargs, buf);
  }

  int fresh = loop->priv_host == NULL;
  tide__host *h = tide__host_get(loop);
  uint32_t op = 0;
  if (h == NULL) {
    rc = TIDE_ENOMEM;
  } else if ((rc = tide__ids_add(loop, &h->ops, future, &op)) == 0) {
    /* Fully registered before the host hears of it, so even a host that broke
     * the rule and completed it from inside the call would find it whole. */
    loop->priv_active_refs++;
    loop->priv_registered++;
    loop->priv_host_ops++;
    tide_future_set_cancel_hook(future, on_cancel, id_to_ud(op));
    rc = tide__backend_host_call(loop, op, name, strlen(name), args, nargs,
                                 len > 0 ? buf : NULL, len);
    if (rc != 0) {
      tide_future_set_cancel_hook(future, NULL, NULL);
      op_end(loop, h, op);
    } else if (loop->priv_diag) {
      tide__diag_host(loop, TIDE__EV_HOST_START, op, name, 0);
    }
  }
  if (rc != 0 && fresh) tide__host_trim(loop); /* a refused first call leaves nothing */
  if (buf != stack) tide_loop_dealloc(loop, buf);
  return rc;
}

int tide__host_op(tide_loop *loop, tide_future *f, const char *name,
                  const tide_value *args, size_t nargs, tide_future_cb cb, void *ud) {
  tide_future_init(loop, f);
  int rc = tide_future_add_done_callback(f, cb, ud);
  if (rc == 0) rc = tide_host_call(loop, name, args, nargs, f);
  if (rc != 0) tide_future_release(f);
  return rc;
}

int tide__host_op_direct(tide_loop *loop, tide_future *f, const char *name,
                         const tide_value *args, size_t nargs, tide_future_cb cb,
                         void *ud) {
  int rc = tide__host_op(loop, f, name, args, nargs, cb, ud);
  if (rc == 0) f->priv_flags |= TIDE__F_NOTIFY_NOW;
  return rc;
}

/* A code from the host names a TIDE_E* or is foreign: then TIDE_EHOST. */
static int known_code(int code) {
  return code <= -1 && code >= TIDE__ERR_LAST;
}

/* Fail f with the host's message (len bytes of UTF-8, not NUL-terminated). The
 * future copies the message; the NUL-terminated staging copy is on the stack
 * when short, and a long one that cannot be allocated is cut to the stack size
 * rather than lost. */
static void fail_with_message(tide_future *f, int code, const char *msg, size_t len) {
  tide_loop *loop = f->priv_loop;
  char stack[STACK_MESSAGE];
  char *text = stack;
  if (len == 0 || msg == NULL) {
    tide__future_fail(f, code, NULL);
    return;
  }
  if (len >= sizeof stack) {
    text = tide_loop_alloc(loop, len + 1);
    if (text == NULL) {
      text = stack;
      len = sizeof stack - 1;
    }
  }
  memcpy(text, msg, len);
  text[len] = '\0';
  tide__future_fail(f, code, text);
  if (text != stack) tide_loop_dealloc(loop, text);
}

/* The pending operation op, ended now (out of the table and the loop's
 * counts, its cancel hook gone): its future, which the caller completes at
 * once; NULL for an unknown, finished or cancelled op. */
static tide_future *take_op(tide_loop *loop, uint32_t op, int code) {
  tide__host *h = loop->priv_host;
  tide_future *f = h != NULL ? tide__ids_get(&h->ops, op) : NULL;
  if (f == NULL) return NULL;
  assert(f->priv_state == TIDE_FUTURE_PENDING &&
         "a host operation's future completed by another");
  op_end(loop, h, op);
  tide_future_set_cancel_hook(f, NULL, NULL);
  if (loop->priv_diag) tide__diag_host(loop, TIDE__EV_HOST_COMPLETE, op, NULL, code);
  return f;
}

int tide__host_complete(tide_loop *loop, uint32_t op, int code, void *buf, size_t len) {
  tide__host *h = loop->priv_host;
  if (h == NULL || tide__ids_get(&h->ops, op) == NULL) {
    tide_loop_dealloc(loop, buf);
    return TIDE_ENOENT;
  }
  tide_value value;
  int rc = code > 0 ? TIDE_EINVAL : 0;
  if (code == 0) rc = tide__value_take_one(loop, buf, len, &value);

  /* The operation ends now, whatever it carried. */
  tide_future *f = take_op(loop, op, rc != 0 ? TIDE_EINVAL : code);
  if (rc != 0) {
    tide_loop_dealloc(loop, buf);
    tide__future_fail(f, TIDE_EINVAL, "the host sent a malformed value");
    return rc;
  }
  if (code == 0) {
    if (value.priv_free == NULL)
      tide_loop_dealloc(loop, buf); /* else the value owns it */
    tide__future_complete(f, &value);
    return 0;
  }
  fail_with_message(f, known_code(code) ? code : TIDE_EHOST, buf, len);
  tide_loop_dealloc(loop, buf);
  return 0;
}

int tide__host_complete_value(tide_loop *loop, uint32_t op, int code,
                              const tide_value *value) {
  assert(value->type == TIDE_VALUE_NONE || value->type == TIDE_VALUE_DOUBLE);
  tide_future *f = take_op(loop, op, code > 0 ? TIDE_EINVAL : code);
  if (f == NULL) return TIDE_ENOENT;
  if (code > 0) {
    tide__future_fail(f, TIDE_EINVAL, "the host sent a malformed value");
    return TIDE_EINVAL;
  }
  if (code < 0)
    tide__future_fail(f, known_code(code) ? code : TIDE_EHOST, NULL);
  else
    tide__future_complete(f, value);
  return 0;
}
