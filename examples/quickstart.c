/* quickstart.c: the module of the npm package's quick start (js/README.md,
 * "Quick start"): a few coroutines for JS to call, one of which awaits a JS
 * function. Built for the JS host only (examples/CMakeLists.txt) and shipped
 * in the package as wasm/quickstart.wasm; the READMEs' runnable examples load
 * it from the packed package (tests/js/docs.test.mjs).
 *
 * Its TIDE_MAIN setup starts no task: it exports the coroutines, so
 * `await rt.main()` resolves with 0 at once and rt.call() can then call them.
 *
 *   add(a, b) -> a + b
 *       Two numbers; anything else fails with TIDE_EINVAL.
 *   word_count(url, timeout_ms = 5000) -> the number of words
 *       Awaits the host function fetch_text(url) (the user registers it:
 *       rt.register('fetch_text', ...)) and counts the whitespace-separated
 *       words of the string it returns. Past timeout_ms, C cancels the host
 *       call (the JS function's AbortSignal aborts) and fails with
 *       TIDE_ETIMEDOUT; an error the JS function throws fails it with that
 *       error's code.
 *   sleep(ms) -> the ms that passed on the loop's clock
 *       Sleeps; cancelled (from JS, an aborted signal), it fails with
 *       TIDE_ECANCELED. On a virtual clock (load(.., {clock: 'autojump'}))
 *       it is over at once, and the result is exactly ms.
 */
#include <stdio.h>

#include "tide.h"

/* Argument i as a number, or -1 if it is missing or not one. */
static int arg_number(tide_task *t, size_t i, double *out) {
  const tide_value *args;
  size_t n;
  tide_task_args(t, &args, &n);
  if (i >= n || args[i].type != TIDE_VALUE_DOUBLE) return -1;
  *out = args[i].as.d;
  return 0;
}

/* --- add(a, b): no await, a result at once -------------------------------- */

static int add_task(tide_task *t, void *frame) {
  double a, b;
  (void)frame;
  TIDE_BEGIN(t);
  if (arg_number(t, 0, &a) != 0 || arg_number(t, 1, &b) != 0)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "add(a, b) takes two numbers");
  TIDE_RETURN_DOUBLE(t, a + b);
  TIDE_END(t);
}

/* --- word_count(url, timeout_ms): C awaiting a JS function ---------------- */

struct word_count {
  tide_future text;    /* fetch_text's answer */
  tide_timeout scope;  /* the deadline over the await */
  double timeout_ms;
  int rc;
  char message[160];
};

static int count_words(const char *s, size_t len) {
  int words = 0, in_word = 0;
  for (size_t i = 0; i < len; i++) {
    int space = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
    if (!space && !in_word) words++;
    in_word = !space;
  }
  return words;
}

static int word_count_task(tide_task *t, void *frame) {
  struct word_count *f = frame;
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n < 1 || args[0].type != TIDE_VALUE_STRING)
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "word_count(url, timeout_ms) takes a URL string");
    f->timeout_ms = 5000;
    /* timeout_ms may be left out, or undefined/null (NONE) from JS. */
    if (n > 1 && args[1].type != TIDE_VALUE_NONE &&
        (arg_number(t, 1, &f->timeout_ms) != 0 || f->timeout_ms < 0))
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "word_count: timeout_ms must be a number >= 0");
    /* The URL is passed on as it came: tide_host_call copies it. */
    tide_future_init(tide_task_loop(t), &f->text);
    f->rc = tide_host_call(tide_task_loop(t), "fetch_text", args, 1, &f->text);
  }
  if (f->rc != 0) {
    tide_future_release(&f->text);
    TIDE_RETURN_ERROR(t, f->rc, "word_count: cannot call fetch_text");
  }

  /* At the deadline the scope cancels the task: the await reports
   * TIDE_ECANCELED, the host call is cancelled with it (fetch_text's signal
   * aborts), and timeout_end turns that into TIDE_ETIMEDOUT. A cancellation
   * from JS stays TIDE_ECANCELED. */
  tide_task_timeout_begin(t, &f->scope, (int64_t)f->timeout_ms);
  TIDE_AWAIT(t, &f->text, f->rc);
  tide_task_timeout_end(t, &f->scope, &f->rc);

  if (f->rc == TIDE_ETIMEDOUT) {
    snprintf(f->message, sizeof f->message, "fetch_text took longer than %.0f ms",
             f->timeout_ms);
  } else if (f->rc != 0 && f->rc != TIDE_ECANCELED) {
    /* The JS function's error: its code, and its message (read before the
     * future is released, which frees it). */
    const char *m = tide_future_error_message(&f->text);
    snprintf(f->message, sizeof f->message, "fetch_text: %s", m != NULL ? m : "failed");
  } else if (f->rc == 0) {
    tide_value v;
    f->rc = tide_future_result(&f->text, &v);
    if (f->rc == 0 && v.type != TIDE_VALUE_STRING) {
      f->rc = TIDE_EINVAL;
      snprintf(f->message, sizeof f->message, "fetch_text must return a string");
    } else if (f->rc == 0) {
      int words = count_words(v.as.bytes.data, v.as.bytes.len);
      tide_future_release(&f->text);
      TIDE_RETURN_INT(t, words);
    }
  }
  tide_future_release(&f->text);
  TIDE_RETURN_ERROR(t, f->rc, f->message[0] != '\0' ? f->message : NULL);
  TIDE_END(t);
}

/* --- sleep(ms): a timer, and cancellation -------------------------------- */

struct sleep {
  uint64_t start;
  double ms;
  int rc;
};

static int sleep_task(tide_task *t, void *frame) {
  struct sleep *f = frame;
  TIDE_BEGIN(t);
  if (arg_number(t, 0, &f->ms) != 0 || f->ms < 0)
    TIDE_RETURN_ERROR(t, TIDE_EINVAL, "sleep(ms) takes a number >= 0");
  f->start = tide_loop_now(tide_task_loop(t));
  TIDE_SLEEP(t, (uint64_t)f->ms, f->rc);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "sleep was cancelled");
  TIDE_RETURN_INT(t, tide_loop_now(tide_task_loop(t)) - f->start);
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  int rc;
  (void)argc;
  (void)argv;
  if ((rc = tide_export_task(loop, "add", add_task, 0)) != 0) return rc;
  if ((rc = tide_export_task(loop, "word_count", word_count_task, sizeof(struct word_count))) != 0)
    return rc;
  return tide_export_task(loop, "sleep", sleep_task, sizeof(struct sleep));
}

TIDE_MAIN(setup)
