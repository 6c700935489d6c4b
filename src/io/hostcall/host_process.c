/* host_process.c: subprocesses on the JS host, over host functions the runtime
 * provides (under Node: js/src/process.mjs, node:child_process;
 * src/backend/js/ABI.md, "Subprocesses"):
 *
 *   "tideloop:process_spawn"(argv, env, env_mode, cwd, stdio)
 *       argv and env: BYTES, NUL-terminated strings one after the other;
 *       env_mode: TIDE_ENV_*; cwd: STRING, or NONE; stdio: the three
 *       TIDE_STDIO_* modes and fds packed as mode + 4 * (fd + 1), one number
 *       each (see pack_stdio).
 *       -> BYTES: five little-endian int32: id, pid, and the fds of the stdin,
 *          stdout and stderr pipes (-1 where there is none)
 *   "tideloop:process_wait"(id)          -> the returncode, once it has exited
 *   "tideloop:process_kill"(id, signum)
 *
 * The front (../process.c) is the same as natively; what this host changes:
 *
 * - The spawn is a round trip, so the spawn future completes later (natively
 *   at once). Cancelling it aborts the call, and the host kills a child it
 *   had already started (a value C drops is undone: ABI.md).
 * - The pipes are host fds, opened as socket streams (Node's child pipes are
 *   Unix sockets, as natively), so stdin can be half-closed.
 * - The exit is the "process_wait" operation, started as soon as the child
 *   runs: it is the record's exit-watcher hold, and keeps the loop alive.
 * - A kill is a host call whose answer nobody waits for: tide_process_kill
 *   returns 0 once it is asked for (the child's exit then tells).
 * - A host without these functions (a browser) answers "no such host
 *   function", which is TIDE_ENOSYS with a message naming the host. A spawn
 *   whose program is missing is TIDE_ENOENT too, so the two are told apart by
 *   the host's message.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "host_op.h"
#include "host_stream.h"
#include "process.h"

#define FN_SPAWN "tideloop:process_spawn"
#define FN_WAIT "tideloop:process_wait"
#define FN_KILL "tideloop:process_kill"
#define FN_FD_CLOSE "tideloop:fd_close"

#define UNAVAILABLE "no subprocesses on this host (a browser has no processes; in Node, node:child_process)"
/* The start of host-ops.mjs's message for a function nobody registered. */
#define NO_FUNCTION "no host function is registered"

/* A spawn in flight: its record and the caller's future (NULL once the caller
 * cancelled it). The host call itself runs on the record's exit_op, which the
 * wait reuses once the child runs. */
typedef struct spawn_call {
  tide_process *p;
  tide_future *user;
} spawn_call;

/* --- Arguments -------------------------------------------------------------------- */

/* A NULL-terminated string list as one block of NUL-terminated strings. */
static void *pack_strings(tide_loop *loop, const char *const *list, size_t *out_len) {
  size_t n = 0;
  for (const char *const *s = list; s != NULL && *s != NULL; s++) n += strlen(*s) + 1;
  unsigned char *buf = tide_loop_alloc(loop, n > 0 ? n : 1);
  if (buf == NULL) return NULL;
  size_t k = 0;
  for (const char *const *s = list; s != NULL && *s != NULL; s++) {
    size_t len = strlen(*s) + 1;
    memcpy(buf + k, *s, len);
    k += len;
  }
  *out_len = n;
  return buf;
}

static double pack_stdio(const tide_process_options *o, int i) {
  int fd = o->stdio[i].mode == TIDE_STDIO_FD ? o->stdio[i].fd : -1;
  return (double)o->stdio[i].mode + 4.0 * ((double)fd + 1.0);
}

static int32_t le32(const unsigned char *b) {
  return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                   (uint32_t)b[3] << 24);
}

/* --- The exit --------------------------------------------------------------------- */

static void on_exit_op(tide_future *f, void *ud) {
  tide_process *p = ud;
  tide_value v;
  int rc = tide_future_result(f, &v);
  /* A wait that failed (the runtime closed, the host lost the child) leaves
   * the status unknown: asyncio's 255, as natively when it is lost. */
  int returncode = 255;
  if (rc == 0 && v.type == TIDE_VALUE_DOUBLE && v.as.d >= -64 && v.as.d <= 255 &&
      (double)(int)v.as.d == v.as.d)
    returncode = (int)v.as.d;
  tide_future_release(f);
  p->host.js.exit_op_live = 0;
  tide__process_exited(p, returncode);
  tide__process_unhold(p); /* the watcher's hold */
}

static int start_wait(tide_process *p) {
  tide_value id = tide_value_int(p->host.js.id);
  int rc = tide__host_op(p->loop, &p->host.js.exit_op, FN_WAIT, &id, 1, on_exit_op, p);
  if (rc != 0) return rc;
  p->host.js.exit_op_live = 1;
  tide__process_hold(p);
  return 0;
}

/* --- Spawn ------------------------------------------------------------------------ */

static void on_fd_closed(tide_future *f, void *ud) {
  (void)ud;
  (void)tide_future_result(f, NULL); /* as natively, close's error is not reported */
  tide_future_free(f);
}

/* Ask the host to close an fd it handed us that no stream took. Out of memory
 * to ask: the runtime closes it when it closes. */
static void close_host_fd(tide_loop *loop, int fd) {
  tide_future *f;
  if (tide_future_new(loop, &f) != 0) return;
  tide_value args[2] = {tide_value_int(fd), tide_value_int(0)};
  if (tide__host_op(loop, f, FN_FD_CLOSE, args, 2, on_fd_closed, NULL) != 0) tide_future_free(f);
}

static void spawn_cancelled(tide_future *f, void *ud);

/* The spawn is over for the user: complete (or not, if cancelled) and clean up. */
static void spawn_failed(spawn_call *c, int code, const char *message) {
  tide_process *p = c->p;
  if (c->user != NULL) {
    tide_future_set_cancel_hook(c->user, NULL, NULL);
    tide_future_set_error(c->user, code, message);
  }
  for (int i = 0; i < 3; i++)
    if (p->stdio[i] != NULL) tide_stream_abort(p->stdio[i]);
  tide_loop_dealloc(p->loop, c);
  tide__process_unhold(p); /* the user's: the record goes */
}

static void on_spawned(tide_future *f, void *ud) {
  spawn_call *c = ud;
  tide_process *p = c->p;
  tide_value v;
  int rc = tide_future_result(f, &v);
  if (rc != 0) {
    /* f lives in p, which spawn_failed frees: take what it says first. */
    char msg[256] = "";
    const char *m = tide_future_error_message(f);
    int missing = rc == TIDE_ENOENT && m != NULL &&
                  strncmp(m, NO_FUNCTION, sizeof NO_FUNCTION - 1) == 0;
    if (m != NULL) strncpy(msg, m, sizeof msg - 1);
    tide_future_release(f);
    spawn_failed(c, missing ? TIDE_ENOSYS : rc, missing ? UNAVAILABLE : msg[0] ? msg : NULL);
    return;
  }
  int32_t ids[5];
  if (v.type != TIDE_VALUE_BYTES || v.as.bytes.len != sizeof ids) {
    tide_future_release(f);
    spawn_failed(c, TIDE_EINVAL, "process_spawn: the host's answer is not 5 int32");
    return;
  }
  for (int i = 0; i < 5; i++) ids[i] = le32((const unsigned char *)v.as.bytes.data + 4 * i);
  tide_future_release(f);
  p->host.js.id = ids[0];
  p->pid = ids[1];
  /* Watch the exit before anything else can fail, so a child never goes
   * unwatched; the kill below (on failure) then ends it, and the wait lets
   * the host forget it. */
  const char *why = "process_spawn: out of memory to watch the child";
  rc = start_wait(p);
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (ids[2 + i] < 0) continue;
    why = "process_spawn: out of memory for the child's streams";
    rc = tide_stream_open(p->loop, ids[2 + i], TIDE_STREAM_CLOSE_FD | TIDE__STREAM_SOCKET,
                          &p->stdio[i]);
  }
  if (rc == 0 && c->user == NULL) rc = TIDE_ECANCELED; /* cancelled after the answer came */
  if (rc != 0) {
    /* The host's pipes no stream took: closed here, so the host drops them. */
    for (int i = 0; i < 3; i++)
      if (ids[2 + i] >= 0 && p->stdio[i] == NULL) close_host_fd(p->loop, ids[2 + i]);
    (void)tide__process_host_kill(p, TIDE_SIGKILL);
    spawn_failed(c, rc, why);
    return;
  }
  tide__process_own_streams(p);
  tide_future_set_cancel_hook(c->user, NULL, NULL);
  tide_future_set_ptr(c->user, p);
  tide_loop_dealloc(p->loop, c);
}

/* The user gave up on the spawn: abort the host call (the host kills a child
 * that had started), and let the record go once it answers. */
static void spawn_cancelled(tide_future *f, void *ud) {
  spawn_call *c = ud;
  (void)f;
  c->user = NULL;
  tide_future_cancel(&c->p->host.js.exit_op); /* on_spawned runs with ECANCELED */
}

int tide__process_host_start(tide_process *p, const tide_process_options *o,
                             tide_future *spawned) {
  size_t argv_len, env_len;
  spawn_call *c = tide_loop_alloc(p->loop, sizeof *c);
  void *argv = pack_strings(p->loop, o->argv, &argv_len);
  void *env = pack_strings(p->loop, o->env, &env_len);
  int rc = TIDE_ENOMEM;
  if (c != NULL && argv != NULL && env != NULL) {
    c->p = p;
    c->user = spawned;
    tide_value args[7] = {
        tide_value_bytes(argv, argv_len),
        tide_value_bytes(env, env_len),
        tide_value_int(o->env_mode),
        o->cwd != NULL ? tide_value_string(o->cwd) : tide_value_none(),
        tide_value_double(pack_stdio(o, 0)),
        tide_value_double(pack_stdio(o, 1)),
        tide_value_double(pack_stdio(o, 2)),
    };
    /* exit_op carries the spawn first; the wait reuses it afterwards. */
    rc = tide__host_op(p->loop, &p->host.js.exit_op, FN_SPAWN, args, 7, on_spawned, c);
  }
  if (argv != NULL) tide_loop_dealloc(p->loop, argv);
  if (env != NULL) tide_loop_dealloc(p->loop, env);
  if (rc != 0) {
    if (c != NULL) tide_loop_dealloc(p->loop, c);
    return rc;
  }
  tide_future_set_cancel_hook(spawned, spawn_cancelled, c);
  return 0;
}

/* --- Kill ---------------------------------------------------------------------------- */

static void on_killed(tide_future *f, void *ud) {
  (void)ud;
  /* A child that exited meanwhile is ESRCH there: its exit reaches the waits
   * anyway. Anything else (EACCES) nobody else will see: the loop reports it. */
  int rc = tide_future_result(f, NULL);
  if (rc != 0 && rc != TIDE_ESRCH && rc != TIDE_ECANCELED)
    tide_loop_report(tide_future_loop(f), rc, "tide_process_kill", tide_future_error_message(f));
  tide_future_free(f);
}

int tide__process_host_kill(tide_process *p, int signum) {
  tide_future *f;
  int rc = tide_future_new(p->loop, &f);
  if (rc != 0) return rc;
  tide_value args[2] = {tide_value_int(p->host.js.id), tide_value_int(signum)};
  rc = tide__host_op(p->loop, f, FN_KILL, args, 2, on_killed, NULL);
  if (rc != 0) tide_future_free(f);
  return rc;
}
