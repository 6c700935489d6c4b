/* fetch.c: C tasks fetching URLs through the JS host: at most K requests at a
 * time, each with its own timeout, one result line per URL in the order given.
 *
 *   fetch [-j K] [-t MS] URL...
 *
 *   -j K    requests in flight at once (default 2, at most 16)
 *   -t MS   per-request timeout in ms (default 1000)
 *
 * Built for the JS host only (examples/CMakeLists.txt: fetch.wasm), and run by
 * examples/fetch.mjs, which starts a local HTTP server and registers the host
 * function this program calls:
 *
 *   http_get(url) -> {status, body}   (rejects on a network error)
 *
 * A request still pending at its deadline is cancelled from C: the one-shot
 * call cancels the host future, the host aborts the AbortSignal it gave
 * http_get, fetch() aborts the request, and the server sees the client go away.
 * An HTTP status of any kind is a response; a timeout or a network error is a
 * failure. Exit status: 0 if every URL got a response, 1 if any failed, 2 for a
 * usage error (set with tide_main_exit from setup, which then starts nothing).
 *
 * stdout depends only on the URLs' paths and the server's answers, never on
 * timing (results are printed at the end, in URL order), so a test compares it
 * byte for byte with examples/fetch-expected.txt.
 *
 * What it shows:
 * - tide_host_call: a C future completed by a JS Promise, its JSON result read
 *   in C (a small reader for the flat object http_get returns);
 * - a timeout that cancels a host operation, and the cancellation reaching JS;
 * - a concurrency limit as a pool of K worker tasks sharing one queue of URLs;
 * - structured shutdown: the main task awaits every worker, and if it is itself
 *   cancelled it cancels them and waits for them first. rt.close() in JS
 *   cancels every host call in flight: those requests fail with TIDE_ECANCELED,
 *   the ones left fail at once the same way, and the program finishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

enum {
  DEFAULT_JOBS = 2,
  MAX_JOBS = 16,
  DEFAULT_TIMEOUT_MS = 1000,
  MAX_TIMEOUT_MS = 600000,
  SHOW_BODY = 48 /* bytes of a body shown in its result line */
};

/* One URL's outcome, filled in by the worker that fetched it ("not fetched"
 * until then). */
struct result {
  char line[160];
  int failed; /* timed out or a network error */
};

/* What the tasks share; allocated by setup, freed with the main task. The URLs
 * are borrowed from argv, which the host keeps until the loop is freed. */
struct app {
  tide_loop *loop;
  unsigned jobs;
  uint64_t timeout_ms;
  int nurls;
  char **urls;
  struct result *results;
  int next;                 /* the next URL a worker takes */
  unsigned in_flight, peak; /* requests pending at the host */
};

/* How results name a URL: its path, so the output does not depend on the
 * server's port. */
static const char *url_path(const char *url) {
  const char *p = strstr(url, "://");
  if (p == NULL) return url;
  p = strchr(p + 3, '/');
  return p != NULL ? p : "/";
}

/* ------------------------------------------------------------------------ */
/* Reading http_get's result: {"status": <number>, "body": <string>}         */
/* ------------------------------------------------------------------------ */

/* A JS object arrives as JSON text. This reader handles what the example needs
 * (a flat object; nested values are skipped correctly, not read); a real
 * program would use a JSON library. Each function returns the position after
 * what it read, or NULL if the text is not what it expected. */

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* A string at p (at its opening quote), decoded into out (cap > 0 bytes,
 * always NUL-terminated, cut short if need be); *out_len gets its full decoded
 * length. out may be NULL to skip the string. */
static const char *json_string(const char *p, char *out, size_t cap, size_t *out_len) {
  size_t n = 0;
  if (*p++ != '"') return NULL;
  while (*p != '"') {
    char buf[4];
    size_t k = 1;
    unsigned u;
    if (*p == '\0') return NULL;
    if (*p != '\\') {
      buf[0] = *p++;
    } else {
      static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
      const char *e = *++p != '\0' ? strchr(esc_in, *p) : NULL;
      if (e != NULL) {
        buf[0] = esc_out[e - esc_in];
      } else if (*p == 'u' && hex4(p + 1, &u) == 0) {
        p += 4;
        /* UTF-8 for the basic plane; a surrogate half becomes '?'. */
        if (u < 0x80) {
          buf[0] = (char)u;
        } else if (u < 0x800) {
          buf[0] = (char)(0xC0 | (u >> 6));
          buf[1] = (char)(0x80 | (u & 0x3F));
          k = 2;
        } else if (u >= 0xD800 && u <= 0xDFFF) {
          buf[0] = '?';
        } else {
          buf[0] = (char)(0xE0 | (u >> 12));
          buf[1] = (char)(0x80 | ((u >> 6) & 0x3F));
          buf[2] = (char)(0x80 | (u & 0x3F));
          k = 3;
        }
      } else {
        return NULL;
      }
      p++;
    }
    for (size_t i = 0; i < k; i++, n++)
      if (out != NULL && n + 1 < cap) out[n] = buf[i];
  }
  if (out != NULL) out[n + 1 < cap ? n : cap - 1] = '\0';
  if (out_len != NULL) *out_len = n;
  return p + 1;
}

/* Skip any value: a string, a nested object or array, a number or a literal. */
static const char *json_skip(const char *p) {
  int depth = 0;
  p = skip_ws(p);
  do {
    if (*p == '"') {
      p = json_string(p, NULL, 0, NULL);
      if (p == NULL) return NULL;
    } else if (*p == '{' || *p == '[') {
      depth++;
      p++;
    } else if (*p == '}' || *p == ']') {
      if (--depth < 0) return NULL;
      p++;
    } else if (*p == '\0') {
      return NULL;
    } else if (depth == 0) {
      while (*p != '\0' && *p != ',' && *p != '}' && *p != ']') /* number, literal */
        p++;
      return p;
    } else {
      p++; /* ',' ':' blanks, and the numbers and literals inside */
    }
  } while (depth > 0);
  return p;
}

/* The value of key in the object json, or NULL if it has no such key. */
static const char *json_get(const char *json, const char *key) {
  char name[32];
  const char *p = skip_ws(json);
  if (*p++ != '{') return NULL;
  for (p = skip_ws(p); *p == '"'; p = skip_ws(p + 1)) {
    size_t len;
    p = json_string(p, name, sizeof name, &len);
    if (p == NULL) return NULL;
    p = skip_ws(p);
    if (*p++ != ':') return NULL;
    p = skip_ws(p);
    if (len < sizeof name && strcmp(name, key) == 0) return p;
    p = json_skip(p);
    if (p == NULL) return NULL;
    p = skip_ws(p);
    if (*p != ',') return NULL;
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Workers: take the next URL, fetch it with a deadline, record the outcome   */
/* ------------------------------------------------------------------------ */

/* A worker's frame: what lives across its await. */
struct worker {
  struct app *app;
  int i; /* the URL being fetched */
  int rc;
  int timed_out;      /* the deadline (not something else) cancelled the request */
  tide_future reply;  /* the host operation's future */
  tide_call deadline; /* the one-shot call that cancels it */
};

/* The deadline: cancel the host operation. That runs its cancel hook inside
 * this call, which tells the host to abort http_get's signal. If the reply won
 * the race (it completed earlier in this tick), cancelling returns
 * TIDE_EALREADY and the request did not time out. */
static void on_deadline(tide_loop *loop, void *ud) {
  struct worker *w = ud;
  (void)loop;
  if (tide_future_cancel(&w->reply) == 0) w->timed_out = 1;
}

/* Write the outcome of URL w->i (rc: the await's result) into its result. */
static void record(struct worker *w) {
  struct app *app = w->app;
  struct result *r = &app->results[w->i];
  const char *path = url_path(app->urls[w->i]);
  tide_value v;

  if (w->timed_out) {
    snprintf(r->line, sizeof r->line, "%-8s timed out after %llu ms", path,
             (unsigned long long)app->timeout_ms);
    r->failed = 1;
    return;
  }
  if (w->rc != 0) {
    /* Reading the message marks the error observed (else releasing the future
     * would report it to the loop's error handler). */
    const char *msg = tide_future_error_message(&w->reply);
    snprintf(r->line, sizeof r->line, "%-8s failed: %s: %s", path, tide_err_name(w->rc),
             msg != NULL ? msg : tide_strerror(w->rc));
    r->failed = 1;
    return;
  }
  /* A JS object comes as JSON text, owned by the future and NUL-terminated. */
  (void)tide_future_result(&w->reply, &v);
  const char *json = v.type == TIDE_VALUE_JSON ? v.as.bytes.data : "";
  const char *status = json_get(json, "status");
  const char *body = json_get(json, "body");
  char text[SHOW_BODY + 1];
  size_t len = 0;
  if (status == NULL || body == NULL ||
      json_string(body, text, sizeof text, &len) == NULL) {
    snprintf(r->line, sizeof r->line,
             "%-8s failed: http_get returned no {status, body}", path);
    r->failed = 1;
    return;
  }
  r->failed = 0;
  for (char *c = text; *c != '\0'; c++)
    if ((unsigned char)*c < ' ') *c = ' '; /* one result, one line */
  snprintf(r->line, sizeof r->line, "%-8s %d, %zu bytes: %s%s", path, atoi(status), len,
           text, len > SHOW_BODY ? "..." : "");
}

static int worker_main(tide_task *t, void *frame) {
  struct worker *w = frame;
  struct app *app = w->app;
  TIDE_BEGIN(t);
  while (app->next < app->nurls) {
    w->i = app->next++;
    w->timed_out = 0;
    tide_future_init(app->loop, &w->reply);
    {
      tide_value url = tide_value_string(app->urls[w->i]); /* copied by the call */
      w->rc = tide_host_call(app->loop, "http_get", &url, 1, &w->reply);
    }
    if (w->rc == 0) {
      w->rc = tide_call_later(app->loop, app->timeout_ms, on_deadline, w, &w->deadline);
      if (w->rc != 0) (void)tide_future_cancel(&w->reply); /* no deadline: give up */
    }
    if (w->rc == 0) {
      if (++app->in_flight > app->peak) app->peak = app->in_flight;
      TIDE_AWAIT(t, &w->reply, w->rc);
      app->in_flight--;
      (void)tide_call_cancel(app->loop, w->deadline); /* TIDE_EALREADY if it fired */
    }
    record(w);
    tide_future_release(&w->reply);
    /* This task is being cancelled (by the main task; the awaited future was
     * cancelled with it): stop here. A request the host cancelled by itself
     * (rt.close() in JS cancels every host call in flight) is just a failed
     * request, recorded above. */
    if (tide_task_cancelling(t)) TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  TIDE_END(t);
}

/* ------------------------------------------------------------------------ */
/* The main task: start the workers, wait for them, print the results         */
/* ------------------------------------------------------------------------ */

struct main_frame {
  struct app *app;
  tide_task *workers[MAX_JOBS];
  unsigned nworkers, i;
  int rc;
  int cancelled;
};

static void main_cleanup(void *frame) {
  struct main_frame *m = frame;
  tide_loop_dealloc(m->app->loop, m->app->results);
  tide_loop_dealloc(m->app->loop, m->app);
}

static int main_task(tide_task *t, void *frame) {
  struct main_frame *m = frame;
  struct app *app = m->app;
  TIDE_BEGIN(t);
  printf("fetching %d URLs, at most %u at a time, %llu ms timeout each\n", app->nurls,
         app->jobs, (unsigned long long)app->timeout_ms);
  fflush(stdout);

  for (m->nworkers = 0; m->nworkers < app->jobs && (int)m->nworkers < app->nurls;
       m->nworkers++) {
    struct worker init;
    memset(&init, 0, sizeof init);
    init.app = app;
    m->rc = tide_task_spawn(app->loop, worker_main, &init, sizeof init,
                            &m->workers[m->nworkers]);
    if (m->rc != 0) break; /* fewer workers: slower, still correct */
  }
  if (m->nworkers == 0) TIDE_RETURN_ERROR(t, m->rc, "cannot start a worker");

  for (m->i = 0; m->i < m->nworkers; m->i++) {
    TIDE_AWAIT(t, tide_task_future(m->workers[m->i]), m->rc);
    if (m->rc == TIDE_ECANCELED && tide_task_cancelling(t)) {
      /* We are being cancelled: so is the worker we awaited. Cancel the others
       * too and wait for them, so none outlives the app they share. */
      tide_task_uncancel(t);
      m->cancelled = 1;
      for (unsigned j = m->i + 1; j < m->nworkers; j++)
        (void)tide_task_cancel(m->workers[j]);
    } else if (m->rc != 0 && m->rc != TIDE_ECANCELED) {
      const char *msg = tide_future_error_message(tide_task_future(m->workers[m->i]));
      fprintf(stderr, "fetch: a worker failed: %s\n", msg != NULL ? msg : "?");
    }
  }
  for (m->i = 0; m->i < m->nworkers; m->i++)
    tide_task_release(m->workers[m->i]);
  if (m->cancelled) TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);

  {
    int failed = 0;
    for (int i = 0; i < app->nurls; i++) {
      printf("%s\n", app->results[i].line);
      failed += app->results[i].failed;
    }
    printf("%d of %d got a response, %d failed; at most %u requests were in flight\n",
           app->nurls - failed, app->nurls, failed, app->peak);
    fflush(stdout);
    tide_main_exit(app->loop, failed ? 1 : 0);
  }
  TIDE_END(t);
}

/* ------------------------------------------------------------------------ */
/* Setup: options, then the main task                                        */
/* ------------------------------------------------------------------------ */

/* A usage error is not a failure of setup: the program just has nothing to do
 * and exits with status 2. */
static int usage(tide_loop *loop, const char *why) {
  fprintf(stderr, "fetch: %s\nusage: fetch [-j K] [-t MS] URL...\n", why);
  tide_main_exit(loop, 2);
  return 0;
}

/* A decimal number in [1, max]; 0 on success. */
static int parse_count(const char *s, unsigned long max, unsigned long *out) {
  char *end;
  unsigned long v;
  if (s == NULL || *s < '0' || *s > '9') return -1;
  v = strtoul(s, &end, 10);
  if (*end != '\0' || v < 1 || v > max) return -1;
  *out = v;
  return 0;
}

static int setup(tide_loop *loop, int argc, char **argv) {
  unsigned long jobs = DEFAULT_JOBS, timeout_ms = DEFAULT_TIMEOUT_MS;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i += 2) {
    if (strcmp(argv[i], "-j") == 0) {
      if (parse_count(argv[i + 1], MAX_JOBS, &jobs) != 0)
        return usage(loop, "-j takes 1 to 16");
    } else if (strcmp(argv[i], "-t") == 0) {
      if (parse_count(argv[i + 1], MAX_TIMEOUT_MS, &timeout_ms) != 0)
        return usage(loop, "-t takes a number of ms");
    } else {
      return usage(loop, "unknown option");
    }
  }
  if (i >= argc) return usage(loop, "no URLs");

  struct app *app = tide_loop_alloc(loop, sizeof *app);
  struct result *results = tide_loop_alloc(loop, sizeof *results * (size_t)(argc - i));
  if (app == NULL || results == NULL) {
    tide_loop_dealloc(loop, app);
    tide_loop_dealloc(loop, results);
    return TIDE_ENOMEM;
  }
  memset(app, 0, sizeof *app);
  for (int k = 0; k < argc - i; k++) {
    /* What a URL no worker got to says (the program was cancelled first). */
    snprintf(results[k].line, sizeof results[k].line, "%-8s not fetched",
             url_path(argv[i + k]));
    results[k].failed = 1;
  }
  app->loop = loop;
  app->jobs = (unsigned)jobs;
  app->timeout_ms = timeout_ms;
  app->nurls = argc - i;
  app->urls = argv + i;
  app->results = results;

  /* The main task is detached: it frees itself when done, and its cleanup
   * frees the app (also if it is cancelled before it ever ran). */
  tide_task *task;
  struct main_frame init;
  memset(&init, 0, sizeof init);
  init.app = app;
  int rc = tide_task_spawn(loop, main_task, &init, sizeof init, &task);
  if (rc != 0) {
    main_cleanup(&init);
    return rc;
  }
  tide_task_set_cleanup(task, main_cleanup);
  tide_task_set_name(task, "fetch-main");
  tide_task_release(task);
  return 0;
}

TIDE_MAIN(setup)
