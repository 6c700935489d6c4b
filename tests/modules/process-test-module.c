/* process-test-module.c: the module tests/js/process.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-process-test-module.wasm:
 * subprocesses on the JS host (src/io/hostcall/host_process.c over
 * js/src/process.mjs). Its TIDE_MAIN setup exports:
 *
 *   sh(line, [timeout_ms], [grace_ms], [input])
 *       runs /bin/sh -c line with stdin, stdout and stderr piped, sends input
 *       (a string, then end of input), collects both outputs at once
 *       (communicate); past timeout_ms (0: none) stops the child with
 *       tide_process_stop(grace_ms). Returns JSON {"rc": returncode,
 *       "timedOut": 0|1, "out": stdout bytes, "err": stderr bytes,
 *       "outSum": checksum, "errSum": checksum} (checksum: sum of byte *
 *       (index % 251 + 1), mod 2^32)
 *   sh_out(line)          stdout of /bin/sh -c line, as bytes
 *   spawn(program, [cwd]) spawns program (no args) and waits: its returncode,
 *                         or the spawn's error (code and message) as thrown
 *   statuses(n)           n children at once: child i exits with i % 256, every
 *                         tenth is killed by signal 9 instead; returns how
 *                         many returncodes were right (an error names the
 *                         first wrong one)
 *   epipe(bytes)          writes bytes to the stdin of a child that exited
 *                         without reading: the write's error code
 *   cancel_spawn()        cancels the spawn of `sleep 30` at once: the spawn
 *                         future's state (TIDE_FUTURE_CANCELLED is 3)
 *   kill_after_exit()     tide_process_kill's code after the exit (ESRCH)
 *   wait_cancelled()      cancels a wait on `sleep 0.2`: the child is not
 *                         killed, and a second wait returns its returncode
 */
#include <stdio.h>
#include <string.h>

#include "test-module-util.h"
#include "tide.h"

static tide_loop *the_loop;

static uint32_t checksum(const unsigned char *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; i++) s += (uint32_t)p[i] * (uint32_t)(i % 251 + 1);
  return s;
}

/* Spawn /bin/sh -c line with the given stdio modes into *spawned. */
static int spawn_sh(const char *line, int in, int out, int err, tide_future *spawned) {
  const char *argv[] = {"/bin/sh", "-c", line, NULL};
  tide_process_options o;
  memset(&o, 0, sizeof o);
  o.argv = argv;
  o.stdio[0].mode = in;
  o.stdio[1].mode = out;
  o.stdio[2].mode = err;
  tide_future_init(the_loop, spawned);
  return tide_process_spawn(the_loop, &o, spawned);
}

static tide_process *process_of(tide_future *spawned) {
  tide_value v;
  (void)tide_future_result(spawned, &v);
  tide_future_release(spawned);
  return v.as.p;
}

/* --- sh ---------------------------------------------------------------------------- */

typedef struct sh_frame {
  tide_future spawned, out, err, wait, timed, stopped;
  tide_process *p;
  int rc, timed_out;
  char json[256];
} sh_frame;

static int sh_main(tide_task *t, void *frame) {
  sh_frame *f = frame;
  const char *line = str(t, 0);
  int timeout = num(t, 1, 0), grace = num(t, 2, 1000);
  const char *input = str(t, 3);
  TIDE_BEGIN(t);
  if (line == NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "sh(line)");
  f->rc = spawn_sh(line, TIDE_STDIO_PIPE, TIDE_STDIO_PIPE, TIDE_STDIO_PIPE, &f->spawned);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, tide_future_error_message(&f->spawned));
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->out);
  tide_future_init(the_loop, &f->err);
  f->rc = tide_process_communicate(f->p, input, input ? strlen(input) : 0, &f->out, &f->err);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "communicate");
  tide_future_init(the_loop, &f->wait);
  tide_future_init(the_loop, &f->timed);
  f->rc = tide_process_wait(f->p, &f->wait);
  if (f->rc == 0 && timeout > 0) f->rc = tide_wait_for(the_loop, &f->wait, timeout, &f->timed);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "wait");
  TIDE_AWAIT(t, timeout > 0 ? &f->timed : &f->wait, f->rc);
  if (f->rc == TIDE_ETIMEDOUT) {
    f->timed_out = 1;
    tide_future_init(the_loop, &f->stopped);
    f->rc = tide_process_stop(f->p, (uint64_t)grace, &f->stopped);
    if (f->rc == 0) TIDE_AWAIT(t, &f->stopped, f->rc);
    tide_future_release(&f->stopped);
  }
  tide_future_release(&f->timed);
  tide_future_release(&f->wait);
  TIDE_AWAIT(t, &f->out, f->rc);
  TIDE_AWAIT(t, &f->err, f->rc);
  {
    int rc = -1000;
    tide_value o, e;
    (void)tide_process_returncode(f->p, &rc);
    if (tide_future_result(&f->out, &o) != 0 || tide_future_result(&f->err, &e) != 0)
      TIDE_RETURN_ERROR(t, TIDE_EIO, "reading the outputs failed");
    snprintf(f->json, sizeof f->json,
             "{\"rc\":%d,\"timedOut\":%d,\"out\":%zu,\"err\":%zu,\"outSum\":%u,\"errSum\":%u}", rc,
             f->timed_out, o.as.bytes.len, e.as.bytes.len,
             checksum(o.as.bytes.data, o.as.bytes.len), checksum(e.as.bytes.data, e.as.bytes.len));
    tide_future_release(&f->out);
    tide_future_release(&f->err);
    tide_process_release(f->p);
    tide_value v = tide_value_json(f->json);
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

typedef struct out_frame {
  tide_future spawned, out;
  tide_process *p;
  int rc;
} out_frame;

static void dealloc_bytes(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

static int sh_out_main(tide_task *t, void *frame) {
  out_frame *f = frame;
  TIDE_BEGIN(t);
  if (str(t, 0) == NULL) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "sh_out(line)");
  f->rc = spawn_sh(str(t, 0), TIDE_STDIO_NULL, TIDE_STDIO_PIPE, TIDE_STDIO_INHERIT, &f->spawned);
  if (f->rc == 0) TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, tide_future_error_message(&f->spawned));
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->out);
  f->rc = tide_process_communicate(f->p, NULL, 0, &f->out, NULL);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "communicate");
  TIDE_AWAIT(t, &f->out, f->rc);
  tide_process_release(f->p); /* killed if it still runs: its output is all we want */
  {
    void *data = NULL;
    size_t len = 0;
    f->rc = tide_future_take_bytes(&f->out, &data, &len);
    tide_future_release(&f->out);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "no output");
    TIDE_RETURN_BYTES(t, data, len, dealloc_bytes, the_loop);
  }
  TIDE_END(t);
}

/* --- spawn errors ------------------------------------------------------------------- */

typedef struct spawn_frame {
  tide_future spawned, wait;
  tide_process *p;
  int rc;
  char msg[256];
} spawn_frame;

static int spawn_main(tide_task *t, void *frame) {
  spawn_frame *f = frame;
  TIDE_BEGIN(t);
  {
    const char *argv[] = {str(t, 0), NULL};
    tide_process_options o;
    memset(&o, 0, sizeof o);
    o.argv = argv;
    o.cwd = str(t, 1);
    o.stdio[0].mode = TIDE_STDIO_NULL;
    o.stdio[1].mode = TIDE_STDIO_NULL;
    tide_future_init(the_loop, &f->spawned);
    f->rc = tide_process_spawn(the_loop, &o, &f->spawned);
  }
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "refused at once");
  TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) {
    snprintf(f->msg, sizeof f->msg, "%s", tide_future_error_message(&f->spawned));
    tide_future_release(&f->spawned);
    TIDE_RETURN_ERROR(t, f->rc, f->msg);
  }
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->wait);
  tide_process_wait(f->p, &f->wait);
  TIDE_AWAIT(t, &f->wait, f->rc);
  {
    tide_value v;
    tide_future_result(&f->wait, &v);
    tide_future_release(&f->wait);
    tide_process_release(f->p);
    TIDE_RETURN_INT(t, v.as.i);
  }
  TIDE_END(t);
}

/* --- statuses --------------------------------------------------------------------------- */

typedef struct statuses_frame {
  int n, i, right;
  tide_future *spawned, *waits;
  tide_process **procs;
  char line[64];
  int rc;
} statuses_frame;

static int want_status(int i) {
  return i % 10 == 9 ? -9 : i % 256;
}

static int statuses_main(tide_task *t, void *frame) {
  statuses_frame *f = frame;
  TIDE_BEGIN(t);
  f->n = num(t, 0, 10);
  f->spawned = tide_loop_alloc(the_loop, (size_t)f->n * sizeof *f->spawned);
  f->waits = tide_loop_alloc(the_loop, (size_t)f->n * sizeof *f->waits);
  f->procs = tide_loop_alloc(the_loop, (size_t)f->n * sizeof *f->procs);
  if (f->spawned == NULL || f->waits == NULL || f->procs == NULL)
    TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "statuses");
  for (f->i = 0; f->i < f->n; f->i++) {
    if (f->i % 10 == 9)
      snprintf(f->line, sizeof f->line, "kill -9 $$");
    else
      snprintf(f->line, sizeof f->line, "exit %d", f->i % 256);
    f->rc = spawn_sh(f->line, TIDE_STDIO_NULL, TIDE_STDIO_NULL, TIDE_STDIO_NULL,
                     &f->spawned[f->i]);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  }
  /* Every spawn is in flight at once; then every child runs at once. */
  for (f->i = 0; f->i < f->n; f->i++) {
    TIDE_AWAIT(t, &f->spawned[f->i], f->rc);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, tide_future_error_message(&f->spawned[f->i]));
    f->procs[f->i] = process_of(&f->spawned[f->i]);
    tide_future_init(the_loop, &f->waits[f->i]);
    if (tide_process_wait(f->procs[f->i], &f->waits[f->i]) != 0)
      TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "wait");
  }
  for (f->i = 0; f->i < f->n; f->i++) {
    TIDE_AWAIT(t, &f->waits[f->i], f->rc);
    {
      tide_value v;
      tide_future_result(&f->waits[f->i], &v);
      tide_future_release(&f->waits[f->i]);
      tide_process_release(f->procs[f->i]);
      if (v.as.i != want_status(f->i)) {
        snprintf(f->line, sizeof f->line, "child %d: %lld, want %d", f->i, (long long)v.as.i,
                 want_status(f->i));
        TIDE_RETURN_ERROR(t, TIDE_EIO, f->line);
      }
      f->right++;
    }
  }
  tide_loop_dealloc(the_loop, f->spawned);
  tide_loop_dealloc(the_loop, f->waits);
  tide_loop_dealloc(the_loop, f->procs);
  TIDE_RETURN_INT(t, f->right);
  TIDE_END(t);
}

/* --- pipes and handles ---------------------------------------------------------------- */

typedef struct misc_frame {
  tide_future spawned, wait, write, again;
  tide_process *p;
  int rc;
  unsigned char *junk;
} misc_frame;

static int epipe_main(tide_task *t, void *frame) {
  misc_frame *f = frame;
  TIDE_BEGIN(t);
  f->rc = spawn_sh("exit 0", TIDE_STDIO_PIPE, TIDE_STDIO_NULL, TIDE_STDIO_NULL, &f->spawned);
  if (f->rc == 0) TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->wait);
  tide_process_wait(f->p, &f->wait);
  TIDE_AWAIT(t, &f->wait, f->rc);
  tide_future_release(&f->wait);
  {
    size_t n = (size_t)num(t, 0, 1 << 20);
    f->junk = tide_loop_alloc(the_loop, n);
    if (f->junk == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "junk");
    memset(f->junk, 'j', n);
    tide_future_init(the_loop, &f->write);
    f->rc = tide_stream_write(tide_process_stdin(f->p), f->junk, n, &f->write);
    tide_loop_dealloc(the_loop, f->junk);
    if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "write");
  }
  TIDE_AWAIT(t, &f->write, f->rc);
  tide_future_release(&f->write);
  tide_stream_close(tide_process_stdin(f->p), NULL);
  tide_process_release(f->p);
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

static int cancel_spawn_main(tide_task *t, void *frame) {
  misc_frame *f = frame;
  TIDE_BEGIN(t);
  f->rc = spawn_sh("exec sleep 30", TIDE_STDIO_NULL, TIDE_STDIO_PIPE, TIDE_STDIO_NULL,
                   &f->spawned);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  tide_future_cancel(&f->spawned);
  f->rc = (int)tide_future_state_get(&f->spawned);
  tide_future_release(&f->spawned);
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

static int kill_after_exit_main(tide_task *t, void *frame) {
  misc_frame *f = frame;
  TIDE_BEGIN(t);
  f->rc = spawn_sh("exit 4", TIDE_STDIO_NULL, TIDE_STDIO_NULL, TIDE_STDIO_NULL, &f->spawned);
  if (f->rc == 0) TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->wait);
  tide_process_wait(f->p, &f->wait);
  TIDE_AWAIT(t, &f->wait, f->rc);
  tide_future_release(&f->wait);
  f->rc = tide_process_kill(f->p, TIDE_SIGTERM);
  tide_process_release(f->p);
  TIDE_RETURN_INT(t, f->rc);
  TIDE_END(t);
}

static int wait_cancelled_main(tide_task *t, void *frame) {
  misc_frame *f = frame;
  TIDE_BEGIN(t);
  f->rc = spawn_sh("sleep 0.2; exit 6", TIDE_STDIO_NULL, TIDE_STDIO_NULL, TIDE_STDIO_NULL,
                   &f->spawned);
  if (f->rc == 0) TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "spawn");
  f->p = process_of(&f->spawned);
  tide_future_init(the_loop, &f->wait);
  tide_process_wait(f->p, &f->wait);
  tide_future_cancel(&f->wait);
  tide_future_release(&f->wait);
  tide_future_init(the_loop, &f->again);
  tide_process_wait(f->p, &f->again);
  TIDE_AWAIT(t, &f->again, f->rc);
  {
    tide_value v;
    tide_future_result(&f->again, &v);
    tide_future_release(&f->again);
    tide_process_release(f->p);
    TIDE_RETURN_INT(t, v.as.i);
  }
  TIDE_END(t);
}

static const test_export exports[] = {
    {"sh", sh_main, sizeof(sh_frame)},
    {"sh_out", sh_out_main, sizeof(out_frame)},
    {"spawn", spawn_main, sizeof(spawn_frame)},
    {"statuses", statuses_main, sizeof(statuses_frame)},
    {"epipe", epipe_main, sizeof(misc_frame)},
    {"cancel_spawn", cancel_spawn_main, sizeof(misc_frame)},
    {"kill_after_exit", kill_after_exit_main, sizeof(misc_frame)},
    {"wait_cancelled", wait_cancelled_main, sizeof(misc_frame)},
};

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  the_loop = loop;
  return export_all(loop, exports, sizeof exports / sizeof exports[0]);
}

TIDE_MAIN(setup)
