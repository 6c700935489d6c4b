/* tasks_and_pipe.c: coroutines sharing one loop: two tickers that sleep, and a
 * reader that waits for a pipe with a timeout, all awaited by a main task.
 *
 * What it shows:
 * - tasks written with the TIDE_* coroutine macros, their state in a frame;
 * - a task's first step runs on the next tick, in spawn order;
 * - wrapping a callback API (an fd watcher) into a future a task can await, and
 *   racing it against a timer: whichever fires first completes the future;
 * - awaiting child tasks and reading their results;
 * - a clean shutdown: close every handle, run the loop once more for the close
 *   callbacks, then tide_loop_close() returns 0.
 *
 * Timeline (ms): tickers at 25/50/75/100 and 40/80; the writer writes "hello" at
 * 60 and closes the pipe at 130; the reader gets the data (60), times out on its
 * second read (60 + 30 = 90) and sees end of file on its third (130).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tide.h"

/* ------------------------------------------------------------------------ */
/* A pipe read that races a timer                                            */
/* ------------------------------------------------------------------------ */

/* One read with a deadline. The watcher and the timer live as long as the
 * program; each read completes `done` exactly once, with the number of bytes
 * read (INT), TIDE_ETIMEDOUT, TIDE_EOF or TIDE_EIO. */
struct timed_read {
  tide_io io;
  tide_timer timer;
  tide_future done;
  char buf[64];
};

static void timed_read_stop(struct timed_read *op) {
  tide_io_stop(&op->io);
  tide_timer_stop(&op->timer);
}

static void on_readable(tide_io *io, unsigned events) {
  struct timed_read *op = io->handle.data;
  ssize_t n = read(tide_io_fd(io), op->buf, sizeof op->buf - 1);
  (void)events; /* TIDE_READABLE, plus TIDE_HANGUP once the writer is gone */
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return; /* keep waiting */
  /* The first of the watcher and the timer to fire stops the other. */
  timed_read_stop(op);
  if (n > 0) {
    op->buf[n] = '\0';
    tide_future_set_int(&op->done, n);
  } else if (n == 0) {
    tide_future_set_error(&op->done, TIDE_EOF, "the writer closed the pipe");
  } else {
    tide_future_set_error(&op->done, TIDE_EIO, strerror(errno));
  }
}

static void on_read_timeout(tide_timer *timer) {
  struct timed_read *op = timer->handle.data;
  timed_read_stop(op);
  tide_future_set_error(&op->done, TIDE_ETIMEDOUT, "no data in time");
}

/* If the awaiting task is cancelled, the loop cancels `done` for it: stop
 * watching then, so nothing fires for a read nobody waits for. */
static void on_read_done(tide_future *done, void *ud) {
  if (tide_future_state_get(done) == TIDE_FUTURE_CANCELLED) timed_read_stop(ud);
}

/* Start one read; the caller awaits op->done and releases it afterwards. */
static int timed_read_start(tide_loop *loop, struct timed_read *op,
                            uint64_t timeout_ms) {
  int rc;
  tide_future_init(loop, &op->done);
  rc = tide_future_add_done_callback(&op->done, on_read_done, op);
  if (rc == 0) rc = tide_io_start(&op->io, TIDE_READABLE, on_readable);
  if (rc == 0) rc = tide_timer_start(&op->timer, on_read_timeout, timeout_ms, 0);
  if (rc != 0) {
    timed_read_stop(op);
    tide_future_release(&op->done);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The program's tasks                                                       */
/* ------------------------------------------------------------------------ */

/* Shared by every task: frames point here. */
struct app {
  tide_loop loop;
  uint64_t t0;
  struct timed_read rd;
  int rfd, wfd;
};

/* printf with the loop time since start. */
static void say(struct app *app, const char *fmt, ...) {
  va_list ap;
  printf("[%3" PRIu64 " ms] ", tide_loop_now(&app->loop) - app->t0);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

/* A ticker sleeps `count` times and returns how often it ticked. */
struct ticker {
  struct app *app;
  const char *name;
  uint64_t period_ms;
  int count;
  int i;
  int rc;
};

static int ticker_main(tide_task *t, void *frame) {
  struct ticker *f = frame;
  TIDE_BEGIN(t);
  say(f->app, "%s: first step", f->name);
  for (f->i = 1; f->i <= f->count; f->i++) {
    TIDE_SLEEP(t, f->period_ms, f->rc);
    if (f->rc) TIDE_RETURN_ERROR(t, f->rc, "ticker interrupted");
    say(f->app, "%s: tick %d", f->name, f->i);
  }
  TIDE_RETURN_INT(t, f->count);
  TIDE_END(t);
}

/* The reader does three timed reads and returns the bytes it got. */
static const uint64_t read_timeouts_ms[3] = {100, 30, 100};

struct reader {
  struct app *app;
  int i;
  int rc;
  int64_t total;
};

static int reader_main(tide_task *t, void *frame) {
  struct reader *f = frame;
  struct timed_read *op = &f->app->rd; /* recomputed at every step: no await */
  tide_value v;
  TIDE_BEGIN(t);
  say(f->app, "reader: first step");
  for (f->i = 0; f->i < 3; f->i++) {
    say(f->app, "reader: read %d, timeout %" PRIu64 " ms", f->i + 1,
        read_timeouts_ms[f->i]);
    f->rc = timed_read_start(&f->app->loop, op, read_timeouts_ms[f->i]);
    if (f->rc) TIDE_RETURN_ERROR(t, f->rc, "could not start a read");
    TIDE_AWAIT(t, &op->done, f->rc);
    if (f->rc == 0 && tide_future_result(&op->done, &v) == 0) {
      say(f->app, "reader: got %d bytes: \"%s\"", (int)v.as.i, op->buf);
      f->total += v.as.i;
    } else if (f->rc == TIDE_ECANCELED) {
      tide_future_release(&op->done);
      TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
    } else {
      /* Reading the message marks the error observed: releasing the future
       * then reports nothing to the loop's error handler. */
      say(f->app, "reader: %s (%s)", tide_err_name(f->rc),
          tide_future_error_message(&op->done));
    }
    tide_future_release(&op->done);
  }
  TIDE_RETURN_INT(t, f->total);
  TIDE_END(t);
}

/* The writer side: plain one-shot callbacks. */
static void write_hello(tide_loop *loop, void *ud) {
  struct app *app = ud;
  (void)loop;
  say(app, "writer: write \"hello\"");
  if (write(app->wfd, "hello", 5) != 5) perror("write");
}

static void close_writer(tide_loop *loop, void *ud) {
  struct app *app = ud;
  (void)loop;
  say(app, "writer: close the pipe");
  close(app->wfd);
  app->wfd = -1;
}

/* The main task spawns the others, awaits each and reports its result. */
struct main_frame {
  struct app *app;
  tide_task *kids[3];
  int i;
  int rc;
  int failed;
};

/* Spawn the children, keeping a reference to each so that we can await it. Each
 * frame is copied into its task: the structs here may go out of scope. */
static int spawn_children(tide_loop *loop, struct main_frame *f) {
  struct ticker fast = {f->app, "fast", 25, 4, 0, 0};
  struct ticker slow = {f->app, "slow", 40, 2, 0, 0};
  struct reader rd = {f->app, 0, 0, 0};
  int rc = tide_task_spawn(loop, ticker_main, &fast, sizeof fast, &f->kids[0]);
  if (rc == 0) rc = tide_task_spawn(loop, ticker_main, &slow, sizeof slow, &f->kids[1]);
  if (rc == 0) rc = tide_task_spawn(loop, reader_main, &rd, sizeof rd, &f->kids[2]);
  if (rc == 0) {
    tide_task_set_name(f->kids[0], "fast");
    tide_task_set_name(f->kids[1], "slow");
    tide_task_set_name(f->kids[2], "reader");
    return 0;
  }
  for (int i = 0; i < 3 && f->kids[i]; i++) {
    tide_task_cancel(f->kids[i]);  /* it never runs its first step */
    tide_task_release(f->kids[i]); /* freed once it has finished */
    f->kids[i] = NULL;
  }
  return rc;
}

static int main_task(tide_task *t, void *frame) {
  struct main_frame *f = frame;
  tide_value v;
  TIDE_BEGIN(t);
  say(f->app, "main: spawn fast, slow, reader");
  f->rc = spawn_children(tide_task_loop(t), f);
  if (f->rc) TIDE_RETURN_ERROR(t, f->rc, "spawn failed");
  say(f->app, "main: children run from the next tick on");

  for (f->i = 0; f->i < 3; f->i++) {
    TIDE_AWAIT(t, tide_task_future(f->kids[f->i]), f->rc);
    if (f->rc == 0 && tide_future_result(tide_task_future(f->kids[f->i]), &v) == 0) {
      say(f->app, "main: %s returned %" PRId64, tide_task_name(f->kids[f->i]), v.as.i);
    } else {
      say(f->app, "main: %s failed: %s", tide_task_name(f->kids[f->i]),
          tide_strerror(f->rc));
      f->failed++;
    }
    tide_task_release(f->kids[f->i]);
    f->kids[f->i] = NULL;
  }
  if (f->failed) TIDE_RETURN_ERROR(t, TIDE_EUNKNOWN, "a child task failed");
  TIDE_END(t);
}

/* ------------------------------------------------------------------------ */

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", what, tide_strerror(rc));
    exit(1);
  }
}

int main(void) {
  static struct app app; /* handles must not move while registered */
  struct main_frame init = {&app, {NULL, NULL, NULL}, 0, 0, 0};
  tide_task *main_t;
  int fds[2];
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  app.rfd = fds[0];
  app.wfd = fds[1];
  /* Level-triggered readiness plus a non-blocking read: never stall the loop. */
  fcntl(app.rfd, F_SETFL, fcntl(app.rfd, F_GETFL) | O_NONBLOCK);

  check(tide_loop_init(&app.loop, NULL), "tide_loop_init");
  app.t0 = tide_loop_now(&app.loop);
  check(tide_io_init(&app.loop, &app.rd.io, app.rfd), "tide_io_init");
  check(tide_timer_init(&app.loop, &app.rd.timer), "tide_timer_init");
  app.rd.io.handle.data = &app.rd;
  app.rd.timer.handle.data = &app.rd;

  check(tide_call_later(&app.loop, 60, write_hello, &app, NULL), "call_later");
  check(tide_call_later(&app.loop, 130, close_writer, &app, NULL), "call_later");
  check(tide_task_spawn(&app.loop, main_task, &init, sizeof init, &main_t), "spawn");
  tide_task_set_name(main_t, "main");

  /* Runs until no referenced work is left: every task done, no call queued. */
  check(tide_loop_run(&app.loop, TIDE_RUN_DEFAULT), "tide_loop_run");
  rc = tide_future_result(tide_task_future(main_t), NULL);
  if (rc == 0)
    printf("main task: ok\n");
  else
    printf("main task: %s\n", tide_strerror(rc));
  tide_task_release(main_t);

  /* Shutdown: the stopped watcher and timer are still registered; close them and
   * let the loop run their close callbacks before closing the loop. */
  tide_handle_close(&app.rd.io.handle, NULL);
  tide_handle_close(&app.rd.timer.handle, NULL);
  check(tide_loop_run(&app.loop, TIDE_RUN_DEFAULT), "tide_loop_run");
  check(tide_loop_close(&app.loop), "tide_loop_close");
  close(app.rfd);
  if (app.wfd >= 0) close(app.wfd);
  return rc == 0 ? 0 : 1;
}
