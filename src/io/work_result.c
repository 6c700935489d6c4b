/* work_result.c: a job's fn result into its future (work_result.h). */
#include <stdio.h>

#include "work_result.h"

int tide__work_args_ok(tide_work_fn fn, tide_future *future) {
  return fn != NULL && future != NULL && !tide_future_done(future);
}

void tide__work_discard(tide_value *result) {
  if ((result->type == TIDE_VALUE_BYTES || result->type == TIDE_VALUE_STRING ||
       result->type == TIDE_VALUE_JSON) &&
      result->priv_free != NULL)
    result->priv_free(result->as.bytes.data, result->priv_free_ud);
}

void tide__work_deliver(tide_future *future, int rc, tide_value *result) {
  char msg[96];
  if (rc < 0) {
    (void)tide_future_set_error(future, rc, NULL);
    return;
  }
  if (rc > 0) {
    snprintf(msg, sizeof msg,
             "tide_work_fn returned %d (0 or a negative TIDE_E* code expected)", rc);
    (void)tide_future_set_error(future, TIDE_EINVAL, msg);
    return;
  }
  switch (result->type) {
  case TIDE_VALUE_NONE:
    (void)tide_future_set_none(future);
    return;
  case TIDE_VALUE_INT:
    (void)tide_future_set_int(future, result->as.i);
    return;
  case TIDE_VALUE_DOUBLE:
    (void)tide_future_set_double(future, result->as.d);
    return;
  case TIDE_VALUE_PTR:
    (void)tide_future_set_ptr(future, result->as.p);
    return;
  default:
    break;
  }
  tide__work_discard(result);
  snprintf(msg, sizeof msg,
           "tide_work_fn set a result of type %d (NONE, INT, DOUBLE or PTR expected)",
           (int)result->type);
  (void)tide_future_set_error(future, TIDE_EINVAL, msg);
}
