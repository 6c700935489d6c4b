/* task_pool.c: the memory of tasks (task and frame in one block, and the side
 * blocks of task_side.c) comes from per-loop slabs, one size class per 16 bytes,
 * so spawning a task costs no call to the allocator once the loop is warm, and no
 * allocator header per task.
 *
 * A slab holds objects of one class. Objects are handed out from the slab's
 * free list, else from its never-used tail (so a new slab is not touched before
 * it is used); the block remembers its slab (tide__pool_block.slab) so a free
 * goes back to it. The slabs of a class that have room are on the class's list.
 * A slab whose objects are all free again is given back to the allocator,
 * except one per class kept for the next burst: a loop that once ran 1M tasks
 * does not keep their memory.
 *
 * Under AddressSanitizer free objects are poisoned, so a use after free of a
 * task is still reported as it would be with malloc.
 */
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define TIDE__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIDE__ASAN 1
#endif
#endif
#ifdef TIDE__ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum {
  GRAIN = 16,                       /* class step; also the objects' alignment */
  CLASSES = TIDE__POOL_MAX / GRAIN, /* class k holds blocks of (k + 1) * GRAIN bytes */
  SLAB_BYTES = 32 * 1024,           /* target slab size */
  MIN_PER_SLAB = 8
};

typedef struct pool_slab {
  tide__qnode link;  /* in its class's list of slabs with room */
  void *free;        /* freed objects, linked through their first word */
  unsigned size;     /* object size */
  unsigned capacity; /* objects in the slab */
  unsigned used;     /* objects ever handed out: the tail beyond is untouched */
  unsigned live;     /* objects handed out and not freed */
} pool_slab;

typedef struct pool_class {
  tide__qnode slabs_with_room;
  unsigned empty; /* slabs in the list with no live object (at most one kept) */
} pool_class;

/* Slab header rounded up so the first object is GRAIN-aligned. */
#define HEADER ((sizeof(pool_slab) + GRAIN - 1) / GRAIN * GRAIN)

static char *object_at(pool_slab *s, unsigned i) {
  return (char *)s + HEADER + (size_t)i * s->size;
}

static pool_class *classes(tide_loop *loop) {
  if (loop->priv_task_pool == NULL) {
    pool_class *c = tide_loop_alloc(loop, CLASSES * sizeof *c);
    if (c == NULL) return NULL;
    for (unsigned k = 0; k < CLASSES; k++) {
      tide__q_init(&c[k].slabs_with_room);
      c[k].empty = 0;
    }
    loop->priv_task_pool = c;
  }
  return loop->priv_task_pool;
}

static pool_slab *slab_new(tide_loop *loop, pool_class *c, unsigned size) {
  unsigned capacity = SLAB_BYTES / size;
  if (capacity < MIN_PER_SLAB) capacity = MIN_PER_SLAB;
  pool_slab *s = tide_loop_alloc(loop, HEADER + (size_t)capacity * size);
  if (s == NULL) return NULL;
  s->free = NULL;
  s->size = size;
  s->capacity = capacity;
  s->used = 0;
  s->live = 0;
  POISON(object_at(s, 0), (size_t)capacity * size);
  tide__q_insert_tail(&c->slabs_with_room, &s->link);
  c->empty++;
  return s;
}

/* Back to the allocator, which may write into it (scribble, link it). */
static void slab_free(tide_loop *loop, pool_slab *s) {
  UNPOISON(object_at(s, 0), (size_t)s->capacity * s->size);
  tide__q_remove(&s->link);
  tide_loop_dealloc(loop, s);
}

void *tide__pool_alloc(tide_loop *loop, size_t size, void **out_slab) {
  *out_slab = NULL;
  if (size == 0 || size > TIDE__POOL_MAX) return tide_loop_alloc(loop, size);
  pool_class *all = classes(loop);
  if (all == NULL) return NULL;
  unsigned k = (unsigned)((size - 1) / GRAIN);
  pool_class *c = &all[k];
  pool_slab *s;
  if (tide__q_empty(&c->slabs_with_room)) {
    s = slab_new(loop, c, (k + 1) * GRAIN);
    if (s == NULL) return NULL;
  } else {
    s = tide__container_of(c->slabs_with_room.next, pool_slab, link);
  }
  char *obj;
  if (s->free != NULL) {
    obj = s->free;
    UNPOISON(obj, s->size);
    s->free = *(void **)(void *)obj;
  } else {
    obj = object_at(s, s->used++);
    UNPOISON(obj, s->size);
  }
  if (s->live++ == 0) c->empty--;
  if (s->free == NULL && s->used == s->capacity) tide__q_remove(&s->link);
  *out_slab = s;
  return obj;
}

void tide__pool_free(tide_loop *loop, void *obj, void *slab) {
  if (slab == NULL) {
    tide_loop_dealloc(loop, obj);
    return;
  }
  pool_slab *s = slab;
  pool_class *c = &((pool_class *)loop->priv_task_pool)[s->size / GRAIN - 1];
  if (!tide__q_linked(&s->link)) tide__q_insert_tail(&c->slabs_with_room, &s->link);
  *(void **)obj = s->free;
  s->free = obj;
  POISON(obj, s->size);
  if (--s->live > 0) return;
  if (c->empty > 0) { /* one empty slab is kept per class; this one is spare */
    slab_free(loop, s);
    return;
  }
  c->empty++;
}

void tide__pool_close(tide_loop *loop) {
  pool_class *all = loop->priv_task_pool;
  if (all == NULL) return;
  for (unsigned k = 0; k < CLASSES; k++) {
    while (!tide__q_empty(&all[k].slabs_with_room)) {
      pool_slab *s = tide__container_of(all[k].slabs_with_room.next, pool_slab, link);
      assert(s->live == 0 && "a task outlived its loop");
      slab_free(loop, s);
    }
  }
  tide_loop_dealloc(loop, all);
  loop->priv_task_pool = NULL;
}
