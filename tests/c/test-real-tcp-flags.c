/* test-real-tcp-flags.c (tide-tests on every real host: native, WASI, the JS
 * host): tide_tcp_listen_ex's flags. Where listeners cannot share a port the
 * flag fails with TIDE_ENOSYS and a message naming the host, never a listener
 * that ignored it; natively on Linux it works (test-native-loops-threads.c
 * tests the sharing itself). */
#include <string.h>

#include "test.h"

TEST(tcp_listen_ex_reuseport_where_the_host_has_it) {
  tide_loop loop;
  tide_future f;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_tcp_listen_ex(&loop, "127.0.0.1", 0, 0, 0x100u, &f), TIDE_EINVAL);
  ASSERT_OK(tide_tcp_listen_ex(&loop, "127.0.0.1", 0, 0, TIDE_TCP_REUSEPORT, &f));
  /* Every host answers at once: natively the bind is synchronous, elsewhere
   * the refusal needs no round trip. */
  ASSERT(tide_future_done(&f));
#if defined(__wasi__) || defined(TIDE_HOST_JS)
  ASSERT_ERR(tide_future_result(&f, &v), TIDE_ENOSYS);
#ifdef TIDE_HOST_JS /* first: the JS host's toolchain is a WASI one too */
  ASSERT_NOT_NULL(strstr(tide_future_error_message(&f), "JS host"));
#else
  ASSERT_NOT_NULL(strstr(tide_future_error_message(&f), "WASI"));
#endif
#else
  ASSERT_OK(tide_future_result(&f, &v));
  tide_tcp_listener_close(v.as.p);
#endif
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}
