/* w7_minimal.c: W7, a minimal async program for the JS host, whose size is
 * measured (bench/emcc/w7_asyncify.c is the same logic with Emscripten's
 * ASYNCIFY).
 *
 * A task awaits the JS host function "sleep" (a Promise that resolves after
 * 1 ms) three times and exits 0 if all three succeeded. No stdio, so the module
 * holds the loop, tasks, futures, host operations and the ABI, and nothing else.
 */
#include "tide.h"

struct sleeper {
  int i;
  int ok;
  int rc;
  tide_future f;
};

static int sleeper_main(tide_task *t, void *frame) {
  struct sleeper *s = frame;
  TIDE_BEGIN(t);
  for (s->i = 0; s->i < 3; s->i++) {
    tide_future_init(tide_task_loop(t), &s->f);
    {
      tide_value ms = tide_value_double(1);
      s->rc = tide_host_call(tide_task_loop(t), "sleep", &ms, 1, &s->f);
    }
    if (s->rc == 0) TIDE_AWAIT(t, &s->f, s->rc);
    s->ok += s->rc == 0;
    tide_future_release(&s->f);
  }
  tide_main_exit(tide_task_loop(t), s->ok == 3 ? 0 : 1);
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tide_task_spawn(loop, sleeper_main, NULL, sizeof(struct sleeper), NULL);
}

TIDE_MAIN(setup)
