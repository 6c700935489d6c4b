/* no_host_calls.c: the host-operation part of the backend contract for hosts
 * that have no host functions to call (native and WASI): everything is
 * TIDE_ENOSYS, so tide_host_call() says so instead of waiting forever. */
#include "backend.h"

/* The list, so that bad arguments are refused (TIDE_EINVAL) before the host
 * call is (TIDE_ENOSYS), as on every host. */
int tide__backend_host_wants_list(const tide_value *vals, size_t nvals) {
  (void)vals;
  (void)nvals;
  return 1;
}

int tide__backend_host_call(tide_loop *loop, uint32_t op, const char *name,
                            size_t name_len, const tide_value *vals, size_t nvals,
                            const void *args, size_t args_len) {
  (void)loop;
  (void)vals;
  (void)nvals;
  (void)op;
  (void)name;
  (void)name_len;
  (void)args;
  (void)args_len;
  return TIDE_ENOSYS;
}

void tide__backend_host_cancel(tide_loop *loop, uint32_t op) {
  (void)loop;
  (void)op;
}

void tide__backend_call_done(tide_loop *loop, uint32_t call, int code, const void *data,
                             size_t len) {
  (void)loop;
  (void)call;
  (void)code;
  (void)data;
  (void)len;
}
