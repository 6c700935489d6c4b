/* libuv_chains.c: W1 on libuv. libuv has no call_soon; the nearest thing that
 * runs a callback again on the next loop iteration is an idle handle: each
 * chain is one uv_idle_t whose callback runs once per iteration until its chain
 * is done (then it stops). So a callback "schedules the next" by staying active,
 * and every iteration pays libuv's poll with a zero timeout (epoll_wait), which
 * is what re-running a callback costs in libuv. (uv_async_send would add a
 * write to an eventfd per callback: slower, and not what a user would pick.)
 *
 *   libuv_chains CHAINS TOTAL
 */
#include <uv.h>

#include "bench.h"

struct chain {
  uv_idle_t h; /* first: the callback gets the chain back from the handle */
  long left;
};

static long ran;

static void step(uv_idle_t *h) {
  struct chain *c = (struct chain *)h;
  ran++;
  if (--c->left == 0) uv_idle_stop(h);
}

int main(int argc, char **argv) {
  long chains = bench_arg(argc, argv, 1, 1);
  long total = bench_arg(argc, argv, 2, 1000000);
  BENCH_CHECK(chains > 0 && total % chains == 0, "usage: libuv_chains CHAINS TOTAL");
  uv_loop_t loop;
  BENCH_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
  struct chain *c = calloc((size_t)chains, sizeof *c);
  BENCH_CHECK(c != NULL, "out of memory");
  uint64_t start = bench_now_ns();
  for (long i = 0; i < chains; i++) {
    c[i].left = total / chains;
    uv_idle_init(&loop, &c[i].h);
    uv_idle_start(&c[i].h, step);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uint64_t ns = bench_now_ns() - start;
  BENCH_CHECK(ran == total, "%ld callbacks ran, expected %ld", ran, total);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", total, (unsigned long long)ns, ran);
  for (long i = 0; i < chains; i++) uv_close((uv_handle_t *)&c[i].h, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  BENCH_CHECK(uv_loop_close(&loop) == 0, "uv_loop_close");
  free(c);
  return 0;
}
