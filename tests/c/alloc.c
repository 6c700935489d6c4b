/* alloc.c: the counting, failure-injecting test allocator (see alloc.h). */
#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define ALLOC_MAGIC 0x71de0c0ffee5ULL
#define ALLOC_FREED 0xdeadbeefdeadULL
#define ALLOC_FILL 0x55     /* new memory: catches reads of uninitialised fields */
#define ALLOC_SCRIBBLE 0xa5 /* freed memory: catches use after free */

/* The header before each block; a union keeps the user part max-aligned. */
typedef union alloc_header {
  struct {
    unsigned long long magic;
    size_t size;
    test_alloc *owner;
  } h;
  max_align_t align;
} alloc_header;

void test_alloc_init(test_alloc *a) {
  memset(a, 0, sizeof *a);
}

tide_loop_options test_alloc_options(test_alloc *a) {
  tide_loop_options opts;
  memset(&opts, 0, sizeof opts);
  opts.alloc = test_alloc_fn;
  opts.alloc_ud = a;
  return opts;
}

void test_alloc_fail_in(test_alloc *a, size_t n) {
  a->fail_at = a->count + n;
  a->fail_after = 0;
}

void test_alloc_disarm(test_alloc *a) {
  a->fail_at = 0;
  a->fail_after = 0;
}

static alloc_header *header_of(test_alloc *a, void *ptr) {
  alloc_header *hd = (alloc_header *)ptr - 1;
  if (hd->h.magic != ALLOC_MAGIC)
    test__fail(__FILE__, __LINE__, "allocator: %p is not a live block (%s)", ptr,
               hd->h.magic == ALLOC_FREED ? "freed twice" : "bad pointer");
  if (hd->h.owner != a)
    test__fail(__FILE__, __LINE__, "allocator: %p belongs to another allocator", ptr);
  return hd;
}

void *test_alloc_fn(void *ud, void *ptr, size_t size) {
  test_alloc *a = ud;
  alloc_header *old = ptr ? header_of(a, ptr) : NULL;
  size_t old_size = old ? old->h.size : 0;

  if (size == 0) {
    if (old) {
      a->live_blocks--;
      a->live_bytes -= old_size;
      a->frees++;
      old->h.magic = ALLOC_FREED;
      memset(old + 1, ALLOC_SCRIBBLE, old_size);
      free(old);
    }
    return NULL;
  }

  a->count++;
  if (a->fail_at != 0 &&
      (a->count == a->fail_at || (a->fail_after && a->count > a->fail_at))) {
    a->failures++;
    return NULL; /* the old block, if any, stays valid and unchanged */
  }
  if (a->max_request != 0 && size > a->max_request) {
    a->failures++;
    return NULL;
  }
  if (size > SIZE_MAX - sizeof(alloc_header)) return NULL;

  /* Always move on resize, so a caller that keeps a stale pointer is caught. */
  alloc_header *hd = malloc(sizeof(alloc_header) + size);
  if (hd == NULL) return NULL;
  hd->h.magic = ALLOC_MAGIC;
  hd->h.size = size;
  hd->h.owner = a;
  if (old) {
    memcpy(hd + 1, old + 1, old_size < size ? old_size : size);
    if (size > old_size)
      memset((char *)(hd + 1) + old_size, ALLOC_FILL, size - old_size);
    old->h.magic = ALLOC_FREED;
    memset(old + 1, ALLOC_SCRIBBLE, old_size);
    free(old);
    a->live_bytes -= old_size;
  } else {
    memset(hd + 1, ALLOC_FILL, size);
    a->live_blocks++;
  }
  a->live_bytes += size;
  if (a->live_bytes > a->peak_bytes) a->peak_bytes = a->live_bytes;
  return hd + 1;
}
