/* libuv_timers.c: W2 and W4 on libuv's uv_timer_t (caller storage, one array).
 *
 *   libuv_timers churn N     W2: N starts (1..8 ms), N/2 cancels, N/2 fires
 *   libuv_timers sleep N     W4: N timers of 10 ms, all started at once
 */
#include <uv.h>

#include "bench.h"

static long fired;

static void on_timer(uv_timer_t *t) {
  (void)t;
  fired++;
}

int main(int argc, char **argv) {
  BENCH_CHECK(argc > 1 && (!strcmp(argv[1], "churn") || !strcmp(argv[1], "sleep")),
              "usage: libuv_timers churn|sleep N");
  int churn = !strcmp(argv[1], "churn");
  long n = bench_arg(argc, argv, 2, 1000000) & ~1L;
  uv_loop_t loop;
  BENCH_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
  uint64_t mem0 = bench_mem_bytes();
  uv_timer_t *timers = malloc((size_t)n * sizeof *timers);
  BENCH_CHECK(timers != NULL, "out of memory");
  uint64_t seed = 42;
  /* Initialising caller storage is setup, as for tide_timer_init. */
  for (long i = 0; i < n; i++) uv_timer_init(&loop, &timers[i]);
  uv_update_time(&loop);
  uint64_t t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    uint64_t ms = churn ? 1 + bench_rand(&seed) % 8 : 10;
    uv_timer_start(&timers[i], on_timer, ms, 0);
  }
  uint64_t t1 = bench_now_ns();
  if (churn)
    for (long i = 1; i < n; i += 2) uv_timer_stop(&timers[i]);
  uint64_t t2 = bench_now_ns();
  uint64_t mem1 = bench_mem_bytes();
  long expected = churn ? n / 2 : n;
  /* Runs until no active handle is left: the last timer has fired. */
  uv_run(&loop, UV_RUN_DEFAULT);
  uint64_t t3 = bench_now_ns();
  BENCH_CHECK(fired == expected, "%ld timers fired, expected %ld", fired, expected);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"start_ns\": %llu, "
         "\"cancel_ns\": %llu, \"fire_ns\": %llu, \"bytes_per_timer\": %zu, "
         "\"bytes_per_task\": %zu, \"mem_per_timer\": %.1f, \"counted\": 1}\n",
         churn ? 2 * n : n, (unsigned long long)(t3 - t0), fired,
         (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
         (unsigned long long)(t3 - t2), sizeof(uv_timer_t), sizeof(uv_timer_t),
         (double)(mem1 - mem0) / (double)n);
  for (long i = 0; i < n; i++) uv_close((uv_handle_t *)&timers[i], NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  BENCH_CHECK(uv_loop_close(&loop) == 0, "uv_loop_close");
  free(timers);
  return 0;
}
