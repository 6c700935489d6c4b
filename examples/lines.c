/* lines.c: the flagship example: a small job runner that reads commands from
 * stdin, runs each line as its own task with a timeout, at most N at a time, and
 * prints one result per line in input order, then a summary.
 *
 *   lines [-j N] [-t MS] [-q] < commands
 *
 *   -j, --jobs N      lines in flight at once (default 4)
 *   -t, --timeout MS  per-line timeout in ms (default 200)
 *   -q, --quiet       no progress lines on stderr
 *
 * The command language (one command a line; blank lines and lines whose first
 * non-blank character is '#' are skipped; lines are at most 256 bytes):
 *
 *   sleep MS [NAME]   wait MS ms, then "NAME: ok after MS ms"
 *   fail MESSAGE      end with an error: "line <n>: failed: MESSAGE"
 *
 * NAME defaults to "line <n>" (n counts every input line, skipped ones too). A
 * line still running when its timeout expires is cancelled: "NAME: timed out
 * after 200 ms". Anything else is reported as "line <n>: failed: <why>".
 *
 * stdout depends only on the input and the options, never on timing, so CI can
 * compare it byte for byte on every host: results are printed in input order,
 * and a result shows the requested duration, not the measured one. Everything
 * timing dependent (the progress lines of a repeating timer, the peak number of
 * lines in flight) goes to stderr.
 *
 * Exit status, as xargs: 0 if every line succeeded, 1 if any line failed or
 * timed out, 2 for a usage error or if the program itself failed (a read or
 * write error, out of memory).
 *
 * It is written as a portable program (TIDE_MAIN): setup() parses the options,
 * opens the streams and spawns the reader; the loop then runs until nothing
 * referenced is left, and the reader sets the exit status (tide_main_exit).
 * Natively and under WASI that is main(); built for the JS host (lines.wasm in
 * build/js), the same source runs under Node with js/bin/tideloop-run.mjs, with
 * the same stdout byte for byte.
 *
 * What it shows, on every host (native, WASI and the JS host):
 * - a byte stream on stdin read line by line by a task (tide_stream_read_line);
 * - one task spawned per line, supervised from outside: a one-shot call cancels
 *   it at its deadline (tide_call_later + tide_task_cancel), a done callback on
 *   its future collects the outcome;
 * - the cancelled task seeing TIDE_ECANCELED at its await and ending cleanly;
 * - a concurrency limit without polling: the reader awaits a future that the
 *   next line to finish completes;
 * - a repeating, unref'd timer that reports progress but keeps nothing alive;
 * - stdout through a stream on fd 1, and a clean shutdown: the loop closes
 *   cleanly because every task, stream and handle is gone (tide_main_run checks
 *   it, and fails the program with status 1 if not).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

enum {
  DEFAULT_JOBS = 4,
  DEFAULT_TIMEOUT_MS = 200,
  PROGRESS_MS = 100,
  MAX_LINE = 256,   /* longer lines are reported and skipped */
  MAX_MS = 86400000 /* one day: a bound for every duration given to us */
};

struct options {
  unsigned jobs;
  uint64_t timeout_ms;
  int quiet;
};

/* One command line, from the moment it is read until its result is printed.
 *
 * Jobs form a FIFO in input order; a job leaves it (and is freed) once it is done
 * and every job before it has been printed. That is what makes the output order
 * the input order whatever order the tasks finish in, while keeping in memory
 * only the window between the oldest unprinted line and the newest one. */
struct job {
  struct job *next;
  struct app *app;
  unsigned long lineno;
  char *text;        /* the command, NUL-terminated; owned */
  const char *label; /* how results name the line: a NAME in text, or deflabel */
  char deflabel[32]; /* "line <n>" */
  tide_task *task;   /* our reference to the line's task, until it is done */
  tide_call timeout; /* the one-shot call that cancels the task at its deadline */
  int timed_out;     /* that call (not something else) cancelled the task */
  int done;          /* result holds the line's output */
  char result[MAX_LINE + 64];
};

/* Everything the program shares. Static storage: the timer must not move while
 * registered. */
struct app {
  tide_loop *loop; /* made by TIDE_MAIN */
  struct options opt;
  tide_stream *in;  /* fd 0 */
  tide_stream *out; /* fd 1: every byte of stdout goes through it */
  tide_timer progress;
  struct job *head, *tail;  /* jobs not printed yet, oldest first */
  tide_future *slot_freed;  /* completed when a line finishes; NULL: nobody waits */
  unsigned in_flight, peak; /* lines whose task has not finished */
  unsigned long lines, finished, ok, failed, timed_out;
  int fatal; /* the program itself failed: exit status 2 */
};

/* The exit status, as documented at the top. */
static int exit_status(const struct app *app) {
  if (app->fatal) return 2;
  return app->failed + app->timed_out > 0 ? 1 : 0;
}

static void fail_program(struct app *app, const char *what, int rc) {
  fprintf(stderr, "lines: %s: %s\n", what, tide_strerror(rc));
  app->fatal = 1;
}

/* ------------------------------------------------------------------------ */
/* Output: results in input order                                           */
/* ------------------------------------------------------------------------ */

/* Queue bytes for stdout. The stream copies them and writes them when fd 1 is
 * writable, so a slow reader of our output (a pager, a full pipe) never blocks
 * the loop, and the lines in flight keep their deadlines. A failed write is
 * reported by the loop's error handler; the close at the end reports it too. */
static void emit(struct app *app, const char *text) {
  int rc = tide_stream_write(app->out, text, strlen(text), NULL);
  if (rc != 0) fail_program(app, "write to stdout", rc);
}

/* printf into job->result, always ending in one newline (a very long NAME or
 * MESSAGE is cut short rather than spilling into the next result). */
static void job_set_result(struct job *job, const char *fmt, ...) {
  size_t cap = sizeof job->result - 1; /* room for the newline */
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(job->result, cap, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= cap) n = (int)cap - 1;
  job->result[n] = '\n';
  job->result[n + 1] = '\0';
  job->done = 1;
}

static void job_free(struct job *job) {
  free(job->text);
  free(job);
}

/* Print and free the finished jobs at the head of the FIFO. */
static void flush_results(struct app *app) {
  while (app->head != NULL && app->head->done) {
    struct job *job = app->head;
    app->head = job->next;
    if (app->head == NULL) app->tail = NULL;
    emit(app, job->result);
    job_free(job);
  }
}

/* ------------------------------------------------------------------------ */
/* The work of one line: a tiny command language                            */
/* ------------------------------------------------------------------------ */

enum command_kind { CMD_SLEEP, CMD_FAIL };

struct command {
  enum command_kind kind;
  uint64_t ms;         /* sleep */
  const char *message; /* fail; points into the job's text */
};

/* Cut the first blank-separated word off *s (NUL-terminating it in place) and
 * move *s to the start of the rest. The job's text has no outer blanks. */
static char *next_word(char **s) {
  char *word = *s;
  char *end = word + strcspn(word, " \t");
  *s = end + strspn(end, " \t");
  *end = '\0';
  return word;
}

/* A decimal number of milliseconds within [min, MAX_MS]; 0 on success. */
static int parse_ms(const char *s, uint64_t min, uint64_t *out_ms) {
  uint64_t v = 0;
  if (*s == '\0') return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > MAX_MS) return -1;
  }
  if (v < min) return -1;
  *out_ms = v;
  return 0;
}

/* Parse the job's text into cmd; on error write why into why[] and return -1.
 * Parsing splits the text in place: job->label may then point into it. */
static int parse_command(struct job *job, struct command *cmd, char *why,
                         size_t why_len) {
  char *rest = job->text;
  const char *verb = next_word(&rest);
  if (strcmp(verb, "sleep") == 0) {
    const char *ms = next_word(&rest);
    if (*ms == '\0') {
      snprintf(why, why_len, "sleep needs a duration in ms");
      return -1;
    }
    if (parse_ms(ms, 0, &cmd->ms) != 0) {
      snprintf(why, why_len, "bad duration \"%.40s\"", ms);
      return -1;
    }
    cmd->kind = CMD_SLEEP;
    if (*rest != '\0') job->label = rest;
    return 0;
  }
  if (strcmp(verb, "fail") == 0) {
    cmd->kind = CMD_FAIL;
    cmd->message = *rest != '\0' ? rest : "failed on request";
    return 0;
  }
  snprintf(why, why_len, "unknown command \"%.40s\"", verb);
  return -1;
}

/* The frame of a line's task: what lives across its await. */
struct line_frame {
  struct job *job;
  struct command cmd;
  int rc;
};

static int line_main(tide_task *t, void *frame) {
  struct line_frame *f = frame;
  char why[96]; /* used within one step only: no await between fill and use */
  TIDE_BEGIN(t);
  if (parse_command(f->job, &f->cmd, why, sizeof why) != 0)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, why); /* the message is copied */
  if (f->cmd.kind == CMD_FAIL) TIDE_RETURN_ERROR(t, TIDE_EIO, f->cmd.message);

  TIDE_SLEEP(t, f->cmd.ms, f->rc);
  if (f->rc == TIDE_ECANCELED) {
    /* The timeout cancelled us at the await. A real job would undo its work
     * here (close a file, roll back). Ending with TIDE_ECANCELED, rather than
     * pretending to succeed, keeps the task cancelled for whoever watches it. */
    TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  TIDE_RETURN_INT(t, f->cmd.ms);
  TIDE_END(t);
}

/* ------------------------------------------------------------------------ */
/* Supervising a line: timeout, outcome, concurrency slot                   */
/* ------------------------------------------------------------------------ */

/* The line's deadline: ask its task to stop. tide_task_cancel() returns
 * TIDE_EALREADY if the task finished meanwhile (its done callback, which cancels
 * this call, has not run yet): then the line did not time out. */
static void on_line_timeout(tide_loop *loop, void *ud) {
  struct job *job = ud;
  (void)loop;
  if (tide_task_cancel(job->task) == 0) job->timed_out = 1;
}

/* Wake the reader if it waits for a free slot. Completing the future resumes it
 * on a later tick, never inside this call. */
static void free_slot(struct app *app) {
  if (app->slot_freed != NULL) {
    tide_future_set_none(app->slot_freed);
    app->slot_freed = NULL;
  }
}

/* The line's task is done (finished, failed or cancelled): record its outcome
 * by the state of its future, let go of it, print what can be printed. */
static void on_line_done(tide_future *future, void *ud) {
  struct job *job = ud;
  struct app *app = job->app;
  tide_value value;
  int rc = tide_future_result(future, &value);

  tide_call_cancel(app->loop, job->timeout); /* TIDE_EALREADY if it fired */
  if (rc == 0) {
    job_set_result(job, "%s: ok after %lld ms", job->label, (long long)value.as.i);
    app->ok++;
  } else if (rc == TIDE_ECANCELED && job->timed_out) {
    job_set_result(job, "%s: timed out after %llu ms", job->label,
                   (unsigned long long)app->opt.timeout_ms);
    app->timed_out++;
  } else {
    /* Reading the message marks the error observed, so releasing the task does
     * not report it again to the loop's error handler. */
    const char *msg = tide_future_error_message(future);
    job_set_result(job, "%s: failed: %s", job->label, msg ? msg : tide_strerror(rc));
    app->failed++;
  }
  /* Releasing the task from its own done callback is allowed: it frees it now. */
  tide_task_release(job->task);
  job->task = NULL;
  app->in_flight--;
  app->finished++;
  flush_results(app);
  free_slot(app);
}

/* A job for input line lineno, appended to the FIFO; text is copied. */
static struct job *job_new(struct app *app, unsigned long lineno, const char *text,
                           size_t len) {
  struct job *job = calloc(1, sizeof *job);
  if (job == NULL) return NULL;
  job->text = malloc(len + 1);
  if (job->text == NULL) {
    free(job);
    return NULL;
  }
  memcpy(job->text, text, len);
  job->text[len] = '\0';
  job->app = app;
  job->lineno = lineno;
  snprintf(job->deflabel, sizeof job->deflabel, "line %lu", lineno);
  job->label = job->deflabel;
  if (app->tail != NULL)
    app->tail->next = job;
  else
    app->head = job;
  app->tail = job;
  app->lines++;
  return job;
}

/* Start the job's task, its deadline and its done callback. On failure the job
 * is finished at once with the error as its result, so the FIFO stays whole. */
static int job_start(struct job *job) {
  struct app *app = job->app;
  struct line_frame init = {job, {CMD_SLEEP, 0, NULL}, 0};
  int rc = tide_task_spawn(app->loop, line_main, &init, sizeof init, &job->task);
  if (rc != 0) goto failed;
  tide_task_set_name(job->task, job->deflabel);
  rc = tide_call_later(app->loop, app->opt.timeout_ms, on_line_timeout, job,
                       &job->timeout);
  if (rc != 0) goto unspawn;
  rc = tide_future_add_done_callback(tide_task_future(job->task), on_line_done, job);
  if (rc != 0) goto uncall;
  app->in_flight++;
  if (app->in_flight > app->peak) app->peak = app->in_flight;
  assert(app->in_flight <= app->opt.jobs && "the reader waits for a free slot");
  return 0;

uncall:
  tide_call_cancel(app->loop, job->timeout);
unspawn:
  /* Cancelled before its first step, the coroutine never runs; the task frees
   * itself once it has finished. */
  tide_task_cancel(job->task);
  tide_task_release(job->task);
  job->task = NULL;
failed:
  job_set_result(job, "%s: failed: %s", job->label, tide_strerror(rc));
  app->failed++;
  app->finished++;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The reader: stdin -> tasks, at most opt.jobs at a time                   */
/* ------------------------------------------------------------------------ */

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* Strip blanks (and a stray '\r') at both ends of s[0..*len); returns the new
 * start and updates *len. */
static const char *trim(const char *s, size_t *len) {
  while (*len > 0 && is_blank(s[*len - 1]))
    (*len)--;
  while (*len > 0 && is_blank(*s)) {
    s++;
    (*len)--;
  }
  return s;
}

/* Handle what one read_line delivered: rc is its outcome. Returns 0 to read on,
 * or a negative code that ends the input (a read error, out of memory). */
static int handle_line(struct app *app, unsigned long lineno, tide_future *line,
                       int rc) {
  tide_value v;
  struct job *job;
  const char *text;
  size_t len;

  if (rc == TIDE_EMSGSIZE) {
    /* The stream skipped the rest of the line: report it and read on. */
    job = job_new(app, lineno, "", 0);
    if (job == NULL) return TIDE_ENOMEM;
    job_set_result(job, "line %lu: failed: longer than %d bytes", lineno, MAX_LINE);
    app->failed++;
    app->finished++;
    flush_results(app);
    return 0;
  }
  if (rc != 0) return rc;
  tide_future_result(line, &v); /* BYTES, borrowed from the future */
  len = v.as.bytes.len;
  text = trim(v.as.bytes.data, &len);
  if (len == 0 || text[0] == '#') return 0; /* blank line or comment */
  job = job_new(app, lineno, text, len);
  if (job == NULL) return TIDE_ENOMEM;
  rc = job_start(job);
  if (rc != 0) flush_results(app); /* the job failed to start: print its result */
  return rc;
}

/* Wait for a slot: the next line to finish completes app->slot_freed. */
static void slot_wait_begin(struct app *app, tide_future *slot) {
  tide_future_init(app->loop, slot);
  app->slot_freed = slot;
}

static void slot_wait_end(struct app *app, tide_future *slot) {
  app->slot_freed = NULL; /* if the wait was cancelled, nobody else clears it */
  tide_future_release(slot);
}

/* The last line of stdout, and the peak concurrency (timing dependent) on stderr. */
static void write_summary(struct app *app) {
  char buf[128];
  snprintf(buf, sizeof buf, "lines=%lu ok=%lu failed=%lu timed_out=%lu\n", app->lines,
           app->ok, app->failed, app->timed_out);
  emit(app, buf);
  if (!app->opt.quiet)
    fprintf(stderr, "lines: peak in-flight=%u (limit %u)\n", app->peak, app->opt.jobs);
}

/* The reader's frame: the futures it awaits live here, in the task's storage. */
struct reader_frame {
  struct app *app;
  tide_future line;   /* the pending read_line */
  tide_future slot;   /* a slot freed (see slot_wait_begin) */
  tide_future closed; /* stdout flushed and closed */
  unsigned long lineno;
  int rc;
};

static int reader_main(tide_task *t, void *frame) {
  struct reader_frame *f = frame;
  struct app *app = f->app;
  TIDE_BEGIN(t);
  for (;;) {
    /* Wait for a free slot before reading on: input we cannot run yet is not
     * read, so a fast producer is held back instead of filling our memory. */
    while (app->in_flight >= app->opt.jobs) {
      slot_wait_begin(app, &f->slot);
      TIDE_AWAIT(t, &f->slot, f->rc);
      slot_wait_end(app, &f->slot);
      /* Only a cancellation of the reader gets here (nothing in this program
       * cancels it); the streams then stay open, so the loop cannot close, and
       * TIDE_MAIN says so and fails the program. */
      if (f->rc != 0) {
        tide_main_exit(app->loop, 2);
        TIDE_RETURN_ERROR(t, f->rc, "interrupted");
      }
    }
    tide_future_init(app->loop, &f->line);
    f->rc = tide_stream_read_line(app->in, MAX_LINE, &f->line);
    if (f->rc == 0) {
      TIDE_AWAIT(t, &f->line, f->rc);
    }
    if (f->rc == TIDE_EOF) {
      tide_future_release(&f->line);
      break;
    }
    f->rc = handle_line(app, ++f->lineno, &f->line, f->rc);
    /* Reading the outcome marked an error observed; the line's bytes were
     * copied. Releasing frees them. */
    tide_future_release(&f->line);
    if (f->rc != 0) {
      fail_program(app, "input", f->rc);
      break;
    }
  }

  /* End of input: wait for the lines still running. */
  while (app->in_flight > 0) {
    slot_wait_begin(app, &f->slot);
    TIDE_AWAIT(t, &f->slot, f->rc);
    slot_wait_end(app, &f->slot);
    if (f->rc != 0) {
      tide_main_exit(app->loop, 2);
      TIDE_RETURN_ERROR(t, f->rc, "interrupted");
    }
  }
  assert(app->head == NULL && "every result was printed");
  write_summary(app);

  /* Shut down: after this, nothing is left registered with the loop. */
  tide_handle_close(&app->progress.handle, NULL);
  tide_stream_close(app->in, NULL);
  app->in = NULL;
  tide_future_init(app->loop, &f->closed);
  tide_stream_close(app->out, &f->closed); /* queued writes are flushed first */
  app->out = NULL;
  TIDE_AWAIT(t, &f->closed, f->rc);
  if (f->rc != 0) fail_program(app, "writing stdout", f->rc);
  tide_future_release(&f->closed);
  /* The program's exit status: what main() returns natively once the loop has
   * run out of work and closed. */
  tide_main_exit(app->loop, exit_status(app));
  TIDE_END(t);
}

/* ------------------------------------------------------------------------ */
/* Progress and main                                                        */
/* ------------------------------------------------------------------------ */

/* Timing dependent, hence on stderr: stdout stays comparable byte for byte. */
static void on_progress(tide_timer *timer) {
  struct app *app = timer->handle.data;
  fprintf(stderr, "progress: done=%lu/%lu in-flight=%u\n", app->finished, app->lines,
          app->in_flight);
}

static int usage(const char *msg) {
  if (msg != NULL) fprintf(stderr, "lines: %s\n", msg);
  fprintf(stderr,
          "usage: lines [-j N] [-t MS] [-q] < commands\n"
          "  -j, --jobs N      lines in flight at once (default %d)\n"
          "  -t, --timeout MS  per-line timeout in ms (default %d)\n"
          "  -q, --quiet       no progress lines on stderr\n",
          DEFAULT_JOBS, DEFAULT_TIMEOUT_MS);
  return 2;
}

/* The value of option argv[*i] ("-j 3", "--jobs 3" or "--jobs=3"), or NULL if it
 * is not the option `shrt`/`lng`. Sets *missing when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *shrt,
                                const char *lng, int *missing) {
  const char *a = argv[*i];
  size_t n = strlen(lng);
  if (strncmp(a, lng, n) == 0 && a[n] == '=') return a + n + 1;
  if (strcmp(a, shrt) != 0 && strcmp(a, lng) != 0) return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

static int parse_options(int argc, char **argv, struct options *opt) {
  opt->jobs = DEFAULT_JOBS;
  opt->timeout_ms = DEFAULT_TIMEOUT_MS;
  opt->quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *val;
    uint64_t n;
    int missing = 0;
    if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
      opt->quiet = 1;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      return usage(NULL);
    } else if ((val = option_value(argc, argv, &i, "-j", "--jobs", &missing))) {
      if (parse_ms(val, 1, &n) != 0 || n > 10000) return usage("bad --jobs");
      opt->jobs = (unsigned)n;
    } else if ((val = option_value(argc, argv, &i, "-t", "--timeout", &missing))) {
      if (parse_ms(val, 1, &n) != 0) return usage("bad --timeout");
      opt->timeout_ms = n;
    } else {
      return usage(missing ? "option needs a value" : "unknown option");
    }
  }
  return 0;
}

/* Setup failures: nothing has run yet, so just say what failed and leave. */
static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "lines: %s: %s\n", what, tide_strerror(rc));
    exit(2);
  }
}

/* TIDE_MAIN's setup: runs once the loop exists and before it runs. The loop
 * then runs until no referenced work is left: input read, every line done, the
 * streams and the timer closed; the reader sets the exit status at its end. */
static int setup(tide_loop *loop, int argc, char **argv) {
  static struct app app; /* the timer must not move */
  struct reader_frame init;
  tide_task *reader;

  app.loop = loop;
  if (parse_options(argc, argv, &app.opt) != 0) {
    tide_main_exit(loop, 2); /* nothing started: the loop ends at once */
    return 0;
  }

  /* fd 0 and 1 stay ours (no TIDE_STREAM_CLOSE_FD): closing the streams leaves
   * stdin and stdout open for the C library's exit. */
  check(tide_stream_open(loop, 0, 0, &app.in), "open stdin");
  check(tide_stream_open(loop, 1, 0, &app.out), "open stdout");

  /* Unref'd: progress reports must not keep the loop alive on their own. */
  check(tide_timer_init(loop, &app.progress), "tide_timer_init");
  app.progress.handle.data = &app;
  if (!app.opt.quiet)
    check(tide_timer_start(&app.progress, on_progress, PROGRESS_MS, PROGRESS_MS),
          "tide_timer_start");
  tide_handle_unref(&app.progress.handle);

  memset(&init, 0, sizeof init);
  init.app = &app;
  check(tide_task_spawn(loop, reader_main, &init, sizeof init, &reader),
        "spawn the reader");
  tide_task_set_name(reader, "reader");
  /* Detached from here: it frees itself when done, and an error it ends with
   * (only a bug: see reader_main) goes to the loop's error handler. */
  tide_task_release(reader);
  return 0;
}

TIDE_MAIN(setup)
