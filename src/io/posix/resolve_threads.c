/* resolve_threads.c: tide_resolve natively: getaddrinfo() on a small pool of
 * resolver threads shared by every loop of the process (libuv's threadpool).
 *
 * The C library's resolver honours /etc/hosts, nsswitch and resolv.conf, but it
 * blocks, so it runs on up to MAX_THREADS threads, started when the first
 * lookups need them and kept (idle, waiting on a condition variable) for the
 * life of the process. This is the library's one piece of process-wide state:
 * threads are too dear to start per loop. It touches no loop of its own accord.
 *
 * A lookup is one block from its loop's allocator: a tide_async, the pool's
 * queue link, the answer, and a copy of the name. Its life:
 *
 *   QUEUED   in the pool's queue; no thread has seen it
 *   RUNNING  a thread took it and is inside getaddrinfo()
 *   DONE     the thread stored the answer and sent the async: it is done with
 *            the block for good
 *
 * The state, the queue and the counts are guarded by pool.mu. The loop's
 * thread alone touches the future and the loop's allocator: the worker only
 * stores getaddrinfo's result (the C library's memory) and wakes the loop,
 * which converts and frees it. The worker sends the async *holding pool.mu*,
 * and the loop thread takes pool.mu in the async's callback before it closes
 * the handle: so neither the block (freed from the close callback) nor the
 * loop (which cannot close while the handle is registered) can go away while
 * tide_async_send still runs on the worker.
 *
 * The async handle is ref'd: a pending lookup keeps the loop alive.
 * Cancelling the future completes it at once. A QUEUED lookup is taken out
 * of the queue and freed; a RUNNING one cannot be interrupted (getaddrinfo has
 * no cancel), so the block stays with its thread, whose answer is dropped when
 * it comes. Until then it still keeps the loop alive and registered, as libuv's
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
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "queue.h"
#include "resolve.h"

/* As libuv's default pool: enough for a few slow lookups not to hold up the
 * rest; the C library's resolver is not worth more. */
#define MAX_THREADS 4

enum { QUEUED = 1, RUNNING, DONE };

typedef struct lookup {
  tide_async async;    /* handle.data points back at the lookup */
  tide__qnode link;    /* in pool.queue while QUEUED */
  tide_loop *loop;
  tide_future *future; /* the caller's; NULL once cancelled */
  int family;          /* 0, 4 or 6 */
  int state;           /* guarded by pool.mu */
  int err;             /* getaddrinfo's result; set with DONE */
  struct addrinfo *res;
  char host[];
} lookup;

/* Invariants (under mu): queued == the length of queue; idle <= threads <=
 * MAX_THREADS, idle counting the threads waiting on `work`. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t work;
  tide__qnode queue;
  size_t queued;
  unsigned threads;
  unsigned idle;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {&pool.queue, &pool.queue},
          0, 0, 0};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* --- The pool (any thread) ---------------------------------------------------- */

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    while (tide__q_empty(&pool.queue)) {
      pool.idle++;
      pthread_cond_wait(&pool.work, &pool.mu);
      pool.idle--;
    }
    lookup *l = tide__container_of(pool.queue.next, lookup, link);
    tide__q_remove(&l->link);
    pool.queued--;
    l->state = RUNNING;
    pthread_mutex_unlock(&pool.mu);

    /* SOCK_STREAM: getaddrinfo would give each address once per socket type. */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = l->family == 4 ? AF_INET : l->family == 6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int err = getaddrinfo(l->host, NULL, &hints, &res);

    pthread_mutex_lock(&pool.mu);
    l->err = err;
    l->res = err == 0 ? res : NULL;
    l->state = DONE;
    /* Under mu, so the loop thread cannot free l or close the loop while the
     * send still runs (on_answer takes mu first). l is not touched again. */
    (void)tide_async_send(&l->async);
  }
  return NULL; /* not reached: a worker serves until the process ends */
}

/* A detached worker that runs with every signal blocked, so signals go to the
 * program's threads (tide_signal wakes the loops from any thread anyway, and a
 * blocked getaddrinfo sees no EINTR). 0 or an errno. Called under mu. */
static int start_thread(void) {
  pthread_attr_t attr;
  int rc = pthread_attr_init(&attr);
  if (rc != 0) return rc;
  (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  rc = pthread_create(&t, &attr, worker, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return rc;
}

/* fork(): the child has only the forking thread, so it starts with an empty
 * pool and starts threads again as its lookups need them. Lookups pending at
 * the fork are copies of the parent's and are never answered in the child (a
 * loop, as in libuv, must not be used across a fork). mu is held across the
 * fork so the child never sees the queue half changed. */
static void before_fork(void) {
  pthread_mutex_lock(&pool.mu);
}
static void after_fork_parent(void) {
  pthread_mutex_unlock(&pool.mu);
}
static void after_fork_child(void) {
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.work, NULL);
  tide__q_init(&pool.queue);
  pool.queued = 0;
  pool.threads = 0;
  pool.idle = 0;
}
static void register_atfork(void) {
  (void)pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Queue l for a thread, starting one if every thread is busy and there is
 * room. 0, or TIDE_EAGAIN when there is no thread at all and none can start
 * (l is then not queued). */
static int submit(lookup *l) {
  pthread_once(&atfork_once, register_atfork);
  pthread_mutex_lock(&pool.mu);
  int rc = 0;
  tide__q_insert_tail(&pool.queue, &l->link);
  pool.queued++;
  l->state = QUEUED;
  if (pool.queued > pool.idle && pool.threads < MAX_THREADS) {
    if (start_thread() == 0) {
      pool.threads++;
    } else if (pool.threads == 0) {
      tide__q_remove(&l->link);
      pool.queued--;
      rc = TIDE_EAGAIN;
    }
  }
  if (rc == 0) pthread_cond_signal(&pool.work);
  pthread_mutex_unlock(&pool.mu);
  return rc;
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

static void lookup_freed(tide_handle *h) {
  lookup *l = h->data;
  tide_loop_dealloc(l->loop, l);
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

static void on_answer(tide_async *a) {
  lookup *l = a->handle.data;
  /* Waits out the worker's tide_async_send, which runs under mu. */
  pthread_mutex_lock(&pool.mu);
  assert(l->state == DONE);
  pthread_mutex_unlock(&pool.mu);
  if (l->future != NULL) {
    tide_future_set_cancel_hook(l->future, NULL, NULL);
    deliver(l);
  }
  if (l->res != NULL) freeaddrinfo(l->res);
  tide_handle_close(&l->async.handle, lookup_freed);
}

/* The future was cancelled or released: it completes now. A lookup no thread
 * has taken ends here; a running one ends when its thread answers. */
static void lookup_cancelled(tide_future *f, void *ud) {
  lookup *l = ud;
  (void)f;
  l->future = NULL;
  pthread_mutex_lock(&pool.mu);
  int queued = l->state == QUEUED;
  if (queued) {
    tide__q_remove(&l->link);
    pool.queued--;
  }
  pthread_mutex_unlock(&pool.mu);
  if (queued) tide_handle_close(&l->async.handle, lookup_freed);
}

int tide__resolve_lookup(tide_loop *loop, const char *host, int family,
                         tide_future *future) {
  size_t n = strlen(host);
  lookup *l = tide_loop_alloc(loop, sizeof *l + n + 1);
  if (l == NULL) return TIDE_ENOMEM;
  memset(l, 0, sizeof *l);
  memcpy(l->host, host, n + 1);
  l->loop = loop;
  l->future = future;
  l->family = family;
  tide__q_init(&l->link);
  int rc = tide_async_init(loop, &l->async, on_answer); /* cannot fail: cb given */
  assert(rc == 0);
  (void)rc;
  l->async.handle.data = l;
  tide_future_set_cancel_hook(future, lookup_cancelled, l);
  if (submit(l) != 0) {
    tide_future_set_cancel_hook(future, NULL, NULL);
    tide_handle_close(&l->async.handle, lookup_freed);
    tide__resolve_fail(future, TIDE_EAGAIN, host, "cannot start a resolver thread");
  }
  return 0;
}
