/* process_spawn.c: starting a child natively, with posix_spawn (tide.h,
 * "Subprocesses"; the record and its front are in ../process.[ch]).
 *
 * Why posix_spawn and not fork+exec: glibc (and musl) implement it with a
 * vfork-style clone, so starting a child costs the same however much memory
 * this process maps, and the child is never a copy of a multithreaded process
 * running arbitrary code. What fork+exec gives that posix_spawn does not, we do
 * in the parent first:
 *
 * - The PATH search, done here so that it uses the child's PATH (options.env's,
 *   as execvpe does; posix_spawnp would use ours) and so that "no such program"
 *   and "not executable" are told apart (EACCES wins over ENOENT, as execvp).
 * - The fds. Every fd the library makes is close-on-exec, so the child gets only
 *   what is dup2'd onto 0, 1 and 2, plus whatever the program itself left open
 *   without FD_CLOEXEC (as every spawner). Each fd meant for the child is first
 *   duplicated, close-on-exec, to a number >= 3, so that no dup2 can clobber
 *   another source (stdout given as 2 and stderr as 1) and dup2 always clears
 *   close-on-exec on the target (dup2 of a fd onto itself would not).
 * - Pipes are AF_UNIX stream socket pairs, as libuv's: our end is written with
 *   send(MSG_NOSIGNAL) by the stream code, so a child that stops reading gives
 *   TIDE_EPIPE instead of killing this process with SIGPIPE, and the child's
 *   stdin can be half-closed (tide_stream_shutdown) to give it end of input.
 *   Our end is non-blocking (the stream then writes without the 512-byte
 *   chunking it keeps for fds it must not change); the child's end is left
 *   blocking, as a child expects its stdio.
 * - Signals: every signal is at its default action in the child and none is
 *   blocked (posix_spawn's SETSIGDEF and SETSIGMASK), whatever this process
 *   ignores (SIGPIPE) or blocks.
 *
 * The exit watcher (process_reap.c) is prepared before the spawn, since in the
 * SIGCHLD fallback the signal may come before posix_spawn returns.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno_code.h"
#include "process.h"
#include "process_reap.h"

extern char **environ;

/* execvp's PATH when the environment has none. */
#define DEFAULT_PATH "/bin:/usr/bin"

/* What one spawn needs, and what to undo if it fails. */
typedef struct plan {
  tide_loop *loop;
  const tide_process_options *o;
  char *path;            /* the program found in PATH (allocated), or NULL */
  char **envp;           /* allocated, or NULL for environ */
  int ours[3];           /* our ends of the pipes, or -1 */
  int theirs[3];         /* what to dup2 onto 0-2 (close-on-exec, >= 3), or -1 */
  char message[200];     /* why it failed */
} plan;

/* The value of NAME in a "NAME=value" list, or NULL. */
static const char *find_var(const char *const *list, const char *name) {
  size_t n = strlen(name);
  for (; list != NULL && *list != NULL; list++)
    if (strncmp(*list, name, n) == 0 && (*list)[n] == '=') return *list + n + 1;
  return NULL;
}

/* 1 if entry ("NAME=...") sets a name that one of env's entries sets too. */
static int overridden(const char *entry, const char *const *env) {
  const char *eq = strchr(entry, '=');
  size_t n = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
  for (; env != NULL && *env != NULL; env++)
    if (strncmp(*env, entry, n) == 0 && (*env)[n] == '=') return 1;
  return 0;
}

/* The child's environment: environ with env's entries added or replacing, or
 * env alone. The strings are borrowed; only the array is ours. */
static int build_env(plan *pl) {
  const tide_process_options *o = pl->o;
  if (o->env_mode == TIDE_ENV_INHERIT && o->env == NULL) return 0; /* environ */
  size_t n = 0, m = 0;
  if (o->env_mode == TIDE_ENV_INHERIT)
    for (char **e = environ; e != NULL && *e != NULL; e++) n++;
  for (const char *const *e = o->env; e != NULL && *e != NULL; e++) m++;
  pl->envp = tide_loop_alloc(pl->loop, (n + m + 1) * sizeof *pl->envp);
  if (pl->envp == NULL) return TIDE_ENOMEM;
  size_t k = 0;
  if (o->env_mode == TIDE_ENV_INHERIT)
    for (char **e = environ; e != NULL && *e != NULL; e++)
      if (!overridden(*e, o->env)) pl->envp[k++] = *e;
  for (const char *const *e = o->env; e != NULL && *e != NULL; e++)
    pl->envp[k++] = (char *)(uintptr_t)*e;
  pl->envp[k] = NULL;
  return 0;
}

/* The child's PATH: env's when it sets one, else ours (inherit) or execvp's
 * default (replace). */
static const char *child_path(const tide_process_options *o) {
  const char *v = find_var(o->env, "PATH");
  if (v == NULL && o->env_mode == TIDE_ENV_INHERIT) v = getenv("PATH");
  return v != NULL ? v : DEFAULT_PATH;
}

/* Find argv[0] in the child's PATH when it has no '/'. 0 (pl->path set, or
 * left NULL for a name with a '/'), TIDE_ENOENT, TIDE_EACCES or TIDE_ENOMEM. */
static int find_program(plan *pl) {
  const char *file = pl->o->argv[0];
  if (strchr(file, '/') != NULL) return 0;
  const char *path = child_path(pl->o);
  size_t flen = strlen(file);
  char *buf = tide_loop_alloc(pl->loop, strlen(path) + flen + 3);
  if (buf == NULL) return TIDE_ENOMEM;
  int rc = TIDE_ENOENT;
  for (const char *dir = path;; dir++) {
    const char *end = strchr(dir, ':');
    size_t dlen = end != NULL ? (size_t)(end - dir) : strlen(dir);
    if (dlen == 0) { /* an empty entry is the current directory */
      buf[0] = '.';
      dlen = 1;
    } else {
      memcpy(buf, dir, dlen);
    }
    buf[dlen] = '/';
    memcpy(buf + dlen + 1, file, flen + 1);
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(buf, X_OK) == 0) {
        pl->path = buf;
        return 0;
      }
      rc = TIDE_EACCES; /* remembered; a later entry may still be executable */
    }
    if (end == NULL) break;
    dir = end;
  }
  tide_loop_dealloc(pl->loop, buf);
  return rc;
}

/* fd, duplicated close-on-exec to a number >= 3. -1 and errno on failure. */
static int dup_high(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Our end and the child's of each stdio entry. 0 or a TIDE_E* code. */
static int make_stdio(plan *pl) {
  for (int i = 0; i < 3; i++) {
    int mode = pl->o->stdio[i].mode;
    if (mode == TIDE_STDIO_PIPE) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return tide__errno_code(errno);
      pl->ours[i] = sv[0];
      pl->theirs[i] = sv[1];
      int fl = fcntl(sv[0], F_GETFL);
      if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0)
        return tide__errno_code(errno);
    } else if (mode == TIDE_STDIO_NULL) {
      pl->theirs[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (pl->theirs[i] < 0) return tide__errno_code(errno);
    } else if (mode == TIDE_STDIO_FD) {
      pl->theirs[i] = dup_high(pl->o->stdio[i].fd);
      if (pl->theirs[i] < 0) {
        int err = errno;
        snprintf(pl->message, sizeof pl->message, "stdio[%d]: fd %d: %s", i,
                 pl->o->stdio[i].fd, strerror(err));
        return tide__errno_code(err);
      }
      continue;
    } else {
      continue; /* inherit: nothing to do */
    }
    /* With 0-2 closed in this process, a new fd may be one of them. */
    if (pl->theirs[i] < 3) {
      int high = dup_high(pl->theirs[i]);
      if (high < 0) return tide__errno_code(errno);
      close(pl->theirs[i]);
      pl->theirs[i] = high;
    }
  }
  return 0;
}

static void close_fds(int *fds) {
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

/* posix_spawn the child. 0 and p->pid, or a TIDE_E* code. */
static int run(plan *pl, tide_process *p) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int err = posix_spawn_file_actions_init(&fa);
  if (err != 0) return tide__errno_code(err);
  err = posix_spawnattr_init(&attr);
  if (err != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return tide__errno_code(err);
  }
  for (int i = 0; i < 3 && err == 0; i++)
    if (pl->theirs[i] >= 0) err = posix_spawn_file_actions_adddup2(&fa, pl->theirs[i], i);
  if (err == 0 && pl->o->cwd != NULL)
    err = posix_spawn_file_actions_addchdir_np(&fa, pl->o->cwd);
  /* SETSIGDEF over every signal, not only those not at their default: it is
   * also the cheapest. glibc's child (2.36, strace'd for bench W8) makes one
   * rt_sigaction per signal in the set, and for each signal outside it, since
   * all are blocked in the child, a query and a set: 64 system calls with the
   * full set, 121 with SIGPIPE alone, 122 without SETSIGDEF, all while this
   * process waits for the exec. Asking which signals are at their default
   * would cost this process as many calls again. */
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
  if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);
  if (err == 0)
    err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (err == 0) {
    pid_t pid;
    const char *file = pl->path != NULL ? pl->path : pl->o->argv[0];
    char **envp = pl->envp != NULL ? pl->envp : environ;
    err = posix_spawn(&pid, file, &fa, &attr, (char *const *)(uintptr_t)pl->o->argv, envp);
    if (err == 0) p->pid = (int)pid;
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return err == 0 ? 0 : tide__errno_code(err);
}

/* Say which of program and cwd a failed start is about. */
static void explain(plan *pl, int code) {
  if (pl->message[0] != '\0') return;
  const char *cwd = pl->o->cwd;
  struct stat st;
  if (cwd != NULL && (code == TIDE_ENOENT || code == TIDE_EACCES) &&
      (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode) || access(cwd, X_OK) != 0)) {
    snprintf(pl->message, sizeof pl->message, "cwd %.150s: %s", cwd,
             code == TIDE_ENOENT ? "no such directory" : "permission denied");
    return;
  }
  const char *why = code == TIDE_ENOENT    ? "no such program"
                    : code == TIDE_EACCES  ? "not executable (permission denied)"
                    : code == TIDE_ENOEXEC ? "not an executable format"
                                           : tide_strerror(code);
  snprintf(pl->message, sizeof pl->message, "spawn %.150s: %s", pl->o->argv[0], why);
}

int tide__process_host_start(tide_process *p, const tide_process_options *o,
                             tide_future *spawned) {
  plan pl;
  memset(&pl, 0, sizeof pl);
  pl.loop = p->loop;
  pl.o = o;
  for (int i = 0; i < 3; i++) pl.ours[i] = pl.theirs[i] = -1;

  int rc = build_env(&pl);
  if (rc == 0) rc = find_program(&pl);
  if (rc == 0) rc = make_stdio(&pl);
  /* The streams before the child, so that it never exists without them. */
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (pl.ours[i] < 0) continue;
    rc = tide_stream_open(p->loop, pl.ours[i], TIDE_STREAM_CLOSE_FD, &p->stdio[i]);
    if (rc == 0) pl.ours[i] = -1; /* the stream's now */
  }
  if (rc == 0) rc = tide__reap_prepare(p);
  if (rc == 0) {
    rc = run(&pl, p);
    if (rc == 0) {
      rc = tide__reap_watch(p);
      if (rc != 0) snprintf(pl.message, sizeof pl.message, "cannot watch the child's exit");
    } else {
      tide__reap_cancel(p);
    }
  }

  close_fds(pl.theirs); /* the child has its copies (or there is no child) */
  close_fds(pl.ours);
  if (pl.envp != NULL) tide_loop_dealloc(p->loop, pl.envp);
  if (pl.path != NULL) tide_loop_dealloc(p->loop, pl.path);
  if (rc == 0) {
    tide__process_own_streams(p);
    tide_future_set_ptr(spawned, p);
    return 0;
  }
  if (rc == TIDE_ENOMEM && pl.message[0] == '\0' && p->holds == 1) {
    /* Nothing started, nothing to explain, and nothing (no SIGCHLD watcher
     * being closed) still points at p: the caller's future is untouched and
     * the front frees p. */
    for (int i = 0; i < 3; i++)
      if (p->stdio[i] != NULL) tide_stream_close(p->stdio[i], NULL);
    return TIDE_ENOMEM;
  }
  for (int i = 0; i < 3; i++) {
    if (p->stdio[i] != NULL) tide_stream_close(p->stdio[i], NULL);
    p->stdio[i] = NULL;
  }
  explain(&pl, rc);
  tide_future_set_error(spawned, rc, pl.message);
  tide__process_unhold(p);
  return 0;
}
