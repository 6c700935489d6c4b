/* process_reap.c: seeing a native child exit, and reaping it (tide.h,
 * "Subprocesses").
 *
 * Linux (5.3 and later): a pidfd, which polls readable once the child has
 * exited, watched as any fd (so both the epoll and the poll backend serve it).
 * Elsewhere, or when the kernel has no pidfd_open: a tide_signal on SIGCHLD
 * per child. The process-wide handler wakes every loop watching SIGCHLD, and
 * each child's watcher asks waitpid() about its own pid only, so children of
 * other loops, and the program's own (a waitpid of its choosing), are never
 * reaped by mistake, and a tide_signal of the program on SIGCHLD still sees
 * every signal. The price of the fallback is one waitpid per child per
 * SIGCHLD.
 *
 * Until it is reaped a child's pid cannot be reused, so kill() on a child not
 * yet seen to exit always reaches it; the front (process.c) refuses a kill
 * once the exit is seen.
 */
#define _GNU_SOURCE /* syscall() */

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errno_code.h"
#include "process_reap.h"

/* asyncio's returncode for a child someone else reaped (SIGCHLD set to
 * SIG_IGN, or a waitpid(-1) of the program): the status is lost. */
#define LOST_STATUS 255

static int force_sigchld;

void tide__process_force_sigchld(int on) {
  force_sigchld = on;
}

static int use_pidfd(void) {
#ifdef SYS_pidfd_open
  return !force_sigchld;
#else
  return 0;
#endif
}

static void watcher_closed(tide_handle *h) {
  tide_process *p = h->data;
  if (p->host.posix.pidfd >= 0) close(p->host.posix.pidfd);
  p->host.posix.pidfd = -1;
  tide__process_unhold(p);
}

/* Reap the child if it has exited. */
static void check_exit(tide_process *p) {
  if (p->exited) return;
  int status;
  pid_t r;
  do r = waitpid((pid_t)p->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return; /* still running: a SIGCHLD of another child */
  int rc = LOST_STATUS;
  if (r > 0) rc = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
  tide_handle *watcher = p->host.posix.pidfd >= 0 ? &p->host.posix.pidfd_io.handle
                                                  : &p->host.posix.sigchld.handle;
  p->host.posix.watching = 0;
  tide_handle_close(watcher, watcher_closed); /* its hold goes when it is closed */
  tide__process_exited(p, rc);
}

static void on_pidfd(tide_io *io, unsigned events) {
  (void)events;
  check_exit(io->handle.data);
}

static void on_sigchld(tide_signal *sig, int signum) {
  (void)signum;
  check_exit(sig->handle.data);
}

static int start_sigchld(tide_process *p) {
  int rc = tide_signal_init(p->loop, &p->host.posix.sigchld);
  if (rc != 0) return rc;
  p->host.posix.sigchld.handle.data = p;
  rc = tide_signal_start(&p->host.posix.sigchld, on_sigchld, SIGCHLD);
  if (rc != 0) {
    /* The handle lives in p until its close callback has run: a hold keeps p
     * until then (watcher_closed drops it). */
    tide__process_hold(p);
    tide_handle_close(&p->host.posix.sigchld.handle, watcher_closed);
    return rc;
  }
  p->host.posix.watching = 1;
  tide__process_hold(p);
  return 0;
}

int tide__reap_prepare(tide_process *p) {
  p->host.posix.pidfd = -1;
  return use_pidfd() ? 0 : start_sigchld(p);
}

void tide__reap_cancel(tide_process *p) {
  if (!p->host.posix.watching) return;
  p->host.posix.watching = 0;
  tide_handle_close(&p->host.posix.sigchld.handle, watcher_closed);
}

/* The pidfd, watched; -1 if the kernel or the loop cannot. */
static int watch_pidfd(tide_process *p) {
#ifdef SYS_pidfd_open
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)p->pid, 0); /* close-on-exec */
  if (fd < 0) return -1;
  if (tide_io_init(p->loop, &p->host.posix.pidfd_io, fd) != 0) {
    close(fd);
    return -1;
  }
  p->host.posix.pidfd_io.handle.data = p;
  if (tide_io_start(&p->host.posix.pidfd_io, TIDE_READABLE, on_pidfd) != 0) {
    /* As in start_sigchld: p is held until the handle's close callback. */
    close(fd);
    tide__process_hold(p);
    tide_handle_close(&p->host.posix.pidfd_io.handle, watcher_closed);
    return -1;
  }
  p->host.posix.pidfd = fd;
  p->host.posix.watching = 1;
  tide__process_hold(p);
  return 0;
#else
  (void)p;
  return -1;
#endif
}

int tide__reap_watch(tide_process *p) {
  if (p->host.posix.watching) { /* SIGCHLD, since before the spawn */
    check_exit(p);
    return 0;
  }
  if (watch_pidfd(p) == 0) return 0;
  /* No pidfd (an old kernel, or out of fds): SIGCHLD from now on, and one look
   * for an exit that came before the watcher. */
  int rc = start_sigchld(p);
  if (rc == 0) {
    check_exit(p);
    return 0;
  }
  /* Nothing can watch it: end it now rather than leave a zombie behind. */
  kill((pid_t)p->pid, SIGKILL);
  while (waitpid((pid_t)p->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return rc;
}

int tide__process_host_kill(tide_process *p, int signum) {
  assert(!p->exited);
  if (kill((pid_t)p->pid, signum) == 0) return 0;
  return tide__errno_code(errno);
}
