/* test-sync-event.c: tide_event: set wakes every waiter in FIFO order, a set
 * event completes waits at once until cleared, a cancelled waiter leaves, and
 * destroy fails the rest. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* Waits for the event, logs id*10 + (0 woken, 1 error), returns rc. */
struct waiter {
  tide_event *ev;
  test_log *log;
  int id;
  int rc;
  tide_future f;
};

static int waiter_main(tide_task *t, void *frame) {
  struct waiter *w = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &w->f);
  ASSERT_OK(tide_event_wait(w->ev, &w->f));
  TIDE_AWAIT(t, &w->f, w->rc);
  tide_future_release(&w->f);
  test_log_push(w->log, w->id * 10 + (w->rc != 0));
  if (w->rc != 0) TIDE_RETURN_ERROR(t, w->rc, NULL);
  TIDE_END(t);
}

static tide_task *spawn_waiter(tide_loop *loop, tide_event *ev, test_log *log, int id) {
  struct waiter init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.ev = ev;
  init.log = log;
  init.id = id;
  ASSERT_OK(tide_task_spawn(loop, waiter_main, &init, sizeof init, &t));
  return t;
}

static int waiter_rc(tide_task *t) {
  return ((struct waiter *)tide_task_frame(t))->rc;
}

TEST(sync_event_set_wakes_all_in_order) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_event ev;
  test_log log = {0};
  tide_task *t[5];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_event_init(&loop, &ev);
  ASSERT_EQ(tide_event_is_set(&ev), 0);
  for (int i = 0; i < 5; i++)
    t[i] = spawn_waiter(&loop, &ev, &log, i + 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(log.n, 0); /* everyone waits; nothing keeps the loop alive */
  tide_event_set(&ev);
  tide_event_set(&ev); /* idempotent */
  ASSERT_EQ(tide_event_is_set(&ev), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 10, 20, 30, 40, 50);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(waiter_rc(t[i]), 0);
    tide_future_result(tide_task_future(t[i]), NULL);
    tide_task_release(t[i]);
  }
  tide_event_destroy(&ev);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(sync_event_wait_when_set_and_clear) {
  tide_loop loop;
  tide_event ev;
  tide_future f, g;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_event_init(&loop, &ev);
  tide_event_set(&ev);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_event_wait(&ev, &f));
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT); /* at once */
  tide_event_clear(&ev);
  ASSERT_EQ(tide_event_is_set(&ev), 0);
  tide_future_init(&loop, &g);
  ASSERT_OK(tide_event_wait(&ev, &g));
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_PENDING);
  ASSERT_ERR(tide_event_wait(&ev, &g), TIDE_EINVAL); /* already parked */
  tide_event_set(&ev);
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_RESULT);
  tide_future_release(&f);
  tide_future_release(&g);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_event_destroy(&ev);
  CLOSE_LOOP(&loop);
}

TEST(sync_event_cancelled_waiter_leaves) {
  tide_loop loop;
  tide_event ev;
  test_log log = {0};
  tide_task *t[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_event_init(&loop, &ev);
  for (int i = 0; i < 3; i++)
    t[i] = spawn_waiter(&loop, &ev, &log, i + 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_task_cancel(t[0]));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11);
  tide_event_set(&ev);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11, 20, 30);
  ASSERT_EQ(waiter_rc(t[0]), TIDE_ECANCELED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t[0])), TIDE_FUTURE_CANCELLED);
  for (int i = 0; i < 3; i++) {
    tide_future_result(tide_task_future(t[i]), NULL);
    tide_task_release(t[i]);
  }
  tide_event_destroy(&ev);
  CLOSE_LOOP(&loop);
}

TEST(sync_event_destroy_fails_waiters) {
  tide_loop loop;
  tide_event ev;
  test_log log = {0};
  tide_task *t;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_event_init(&loop, &ev);
  t = spawn_waiter(&loop, &ev, &log, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_event_destroy(&ev);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 11);
  ASSERT_EQ(waiter_rc(t), TIDE_ECLOSED);
  ASSERT_ERR(tide_future_result(tide_task_future(t), NULL), TIDE_ECLOSED);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}
