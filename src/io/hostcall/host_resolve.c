/* host_resolve.c: tide_resolve on the JS host, over a host operation.
 *
 * "localhost" is answered in C (resolve.c: a browser has no resolver, and the
 * C side cannot tell a browser from Node). Any other name resolve.c could not
 * answer itself goes to the host function the runtime provides
 * (src/backend/js/ABI.md, "Host functions the runtime provides"):
 *
 *   "tideloop:dns_lookup"(host, family) -> "93.184.215.14 2606:2800:21f:cb07::1"
 *
 * numeric addresses separated by spaces, in the resolver's order (Node:
 * dns.lookup, js/src/dns.mjs). The text is parsed here into the same array of
 * tide_address as on every host (resolve.c: canonical form, no duplicates,
 * filtered by family, so a host that ignores family cannot break the promise).
 * A browser has no DNS API, so there the function is absent: the operation
 * fails with TIDE_ENOENT ("no such host function"), which becomes TIDE_ENOSYS.
 *
 * The lookup owns its host operation's future. Cancelling the caller's future
 * releases that operation (its AbortSignal fires; dns.lookup cannot stop, and
 * whatever it answers is refused), so nothing outlives the cancel.
 */
#include <string.h>

#include "host_op.h"
#include "resolve.h"

#define FN_LOOKUP "tideloop:dns_lookup"

typedef struct host_lookup {
  tide_loop *loop;
  tide_future *future; /* the caller's */
  tide_future op;      /* the host operation */
  int family;
  char host[];
} host_lookup;

/* The answer's addresses, split at spaces, into the caller's future. */
static void deliver_text(host_lookup *l, const char *text, size_t len) {
  size_t count = 0;
  for (size_t i = 0; i < len; i++)
    if (text[i] != ' ' && (i == 0 || text[i - 1] == ' ')) count++;
  tide__addr_list list;
  if (tide__addr_list_init(&list, l->loop, l->family, count) != 0) {
    tide_future_set_error(l->future, TIDE_ENOMEM, NULL);
    return;
  }
  for (size_t i = 0; i < len;) {
    if (text[i] == ' ') {
      i++;
      continue;
    }
    size_t end = i;
    while (end < len && text[end] != ' ') end++;
    if (tide__addr_list_add_text(&list, text + i, end - i) != 0) {
      tide__addr_list_free(&list);
      tide__resolve_fail(l->future, TIDE_EINVAL, l->host,
                         FN_LOOKUP " answered something that is not an address list");
      return;
    }
    i = end;
  }
  tide__addr_list_deliver(&list, l->future, l->host);
}

static void deliver(host_lookup *l) {
  tide_value v;
  int rc = tide_future_result(&l->op, &v);
  if (rc == TIDE_ENOENT) {
    tide__resolve_fail(l->future, TIDE_ENOSYS, l->host,
                       "no name resolution on this host (numeric addresses and "
                       "localhost only)");
  } else if (rc != 0) {
    /* The host's own code (js/src/dns.mjs maps Node's) and message. */
    tide_future_set_error(l->future, rc, tide_future_error_message(&l->op));
  } else if (v.type != TIDE_VALUE_STRING) {
    tide__resolve_fail(l->future, TIDE_EINVAL, l->host,
                       FN_LOOKUP " answered something that is not a string");
  } else {
    deliver_text(l, v.as.bytes.data, v.as.bytes.len);
  }
}

static void on_op_done(tide_future *f, void *ud) {
  host_lookup *l = ud;
  tide_future_set_cancel_hook(l->future, NULL, NULL);
  deliver(l);
  tide_future_release(f);
  tide_loop_dealloc(l->loop, l);
}

/* The caller's future was cancelled or released: end the host operation too
 * (a pending one is aborted; a finished one's answer is dropped). */
static void lookup_cancelled(tide_future *f, void *ud) {
  host_lookup *l = ud;
  (void)f;
  tide_future_remove_done_callback(&l->op, on_op_done, l);
  (void)tide_future_result(&l->op, NULL); /* an error nobody wants is no report */
  tide_future_release(&l->op);
  tide_loop_dealloc(l->loop, l);
}

int tide__resolve_lookup(tide_loop *loop, const char *host, int family,
                         tide_future *future) {
  int rc = tide__resolve_localhost(loop, host, family, future);
  if (rc != TIDE_ENOENT) return rc;
  size_t n = strlen(host);
  host_lookup *l = tide_loop_alloc(loop, sizeof *l + n + 1);
  if (l == NULL) return TIDE_ENOMEM;
  l->loop = loop;
  l->future = future;
  l->family = family;
  memcpy(l->host, host, n + 1);
  tide_value args[2];
  args[0] = tide_value_text(TIDE_VALUE_STRING, host, n);
  args[1] = tide_value_int(family);
  rc = tide__host_op(loop, &l->op, FN_LOOKUP, args, 2, on_op_done, l);
  if (rc != 0) {
    tide_loop_dealloc(loop, l);
    return rc;
  }
  tide_future_set_cancel_hook(future, lookup_cancelled, l);
  return 0;
}
