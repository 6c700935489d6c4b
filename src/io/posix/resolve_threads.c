/* resolve_threads.c: tide_resolve natively: getaddrinfo() as a slow job on
 * the process's worker pool (work_pool.h), shared with tide_work_submit.
 *
 * The C library's resolver honours /etc/hosts, nsswitch and resolv.conf, but it
 * blocks, so it runs on a worker thread. Lookups are the pool's slow class:
 * they may hold at most half of its threads, so a name server that does not
 * answer never starves the program's own work.
 *
 * A lookup is one block from its loop's allocator: the pool's job, the answer,
 * and a copy of the name. The worker only stores getaddrinfo's result (the C
 * library's memory); the loop's thread alone touches the future and the loop's
 * allocator, in complete(), which converts the answer and frees both.
 *
 * A pending lookup keeps the loop alive. Cancelling the future completes it at
 * once. A queued lookup leaves the queue and never runs; a running one cannot
 * be interrupted (getaddrinfo has no cancel), so its answer is dropped when it
 * comes. Until then it still keeps the loop alive and registered, as libuv's
 * uv_getaddrinfo does: tide_loop_run(DEFAULT) returns after the last thread
 * using the loop has let go of it, and tide_loop_close then succeeds. The
 * price is that a cancelled lookup of a name whose DNS server does not answer
 * delays the end of the loop until the resolver gives up (resolv.conf's
 * timeout and attempts).
 *
 * Native only: WASI and the JS host have their own lookups (resolve.h).
 */
#define _GNU_SOURCE /* glibc names EAI_NODATA and EAI_ADDRFAMILY only then */

#include <assert.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "resolve.h"
#include "work_pool.h"

typedef struct lookup {
  tide__job job; /* first: the block is the job */
  tide_loop *loop;
  tide_future *future; /* the caller's; NULL once cancelled */
  int family;          /* 0, 4 or 6 */
  int err;             /* getaddrinfo's result, set by the worker */
  struct addrinfo *res;
  char host[];
} lookup;

/* On a worker thread. */
static void run(tide__job *job) {
  lookup *l = (lookup *)job;
  /* SOCK_STREAM: getaddrinfo would give each address once per socket type. */
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = l->family == 4 ? AF_INET : l->family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  l->err = getaddrinfo(l->host, NULL, &hints, &res);
  l->res = l->err == 0 ? res : NULL;
}

/* --- The loop's side (its thread) --------------------------------------------- */

static int error_of(int err) {
  switch (err) {
  case EAI_NONAME:
#ifdef EAI_NODATA
  case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
  case EAI_ADDRFAMILY:
#endif
    return TIDE_ENOTFOUND;
  case EAI_AGAIN:
    return TIDE_EAGAIN;
  case EAI_MEMORY:
    return TIDE_ENOMEM;
  default:
    return TIDE_EIO;
  }
}

/* Complete the future with the thread's answer. */
static void deliver(lookup *l) {
  tide_future *f = l->future;
  if (l->err != 0) {
    tide__resolve_fail(f, error_of(l->err), l->host, gai_strerror(l->err));
    return;
  }
  size_t n = 0;
  for (const struct addrinfo *ai = l->res; ai != NULL; ai = ai->ai_next) n++;
  tide__addr_list list;
  if (tide__addr_list_init(&list, l->loop, l->family, n) != 0) {
    tide_future_set_error(f, TIDE_ENOMEM, NULL);
    return;
  }
  for (const struct addrinfo *ai = l->res; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET)
      tide__addr_list_add(&list, 4, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr);
    else if (ai->ai_family == AF_INET6)
      tide__addr_list_add(&list, 6,
                          &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
  }
  tide__addr_list_deliver(&list, f, l->host);
}

/* On the loop's thread: answered, or taken out of the queue when cancelled. */
static void complete(tide__job *job) {
  lookup *l = (lookup *)job;
  if (l->future != NULL) {
    tide_future_set_cancel_hook(l->future, NULL, NULL);
    deliver(l);
  }
  if (l->res != NULL) freeaddrinfo(l->res);
  tide_loop_dealloc(l->loop, l);
}

/* The future was cancelled or released: it completes now. A queued lookup
 * leaves the queue; either way complete() frees the block from the loop. */
static void lookup_cancelled(tide_future *f, void *ud) {
  lookup *l = ud;
  (void)f;
  l->future = NULL;
  (void)tide__job_cancel(&l->job);
}

int tide__resolve_lookup(tide_loop *loop, const char *host, int family,
                         tide_future *future) {
  size_t n = strlen(host);
  lookup *l = tide_loop_alloc(loop, sizeof *l + n + 1);
  if (l == NULL) return TIDE_ENOMEM;
  memset(l, 0, sizeof *l);
  memcpy(l->host, host, n + 1);
  l->job.run = run;
  l->job.complete = complete;
  l->loop = loop;
  l->future = future;
  l->family = family;
  int rc = tide__job_submit(loop, &l->job, 1);
  if (rc != 0) {
    tide_loop_dealloc(loop, l);
    if (rc == TIDE_ENOMEM) return rc; /* the future is untouched */
    tide__resolve_fail(future, TIDE_EAGAIN, host, "cannot start a resolver thread");
    return 0;
  }
  tide_future_set_cancel_hook(future, lookup_cancelled, l);
  return 0;
}
