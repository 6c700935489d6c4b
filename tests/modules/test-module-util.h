/* test-module-util.h: what the JS-host test modules (test-module.c and the
 * net, udp and ws ones) share: reading an exported coroutine's arguments, and
 * exporting a table of coroutines. Header-only (static functions): each module
 * is its own program, built by tide_add_js_module from one source. */
#ifndef TIDE_WASM_TEST_MODULE_UTIL_H
#define TIDE_WASM_TEST_MODULE_UTIL_H

#include <stddef.h>

#include "tide.h"

/* Argument i of the call, or NULL past the last. */
static inline const tide_value *arg(tide_task *t, size_t i) {
  const tide_value *args;
  size_t n;
  tide_task_args(t, &args, &n);
  return i < n ? &args[i] : NULL;
}

/* Argument i as an int (JS numbers arrive as doubles), or dflt. */
static inline int num(tide_task *t, size_t i, double dflt) {
  const tide_value *v = arg(t, i);
  return v != NULL && v->type == TIDE_VALUE_DOUBLE ? (int)v->as.d : (int)dflt;
}

/* Argument i as a NUL-terminated string, or NULL. */
static inline const char *str(tide_task *t, size_t i) {
  const tide_value *v = arg(t, i);
  return v != NULL && v->type == TIDE_VALUE_STRING ? v->as.bytes.data : NULL;
}

typedef struct test_export {
  const char *name;
  tide_task_fn fn;
  size_t frame_size;
} test_export;

/* Export every coroutine of the table: 0 or the first error. */
static inline int export_all(tide_loop *loop, const test_export *table, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = tide_export_task(loop, table[i].name, table[i].fn, table[i].frame_size);
    if (rc != 0) return rc;
  }
  return 0;
}

#endif /* TIDE_WASM_TEST_MODULE_UTIL_H */
