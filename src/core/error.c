/* error.c: names and messages for the fixed TIDE_E* table (one X-macro in tide.h). */
#include "tide.h"

const char *tide_err_name(int code) {
  switch (code) {
#define TIDE__ERR_NAME(name, num, msg) \
  case (num):                          \
    return #name;
    TIDE_ERRNO_MAP(TIDE__ERR_NAME)
#undef TIDE__ERR_NAME
  default:
    return "EUNKNOWN";
  }
}

const char *tide_strerror(int code) {
  switch (code) {
#define TIDE__ERR_MSG(name, num, msg) \
  case (num):                         \
    return msg;
    TIDE_ERRNO_MAP(TIDE__ERR_MSG)
#undef TIDE__ERR_MSG
  default:
    return "unknown error";
  }
}
