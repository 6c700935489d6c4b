/* w5_roundtrip.c: W5, a C task awaiting a JS Promise, N times in a row (JS host
 * only).
 *
 *   w5_roundtrip N       (run by bench/js/w5-tideloop.mjs, which registers "ping")
 *
 * Each round trip: tide_host_call("ping", i) starts the JS function, which
 * returns a Promise of i + 1; the host completes the future, the task resumes
 * and checks the value. ns per round trip is the result. The JS side's pure-JS
 * baseline awaits the same function in a JS loop (bench/js/w5-js.mjs).
 */
#include "tide.h"
#include "bench.h"

struct pinger {
  long i;
  long n;
  long sum;
  int rc;
  uint64_t start;
  tide_future f;
};

static int pinger_main(tide_task *t, void *frame) {
  struct pinger *p = frame;
  TIDE_BEGIN(t);
  p->start = bench_now_ns();
  for (p->i = 0; p->i < p->n; p->i++) {
    tide_future_init(tide_task_loop(t), &p->f);
    {
      tide_value arg = tide_value_double((double)p->i);
      p->rc = tide_host_call(tide_task_loop(t), "ping", &arg, 1, &p->f);
    }
    BENCH_CHECK(p->rc == 0, "tide_host_call: %s", tide_strerror(p->rc));
    TIDE_AWAIT(t, &p->f, p->rc);
    {
      tide_value v;
      BENCH_CHECK(p->rc == 0 && tide_future_result(&p->f, &v) == 0 &&
                      v.type == TIDE_VALUE_DOUBLE && v.as.d == (double)(p->i + 1),
                  "ping %ld: wrong result (rc %d)", p->i, p->rc);
    }
    tide_future_release(&p->f);
    p->sum++;
  }
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", p->n,
         (unsigned long long)(bench_now_ns() - p->start), p->sum);
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  struct pinger p;
  memset(&p, 0, sizeof p);
  p.n = bench_arg(argc, argv, 1, 100000);
  BENCH_CHECK(p.n > 0, "usage: w5_roundtrip N");
  return tide_task_spawn(loop, pinger_main, &p, sizeof p, NULL);
}

BENCH_MAIN(setup)
