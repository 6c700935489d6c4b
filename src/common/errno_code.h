/* errno_code.h: the one translation of errno values into TIDE_E* codes.
 *
 * Every layer that calls the C library reads errno: the POSIX backends, the
 * WASI backend (wasi-libc's errno values are WASI's own error numbers, so the
 * raw result of a WASI call translates the same way), and the fd streams and
 * sockets of src/io. They all translate through this one table, so an errno
 * means the same TIDE_E* code wherever it surfaces.
 */
#ifndef TIDE_COMMON_ERRNO_CODE_H
#define TIDE_COMMON_ERRNO_CODE_H

/* The TIDE_E* code for errno value err: 0 for 0, TIDE_EUNKNOWN for a value the
 * table does not list. */
int tide__errno_code(int err);

#endif /* TIDE_COMMON_ERRNO_CODE_H */
