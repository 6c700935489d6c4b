/* js_host.c: tide_loop_run and tide_loop_stop for the C tests on the JS host
 * (test.h redirects the tests' calls here when TIDE_HOST_JS is defined).
 *
 * The JS host's poll never blocks: asked to wait, it returns TIDE_EAGAIN and
 * tide_loop_run returns that after the iteration (src/backend/js/imports.c).
 * The JS host then arms one host timer for tide_loop_next_timeout and ticks
 * again; a C test cannot yield to JS, so this does the same in place: it waits
 * (spinning on the host's clock, the only clock there) until the next deadline
 * and runs the loop again. What only the JS event loop can deliver (host
 * operation completions) never arrives here: with no deadline to wait for, the
 * run returns TIDE_EAGAIN and the test fails visibly; such tests are listed as
 * skips in tests/c/js-host.skip. */
#include "test.h"

/* The loop a tide_loop_stop was requested for during the current run. */
static tide_loop *stop_requested;

void test_js_loop_stop(tide_loop *loop) {
  stop_requested = loop;
  (tide_loop_stop)(loop);
}

static void wait_until(tide_loop *loop, uint64_t deadline) {
  do {
    tide_loop_update_time(loop);
  } while (tide_loop_now(loop) < deadline);
}

int test_js_loop_run(tide_loop *loop, tide_run_mode mode) {
  if (mode == TIDE_RUN_NOWAIT) return (tide_loop_run)(loop, mode);
  for (;;) {
    /* A stop requested before the run is the loop's own flag: the real run
     * sees it and does not ask to wait. */
    stop_requested = NULL;
    int rc = (tide_loop_run)(loop, mode);
    if (rc != TIDE_EAGAIN) return rc;
    /* The iteration that could not wait has run: a stop asked in it ends the
     * run, as it would have natively. */
    if (stop_requested == loop) {
      stop_requested = NULL;
      return tide_loop_alive(loop);
    }
    /* Time moved on while that iteration ran: what it was to wait for may
     * have run already, and the run is over if nothing is left. */
    if (!tide_loop_alive(loop)) return 0;
    int64_t timeout = tide_loop_next_timeout(loop);
    if (timeout < 0) return rc; /* nothing here could end the wait */
    wait_until(loop, tide_loop_now(loop) + (uint64_t)timeout);
    /* ONCE: the wait was this iteration's poll; run what came due. */
    if (mode == TIDE_RUN_ONCE) return (tide_loop_run)(loop, TIDE_RUN_NOWAIT);
  }
}
