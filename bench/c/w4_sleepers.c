/* w4_sleepers.c: W4, N concurrent tasks each sleeping 10 ms.
 *
 *   w4_sleepers N
 *
 * N detached tasks are spawned at once; each sleeps 10 ms and returns. The
 * clock runs from the first spawn to the last task's end, so the result is the
 * total time (at least the 10 ms sleep). Bytes per task: the most the loop's
 * allocator held at once, over N (native and WASI count every byte the library
 * asks for; the JS host, which makes the loop itself, reports the growth of
 * linear memory instead). The frame's own size is reported beside it, since
 * the target is "128 bytes per task plus its frame".
 */
#include "tide.h"
#include "bench.h"

struct sleeper {
  int rc;
};

static struct {
  long n;
  long done;
  uint64_t start;
  uint64_t mem0;
  size_t alloc0;
  uint64_t calls0;
} w4;

static int sleeper_main(tide_task *t, void *frame) {
  struct sleeper *s = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 10, s->rc);
  BENCH_CHECK(s->rc == 0, "sleep: %s", tide_strerror(s->rc));
  if (++w4.done == w4.n) {
    uint64_t ns = bench_now_ns() - w4.start;
    double per_task = BENCH_COUNTS_ALLOC
                          ? (double)(bench_alloc_peak - w4.alloc0) / (double)w4.n
                          : (double)(bench_mem_bytes() - w4.mem0) / (double)w4.n;
    printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"bytes_per_task\": %.1f, "
           "\"frame_bytes\": %zu, \"counted\": %d, \"mem_per_task\": %.1f, "
           "\"allocs_per_task\": %.2f}\n",
           w4.n, (unsigned long long)ns, w4.done, per_task, sizeof(struct sleeper),
           BENCH_COUNTS_ALLOC, (double)(bench_mem_bytes() - w4.mem0) / (double)w4.n,
           BENCH_COUNTS_ALLOC ? (double)(bench_alloc_calls - w4.calls0) / (double)w4.n : 0.0);
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  w4.n = bench_arg(argc, argv, 1, 1000000);
  BENCH_CHECK(w4.n > 0, "usage: w4_sleepers N");
  w4.mem0 = bench_mem_bytes();
  /* Measure the peak from here: what the loop held before is not the tasks'. */
  bench_alloc_peak = bench_alloc_now;
  w4.alloc0 = bench_alloc_now;
  w4.calls0 = bench_alloc_calls;
  w4.start = bench_now_ns();
  for (long i = 0; i < w4.n; i++) {
    int rc = tide_task_spawn(loop, sleeper_main, NULL, sizeof(struct sleeper), NULL);
    if (rc != 0) return rc;
  }
  return 0;
}

BENCH_MAIN(setup)
