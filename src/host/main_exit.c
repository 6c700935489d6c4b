/* main_exit.c: the exit code of a TIDE_MAIN program, and the JS host's default
 * entry point. Kept apart from main.c so that a JS module, which never runs
 * tide_main_run, links no stdio. */
#include "tide.h"

void tide_main_exit(tide_loop *loop, int code) {
  loop->priv_exit_code = code;
}

int tide_main_exit_code(const tide_loop *loop) {
  return loop->priv_exit_code;
}

#ifdef TIDE_HOST_JS
/* A module without TIDE_MAIN still links: the host's rt.main() then fails with
 * TIDE_ENOSYS instead of a missing symbol. */
__attribute__((weak)) int tide__js_user_main(tide_loop *loop, int argc, char **argv) {
  (void)loop;
  (void)argc;
  (void)argv;
  return TIDE_ENOSYS;
}
#endif
