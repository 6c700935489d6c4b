/* small_alloc.c: the loop's default allocator in a size build (TIDE_SIZE=ON, the
 * JS host), in place of default_alloc.c. wasi-libc's dlmalloc is about 10 KB of
 * code (dlmalloc, dlfree, dispose_chunk, realloc, and the memcpy it calls); this
 * is a few hundred bytes, and the C library's malloc is then linked only if the
 * program itself calls it.
 *
 * Segregated free lists over memory.grow: a block's size is one of 53 classes,
 * 32 and 48 bytes times a power of two (32, 48, 64, 96, ..., 2 GiB), so a block
 * wastes at most a third of itself. Each block starts with a 16-byte header that
 * holds its class (the hook is told no size when it frees) and keeps the payload
 * 16-byte aligned, as malloc's is. Freed blocks go on their class's list and are
 * reused only for that class: memory is never returned to the host (neither
 * does dlmalloc give a wasm memory back) and never coalesced, which suits the
 * loop's allocations, a few sizes (tasks, futures, operations) made again and
 * again.
 *
 * New blocks are cut from a region taken from memory.grow. Growing, not sbrk
 * or the area after __heap_base: if the program calls malloc too, dlmalloc owns
 * that area and grows memory through sbrk, which is also memory.grow, so the
 * two never hand out the same bytes. Single-threaded, as the JS host is. */
#include <stdint.h>
#include <string.h>

#include "backend.h"

#define HEADER 16u
#define PAGE_SHIFT 16 /* a wasm page is 64 KiB */
#define N_CLASSES 53
#define MAX_BLOCK ((size_t)1 << 31) /* class 52: 32 << 26 */

/* A block's header: its class, and while the block is free, the next free
 * block of that class. */
typedef struct block {
  uint32_t cls;
  struct block *next;
} block;

static block *free_lists[N_CLASSES];
/* The region new blocks are cut from: [cur, end), 16-aligned. */
static uintptr_t cur;
static uintptr_t end;

static size_t class_size(unsigned cls) {
  return (size_t)((cls & 1) ? 48 : 32) << (cls >> 1);
}

/* The smallest class whose blocks hold n bytes (header included; n <= MAX_BLOCK). */
static unsigned class_of(size_t n) {
  if (n <= 32) return 0;
  /* n - 1 has its top bit at k: 2^k < n <= 2^(k+1), and k >= 5. Between
   * those powers lies one class of 48 << (k - 5) = 1.5 * 2^k bytes. */
  unsigned k = 31u - (unsigned)__builtin_clz((unsigned)(n - 1));
  if (n <= ((size_t)3 << (k - 1))) return 2 * (k - 5) + 1;
  return 2 * (k - 4);
}

/* Take pages for at least n more bytes; 0 if the host refuses. Contiguous pages
 * extend the region; else (dlmalloc grew memory, through sbrk, since our last
 * growth) the rest of the region is left unused and the pages start a new one. */
static int grow(size_t n) {
  size_t pages = (n + ((size_t)1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
  size_t old = __builtin_wasm_memory_grow(0, pages);
  /* The memory's last byte would make `end` wrap to 0 on wasm32: that page is
   * never used. */
  if (old == SIZE_MAX || old + pages > (SIZE_MAX >> PAGE_SHIFT)) return 0;
  uintptr_t base = (uintptr_t)old << PAGE_SHIFT;
  if (base != end) cur = base;
  end = base + (pages << PAGE_SHIFT);
  return 1;
}

/* A new block of class cls from the region. Growth first asks only for what the
 * region lacks; if those pages did not extend it, once more for the whole block
 * (nothing else can grow memory in between). */
static block *carve(unsigned cls) {
  size_t size = class_size(cls);
  if (end - cur < size) {
    if (!grow(size - (end - cur))) return NULL;
    if (end - cur < size && !grow(size)) return NULL;
  }
  block *b = (block *)cur;
  cur += size;
  b->cls = cls;
  return b;
}

static void *block_alloc(size_t size) {
  if (size > MAX_BLOCK - HEADER) return NULL;
  unsigned cls = class_of(size + HEADER);
  block *b = free_lists[cls];
  if (b != NULL) {
    free_lists[cls] = b->next;
  } else if ((b = carve(cls)) == NULL) {
    return NULL;
  }
  return (char *)b + HEADER;
}

static void block_free(void *ptr) {
  block *b = (block *)((char *)ptr - HEADER);
  b->next = free_lists[b->cls];
  free_lists[b->cls] = b;
}

/* The hook (backend.h): size 0 frees, else allocate (ptr NULL) or resize. A
 * resize within the block's class keeps the block; else the contents move. */
void *tide__default_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    if (ptr != NULL) block_free(ptr);
    return NULL;
  }
  if (ptr == NULL) return block_alloc(size);
  if (size > MAX_BLOCK - HEADER) return NULL;
  unsigned old_cls = ((block *)((char *)ptr - HEADER))->cls;
  if (class_of(size + HEADER) == old_cls) return ptr;
  void *moved = block_alloc(size);
  if (moved == NULL) return NULL; /* ptr stays valid, as realloc leaves it */
  size_t old_size = class_size(old_cls) - HEADER;
  memcpy(moved, ptr, size < old_size ? size : old_size);
  block_free(ptr);
  return moved;
}
