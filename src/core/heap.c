/* heap.c: insertion and removal for the pointer-based timer heap (see heap.h).
 *
 * The shape follows libuv's heap-inl.h: the path from the root to the last slot
 * is read off the binary digits of the element count, so the tree stays complete
 * without an index array.
 */
#include "heap.h"

#include <assert.h>

/* (deadline, seq) order: equal deadlines fire in the order they were started. */
static int less_than(const tide__heap_node *a, const tide__heap_node *b) {
  const tide__timer_entry *x = (const tide__timer_entry *)(const void *)a;
  const tide__timer_entry *y = (const tide__timer_entry *)(const void *)b;
  if (x->deadline != y->deadline) return x->deadline < y->deadline;
  return x->seq < y->seq;
}

/* Swap a parent with one of its direct children, fixing every link around them. */
static void swap_with_child(tide_loop *loop, tide__heap_node *parent,
                            tide__heap_node *child) {
  tide__heap_node *sibling;
  tide__heap_node t = *parent;
  *parent = *child;
  *child = t;
  parent->parent = child;
  if (child->left == child) {
    child->left = parent;
    sibling = child->right;
  } else {
    child->right = parent;
    sibling = child->left;
  }
  if (sibling != NULL) sibling->parent = child;
  if (parent->left != NULL) parent->left->parent = parent;
  if (parent->right != NULL) parent->right->parent = parent;
  if (child->parent == NULL)
    loop->priv_timer_min = child;
  else if (child->parent->left == parent)
    child->parent->left = child;
  else
    child->parent->right = child;
}

/* The slot reached by following the low `depth` bits of path from the root. */
static tide__heap_node **walk(tide_loop *loop, size_t n, tide__heap_node ***out_parent) {
  size_t path = 0, depth = 0;
  for (; n >= 2; depth++, n /= 2) path = (path << 1) | (n & 1);
  tide__heap_node **parent = &loop->priv_timer_min, **child = parent;
  while (depth-- > 0) {
    parent = child;
    child = (path & 1) ? &(*child)->right : &(*child)->left;
    path >>= 1;
  }
  if (out_parent) *out_parent = parent;
  return child;
}

void tide__heap_insert(tide_loop *loop, tide__timer_entry *entry) {
  tide__heap_node *node = &entry->node;
  assert(!tide__heap_contains(entry));
  node->left = node->right = node->parent = NULL;
  tide__heap_node **parent;
  tide__heap_node **slot = walk(loop, loop->priv_timer_count + 1, &parent);
  node->parent = *parent; /* NULL for the root: then parent == slot == &min */
  *slot = node;
  loop->priv_timer_count++;
  while (node->parent != NULL && less_than(node, node->parent))
    swap_with_child(loop, node->parent, node);
}

void tide__heap_remove(tide_loop *loop, tide__timer_entry *entry) {
  tide__heap_node *node = &entry->node;
  assert(tide__heap_contains(entry) && loop->priv_timer_count > 0);
  tide__heap_node **last_slot = walk(loop, loop->priv_timer_count, NULL);
  loop->priv_timer_count--;
  tide__heap_node *last = *last_slot;
  *last_slot = NULL;
  if (last == node) {
    /* Removing the last slot itself (maybe the root of a one-node heap). */
    if (loop->priv_timer_min == node) loop->priv_timer_min = NULL;
    node->parent = node;
    return;
  }
  /* Move the last node into the removed node's place, then restore order. */
  last->left = node->left;
  last->right = node->right;
  last->parent = node->parent;
  if (last->left != NULL) last->left->parent = last;
  if (last->right != NULL) last->right->parent = last;
  if (node->parent == NULL)
    loop->priv_timer_min = last;
  else if (node->parent->left == node)
    node->parent->left = last;
  else
    node->parent->right = last;
  for (;;) {
    tide__heap_node *smallest = last;
    if (last->left != NULL && less_than(last->left, smallest)) smallest = last->left;
    if (last->right != NULL && less_than(last->right, smallest)) smallest = last->right;
    if (smallest == last) break;
    swap_with_child(loop, last, smallest);
  }
  /* The moved node may also be smaller than its new parent. */
  while (last->parent != NULL && less_than(last, last->parent))
    swap_with_child(loop, last->parent, last);
  node->parent = node;
}
