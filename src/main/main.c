/* main.c: the portable main behind TIDE_MAIN (tide.h): natively and under WASI
 * tide_main_run() makes a loop, runs the program's setup and the loop, and
 * turns the outcome into an exit code. On the JS host the package drives the
 * loop instead (src/backend/js/exports.c, tide_js_main); this file, the only
 * one of the library that uses stdio, is then not built, so a module imports no WASI I/O for it. */
#include <stdio.h>

#include "tide.h"

/* Exit code 1 with one line saying why, so a failing program is never silent. */
static int fail(const char *what, int rc) {
  fprintf(stderr, "tideloop: %s: %s: %s\n", what, tide_err_name(rc), tide_strerror(rc));
  return 1;
}

int tide_main_run(int argc, char **argv, tide_main_fn setup) {
  tide_loop loop;
  int rc = tide_loop_init(&loop, NULL);
  if (rc != 0) return fail("cannot create the loop", rc);
  rc = setup(&loop, argc, argv);
  if (rc != 0) {
    /* Whatever setup started before it failed is not run: the program failed. */
    int close_rc = tide_loop_close(&loop);
    if (close_rc != 0)
      fprintf(stderr, "tideloop: setup left work registered after failing\n");
    return fail("setup failed", rc);
  }
  rc = tide_loop_run(&loop, TIDE_RUN_DEFAULT);
  int code = tide_main_exit_code(&loop);
  if (rc < 0) {
    (void)tide_loop_close(&loop);
    return fail("the loop failed", rc);
  }
  rc = tide_loop_close(&loop);
  if (rc != 0)
    return fail("work was left when the loop ran out (a task awaiting a future nobody "
                "completes, or a handle never closed)",
                rc);
  return code;
}
