/* test-sync-barrier.c: tide_barrier: arrival indices, rounds, a cancelled
 * waiter that leaves without counting, abort and reset. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* Waits `rounds` times, logging id*100 + round*10 + index (or id*100+99 on
 * an error, then stops). Yields `delay` times before arriving. */
struct party {
  tide_barrier *b;
  test_log *log;
  int id;
  int rounds;
  int delay;
  int r;
  int j;
  int rc;
  tide_future f;
};

static int party_main(tide_task *t, void *frame) {
  struct party *p = frame;
  tide_value v;
  TIDE_BEGIN(t);
  for (p->r = 0; p->r < p->rounds; p->r++) {
    for (p->j = 0; p->j < p->delay; p->j++)
      TIDE_YIELD(t, p->rc);
    tide_future_init(tide_task_loop(t), &p->f);
    ASSERT_OK(tide_barrier_wait(p->b, &p->f));
    TIDE_AWAIT(t, &p->f, p->rc);
    if (p->rc == 0) {
      ASSERT_OK(tide_future_result(&p->f, &v));
      ASSERT_EQ(v.type, TIDE_VALUE_INT);
      test_log_push(p->log, p->id * 100 + p->r * 10 + (int)v.as.i);
    }
    tide_future_release(&p->f);
    if (p->rc != 0) {
      test_log_push(p->log, p->id * 100 + 99);
      TIDE_RETURN_ERROR(t, p->rc, NULL);
    }
  }
  TIDE_END(t);
}

static tide_task *spawn_party(tide_loop *loop, tide_barrier *b, test_log *log, int id,
                              int rounds, int delay) {
  struct party init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.b = b;
  init.log = log;
  init.id = id;
  init.rounds = rounds;
  init.delay = delay;
  ASSERT_OK(tide_task_spawn(loop, party_main, &init, sizeof init, &t));
  return t;
}

TEST(sync_barrier_indices_and_rounds) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_barrier b;
  test_log log = {0};
  tide_task *t[3];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_ERR(tide_barrier_init(&loop, &b, 0), TIDE_EINVAL);
  ASSERT_OK(tide_barrier_init(&loop, &b, 3));
  ASSERT_EQ(tide_barrier_parties(&b), 3);
  /* Arrival order 3, 1, 2 (by delay) in both rounds. */
  t[0] = spawn_party(&loop, &b, &log, 1, 2, 1);
  t[1] = spawn_party(&loop, &b, &log, 2, 2, 2);
  t[2] = spawn_party(&loop, &b, &log, 3, 2, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  /* The last to arrive (index 2) goes on at once; the others resume in
   * arrival order. */
  ASSERT_LOG(&log, 202, 300, 101, 212, 310, 111);
  ASSERT_EQ(tide_barrier_n_waiting(&b), 0);
  ASSERT_EQ(tide_barrier_broken(&b), 0);
  for (int i = 0; i < 3; i++)
    tide_task_release(t[i]);
  tide_barrier_destroy(&b);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* A waiter cancelled before the round completes leaves and does not count:
 * the round needs another party, and the indices have no gap. */
TEST(sync_barrier_cancelled_waiter_does_not_count) {
  tide_loop loop;
  tide_barrier b;
  test_log log = {0};
  tide_task *t[4];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_barrier_init(&loop, &b, 3));
  t[0] = spawn_party(&loop, &b, &log, 1, 1, 0);
  t[1] = spawn_party(&loop, &b, &log, 2, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_barrier_n_waiting(&b), 2);
  ASSERT_OK(tide_task_cancel(t[0]));
  ASSERT_EQ(tide_barrier_n_waiting(&b), 1);
  t[2] = spawn_party(&loop, &b, &log, 3, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 199); /* still one party short */
  ASSERT_EQ(tide_barrier_n_waiting(&b), 2);
  t[3] = spawn_party(&loop, &b, &log, 4, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 199, 402, 200, 301);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t[0])), TIDE_FUTURE_CANCELLED);
  for (int i = 0; i < 4; i++)
    tide_task_release(t[i]);
  tide_barrier_destroy(&b);
  CLOSE_LOOP(&loop);
}

TEST(sync_barrier_abort_and_reset) {
  tide_loop loop;
  tide_barrier b;
  test_log log = {0};
  tide_task *t[4];
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_barrier_init(&loop, &b, 2));
  t[0] = spawn_party(&loop, &b, &log, 1, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_barrier_abort(&b);
  ASSERT_EQ(tide_barrier_broken(&b), 1);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_barrier_wait(&b, &f)); /* broken: fails at once */
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECLOSED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 199);

  tide_barrier_reset(&b);
  ASSERT_EQ(tide_barrier_broken(&b), 0);
  t[1] = spawn_party(&loop, &b, &log, 2, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_barrier_reset(&b); /* the waiter fails; the barrier is usable again */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 199, 299);
  t[2] = spawn_party(&loop, &b, &log, 3, 1, 0);
  t[3] = spawn_party(&loop, &b, &log, 4, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 199, 299, 401, 300);
  for (int i = 0; i < 4; i++) {
    tide_future_result(tide_task_future(t[i]), NULL);
    tide_task_release(t[i]);
  }
  tide_barrier_destroy(&b);
  CLOSE_LOOP(&loop);
}

TEST(sync_barrier_single_party_and_destroy) {
  tide_loop loop;
  tide_barrier b;
  tide_future f;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_barrier_init(&loop, &b, 1));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_barrier_wait(&b, &f));
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.as.i, 0);
  tide_future_release(&f);
  tide_barrier_destroy(&b);
  ASSERT_OK(tide_barrier_init(&loop, &b, 2));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_barrier_wait(&b, &f));
  tide_barrier_destroy(&b);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECLOSED);
  tide_future_release(&f);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}
