/* test-real-ws.c (tide-tests on every real backend, native and WASI):
 * WebSocket messages exist only on the JS host (src/io/hostcall/host_ws.c); here every
 * tide_ws_* call returns TIDE_ENOSYS at once (src/io/enosys/no_websocket.c), touches
 * neither its future nor the loop, and allocates nothing, so a program written
 * for the browser links everywhere and learns at run time to use TCP instead.
 * (tide_ws_close is unreachable: no tide_ws can be made here.) */
#include "alloc.h"
#include "test.h"

TEST(ws_connect_is_enosys) {
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_ws_connect(&loop, "ws://127.0.0.1:8080/", &f), TIDE_ENOSYS);
  /* Not even a bad URL gets further: the host has no WebSocket at all. */
  ASSERT_ERR(tide_ws_connect(&loop, "", &f), TIDE_ENOSYS);
  ASSERT_ERR(tide_ws_connect(&loop, NULL, &f), TIDE_ENOSYS);
  /* The future was not taken: still pending, no producer, releasable. */
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(ws_send_and_recv_are_enosys) {
  tide_loop loop;
  tide_future f;
  int binary = 7;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_ws_send(NULL, "hi", 2, 0, &f), TIDE_ENOSYS);
  ASSERT_ERR(tide_ws_send(NULL, "hi", 2, 1, NULL), TIDE_ENOSYS);
  ASSERT_ERR(tide_ws_recv(NULL, 0, &binary, &f), TIDE_ENOSYS);
  ASSERT_EQ(binary, 7); /* nothing stored */
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(ws_enosys_allocates_nothing) {
  tide_loop loop;
  tide_future f;
  test_alloc counting;
  test_alloc_init(&counting);
  tide_loop_options opts = test_alloc_options(&counting);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f);
  size_t before = counting.count;
  ASSERT_ERR(tide_ws_connect(&loop, "ws://127.0.0.1:1/", &f), TIDE_ENOSYS);
  ASSERT_ERR(tide_ws_send(NULL, "x", 1, 0, NULL), TIDE_ENOSYS);
  ASSERT_EQ(counting.count, before);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&counting);
}
