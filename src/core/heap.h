/* heap.h: the loop's timers, ordered by (deadline, seq).
 *
 * A 4-ary heap in one growable array, as libev's: each slot caches its key
 * next to the entry pointer, so sifting compares and moves slots without
 * touching the entries (only the moved entry's index is written back), and a
 * 4-ary tree is half as deep as a binary one. Each entry knows its slot, so
 * removal is O(log n) without a search. Equal deadlines come out in start
 * order because seq increases per start.
 *
 * What the heap holds are buckets: an entry due at the same deadline as the
 * last bucket made of its kind (timers' or tasks' entries, below), and started
 * after that bucket's last entry, joins it at its tail instead of taking a slot of its
 * own. A bucket is a ring of entries in seq order; its first entry is in the heap,
 * keyed by its own (deadline, seq), and when it leaves, the next one takes its slot
 * with its own key. Every entry is therefore still handed out in exact (deadline, seq)
 * order, but the common case, many sleeps or timeouts of one duration started in one
 * tick, costs O(1) per insertion and removal instead of a walk down the tree (where
 * strict FIFO ties make every removal sift to the bottom). Buckets of timers
 * hold at most TIDE__HEAP_BUCKET entries, which bounds the walk that finds a
 * member's deadline (tide__heap_deadline).
 *
 * Inserting a timer, a call record or a combinator's deadline never allocates:
 * its owner reserves its place first (tide__heap_reserve), at a point that can
 * report TIDE_ENOMEM (a timer's init, a call record's scheduling), and releases
 * it when the entry can no longer be inserted. A task's entry (due 0) holds no
 * reservation: a task that sleeps at the deadline of the bucket just made (1M
 * sleepers of one duration started in one tick) needs no slot at all, so a
 * reservation per task would cost every task a slot (24 bytes) that almost none
 * uses. Instead a task's entry takes a slot when it starts a bucket, growing
 * the array then; if the array cannot grow, the entry joins a bucket of tasks
 * that is in the heap already, at its place in (deadline, seq) order (a walk
 * of that bucket: slow, but it needs no memory, so a sleep or a timeout scope
 * still cannot fail). Buckets of tasks' entries therefore hold tasks' entries
 * only, may mix deadlines after such a join (a member moving up to the slot is
 * then keyed by its own deadline, which its task knows:
 * tide__task_timer_deadline), and are not
 * bounded in size. Tasks together hold one reservation (tide__heap_reserve_tasks,
 * at the first spawn), so that there is always one such bucket or room for one.
 *
 * The array's slots cover every reservation (priv_timer_reserved), which
 * counts each bucket of tasks' entries but the first as one: the first uses
 * the tasks' reservation (heap.c: take_task_slot).
 */
#ifndef TIDE_HEAP_H
#define TIDE_HEAP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "tide.h"

/* Paths that run only when memory runs out or the array is resized, and the
 * sifts, which every path that moves a slot calls: kept out of line, so that
 * they are not copied into every caller (bench W7 counts the core's code; gcc
 * keeps the sifts out of line natively anyway). */
#if defined(__GNUC__) || defined(__clang__)
#define TIDE__HEAP_COLD __attribute__((cold, noinline))
#define TIDE__HEAP_NOINLINE __attribute__((noinline))
#else
#define TIDE__HEAP_COLD
#define TIDE__HEAP_NOINLINE
#endif

typedef struct tide__heap_slot {
  uint64_t deadline;
  uint64_t seq;
  tide__timer_entry *entry;
} tide__heap_slot;

#define TIDE__HEAP_NONE UINT32_MAX /* tide__timer_entry.slot: not scheduled */
#define TIDE__HEAP_MEMBER (UINT32_MAX - 1) /* in a bucket, not its first */
#define TIDE__HEAP_BUCKET 1024             /* a bucket of timers' entries, at most */

/* Make room for one more entry that may be in the heap: 0 or TIDE_ENOMEM. */
int tide__heap_reserve(tide_loop *loop);
/* The tasks' one reservation, taken once per loop (a task's spawn): 0 or
 * TIDE_ENOMEM. Kept until the loop closes. */
int tide__heap_reserve_tasks(tide_loop *loop);
/* The deadline of a task's entry, which its task keeps (task_timer.c). */
uint64_t tide__task_timer_deadline(const tide__timer_entry *entry);
/* Give a reservation back (its entry is not in the heap); may shrink the array. */
void tide__heap_release(tide_loop *loop);
/* Free the array (at loop close, with no reservation left). */
void tide__heap_free(tide_loop *loop);

/* Put entry in the heap with this key, or move it there if it is in already. */
void tide__heap_set(tide_loop *loop, tide__timer_entry *entry, uint64_t deadline,
                    uint64_t seq);
void tide__heap_remove(tide_loop *loop, tide__timer_entry *entry);
/* The deadline of a scheduled entry (not a task's). */
uint64_t tide__heap_deadline(const tide_loop *loop, const tide__timer_entry *entry);

/* (deadline, seq) order: equal deadlines in the order they were started. */
static inline int tide__heap_before(uint64_t d1, uint64_t s1, uint64_t d2,
                                    uint64_t s2) {
  return d1 != d2 ? d1 < d2 : s1 < s2;
}

/* The slot due first, or NULL. */
static inline const tide__heap_slot *tide__heap_top(const tide_loop *loop) {
  return loop->priv_timer_count > 0 ? &loop->priv_timer_heap[0] : NULL;
}

static inline int tide__heap_contains(const tide__timer_entry *entry) {
  return entry->slot != TIDE__HEAP_NONE;
}

/* due: the runnable to queue when the entry is due, in the same object (a
 * timer, a call record, a combinator's state); NULL for a task's entry, which
 * has none (task_timer.c decides what came due). */
static inline void tide__heap_entry_init(tide__timer_entry *entry,
                                         tide__runnable *due) {
  ptrdiff_t offset = due != NULL ? (char *)due - (char *)entry : 0;
  assert(offset >= INT32_MIN && offset <= INT32_MAX && (due == NULL || offset != 0));
  entry->next = entry->prev = entry;
  entry->seq = 0;
  entry->slot = TIDE__HEAP_NONE;
  entry->due = (int32_t)offset;
}

/* The runnable of an entry that has one (not a task's). */
static inline tide__runnable *tide__heap_entry_due(tide__timer_entry *entry) {
  return (tide__runnable *)(void *)((char *)entry + entry->due);
}

#endif /* TIDE_HEAP_H */
