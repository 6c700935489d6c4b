/* w8_spawn.c: W8, spawn-and-wait of /bin/true N times, K at a time.
 *
 *   w8_spawn N [K [PROGRAM]]      (K default 8, PROGRAM default /bin/true)
 *
 * K tasks, each a slot: take the next of the N spawns, start the child
 * (tide_process_spawn, every stream TIDE_STDIO_NULL), await its exit
 * (tide_process_wait), check that its returncode is 0, release it, take the
 * next. So K children run at once until fewer than K are left, and a new one
 * starts as soon as one is reaped. The clock runs from the first spawn to the
 * last exit seen; ns per op is that over N. The same source is the JS host
 * build (tide_process_* through node:child_process).
 */
#include "tide.h"
#include "bench.h"

static struct {
  long n;       /* spawns in all */
  long started; /* spawns taken by a slot */
  long done;    /* exits seen */
  long ok;      /* of which returncode 0 */
  const char *program;
  uint64_t start;
} w8;

struct slot {
  long i; /* the spawn this slot runs now */
  int rc;
  tide_process *proc;
  tide_future spawned, exited;
};

static int slot_main(tide_task *t, void *frame) {
  struct slot *s = frame;
  TIDE_BEGIN(t);
  while (w8.started < w8.n) {
    s->i = w8.started++;
    {
      const char *argv[] = {w8.program, NULL};
      tide_process_options o;
      memset(&o, 0, sizeof o);
      o.argv = argv;
      for (int k = 0; k < 3; k++)
        o.stdio[k].mode = TIDE_STDIO_NULL;
      tide_future_init(tide_task_loop(t), &s->spawned);
      s->rc = tide_process_spawn(tide_task_loop(t), &o, &s->spawned);
      BENCH_CHECK(s->rc == 0, "tide_process_spawn: %s", tide_strerror(s->rc));
    }
    TIDE_AWAIT(t, &s->spawned, s->rc);
    {
      const char *msg = tide_future_error_message(&s->spawned);
      BENCH_CHECK(s->rc == 0, "spawn %ld of %s: %s (%s)", s->i, w8.program,
                  tide_strerror(s->rc), msg != NULL ? msg : "");
      tide_value v;
      BENCH_CHECK(tide_future_result(&s->spawned, &v) == 0 && v.type == TIDE_VALUE_PTR,
                  "spawn %ld: no process", s->i);
      s->proc = v.as.p;
    }
    tide_future_release(&s->spawned);
    tide_future_init(tide_task_loop(t), &s->exited);
    s->rc = tide_process_wait(s->proc, &s->exited);
    BENCH_CHECK(s->rc == 0, "tide_process_wait: %s", tide_strerror(s->rc));
    TIDE_AWAIT(t, &s->exited, s->rc);
    {
      tide_value v;
      BENCH_CHECK(s->rc == 0 && tide_future_result(&s->exited, &v) == 0 &&
                      v.type == TIDE_VALUE_INT,
                  "wait %ld: %s", s->i, tide_strerror(s->rc));
      BENCH_CHECK(v.as.i == 0, "child %ld (%s): returncode %lld, expected 0", s->i,
                  w8.program, (long long)v.as.i);
    }
    tide_future_release(&s->exited);
    tide_process_release(s->proc);
    s->proc = NULL;
    w8.ok++;
    if (++w8.done == w8.n) {
      printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", w8.n,
             (unsigned long long)(bench_now_ns() - w8.start), w8.ok);
    }
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  w8.n = bench_arg(argc, argv, 1, 1000);
  long k = bench_arg(argc, argv, 2, 8);
  w8.program = argc > 3 ? argv[3] : "/bin/true";
  BENCH_CHECK(w8.n > 0 && k > 0, "usage: w8_spawn N [K [PROGRAM]]");
  if (k > w8.n) k = w8.n;
  w8.start = bench_now_ns();
  for (long i = 0; i < k; i++) {
    int rc = tide_task_spawn(loop, slot_main, NULL, sizeof(struct slot), NULL);
    if (rc != 0) return rc;
  }
  return 0;
}

BENCH_MAIN(setup)
