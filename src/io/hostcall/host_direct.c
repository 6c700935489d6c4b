/* host_direct.c: the imports of host_direct.h. They are declared here, not in
 * src/backend/js/imports.c, because only the JS host's streams use them and
 * the I/O layer does not see the backend: the module imports them only if it
 * links host_stream.c (the link drops what nobody calls). */
#include <stdint.h>

#include "host_direct.h"

#define TIDE_DIRECT_IMPORT(name)                                                       \
  __attribute__((import_module("tideloop"), import_name(#name)))

TIDE_DIRECT_IMPORT(fd_read_now)
int32_t tide__js_fd_read_now(tide_loop *loop, int32_t fd, void *at, uint32_t room);
TIDE_DIRECT_IMPORT(fd_write_now)
int32_t tide__js_fd_write_now(tide_loop *loop, int32_t fd, const void *data,
                              uint32_t len);

/* Lengths are u32 in the ABI, and a read's count comes back in an i32: a
 * room past INT32_MAX (a huge line limit) is asked for in part. */
int tide__direct_read(tide_loop *loop, int fd, void *at, size_t room) {
  if (room > INT32_MAX) room = INT32_MAX;
  int32_t n = tide__js_fd_read_now(loop, fd, at, (uint32_t)room);
  /* A host that answers more than it was given room for is broken: the
   * count cannot be trusted, so the stream fails. */
  if (n > 0 && (size_t)n > room) return TIDE_EIO;
  return n;
}

int tide__direct_write(tide_loop *loop, int fd, const void *data, size_t len) {
  if (len > UINT32_MAX) return TIDE_ENOSYS; /* the host operation takes it */
  int32_t r = tide__js_fd_write_now(loop, fd, data, (uint32_t)len);
  if (r > TIDE__DIRECT_DRAIN) return TIDE_EIO; /* not an answer the ABI has */
  return r;
}
