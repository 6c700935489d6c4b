/* resolve.h: what the halves of tide_resolve share.
 *
 * resolve.c is the portable front: argument checks, numeric addresses, and the
 * result array that every host delivers alike. A name it cannot answer goes to
 * the host's tide__resolve_lookup: the worker pool natively
 * (posix/resolve_threads.c), the host function "tideloop:dns_lookup" on the JS
 * host (hostcall/host_resolve.c), and under WASI, whose preview1 has no
 * resolver, "localhost" or TIDE_ENOSYS (enosys/no_resolver.c).
 */
#ifndef TIDE_IO_RESOLVE_H
#define TIDE_IO_RESOLVE_H

#include <stddef.h>

#include "tide.h"

/* A result being built: up to cap addresses in one block from the loop's
 * allocator (the block the future will own), kept in the order they are added,
 * without duplicates, and only those of `family` (0: both). */
typedef struct tide__addr_list {
  tide_loop *loop;
  int family;
  tide_address *items;
  size_t count, cap;
} tide__addr_list;

/* Room for cap addresses (cap 0 is taken as 1). 0 or TIDE_ENOMEM. */
int tide__addr_list_init(tide__addr_list *list, tide_loop *loop, int family, size_t cap);
/* Add a binary address: family 4 and 4 bytes, or family 6 and 16 bytes. One of
 * the other family, one already there, or one past cap is dropped. */
void tide__addr_list_add(tide__addr_list *list, int family, const void *raw);
/* Add the numeric address text[0..len). 0, or TIDE_EINVAL when it is not one. */
int tide__addr_list_add_text(tide__addr_list *list, const char *text, size_t len);
/* Complete future with the addresses (BYTES, which the future then owns) or,
 * when there are none, TIDE_ENOTFOUND naming host. The list is consumed. */
void tide__addr_list_deliver(tide__addr_list *list, tide_future *future, const char *host);
void tide__addr_list_free(tide__addr_list *list);

/* Fail future with code and the message "<host>: <what>" (host cut if long). */
void tide__resolve_fail(tide_future *future, int code, const char *host, const char *what);

/* For a host without a C library resolver: when host is "localhost" (any
 * case, a trailing dot allowed), complete future with the loopback addresses of
 * family and return 0 (TIDE_ENOMEM: future untouched); for any other name
 * return TIDE_ENOENT and change nothing. */
int tide__resolve_localhost(tide_loop *loop, const char *host, int family,
                            tide_future *future);

/* The host's lookup of a name the front could not answer (host non-empty,
 * family 0, 4 or 6, future pending with no producer). Returns 0 once future is
 * the lookup's (it completes later, or already did), or TIDE_ENOMEM with
 * future untouched. */
int tide__resolve_lookup(tide_loop *loop, const char *host, int family,
                         tide_future *future);

#endif /* TIDE_IO_RESOLVE_H */
