/* no_process.c: subprocesses where the host has none (WASI preview1 has no
 * process API): the spawn future fails at once with TIDE_ENOSYS and a message
 * that names the host, as tide.h says. No record ever reaches the user, so the
 * kill below is never called. */
#include "process.h"

int tide__process_host_start(tide_process *p, const tide_process_options *options,
                             tide_future *spawned) {
  (void)options;
  tide_future_set_error(spawned, TIDE_ENOSYS,
                        "no subprocesses under WASI (preview1 has no process API)");
  tide__process_unhold(p);
  return 0;
}

int tide__process_host_kill(tide_process *p, int signum) {
  (void)p;
  (void)signum;
  return TIDE_ENOSYS;
}
