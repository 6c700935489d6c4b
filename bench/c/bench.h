/* bench.h: what every C benchmark shares: a monotonic clock in nanoseconds, a
 * counting allocator, memory readings, argument parsing, the one-line JSON
 * result, and BENCH_MAIN, which runs a TIDE_MAIN-style setup on every host.
 *
 * The protocol with bench/driver: a benchmark prints exactly one line of JSON on
 * stdout, {"ops": N, "ns": elapsed, "check": value, ...}, and exits 0; if its own
 * correctness check fails it prints "FAIL: why" on stderr and exits 1. Timing is
 * taken inside the program, so process start-up (node, python) is not counted.
 * bench/CMakeLists.txt defines _POSIX_C_SOURCE, for clock_gettime.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* argv[i] as a number, or def when absent. */
static inline long bench_arg(int argc, char **argv, int i, long def) {
  return argc > i ? strtol(argv[i], NULL, 10) : def;
}

/* Memory the process holds now, in bytes: the resident set natively, the size of
 * linear memory in wasm (which only grows). Deltas of it are the "RSS delta"
 * columns: coarse (page granular), but the same measure for every peer. */
static inline uint64_t bench_mem_bytes(void) {
#if defined(__wasm__)
  return (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
#else
  unsigned long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  fclose(f);
  return (uint64_t)resident * 4096u;
#endif
}

/* A 64-bit LCG: the same pseudo-random timeouts on every host and in every peer
 * (the JS and Python peers use the same constants). */
static inline uint32_t bench_rand(uint64_t *state) {
  *state = *state * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(*state >> 33);
}

/* "FAIL: ..." on stderr and a non-zero exit: a wrong result is never a number. */
#define BENCH_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                     \
      fprintf(stderr, "\n");                                                     \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

#ifdef TIDE_H
/* --- The counting allocator (tideloop benchmarks only) ---------------------
 * The loop's allocator, counting the bytes the library asks for (not malloc's
 * own overhead, which differs between libcs): what "bytes per task" means. A
 * 16-byte header keeps the size, since a Lua-style free does not pass it, and
 * keeps malloc's 16-byte alignment. */
static size_t bench_alloc_now, bench_alloc_peak;
static uint64_t bench_alloc_calls;

static void *bench_alloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  size_t old = 0;
  char *base = NULL;
  if (ptr != NULL) {
    base = (char *)ptr - 16;
    memcpy(&old, base, sizeof old);
  }
  if (size == 0) {
    free(base);
    bench_alloc_now -= old;
    return NULL;
  }
  char *p = realloc(base, size + 16);
  if (p == NULL) return NULL;
  memcpy(p, &size, sizeof size);
  bench_alloc_now = bench_alloc_now - old + size;
  if (bench_alloc_now > bench_alloc_peak) bench_alloc_peak = bench_alloc_now;
  bench_alloc_calls++;
  return p + 16;
}

/* 1 when the loop's allocations are counted (native, WASI); 0 on the JS host,
 * where the host makes the loop with the default allocator. */
#ifdef TIDE_HOST_JS
#define BENCH_COUNTS_ALLOC 0
#define BENCH_HOST "js"
#elif defined(__wasi__)
#define BENCH_COUNTS_ALLOC 1
#define BENCH_HOST "wasi"
#else
#define BENCH_COUNTS_ALLOC 1
#define BENCH_HOST "native"
#endif

/* BENCH_MAIN(setup): TIDE_MAIN, except that natively and under WASI the loop
 * gets the counting allocator. On the JS host it is TIDE_MAIN itself: the host
 * makes the loop and drives it without blocking, as for any user program. */
#ifdef TIDE_HOST_JS
#define BENCH_MAIN(setup) TIDE_MAIN(setup)
#else
static inline int bench_main_run(int argc, char **argv, tide_main_fn setup) {
  tide_loop loop;
  tide_loop_options opts;
  memset(&opts, 0, sizeof opts);
  opts.alloc = bench_alloc;
  int rc = tide_loop_init(&loop, &opts);
  BENCH_CHECK(rc == 0, "tide_loop_init: %s", tide_strerror(rc));
  rc = setup(&loop, argc, argv);
  BENCH_CHECK(rc == 0, "setup: %s", tide_strerror(rc));
  rc = tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  BENCH_CHECK(rc == 0, "tide_loop_run: %d (%s)", rc, rc < 0 ? tide_strerror(rc) : "work left");
  int code = tide_main_exit_code(&loop);
  rc = tide_loop_close(&loop);
  BENCH_CHECK(rc == 0, "tide_loop_close: %s", tide_strerror(rc));
  BENCH_CHECK(bench_alloc_now == 0, "%zu bytes still allocated after close", bench_alloc_now);
  return code;
}
#define BENCH_MAIN(setup)                                                        \
  int main(int argc, char **argv) { return bench_main_run(argc, argv, (setup)); }
#endif
#endif /* TIDE_H */

#endif /* BENCH_H */
