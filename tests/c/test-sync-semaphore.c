/* test-sync-semaphore.c: tide_semaphore and its bounded form: at most `value`
 * holders, FIFO order of waiters, hand-off on release, cancellation of a
 * waiter, try_acquire, and the bounded over-release refusal. */
#include "alloc.h"
#include "test.h"
#include "util.h"

/* Acquires, logs id*10+1, holds for `hold` yields, releases and logs id*10+3;
 * records the largest number of concurrent holders seen. id*10+2: failed. */
struct holder {
  tide_semaphore *sem;
  test_log *log;
  int *inside;
  int *max_inside;
  int id;
  int hold;
  int i;
  int rc;
  tide_future f;
};

static int holder_main(tide_task *t, void *frame) {
  struct holder *h = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &h->f);
  ASSERT_OK(tide_semaphore_acquire(h->sem, &h->f));
  TIDE_AWAIT(t, &h->f, h->rc);
  tide_future_release(&h->f);
  if (h->rc != 0) {
    test_log_push(h->log, h->id * 10 + 2);
    TIDE_RETURN_ERROR(t, h->rc, NULL);
  }
  test_log_push(h->log, h->id * 10 + 1);
  if (++*h->inside > *h->max_inside) *h->max_inside = *h->inside;
  for (h->i = 0; h->i < h->hold; h->i++) {
    TIDE_YIELD(t, h->rc);
    if (h->rc != 0) break;
  }
  --*h->inside;
  ASSERT_OK(tide_semaphore_release(h->sem));
  test_log_push(h->log, h->id * 10 + 3);
  TIDE_END(t);
}

struct pool {
  tide_semaphore *sem;
  test_log log;
  int inside;
  int max_inside;
};

static tide_task *spawn_holder(tide_loop *loop, struct pool *p, int id, int hold) {
  struct holder init;
  tide_task *t;
  memset(&init, 0, sizeof init);
  init.sem = p->sem;
  init.log = &p->log;
  init.inside = &p->inside;
  init.max_inside = &p->max_inside;
  init.id = id;
  init.hold = hold;
  ASSERT_OK(tide_task_spawn(loop, holder_main, &init, sizeof init, &t));
  return t;
}

TEST(sync_semaphore_limits_and_orders_holders) {
  test_alloc a;
  test_alloc_init(&a);
  tide_loop_options opts = test_alloc_options(&a);
  tide_loop loop;
  tide_semaphore sem;
  static struct pool p;
  tide_task *t[6];
  memset(&p, 0, sizeof p);
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_semaphore_init(&loop, &sem, 2);
  p.sem = &sem;
  for (int i = 0; i < 6; i++)
    t[i] = spawn_holder(&loop, &p, i + 1, 3 - i % 3);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(p.max_inside, 2);
  /* Holders enter in spawn order (FIFO), whatever their hold times. */
  int entered = 0;
  for (int i = 0; i < p.log.n; i++)
    if (p.log.items[i] % 10 == 1) ASSERT_EQ(p.log.items[i], (++entered) * 10 + 1);
  ASSERT_EQ(entered, 6);
  ASSERT_EQ(tide_semaphore_value(&sem), 2);
  for (int i = 0; i < 6; i++)
    tide_task_release(t[i]);
  tide_semaphore_destroy(&sem);
  CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&a);
}

TEST(sync_semaphore_release_hands_off_to_waiter) {
  tide_loop loop;
  tide_semaphore sem;
  tide_future f, g;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_semaphore_init(&loop, &sem, 1);
  ASSERT_EQ(tide_semaphore_locked(&sem), 0);
  ASSERT_OK(tide_semaphore_try_acquire(&sem));
  ASSERT_EQ(tide_semaphore_locked(&sem), 1);
  ASSERT_ERR(tide_semaphore_try_acquire(&sem), TIDE_EAGAIN);
  tide_future_init(&loop, &f);
  tide_future_init(&loop, &g);
  ASSERT_OK(tide_semaphore_acquire(&sem, &f));
  ASSERT_OK(tide_semaphore_acquire(&sem, &g));
  ASSERT_OK(tide_future_cancel(&f)); /* the first waiter gives up */
  ASSERT_OK(tide_semaphore_release(&sem));
  ASSERT_EQ(tide_future_state_get(&g), TIDE_FUTURE_RESULT);
  ASSERT_EQ(tide_semaphore_value(&sem), 0); /* handed over, not counted */
  ASSERT_OK(tide_semaphore_release(&sem));
  ASSERT_EQ(tide_semaphore_value(&sem), 1);
  ASSERT_OK(tide_semaphore_release(&sem)); /* unbounded: may go above */
  ASSERT_EQ(tide_semaphore_value(&sem), 2);
  tide_future_release(&f);
  tide_future_release(&g);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_semaphore_destroy(&sem);
  CLOSE_LOOP(&loop);
}

TEST(sync_semaphore_bounded_refuses_over_release) {
  tide_loop loop;
  tide_semaphore sem;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_semaphore_init_bounded(&loop, &sem, 2);
  ASSERT_ERR(tide_semaphore_release(&sem), TIDE_ERANGE);
  ASSERT_EQ(tide_semaphore_value(&sem), 2);
  ASSERT_OK(tide_semaphore_try_acquire(&sem));
  ASSERT_OK(tide_semaphore_release(&sem));
  ASSERT_ERR(tide_semaphore_release(&sem), TIDE_ERANGE);
  ASSERT_EQ(tide_semaphore_value(&sem), 2);
  tide_semaphore_destroy(&sem);
  tide_semaphore_init_bounded(&loop, &sem, 0);
  ASSERT_ERR(tide_semaphore_release(&sem), TIDE_ERANGE);
  tide_semaphore_destroy(&sem);
  CLOSE_LOOP(&loop);
}

/* Cancel a waiting task: it takes no permit, the value stays right and the
 * next waiter is served. */
TEST(sync_semaphore_cancel_waiter_keeps_count) {
  tide_loop loop;
  tide_semaphore sem;
  static struct pool p;
  tide_task *t[3];
  memset(&p, 0, sizeof p);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_semaphore_init_bounded(&loop, &sem, 1);
  p.sem = &sem;
  ASSERT_OK(tide_semaphore_try_acquire(&sem));
  for (int i = 0; i < 3; i++)
    t[i] = spawn_holder(&loop, &p, i + 1, 2);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* all three wait */
  ASSERT_OK(tide_task_cancel(t[1]));
  ASSERT_EQ(tide_semaphore_value(&sem), 0);
  ASSERT_OK(tide_semaphore_release(&sem));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&p.log, 22, 11, 13, 31, 33);
  ASSERT_EQ(tide_semaphore_value(&sem), 1);
  ASSERT_ERR(tide_semaphore_release(&sem), TIDE_ERANGE); /* count intact */
  for (int i = 0; i < 3; i++)
    tide_task_release(t[i]);
  tide_semaphore_destroy(&sem);
  CLOSE_LOOP(&loop);
}

/* A permit handed to a waiter whose task is cancelled before it resumes is
 * still its own: the task sees success, and gives the permit back. */
TEST(sync_semaphore_handed_over_then_cancelled) {
  tide_loop loop;
  tide_semaphore sem;
  static struct pool p;
  tide_task *t;
  memset(&p, 0, sizeof p);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_semaphore_init_bounded(&loop, &sem, 1);
  p.sem = &sem;
  ASSERT_OK(tide_semaphore_try_acquire(&sem));
  t = spawn_holder(&loop, &p, 1, 5);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_OK(tide_semaphore_release(&sem));
  ASSERT_OK(tide_task_cancel(t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_LOG(&p.log, 11, 13);
  ASSERT_EQ(tide_semaphore_value(&sem), 1);
  ASSERT_EQ(tide_future_state_get(tide_task_future(t)), TIDE_FUTURE_CANCELLED);
  tide_task_release(t);
  tide_semaphore_destroy(&sem);
  CLOSE_LOOP(&loop);
}

TEST(sync_semaphore_destroy_fails_waiters) {
  tide_loop loop;
  tide_semaphore sem;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_semaphore_init(&loop, &sem, 0);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_semaphore_acquire(&sem, &f));
  tide_semaphore_destroy(&sem);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_ECLOSED);
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}
