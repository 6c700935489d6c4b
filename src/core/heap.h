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
 * last bucket made, and started after that bucket's last entry, joins it at its
 * tail instead of taking a slot of its own. A bucket is a ring of entries in
 * seq order; its first entry is in the heap, keyed by its own (deadline, seq),
 * and when it leaves, the next one takes its slot with its own key. Every
 * entry is therefore still handed out in exact (deadline, seq) order, but the
 * common case, many sleeps or timeouts of one duration started in one tick,
 * costs O(1) per insertion and removal instead of a walk down the tree (where
 * strict FIFO ties make every removal sift to the bottom). Buckets hold at most
 * TIDE__HEAP_BUCKET entries, which bounds the walk that finds a member's
 * deadline (tide__heap_deadline).
 *
 * Inserting never allocates: whoever may insert an entry reserves its place
 * first (tide__heap_reserve), at a point that can report TIDE_ENOMEM (a timer's
 * init, a task's spawn, a call record's scheduling), and releases it when the
 * entry can no longer be inserted. The array holds at least as many slots as
 * there are reservations (a bucket member uses none, but may become first).
 */
#ifndef TIDE_HEAP_H
#define TIDE_HEAP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "tide.h"

typedef struct tide__heap_slot {
  uint64_t deadline;
  uint64_t seq;
  tide__timer_entry *entry;
} tide__heap_slot;

#define TIDE__HEAP_NONE UINT32_MAX /* tide__timer_entry.slot: not scheduled */
#define TIDE__HEAP_MEMBER (UINT32_MAX - 1) /* in a bucket, not its first */
#define TIDE__HEAP_BUCKET 1024

/* Make room for one more entry that may be in the heap: 0 or TIDE_ENOMEM. */
int tide__heap_reserve(tide_loop *loop);
/* Give a reservation back (its entry is not in the heap); may shrink the array. */
void tide__heap_release(tide_loop *loop);
/* Free the array (at loop close, with no reservation left). */
void tide__heap_free(tide_loop *loop);

/* Put entry in the heap with this key, or move it there if it is in already. */
void tide__heap_set(tide_loop *loop, tide__timer_entry *entry, uint64_t deadline,
                    uint64_t seq);
void tide__heap_remove(tide_loop *loop, tide__timer_entry *entry);
/* The deadline of a scheduled entry. */
uint64_t tide__heap_deadline(const tide_loop *loop, const tide__timer_entry *entry);

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
