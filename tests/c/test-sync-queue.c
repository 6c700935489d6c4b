/* test-sync-queue.c: tide_queue: FIFO, LIFO and stable priority order; a
 * bounded put waits; a waiting get receives the next put directly; cancelled
 * gets and puts lose no item; task_done/join; shutdown (plain and immediate)
 * wakes every waiter; storage growth under allocation failure; destroy. */
#include "alloc.h"
#include "test.h"
#include "util.h"

static int vals[64]; /* items are pointers into this array: item i is &vals[i] */

static void *item(int i) {
  return &vals[i];
}
static int index_of(void *p) {
  return (int)((int *)p - vals);
}

static int get_now(tide_queue *q, int *out_prio) {
  void *p = NULL;
  ASSERT_OK(tide_queue_get_nowait(q, &p, out_prio));
  return index_of(p);
}

TEST(sync_queue_fifo_lifo_priority_order) {
  tide_loop loop;
  tide_queue q;
  int prio;
  ASSERT_OK(tide_loop_init(&loop, NULL));

  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  for (int i = 0; i < 20; i++)
    ASSERT_OK(tide_queue_put_nowait(&q, item(i), i));
  ASSERT_EQ(tide_queue_size(&q), 20);
  for (int i = 0; i < 10; i++)
    ASSERT_EQ(get_now(&q, NULL), i);
  for (int i = 20; i < 30; i++)
    ASSERT_OK(tide_queue_put_nowait(&q, item(i), 0)); /* wraps */
  for (int i = 10; i < 30; i++)
    ASSERT_EQ(get_now(&q, NULL), i);
  ASSERT_EQ(tide_queue_empty(&q), 1);
  tide_queue_destroy(&q);

  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_LIFO, 0));
  for (int i = 0; i < 10; i++)
    ASSERT_OK(tide_queue_put_nowait(&q, item(i), 0));
  for (int i = 9; i >= 0; i--)
    ASSERT_EQ(get_now(&q, NULL), i);
  tide_queue_destroy(&q);

  /* Lowest number first; equal priorities in put order. */
  static const int prios[] = {5, 1, 3, 1, 5, 0, 3, 1, -2, 5};
  static const int expect[] = {8, 5, 1, 3, 7, 2, 6, 0, 4, 9};
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_PRIORITY, 0));
  for (int i = 0; i < 10; i++)
    ASSERT_OK(tide_queue_put_nowait(&q, item(i), prios[i]));
  for (int i = 0; i < 10; i++) {
    ASSERT_EQ(get_now(&q, &prio), expect[i]);
    ASSERT_EQ(prio, prios[expect[i]]);
  }
  void *p;
  ASSERT_ERR(tide_queue_get_nowait(&q, &p, NULL), TIDE_EAGAIN);
  tide_queue_destroy(&q);

  ASSERT_ERR(tide_queue_init(&loop, &q, (tide_queue_kind)7, 0), TIDE_EINVAL);
  CLOSE_LOOP(&loop);
}

/* A stable priority order over many items (a heap alone is not stable). */
TEST(sync_queue_priority_stable_random) {
  tide_loop loop;
  tide_queue q;
  test_rng rng;
  int prios[64];
  test_rng_seed(&rng, 42);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_PRIORITY, 0));
  for (int i = 0; i < 64; i++) {
    prios[i] = (int)test_rng_below(&rng, 4);
    ASSERT_OK(tide_queue_put_nowait(&q, item(i), prios[i]));
  }
  int last_prio = -1, last_index = -1;
  for (int i = 0; i < 64; i++) {
    int prio, k = get_now(&q, &prio);
    ASSERT_EQ(prio, prios[k]);
    ASSERT_GE(prio, last_prio);
    if (prio == last_prio) ASSERT_GT(k, last_index);
    last_prio = prio;
    last_index = k;
  }
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

/* --- Producers and consumers as tasks ------------------------------------------ */

/* Puts items first..first+count-1, logging 1000+i once each is in. */
struct producer {
  tide_queue *q;
  test_log *log;
  int first;
  int count;
  int i;
  int rc;
  size_t max_size_seen;
  tide_future f;
};

static int producer_main(tide_task *t, void *frame) {
  struct producer *p = frame;
  TIDE_BEGIN(t);
  for (p->i = p->first; p->i < p->first + p->count; p->i++) {
    tide_future_init(tide_task_loop(t), &p->f);
    ASSERT_OK(tide_queue_put(p->q, item(p->i), 0, &p->f));
    TIDE_AWAIT(t, &p->f, p->rc);
    tide_future_release(&p->f);
    if (tide_queue_size(p->q) > p->max_size_seen)
      p->max_size_seen = tide_queue_size(p->q);
    if (p->rc != 0) TIDE_RETURN_ERROR(t, p->rc, NULL);
    test_log_push(p->log, 1000 + p->i);
  }
  TIDE_END(t);
}

/* Gets `count` items, logging each, yielding `slow` times between gets and
 * calling task_done after each. */
struct consumer {
  tide_queue *q;
  test_log *log;
  int count;
  int slow;
  int n;
  int j;
  int rc;
  tide_future f;
};

static int consumer_main(tide_task *t, void *frame) {
  struct consumer *c = frame;
  tide_value v;
  TIDE_BEGIN(t);
  for (c->n = 0; c->n < c->count; c->n++) {
    tide_future_init(tide_task_loop(t), &c->f);
    ASSERT_OK(tide_queue_get(c->q, &c->f));
    TIDE_AWAIT(t, &c->f, c->rc);
    if (c->rc == 0) {
      ASSERT_OK(tide_future_result(&c->f, &v));
      ASSERT_EQ(v.type, TIDE_VALUE_PTR);
      test_log_push(c->log, index_of(v.as.p));
    }
    tide_future_release(&c->f);
    if (c->rc != 0) TIDE_RETURN_ERROR(t, c->rc, NULL);
    for (c->j = 0; c->j < c->slow; c->j++)
      TIDE_YIELD(t, c->rc);
    ASSERT_OK(tide_queue_task_done(c->q));
  }
  TIDE_END(t);
}

static tide_task *spawn_producer(tide_loop *loop, tide_queue *q, test_log *log,
                                 int first, int count) {
  struct producer init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.q = q;
  init.log = log;
  init.first = first;
  init.count = count;
  ASSERT_OK(tide_task_spawn(loop, producer_main, &init, sizeof init, &t));
  return t;
}

static tide_task *spawn_consumer(tide_loop *loop, tide_queue *q, test_log *log,
                                 int count, int slow) {
  struct consumer init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.q = q;
  init.log = log;
  init.count = count;
  init.slow = slow;
  ASSERT_OK(tide_task_spawn(loop, consumer_main, &init, sizeof init, &t));
  return t;
}

TEST(sync_queue_bounded_put_waits) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_queue q;
  test_log plog = {0}, clog = {0};
  tide_task *p, *c;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 2));
  p = spawn_producer(&loop, &q, &plog, 0, 8);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&plog, 1000, 1001); /* the third put waits */
  ASSERT_EQ(tide_queue_full(&q), 1);
  ASSERT_EQ(tide_queue_size(&q), 2);
  ASSERT_ERR(tide_queue_put_nowait(&q, item(50), 0), TIDE_EAGAIN);
  c = spawn_consumer(&loop, &q, &clog, 8, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&clog, 0, 1, 2, 3, 4, 5, 6, 7);
  ASSERT_EQ(plog.n, 8);
  ASSERT_EQ(((struct producer *)tide_task_frame(p))->max_size_seen, 2);
  ASSERT_EQ(tide_queue_unfinished(&q), 0);
  tide_task_release(p);
  tide_task_release(c);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Gets wait on an empty queue, in FIFO order; each put goes straight to the
 * first waiting get (the queue stays empty). */
TEST(sync_queue_waiting_gets_served_in_order) {
  tide_loop loop;
  tide_queue q;
  test_log log = {0};
  tide_task *c[3];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_LIFO, 0));
  for (int i = 0; i < 3; i++)
    c[i] = spawn_consumer(&loop, &q, &log, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_OK(tide_queue_put_nowait(&q, item(10 + i), 0));
    ASSERT_EQ(tide_queue_size(&q), 0); /* handed over */
  }
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 10, 11, 12);
  for (int i = 0; i < 3; i++)
    tide_task_release(c[i]);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

/* A cancelled get takes no item: the next get receives it. */
TEST(sync_queue_cancelled_get_loses_nothing) {
  tide_loop loop;
  tide_queue q;
  test_log log = {0};
  tide_task *c[2];
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  c[0] = spawn_consumer(&loop, &q, &log, 1, 0);
  c[1] = spawn_consumer(&loop, &q, &log, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_task_cancel(c[0]));
  ASSERT_OK(tide_queue_put_nowait(&q, item(7), 0));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 7);
  ASSERT_EQ(tide_future_state_get(tide_task_future(c[0])), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_future_state_get(tide_task_future(c[1])), TIDE_FUTURE_RESULT);
  for (int i = 0; i < 2; i++)
    tide_task_release(c[i]);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

/* An item handed to a get whose task is cancelled before it resumes is not
 * lost: the coroutine sees it (the result that won the race). */
TEST(sync_queue_handed_item_then_cancelled) {
  tide_loop loop;
  tide_queue q;
  test_log log = {0};
  tide_task *c;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  c = spawn_consumer(&loop, &q, &log, 2, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_queue_put_nowait(&q, item(3), 0));
  ASSERT_OK(tide_task_cancel(c));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&log, 3); /* then its second get met the cancellation */
  ASSERT_EQ(tide_future_state_get(tide_task_future(c)), TIDE_FUTURE_CANCELLED);
  ASSERT_EQ(tide_queue_unfinished(&q), 0);
  tide_task_release(c);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

/* A cancelled put waiting on a full queue does not insert its item; the put
 * behind it takes the freed slot. */
TEST(sync_queue_cancelled_put_inserts_nothing) {
  tide_loop loop;
  tide_queue q;
  tide_future f1, f2;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 1));
  ASSERT_OK(tide_queue_put_nowait(&q, item(0), 0));
  tide_future_init(&loop, &f1);
  tide_future_init(&loop, &f2);
  ASSERT_OK(tide_queue_put(&q, item(1), 0, &f1));
  ASSERT_OK(tide_queue_put(&q, item(2), 0, &f2));
  ASSERT_EQ(tide_future_state_get(&f1), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_future_cancel(&f1));
  ASSERT_EQ(get_now(&q, NULL), 0);
  ASSERT_EQ(tide_future_state_get(&f2), TIDE_FUTURE_RESULT); /* moved in */
  ASSERT_EQ(tide_queue_size(&q), 1);
  ASSERT_EQ(get_now(&q, NULL), 2);
  ASSERT_EQ(tide_queue_unfinished(&q), 2); /* items 0 and 2 */
  ASSERT_OK(tide_queue_task_done(&q));
  ASSERT_OK(tide_queue_task_done(&q));
  ASSERT_ERR(tide_queue_task_done(&q), TIDE_ERANGE);
  tide_future_release(&f1);
  tide_future_release(&f2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

TEST(sync_queue_join_waits_for_task_done) {
  tide_loop loop;
  tide_queue q;
  tide_future j1, j2;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  tide_future_init(&loop, &j1);
  ASSERT_OK(tide_queue_join(&q, &j1));
  ASSERT_EQ(tide_future_state_get(&j1), TIDE_FUTURE_RESULT); /* nothing unfinished */
  tide_future_release(&j1);
  ASSERT_OK(tide_queue_put_nowait(&q, item(0), 0));
  ASSERT_OK(tide_queue_put_nowait(&q, item(1), 0));
  tide_future_init(&loop, &j1);
  tide_future_init(&loop, &j2);
  ASSERT_OK(tide_queue_join(&q, &j1));
  ASSERT_OK(tide_queue_join(&q, &j2));
  (void)get_now(&q, NULL);
  (void)get_now(&q, NULL);
  ASSERT_OK(tide_queue_task_done(&q));
  ASSERT_EQ(tide_future_state_get(&j1), TIDE_FUTURE_PENDING); /* got is not done */
  ASSERT_OK(tide_queue_task_done(&q));
  ASSERT_EQ(tide_future_state_get(&j1), TIDE_FUTURE_RESULT);
  ASSERT_EQ(tide_future_state_get(&j2), TIDE_FUTURE_RESULT);
  tide_future_release(&j1);
  tide_future_release(&j2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_queue_destroy(&q);
  CLOSE_LOOP(&loop);
}

/* Shutdown: waiting gets and puts wake with TIDE_ECLOSED, new puts fail, and
 * the items still queued can be got until the queue is empty. */
TEST(sync_queue_shutdown_wakes_everyone) {
  tide_loop loop;
  tide_queue q, q2;
  test_log log = {0};
  tide_task *c[2];
  tide_future put, get;
  void *p;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  for (int i = 0; i < 2; i++)
    c[i] = spawn_consumer(&loop, &q, &log, 1, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_queue_shutdown(&q, 0);
  ASSERT_EQ(tide_queue_is_shutdown(&q), 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  for (int i = 0; i < 2; i++) {
    ASSERT_ERR(tide_future_result(tide_task_future(c[i]), NULL), TIDE_ECLOSED);
    tide_task_release(c[i]);
  }
  ASSERT_ERR(tide_queue_put_nowait(&q, item(0), 0), TIDE_ECLOSED);
  tide_future_init(&loop, &put);
  ASSERT_OK(tide_queue_put(&q, item(0), 0, &put));
  ASSERT_ERR(tide_future_result(&put, NULL), TIDE_ECLOSED);
  tide_future_release(&put);
  tide_queue_destroy(&q);

  /* Items queued before a plain shutdown are still delivered; a waiting put
   * fails and keeps its item. */
  ASSERT_OK(tide_queue_init(&loop, &q2, TIDE_QUEUE_FIFO, 1));
  ASSERT_OK(tide_queue_put_nowait(&q2, item(4), 0));
  tide_future_init(&loop, &put);
  ASSERT_OK(tide_queue_put(&q2, item(5), 0, &put));
  tide_queue_shutdown(&q2, 0);
  ASSERT_ERR(tide_future_result(&put, NULL), TIDE_ECLOSED);
  tide_future_init(&loop, &get);
  ASSERT_OK(tide_queue_get(&q2, &get));
  ASSERT_OK(tide_future_result(&get, NULL));
  tide_future_release(&get);
  ASSERT_ERR(tide_queue_get_nowait(&q2, &p, NULL), TIDE_ECLOSED);
  tide_future_init(&loop, &get);
  ASSERT_OK(tide_queue_get(&q2, &get));
  ASSERT_ERR(tide_future_result(&get, NULL), TIDE_ECLOSED);
  tide_future_release(&get);
  tide_future_release(&put);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_queue_destroy(&q2);
  CLOSE_LOOP(&loop);
}

static void count_drop(void *it, void *ud) {
  test_log_push(ud, index_of(it));
}

/* Immediate shutdown discards the items through the drop function; each
 * counts as done, so a join completes. */
TEST(sync_queue_shutdown_immediate_drops_items) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_queue q;
  test_log dropped = {0};
  tide_future join;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_PRIORITY, 0));
  tide_queue_set_drop(&q, count_drop, &dropped);
  ASSERT_OK(tide_queue_put_nowait(&q, item(1), 2));
  ASSERT_OK(tide_queue_put_nowait(&q, item(2), 1));
  ASSERT_OK(tide_queue_put_nowait(&q, item(3), 3));
  tide_future_init(&loop, &join);
  ASSERT_OK(tide_queue_join(&q, &join));
  tide_queue_shutdown(&q, 1);
  ASSERT_LOG(&dropped, 2, 1, 3);
  ASSERT_EQ(tide_queue_size(&q), 0);
  ASSERT_EQ(tide_queue_unfinished(&q), 0);
  ASSERT_EQ(tide_future_state_get(&join), TIDE_FUTURE_RESULT);
  tide_future_release(&join);
  tide_queue_destroy(&q);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

/* Destroy drops what is left and fails waiting joins. */
TEST(sync_queue_destroy_drops_and_fails) {
  tide_loop loop;
  tide_queue q;
  test_log dropped = {0};
  tide_future join;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
  tide_queue_set_drop(&q, count_drop, &dropped);
  ASSERT_OK(tide_queue_put_nowait(&q, item(8), 0));
  tide_future_init(&loop, &join);
  ASSERT_OK(tide_queue_join(&q, &join));
  tide_queue_destroy(&q);
  ASSERT_LOG(&dropped, 8);
  ASSERT_ERR(tide_future_result(&join, NULL), TIDE_ECLOSED);
  tide_future_release(&join);
  CLOSE_LOOP(&loop);
}

/* Every allocation the queue makes can fail: the put reports TIDE_ENOMEM and
 * the queue is unchanged; retried later, it succeeds. Nothing leaks. */
TEST(sync_queue_put_alloc_failure_walk) {
  for (size_t n = 1; n <= 8; n++) {
    test_alloc a;
    test_alloc_init(&a);
    tide_loop_options opts = test_alloc_options(&a);
    tide_loop loop;
    tide_queue q;
    tide_future f;
    int failures = 0;
    ASSERT_OK(tide_loop_init(&loop, &opts));
    ASSERT_OK(tide_queue_init(&loop, &q, TIDE_QUEUE_FIFO, 0));
    test_alloc_fail_in(&a, n);
    for (int i = 0; i < 40; i++) {
      int rc;
      if (i % 2 == 0) {
        rc = tide_queue_put_nowait(&q, item(i), 0);
      } else {
        tide_future_init(&loop, &f);
        rc = tide_queue_put(&q, item(i), 0, &f);
        if (rc == 0)
          ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_RESULT);
        else
          ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
        tide_future_release(&f);
      }
      if (rc == TIDE_ENOMEM) {
        failures++;
        ASSERT_EQ(tide_queue_size(&q), (size_t)i);        /* unchanged */
        ASSERT_OK(tide_queue_put_nowait(&q, item(i), 0)); /* retry */
      } else {
        ASSERT_OK(rc);
      }
    }
    ASSERT_LE(failures, 1);
    ASSERT_EQ(tide_queue_size(&q), 40);
    for (int i = 0; i < 40; i++)
      ASSERT_EQ(get_now(&q, NULL), i);
    tide_queue_destroy(&q);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
    CLOSE_LOOP(&loop);
    ASSERT_NO_LEAKS(&a);
  }
}
