/* test-diag.c: the diagnostics a user reads: the task dump (name, state, what
 * each task awaits, where it was created), the trace export (valid Chrome
 * trace-event JSON with the events and tracks a viewer needs, bounded, with
 * odd names escaped), writer errors, and allocation failures. The exact
 * slow-callback reports need a clock: test-fake-diag.c. */
#include <stdlib.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

/* --- Output capture --------------------------------------------------------- */

typedef struct sink {
  char *buf;
  size_t len;
  size_t cap;
  int calls;
  int fail_at; /* return 7 from this call (1-based); 0: never */
} sink;

static int sink_write(const char *data, size_t len, void *ud) {
  sink *s = ud;
  if (++s->calls == s->fail_at) return 7;
  if (s->len + len + 1 > s->cap) {
    size_t cap = (s->len + len + 1) * 2;
    char *grown = realloc(s->buf, cap);
    ASSERT_NOT_NULL(grown);
    s->buf = grown;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, len);
  s->len += len;
  s->buf[s->len] = '\0';
  return 0;
}

static void sink_free(sink *s) {
  free(s->buf);
  memset(s, 0, sizeof *s);
}

/* --- A small JSON parser: enough to prove the export parses and to look at it */

enum { J_OBJ = 1, J_ARR, J_STR, J_NUM, J_LIT };

typedef struct jnode {
  int type;
  const char *s; /* J_STR: the raw contents between the quotes; J_NUM: text */
  size_t len;
  const char *key; /* member name (raw) if inside an object */
  size_t keylen;
  int child; /* first child, -1 if none */
  int next;  /* next sibling, -1 if none */
} jnode;

#define J_MAX 60000
static jnode jnodes[J_MAX];

typedef struct jparser {
  const char *p;
  const char *end;
  int n;
  int ok;
} jparser;

static void jws(jparser *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
    j->p++;
}

static int jstring(jparser *j, const char **out, size_t *len) {
  if (j->p >= j->end || *j->p != '"') return 0;
  const char *start = ++j->p;
  while (j->p < j->end && *j->p != '"') {
    unsigned char c = (unsigned char)*j->p;
    if (c < 0x20) return 0;
    if (c == '\\') {
      j->p++;
      if (j->p >= j->end) return 0;
      if (*j->p == 'u') {
        for (int i = 0; i < 4; i++) {
          j->p++;
          if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p)) return 0;
        }
      } else if (!strchr("\"\\/bfnrt", *j->p)) {
        return 0;
      }
    }
    j->p++;
  }
  if (j->p >= j->end) return 0;
  *out = start;
  *len = (size_t)(j->p - start);
  j->p++;
  return 1;
}

static int jvalue(jparser *j, int depth);

static int jnew(jparser *j, int type) {
  if (j->n >= J_MAX) return -1;
  jnode *n = &jnodes[j->n];
  memset(n, 0, sizeof *n);
  n->type = type;
  n->child = n->next = -1;
  return j->n++;
}

static int jvalue(jparser *j, int depth) {
  jws(j);
  if (j->p >= j->end || depth > 32) return -1;
  char c = *j->p;
  if (c == '{' || c == '[') {
    int self = jnew(j, c == '{' ? J_OBJ : J_ARR), last = -1;
    if (self < 0) return -1;
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
      j->p++;
      return self;
    }
    for (;;) {
      const char *key = NULL;
      size_t keylen = 0;
      jws(j);
      if (c == '{') {
        if (!jstring(j, &key, &keylen)) return -1;
        jws(j);
        if (j->p >= j->end || *j->p != ':') return -1;
        j->p++;
      }
      int child = jvalue(j, depth + 1);
      if (child < 0) return -1;
      jnodes[child].key = key;
      jnodes[child].keylen = keylen;
      if (last < 0)
        jnodes[self].child = child;
      else
        jnodes[last].next = child;
      last = child;
      jws(j);
      if (j->p < j->end && *j->p == ',') {
        j->p++;
        continue;
      }
      if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
        j->p++;
        return self;
      }
      return -1;
    }
  }
  if (c == '"') {
    int self = jnew(j, J_STR);
    if (self < 0 || !jstring(j, &jnodes[self].s, &jnodes[self].len)) return -1;
    return self;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    int self = jnew(j, J_NUM);
    const char *start = j->p;
    if (*j->p == '-') j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return -1;
    while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
      j->p++;
    jnodes[self].s = start;
    jnodes[self].len = (size_t)(j->p - start);
    return self;
  }
  static const char *const lits[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(lits[i]);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i], n) == 0) {
      j->p += n;
      return jnew(j, J_LIT);
    }
  }
  return -1;
}

/* Parse a whole document; the root node index, or a test failure. */
static int json_parse(const char *text, size_t len) {
  jparser j = {text, text + len, 0, 1};
  int root = jvalue(&j, 0);
  jws(&j);
  if (root < 0 || j.p != j.end)
    test__fail(__FILE__, __LINE__, "invalid JSON near byte %ld: %.60s",
               (long)(j.p - text), j.p);
  return root;
}

static int jget(int obj, const char *key) {
  for (int c = jnodes[obj].child; c >= 0; c = jnodes[c].next)
    if (jnodes[c].keylen == strlen(key) &&
        memcmp(jnodes[c].key, key, jnodes[c].keylen) == 0)
      return c;
  return -1;
}

static int jstr_is(int node, const char *s) {
  return node >= 0 && jnodes[node].type == J_STR && jnodes[node].len == strlen(s) &&
         memcmp(jnodes[node].s, s, jnodes[node].len) == 0;
}

static long long jnum(int node) {
  ASSERT(node >= 0 && jnodes[node].type == J_NUM);
  return strtoll(jnodes[node].s, NULL, 10);
}

/* What a trace viewer needs: {"traceEvents":[...]} whose events each have ph,
 * pid and tid (numbers), ts unless metadata, dur for X, and B/E balanced per
 * track (an E never without its B). Returns the traceEvents array node. */
static int check_trace(const sink *s) {
  int root = json_parse(s->buf, s->len);
  ASSERT_EQ(jnodes[root].type, J_OBJ);
  int events = jget(root, "traceEvents");
  ASSERT(events >= 0 && jnodes[events].type == J_ARR);
  enum { MAX_TRACKS = 256 };
  long long tids[MAX_TRACKS];
  int depth[MAX_TRACKS], ntracks = 0;
  for (int e = jnodes[events].child; e >= 0; e = jnodes[e].next) {
    ASSERT_EQ(jnodes[e].type, J_OBJ);
    int ph = jget(e, "ph");
    ASSERT(ph >= 0 && jnodes[ph].type == J_STR && jnodes[ph].len == 1);
    ASSERT_EQ(jnum(jget(e, "pid")), 1);
    long long tid = jnum(jget(e, "tid"));
    char kind = jnodes[ph].s[0];
    ASSERT(strchr("MBEXi", kind) != NULL);
    ASSERT(jget(e, "ts") >= 0);
    ASSERT_GE(jnum(jget(e, "ts")), 0);
    if (kind == 'X') ASSERT_GE(jnum(jget(e, "dur")), 0);
    if (kind == 'M' || kind == 'B' || kind == 'X' || kind == 'i')
      ASSERT(jget(e, "name") >= 0);
    if (kind == 'B' || kind == 'E') {
      int k = 0;
      while (k < ntracks && tids[k] != tid)
        k++;
      if (k == ntracks) {
        ASSERT_LT(ntracks, MAX_TRACKS);
        tids[ntracks] = tid;
        depth[ntracks++] = 0;
      }
      depth[k] += kind == 'B' ? 1 : -1;
      ASSERT_GE(depth[k], 0);
    }
  }
  return events;
}

/* How many events have ph `ph` and name `name` (NULL: any name). */
static int count_events(int events, const char *ph, const char *name) {
  int n = 0;
  for (int e = jnodes[events].child; e >= 0; e = jnodes[e].next)
    if (jstr_is(jget(e, "ph"), ph) && (name == NULL || jstr_is(jget(e, "name"), name)))
      n++;
  return n;
}

/* 1 if some metadata event names track tid `name`. */
static int track_named(int events, long long tid, const char *name) {
  for (int e = jnodes[events].child; e >= 0; e = jnodes[e].next) {
    if (!jstr_is(jget(e, "ph"), "M") || jnum(jget(e, "tid")) != tid) continue;
    int args = jget(e, "args");
    if (args >= 0 && jstr_is(jget(args, "name"), name)) return 1;
  }
  return 0;
}

/* --- Tasks used by the scenarios ---------------------------------------------- */

#define HOUR_MS (3600u * 1000u)

/* Takes the lock, then waits on it again (so it waits forever on itself until
 * cancelled), or with `sleep` sleeps for an hour. */
struct actor {
  tide_lock *lock;
  tide_task *child; /* awaited instead, when set */
  int sleep;
  int fail; /* end with TIDE_EIO at once */
  int rc;
  tide_future f;
};

static int actor_main(tide_task *t, void *frame) {
  struct actor *a = frame;
  TIDE_BEGIN(t);
  if (a->fail) TIDE_RETURN_ERROR(t, TIDE_EIO, "disk on fire");
  if (a->sleep) {
    TIDE_SLEEP(t, HOUR_MS, a->rc);
  } else if (a->child != NULL) {
    TIDE_AWAIT(t, tide_task_future(a->child), a->rc);
  } else if (a->lock != NULL) {
    tide_future_init(tide_task_loop(t), &a->f);
    ASSERT_OK(tide_lock_acquire(a->lock, &a->f));
    TIDE_AWAIT(t, &a->f, a->rc);
    tide_future_release(&a->f);
    if (a->rc == 0) tide_lock_release(a->lock);
  }
  TIDE_END(t);
}

/* Dumps the tasks from inside a task (it shows as running). */
static int dumper_main(tide_task *t, void *frame) {
  sink *s = *(sink **)frame;
  TIDE_BEGIN(t);
  ASSERT_OK(tide_loop_dump_tasks(tide_task_loop(t), sink_write, s));
  TIDE_END(t);
}

static int noop_main(tide_task *t, void *frame) {
  (void)frame;
  TIDE_BEGIN(t);
  TIDE_END(t);
}

static int line_count(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

TEST(diag_dump_tasks_content) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_lock lock;
  tide_task *locker, *sleeper, *parent, *fresh, *failed, *plain;
  struct actor init;
  sink s = {0}, inside = {0};
  sink *inside_ptr = &inside;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));

  ASSERT_OK(
      tide_task_spawn(&loop, dumper_main, &inside_ptr, sizeof inside_ptr, &plain));
  tide_task_set_name(plain, "plain");
  memset(&init, 0, sizeof init);
  init.lock = &lock;
  ASSERT_OK(TIDE_SPAWN(&loop, actor_main, &init, sizeof init, &locker));
  int locker_line = __LINE__ - 1;
  tide_task_set_name(locker, "locker");
  memset(&init, 0, sizeof init);
  init.sleep = 1;
  ASSERT_OK(TIDE_SPAWN(&loop, actor_main, &init, sizeof init, &sleeper));
  tide_task_set_name(sleeper, "sleeper");
  memset(&init, 0, sizeof init);
  init.child = sleeper;
  ASSERT_OK(TIDE_SPAWN(&loop, actor_main, &init, sizeof init, &parent));
  tide_task_set_name(parent, "parent");
  memset(&init, 0, sizeof init);
  init.fail = 1;
  ASSERT_OK(TIDE_SPAWN(&loop, actor_main, &init, sizeof init, &failed));
  tide_task_set_name(failed, "failed");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* the sleeper keeps it alive */
  memset(&init, 0, sizeof init);
  ASSERT_OK(TIDE_SPAWN(&loop, actor_main, &init, sizeof init, &fresh));
  tide_task_set_name(fresh, "fresh");

  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  ASSERT_EQ(line_count(s.buf), 6);
  char expect[512];
  snprintf(expect, sizeof expect, "\nlocker waiting awaiting=lock created=%s:%d\n",
           __FILE__, locker_line);
  ASSERT_NOT_NULL(strstr(s.buf, expect));
  ASSERT(strstr(s.buf, "plain done awaiting=none created=?\n") ==
         s.buf); /* oldest first */
  ASSERT_NOT_NULL(strstr(s.buf, "\nsleeper sleeping awaiting=sleep created="));
  ASSERT_NOT_NULL(strstr(s.buf, "\nparent waiting awaiting=task:sleeper created="));
  ASSERT_NOT_NULL(strstr(s.buf, "\nfailed failed awaiting=none created="));
  ASSERT_NOT_NULL(strstr(s.buf, "\nfresh new awaiting=none created="));
  ASSERT_NOT_NULL(strstr(s.buf, "test-diag.c:"));
  /* Seen from inside: the dumper was running, the others not yet started. */
  ASSERT(strstr(inside.buf, "plain running awaiting=none created=?\n") == inside.buf);
  ASSERT_NOT_NULL(strstr(inside.buf, "\nlocker new awaiting=none"));
  ASSERT_EQ(line_count(inside.buf), 5);

  ASSERT_OK(tide_task_cancel(parent)); /* cancels the sleeper it awaits */
  ASSERT_OK(tide_task_cancel(locker));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  sink_free(&s);
  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  ASSERT_NOT_NULL(strstr(s.buf, "locker cancelled awaiting=none"));
  ASSERT_NOT_NULL(strstr(s.buf, "fresh done awaiting=none"));
  tide_future_result(tide_task_future(failed), NULL);
  tide_task *all[] = {locker, sleeper, parent, fresh, failed, plain};
  for (size_t i = 0; i < TEST_ARRAY_SIZE(all); i++)
    tide_task_release(all[i]);
  sink_free(&s);
  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  ASSERT_EQ(s.len, 0); /* no task left */
  sink_free(&s);
  sink_free(&inside);
  tide_lock_release(&lock);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Sleeps a little, then awaits fut. */
struct nap_frame {
  tide_future *fut;
  int rc;
};

static int nap_then_await_main(tide_task *t, void *frame) {
  struct nap_frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 1, f->rc);
  TIDE_AWAIT(t, f->fut, f->rc);
  TIDE_END(t);
}

/* What a task keeps in its side block, made on first use (a name, where
 * TIDE_SPAWN was called), is all that tells a dump line apart: a task without
 * one is "task-<n>" created "?", and asking for its name (which makes the
 * block) changes nothing. The dump makes no block itself: it allocates
 * nothing. One task, seen sleeping and then waiting. */
TEST(diag_dump_tasks_with_and_without_side_block) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_future fut;
  tide_task *plain, *sited, *named;
  sink s = {0};
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &fut);
  struct nap_frame init = {&fut, 0};
  ASSERT_OK(tide_task_spawn(&loop, nap_then_await_main, &init, sizeof init, &plain));
  ASSERT_OK(TIDE_SPAWN(&loop, nap_then_await_main, &init, sizeof init, &sited));
  int sited_line = __LINE__ - 1;
  ASSERT_OK(tide_task_spawn(&loop, nap_then_await_main, &init, sizeof init, &named));
  tide_task_set_name(named, "named");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1); /* all three asleep */

  size_t allocs = a.count;
  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  ASSERT_EQ(a.count, allocs);
  char expect[512];
  snprintf(expect, sizeof expect,
           "task-1 sleeping awaiting=sleep created=?\n"
           "task-2 sleeping awaiting=sleep created=%s:%d\n"
           "named sleeping awaiting=sleep created=?\n",
           __FILE__, sited_line);
  ASSERT_STR_EQ(s.buf, expect);

  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* all three await fut */
  ASSERT_STR_EQ(tide_task_name(plain), "task-1");
  sink_free(&s);
  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  snprintf(expect, sizeof expect,
           "task-1 waiting awaiting=future created=?\n"
           "task-2 waiting awaiting=future created=%s:%d\n"
           "named waiting awaiting=future created=?\n",
           __FILE__, sited_line);
  ASSERT_STR_EQ(s.buf, expect);

  ASSERT_OK(tide_future_set_none(&fut));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_task_release(plain);
  tide_task_release(sited);
  tide_task_release(named);
  tide_future_release(&fut);
  sink_free(&s);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(diag_dump_stops_on_writer_error) {
  tide_loop loop;
  sink s = {0};
  tide_task *t[200];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 200; i++)
    ASSERT_OK(tide_task_spawn(&loop, noop_main, NULL, 0, &t[i]));
  s.fail_at = 2; /* 200 lines need several 1 KiB chunks */
  ASSERT_EQ(tide_loop_dump_tasks(&loop, sink_write, &s), 7);
  ASSERT_EQ(s.calls, 2);
  for (int i = 0; i < 200; i++)
    tide_task_release(t[i]);
  sink_free(&s);
  RUN_AND_CLOSE_LOOP(&loop);
}

/* --- Trace ------------------------------------------------------------------- */

/* A producer/consumer scenario with a lock, a cancellation and a failure. */
static void trace_scenario(tide_loop *loop, tide_lock *lock) {
  tide_task *t[4];
  struct actor init;
  memset(&init, 0, sizeof init);
  init.lock = lock;
  ASSERT_OK(tide_lock_try_acquire(lock));
  ASSERT_OK(TIDE_SPAWN(loop, actor_main, &init, sizeof init, &t[0]));
  tide_task_set_name(t[0], "waits \"for\" the\\lock");
  ASSERT_OK(TIDE_SPAWN(loop, actor_main, &init, sizeof init, &t[1]));
  tide_task_set_name(t[1], "second");
  memset(&init, 0, sizeof init);
  init.sleep = 1;
  ASSERT_OK(TIDE_SPAWN(loop, actor_main, &init, sizeof init, &t[2]));
  tide_task_set_name(t[2], "sleeper\t\xc3\xa9\xe2\x82");
  memset(&init, 0, sizeof init);
  init.fail = 1;
  ASSERT_OK(TIDE_SPAWN(loop, actor_main, &init, sizeof init, &t[3]));
  tide_task_set_name(t[3], "failing");
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_task_cancel(t[2]));
  ASSERT_OK(tide_lock_release(lock));
  ASSERT_EQ(tide_loop_run(loop, TIDE_RUN_DEFAULT), 0);
  tide_future_result(tide_task_future(t[3]), NULL);
  for (int i = 0; i < 4; i++)
    tide_task_release(t[i]);
}

TEST(diag_trace_exports_valid_chrome_json) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_lock lock;
  sink s = {0};
  size_t recorded, dropped;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_lock_init(&loop, &lock);
  ASSERT_ERR(tide_loop_trace_export(&loop, sink_write, &s), TIDE_ESTATE);
  ASSERT_ERR(tide_loop_trace_start(&loop, 0), TIDE_EINVAL);
  ASSERT_OK(tide_loop_trace_start(&loop, 1000));
  trace_scenario(&loop, &lock);
  tide_loop_trace_stop(&loop);
  tide_loop_trace_counts(&loop, &recorded, &dropped);
  ASSERT_GT(recorded, 10);
  ASSERT_EQ(dropped, 0);
  ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
  int events = check_trace(&s);
  /* A life slice per task (4 B, 4 E), steps as X, the waits and the cancel. */
  ASSERT_EQ(count_events(events, "B", "life"), 4);
  ASSERT_EQ(count_events(events, "E", NULL), 4);
  ASSERT_GE(count_events(events, "X", "second"), 2);
  ASSERT_EQ(count_events(events, "i", "await lock"), 2);
  ASSERT_EQ(count_events(events, "i", "sleep"), 1);
  ASSERT_EQ(count_events(events, "i", "cancel"), 1);
  ASSERT_GE(count_events(events, "i", "wake"), 2);
  ASSERT_NOT_NULL(strstr(s.buf, "\"outcome\":\"failed\""));
  ASSERT_NOT_NULL(strstr(s.buf, "\"outcome\":\"cancelled\""));
  /* Tracks are named after the tasks, escaped; a cut UTF-8 sequence is '?'. */
  ASSERT(track_named(events, 1, "waits \\\"for\\\" the\\\\lock"));
  ASSERT(track_named(events, 2, "second"));
  ASSERT(track_named(events, 3, "sleeper\\u0009\xc3\xa9??"));
  ASSERT(track_named(events, 0, "tideloop"));
  /* Stopped: nothing more is recorded; the export still works. */
  trace_scenario(&loop, &lock);
  size_t again;
  tide_loop_trace_counts(&loop, &again, NULL);
  ASSERT_EQ(again, recorded);
  /* Restarted: the earlier events are gone. */
  ASSERT_OK(tide_loop_trace_start(&loop, 1000));
  tide_loop_trace_counts(&loop, &again, NULL);
  ASSERT_EQ(again, 0);
  sink_free(&s);
  ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
  check_trace(&s);
  sink_free(&s);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop); /* frees the trace */
  ASSERT_NO_LEAKS(&a);
}

/* Started while tasks live: their ends are not recorded without their starts,
 * their steps are; the export stays balanced. */
TEST(diag_trace_started_midway) {
  tide_loop loop;
  tide_lock lock;
  tide_task *t[2];
  struct actor init;
  sink s = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_lock_try_acquire(&lock));
  memset(&init, 0, sizeof init);
  init.lock = &lock;
  ASSERT_OK(tide_task_spawn(&loop, actor_main, &init, sizeof init, &t[0]));
  tide_task_set_name(t[0], "early");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_trace_start(&loop, 100));
  ASSERT_OK(tide_task_spawn(&loop, actor_main, &init, sizeof init, &t[1]));
  tide_task_set_name(t[1], "late");
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_lock_release(&lock));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
  int events = check_trace(&s);
  ASSERT_EQ(count_events(events, "B", "life"), 1);
  ASSERT_EQ(count_events(events, "E", NULL), 1);
  ASSERT_EQ(count_events(events, "X", "early"), 1);
  ASSERT_GE(count_events(events, "X", "late"), 2);
  ASSERT(track_named(events, 1, "early")); /* still alive: named anyway */
  for (int i = 0; i < 2; i++)
    tide_task_release(t[i]);
  sink_free(&s);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

/* A small buffer keeps the first events and counts the rest; the export stays
 * valid (no E without its B). */
TEST(diag_trace_bounded_buffer_drops_newest) {
  tide_loop loop;
  tide_lock lock;
  sink s = {0};
  size_t recorded, dropped;
  size_t total;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_loop_trace_start(&loop, 1000));
  trace_scenario(&loop, &lock);
  tide_loop_trace_counts(&loop, &total, NULL);
  for (size_t cap = 1; cap <= total + 1; cap += 2) {
    ASSERT_OK(tide_loop_trace_start(&loop, cap));
    trace_scenario(&loop, &lock);
    tide_loop_trace_counts(&loop, &recorded, &dropped);
    ASSERT_EQ(recorded, cap < total ? cap : total);
    ASSERT_EQ(dropped, total - recorded);
    ASSERT_OK(tide_loop_trace_export(&loop, sink_write, &s));
    check_trace(&s);
    sink_free(&s);
  }
  tide_loop_trace_stop(&loop);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

TEST(diag_trace_export_writer_error) {
  tide_loop loop;
  tide_lock lock;
  sink s = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_lock_init(&loop, &lock);
  ASSERT_OK(tide_loop_trace_start(&loop, 500));
  trace_scenario(&loop, &lock);
  s.fail_at = 1;
  ASSERT_EQ(tide_loop_trace_export(&loop, sink_write, &s), 7);
  ASSERT_EQ(s.calls, 1);
  sink_free(&s);
  tide_lock_destroy(&lock);
  CLOSE_LOOP(&loop);
}

/* trace_start and set_debug allocate: each failure is reported, changes
 * nothing (an earlier trace stays) and leaks nothing. */
TEST(diag_alloc_failure_walk) {
  for (size_t n = 1; n <= 2; n++) { /* the state, then the events */
    test_alloc a;
    test_alloc_init(&a);
    tide_loop_options opts = test_alloc_options(&a);
    tide_loop loop;
    tide_lock lock;
    size_t recorded;
    int rc;
    ASSERT_OK(tide_loop_init(&loop, &opts));
    tide_lock_init(&loop, &lock);
    test_alloc_fail_in(&a, n);
    rc = tide_loop_trace_start(&loop, 100);
    if (rc == TIDE_ENOMEM) {
      tide_loop_trace_counts(&loop, &recorded, NULL);
      ASSERT_EQ(recorded, 0);
      ASSERT_OK(tide_loop_trace_start(&loop, 100));
    } else {
      ASSERT_OK(rc);
    }
    test_alloc_disarm(&a);
    trace_scenario(&loop, &lock);
    tide_loop_trace_counts(&loop, &recorded, NULL);
    ASSERT_GT(recorded, 0);
    test_alloc_fail_in(&a, 1);
    ASSERT_ERR(tide_loop_trace_start(&loop, 200), TIDE_ENOMEM);
    size_t still;
    tide_loop_trace_counts(&loop, &still, NULL);
    ASSERT_EQ(still, recorded);                 /* the earlier trace stays */
    ASSERT_OK(tide_loop_set_debug(&loop, 100)); /* the state exists already */
    test_alloc_disarm(&a);
    tide_lock_destroy(&lock);
    CLOSE_LOOP(&loop);
    ASSERT_NO_LEAKS(&a);
  }
  {
    test_alloc a;
    test_alloc_init(&a);
    tide_loop_options opts = test_alloc_options(&a);
    tide_loop loop;
    ASSERT_OK(tide_loop_init(&loop, &opts));
    test_alloc_fail_in(&a, 1);
    ASSERT_ERR(tide_loop_set_debug(&loop, 100), TIDE_ENOMEM);
    ASSERT_OK(tide_loop_set_debug(&loop, 0)); /* off never allocates */
    ASSERT_OK(tide_loop_set_debug(&loop, 100));
    CLOSE_LOOP(&loop);
    ASSERT_NO_LEAKS(&a);
  }
}

/* TIDE_SPAWN behaves as tide_task_spawn (out_task NULL: detached). */
TEST(diag_spawn_macro_detached) {
  tide_loop loop;
  sink s = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(TIDE_SPAWN(&loop, noop_main, NULL, 0, NULL));
  ASSERT_OK(tide_loop_dump_tasks(&loop, sink_write, &s));
  ASSERT_NOT_NULL(strstr(s.buf, "task-1 new awaiting=none created="));
  ASSERT_NOT_NULL(strstr(s.buf, "test-diag.c:"));
  ASSERT_ERR(TIDE_SPAWN(&loop, NULL, NULL, 0, NULL), TIDE_EINVAL);
  sink_free(&s);
  ASSERT_OK(tide_task_spawn(&loop, noop_main, NULL, 0, NULL)); /* unchanged API */
  RUN_AND_CLOSE_LOOP(&loop);
}
