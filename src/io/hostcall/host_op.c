/* host_op.c: the helpers of host_op.h. */
#include "host_op.h"

int tide__host_code(int rc) {
  return rc == TIDE_ENOENT ? TIDE_ENOSYS : rc;
}

const char *tide__host_message(tide_future *f, int rc, const char *unavailable) {
  return rc == TIDE_ENOENT ? unavailable : tide_future_error_message(f);
}
