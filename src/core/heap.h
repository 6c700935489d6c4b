/* heap.h: the loop's timer min-heap, ordered by (deadline, seq).
 *
 * A 4-ary heap in one growable array, as libev's: each slot caches its entry's
 * key next to the entry pointer, so sifting compares and moves slots without
 * touching the entries (only the moved entry's index is written back), and a
 * 4-ary tree is half as deep as a binary one. Each entry knows its slot, so
 * removal is O(log n) without a search. Entries with equal deadlines come out
 * in start order because seq increases per start.
 *
 * Inserting never allocates: whoever may insert an entry reserves its place
 * first (tide__heap_reserve), at a point that can report TIDE_ENOMEM (a timer's
 * init, a task's spawn, a call record's scheduling), and releases it when the
 * entry can no longer be inserted. The array holds at least as many slots as
 * there are reservations.
 */
#ifndef TIDE_HEAP_H
#define TIDE_HEAP_H

#include <stdint.h>

#include "tide.h"

typedef struct tide__heap_slot {
  uint64_t deadline;
  uint64_t seq;
  tide__timer_entry *entry;
} tide__heap_slot;

#define TIDE__HEAP_NONE SIZE_MAX /* tide__timer_entry.slot outside the heap */

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

/* The slot due first, or NULL. */
static inline const tide__heap_slot *tide__heap_top(const tide_loop *loop) {
  return loop->priv_timer_count > 0 ? &loop->priv_timer_heap[0] : NULL;
}

static inline int tide__heap_contains(const tide__timer_entry *entry) {
  return entry->slot != TIDE__HEAP_NONE;
}

static inline void tide__heap_entry_init(tide__timer_entry *entry,
                                         tide__runnable *due) {
  entry->due = due;
  entry->slot = TIDE__HEAP_NONE;
}

#endif /* TIDE_HEAP_H */
