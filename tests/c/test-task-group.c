/* test-task-group.c: task groups (structured concurrency): the wait ends after
 * every child; the first failure cancels the siblings and interrupts the
 * parent's body; every error is reported; spawning is refused once shutting
 * down; release never leaves a child dangling; out of memory at every site.
 * Ordering only (any clock). */
#include "alloc.h"
#include "test.h"
#include "util.h"

#define HOUR_MS (3600 * 1000)

/* --- a child: yields, sleeps or awaits a gate, then succeeds or fails ------- */

enum { WK_START = 1, WK_OK = 2, WK_FAIL = 3, WK_SAW_CANCEL = 4, WK_CLEANED = 5 };

struct kid {
  test_log *log;
  int id;
  tide_future *gate;
  int64_t sleep_ms;
  int steps;
  int fail;
  int fail_on_cancel; /* end with this error after a cancellation */
  int cleanup;
  tide_task_group *spawn_into; /* spawn `extra` into this group first */
  struct kid *extra;
  int rc;
  int i;
};

static int kid_main(tide_task *t, void *frame) {
  struct kid *k = frame;
  TIDE_BEGIN(t);
  test_log_push(k->log, k->id * 10 + WK_START);
  if (k->spawn_into != NULL)
    ASSERT_OK(tide_task_group_spawn(k->spawn_into, kid_main, k->extra, sizeof *k->extra, NULL));
  k->rc = 0;
  if (k->gate != NULL) {
    TIDE_AWAIT(t, k->gate, k->rc);
  } else if (k->sleep_ms > 0) {
    TIDE_SLEEP(t, (uint64_t)k->sleep_ms, k->rc);
  } else {
    for (k->i = 0; k->i < k->steps && k->rc == 0; k->i++) TIDE_YIELD(t, k->rc);
  }
  if (k->rc == TIDE_ECANCELED) {
    test_log_push(k->log, k->id * 10 + WK_SAW_CANCEL);
    for (k->i = 0; k->i < k->cleanup; k->i++) TIDE_YIELD(t, k->rc);
    test_log_push(k->log, k->id * 10 + WK_CLEANED);
    if (k->fail_on_cancel) TIDE_RETURN_ERROR(t, k->fail_on_cancel, "failed in cleanup");
    TIDE_RETURN_ERROR(t, TIDE_ECANCELED, NULL);
  }
  if (k->fail) {
    test_log_push(k->log, k->id * 10 + WK_FAIL);
    TIDE_RETURN_ERROR(t, k->fail, k->id == 1 ? "one failed" : "another failed");
  }
  test_log_push(k->log, k->id * 10 + WK_OK);
  TIDE_RETURN_INT(t, k->id * 100);
  TIDE_END(t);
}

static struct kid kid_init(test_log *log, int id, int steps) {
  struct kid k;
  memset(&k, 0, sizeof k);
  k.log = log;
  k.id = id;
  k.steps = steps;
  return k;
}

/* --- the parent: spawns its kids, has a body, waits on the group ----------- */

struct parent {
  test_log *log;
  struct kid kids[4];
  int nkids;
  int keep;               /* spawn with out_task and read the results */
  tide_task *kid[4];
  int64_t vals[4];
  int64_t body_sleep;     /* the body sleeps this long before the wait */
  tide_task_group g;
  tide_future out;
  int body_rc;
  int spawn_after_body;   /* tide_task_group_spawn's result after the body */
  int cancelling_after_wait_call;
  int rc;
  int rc2;
  char msg[160];
  size_t errors;
  int codes[4];
  char first_msg[64];
};

static int parent_main(tide_task *t, void *frame) {
  struct parent *p = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  tide_task_group_init(loop, &p->g);
  for (int i = 0; i < p->nkids; i++)
    ASSERT_OK(tide_task_group_spawn(&p->g, kid_main, &p->kids[i], sizeof p->kids[i],
                                    p->keep ? &p->kid[i] : NULL));
  test_log_push(p->log, 800);
  p->body_rc = 0;
  if (p->body_sleep > 0) TIDE_SLEEP(t, (uint64_t)p->body_sleep, p->body_rc);
  test_log_push(p->log, 801);
  {
    struct kid late = kid_init(p->log, 9, 0);
    p->spawn_after_body = tide_task_group_spawn(&p->g, kid_main, &late, sizeof late, NULL);
  }
  tide_future_init(loop, &p->out);
  ASSERT_OK(tide_task_group_wait(&p->g, &p->out));
  ASSERT_ERR(tide_task_group_wait(&p->g, &p->out), TIDE_ESTATE);
  p->cancelling_after_wait_call = tide_task_cancelling(t);
  TIDE_AWAIT(t, &p->out, p->rc);
  test_log_push(p->log, 803);
  if (p->rc != 0 && p->rc != TIDE_ECANCELED)
    snprintf(p->msg, sizeof p->msg, "%s", tide_future_error_message(&p->out));
  tide_future_release(&p->out);
  p->errors = tide_task_group_error_count(&p->g);
  for (size_t i = 0; i < p->errors && i < 4; i++) {
    const char *m = NULL;
    ASSERT_OK(tide_task_group_error(&p->g, i, &p->codes[i], &m, NULL));
    if (i == 0) snprintf(p->first_msg, sizeof p->first_msg, "%s", m);
  }
  ASSERT_ERR(tide_task_group_error(&p->g, p->errors, NULL, NULL, NULL), TIDE_ENOENT);
  if (p->keep)
    for (int i = 0; i < p->nkids; i++) {
      tide_value v;
      if (tide_future_result(tide_task_future(p->kid[i]), &v) == 0) p->vals[i] = v.as.i;
    }
  tide_task_group_release(&p->g);
  TIDE_YIELD(t, p->rc2);
  if (p->rc) TIDE_RETURN_ERROR(t, p->rc, NULL);
  TIDE_RETURN_INT(t, 1);
  TIDE_END(t);
}

static struct parent parent_init(test_log *log) {
  struct parent p;
  memset(&p, 0, sizeof p);
  p.log = log;
  p.rc = p.rc2 = p.body_rc = -99;
  return p;
}

static tide_task *spawn_parent(tide_loop *loop, const struct parent *init) {
  tide_task *t;
  ASSERT_OK(tide_task_spawn(loop, parent_main, init, sizeof *init, &t));
  return t;
}

static struct parent *parent_of(tide_task *t) { return tide_task_frame(t); }

/* ============================================================================ */

TEST(group_waits_for_every_child) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  struct parent init = parent_init(&log);
  init.nkids = 3;
  init.keep = 1;
  init.kids[0] = kid_init(&log, 1, 3);
  init.kids[1] = kid_init(&log, 2, 1);
  init.kids[2] = kid_init(&log, 3, 2);
  tide_task *t = spawn_parent(&loop, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct parent *p = parent_of(t);
  /* The late spawn (9) after the body is allowed: the group is still open. */
  ASSERT_LOG(&log, 800, 801, 11, 21, 31, 91, 92, 22, 32, 12, 803);
  ASSERT_EQ(p->rc, 0);
  ASSERT_EQ(p->spawn_after_body, 0);
  ASSERT_EQ(p->errors, 0);
  ASSERT_EQ(p->vals[0], 100);
  ASSERT_EQ(p->vals[1], 200);
  ASSERT_EQ(p->vals[2], 300);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_RESULT);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(group_first_failure_cancels_siblings_after_cleanup) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  struct parent init = parent_init(&log);
  init.nkids = 3;
  init.kids[0] = kid_init(&log, 1, 0);
  init.kids[0].sleep_ms = HOUR_MS;
  init.kids[0].cleanup = 2;
  init.kids[1] = kid_init(&log, 2, 1);
  init.kids[1].fail = TIDE_EPIPE;
  init.kids[2] = kid_init(&log, 3, 0);
  init.kids[2].sleep_ms = HOUR_MS;
  tide_task *t = spawn_parent(&loop, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour: cancelled */
  struct parent *p = parent_of(t);
  /* Both siblings saw the cancellation and cleaned up before the wait ended. */
  ASSERT_LOG(&log, 800, 801, 11, 21, 31, 91, 92, 23, 14, 34, 35, 15, 803);
  ASSERT_ERR(p->rc, TIDE_EPIPE);
  ASSERT_STR_EQ(p->msg, "task group: 1 of 4 tasks failed; first (task-3): another failed");
  ASSERT_EQ(p->errors, 1);
  ASSERT_ERR(p->codes[0], TIDE_EPIPE);
  ASSERT_STR_EQ(p->first_msg, "another failed");
  ASSERT_EQ(p->cancelling_after_wait_call, 0); /* the parent was already waiting */
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_EPIPE);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0); /* every error was observed through the group */
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(group_reports_every_error) {
  tide_loop loop;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  struct parent init = parent_init(&log);
  init.nkids = 2;
  init.kids[0] = kid_init(&log, 1, 1);
  init.kids[0].fail = TIDE_EIO;
  init.kids[1] = kid_init(&log, 2, 1);
  init.kids[1].fail = TIDE_EPIPE;
  tide_task *t = spawn_parent(&loop, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  struct parent *p = parent_of(t);
  ASSERT_ERR(p->rc, TIDE_EIO);
  ASSERT_STR_EQ(p->msg, "task group: 2 of 3 tasks failed; first (task-2): one failed");
  ASSERT_EQ(p->errors, 2);
  ASSERT_ERR(p->codes[0], TIDE_EIO);
  ASSERT_ERR(p->codes[1], TIDE_EPIPE);
  ASSERT_STR_EQ(p->first_msg, "one failed");
  tide_future_result(tide_task_future(t), NULL);
  tide_task_release(t);
  ASSERT_EQ(errs.count, 0);
  CLOSE_LOOP(&loop);
}

TEST(group_failure_interrupts_parent_body) {
  tide_loop loop;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct parent init = parent_init(&log);
  init.nkids = 2;
  init.body_sleep = HOUR_MS;
  init.kids[0] = kid_init(&log, 1, 1);
  init.kids[0].fail = TIDE_EIO;
  init.kids[1] = kid_init(&log, 2, 0);
  init.kids[1].sleep_ms = HOUR_MS;
  tide_task *t = spawn_parent(&loop, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* no hour anywhere */
  struct parent *p = parent_of(t);
  ASSERT_ERR(p->body_rc, TIDE_ECANCELED);           /* the body was interrupted */
  ASSERT_ERR(p->spawn_after_body, TIDE_ESTATE);     /* shutting down: no spawns */
  ASSERT_EQ(p->cancelling_after_wait_call, 0);      /* the group withdrew its own */
  ASSERT_ERR(p->rc, TIDE_EIO);                      /* the error, not CANCELLED */
  ASSERT_EQ(p->rc2, 0);                             /* and nothing left pending */
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_ERROR);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_EIO);
  ASSERT_LOG(&log, 800, 11, 21, 13, 24, 25, 801, 803);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(group_cancelled_child_is_not_a_failure) {
  tide_loop loop;
  test_log log = {0};
  tide_future gate;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &gate);
  struct parent init = parent_init(&log);
  init.nkids = 2;
  init.keep = 1;
  init.kids[0] = kid_init(&log, 1, 0);
  init.kids[0].gate = &gate;
  init.kids[1] = kid_init(&log, 2, 2);
  tide_task *t = spawn_parent(&loop, &init);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  struct parent *p = parent_of(t);
  ASSERT_OK(tide_task_cancel(p->kid[0])); /* someone cancels one child */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(p->rc, 0);
  ASSERT_EQ(p->errors, 0);
  ASSERT_EQ(p->vals[1], 200); /* the sibling was not cancelled */
  ASSERT_EQ(tide_future_state_get(&gate), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_future_release(&gate);
  CLOSE_LOOP(&loop);
}

TEST(group_children_spawn_into_the_group_while_waiting) {
  tide_loop loop;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  struct kid extra = kid_init(&log, 5, 3);
  struct parent init = parent_init(&log);
  tide_task *t;
  init.nkids = 1;
  init.kids[0] = kid_init(&log, 1, 0);
  init.kids[0].extra = &extra;
  ASSERT_OK(tide_task_spawn(&loop, parent_main, &init, sizeof init, &t));
  /* The child needs the group's address: it lives in the parent's frame. */
  parent_of(t)->kids[0].spawn_into = &parent_of(t)->g;
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 800, 801, 11, 12, 91, 92, 51, 52, 803);
  ASSERT_EQ(parent_of(t)->rc, 0);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(group_wait_without_children_and_misuse) {
  tide_loop loop;
  tide_task_group g;
  tide_future out, done;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_task_group_init(&loop, &g); /* outside a task: no parent */
  ASSERT_EQ(tide_loop_close(&loop), TIDE_EBUSY); /* registered until release */
  tide_future_init(&loop, &done);
  ASSERT_OK(tide_future_set_none(&done));
  ASSERT_ERR(tide_task_group_wait(&g, &done), TIDE_EINVAL);
  ASSERT_ERR(tide_task_group_spawn(&g, NULL, NULL, 0, NULL), TIDE_EINVAL);
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_task_group_wait(&g, &out));
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_RESULT); /* nothing to wait for */
  ASSERT_ERR(tide_task_group_spawn(&g, kid_main, NULL, 0, NULL), TIDE_ESTATE); /* over */
  ASSERT_EQ(tide_task_group_error_count(&g), 0);
  tide_task_group_release(&g);
  tide_future_release(&out);
  tide_future_release(&done);
  CLOSE_LOOP(&loop);
}

TEST(group_release_without_wait_detaches_running_children) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_task_group g;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_errors_install(&loop, &errs);
  tide_task_group_init(&loop, &g);
  struct kid k = kid_init(&log, 1, 0);
  k.sleep_ms = HOUR_MS;
  k.cleanup = 1;
  k.fail_on_cancel = TIDE_EIO;
  ASSERT_OK(tide_task_group_spawn(&g, kid_main, &k, sizeof k, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  tide_task_group_release(&g); /* the child is cancelled and freed when done */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 14, 15);
  ASSERT_EQ(errs.count, 1); /* its error is not lost: a detached task reports it */
  ASSERT_EQ(errs.last_code, TIDE_EIO);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* A wait whose out is released while children run: they are cancelled, the
 * group stays usable for its release. */
TEST(group_release_pending_out) {
  tide_loop loop;
  tide_task_group g;
  tide_future out;
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_task_group_init(&loop, &g);
  struct kid k = kid_init(&log, 1, 0);
  k.sleep_ms = HOUR_MS;
  ASSERT_OK(tide_task_group_spawn(&g, kid_main, &k, sizeof k, NULL));
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_task_group_wait(&g, &out));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  tide_future_release(&out);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 14, 15);
  tide_task_group_release(&g);
  CLOSE_LOOP(&loop);
}

/* Errors nobody observed are reported when the group is released: here the
 * wait ended CANCELLED (the waiter was cancelled), so out did not carry them. */
TEST(group_unread_errors_reported_at_release) {
  tide_loop loop;
  tide_task_group g;
  tide_future out;
  test_log log = {0};
  test_errors errs;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_errors_install(&loop, &errs);
  tide_task_group_init(&loop, &g);
  struct kid k1 = kid_init(&log, 1, 0);
  k1.sleep_ms = HOUR_MS;
  k1.fail_on_cancel = TIDE_EIO;
  ASSERT_OK(tide_task_group_spawn(&g, kid_main, &k1, sizeof k1, NULL));
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_task_group_wait(&g, &out));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_OK(tide_future_cancel(&out));
  ASSERT_EQ(tide_future_done(&out), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_future_state_get(&out), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_task_group_error_count(&g), 1);
  ASSERT_EQ(errs.count, 0);
  tide_task_group_release(&g);
  ASSERT_EQ(errs.count, 1);
  ASSERT_EQ(errs.last_code, TIDE_EIO);
  tide_future_release(&out);
  CLOSE_LOOP(&loop);
}

/* --- out of memory --------------------------------------------------------- */

static int oom_group(test_alloc *a, size_t n) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_task_group g;
  tide_future out;
  test_log log = {0};
  int seen = 0, spawned = 0;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_task_group_init(&loop, &g);
  test_alloc_fail_in(a, n);
  for (int i = 0; i < 2; i++) {
    struct kid k = kid_init(&log, i + 1, 1);
    k.fail = TIDE_EIO;
    int rc = tide_task_group_spawn(&g, kid_main, &k, sizeof k, NULL);
    if (rc == TIDE_ENOMEM) {
      seen++;
    } else {
      ASSERT_OK(rc);
      spawned++;
    }
  }
  tide_future_init(&loop, &out);
  ASSERT_OK(tide_task_group_wait(&g, &out));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  if (spawned > 0) {
    ASSERT_ERR(tide_future_result(&out, NULL), TIDE_EIO);
    const char *m = tide_future_error_message(&out);
    if (strncmp(m, "task group: ", 12) != 0) seen++; /* the message copy failed */
    const char *km = NULL;
    ASSERT_OK(tide_task_group_error(&g, 0, NULL, &km, NULL));
    if (strcmp(km, "one failed") != 0 && strcmp(km, "another failed") != 0) seen++;
    if (spawned == 2) {
      ASSERT_OK(tide_task_group_error(&g, 1, NULL, &km, NULL));
      if (strcmp(km, "one failed") != 0 && strcmp(km, "another failed") != 0) seen++;
    }
  }
  tide_future_release(&out);
  tide_task_group_release(&g);
  CLOSE_LOOP(&loop);
  return seen;
}

TEST(alloc_fail_task_group) {
  for (size_t n = 1; n < 1000; n++) {
    test_alloc a;
    test_alloc_init(&a);
    int seen = oom_group(&a, n);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(seen, (long long)a.failures);
    if (a.failures == 0) {
      ASSERT_GE(n, 4); /* two spawns, two messages, the group's message */
      return;
    }
  }
  ASSERT(0 && "walk did not finish");
}
