/* host_op.c: the helpers of host_op.h. */
#include "host_op.h"

int tide__host_op(tide_loop *loop, tide_future *f, const char *name,
                  const tide_value *args, size_t nargs, tide_future_cb cb, void *ud) {
  tide_future_init(loop, f);
  int rc = tide_future_add_done_callback(f, cb, ud);
  if (rc == 0) rc = tide_host_call(loop, name, args, nargs, f);
  if (rc != 0) tide_future_release(f);
  return rc;
}

int tide__host_code(int rc) {
  return rc == TIDE_ENOENT ? TIDE_ENOSYS : rc;
}

const char *tide__host_message(tide_future *f, int rc, const char *unavailable) {
  return rc == TIDE_ENOENT ? unavailable : tide_future_error_message(f);
}
