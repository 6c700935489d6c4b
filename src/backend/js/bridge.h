/* bridge.h: what the two halves of the JS bridge share (imports.c, the core ->
 * JS direction, and exports.c, the JS -> core one). */
#ifndef TIDE_BACKEND_JS_BRIDGE_H
#define TIDE_BACKEND_JS_BRIDGE_H

#include "tide.h"

/* A tick runs on the time JS passed to tide_js_tick (performance.now(), in ms),
 * so that the loop's clock costs no import call per tick: from begin to end,
 * the backend's clock answers that time (never earlier than a time it gave
 * before: a host's clock that goes back cannot move the loop's back). */
void tide__js_tick_begin(tide_loop *loop, double now_ms);
void tide__js_tick_end(tide_loop *loop);

#endif /* TIDE_BACKEND_JS_BRIDGE_H */
