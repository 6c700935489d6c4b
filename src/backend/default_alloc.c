/* default_alloc.c: the loop's default allocator, libc realloc/free (Lua style). */
#include <stdlib.h>

#include "backend.h"

/* size 0 frees and returns NULL; otherwise realloc, which also allocates when
 * ptr is NULL. realloc(ptr, 0) is avoided: its result is implementation-defined. */
void *tide__default_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}
