/* w3_switch.c: W3, the cost of a task's await.
 *
 *   w3_switch done N     await a future that is already complete, N times
 *   w3_switch yield N    TIDE_YIELD N times: suspend, go through the ready queue,
 *                        resume (with a second task yielding too, so each yield
 *                        really switches to another task and back)
 *
 * "done" is what asyncio's `await fut` on a finished future costs: tideloop does
 * not suspend then (tide.h, TIDE_AWAIT), so it is the price of the check. "yield"
 * is asyncio's `await asyncio.sleep(0)`: a full trip through the loop. The clock
 * runs inside the first task, from its first await to its last; ns per await is
 * the result (for yield: per yield of either task, i.e. per task switch).
 */
#include "tide.h"
#include "bench.h"

struct frame {
  long i;
  long n;
  int yield;
  int lead; /* the task that times and reports */
  int rc;
  tide_future *done; /* "done": a future completed before the task started */
  uint64_t start;
  long sum;
};

static tide_future done_future;
static long switches;

static int bench_task(tide_task *t, void *frame_ptr) {
  struct frame *f = frame_ptr;
  TIDE_BEGIN(t);
  f->start = bench_now_ns();
  if (f->yield) {
    for (f->i = 0; f->i < f->n; f->i++) {
      TIDE_YIELD(t, f->rc);
      switches++;
      f->sum += f->rc == 0;
    }
  } else {
    for (f->i = 0; f->i < f->n; f->i++) {
      TIDE_AWAIT(t, f->done, f->rc);
      f->sum += f->rc == 0;
    }
  }
  if (f->lead) {
    uint64_t ns = bench_now_ns() - f->start;
    long ops = f->yield ? 2 * f->n : f->n;
    BENCH_CHECK(f->sum == f->n, "%ld of %ld awaits succeeded", f->sum, f->n);
    printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", ops, (unsigned long long)ns,
           f->sum);
    tide_future_release(&done_future);
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  BENCH_CHECK(argc > 1 && (!strcmp(argv[1], "done") || !strcmp(argv[1], "yield")),
              "usage: w3_switch done|yield N");
  struct frame f;
  memset(&f, 0, sizeof f);
  f.yield = !strcmp(argv[1], "yield");
  f.n = bench_arg(argc, argv, 2, 1000000);
  f.lead = 1;
  f.done = &done_future;
  tide_future_init(loop, &done_future);
  tide_future_set_int(&done_future, 7);
  /* For yield, the partner starts second and so resumes right after the lead
   * each time; the lead finishes its last yield while the partner is on its
   * last one, so both counts are exact. */
  int rc = tide_task_spawn(loop, bench_task, &f, sizeof f, NULL);
  if (rc != 0 || !f.yield) return rc;
  struct frame partner = f;
  partner.lead = 0;
  return tide_task_spawn(loop, bench_task, &partner, sizeof partner, NULL);
}

BENCH_MAIN(setup)
