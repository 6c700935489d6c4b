/* posix_common.c: clock, wakeup channel and process-wide signals, shared by the
 * epoll and poll backends (errno is translated in src/common/errno_code.c). */
#define _GNU_SOURCE /* glibc hides pipe2, NSIG and friends under -std=c11 */

#include "posix_common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Linux has eventfd: one fd, one 8-byte counter. Elsewhere (or when a build
 * wants to exercise it on Linux) a nonblocking self-pipe does the same job. */
#if defined(__linux__) && !defined(TIDE_USE_SELF_PIPE)
#include <sys/eventfd.h>
#define USE_EVENTFD 1
#else
#define USE_EVENTFD 0
#endif

#if defined(NSIG)
#define SIG_LIMIT NSIG
#elif defined(_NSIG)
#define SIG_LIMIT _NSIG
#else
#define SIG_LIMIT 65
#endif

#define SEQ __ATOMIC_SEQ_CST

/* ------------------------------------------------------------------------ */
/* Clock, report                                                             */
/* ------------------------------------------------------------------------ */

int tide__posix_timeout(int64_t timeout_ms) {
  if (timeout_ms < 0) return -1;
  return timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
}

uint64_t tide__backend_now(tide_loop *loop) {
  (void)loop;
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t tide__backend_now_us(tide_loop *loop) {
  (void)loop;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tide__backend_report(tide_loop *loop, const char *line) {
  (void)loop;
  /* One writev, so lines from several threads or loops do not interleave. */
  struct iovec iov[2];
  iov[0].iov_base = (void *)(uintptr_t)line;
  iov[0].iov_len = strlen(line);
  iov[1].iov_base = (void *)(uintptr_t) "\n";
  iov[1].iov_len = 1;
  ssize_t r = writev(STDERR_FILENO, iov, 2);
  (void)r; /* nowhere left to report a failing stderr */
}

/* ------------------------------------------------------------------------ */
/* Wakeup channel                                                             */
/* ------------------------------------------------------------------------ */

/* Async-signal-safe: one write(2). EAGAIN means the channel is already
 * readable (pipe full, or eventfd counter huge), which is all a wakeup needs. */
static void wake_write(int fd) {
#if USE_EVENTFD
  uint64_t one = 1;
  ssize_t r = write(fd, &one, sizeof one);
#else
  char one = 0;
  ssize_t r = write(fd, &one, 1);
#endif
  (void)r;
}

static void wake_drain(int fd) {
#if USE_EVENTFD
  uint64_t n;
  ssize_t r = read(fd, &n, sizeof n); /* one read resets the counter */
  (void)r;
#else
  char buf[64];
  while (read(fd, buf, sizeof buf) == (ssize_t)sizeof buf) {
  }
#endif
}

#if !USE_EVENTFD
static int open_pipe(int fds[2]) {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) ||               \
    defined(__OpenBSD__)
  return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
#else
  /* No pipe2 (macOS): a fork+exec racing in another thread may inherit the
   * pipe for a moment; harmless for a wakeup channel. */
  if (pipe(fds) != 0) return -1;
  for (int i = 0; i < 2; i++) {
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) != 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      errno = err;
      return -1;
    }
  }
  return 0;
#endif
}
#endif

int tide__posix_base_init(tide__posix_base *base) {
  base->wake_pending = 0;
  base->sig_slot = -1;
  base->sig_count = 0;
#if USE_EVENTFD
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return tide__errno_code(errno);
  base->wake_rfd = base->wake_wfd = fd;
#else
  int fds[2];
  if (open_pipe(fds) != 0) return tide__errno_code(errno);
  base->wake_rfd = fds[0];
  base->wake_wfd = fds[1];
#endif
  return 0;
}

/* Thread-safe and async-signal-safe. Only the first wakeup since the loop last
 * drained pays for a write: dispatch drains BEFORE it clears wake_pending, so a
 * wakeup racing with it is either seen by that clear or writes again. */
void tide__backend_wakeup(tide_loop *loop) {
  tide__posix_base *base = loop->priv_backend;
  if (__atomic_exchange_n(&base->wake_pending, 1, SEQ) == 0) wake_write(base->wake_wfd);
}

/* ------------------------------------------------------------------------ */
/* Signals: the one piece of process-wide state                              */
/* ------------------------------------------------------------------------ */

/* POSIX dispositions are per process, so a handler must find every loop that
 * watches a signal. A fixed table of rows (one per loop that watches any
 * signal) lives in static storage, so the handler only ever touches memory
 * that cannot be freed under it:
 *   - owner, sig_refs, sig_saved: changed only under sig_lock (never taken by
 *     the handler, so a handler interrupting a lock holder cannot deadlock);
 *   - fd, busy, watch[], pending[]: read and written with atomics, the only
 *     things the handler uses (lock-free atomics are async-signal-safe).
 * The handler sets pending[signum] BEFORE writing the wakeup byte and dispatch
 * drains BEFORE it clears pending[], so coalesced signals are never lost.
 * Before a row's fd may be closed or a flag reset, the releaser clears the
 * flags and waits for busy == 0: a handler that entered the row earlier has
 * then finished, and any later one sees the cleared flags. */
#define SIG_ROWS 64

struct sig_row {
  tide__posix_base *owner;
  int fd;
  int busy;
  unsigned char watch[SIG_LIMIT];
  unsigned char pending[SIG_LIMIT];
};

static struct sig_row sig_rows[SIG_ROWS];
static unsigned sig_refs[SIG_LIMIT];          /* loops watching each signum */
static struct sigaction sig_saved[SIG_LIMIT]; /* disposition to restore */
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int signum) {
  int saved_errno = errno;
  for (int i = 0; i < SIG_ROWS; i++) {
    struct sig_row *row = &sig_rows[i];
    __atomic_add_fetch(&row->busy, 1, SEQ);
    if (__atomic_load_n(&row->watch[signum], SEQ)) {
      __atomic_store_n(&row->pending[signum], 1, SEQ);
      wake_write(__atomic_load_n(&row->fd, SEQ));
    }
    __atomic_sub_fetch(&row->busy, 1, SEQ);
  }
  errno = saved_errno;
}

/* Wait out handlers that entered the row before its flags were cleared. They
 * never block, so this spins for at most a few instructions in practice. */
static void wait_quiet(struct sig_row *row) {
  while (__atomic_load_n(&row->busy, SEQ) != 0)
    sched_yield();
}

static void release_row(tide__posix_base *base) {
  struct sig_row *row = &sig_rows[base->sig_slot];
  __atomic_store_n(&row->fd, -1, SEQ);
  wait_quiet(row);
  row->owner = NULL;
  base->sig_slot = -1;
}

static int signal_start_locked(tide__posix_base *base, int signum) {
  if (base->sig_slot < 0) {
    int i = 0;
    while (i < SIG_ROWS && sig_rows[i].owner != NULL)
      i++;
    if (i == SIG_ROWS) return TIDE_ENOSPC; /* more than SIG_ROWS loops watch signals */
    sig_rows[i].owner = base;
    __atomic_store_n(&sig_rows[i].fd, base->wake_wfd, SEQ);
    base->sig_slot = i;
  }
  struct sig_row *row = &sig_rows[base->sig_slot];
  if (__atomic_load_n(&row->watch[signum], SEQ)) return 0;
  if (sig_refs[signum] == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(signum, &sa, &sig_saved[signum]) != 0) {
      int rc = tide__errno_code(errno); /* EINVAL: a signal libc reserves */
      if (base->sig_count == 0) release_row(base);
      return rc;
    }
  }
  sig_refs[signum]++;
  __atomic_store_n(&row->pending[signum], 0, SEQ);
  __atomic_store_n(&row->watch[signum], 1, SEQ);
  base->sig_count++;
  return 0;
}

static void signal_stop_locked(tide__posix_base *base, int signum) {
  if (base->sig_slot < 0) return;
  struct sig_row *row = &sig_rows[base->sig_slot];
  if (!__atomic_load_n(&row->watch[signum], SEQ)) return;
  __atomic_store_n(&row->watch[signum], 0, SEQ);
  wait_quiet(row);
  __atomic_store_n(&row->pending[signum], 0, SEQ); /* no stale report on restart */
  /* The last loop out puts back what was there before the first came in. */
  if (--sig_refs[signum] == 0) sigaction(signum, &sig_saved[signum], NULL);
  if (--base->sig_count == 0) release_row(base);
}

static int valid_signum(int signum) {
  return signum > 0 && signum < SIG_LIMIT && signum != SIGKILL && signum != SIGSTOP;
}

int tide__backend_signal_start(tide_loop *loop, int signum) {
  if (!valid_signum(signum)) return TIDE_EINVAL;
  pthread_mutex_lock(&sig_lock);
  int rc = signal_start_locked(loop->priv_backend, signum);
  pthread_mutex_unlock(&sig_lock);
  return rc;
}

void tide__backend_signal_stop(tide_loop *loop, int signum) {
  if (!valid_signum(signum)) return;
  pthread_mutex_lock(&sig_lock);
  signal_stop_locked(loop->priv_backend, signum);
  pthread_mutex_unlock(&sig_lock);
}

/* ------------------------------------------------------------------------ */
/* Dispatch and close                                                         */
/* ------------------------------------------------------------------------ */

void tide__posix_base_dispatch(tide_loop *loop, tide__posix_base *base) {
  wake_drain(base->wake_rfd);
  if (__atomic_exchange_n(&base->wake_pending, 0, SEQ))
    tide__loop_wakeup_received(loop);
  /* A callback may stop this loop's signals (even release its row, and another
   * thread may then claim it), so the row is looked up again for every signum. */
  for (int s = 1; s < SIG_LIMIT && base->sig_slot >= 0; s++) {
    struct sig_row *row = &sig_rows[base->sig_slot];
    if (__atomic_load_n(&row->pending[s], __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&row->pending[s], 0, SEQ))
      tide__loop_signal_received(loop, s);
  }
}

void tide__posix_base_close(tide__posix_base *base) {
  if (base->sig_slot >= 0) {
    /* The core stops every signal before closing; this only guards the table
     * against a row pointing at a closed fd if it did not. */
    pthread_mutex_lock(&sig_lock);
    for (int s = 1; s < SIG_LIMIT && base->sig_slot >= 0; s++)
      signal_stop_locked(base, s);
    pthread_mutex_unlock(&sig_lock);
  }
  close(base->wake_rfd);
  if (base->wake_wfd != base->wake_rfd) close(base->wake_wfd);
}
