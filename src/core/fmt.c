/* fmt.c: decimal formatting without stdio (the core makes no libc calls beyond
 * string.h), for task names in every build and for diagnostics and trace
 * labels where those are compiled in. */
#include "internal.h"

/* Digits come out least significant first, so they are reversed. */
size_t tide__fmt_u64(char *buf, uint64_t v) {
  char rev[21];
  size_t n = 0;
  do {
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (size_t i = 0; i < n; i++)
    buf[i] = rev[n - 1 - i];
  buf[n] = '\0';
  return n;
}
