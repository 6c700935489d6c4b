/* ids.c: id tables naming host operations and host calls by (slot << 15 | gen).
 *
 * The ids cross to the host as u31 numbers, so they must stay small and must
 * never name a newer object after theirs ended: a slot's generation (1..32767)
 * moves on each time it is freed, and freed slots are reused oldest first, so a
 * stale id could only come back after 32767 reuses of every free slot. Slots are
 * reused through that FIFO free list and the table only grows, so after warm-up
 * an operation costs no allocation.
 */
#include <assert.h>
#include <string.h>

#include "hostops.h"

/* slot << GEN_BITS | gen must fit in 31 bits: 65536 live ids at most. */
#define GEN_BITS 15
#define GEN_MAX ((1u << GEN_BITS) - 1)
#define MAX_SLOTS (1u << (31 - GEN_BITS))

static uint32_t make_id(uint32_t slot, uint16_t gen) {
  return slot << GEN_BITS | gen;
}

static int grow(tide_loop *loop, tide__id_table *t) {
  if (t->cap >= MAX_SLOTS) return TIDE_ENOMEM;
  uint32_t cap = t->cap ? t->cap * 2 : 8;
  if (cap > MAX_SLOTS) cap = MAX_SLOTS;
  tide__id_slot *slots = tide_loop_alloc(loop, cap * sizeof *slots);
  if (slots == NULL) return TIDE_ENOMEM;
  if (t->len > 0) memcpy(slots, t->slots, t->len * sizeof *slots);
  tide_loop_dealloc(loop, t->slots);
  t->slots = slots;
  t->cap = cap;
  return 0;
}

int tide__ids_add(tide_loop *loop, tide__id_table *t, void *ptr, uint32_t *out_id) {
  assert(ptr != NULL);
  uint32_t slot;
  if (t->free_head != 0) {
    slot = t->free_head - 1;
    t->free_head = t->slots[slot].next_free;
    if (t->free_head == 0) t->free_tail = 0;
  } else {
    if (t->len == t->cap && grow(loop, t) != 0) return TIDE_ENOMEM;
    slot = t->len++;
    t->slots[slot].gen = 1;
  }
  t->slots[slot].ptr = ptr;
  t->slots[slot].next_free = 0;
  t->used++;
  *out_id = make_id(slot, t->slots[slot].gen);
  return 0;
}

void *tide__ids_get(const tide__id_table *t, uint32_t id) {
  uint32_t slot = id >> GEN_BITS;
  if (slot >= t->len) return NULL;
  const tide__id_slot *s = &t->slots[slot];
  return s->ptr != NULL && s->gen == (id & GEN_MAX) ? s->ptr : NULL;
}

void tide__ids_remove(tide__id_table *t, uint32_t id) {
  uint32_t slot = id >> GEN_BITS;
  assert(tide__ids_get(t, id) != NULL);
  tide__id_slot *s = &t->slots[slot];
  s->ptr = NULL;
  s->gen = s->gen == GEN_MAX ? 1 : (uint16_t)(s->gen + 1);
  /* Append: the slot freed longest ago is the next one reused. */
  s->next_free = 0;
  if (t->free_tail != 0)
    t->slots[t->free_tail - 1].next_free = slot + 1;
  else
    t->free_head = slot + 1;
  t->free_tail = slot + 1;
  t->used--;
}

void tide__ids_free(tide_loop *loop, tide__id_table *t) {
  tide_loop_dealloc(loop, t->slots);
  memset(t, 0, sizeof *t);
}
