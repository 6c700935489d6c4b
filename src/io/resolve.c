/* resolve.c: tide_resolve's portable front, the same on every host.
 *
 * It checks the arguments, answers what needs nobody (a numeric address is
 * itself) and hands any other name to the host's tide__resolve_lookup
 * (resolve.h); a host without a C library resolver answers "localhost" with
 * tide__resolve_localhost, from here. Every answer, whoever
 * found it, is built here into one array of tide_address: numeric text in its
 * canonical form (inet_ntop: "::1", never "0:0:0:0:0:0:0:1"), in the order
 * found, without duplicates, filtered by family, so a program sees the same
 * shape on every host.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"

static void free_block(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

int tide__addr_list_init(tide__addr_list *list, tide_loop *loop, int family, size_t cap) {
  if (cap == 0) cap = 1;
  list->loop = loop;
  list->family = family;
  list->count = 0;
  list->cap = cap;
  list->items = NULL;
  if (cap > SIZE_MAX / sizeof(tide_address)) return TIDE_ENOMEM;
  list->items = tide_loop_alloc(loop, cap * sizeof(tide_address));
  return list->items != NULL ? 0 : TIDE_ENOMEM;
}

void tide__addr_list_add(tide__addr_list *list, int family, const void *raw) {
  assert(family == 4 || family == 6);
  if ((list->family != 0 && family != list->family) || list->count == list->cap) return;
  tide_address a;
  memset(&a, 0, sizeof a); /* the whole block is defined bytes */
  a.family = family;
  /* Cannot fail: host has room for the longest form (INET6_ADDRSTRLEN). */
  if (inet_ntop(family == 4 ? AF_INET : AF_INET6, raw, a.host, sizeof a.host) == NULL)
    return;
  for (size_t i = 0; i < list->count; i++)
    if (list->items[i].family == family && strcmp(list->items[i].host, a.host) == 0)
      return;
  list->items[list->count++] = a;
}

int tide__addr_list_add_text(tide__addr_list *list, const char *text, size_t len) {
  char buf[sizeof(((tide_address *)0)->host)];
  unsigned char raw[16];
  /* A zone ("fe80::1%eth0") is dropped, as natively: tide_address has none. */
  const char *zone = memchr(text, '%', len);
  if (zone != NULL) len = (size_t)(zone - text);
  if (len == 0 || len >= sizeof buf) return TIDE_EINVAL;
  memcpy(buf, text, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET, buf, raw) == 1)
    tide__addr_list_add(list, 4, raw);
  else if (inet_pton(AF_INET6, buf, raw) == 1)
    tide__addr_list_add(list, 6, raw);
  else
    return TIDE_EINVAL;
  return 0;
}

void tide__addr_list_free(tide__addr_list *list) {
  tide_loop_dealloc(list->loop, list->items);
  list->items = NULL;
  list->count = list->cap = 0;
}

void tide__resolve_fail(tide_future *future, int code, const char *host, const char *what) {
  char msg[256];
  size_t n = strlen(host), w = strlen(what);
  if (n > sizeof msg / 2) n = sizeof msg / 2; /* a long name is cut, the reason kept */
  if (w > sizeof msg - n - 3) w = sizeof msg - n - 3;
  memcpy(msg, host, n);
  memcpy(msg + n, ": ", 2);
  memcpy(msg + n + 2, what, w);
  msg[n + 2 + w] = '\0';
  tide_future_set_error(future, code, msg);
}

void tide__addr_list_deliver(tide__addr_list *list, tide_future *future, const char *host) {
  if (list->count == 0) {
    int family = list->family;
    tide__addr_list_free(list);
    tide__resolve_fail(future, TIDE_ENOTFOUND, host,
                       family == 4   ? "no IPv4 address"
                       : family == 6 ? "no IPv6 address"
                                     : "no address");
    return;
  }
  void *data = list->items;
  size_t len = list->count * sizeof(tide_address);
  list->items = NULL;
  list->count = list->cap = 0;
  if (tide_future_set_bytes(future, data, len, free_block, list->loop) != 0)
    tide_loop_dealloc(list->loop, data); /* misuse: someone else completed it */
}

/* Answer now with up to two binary addresses (family 4 or 6; n of them).
 * TIDE_ENOMEM leaves future untouched. */
static int answer_now(tide_loop *loop, const char *host, int family, tide_future *future,
                      const int *families, unsigned char (*raws)[16], size_t n) {
  tide__addr_list list;
  if (tide__addr_list_init(&list, loop, family, n) != 0) return TIDE_ENOMEM;
  for (size_t i = 0; i < n; i++) tide__addr_list_add(&list, families[i], raws[i]);
  tide__addr_list_deliver(&list, future, host);
  return 0;
}

/* "localhost" or "localhost.", in any case. */
static int is_localhost(const char *host) {
  static const char name[] = "localhost";
  size_t i = 0;
  for (; name[i] != '\0'; i++) {
    char c = host[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != name[i]) return 0;
  }
  return host[i] == '\0' || (host[i] == '.' && host[i + 1] == '\0');
}

/* Where no C library resolver could answer (under WASI, and on the JS host: a
 * browser has none, and the C side cannot tell a browser from Node, so both
 * get this answer), RFC 6761 makes "localhost" the loopback, IPv4 first (as
 * /etc/hosts lists it). Natively getaddrinfo answers it from /etc/hosts. */
int tide__resolve_localhost(tide_loop *loop, const char *host, int family,
                            tide_future *future) {
  if (!is_localhost(host)) return TIDE_ENOENT;
  static const unsigned char v4[4] = {127, 0, 0, 1};
  unsigned char raw[2][16];
  int families[2] = {4, 6};
  memcpy(raw[0], v4, sizeof v4);
  memset(raw[1], 0, sizeof raw[1]);
  raw[1][15] = 1; /* ::1 */
  return answer_now(loop, host, family, future, families, raw, 2);
}

int tide_resolve(tide_loop *loop, const char *host, int family, tide_future *future) {
  assert(loop != NULL && future != NULL && !tide_future_done(future));
  if (host == NULL || host[0] == '\0' || (family != 0 && family != 4 && family != 6))
    return TIDE_EINVAL;
  unsigned char raw[2][16];
  int families[2];
  if (inet_pton(AF_INET, host, raw[0]) == 1) {
    families[0] = 4;
    return answer_now(loop, host, family, future, families, raw, 1);
  }
  if (inet_pton(AF_INET6, host, raw[0]) == 1) {
    families[0] = 6;
    return answer_now(loop, host, family, future, families, raw, 1);
  }
  return tide__resolve_lookup(loop, host, family, future);
}
