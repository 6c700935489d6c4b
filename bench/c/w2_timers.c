/* w2_timers.c: W2, N timer starts, N/2 cancels, N/2 fires.
 *
 *   w2_timers handle N    tide_timer handles in caller storage (one array)
 *   w2_timers call N      tide_call_later records (the loop's pool)
 *
 * Timer i gets a pseudo-random timeout of 1..8 ms (bench_rand: the peers use the
 * same sequence); every odd timer is then cancelled; the even ones fire. The
 * timeouts are short so that by the time a million starts are done they are all
 * due: the fire phase measures the loop's work, not waiting. ns/op is the total
 * time over 2N operations (N starts + N/2 cancels + N/2 fires); the phases are
 * reported too, and the bytes per timer: sizeof(tide_timer) for handles, the
 * allocator's bytes for pooled calls, and the memory delta for both.
 */
#include "tide.h"
#include "bench.h"

static struct {
  long n;
  long fired;
  int handles;
  tide_timer *timers;
  tide_call *calls;
  uint64_t t0, t1, t2;
  uint64_t mem0, mem1;
  size_t alloc0, alloc1;
} w2;

static void closed(tide_handle *h) { (void)h; }

static void finish(tide_loop *loop) {
  uint64_t t3 = bench_now_ns();
  BENCH_CHECK(w2.fired == w2.n / 2, "%ld timers fired, expected %ld", w2.fired, w2.n / 2);
  double bytes = w2.handles ? (double)sizeof(tide_timer)
                            : (double)(w2.alloc1 - w2.alloc0) / (double)w2.n;
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"start_ns\": %llu, "
         "\"cancel_ns\": %llu, \"fire_ns\": %llu, \"bytes_per_timer\": %.1f, "
         "\"mem_per_timer\": %.1f, \"counted\": %d}\n",
         2 * w2.n, (unsigned long long)(t3 - w2.t0), w2.fired,
         (unsigned long long)(w2.t1 - w2.t0), (unsigned long long)(w2.t2 - w2.t1),
         (unsigned long long)(t3 - w2.t2), bytes,
         (double)(w2.mem1 - w2.mem0) / (double)w2.n, w2.handles || BENCH_COUNTS_ALLOC);
  /* Not timed: every handle must be closed before the loop can close. */
  if (w2.handles)
    for (long i = 0; i < w2.n; i++) tide_handle_close(&w2.timers[i].handle, closed);
  (void)loop;
}

static void on_timer(tide_timer *t) {
  if (++w2.fired == w2.n / 2) finish(tide_handle_loop(&t->handle));
}

static void on_call(tide_loop *loop, void *ud) {
  (void)ud;
  if (++w2.fired == w2.n / 2) finish(loop);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  BENCH_CHECK(argc > 1 && (!strcmp(argv[1], "handle") || !strcmp(argv[1], "call")),
              "usage: w2_timers handle|call N");
  w2.handles = !strcmp(argv[1], "handle");
  w2.n = bench_arg(argc, argv, 2, 1000000) & ~1L;
  BENCH_CHECK(w2.n >= 2, "N must be at least 2");
  uint64_t seed = 42;
  w2.mem0 = bench_mem_bytes();
  if (w2.handles) {
    w2.timers = malloc((size_t)w2.n * sizeof *w2.timers);
    BENCH_CHECK(w2.timers != NULL, "out of memory");
    /* Initialising caller storage is the user's setup, not a timer start. */
    for (long i = 0; i < w2.n; i++)
      BENCH_CHECK(tide_timer_init(loop, &w2.timers[i]) == 0, "tide_timer_init");
  } else {
    w2.calls = malloc((size_t)w2.n * sizeof *w2.calls);
    BENCH_CHECK(w2.calls != NULL, "out of memory");
  }
  w2.alloc0 = bench_alloc_now;
  w2.t0 = bench_now_ns();
  for (long i = 0; i < w2.n; i++) {
    uint64_t ms = 1 + bench_rand(&seed) % 8;
    int rc = w2.handles ? tide_timer_start(&w2.timers[i], on_timer, ms, 0)
                        : tide_call_later(loop, ms, on_call, NULL, &w2.calls[i]);
    if (rc != 0) return rc;
  }
  w2.t1 = bench_now_ns();
  for (long i = 1; i < w2.n; i += 2) {
    if (w2.handles) {
      tide_timer_stop(&w2.timers[i]);
    } else {
      int rc = tide_call_cancel(loop, w2.calls[i]);
      BENCH_CHECK(rc == 0, "tide_call_cancel: %s", tide_strerror(rc));
    }
  }
  w2.t2 = bench_now_ns();
  w2.alloc1 = bench_alloc_now;
  w2.mem1 = bench_mem_bytes();
  return 0;
}

BENCH_MAIN(setup)
