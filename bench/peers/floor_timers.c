/* floor_timers.c: W2's floor, a plain binary min-heap in an array, ordered by
 * (deadline, sequence) like tideloop's, with each timer's heap index stored in
 * the timer so a cancel is O(log n). No loop and no clock: "firing" pops every
 * timer in order and calls its callback through a pointer.
 *
 *   floor_timers N        (same timeouts and cancels as w2_timers)
 */
#include "bench.h"

struct timer {
  uint64_t deadline;
  uint64_t seq;
  size_t index; /* position in the heap, or SIZE_MAX when not in it */
  void (*cb)(struct timer *t);
};

static struct {
  struct timer **a;
  size_t len;
} heap;

static int less(const struct timer *x, const struct timer *y) {
  return x->deadline < y->deadline || (x->deadline == y->deadline && x->seq < y->seq);
}

static void place(size_t i, struct timer *t) {
  heap.a[i] = t;
  t->index = i;
}

static void sift_up(size_t i, struct timer *t) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!less(t, heap.a[parent])) break;
    place(i, heap.a[parent]);
    i = parent;
  }
  place(i, t);
}

static void sift_down(size_t i, struct timer *t) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= heap.len) break;
    if (c + 1 < heap.len && less(heap.a[c + 1], heap.a[c])) c++;
    if (!less(heap.a[c], t)) break;
    place(i, heap.a[c]);
    i = c;
  }
  place(i, t);
}

static void heap_insert(struct timer *t) { sift_up(heap.len++, t); }

static void heap_remove(struct timer *t) {
  size_t i = t->index;
  struct timer *last = heap.a[--heap.len];
  t->index = SIZE_MAX;
  if (last == t) return;
  if (i > 0 && less(last, heap.a[(i - 1) / 2]))
    sift_up(i, last);
  else
    sift_down(i, last);
}

static long fired;

__attribute__((noinline)) static void on_fire(struct timer *t) {
  (void)t;
  fired++;
}

int main(int argc, char **argv) {
  long n = bench_arg(argc, argv, 1, 1000000) & ~1L;
  BENCH_CHECK(n >= 2, "usage: floor_timers N");
  struct timer *timers = malloc((size_t)n * sizeof *timers);
  heap.a = malloc((size_t)n * sizeof *heap.a);
  BENCH_CHECK(timers != NULL && heap.a != NULL, "out of memory");
  uint64_t seed = 42, seq = 0, now = 0;
  uint64_t t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    timers[i].deadline = now + 1 + bench_rand(&seed) % 8;
    timers[i].seq = seq++;
    timers[i].cb = on_fire;
    heap_insert(&timers[i]);
  }
  uint64_t t1 = bench_now_ns();
  for (long i = 1; i < n; i += 2) heap_remove(&timers[i]);
  uint64_t t2 = bench_now_ns();
  while (heap.len > 0) {
    struct timer *t = heap.a[0];
    heap_remove(t);
    t->cb(t);
  }
  uint64_t t3 = bench_now_ns();
  BENCH_CHECK(fired == n / 2, "%ld timers fired, expected %ld", fired, n / 2);
  /* Per timer: the struct and its heap slot. */
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"start_ns\": %llu, "
         "\"cancel_ns\": %llu, \"fire_ns\": %llu, \"bytes_per_timer\": %zu, \"counted\": 1}\n",
         2 * n, (unsigned long long)(t3 - t0), fired, (unsigned long long)(t1 - t0),
         (unsigned long long)(t2 - t1), (unsigned long long)(t3 - t2),
         sizeof(struct timer) + sizeof(struct timer *));
  free(timers);
  free(heap.a);
  return 0;
}
