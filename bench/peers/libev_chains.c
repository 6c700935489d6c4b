/* libev_chains.c: W1 on libev. Each chain is an (unstarted) ev_idle watcher;
 * a callback feeds the next event of its chain with ev_feed_event, libev's
 * call_soon: the event is queued as pending and invoked in the same
 * ev_invoke_pending pass, without a poll in between.
 *
 *   libev_chains CHAINS TOTAL
 */
#include <ev.h>

#include "bench.h"

struct chain {
  ev_idle w; /* first: the callback gets the chain back from the watcher */
  long left;
};

static long ran;

static void step(struct ev_loop *loop, ev_idle *w, int revents) {
  struct chain *c = (struct chain *)w;
  (void)revents;
  ran++;
  if (--c->left > 0) ev_feed_event(loop, w, EV_CUSTOM);
}

int main(int argc, char **argv) {
  long chains = bench_arg(argc, argv, 1, 1);
  long total = bench_arg(argc, argv, 2, 1000000);
  BENCH_CHECK(chains > 0 && total % chains == 0, "usage: libev_chains CHAINS TOTAL");
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct chain *c = calloc((size_t)chains, sizeof *c);
  BENCH_CHECK(loop != NULL && c != NULL, "out of memory");
  uint64_t start = bench_now_ns();
  for (long i = 0; i < chains; i++) {
    c[i].left = total / chains;
    ev_idle_init(&c[i].w, step);
    ev_feed_event(loop, &c[i].w, EV_CUSTOM);
  }
  /* No watcher is active, so one iteration runs everything fed and returns. */
  while (ran < total) ev_run(loop, EVRUN_NOWAIT);
  uint64_t ns = bench_now_ns() - start;
  BENCH_CHECK(ran == total, "%ld callbacks ran, expected %ld", ran, total);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", total, (unsigned long long)ns, ran);
  ev_loop_destroy(loop);
  free(c);
  return 0;
}
