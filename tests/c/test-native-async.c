/* test-native-async.c (tide-tests only: real threads): tide_async_send from
 * other threads wakes the loop; sends coalesce; callbacks run on the loop's
 * thread.
 * wasi-skip: WASI preview1 has no threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test.h"
#include "util.h"

#define WATCHDOG_MS 10000

typedef struct shared {
  tide_async async;
  pthread_t loop_thread;
  int sends;       /* per thread */
  int delay_ms;    /* sleep before sending */
  atomic_int done; /* threads finished sending */
  int threads;
  int calls;        /* loop thread only */
  int wrong_thread; /* a callback ran off the loop thread */
  int closed;
  int send_errors;
} shared;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void *sender(void *arg) {
  shared *s = arg;
  if (s->delay_ms) sleep_ms(s->delay_ms);
  for (int i = 0; i < s->sends; i++)
    if (tide_async_send(&s->async) != 0) s->send_errors++;
  atomic_fetch_add(&s->done, 1);
  /* One send after `done` is visible: the callback that sees done == threads
   * is guaranteed to come. */
  if (tide_async_send(&s->async) != 0) s->send_errors++;
  return NULL;
}

static void shared_close_cb(tide_handle *h) {
  ((shared *)h->data)->closed++;
}

static void shared_cb(tide_async *async) {
  shared *s = async->handle.data;
  s->calls++;
  if (!pthread_equal(pthread_self(), s->loop_thread)) s->wrong_thread++;
  if (atomic_load(&s->done) == s->threads)
    tide_handle_close(&async->handle, shared_close_cb);
}

static void run_senders(int threads, int sends, int delay_ms) {
  tide_loop loop;
  tide_timer dog;
  shared s;
  pthread_t th[8];
  memset(&s, 0, sizeof s);
  atomic_init(&s.done, 0);
  s.loop_thread = pthread_self();
  s.sends = sends;
  s.delay_ms = delay_ms;
  s.threads = threads;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_async_init(&loop, &s.async, shared_cb));
  s.async.handle.data = &s;
  for (int i = 0; i < threads; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, sender, &s), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* the watchdog is unref'd */
  for (int i = 0; i < threads; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  ASSERT_EQ(s.closed, 1);
  ASSERT_GE(s.calls, 1);
  ASSERT_LE(s.calls, threads * (sends + 1));
  ASSERT_EQ(s.wrong_thread, 0);
  ASSERT_EQ(s.send_errors, 0);
  test_watchdog_close(&dog);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(native_async_from_thread) {
  run_senders(1, 10000, 0);
}

TEST(native_async_wakes_blocked_loop) {
  /* The loop has nothing else to do and blocks in the backend; a send 30 ms
   * later wakes it. */
  run_senders(1, 1, 30);
}

TEST(native_async_many_threads) {
  run_senders(4, 2000, 0);
}

static void *send_once_thread(void *arg) {
  for (int i = 0; i < 100; i++)
    ASSERT_OK(tide_async_send(arg));
  return NULL;
}

static void count_cb(tide_async *async) {
  (*(int *)async->handle.data)++;
}

TEST(native_async_sends_before_run_coalesce) {
  tide_loop loop;
  tide_async async;
  pthread_t th;
  int calls = 0;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_async_init(&loop, &async, count_cb));
  async.handle.data = &calls;
  ASSERT_EQ(pthread_create(&th, NULL, send_once_thread, &async), 0);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(calls, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(calls, 1);
  tide_handle_close(&async.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

/* A sender that keeps sending while the loop's thread closes the handle: every
 * send answers 0 until the close, TIDE_ECLOSED after it, and nothing else (no
 * callback after the close, no error of another kind). Under TSan this is the
 * race of a send against tide_handle_close, which must be free of data races:
 * other threads touch the handle only through its atomic word. */
typedef struct racing {
  tide_async async;
  atomic_int stop;  /* the sender saw TIDE_ECLOSED */
  int other_errors; /* sender thread only, read after the join */
  int calls;        /* loop thread only */
  int closed;
} racing;

static void *send_until_closed(void *arg) {
  racing *r = arg;
  for (;;) {
    int rc = tide_async_send(&r->async);
    if (rc == TIDE_ECLOSED) break;
    if (rc != 0) r->other_errors++;
  }
  atomic_store(&r->stop, 1);
  return NULL;
}

static void racing_close_cb(tide_handle *h) {
  ((racing *)h->data)->closed++;
}

static void close_on_first_cb(tide_async *async) {
  racing *r = async->handle.data;
  if (r->calls++ == 0) tide_handle_close(&async->handle, racing_close_cb);
}

TEST(native_async_send_races_close) {
  tide_loop loop;
  tide_timer dog;
  racing r;
  pthread_t th;
  memset(&r, 0, sizeof r);
  atomic_init(&r.stop, 0);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_async_init(&loop, &r.async, close_on_first_cb));
  r.async.handle.data = &r;
  ASSERT_EQ(pthread_create(&th, NULL, send_until_closed, &r), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* the watchdog is unref'd */
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(atomic_load(&r.stop), 1);
  ASSERT_EQ(r.other_errors, 0);
  ASSERT_EQ(r.calls, 1); /* none after the close */
  ASSERT_EQ(r.closed, 1);
  test_watchdog_close(&dog);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}
