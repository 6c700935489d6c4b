/* libev_timers.c: W2 and W4 on libev's ev_timer (caller storage, one array).
 *
 *   libev_timers churn N     W2: N starts (1..8 ms), N/2 cancels, N/2 fires
 *   libev_timers sleep N     W4: N timers of 10 ms, all started at once
 */
#include <ev.h>

#include "bench.h"

static long fired, expected;
static uint64_t t0, t1, t2;
static int churn;

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  (void)loop;
  fired++;
}

int main(int argc, char **argv) {
  BENCH_CHECK(argc > 1 && (!strcmp(argv[1], "churn") || !strcmp(argv[1], "sleep")),
              "usage: libev_timers churn|sleep N");
  churn = !strcmp(argv[1], "churn");
  long n = bench_arg(argc, argv, 2, 1000000) & ~1L;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  uint64_t mem0 = bench_mem_bytes();
  ev_timer *timers = malloc((size_t)n * sizeof *timers);
  BENCH_CHECK(loop != NULL && timers != NULL, "out of memory");
  uint64_t seed = 42;
  /* Initialising caller storage is setup, as for tide_timer_init. */
  for (long i = 0; i < n; i++) ev_init(&timers[i], on_timer);
  ev_now_update(loop);
  t0 = bench_now_ns();
  for (long i = 0; i < n; i++) {
    double ms = churn ? (double)(1 + bench_rand(&seed) % 8) : 10.0;
    ev_timer_set(&timers[i], ms / 1000.0, 0.);
    ev_timer_start(loop, &timers[i]);
  }
  t1 = bench_now_ns();
  if (churn)
    for (long i = 1; i < n; i += 2) ev_timer_stop(loop, &timers[i]);
  t2 = bench_now_ns();
  uint64_t mem1 = bench_mem_bytes();
  expected = churn ? n / 2 : n;
  ev_run(loop, 0);
  uint64_t t3 = bench_now_ns();
  BENCH_CHECK(fired == expected, "%ld timers fired, expected %ld", fired, expected);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld, \"start_ns\": %llu, "
         "\"cancel_ns\": %llu, \"fire_ns\": %llu, \"bytes_per_timer\": %zu, "
         "\"bytes_per_task\": %zu, \"mem_per_timer\": %.1f, \"counted\": 1}\n",
         churn ? 2 * n : n, (unsigned long long)(t3 - t0), fired,
         (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
         (unsigned long long)(t3 - t2), sizeof(ev_timer), sizeof(ev_timer),
         (double)(mem1 - mem0) / (double)n);
  free(timers);
  ev_loop_destroy(loop);
  return 0;
}
