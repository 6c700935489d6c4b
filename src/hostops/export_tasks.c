/* export_tasks.c: coroutines the host can call by name (tide_export_task), and
 * the calls themselves: tide__host_call_task spawns one task per call, and a
 * done callback sends its outcome back through tide__backend_call_done.
 *
 * A call lives in the loop's call table from spawn until its task's done
 * callback has run, named by the id the host got; the table holds the task
 * reference the spawn gave us, dropped after the outcome went out.
 */
#include <string.h>

#include "hostops.h"
#include "internal.h"

static int start_call(tide_loop *loop, const tide__export *e, void *args_buf,
                      size_t args_len);

struct tide__export {
  tide__export *next;
  /* start_call. The host's calls reach it only through an export, so the code
   * that decodes arguments, spawns the task and sends the outcome is linked
   * only if the program calls tide_export_task (wasm-ld drops functions
   * nothing references): a module that exports nothing just answers
   * TIDE_ENOENT, and is 2.5 KB smaller. */
  int (*start)(tide_loop *loop, const tide__export *e, void *args_buf, size_t args_len);
  tide_task_fn fn;
  size_t frame_size;
  size_t name_len;
  char name[]; /* NUL-terminated */
};

static tide__export *find(const tide__host *h, const char *name, size_t name_len) {
  for (tide__export *e = h != NULL ? h->exports : NULL; e != NULL; e = e->next)
    if (e->name_len == name_len && memcmp(e->name, name, name_len) == 0) return e;
  return NULL;
}

int tide_export_task(tide_loop *loop, const char *name, tide_task_fn fn,
                     size_t frame_size) {
  assert(loop != NULL);
  if (name == NULL || name[0] == '\0' || fn == NULL) return TIDE_EINVAL;
  size_t len = strlen(name);
  if (find(loop->priv_host, name, len) != NULL) return TIDE_EEXIST;
  if (len > SIZE_MAX - sizeof(tide__export) - 1) return TIDE_EINVAL;
  tide__export *e = tide_loop_alloc(loop, sizeof *e + len + 1);
  if (e == NULL) return TIDE_ENOMEM;
  tide__host *h = tide__host_get(loop);
  if (h == NULL) {
    tide_loop_dealloc(loop, e);
    return TIDE_ENOMEM;
  }
  e->start = start_call;
  e->fn = fn;
  e->frame_size = frame_size;
  e->name_len = len;
  memcpy(e->name, name, len + 1);
  e->next = h->exports;
  h->exports = e;
  return 0;
}

void tide__exports_free(tide_loop *loop, tide__host *h) {
  while (h->exports != NULL) {
    tide__export *e = h->exports;
    h->exports = e->next;
    tide_loop_dealloc(loop, e);
  }
}

/* --- Sending an outcome back ------------------------------------------------- */

static const char ptr_message[] = "a pointer cannot cross to the host";
static const char oom_message[] = "out of memory encoding the result";
static const char cancelled_message[] = "cancelled";

static void send_error(tide_loop *loop, uint32_t call, int code, const char *message) {
  tide__backend_call_done(loop, call, code, message, strlen(message));
}

/* Encode the task's outcome (ABI: code 0 + a one-item list, or code < 0 + a
 * message) and hand it to the host, which copies it during the call. */
static void send_outcome(tide_loop *loop, uint32_t call, tide_future *f) {
  tide_value value;
  int rc = tide_future_result(f, &value); /* marks an error observed: it is delivered */
  if (rc == TIDE_ECANCELED) {
    send_error(loop, call, TIDE_ECANCELED, cancelled_message);
    return;
  }
  if (rc != 0) {
    send_error(loop, call, rc, tide_future_error_message(f));
    return;
  }
  if (value.type == TIDE_VALUE_PTR) {
    send_error(loop, call, TIDE_EINVAL, ptr_message);
    return;
  }
  unsigned char stack[64];
  unsigned char *buf = stack;
  size_t len;
  if (tide__values_measure(&value, 1, &len) != 0) {
    send_error(loop, call, TIDE_EINVAL, "the result cannot be sent to the host");
    return;
  }
  if (len > sizeof stack && (buf = tide_loop_alloc(loop, len)) == NULL) {
    send_error(loop, call, TIDE_ENOMEM, oom_message);
    return;
  }
  tide__values_write(&value, 1, buf);
  tide__backend_call_done(loop, call, 0, buf, len);
  if (buf != stack) tide_loop_dealloc(loop, buf);
}

static void on_task_done(tide_future *f, void *ud) {
  tide_loop *loop = f->priv_loop;
  tide__host *h = loop->priv_host;
  uint32_t call = (uint32_t)(uintptr_t)ud;
  tide_task *task = tide__task_of(f);
  assert(h != NULL && tide__ids_get(&h->calls, call) == task);
  tide__ids_remove(&h->calls, call);
  send_outcome(loop, call, f);
  tide_task_release(task);
}

/* --- Calls from the host ------------------------------------------------------ */

int tide__host_call_task(tide_loop *loop, const char *name, size_t name_len,
                         void *args_buf, size_t args_len) {
  tide__export *e = name != NULL ? find(loop->priv_host, name, name_len) : NULL;
  if (e == NULL) {
    tide_loop_dealloc(loop, args_buf);
    return TIDE_ENOENT;
  }
  return e->start(loop, e, args_buf, args_len);
}

static int start_call(tide_loop *loop, const tide__export *e, void *args_buf,
                      size_t args_len) {
  tide__host *h = loop->priv_host;
  tide_value *args;
  size_t nargs;
  void *block;
  int rc = tide__values_decode(loop, args_buf, args_len, &args, &nargs, &block);
  tide_loop_dealloc(loop, args_buf);
  if (rc != 0) return rc;

  tide_task *task;
  rc = tide_task_spawn(loop, e->fn, NULL, e->frame_size, &task);
  if (rc != 0) {
    tide_loop_dealloc(loop, block);
    return rc;
  }
  uint32_t call = 0;
  rc = tide__task_set_args(task, args, nargs, block); /* then the task frees block */
  if (rc != 0) {
    tide_loop_dealloc(loop, block);
  } else {
    tide_task_set_name(task, e->name); /* cannot fail: set_args made its block */
    rc = tide__ids_add(loop, &h->calls, task, &call);
  }
  if (rc == 0) {
    rc = tide_future_add_done_callback(tide_task_future(task), on_task_done,
                                       (void *)(uintptr_t)call);
    if (rc != 0) tide__ids_remove(&h->calls, call);
  }
  if (rc != 0) {
    /* Cancelled before its first step, the coroutine never runs; the task
     * frees itself (and the arguments) on the next tick. */
    tide_task_cancel(task);
    tide_task_release(task);
    return rc;
  }
  return (int)call;
}

int tide__host_cancel_call(tide_loop *loop, uint32_t call) {
  tide__host *h = loop->priv_host;
  tide_task *task = h != NULL ? tide__ids_get(&h->calls, call) : NULL;
  if (task == NULL || tide_task_done(task)) return TIDE_ENOENT;
  return tide_task_cancel(task) == 0 ? 0 : TIDE_ENOENT;
}
