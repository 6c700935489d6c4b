/* floor_chains.c: W1's floor, the least any loop can do for "a callback
 * schedules the next one": a power-of-two ring buffer of (function, argument)
 * pairs and an indirect call, no loop, no clock, no I/O.
 *
 *   floor_chains CHAINS TOTAL
 */
#include "bench.h"

typedef void (*fn_t)(void *ud);

struct entry {
  fn_t fn;
  void *ud;
};

static struct {
  struct entry *ring;
  size_t mask;
  size_t head, tail;
  long ran;
} q;

static void push(fn_t fn, void *ud) {
  q.ring[q.tail++ & q.mask] = (struct entry){fn, ud};
}

struct chain {
  long left;
};

/* noinline: the call through the ring must stay a real indirect call. */
__attribute__((noinline)) static void step(void *ud) {
  struct chain *c = ud;
  q.ran++;
  if (--c->left > 0) push(step, c);
}

int main(int argc, char **argv) {
  long chains = bench_arg(argc, argv, 1, 1);
  long total = bench_arg(argc, argv, 2, 1000000);
  BENCH_CHECK(chains > 0 && total % chains == 0, "usage: floor_chains CHAINS TOTAL");
  size_t cap = 1;
  while (cap < (size_t)chains) cap *= 2;
  q.ring = malloc(cap * sizeof *q.ring);
  q.mask = cap - 1;
  struct chain *c = calloc((size_t)chains, sizeof *c);
  BENCH_CHECK(q.ring != NULL && c != NULL, "out of memory");
  uint64_t start = bench_now_ns();
  for (long i = 0; i < chains; i++) {
    c[i].left = total / chains;
    push(step, &c[i]);
  }
  while (q.head != q.tail) {
    struct entry e = q.ring[q.head++ & q.mask];
    e.fn(e.ud);
  }
  uint64_t ns = bench_now_ns() - start;
  BENCH_CHECK(q.ran == total, "%ld callbacks ran, expected %ld", q.ran, total);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", total, (unsigned long long)ns, q.ran);
  return 0;
}
