/* future.c: futures complete exactly once; done callbacks and awaiting tasks run
 * from the loop.
 *
 * Completion never runs a user's waiter inline: it queues the future's own
 * embedded dispatch runnable (no allocation), which on the next tick notifies
 * the waiters in the order they were added. A waiter may release the future it
 * is told about; the dispatch notices through loop->priv_dispatching and stops.
 * The one exception is internal: the futures of some of the library's own host
 * operations (TIDE__F_NOTIFY_NOW) notify their library callbacks at once.
 */
#include <string.h>

#include "internal.h"

static const char oom_message[] = "(error message lost: out of memory)";

static void dispatch(tide__runnable *r);

/* The producer's cancel hook: only a pending future has one, and a task's
 * future never does (see tide_future_set_cancel_hook). */
static tide_future_cancel_hook hook_of(const tide_future *f) {
  return f->priv_state == TIDE_FUTURE_PENDING && !(f->priv_flags & TIDE__F_TASK)
             ? f->priv_pending.hook
             : NULL;
}

void tide_future_init(tide_loop *loop, tide_future *f) {
  assert(loop != NULL && f != NULL);
  f->priv_loop = loop;
  f->priv_state = TIDE_FUTURE_PENDING;
  f->priv_flags = 0;
  tide__q_init(&f->priv_waiters);
  tide__q_init(&f->priv_dispatch.link);
  f->priv_dispatch.run = dispatch;
  memset(&f->priv_pending, 0, sizeof f->priv_pending);
}

int tide_future_new(tide_loop *loop, tide_future **out_future) {
  tide_future *f = tide_loop_alloc(loop, sizeof *f);
  if (f == NULL) return TIDE_ENOMEM;
  tide_future_init(loop, f);
  *out_future = f;
  return 0;
}

void tide__value_drop(tide_value *v) {
  if ((v->type == TIDE_VALUE_BYTES || v->type == TIDE_VALUE_STRING ||
       v->type == TIDE_VALUE_JSON) &&
      v->priv_free != NULL)
    v->priv_free(v->as.bytes.data, v->priv_free_ud);
  v->type = TIDE_VALUE_NONE;
  v->priv_free = NULL;
}

/* Unobserved errors are reported here, at release: deterministic, not at GC. */
static void report_unobserved(tide_future *f) {
  tide_error_report report;
  tide_task *task = (f->priv_flags & TIDE__F_TASK) ? tide__task_of(f) : NULL;
  report.code = f->priv_error.code;
  report.message =
      f->priv_error.msg != NULL ? f->priv_error.msg : tide_strerror(f->priv_error.code);
  report.context = task != NULL ? "task failed and nobody awaited it"
                                : "future error was never observed";
  report.future = f;
  report.task = task;
  tide__report(f->priv_loop, &report);
}

static void notify_done_cb(tide__waiter *w, tide_future *f);

/* Free the done-callback records of a waiter list. Only done callbacks may be
 * there at release: a task awaiting the future would be left dangling. */
static void drop_waiters(tide__qnode *list) {
  while (!tide__q_empty(list)) {
    tide__waiter *w = tide__container_of(list->next, tide__waiter, link);
    assert(w->notify == notify_done_cb && "released a future a task is awaiting");
    tide__q_remove(&w->link);
    tide__call_release(tide__container_of(w, tide__call_record, u.waiter));
  }
}

void tide_future_release(tide_future *f) {
  tide_loop *loop = f->priv_loop;
  /* A producer still holding the future is told through its cancel hook. */
  if (f->priv_state == TIDE_FUTURE_PENDING && hook_of(f) != NULL) {
    f->priv_flags |= TIDE__F_RELEASING;
    tide__future_cancel_now(f);
  }
  if (f->priv_state == TIDE_FUTURE_ERROR && !(f->priv_flags & TIDE__F_OBSERVED))
    report_unobserved(f);
  drop_waiters(&f->priv_waiters);
  if (loop->priv_dispatching == f) {
    /* Released by one of its own waiters: the rest are dropped. */
    drop_waiters(loop->priv_dispatch_batch);
    loop->priv_dispatching = NULL;
  }
  tide__q_remove(&f->priv_dispatch.link);
  if (f->priv_state == TIDE_FUTURE_RESULT) tide__value_drop(&f->priv_value);
  if (f->priv_flags & TIDE__F_MSG_OWNED) {
    tide_loop_dealloc(loop, f->priv_error.msg);
    f->priv_error.msg = NULL;
  }
  f->priv_flags = 0;
}

void tide_future_free(tide_future *f) {
  tide_loop *loop = f->priv_loop;
  tide_future_release(f);
  tide_loop_dealloc(loop, f);
}

/* Queue the dispatch if anyone waits and it is not queued already. A task's
 * future lent the runnable to its task until now (internal.h): set its
 * function each time. */
static void schedule_dispatch(tide_future *f) {
  if (!tide__q_empty(&f->priv_waiters) && !tide__q_linked(&f->priv_dispatch.link)) {
    f->priv_dispatch.run = dispatch;
    tide__ready_push(f->priv_loop, &f->priv_dispatch);
  }
}

/* Notify the waiters present when the dispatch starts, in order; waiters added
 * meanwhile get a later dispatch. The batch is published in the loop so that a
 * waiter may release the future or remove a callback still in the batch. */
static void dispatch(tide__runnable *r) {
  tide_future *f = tide__container_of(r, tide_future, priv_dispatch);
  tide_loop *loop = f->priv_loop;
  tide__qnode batch;
  assert(loop->priv_dispatching == NULL);
  tide__q_init(&batch);
  tide__q_move_all(&f->priv_waiters, &batch);
  loop->priv_dispatching = f;
  loop->priv_dispatch_batch = &batch;
  while (loop->priv_dispatching == f && !tide__q_empty(&batch)) {
    tide__waiter *w = tide__container_of(batch.next, tide__waiter, link);
    tide__q_remove(&w->link);
    w->notify(w, f);
  }
  int intact = loop->priv_dispatching == f; /* not released by a waiter */
  if (intact) schedule_dispatch(f);
  loop->priv_dispatching = NULL;
  loop->priv_dispatch_batch = NULL;
  /* Last: this may free the task, and f with it. */
  if (intact && (f->priv_flags & TIDE__F_TASK)) tide__task_dispatched(f);
}

/* The outcome is in place already (it took the pending part's storage, the
 * cancel hook with it). */
static int complete(tide_future *f, tide_future_state state) {
  f->priv_state = (uint8_t)state;
  /* A cancellation is never notified at once: it comes from inside calls
   * (release, close) whose callers do not expect their callbacks to run. Nor
   * is anything while a dispatch runs (dispatches do not nest). */
  if ((f->priv_flags & TIDE__F_NOTIFY_NOW) && state != TIDE_FUTURE_CANCELLED &&
      f->priv_loop->priv_dispatching == NULL && !tide__q_empty(&f->priv_waiters)) {
    dispatch(&f->priv_dispatch);
    return 0;
  }
  schedule_dispatch(f);
  return 0;
}

int tide__future_complete(tide_future *f, const tide_value *value) {
  if (f->priv_state != TIDE_FUTURE_PENDING) return TIDE_EALREADY;
  if (value != NULL)
    f->priv_value = *value;
  else
    memset(&f->priv_value, 0, sizeof f->priv_value);
  return complete(f, TIDE_FUTURE_RESULT);
}

int tide__future_fail(tide_future *f, int code, const char *message) {
  if (f->priv_state != TIDE_FUTURE_PENDING) return TIDE_EALREADY;
  if (code == TIDE_ECANCELED) return tide__future_cancel_now(f);
  if (code >= 0) code = TIDE_EINVAL;
  char *msg = NULL;
  if (message != NULL) {
    size_t len = strlen(message);
    msg = tide_loop_alloc(f->priv_loop, len + 1);
    if (msg != NULL) {
      memcpy(msg, message, len + 1);
      f->priv_flags |= TIDE__F_MSG_OWNED;
    } else {
      msg = (char *)oom_message;
    }
  }
  f->priv_error.msg = msg;
  f->priv_error.code = code;
  return complete(f, TIDE_FUTURE_ERROR);
}

/* Cancel a plain future: the producer's hook runs first, inside this call, so
 * the work behind it can be aborted. */
int tide__future_cancel_now(tide_future *f) {
  if (f->priv_state != TIDE_FUTURE_PENDING) return TIDE_EALREADY;
  tide_future_cancel_hook hook = hook_of(f);
  if (hook != NULL) {
    f->priv_pending.hook = NULL;
    hook(f, f->priv_pending.ud);
  }
  if (f->priv_state != TIDE_FUTURE_PENDING) return 0; /* the hook completed it */
  /* A producer that must finish something first re-arms its hook: the future
   * stays pending and the producer cancels it later (a condition waiter takes
   * its lock back first, as asyncio's Condition.wait). A release cannot wait. */
  if (hook_of(f) != NULL && !(f->priv_flags & TIDE__F_RELEASING)) return 0;
  return complete(f, TIDE_FUTURE_CANCELLED);
}

/* The public setters refuse a task's future: only its coroutine completes it. */
static int settable(const tide_future *f) {
  assert(f != NULL && f->priv_loop != NULL);
  if (f->priv_flags & TIDE__F_TASK) return TIDE_ESTATE;
  return f->priv_state == TIDE_FUTURE_PENDING ? 0 : TIDE_EALREADY;
}

static int set_value(tide_future *f, tide_value *v) {
  int rc = settable(f);
  return rc != 0 ? rc : tide__future_complete(f, v);
}

int tide_future_set_none(tide_future *f) { return set_value(f, NULL); }

int tide_future_set_int(tide_future *f, int64_t value) {
  tide_value v = {TIDE_VALUE_INT, {0}, NULL, NULL};
  v.as.i = value;
  return set_value(f, &v);
}

int tide_future_set_double(tide_future *f, double value) {
  tide_value v = {TIDE_VALUE_DOUBLE, {0}, NULL, NULL};
  v.as.d = value;
  return set_value(f, &v);
}

int tide_future_set_ptr(tide_future *f, void *value) {
  tide_value v = {TIDE_VALUE_PTR, {0}, NULL, NULL};
  v.as.p = value;
  return set_value(f, &v);
}

int tide_future_set_bytes(tide_future *f, void *data, size_t len,
                          tide_bytes_free_fn free_fn, void *free_ud) {
  tide_value v = {TIDE_VALUE_BYTES, {0}, free_fn, free_ud};
  v.as.bytes.data = data;
  v.as.bytes.len = len;
  return set_value(f, &v);
}

int tide_future_set_error(tide_future *f, int code, const char *message) {
  int rc = settable(f);
  return rc != 0 ? rc : tide__future_fail(f, code, message);
}

int tide_future_cancel(tide_future *f) {
  if (f->priv_state != TIDE_FUTURE_PENDING) return TIDE_EALREADY;
  if (f->priv_flags & TIDE__F_TASK) return tide__task_cancel_from_future(f);
  return tide__future_cancel_now(f);
}

/* A task's future has no hook to set: cancelling it cancels the task. */
void tide_future_set_cancel_hook(tide_future *f, tide_future_cancel_hook hook, void *ud) {
  if (f->priv_state != TIDE_FUTURE_PENDING || (f->priv_flags & TIDE__F_TASK)) return;
  f->priv_pending.hook = hook;
  f->priv_pending.ud = ud;
}

tide_loop *tide_future_loop(const tide_future *f) { return f->priv_loop; }

tide_future_state tide_future_state_get(const tide_future *f) {
  return (tide_future_state)f->priv_state;
}

int tide_future_done(const tide_future *f) { return f->priv_state != TIDE_FUTURE_PENDING; }

int tide__future_outcome(tide_future *f) {
  switch (f->priv_state) {
  case TIDE_FUTURE_RESULT:
    return 0;
  case TIDE_FUTURE_ERROR:
    f->priv_flags |= TIDE__F_OBSERVED;
    return f->priv_error.code;
  case TIDE_FUTURE_CANCELLED:
    return TIDE_ECANCELED;
  default:
    return TIDE_EPENDING;
  }
}

int tide_future_result(tide_future *f, tide_value *out_value) {
  int rc = tide__future_outcome(f);
  if (rc == 0 && out_value != NULL) *out_value = f->priv_value;
  return rc;
}

const char *tide_future_error_message(tide_future *f) {
  if (f->priv_state != TIDE_FUTURE_ERROR) return NULL;
  f->priv_flags |= TIDE__F_OBSERVED;
  const char *msg = f->priv_error.msg;
  return msg != NULL ? msg : tide_strerror(f->priv_error.code);
}

int tide_future_take_bytes(tide_future *f, void **out_data, size_t *out_len) {
  int rc = tide__future_outcome(f);
  if (rc != 0) return rc;
  tide_value_type type = (tide_value_type)f->priv_value.type;
  if (type != TIDE_VALUE_BYTES && type != TIDE_VALUE_STRING && type != TIDE_VALUE_JSON)
    return TIDE_ESTATE;
  *out_data = f->priv_value.as.bytes.data;
  *out_len = f->priv_value.as.bytes.len;
  f->priv_value.type = TIDE_VALUE_NONE; /* ownership moved: release frees nothing */
  f->priv_value.priv_free = NULL;
  return 0;
}

void tide__future_add_waiter(tide_future *f, tide__waiter *w) {
  tide__q_insert_tail(&f->priv_waiters, &w->link);
  if (f->priv_state != TIDE_FUTURE_PENDING) schedule_dispatch(f);
}

/* A done callback rides on a pooled call record; it is recycled before the
 * callback runs so the callback may add callbacks again. */
static void notify_done_cb(tide__waiter *w, tide_future *f) {
  tide__call_record *rec = tide__container_of(w, tide__call_record, u.waiter);
  tide_future_cb cb = rec->fn.done;
  void *ud = rec->ud;
  tide__call_release(rec);
  cb(f, ud);
}

int tide_future_add_done_callback(tide_future *f, tide_future_cb cb, void *ud) {
  if (cb == NULL) return TIDE_EINVAL;
  tide__call_record *rec = tide__call_acquire(f->priv_loop, TIDE__CALL_DONE_CB);
  if (rec == NULL) return TIDE_ENOMEM;
  rec->fn.done = cb;
  rec->ud = ud;
  rec->u.waiter.notify = notify_done_cb;
  tide__q_insert_tail(&f->priv_waiters, &rec->u.waiter.link);
  if (f->priv_state != TIDE_FUTURE_PENDING) schedule_dispatch(f);
  return 0;
}

static int remove_from(tide__qnode *list, tide_future_cb cb, void *ud) {
  int removed = 0;
  tide__qnode *n = list->next;
  while (n != list) {
    tide__qnode *next = n->next;
    tide__waiter *w = tide__container_of(n, tide__waiter, link);
    if (w->notify == notify_done_cb) {
      tide__call_record *rec = tide__container_of(w, tide__call_record, u.waiter);
      if (rec->fn.done == cb && rec->ud == ud) {
        tide__q_remove(n);
        tide__call_release(rec);
        removed++;
      }
    }
    n = next;
  }
  return removed;
}

int tide_future_remove_done_callback(tide_future *f, tide_future_cb cb, void *ud) {
  int removed = remove_from(&f->priv_waiters, cb, ud);
  if (f->priv_loop->priv_dispatching == f)
    removed += remove_from(f->priv_loop->priv_dispatch_batch, cb, ud);
  return removed;
}
