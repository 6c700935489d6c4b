/* alloc.h: a counting, failure-injecting allocator for tests (after Lua's
 * ltests.c l_alloc): every block carries a header with its size and a magic
 * number, freed memory is scribbled over, and the allocator counts allocations,
 * can fail the Nth one, and tracks live blocks and bytes so a test can assert
 * that nothing leaked.
 *
 * Pass it to a loop with test_alloc_options(); all state lives in the
 * test_alloc struct (no globals), so two loops may use two counters.
 */
#ifndef TIDE_TEST_ALLOC_H
#define TIDE_TEST_ALLOC_H

#include <stddef.h>

#include "tide.h"

typedef struct test_alloc {
  /* Allocation requests so far: every call with size > 0 (new block or resize),
   * including the ones that were failed on purpose. */
  size_t count;
  /* Fail the request whose count equals fail_at (1-based); 0: never. */
  size_t fail_at;
  /* Fail every request from fail_at on (not only the Nth). */
  int fail_after;
  /* Requests failed on purpose so far. */
  size_t failures;
  /* Refuse any single request larger than this (0: no limit). */
  size_t max_request;
  size_t live_blocks;
  size_t live_bytes;
  size_t peak_bytes;
  size_t frees;
} test_alloc;

void test_alloc_init(test_alloc *a);
/* The tide_alloc_fn; ud is the test_alloc. */
void *test_alloc_fn(void *ud, void *ptr, size_t size);
/* Loop options that route every allocation through a (tick_budget default). */
tide_loop_options test_alloc_options(test_alloc *a);
/* Fail the Nth request from now (n >= 1): fail_at = count + n. */
void test_alloc_fail_in(test_alloc *a, size_t n);
/* Stop injecting failures. */
void test_alloc_disarm(test_alloc *a);

/* Nothing the allocator handed out is still live. */
#define ASSERT_NO_LEAKS(a)                                                             \
  do {                                                                                 \
    ASSERT_EQ((a)->live_blocks, 0);                                                    \
    ASSERT_EQ((a)->live_bytes, 0);                                                     \
  } while (0)

#endif /* TIDE_TEST_ALLOC_H */
