/* timers.c: timers and one-shot calls, without coroutines.
 *
 * What it shows:
 * - call_soon runs on the next tick; call_later runs after a delay;
 * - calls with equal deadlines run in the order they were scheduled (guaranteed);
 * - a scheduled call can be cancelled (a second cancel says TIDE_EALREADY);
 * - a repeating timer that closes itself after five ticks;
 * - restarting an active timer reschedules it;
 * - an unref'd timer does not keep the loop alive.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "tide.h"

struct app {
  tide_loop loop;
  uint64_t t0;
  tide_timer ticker;       /* repeats every 20 ms, closes itself after 5 ticks */
  tide_timer debounce;     /* one-shot, restarted before it fires */
  tide_timer housekeeping; /* repeats every 35 ms, unref'd */
  int ticks;
};

static uint64_t elapsed(struct app *app) {
  return tide_loop_now(&app->loop) - app->t0;
}

static void say(tide_loop *loop, void *ud) {
  struct app *app = (struct app *)loop; /* loop is the first member of app */
  printf("[%3" PRIu64 " ms] %s\n", elapsed(app), (const char *)ud);
}

static void on_ticker_closed(tide_handle *handle) {
  struct app *app = handle->data;
  printf("[%3" PRIu64 " ms] ticker closed\n", elapsed(app));
}

static void on_debounce(tide_timer *timer) {
  struct app *app = timer->handle.data;
  printf("[%3" PRIu64 " ms] debounce fired\n", elapsed(app));
}

static void on_tick(tide_timer *timer) {
  struct app *app = timer->handle.data;
  app->ticks++;
  printf("[%3" PRIu64 " ms] tick %d\n", elapsed(app), app->ticks);
  if (app->ticks == 1) {
    /* Push the debounce timer back: it was due at 30 ms, now at ~50 ms. */
    printf("[%3" PRIu64 " ms] debounce was due in %" PRIu64 " ms; restart it\n",
           elapsed(app), tide_timer_get_due_in(&app->debounce));
    tide_timer_start(&app->debounce, on_debounce, 30, 0);
  }
  if (app->ticks == 5) {
    /* Closing stops the timer; the close callback runs on a later tick. */
    tide_handle_close(&timer->handle, on_ticker_closed);
  }
}

static void on_housekeeping(tide_timer *timer) {
  struct app *app = timer->handle.data;
  printf("[%3" PRIu64 " ms] housekeeping (unref'd)\n", elapsed(app));
}

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", what, tide_strerror(rc));
    exit(1);
  }
}

int main(void) {
  static struct app app; /* handles must not move while registered */
  tide_call never;
  int rc;

  setvbuf(stdout, NULL, _IOLBF, 0);
  check(tide_loop_init(&app.loop, NULL), "tide_loop_init");
  app.t0 = tide_loop_now(&app.loop);

  /* One-shot calls. The "say" callback gets the loop and a message. */
  check(tide_call_later(&app.loop, 30, say, "call_later(30)", NULL), "call_later");
  check(tide_call_later(&app.loop, 45, say, "call_later(45) A", NULL), "call_later");
  check(tide_call_later(&app.loop, 45, say, "call_later(45) B", NULL), "call_later");
  check(tide_call_later(&app.loop, 45, say, "call_later(45) C", NULL), "call_later");
  check(tide_call_later(&app.loop, 50, say, "never printed", &never), "call_later");
  check(tide_call_soon(&app.loop, say, "call_soon: the first tick", NULL), "call_soon");
  rc = tide_call_cancel(&app.loop, never);
  printf("cancel the call at 50 ms: %s\n", rc == 0 ? "ok" : tide_err_name(rc));
  rc = tide_call_cancel(&app.loop, never);
  printf("cancel it again: %s\n", rc == 0 ? "ok" : tide_err_name(rc));

  /* Timers: handles in our storage, with a pointer back to the app. */
  check(tide_timer_init(&app.loop, &app.ticker), "tide_timer_init");
  check(tide_timer_init(&app.loop, &app.debounce), "tide_timer_init");
  check(tide_timer_init(&app.loop, &app.housekeeping), "tide_timer_init");
  app.ticker.handle.data = &app;
  app.debounce.handle.data = &app;
  app.housekeeping.handle.data = &app;
  check(tide_timer_start(&app.ticker, on_tick, 20, 20), "tide_timer_start");
  check(tide_timer_start(&app.debounce, on_debounce, 30, 0), "tide_timer_start");
  check(tide_timer_start(&app.housekeeping, on_housekeeping, 35, 35),
        "tide_timer_start");
  tide_handle_unref(&app.housekeeping.handle);

  /* Returns once the ticker is closed and nothing referenced is left; the
   * unref'd housekeeping timer is still active but does not count. */
  check(tide_loop_run(&app.loop, TIDE_RUN_DEFAULT), "tide_loop_run");
  printf("[%3" PRIu64 " ms] loop done; housekeeping still active: %d\n", elapsed(&app),
         tide_handle_is_active(&app.housekeeping.handle));

  tide_handle_close(&app.debounce.handle, NULL);
  tide_handle_close(&app.housekeeping.handle, NULL);
  check(tide_loop_run(&app.loop, TIDE_RUN_DEFAULT), "tide_loop_run");
  check(tide_loop_close(&app.loop), "tide_loop_close");
  return 0;
}
