/* heap.h: the loop's timer min-heap, ordered by (deadline, seq).
 *
 * A pointer-based binary heap (libuv's heap-inl.h): each entry embeds its node,
 * so inserting and removing never allocates, and both are O(log n). Entries with
 * equal deadlines come out in start order because seq increases per start.
 */
#ifndef TIDE_HEAP_H
#define TIDE_HEAP_H

#include "tide.h"

void tide__heap_insert(tide_loop *loop, tide__timer_entry *entry);
void tide__heap_remove(tide_loop *loop, tide__timer_entry *entry);

/* The entry that is due first, or NULL. */
static inline tide__timer_entry *tide__heap_min(const tide_loop *loop) {
  return (tide__timer_entry *)(void *)loop->priv_timer_min;
}

/* An entry outside the heap has parent == itself, a value no entry inside can
 * have (the root's parent is NULL). */
static inline int tide__heap_contains(const tide__timer_entry *entry) {
  return entry->node.parent != &entry->node;
}

static inline void tide__heap_entry_init(tide__timer_entry *entry) {
  entry->node.left = entry->node.right = NULL;
  entry->node.parent = &entry->node;
}

#endif /* TIDE_HEAP_H */
