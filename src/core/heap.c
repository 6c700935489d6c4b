/* heap.c: the timer heap's array (growth, shrinking) and its sifts (see heap.h).
 *
 * Slot i's children are 4i+1 .. 4i+4. A sift carries the moving slot in a local
 * and shifts the others into the hole, writing back each shifted entry's index.
 */
#include "heap.h"

#include <assert.h>

enum {
  HEAP_FIRST_CAP = 16, /* slots of a loop's first array */
  HEAP_KEEP_CAP = 1024 /* never shrunk below: a small loop never reallocates */
};

/* (deadline, seq) order: equal deadlines fire in the order they were started.
 * The expression of tide__heap_before, written out: through that call gcc
 * compiled sift_down 7% longer (bench W2, callgrind). */
static int less(const tide__heap_slot *a, const tide__heap_slot *b) {
  return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
}

/* Fill hole i with s or a slot above it: parents later than s move down. */
TIDE__HEAP_NOINLINE static void sift_up(tide__heap_slot *h, size_t i,
                                        tide__heap_slot s) {
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!less(&s, &h[parent])) break;
    h[i] = h[parent];
    h[i].entry->slot = (uint32_t)i;
    i = parent;
  }
  h[i] = s;
  s.entry->slot = (uint32_t)i;
}

/* Fill hole i of an n-slot heap with s or a slot below it: the earliest child
 * moves up while it is earlier than s. */
TIDE__HEAP_NOINLINE static void sift_down(tide__heap_slot *h, size_t n, size_t i,
                                          tide__heap_slot s) {
  for (;;) {
    size_t first = 4 * i + 1;
    if (first >= n) break;
    size_t end = n - first > 4 ? first + 4 : n;
    size_t min = first;
    for (size_t c = first + 1; c < end; c++)
      if (less(&h[c], &h[min])) min = c;
    if (!less(&h[min], &s)) break;
    h[i] = h[min];
    h[i].entry->slot = (uint32_t)i;
    i = min;
  }
  h[i] = s;
  s.entry->slot = (uint32_t)i;
}

/* Fill hole i with s, sifting whichever way its key requires. */
static void place(tide__heap_slot *h, size_t n, size_t i, tide__heap_slot s) {
  if (i > 0 && less(&s, &h[(i - 1) / 4]))
    sift_up(h, i, s);
  else
    sift_down(h, n, i, s);
}

/* Take the entry out of its bucket's ring. */
static void unlink_entry(tide__timer_entry *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->next = e->prev = e;
}

/* Put e in the ring before at (at the tail when at is a bucket's first). */
static void link_before(tide__timer_entry *e, tide__timer_entry *at) {
  e->prev = at->prev;
  e->next = at;
  at->prev->next = e;
  at->prev = e;
}

static int is_task(const tide__timer_entry *e) {
  return e->due == 0;
}

TIDE__HEAP_COLD static int resize(tide_loop *loop, size_t cap);

/* A mostly empty array (under a quarter needed) is halved, so a burst of
 * timers does not pin its memory; it then takes as many reservations as were
 * given back to grow it again, so it never thrashes. A failed shrink changes
 * nothing: the larger array stays, and no call was refused. */
static void maybe_shrink(tide_loop *loop) {
  size_t cap = loop->priv_timer_cap;
  if (cap > HEAP_KEEP_CAP && loop->priv_timer_reserved < cap / 4)
    (void)resize(loop, cap / 2);
}

/* A task's entry is to start a bucket: a slot for it (the first bucket has
 * the tasks' reservation; each other one counts as a reservation of its own),
 * the array grown if need be. 0: the array cannot grow (the entry must join a
 * bucket instead). */
static int take_task_slot(tide_loop *loop) {
  assert(loop->priv_task_slot && "a task's entry before any spawn");
  if (loop->priv_task_heads > 0) {
    if (loop->priv_timer_reserved == loop->priv_timer_cap &&
        resize(loop, loop->priv_timer_cap * 2) != 0)
      return 0;
    loop->priv_timer_reserved++;
  }
  loop->priv_task_heads++;
  return 1;
}

/* Out of memory: a task's entry joins a bucket of tasks' entries at its place
 * in (deadline, seq) order, taking its first's slot if it comes first. The
 * bucket's deadlines may differ from then on, so it takes no more appends, and
 * until no bucket of tasks is left, a member moving up asks its task for its
 * deadline instead of taking the first's. */
TIDE__HEAP_COLD static void join_any_task_bucket(tide_loop *loop, tide__timer_entry *e,
                                                 uint64_t deadline, uint64_t seq) {
  tide__heap_slot *h = loop->priv_timer_heap;
  tide__timer_entry *first = loop->priv_task_open;
  for (size_t i = 0; first == NULL; i++) { /* the heap holds one (take_task_slot) */
    assert(i < loop->priv_timer_count);
    if (is_task(h[i].entry)) first = h[i].entry;
  }
  loop->priv_task_open = NULL;
  loop->priv_task_mixed = 1;
  size_t i = first->slot;
  if (tide__heap_before(deadline, seq, h[i].deadline, h[i].seq)) {
    link_before(e, first);
    first->slot = TIDE__HEAP_MEMBER;
    tide__heap_slot s = {deadline, seq, e};
    sift_up(h, i, s);
    return;
  }
  tide__timer_entry *at = first->next;
  while (at != first &&
         tide__heap_before(tide__task_timer_deadline(at), at->seq, deadline, seq))
    at = at->next;
  link_before(e, at);
  e->slot = TIDE__HEAP_MEMBER;
}

/* A new bucket of one: e takes a slot of the heap. */
static void push(tide_loop *loop, tide__timer_entry *e, uint64_t deadline,
                 uint64_t seq) {
  assert(loop->priv_timer_count < loop->priv_timer_reserved &&
         "entry without reservation");
  e->next = e->prev = e;
  tide__heap_slot s = {deadline, seq, e};
  sift_up(loop->priv_timer_heap, loop->priv_timer_count++, s);
}

/* A task's entry: at the tail of the open bucket of tasks' entries when it
 * comes last there, else a bucket of its own (or, out of memory, a join). */
static void insert_task(tide_loop *loop, tide__timer_entry *e, uint64_t deadline,
                        uint64_t seq) {
  tide__timer_entry *open = loop->priv_task_open;
  e->seq = seq;
  if (open != NULL && loop->priv_timer_heap[open->slot].deadline == deadline &&
      seq > open->prev->seq) {
    link_before(e, open);
    e->slot = TIDE__HEAP_MEMBER;
    return;
  }
  if (!take_task_slot(loop)) {
    join_any_task_bucket(loop, e, deadline, seq);
    return;
  }
  push(loop, e, deadline, seq);
  loop->priv_task_open = e;
}

/* Timers' and calls' entries keep the path they had before tasks' buckets
 * (bench W2 counts its instructions): tasks' entries branch off first. */
static void insert(tide_loop *loop, tide__timer_entry *e, uint64_t deadline,
                   uint64_t seq) {
  if (is_task(e)) {
    insert_task(loop, e, deadline, seq);
    return;
  }
  tide__timer_entry *open = loop->priv_timer_open;
  e->seq = seq;
  if (open != NULL && loop->priv_timer_heap[open->slot].deadline == deadline &&
      seq > open->prev->seq && loop->priv_timer_open_size < TIDE__HEAP_BUCKET) {
    /* At the tail of the open bucket: after its entries, which all come first. */
    link_before(e, open);
    e->slot = TIDE__HEAP_MEMBER;
    loop->priv_timer_open_size++;
    return;
  }
  push(loop, e, deadline, seq);
  loop->priv_timer_open = e;
  loop->priv_timer_open_size = 1;
}

void tide__heap_set(tide_loop *loop, tide__timer_entry *entry, uint64_t deadline,
                    uint64_t seq) {
  if (entry->slot != TIDE__HEAP_NONE) tide__heap_remove(loop, entry);
  insert(loop, entry, deadline, seq);
}

#ifndef __OPTIMIZE_SIZE__
/* Whether every child of slot i has a deadline later than deadline: then a
 * key with that deadline can sit in slot i whatever its seq. */
static inline int children_later(const tide__heap_slot *h, size_t n, size_t i,
                                 uint64_t deadline) {
  size_t first = 4 * i + 1;
  if (first >= n) return 1;
  size_t end = n - first > 4 ? first + 4 : n;
  for (size_t c = first; c < end; c++)
    if (h[c].deadline <= deadline) return 0;
  return 1;
}
#endif

/* A bucket's first (in slot i) leaves the heap and the bucket's next takes
 * the slot, keyed by deadline and its own seq; open: the loop's open bucket of
 * their kind. The next's key is later than the first's only by its seq (or,
 * in a bucket of tasks mixed by an out-of-memory join, by a later deadline),
 * so it may stay in slot i unless a child shares its deadline or comes before
 * it. in_place: look for that first. Tasks' buckets do (one per deadline, so
 * a child rarely shares it: a burst of equal sleeps firing then needs no
 * sift, which was a tenth of each task's instructions in bench W4); timers'
 * do not (a bucket holds at most TIDE__HEAP_BUCKET, so a burst of equal
 * timers fills several, often parent and child: in bench W2 the look cost
 * 0.1% more instructions than it saved). */
static inline void pass_slot(tide_loop *loop, tide__timer_entry *first, uint32_t i,
                             tide__timer_entry **open, uint64_t deadline,
                             int in_place) {
  tide__timer_entry *next = first->next;
  unlink_entry(first);
  if (*open == first) *open = next;
  tide__heap_slot s = {deadline, next->seq, next};
  tide__heap_slot *h = loop->priv_timer_heap;
  size_t n = loop->priv_timer_count;
#ifdef __OPTIMIZE_SIZE__
  (void)in_place; /* a size build keeps the sift alone (bench W7) */
#else
  if (in_place && children_later(h, n, i, deadline)) {
    h[i] = s;
    next->slot = i;
    return;
  }
#endif
  sift_down(h, n, i, s);
}

/* A bucket of one (in slot i) leaves the heap: the last slot fills the hole. */
static inline void drop_slot(tide_loop *loop, tide__timer_entry *first, uint32_t i,
                             tide__timer_entry **open) {
  if (*open == first) *open = NULL;
  tide__heap_slot *h = loop->priv_timer_heap;
  size_t last = --loop->priv_timer_count;
  if (i != last) place(h, last, i, h[last]);
}

/* A task's entry in slot i leaves the heap. Out of line, so that the timers'
 * path of tide__heap_remove saves no registers for this one's (bench W2). */
TIDE__HEAP_NOINLINE static void
remove_task_entry(tide_loop *loop, tide__timer_entry *entry, uint32_t i) {
  if (entry->next != entry) {
    /* Until an out-of-memory join mixed deadlines in a bucket of tasks, the
     * next has the first's; after, it has its own, which its task knows. */
    uint64_t deadline = loop->priv_task_mixed ? tide__task_timer_deadline(entry->next)
                                              : loop->priv_timer_heap[i].deadline;
    pass_slot(loop, entry, i, &loop->priv_task_open, deadline, 1);
    return;
  }
  drop_slot(loop, entry, i, &loop->priv_task_open);
  /* The first bucket had the tasks' reservation; others had their own. */
  if (--loop->priv_task_heads > 0)
    loop->priv_timer_reserved--;
  else
    loop->priv_task_mixed = 0;
  maybe_shrink(loop);
}

/* Timers' entries and tasks' take separate paths (the tasks' checks stay off
 * the timers' path, whose instructions bench W2 counts). */
void tide__heap_remove(tide_loop *loop, tide__timer_entry *entry) {
  assert(tide__heap_contains(entry));
  uint32_t i = entry->slot;
  entry->slot = TIDE__HEAP_NONE;
  if (i == TIDE__HEAP_MEMBER) {
    unlink_entry(entry);
    return;
  }
  if (is_task(entry)) {
    remove_task_entry(loop, entry, i);
    return;
  }
  /* A timers' bucket holds one deadline: the next takes the first's. */
  if (entry->next != entry)
    pass_slot(loop, entry, i, &loop->priv_timer_open, loop->priv_timer_heap[i].deadline,
              0);
  else
    drop_slot(loop, entry, i, &loop->priv_timer_open);
}

uint64_t tide__heap_deadline(const tide_loop *loop, const tide__timer_entry *entry) {
  assert(tide__heap_contains(entry) && !is_task(entry));
  while (entry->slot == TIDE__HEAP_MEMBER) entry = entry->prev; /* < TIDE__HEAP_BUCKET */
  return loop->priv_timer_heap[entry->slot].deadline;
}

/* Through the loop's allocator, Lua style: a failed resize keeps the old array.
 * An entry's slot is 32 bits, the top two values meaning "not in the heap" and
 * "a bucket member", which bounds the array. */
TIDE__HEAP_COLD static int resize(tide_loop *loop, size_t cap) {
  if (cap > TIDE__HEAP_MEMBER || cap > SIZE_MAX / sizeof(tide__heap_slot))
    return TIDE_ENOMEM;
  tide__heap_slot *h =
      loop->priv_alloc(loop->priv_alloc_ud, loop->priv_timer_heap, cap * sizeof *h);
  if (h == NULL) return TIDE_ENOMEM;
  loop->priv_timer_heap = h;
  loop->priv_timer_cap = cap;
  return 0;
}

/* Doubling keeps growth amortised O(1) per reservation. */
int tide__heap_reserve(tide_loop *loop) {
  size_t cap = loop->priv_timer_cap;
  if (loop->priv_timer_reserved == cap &&
      resize(loop, cap == 0 ? HEAP_FIRST_CAP : cap * 2))
    return TIDE_ENOMEM;
  loop->priv_timer_reserved++;
  return 0;
}

int tide__heap_reserve_tasks(tide_loop *loop) {
  if (loop->priv_task_slot) return 0;
  int rc = tide__heap_reserve(loop);
  if (rc == 0) loop->priv_task_slot = 1;
  return rc;
}

void tide__heap_release(tide_loop *loop) {
  assert(loop->priv_timer_reserved > loop->priv_timer_count);
  loop->priv_timer_reserved--;
  maybe_shrink(loop);
}

void tide__heap_free(tide_loop *loop) {
  assert(loop->priv_timer_count == 0);
  if (loop->priv_task_slot) {
    loop->priv_task_slot = 0;
    loop->priv_timer_reserved--;
  }
  assert(loop->priv_timer_reserved == 0);
  tide_loop_dealloc(loop, loop->priv_timer_heap);
  loop->priv_timer_heap = NULL;
  loop->priv_timer_cap = 0;
}
