/* no_websocket.c: WebSocket messages natively and under WASI, where tideloop has no
 * WebSocket client: every call returns TIDE_ENOSYS (tide.h, "WebSocket
 * messages"), so a program that uses the API links on every host and learns at
 * run time that it should use TCP there.
 *
 * No tide_ws can exist on these hosts, so tide_ws_send and tide_ws_recv accept
 * any pointer (NULL included) and tide_ws_close is unreachable. On the JS
 * host hostcall/host_ws.c is the implementation.
 */
#include <assert.h>

#include "tide.h"

int tide_ws_connect(tide_loop *loop, const char *url, tide_future *future) {
  assert(loop != NULL && future != NULL);
  (void)loop; /* read only by the assertion: unused under NDEBUG */
  (void)future;
  (void)url;
  return TIDE_ENOSYS;
}

int tide_ws_send(tide_ws *ws, const void *data, size_t len, int binary,
                 tide_future *future) {
  (void)ws;
  (void)data;
  (void)len;
  (void)binary;
  (void)future;
  return TIDE_ENOSYS;
}

int tide_ws_recv(tide_ws *ws, size_t max, int *out_binary, tide_future *future) {
  (void)ws;
  (void)max;
  (void)out_binary;
  (void)future;
  return TIDE_ENOSYS;
}

void tide_ws_close(tide_ws *ws, tide_future *future) {
  (void)ws;
  (void)future;
  assert(0 &&
         "tide_ws_close: no tide_ws exists on this host (tide_ws_connect is ENOSYS)");
}
