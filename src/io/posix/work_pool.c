/* work_pool.c: the process's one worker pool (libuv's threadpool): threads,
 * the job queue, the pool's size, the slow class, and the per-loop ports that
 * carry finished jobs back to their loops. The jobs' interface is work_pool.h.
 *
 * This is the library's one piece of process-wide state (docs/ARCHITECTURE.md,
 * "Avoid"): threads are too dear to start per loop. The pool touches no loop
 * of its own accord; it only wakes the loops whose jobs finished.
 *
 * Threads: up to pool.size (4 by default, TIDE_THREADPOOL_SIZE read once at
 * first use, tide_work_set_pool_size at any time), started when queued work
 * outnumbers the idle threads, kept idle on a condition variable otherwise.
 * A thread above pool.size exits instead of taking more work, so shrinking
 * takes effect as running jobs end. Threads run with every signal blocked.
 *
 * The slow class: a slow job (a getaddrinfo that may wait on a DNS server for
 * seconds) is taken only while fewer than slow_max() slow jobs run, half the
 * pool rounded up: slow name servers never hold every thread, as in libuv
 * 1.45+. Otherwise jobs are taken in submit order across both classes.
 *
 * Completion: one port per loop that has jobs outstanding, not one
 * tide_async per job. A loop's wakeup scans all of its async handles, so
 * 10k jobs with 10k handles would cost 10k checks per wakeup (quadratic over
 * a burst); with one port, a worker appends its finished job to the port's
 * list and sends the port's one async, and the loop takes the whole list in
 * one callback. The port is created by the first submit of a loop with
 * nothing outstanding and closed when its count of outstanding jobs drops to
 * zero, so an idle loop holds nothing and closes normally. No core change is
 * needed: a port is a tide_async from the loop's allocator, found through
 * the pool's list of ports (a handful of loops; a linear scan).
 *
 * Lifetimes, all under pool.mu: a worker appends its job and sends the
 * port's async while holding mu; the loop takes mu in the port's callback
 * before it looks at the list, and it closes the port only when every
 * outstanding job has come back through that list. So neither the port (freed
 * from its close callback) nor the loop (which cannot close while the port is
 * registered) can go away while tide_async_send still runs on a worker.
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "work_pool.h"

#define DEFAULT_SIZE 4
#define MAX_SIZE 1024

enum { QUEUED = 1, RUNNING, DONE };

/* A loop's completions. done and link are guarded by pool.mu; outstanding is
 * the loop thread's alone. */
struct tide__work_port {
  tide_async async;   /* ref'd: outstanding jobs keep the loop alive */
  tide_loop *loop;
  tide__qnode link;   /* in pool.ports while open */
  tide__qnode done;   /* DONE jobs not yet completed on the loop */
  size_t outstanding; /* jobs submitted whose complete() has not run */
};

/* Invariants (under mu): fast_queued and slow_queued are the lengths of the
 * two queues; idle <= threads; slow_running counts the RUNNING slow jobs. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t work;
  tide__qnode fast, slow; /* QUEUED jobs, each in submit order */
  size_t fast_queued, slow_queued;
  unsigned size;          /* threads the pool may run */
  unsigned threads;       /* threads alive */
  unsigned idle;          /* threads waiting on `work` */
  unsigned slow_running;
  uint64_t next_seq;
  tide__qnode ports;      /* open ports */
} pool = {PTHREAD_MUTEX_INITIALIZER,
          PTHREAD_COND_INITIALIZER,
          {&pool.fast, &pool.fast},
          {&pool.slow, &pool.slow},
          0,
          0,
          DEFAULT_SIZE,
          0,
          0,
          0,
          0,
          {&pool.ports, &pool.ports}};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* --- Size and setup -------------------------------------------------------- */

/* TIDE_THREADPOOL_SIZE as a decimal number in 1..MAX_SIZE; anything else
 * (empty, signs, spaces, 0, too big) leaves the default, as libuv does. */
static unsigned size_from_env(void) {
  const char *s = getenv("TIDE_THREADPOOL_SIZE");
  if (s == NULL || *s == '\0') return DEFAULT_SIZE;
  unsigned n = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return DEFAULT_SIZE;
    n = n * 10 + (unsigned)(*s - '0');
    if (n > MAX_SIZE) return DEFAULT_SIZE;
  }
  return n == 0 ? DEFAULT_SIZE : n;
}

/* fork(): the child has only the forking thread, so it starts with an empty
 * pool of the same size and starts threads again as its jobs need them. Jobs
 * and ports pending at the fork are copies of the parent's and are never
 * answered in the child (a loop, as in libuv, must not be used across a
 * fork). mu is held across the fork so the child never sees a list half
 * changed. */
static void before_fork(void) {
  pthread_mutex_lock(&pool.mu);
}
static void after_fork_parent(void) {
  pthread_mutex_unlock(&pool.mu);
}
static void after_fork_child(void) {
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.work, NULL);
  tide__q_init(&pool.fast);
  tide__q_init(&pool.slow);
  tide__q_init(&pool.ports);
  pool.fast_queued = pool.slow_queued = 0;
  pool.threads = pool.idle = pool.slow_running = 0;
}

static void init(void) {
  pool.size = size_from_env(); /* before any thread can read it */
  (void)pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Half the pool, rounded up: at least one slow job can always run. */
static unsigned slow_max(void) {
  return (pool.size + 1) / 2;
}

/* Jobs a thread could take right now. Under mu. */
static size_t runnable(void) {
  size_t slow = 0;
  if (pool.slow_running < slow_max()) {
    slow = slow_max() - pool.slow_running;
    if (slow > pool.slow_queued) slow = pool.slow_queued;
  }
  return pool.fast_queued + slow;
}

/* --- The threads ----------------------------------------------------------- */

/* The oldest job a thread may take (a slow one only below slow_max), out of
 * its queue, or NULL. Under mu. */
static tide__job *take(void) {
  tide__job *fast = NULL, *slow = NULL;
  if (!tide__q_empty(&pool.fast)) fast = tide__container_of(pool.fast.next, tide__job, link);
  if (!tide__q_empty(&pool.slow) && pool.slow_running < slow_max())
    slow = tide__container_of(pool.slow.next, tide__job, link);
  tide__job *job = fast == NULL ? slow : slow == NULL || fast->seq < slow->seq ? fast : slow;
  if (job == NULL) return NULL;
  tide__q_remove(&job->link);
  if (job->slow) {
    pool.slow_queued--;
    pool.slow_running++;
  } else {
    pool.fast_queued--;
  }
  job->state = RUNNING;
  return job;
}

/* Hand a DONE job to its loop. Under mu: the send must finish before the loop
 * can take mu (see the top of the file). */
static void post(tide__job *job) {
  job->state = DONE;
  tide__q_insert_tail(&job->port->done, &job->link);
  (void)tide_async_send(&job->port->async);
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pool.mu);
  while (pool.threads <= pool.size) {
    tide__job *job = take();
    if (job == NULL) {
      pool.idle++;
      pthread_cond_wait(&pool.work, &pool.mu);
      pool.idle--;
      continue;
    }
    /* A finished slow job can make another runnable while this thread takes
     * a fast one: wake a sleeper for what is left. */
    if (runnable() > 0 && pool.idle > 0) pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    job->run(job);
    pthread_mutex_lock(&pool.mu);
    if (job->slow) pool.slow_running--;
    job->ran = 1;
    post(job); /* job is the loop's from here: not touched again */
  }
  /* Surplus after a shrink: leave, and let the size count again. */
  pool.threads--;
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

/* A detached worker that runs with every signal blocked, so signals go to the
 * program's threads (tide_signal wakes the loops from any thread anyway, and a
 * blocked getaddrinfo sees no EINTR). 0 or an errno. Under mu. */
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
  if (rc == 0) pool.threads++;
  return rc;
}

/* Start threads while runnable work outnumbers the idle threads and the size
 * allows. Under mu. Returns the last pthread_create error, or 0. */
static int start_threads_for_work(void) {
  int rc = 0;
  size_t want = runnable();
  size_t have = pool.idle;
  while (want > have && pool.threads < pool.size) {
    rc = start_thread();
    if (rc != 0) break;
    have++;
  }
  return rc;
}

/* --- Ports: completions back to the loops ---------------------------------- */

static void port_freed(tide_handle *h) {
  tide__work_port *p = h->data;
  tide_loop_dealloc(p->loop, p);
}

/* Closes p if nothing is outstanding. The loop's thread. */
static void port_release_if_idle(tide__work_port *p) {
  if (p->outstanding != 0) return;
  pthread_mutex_lock(&pool.mu);
  tide__q_remove(&p->link);
  pthread_mutex_unlock(&pool.mu);
  tide_handle_close(&p->async.handle, port_freed);
}

/* Complete every job that came back since the last call, in the order they
 * finished. A complete() may submit more work: that goes to this same port,
 * which stays open while anything is outstanding. */
static void on_port(tide_async *a) {
  tide__work_port *p = a->handle.data;
  tide__qnode batch;
  tide__q_init(&batch);
  pthread_mutex_lock(&pool.mu); /* also waits out a worker's tide_async_send */
  tide__q_move_all(&p->done, &batch);
  pthread_mutex_unlock(&pool.mu);
  while (!tide__q_empty(&batch)) {
    tide__job *job = tide__container_of(batch.next, tide__job, link);
    tide__q_remove(&job->link);
    assert(job->state == DONE);
    p->outstanding--;
    job->complete(job);
  }
  port_release_if_idle(p);
}

/* The loop's open port, or a new one (NULL: out of memory). The loop's thread:
 * only it creates its loop's port, so finding none and adding one is no race. */
static tide__work_port *port_of(tide_loop *loop) {
  tide__work_port *found = NULL;
  pthread_mutex_lock(&pool.mu);
  for (tide__qnode *n = pool.ports.next; n != &pool.ports; n = n->next) {
    tide__work_port *p = tide__container_of(n, tide__work_port, link);
    if (p->loop == loop) {
      found = p;
      break;
    }
  }
  pthread_mutex_unlock(&pool.mu);
  if (found != NULL) return found;
  tide__work_port *p = tide_loop_alloc(loop, sizeof *p);
  if (p == NULL) return NULL;
  p->loop = loop;
  p->outstanding = 0;
  tide__q_init(&p->done);
  int rc = tide_async_init(loop, &p->async, on_port); /* cannot fail: cb given */
  assert(rc == 0);
  (void)rc;
  p->async.handle.data = p;
  pthread_mutex_lock(&pool.mu);
  tide__q_insert_tail(&pool.ports, &p->link);
  pthread_mutex_unlock(&pool.mu);
  return p;
}

/* --- The jobs' interface (work_pool.h) -------------------------------------- */

int tide__job_submit(tide_loop *loop, tide__job *job, int slow) {
  assert(loop != NULL && job != NULL && job->run != NULL && job->complete != NULL);
  pthread_once(&init_once, init);
  tide__work_port *p = port_of(loop);
  if (p == NULL) return TIDE_ENOMEM;
  job->port = p;
  job->slow = slow != 0;
  job->ran = 0;
  pthread_mutex_lock(&pool.mu);
  job->seq = pool.next_seq++;
  job->state = QUEUED;
  tide__q_insert_tail(job->slow ? &pool.slow : &pool.fast, &job->link);
  if (job->slow)
    pool.slow_queued++;
  else
    pool.fast_queued++;
  (void)start_threads_for_work(); /* a failure matters only with no thread */
  int rc = 0;
  if (pool.threads == 0) {
    tide__q_remove(&job->link);
    if (job->slow)
      pool.slow_queued--;
    else
      pool.fast_queued--;
    rc = TIDE_EAGAIN;
  } else {
    pthread_cond_signal(&pool.work);
  }
  pthread_mutex_unlock(&pool.mu);
  if (rc == 0)
    p->outstanding++;
  else
    port_release_if_idle(p);
  return rc;
}

int tide__job_cancel(tide__job *job) {
  pthread_mutex_lock(&pool.mu);
  int queued = job->state == QUEUED;
  if (queued) {
    tide__q_remove(&job->link);
    if (job->slow)
      pool.slow_queued--;
    else
      pool.fast_queued--;
    /* Completed from the port's callback like any other job, so whoever
     * cancelled never sees complete() run inside its call. */
    post(job);
  }
  pthread_mutex_unlock(&pool.mu);
  return queued;
}

/* --- The public size controls ---------------------------------------------- */

unsigned tide_work_pool_size(void) {
  pthread_once(&init_once, init);
  pthread_mutex_lock(&pool.mu);
  unsigned n = pool.size;
  pthread_mutex_unlock(&pool.mu);
  return n;
}

int tide_work_set_pool_size(unsigned threads) {
  if (threads == 0 || threads > MAX_SIZE) return TIDE_EINVAL;
  pthread_once(&init_once, init);
  pthread_mutex_lock(&pool.mu);
  pool.size = threads;
  /* Growing: threads for work that waited (more slow jobs may run too).
   * Shrinking: idle surplus threads wake and leave; busy ones leave when
   * their job ends. Either way every sleeper re-checks. */
  (void)start_threads_for_work();
  pthread_cond_broadcast(&pool.work);
  pthread_mutex_unlock(&pool.mu);
  return 0;
}
