/* task_group.c: structured concurrency (asyncio.TaskGroup): a group ends after
 * its children, the first failure cancels the rest, every error is reported,
 * and the cancellation of whoever waits on the group is never swallowed.
 *
 * Each child carries the group's record for it at the end of its own frame (the
 * group spawns it with a larger frame), so a spawn allocates only the task, and
 * the record lives exactly as long as the child.
 *
 * The group cancels its parent (asyncio: the task in the `async with` body) to
 * interrupt it on the first failure; it withdraws that one request when the
 * parent reaches the wait. Because tasks count requests (tide_task_cancelling),
 * this can never take away a cancellation that came from anywhere else, the
 * bug class of asyncio 3.11's TaskGroup that hung nested groups.
 */
#include <string.h>

#include "combinator.h"

enum {
  G_ABORTED = 1,          /* cancelling the children; no more spawns */
  G_WAITING = 2,          /* tide_task_group_wait was called */
  G_DONE = 4,             /* the wait's out completed (or was released) */
  G_PARENT_CANCELLED = 8, /* the group's own request on the parent is pending */
  G_OUT_CANCELLED = 16    /* out ends CANCELLED */
};

/* The group's record of a child, at the end of the child's frame. */
typedef struct group_child {
  tide__qnode link;    /* in running, failed or kept */
  tide__waiter waiter; /* on the child's future while it runs */
  tide_task *task;
  tide_task_group *group;
  int keep; /* the caller holds a pointer (spawn's out_task): keep until release */
} group_child;

#define RECORD_ALIGN 16 /* the frame itself is 16-aligned (task.c) */

static size_t record_offset(size_t frame_size) {
  return (frame_size + RECORD_ALIGN - 1) / RECORD_ALIGN * RECORD_ALIGN;
}

static group_child *first_of(tide__qnode *list) {
  return tide__container_of(list->next, group_child, link);
}

/* Cancel every running child (idempotent per child: a task counts requests, but
 * the group asks each child once). */
static void abort_children(tide_task_group *g) {
  if (g->priv_state & G_ABORTED) return;
  g->priv_state |= G_ABORTED;
  for (tide__qnode *n = g->priv_running.next; n != &g->priv_running; n = n->next)
    (void)tide_task_cancel(tide__container_of(n, group_child, link)->task);
}

/* Take back the group's own request on the parent, if it is still out. */
static void withdraw_parent_cancel(tide_task_group *g) {
  if (!(g->priv_state & G_PARENT_CANCELLED)) return;
  g->priv_state &= ~(unsigned)G_PARENT_CANCELLED;
  (void)tide_task_uncancel(g->priv_parent);
}

/* Decimal without stdio (the core uses string.h only). */
static char *format_size(char *end, size_t v) {
  *--end = '\0';
  do {
    *--end = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  return end;
}

static void append(char *buf, size_t cap, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (n > cap - 1 - *len) n = cap - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

/* Fail out with the first error and a message that counts them all:
 * "task group: 2 of 3 tasks failed; first (task-4): boom". Every error counts
 * as observed: out carries them, and each stays readable from the group. */
static void fail_out(tide_task_group *g, tide_future *out) {
  char msg[256], num[24], label[TIDE__TASK_NAME_MAX];
  size_t len = 0;
  tide_task *first = first_of(&g->priv_failed)->task;
  for (tide__qnode *n = g->priv_failed.next; n != &g->priv_failed; n = n->next)
    tide__container_of(n, group_child, link)->task->future.priv_flags |= TIDE__F_OBSERVED;
  msg[0] = '\0';
  append(msg, sizeof msg, &len, "task group: ");
  append(msg, sizeof msg, &len, format_size(num + sizeof num, g->priv_failed_count));
  append(msg, sizeof msg, &len, " of ");
  append(msg, sizeof msg, &len, format_size(num + sizeof num, g->priv_spawned));
  append(msg, sizeof msg, &len, g->priv_spawned == 1 ? " task failed; first (" : " tasks failed; first (");
  append(msg, sizeof msg, &len, tide__task_label(first, label));
  append(msg, sizeof msg, &len, "): ");
  append(msg, sizeof msg, &len, tide_future_error_message(&first->future));
  (void)tide__future_fail(out, first->future.priv_error.code, msg);
}

/* The wait is over: every child finished. */
static void complete_out(tide_task_group *g) {
  tide_future *out = g->priv_out;
  g->priv_state |= G_DONE;
  g->priv_out = NULL;
  if (g->priv_state & G_OUT_CANCELLED)
    tide__future_end_cancelled(out);
  else if (g->priv_failed_count > 0)
    fail_out(g, out);
  else
    (void)tide__future_complete(out, NULL);
}

static void on_child_done(tide__waiter *w, tide_future *f) {
  group_child *c = tide__container_of(w, group_child, waiter);
  tide_task_group *g = c->group;
  tide__q_remove(&c->link);
  g->priv_running_count--;
  if (f->priv_state == TIDE_FUTURE_ERROR) {
    tide__q_insert_tail(&g->priv_failed, &c->link);
    g->priv_failed_count++;
    if (!(g->priv_state & G_ABORTED)) {
      abort_children(g);
      /* Interrupt the parent's body so it reaches the wait; not once it waits. */
      if (g->priv_parent != NULL && !(g->priv_state & G_WAITING) &&
          tide_task_cancel(g->priv_parent) == 0)
        g->priv_state |= G_PARENT_CANCELLED;
    }
  } else if (c->keep) {
    tide__q_insert_tail(&g->priv_kept, &c->link);
  } else {
    tide_task_release(c->task); /* frees the child, and c with its frame */
  }
  if (g->priv_running_count == 0 && (g->priv_state & G_WAITING) && !(g->priv_state & G_DONE))
    complete_out(g);
}

/* out's cancel hook. A request cancels the children and waits for them (the
 * hook re-arms itself); a release of out cannot wait: the group forgets out and
 * still cancels the children, as releasing a pending future cancels it. */
static void on_out_cancel(tide_future *out, void *ud) {
  tide_task_group *g = ud;
  if (tide__future_releasing(out)) {
    g->priv_out = NULL;
    g->priv_state |= G_DONE;
  } else {
    tide_future_set_cancel_hook(out, on_out_cancel, g);
    g->priv_state |= G_OUT_CANCELLED;
  }
  abort_children(g);
}

void tide_task_group_init(tide_loop *loop, tide_task_group *g) {
  assert(loop != NULL && g != NULL);
  memset(g, 0, sizeof *g);
  g->priv_loop = loop;
  g->priv_parent = tide_loop_current_task(loop);
  tide__q_init(&g->priv_running);
  tide__q_init(&g->priv_failed);
  tide__q_init(&g->priv_kept);
  loop->priv_registered++; /* until release */
}

int tide_task_group_spawn(tide_task_group *g, tide_task_fn fn, const void *init_frame,
                          size_t frame_size, tide_task **out_task) {
  if (g->priv_state & (G_ABORTED | G_DONE)) return TIDE_ESTATE;
  if (fn == NULL) return TIDE_EINVAL;
  if (frame_size > SIZE_MAX / 2) return TIDE_EINVAL;
  size_t offset = record_offset(frame_size);
  tide_task *t;
  /* Zeroed frame (init NULL): the record's room must not be read from init. */
  int rc = tide_task_spawn(g->priv_loop, fn, NULL, offset + sizeof(group_child), &t);
  if (rc != 0) return rc;
  void *frame = tide_task_frame(t);
  if (init_frame != NULL && frame_size > 0) memcpy(frame, init_frame, frame_size);
  group_child *c = (group_child *)(void *)((char *)frame + offset);
  c->task = t;
  c->group = g;
  c->keep = out_task != NULL;
  c->waiter.notify = on_child_done;
  tide__future_add_waiter(&t->future, &c->waiter);
  tide__q_insert_tail(&g->priv_running, &c->link);
  g->priv_running_count++;
  g->priv_spawned++;
  if (out_task != NULL) *out_task = t;
  return 0;
}

static int start_wait(tide_task_group *g, tide_future *out) {
  if (g->priv_state & G_WAITING) return TIDE_ESTATE;
  int rc = tide__out_usable(g->priv_loop, out);
  if (rc != 0) return rc;
  g->priv_state |= G_WAITING;
  g->priv_out = out;
  out->priv_flags |= TIDE__F_CANCEL_WAITS;
  tide_future_set_cancel_hook(out, on_out_cancel, g);
  /* The body is over: the group's request on the parent has done its job. */
  withdraw_parent_cancel(g);
  /* The parent arrives cancelled from elsewhere (its body saw TIDE_ECANCELED, or
   * will at this await): that cancellation wins, after the children. */
  if (g->priv_parent != NULL && tide_loop_current_task(g->priv_loop) == g->priv_parent &&
      tide_task_cancelling(g->priv_parent) > 0) {
    g->priv_state |= G_OUT_CANCELLED;
    abort_children(g);
  }
  if (g->priv_running_count == 0) complete_out(g);
  return 0;
}

int tide_task_group_wait(tide_task_group *g, tide_future *out) {
  return tide__out_refused(g->priv_loop, out, start_wait(g, out),
                           "tide_task_group_wait refused the call");
}

size_t tide_task_group_error_count(const tide_task_group *g) { return g->priv_failed_count; }

int tide_task_group_error(tide_task_group *g, size_t index, int *out_code,
                          const char **out_message, tide_task **out_task) {
  if (index >= g->priv_failed_count) return TIDE_ENOENT;
  tide__qnode *n = g->priv_failed.next;
  while (index-- > 0) n = n->next;
  tide_task *t = tide__container_of(n, group_child, link)->task;
  const char *msg = tide_future_error_message(&t->future); /* marks it observed */
  if (out_code != NULL) *out_code = t->future.priv_error.code;
  if (out_message != NULL) *out_message = msg;
  if (out_task != NULL) *out_task = t;
  return 0;
}

void tide_task_group_release(tide_task_group *g) {
  tide_loop *loop = g->priv_loop;
  if (g->priv_out != NULL) { /* released before the wait completed */
    tide_future *out = g->priv_out;
    g->priv_out = NULL;
    tide__future_end_cancelled(out);
  }
  /* Children still running are cancelled and detached: they free themselves. */
  while (!tide__q_empty(&g->priv_running)) {
    group_child *c = first_of(&g->priv_running);
    tide__q_remove(&c->link);
    tide__q_remove(&c->waiter.link);
    (void)tide_task_cancel(c->task);
    tide_task_release(c->task);
  }
  /* Finished children: an error nobody observed is reported as they go. */
  while (!tide__q_empty(&g->priv_failed)) {
    group_child *c = first_of(&g->priv_failed);
    tide__q_remove(&c->link);
    tide_task_release(c->task);
  }
  while (!tide__q_empty(&g->priv_kept)) {
    group_child *c = first_of(&g->priv_kept);
    tide__q_remove(&c->link);
    tide_task_release(c->task);
  }
  withdraw_parent_cancel(g);
  g->priv_running_count = 0;
  g->priv_state = G_ABORTED | G_DONE;
  loop->priv_registered--;
}
