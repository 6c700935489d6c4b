/* test-timers.c: timer handles: one-shot, repeating, stopping and restarting
 * from the callback, activity flags, closing; ordering only (any clock). */
#include "test.h"
#include "util.h"

typedef struct tctx {
  int fired;
  int stop_after;    /* stop from the callback at this count (0: never) */
  int restart_after; /* restart one-shot from the callback at this count */
  int close_after;   /* close from the callback at this count */
  int closed;
  uint64_t restart_ms;
} tctx;

static void close_cb(tide_handle *h) {
  ((tctx *)h->data)->closed++;
}

static void tctx_cb(tide_timer *timer) {
  tctx *c = timer->handle.data;
  c->fired++;
  ASSERT_EQ(tide_handle_is_closing(&timer->handle), 0);
  if (c->stop_after && c->fired == c->stop_after) {
    tide_timer_stop(timer);
    tide_timer_stop(timer); /* safe when already stopped */
    ASSERT_EQ(tide_handle_is_active(&timer->handle), 0);
  }
  if (c->restart_after && c->fired == c->restart_after)
    ASSERT_OK(tide_timer_start(timer, tctx_cb, c->restart_ms, 0));
  if (c->close_after && c->fired == c->close_after)
    tide_handle_close(&timer->handle, close_cb);
}

TEST(timer_one_shot) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 2, 0));
  ASSERT_EQ(tide_handle_is_active(&t.handle), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 1);
  ASSERT_EQ(tide_handle_is_active(&t.handle), 0); /* a fired one-shot is inactive */
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 0);
  tide_handle_close(&t.handle, close_cb);
  ASSERT_EQ(c.closed, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(timer_repeating_stops_itself) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  c.stop_after = 4;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 1));
  ASSERT_U64_EQ(tide_timer_get_repeat(&t), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 4);
  tide_handle_close(&t.handle, close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(timer_one_shot_stops_itself) {
  /* Stopping a one-shot timer from its own callback is harmless. */
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  c.stop_after = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 0, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 1);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_restarted_from_callback) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  c.restart_after = 1;
  c.restart_ms = 3;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 2);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_repeating_restarted_as_one_shot_from_callback) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  c.restart_after = 2;
  c.restart_ms = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 3);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_closed_from_its_callback) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  c.close_after = 3;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 1));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 3);
  ASSERT_EQ(c.closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(timer_restart_reschedules_once) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 3600 * 1000, 0));
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 0)); /* reschedules, never both */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 1);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_stop_before_due) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 1, 1));
  tide_timer_stop(&t);
  ASSERT_EQ(tide_handle_is_active(&t.handle), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 0);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(timer_close_active_does_not_fire) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 0, 0));
  tide_handle_close(&t.handle, close_cb);
  ASSERT_EQ(tide_handle_is_active(&t.handle), 0);
  ASSERT_EQ(tide_handle_is_closing(&t.handle), 1);
  ASSERT_ERR(tide_timer_start(&t, tctx_cb, 0, 0), TIDE_ECLOSED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.fired, 0);
  ASSERT_EQ(c.closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(timer_set_get_repeat_and_due_in) {
  tide_loop loop;
  tide_timer t;
  tctx c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_timer_init(&loop, &t));
  t.handle.data = &c;
  ASSERT_U64_EQ(tide_timer_get_repeat(&t), 0);
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 0); /* inactive */
  tide_timer_set_repeat(&t, 25);
  ASSERT_U64_EQ(tide_timer_get_repeat(&t), 25);
  ASSERT_OK(tide_timer_start(&t, tctx_cb, 3600 * 1000, 7));
  ASSERT_U64_EQ(tide_timer_get_repeat(&t), 7);
  ASSERT_GT(tide_timer_get_due_in(&t), 3500 * 1000);
  ASSERT_LE(tide_timer_get_due_in(&t), 3600 * 1000);
  tide_timer_stop(&t);
  ASSERT_U64_EQ(tide_timer_get_due_in(&t), 0);
  tide_handle_close(&t.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

static void never_timer_cb(tide_timer *timer) {
  (void)timer;
  test__fail(__FILE__, __LINE__, "a closed timer fired");
}

typedef struct close_rec {
  test_log *log;
  int item;
} close_rec;

static void close_rec_cb(tide_handle *h) {
  close_rec *r = h->data;
  test_log_push(r->log, r->item);
}

TEST(handle_close_callbacks_run_from_loop) {
  tide_loop loop;
  tide_timer t[4];
  close_rec r[4];
  test_log log = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 4; i++) {
    ASSERT_OK(tide_timer_init(&loop, &t[i]));
    r[i].log = &log;
    r[i].item = i;
    t[i].handle.data = &r[i];
  }
  ASSERT_OK(tide_timer_start(&t[1], never_timer_cb, 1000, 0)); /* active too */
  for (int i = 0; i < 4; i++)
    tide_handle_close(&t[i].handle, close_rec_cb);
  ASSERT_EQ(log.n, 0);                  /* never inline */
  ASSERT_EQ(tide_loop_alive(&loop), 1); /* pending close callbacks are work */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 0, 1, 2, 3); /* FIFO, like every ready callback */
  CLOSE_LOOP(&loop);
}
