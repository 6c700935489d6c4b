/* queue.h: intrusive circular doubly linked list (libuv's queue.h, as inline functions).
 *
 * A list head is a tide__qnode linked to itself. Nodes are embedded in the objects
 * they link; container_of gets the object back. No allocation, O(1) unlink, and a
 * node can be unlinked without knowing which list holds it.
 */
#ifndef TIDE_QUEUE_H
#define TIDE_QUEUE_H

#include <stddef.h>

#include "tide.h"

#define tide__container_of(ptr, type, member)                                  \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void tide__q_init(tide__qnode *q) {
  q->next = q;
  q->prev = q;
}

static inline int tide__q_empty(const tide__qnode *q) { return q->next == q; }

/* A node that was initialised or removed is self-linked, so "linked" is cheap. */
static inline int tide__q_linked(const tide__qnode *n) { return n->next != n; }

static inline void tide__q_insert_tail(tide__qnode *head, tide__qnode *n) {
  n->next = head;
  n->prev = head->prev;
  n->prev->next = n;
  head->prev = n;
}

/* Unlink n and leave it self-linked so tide__q_linked() reports it free. */
static inline void tide__q_remove(tide__qnode *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n;
  n->prev = n;
}

/* Move every node of `from` to the tail of `to`, leaving `from` empty. */
static inline void tide__q_move_all(tide__qnode *from, tide__qnode *to) {
  if (tide__q_empty(from)) return;
  from->next->prev = to->prev;
  to->prev->next = from->next;
  from->prev->next = to;
  to->prev = from->prev;
  tide__q_init(from);
}

#endif /* TIDE_QUEUE_H */
