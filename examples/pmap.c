/* pmap.c: a parallel `xargs -P`: run one command per input line, at most N at
 * once, each with a timeout, and print their output in input order.
 *
 *   pmap [-j N] [-t MS] [-k MS] [--] command [arg...] < lines
 *
 *   -j, --jobs N      commands running at once (default 4)
 *   -t, --timeout MS  stop a command that runs longer (default 0: no limit)
 *   -k, --grace MS    after the timeout's SIGTERM, SIGKILL a command that is
 *                     still running MS ms later (default 1000)
 *
 * Each non-blank input line runs `command arg... LINE` (the line is one more
 * argument, as `xargs -d '\n' -n 1`; no shell unless the command is one). Once
 * a command has ended and every command before it has been printed, its stdout
 * goes to stdout and its stderr to stderr, whole, so outputs never interleave
 * and their order is the input order whatever order the commands end in. A
 * command that did not succeed adds one line to stderr:
 *
 *   pmap: line 3 (LINE): exit 2
 *   pmap: line 4 (LINE): killed by signal 9
 *   pmap: line 5 (LINE): timed out after 300 ms (killed by signal 15)
 *   pmap: line 6 (LINE): cannot run: spawn nosuch: no such program
 *
 * and the last line of stderr sums up: "pmap: 6 commands: 2 ok, 4 failed".
 * Exit status: 0 if every command exited 0, 1 if any did not, 2 for a usage
 * error or if pmap itself failed.
 *
 * One source for every host that has processes: natively it is main(); built
 * for the JS host (pmap.wasm), it runs under Node with js/bin/tideloop-run.mjs
 * and node:child_process behind the same calls, with the same output byte for
 * byte (examples/check-pmap.mjs compares them).
 *
 * What it shows:
 * - tide_process_spawn with stdout and stderr piped, and a spawn failure
 *   reported per line rather than ending the program;
 * - tide_process_communicate: both pipes read at once, so a command that fills
 *   its stderr while we wait on its stdout cannot deadlock;
 * - a timeout as asyncio writes it: wait_for on the exit, then
 *   tide_process_stop (SIGTERM, SIGKILL after a grace) and its returncode;
 * - a concurrency limit: the reader awaits a slot before it reads on, so a huge
 *   input is not read (nor run) faster than the commands finish.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

enum {
  DEFAULT_JOBS = 4,
  DEFAULT_GRACE_MS = 1000,
  MAX_LINE = 4096,
  MAX_ARGS = 64,
  MAX_MS = 86400000 /* one day */
};

struct options {
  unsigned jobs;
  uint64_t timeout_ms, grace_ms;
  char **command; /* argv of the command, NULL-terminated (points into main's) */
  int nargs;
};

/* One input line, from read to printed. Jobs form a FIFO in input order; the
 * head leaves once it is done, so output order is input order. */
struct job {
  struct job *next;
  struct app *app;
  unsigned long lineno;
  char *line;
  int done;
  int started;     /* the spawn succeeded */
  int timed_out;
  int returncode;  /* asyncio's: status, or -signal */
  char why[200];   /* why it could not run */
  void *out, *err; /* captured bytes, from the loop's allocator */
  size_t out_len, err_len;
};

struct app {
  tide_loop *loop;
  struct options opt;
  tide_stream *in, *out, *err;
  struct job *head, *tail;
  tide_future *slot_freed;
  unsigned running;
  unsigned long commands, ok, failed;
  int fatal;
};

static void emit(struct app *app, tide_stream *s, const void *data, size_t len) {
  if (len == 0) return;
  int rc = tide_stream_write(s, data, len, NULL);
  if (rc != 0) app->fatal = 1;
}

static void emitf(struct app *app, tide_stream *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void emitf(struct app *app, tide_stream *s, const char *fmt, ...) {
  char buf[MAX_LINE + 512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  emit(app, s, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* --- Printing in input order -------------------------------------------------- */

static void job_free(struct job *job) {
  tide_loop_dealloc(job->app->loop, job->out);
  tide_loop_dealloc(job->app->loop, job->err);
  free(job->line);
  free(job);
}

static void report(struct app *app, struct job *job) {
  emit(app, app->out, job->out, job->out_len);
  emit(app, app->err, job->err, job->err_len);
  const char *line = job->line;
  if (!job->started) {
    emitf(app, app->err, "pmap: line %lu (%s): cannot run: %s\n", job->lineno, line, job->why);
  } else if (job->timed_out) {
    emitf(app, app->err, "pmap: line %lu (%s): timed out after %llu ms (killed by signal %d)\n",
          job->lineno, line, (unsigned long long)app->opt.timeout_ms, -job->returncode);
  } else if (job->returncode < 0) {
    emitf(app, app->err, "pmap: line %lu (%s): killed by signal %d\n", job->lineno, line,
          -job->returncode);
  } else if (job->returncode > 0) {
    emitf(app, app->err, "pmap: line %lu (%s): exit %d\n", job->lineno, line, job->returncode);
  }
  if (job->started && !job->timed_out && job->returncode == 0)
    app->ok++;
  else
    app->failed++;
}

static void flush_done(struct app *app) {
  while (app->head != NULL && app->head->done) {
    struct job *job = app->head;
    app->head = job->next;
    if (app->head == NULL) app->tail = NULL;
    report(app, job);
    job_free(job);
  }
}

static void job_finished(struct job *job) {
  struct app *app = job->app;
  job->done = 1;
  app->running--;
  flush_done(app);
  if (app->slot_freed != NULL) {
    tide_future_set_none(app->slot_freed);
    app->slot_freed = NULL;
  }
}

/* --- One command ----------------------------------------------------------------- */

struct job_frame {
  struct job *job;
  tide_process *proc;
  tide_future spawned, wait, timed, stopped, out, err;
  int rc;
};

/* Move a communicate future's bytes into the job (empty on error). */
static void take_output(tide_future *fut, void **data, size_t *len) {
  if (tide_future_take_bytes(fut, data, len) != 0) {
    *data = NULL;
    *len = 0;
  }
  tide_future_release(fut);
}

static int job_main(tide_task *t, void *frame) {
  struct job_frame *f = frame;
  struct app *app = f->job->app;
  TIDE_BEGIN(t);
  {
    const char *argv[MAX_ARGS + 2];
    int n = 0;
    for (; n < app->opt.nargs; n++) argv[n] = app->opt.command[n];
    argv[n++] = f->job->line;
    argv[n] = NULL;
    tide_process_options o;
    memset(&o, 0, sizeof o);
    o.argv = argv; /* borrowed for the call only */
    o.stdio[0].mode = TIDE_STDIO_NULL;
    o.stdio[1].mode = TIDE_STDIO_PIPE;
    o.stdio[2].mode = TIDE_STDIO_PIPE;
    tide_future_init(app->loop, &f->spawned);
    f->rc = tide_process_spawn(app->loop, &o, &f->spawned);
  }
  if (f->rc == 0) TIDE_AWAIT(t, &f->spawned, f->rc);
  if (f->rc != 0) {
    const char *msg = tide_future_error_message(&f->spawned); /* NULL if never started */
    snprintf(f->job->why, sizeof f->job->why, "%s", msg ? msg : tide_strerror(f->rc));
    tide_future_release(&f->spawned);
    job_finished(f->job);
    TIDE_RETURN(t);
  }
  {
    tide_value v;
    tide_future_result(&f->spawned, &v);
    f->proc = v.as.p;
    tide_future_release(&f->spawned);
  }
  f->job->started = 1;

  /* Both outputs at once, then the exit, within the timeout if there is one. */
  tide_future_init(app->loop, &f->out);
  tide_future_init(app->loop, &f->err);
  f->rc = tide_process_communicate(f->proc, NULL, 0, &f->out, &f->err);
  if (f->rc != 0) {
    tide_future_set_error(&f->out, f->rc, NULL);
    tide_future_set_error(&f->err, f->rc, NULL);
  }
  tide_future_init(app->loop, &f->wait);
  tide_future_init(app->loop, &f->timed);
  f->rc = tide_process_wait(f->proc, &f->wait);
  if (f->rc == 0 && app->opt.timeout_ms > 0)
    f->rc = tide_wait_for(app->loop, &f->wait, (int64_t)app->opt.timeout_ms, &f->timed);
  if (f->rc == 0) TIDE_AWAIT(t, app->opt.timeout_ms > 0 ? &f->timed : &f->wait, f->rc);
  if (f->rc != 0) {
    /* Timed out (or out of memory to wait at all: then pmap has failed, and
     * the command is stopped rather than left behind). asyncio's way:
     * terminate, then kill if it will not go. */
    if (f->rc == TIDE_ETIMEDOUT)
      f->job->timed_out = 1;
    else
      app->fatal = 1;
    tide_future_init(app->loop, &f->stopped);
    f->rc = tide_process_stop(f->proc, app->opt.grace_ms, &f->stopped);
    if (f->rc == 0) TIDE_AWAIT(t, &f->stopped, f->rc);
    tide_future_release(&f->stopped);
  }
  f->job->returncode = 255; /* unknown, if even the stop failed (out of memory) */
  tide_process_returncode(f->proc, &f->job->returncode);
  tide_future_release(&f->timed);
  tide_future_release(&f->wait);

  /* The child has exited; its pipes end once whatever it started has too. */
  TIDE_AWAIT(t, &f->out, f->rc);
  TIDE_AWAIT(t, &f->err, f->rc);
  take_output(&f->out, &f->job->out, &f->job->out_len);
  take_output(&f->err, &f->job->err, &f->job->err_len);
  tide_process_release(f->proc);
  job_finished(f->job);
  TIDE_END(t);
}

/* --- The reader ------------------------------------------------------------------- */

static int start_job(struct app *app, unsigned long lineno, const char *text, size_t len) {
  struct job *job = calloc(1, sizeof *job);
  if (job == NULL || (job->line = malloc(len + 1)) == NULL) {
    free(job);
    return TIDE_ENOMEM;
  }
  memcpy(job->line, text, len);
  job->line[len] = '\0';
  job->app = app;
  job->lineno = lineno;
  struct job_frame init;
  memset(&init, 0, sizeof init);
  init.job = job;
  tide_task *task;
  int rc = tide_task_spawn(app->loop, job_main, &init, sizeof init, &task);
  if (rc != 0) {
    job_free(job);
    return rc;
  }
  tide_task_release(task); /* detached: it reports through the job */
  if (app->tail != NULL)
    app->tail->next = job;
  else
    app->head = job;
  app->tail = job;
  app->running++;
  app->commands++;
  return 0;
}

struct reader_frame {
  struct app *app;
  tide_future line, slot, closed[2];
  unsigned long lineno;
  int rc;
};

static int reader_main(tide_task *t, void *frame) {
  struct reader_frame *f = frame;
  struct app *app = f->app;
  TIDE_BEGIN(t);
  for (;;) {
    while (app->running >= app->opt.jobs) {
      tide_future_init(app->loop, &f->slot);
      app->slot_freed = &f->slot;
      TIDE_AWAIT(t, &f->slot, f->rc);
      app->slot_freed = NULL;
      tide_future_release(&f->slot);
    }
    tide_future_init(app->loop, &f->line);
    f->rc = tide_stream_read_line(app->in, MAX_LINE, &f->line);
    if (f->rc == 0) TIDE_AWAIT(t, &f->line, f->rc);
    f->lineno++;
    if (f->rc == 0) {
      tide_value v;
      tide_future_result(&f->line, &v);
      size_t len = v.as.bytes.len;
      const char *text = v.as.bytes.data;
      if (len > 0 && start_job(app, f->lineno, text, len) != 0) app->fatal = 1;
    } else if (f->rc == TIDE_EMSGSIZE) {
      emitf(app, app->err, "pmap: line %lu: longer than %d bytes, skipped\n", f->lineno,
            MAX_LINE);
      app->failed++;
    }
    tide_future_release(&f->line);
    if (f->rc != 0 && f->rc != TIDE_EMSGSIZE) break; /* TIDE_EOF, or a read error */
  }
  if (f->rc != TIDE_EOF) app->fatal = 1;
  while (app->running > 0) {
    tide_future_init(app->loop, &f->slot);
    app->slot_freed = &f->slot;
    TIDE_AWAIT(t, &f->slot, f->rc);
    app->slot_freed = NULL;
    tide_future_release(&f->slot);
  }
  emitf(app, app->err, "pmap: %lu commands: %lu ok, %lu failed\n", app->commands, app->ok,
        app->failed);
  tide_stream_close(app->in, NULL);
  tide_future_init(app->loop, &f->closed[0]);
  tide_future_init(app->loop, &f->closed[1]);
  tide_stream_close(app->out, &f->closed[0]);
  tide_stream_close(app->err, &f->closed[1]);
  TIDE_AWAIT(t, &f->closed[0], f->rc);
  if (f->rc != 0) app->fatal = 1;
  TIDE_AWAIT(t, &f->closed[1], f->rc);
  tide_future_release(&f->closed[0]);
  tide_future_release(&f->closed[1]);
  tide_main_exit(app->loop, app->fatal ? 2 : app->failed > 0 ? 1 : 0);
  TIDE_END(t);
}

/* --- Options and main -------------------------------------------------------------- */

static int usage(tide_loop *loop, const char *msg) {
  if (msg != NULL) fprintf(stderr, "pmap: %s\n", msg);
  fprintf(stderr, "usage: pmap [-j N] [-t MS] [-k MS] [--] command [arg...] < lines\n");
  tide_main_exit(loop, 2);
  return 0;
}

static int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0') return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > max) return -1;
  }
  if (v < min) return -1;
  *out = v;
  return 0;
}

static int setup(tide_loop *loop, int argc, char **argv) {
  static struct app app;
  app.loop = loop;
  app.opt.jobs = DEFAULT_JOBS;
  app.opt.grace_ms = DEFAULT_GRACE_MS;
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    const char *a = argv[i];
    uint64_t n;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
      if (parse_number(val, 1, 1000, &n) != 0) return usage(loop, "bad --jobs");
      app.opt.jobs = (unsigned)n;
    } else if (strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0) {
      if (parse_number(val, 0, MAX_MS, &n) != 0) return usage(loop, "bad --timeout");
      app.opt.timeout_ms = n;
    } else if (strcmp(a, "-k") == 0 || strcmp(a, "--grace") == 0) {
      if (parse_number(val, 0, MAX_MS, &n) != 0) return usage(loop, "bad --grace");
      app.opt.grace_ms = n;
    } else {
      return usage(loop, "unknown option");
    }
    i += 2; /* the option and its value */
  }
  if (i >= argc) return usage(loop, "no command");
  if (argc - i > MAX_ARGS) return usage(loop, "too many arguments");
  app.opt.command = argv + i;
  app.opt.nargs = argc - i;

  int rc = tide_stream_open(loop, 0, 0, &app.in);
  if (rc == 0) rc = tide_stream_open(loop, 1, 0, &app.out);
  if (rc == 0) rc = tide_stream_open(loop, 2, 0, &app.err);
  struct reader_frame init;
  memset(&init, 0, sizeof init);
  init.app = &app;
  tide_task *reader;
  if (rc == 0) rc = tide_task_spawn(loop, reader_main, &init, sizeof init, &reader);
  if (rc != 0) {
    fprintf(stderr, "pmap: %s\n", tide_strerror(rc));
    tide_main_exit(loop, 2);
    return rc;
  }
  tide_task_release(reader);
  return 0;
}

TIDE_MAIN(setup)
