/* queue_sync.c: asyncio's Queue, LifoQueue and PriorityQueue in one type.
 *
 * Items live in one array of entries: a ring for FIFO, a stack for LIFO, a
 * binary min-heap ordered by (priority, put sequence) for PRIORITY, so equal
 * priorities come out in put order. The array grows by doubling (never beyond
 * maxsize) and is the only allocation.
 *
 * Invariants that make hand-off safe and FIFO-fair:
 * - gets wait only while the queue is empty, so a put with a get waiting hands
 *   its item straight to the first getter (no storage, no allocation);
 * - puts wait only while the queue is full, and a get that frees a slot moves
 *   the first waiting put's item in at once.
 * A handed-over item belongs to the future it completed (the result that won
 * the race, see tide.h); a waiter cancelled before that took nothing.
 */
#include <string.h>

#include "sync.h"

typedef struct entry {
  void *item;
  int priority;
  uint64_t seq;
} entry;

static const struct tide__waitq_class get_class = {"queue-get", NULL};
static const struct tide__waitq_class put_class = {"queue-put", NULL};
static const struct tide__waitq_class join_class = {"queue-join", NULL};

static entry *items(const tide_queue *q) {
  return q->priv_items;
}

int tide_queue_init(tide_loop *loop, tide_queue *q, tide_queue_kind kind,
                    size_t maxsize) {
  assert(loop != NULL && q != NULL);
  if (kind != TIDE_QUEUE_FIFO && kind != TIDE_QUEUE_LIFO && kind != TIDE_QUEUE_PRIORITY)
    return TIDE_EINVAL;
  memset(q, 0, sizeof *q);
  q->priv_loop = loop;
  q->priv_kind = (int)kind;
  q->priv_maxsize = maxsize;
  tide__waitq_init(&q->priv_getters, &get_class);
  tide__waitq_init(&q->priv_putters, &put_class);
  tide__waitq_init(&q->priv_joiners, &join_class);
  return 0;
}

void tide_queue_set_drop(tide_queue *q, tide_queue_drop_fn drop, void *ud) {
  q->priv_drop = drop;
  q->priv_drop_ud = ud;
}

/* --- Storage ------------------------------------------------------------------ */

static int less(const entry *a, const entry *b) {
  return a->priority != b->priority ? a->priority < b->priority : a->seq < b->seq;
}

/* Make room for one more entry: 0 or TIDE_ENOMEM (nothing changed). */
static int reserve(tide_queue *q) {
  if (q->priv_len < q->priv_cap) return 0;
  size_t cap = q->priv_cap > 0 ? q->priv_cap * 2 : 8;
  if (cap < q->priv_cap || cap > SIZE_MAX / sizeof(entry)) return TIDE_ENOMEM;
  if (q->priv_maxsize > 0 && cap > q->priv_maxsize) cap = q->priv_maxsize;
  entry *grown = tide_loop_alloc(q->priv_loop, cap * sizeof(entry));
  if (grown == NULL) return TIDE_ENOMEM;
  /* Copy in logical order, so a FIFO ring starts unwrapped at 0. */
  for (size_t i = 0; i < q->priv_len; i++)
    grown[i] = items(q)[(q->priv_head + i) % q->priv_cap];
  tide_loop_dealloc(q->priv_loop, q->priv_items);
  q->priv_items = grown;
  q->priv_cap = cap;
  q->priv_head = 0;
  return 0;
}

static void heap_up(entry *h, size_t i) {
  entry e = h[i];
  while (i > 0 && less(&e, &h[(i - 1) / 2])) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = e;
}

static void heap_down(entry *h, size_t len, size_t i) {
  entry e = h[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= len) break;
    if (c + 1 < len && less(&h[c + 1], &h[c])) c++;
    if (!less(&h[c], &e)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = e;
}

/* Store an entry; the caller reserved room. */
static void store(tide_queue *q, void *item, int priority) {
  entry e = {item, priority, q->priv_seq++};
  entry *a = items(q);
  if (q->priv_kind == TIDE_QUEUE_FIFO) {
    a[(q->priv_head + q->priv_len) % q->priv_cap] = e;
    q->priv_len++;
  } else {
    a[q->priv_len++] = e;
    if (q->priv_kind == TIDE_QUEUE_PRIORITY) heap_up(a, q->priv_len - 1);
  }
}

/* Take the next entry out (the queue is not empty). */
static entry take(tide_queue *q) {
  entry *a = items(q);
  entry e;
  assert(q->priv_len > 0);
  if (q->priv_kind == TIDE_QUEUE_FIFO) {
    e = a[q->priv_head];
    q->priv_head = (q->priv_head + 1) % q->priv_cap;
    q->priv_len--;
  } else if (q->priv_kind == TIDE_QUEUE_LIFO) {
    e = a[--q->priv_len];
  } else {
    e = a[0];
    a[0] = a[--q->priv_len];
    if (q->priv_len > 0) heap_down(a, q->priv_len, 0);
  }
  return e;
}

static int is_full(const tide_queue *q) {
  return q->priv_maxsize > 0 && q->priv_len >= q->priv_maxsize;
}

/* --- Put ------------------------------------------------------------------------ */

/* Accept an item now if possible: hand it to the first waiting get, or store
 * it. Returns 0, TIDE_EAGAIN (full) or TIDE_ENOMEM. */
static int accept(tide_queue *q, void *item, int priority) {
  tide_future *getter = tide__waitq_pop(&q->priv_getters);
  if (getter != NULL) {
    assert(q->priv_len == 0);
    q->priv_unfinished++;
    tide__wait_grant_ptr(getter, item);
    return 0;
  }
  if (is_full(q)) return TIDE_EAGAIN;
  int rc = reserve(q);
  if (rc != 0) return rc;
  store(q, item, priority);
  q->priv_unfinished++;
  return 0;
}

int tide_queue_put_nowait(tide_queue *q, void *item, int priority) {
  if (q->priv_shutdown) return TIDE_ECLOSED;
  return accept(q, item, priority);
}

int tide_queue_put(tide_queue *q, void *item, int priority, tide_future *f) {
  int rc = tide__wait_usable(q->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(q->priv_loop)) {
    tide__future_cancel_now(f);
    return 0;
  }
  if (q->priv_shutdown) {
    tide__future_fail(f, TIDE_ECLOSED, NULL);
    return 0;
  }
  rc = accept(q, item, priority);
  if (rc == TIDE_EAGAIN) {
    /* Full: wait in line with the item (its priority as the int). */
    tide__wait_set_data(f, item, priority);
    tide__waitq_push(&q->priv_putters, f);
    return 0;
  }
  if (rc == 0) tide__wait_grant(f);
  return rc;
}

/* --- Get ------------------------------------------------------------------------ */

/* Take the next item, then let the first waiting put into the freed slot. */
static entry take_and_refill(tide_queue *q) {
  entry e = take(q);
  tide_future *putter = tide__waitq_pop(&q->priv_putters);
  if (putter != NULL) {
    store(q, tide__wait_ptr(putter), tide__wait_int(putter)); /* room: one left */
    q->priv_unfinished++;
    tide__wait_grant(putter);
  }
  return e;
}

int tide_queue_get_nowait(tide_queue *q, void **out_item, int *out_priority) {
  if (q->priv_len == 0) return q->priv_shutdown ? TIDE_ECLOSED : TIDE_EAGAIN;
  entry e = take_and_refill(q);
  *out_item = e.item;
  if (out_priority != NULL) *out_priority = e.priority;
  return 0;
}

int tide_queue_get(tide_queue *q, tide_future *f) {
  int rc = tide__wait_usable(q->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(q->priv_loop))
    tide__future_cancel_now(f);
  else if (q->priv_len > 0)
    tide__wait_grant_ptr(f, take_and_refill(q).item);
  else if (q->priv_shutdown)
    tide__future_fail(f, TIDE_ECLOSED, NULL);
  else
    tide__waitq_push(&q->priv_getters, f);
  return 0;
}

/* --- Sizes, task_done/join, shutdown ----------------------------------------- */

size_t tide_queue_size(const tide_queue *q) {
  return q->priv_len;
}
size_t tide_queue_maxsize(const tide_queue *q) {
  return q->priv_maxsize;
}
int tide_queue_empty(const tide_queue *q) {
  return q->priv_len == 0;
}
int tide_queue_full(const tide_queue *q) {
  return is_full(q);
}
size_t tide_queue_unfinished(const tide_queue *q) {
  return q->priv_unfinished;
}
int tide_queue_is_shutdown(const tide_queue *q) {
  return q->priv_shutdown;
}

static void wake_joiners(tide_queue *q) {
  tide_future *f;
  while ((f = tide__waitq_pop(&q->priv_joiners)) != NULL)
    tide__wait_grant(f);
}

int tide_queue_task_done(tide_queue *q) {
  if (q->priv_unfinished == 0) return TIDE_ERANGE;
  if (--q->priv_unfinished == 0) wake_joiners(q);
  return 0;
}

int tide_queue_join(tide_queue *q, tide_future *f) {
  int rc = tide__wait_usable(q->priv_loop, f);
  if (rc != 0) return rc;
  if (tide__wait_caller_cancelling(q->priv_loop))
    tide__future_cancel_now(f);
  else if (q->priv_unfinished == 0)
    tide__wait_grant(f);
  else
    tide__waitq_push(&q->priv_joiners, f);
  return 0;
}

/* Discard every stored item through the drop function; each counts as done. */
static void drain(tide_queue *q) {
  while (q->priv_len > 0) {
    entry e = take(q);
    if (q->priv_drop != NULL) q->priv_drop(e.item, q->priv_drop_ud);
    if (q->priv_unfinished > 0) q->priv_unfinished--;
  }
}

void tide_queue_shutdown(tide_queue *q, int immediate) {
  q->priv_shutdown = 1;
  if (immediate) {
    drain(q);
    if (q->priv_unfinished == 0) wake_joiners(q);
  }
  /* Gets wait only on an empty queue, and puts can no longer succeed. */
  tide__waitq_fail_all(&q->priv_getters, TIDE_ECLOSED);
  tide__waitq_fail_all(&q->priv_putters, TIDE_ECLOSED);
}

void tide_queue_destroy(tide_queue *q) {
  q->priv_shutdown = 1;
  drain(q);
  tide__waitq_fail_all(&q->priv_getters, TIDE_ECLOSED);
  tide__waitq_fail_all(&q->priv_putters, TIDE_ECLOSED);
  tide__waitq_fail_all(&q->priv_joiners, TIDE_ECLOSED);
  tide_loop_dealloc(q->priv_loop, q->priv_items);
  q->priv_items = NULL;
  q->priv_cap = 0;
}
