/* no_signals.c: the signal part of the backend contract for hosts that have no
 * POSIX signals (WASI preview1, the JS host, the fake backend): starting one is
 * TIDE_ENOSYS, so tide_signal_start says so, and there is nothing to stop. */
#include "backend.h"

int tide__backend_signal_start(tide_loop *loop, int signum) {
  (void)loop;
  (void)signum;
  return TIDE_ENOSYS;
}

void tide__backend_signal_stop(tide_loop *loop, int signum) {
  (void)loop;
  (void)signum;
}
