/* w1_chains.c: W1, chains of callbacks, each scheduling the next with
 * tide_call_soon (asyncio's call_soon).
 *
 *   w1_chains CHAINS TOTAL     e.g. 1 1000000, or 1000 1000000
 *
 * CHAINS chains run side by side, TOTAL callbacks in all (TOTAL/CHAINS each), so
 * the ready queue holds CHAINS calls at any time. The clock starts before the
 * first call is scheduled and stops in the last callback; ns/callback is the
 * result. The same source runs natively, under WASI and on the JS host.
 */
#include "tide.h"
#include "bench.h"

struct chain {
  long left; /* callbacks this chain still has to run */
};

static struct {
  struct chain *chains;
  long chains_left;
  long ran;
  long total;
  uint64_t start;
} w1;

static void step(tide_loop *loop, void *ud) {
  struct chain *c = ud;
  w1.ran++;
  if (--c->left > 0) {
    /* The hot path being measured: one pooled record from the free list, one
     * append to the ready queue. */
    int rc = tide_call_soon(loop, step, c, NULL);
    BENCH_CHECK(rc == 0, "tide_call_soon: %s", tide_strerror(rc));
    return;
  }
  if (--w1.chains_left > 0) return;
  uint64_t ns = bench_now_ns() - w1.start;
  BENCH_CHECK(w1.ran == w1.total, "%ld callbacks ran, expected %ld", w1.ran, w1.total);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", w1.total, (unsigned long long)ns,
         w1.ran);
  free(w1.chains);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  long chains = bench_arg(argc, argv, 1, 1);
  long total = bench_arg(argc, argv, 2, 1000000);
  BENCH_CHECK(chains > 0 && total >= chains && total % chains == 0,
              "usage: w1_chains CHAINS TOTAL (TOTAL a multiple of CHAINS)");
  w1.chains = calloc((size_t)chains, sizeof *w1.chains);
  BENCH_CHECK(w1.chains != NULL, "out of memory");
  w1.chains_left = chains;
  w1.total = total;
  w1.start = bench_now_ns();
  for (long i = 0; i < chains; i++) {
    w1.chains[i].left = total / chains;
    int rc = tide_call_soon(loop, step, &w1.chains[i], NULL);
    if (rc != 0) return rc;
  }
  return 0;
}

BENCH_MAIN(setup)
