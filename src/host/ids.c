/* ids.c: id tables naming host operations and host calls by (slot << 8 | gen).
 *
 * The ids cross to the host as u31 numbers, so they must stay small and must
 * never name a newer object after theirs ended: a slot's generation moves on
 * each time it is freed. Slots are reused through a free list and the table
 * only grows, so after warm-up an operation costs no allocation.
 */
#include <assert.h>
#include <string.h>

#include "host.h"

/* slot << 8 | gen must fit in 31 bits. */
#define MAX_SLOTS (1u << 23)

static uint32_t make_id(uint32_t slot, uint8_t gen) {
  return slot << 8 | gen;
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
  uint32_t slot = id >> 8;
  if (slot >= t->len) return NULL;
  const tide__id_slot *s = &t->slots[slot];
  return s->ptr != NULL && s->gen == (uint8_t)(id & 0xff) ? s->ptr : NULL;
}

void tide__ids_remove(tide__id_table *t, uint32_t id) {
  uint32_t slot = id >> 8;
  assert(tide__ids_get(t, id) != NULL);
  tide__id_slot *s = &t->slots[slot];
  s->ptr = NULL;
  s->gen = s->gen == 255 ? 1 : (uint8_t)(s->gen + 1);
  s->next_free = t->free_head;
  t->free_head = slot + 1;
  t->used--;
}

void tide__ids_free(tide_loop *loop, tide__id_table *t) {
  tide_loop_dealloc(loop, t->slots);
  memset(t, 0, sizeof *t);
}
