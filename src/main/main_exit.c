/* main_exit.c: the exit code of a TIDE_MAIN program. Kept apart from main.c so
 * that a JS module, which never runs tide_main_run, links no stdio. */
#include "tide.h"

void tide_main_exit(tide_loop *loop, int code) {
  loop->priv_exit_code = code;
}

int tide_main_exit_code(const tide_loop *loop) {
  return loop->priv_exit_code;
}
