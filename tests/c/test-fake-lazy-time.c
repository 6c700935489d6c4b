/* test-fake-lazy-time.c (tide-tests-fake only): the loop's lazy time, which
 * the JS host uses (src/backend/js/imports.c): an iteration marks the cached
 * time stale instead of reading the clock, and the first use reads it. An
 * iteration that needs no time reads no clock; one that does sees the clock
 * as of its first use, once, and every reader of the cache (timers, delays
 * and calls at a time, tide_loop_now, a switch to a virtual clock) reads it
 * first if it is stale. */
#include "fake.h"
#include "test.h"
#include "util.h"

static void count_cb(tide_loop *loop, void *ud) {
  (void)loop;
  (*(int *)ud)++;
}

/* Re-queues itself until *ud reaches 0. */
static void chain_cb(tide_loop *loop, void *ud) {
  int *left = ud;
  if (--*left > 0) ASSERT_OK(tide_call_soon(loop, chain_cb, ud, NULL));
}

TEST(lazy_time_an_iteration_without_timers_reads_no_clock) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_lazy_time(&loop, 1);
  uint64_t reads = tide_fake_clock_reads(&loop);
  int left = 100;
  ASSERT_OK(tide_call_soon(&loop, chain_cb, &left, NULL));
  while (left > 0)
    ASSERT(tide_loop_run(&loop, TIDE_RUN_NOWAIT) >= 0);
  ASSERT_U64_EQ(tide_fake_clock_reads(&loop), reads);
  /* The same loop reading eagerly reads at each run and each iteration. */
  tide_fake_lazy_time(&loop, 0);
  left = 1;
  ASSERT_OK(tide_call_soon(&loop, chain_cb, &left, NULL));
  ASSERT(tide_loop_run(&loop, TIDE_RUN_NOWAIT) >= 0);
  ASSERT(tide_fake_clock_reads(&loop) > reads);
  CLOSE_LOOP(&loop);
}

typedef struct seen_times {
  uint64_t first, second;
} seen_times;

static void read_then_advance_cb(tide_loop *loop, void *ud) {
  seen_times *s = ud;
  s->first = tide_loop_now(loop);
  tide_fake_advance(loop, 50); /* a callback that ran 50 ms */
}

static void read_again_cb(tide_loop *loop, void *ud) {
  seen_times *s = ud;
  s->second = tide_loop_now(loop);
}

TEST(lazy_time_is_read_once_per_iteration_at_first_use) {
  tide_loop loop;
  seen_times s = {0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_lazy_time(&loop, 1);
  ASSERT_OK(tide_call_soon(&loop, read_then_advance_cb, &s, NULL));
  ASSERT_OK(tide_call_soon(&loop, read_again_cb, &s, NULL));
  tide_fake_advance(&loop, 100); /* after the last read, before the run */
  uint64_t reads = tide_fake_clock_reads(&loop);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_U64_EQ(s.first, 100);  /* the clock as the iteration first needed it */
  ASSERT_U64_EQ(s.second, 100); /* then cached for the rest of the iteration */
  ASSERT_U64_EQ(tide_fake_clock_reads(&loop), reads + 1);
  /* Outside a run, a stale cache is read on demand too. */
  ASSERT_U64_EQ(tide_loop_now(&loop), 100);
  CLOSE_LOOP(&loop);
}

typedef struct timer_case {
  tide_timer timer;
  uint64_t fired_at;
  uint64_t due_in;
} timer_case;

static void fired_cb(tide_timer *timer) {
  timer_case *c = timer->handle.data;
  c->fired_at = tide_loop_now(tide_handle_loop(&timer->handle));
}

/* A callback that ran 50 ms before it starts a 10 ms timer. */
static void late_start_cb(tide_loop *loop, void *ud) {
  timer_case *c = ud;
  tide_fake_advance(loop, 50);
  ASSERT_OK(tide_timer_start(&c->timer, fired_cb, 10, 0));
  c->due_in = tide_timer_get_due_in(&c->timer);
}

/* The time the timer had fired at after two NOWAIT runs (no waiting: the
 * fake clock stays at 50), or 0 if it had not. */
static uint64_t late_timer_fired_at(int lazy) {
  tide_loop loop;
  timer_case c = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_lazy_time(&loop, lazy);
  ASSERT_OK(tide_timer_init(&loop, &c.timer));
  c.timer.handle.data = &c;
  ASSERT_OK(tide_call_soon(&loop, late_start_cb, &c, NULL));
  ASSERT(tide_loop_run(&loop, TIDE_RUN_NOWAIT) >= 0);
  ASSERT_U64_EQ(c.due_in, 10); /* from the cached time, either way */
  ASSERT(tide_loop_run(&loop, TIDE_RUN_NOWAIT) >= 0);
  tide_handle_close(&c.timer.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
  return c.fired_at;
}

TEST(lazy_time_a_timer_counts_from_the_first_use_of_the_time) {
  /* Lazy: the timer is the iteration's first use of the time, so it counts
   * from the clock as it was then (50): due at 60, not yet. */
  ASSERT_U64_EQ(late_timer_fired_at(1), 0);
  /* Eager (native, WASI): from the time cached at the start of the
   * iteration (0), so it was due at 10 and fired in the next run, at 50. */
  ASSERT_U64_EQ(late_timer_fired_at(0), 50);
}

TEST(lazy_time_delays_and_past_times_read_a_stale_cache) {
  tide_loop loop;
  int ran = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_lazy_time(&loop, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* marks stale, reads none */
  tide_fake_advance(&loop, 25);
  uint64_t reads = tide_fake_clock_reads(&loop);
  /* Due at 55: 30 from the clock's 25, read now, once. */
  ASSERT_OK(tide_call_later(&loop, 30, count_cb, &ran, NULL));
  ASSERT_U64_EQ(tide_fake_clock_reads(&loop), reads + 1);
  ASSERT_EQ(tide_loop_next_timeout(&loop), 30);
  /* A time in the past means now, 25: it runs before the call due at 55. */
  ASSERT_OK(tide_call_at(&loop, 1, count_cb, &ran, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(ran, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(ran, 2);
  ASSERT_U64_EQ(tide_loop_now(&loop), 55);
  CLOSE_LOOP(&loop);
}

TEST(lazy_time_a_virtual_clock_starts_from_the_time_as_it_is) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_fake_lazy_time(&loop, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* marks stale */
  tide_fake_advance(&loop, 70);
  ASSERT_OK(tide_loop_set_clock(&loop, TIDE_CLOCK_VIRTUAL));
  tide_fake_advance(&loop, 1000); /* the host's clock no longer counts */
  ASSERT_U64_EQ(tide_loop_now(&loop), 70);
  ASSERT_OK(tide_loop_advance(&loop, 5));
  ASSERT_U64_EQ(tide_loop_now(&loop), 75);
  CLOSE_LOOP(&loop);
}
