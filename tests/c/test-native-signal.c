/* test-native-signal.c (tide-tests only: POSIX signals): signals delivered as
 * loop callbacks, to every loop watching them, never inline.
 * wasi-skip: WASI preview1 has no signals.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

#define WATCHDOG_MS 5000

typedef struct sig_rec {
  int calls;
  int last_signum;
  int close_in_cb;
  int closed;
} sig_rec;

static void sig_close_cb(tide_handle *h) {
  ((sig_rec *)h->data)->closed++;
}

static void sig_cb(tide_signal *sig, int signum) {
  sig_rec *r = sig->handle.data;
  r->calls++;
  r->last_signum = signum;
  if (r->close_in_cb) tide_handle_close(&sig->handle, sig_close_cb);
}

TEST(native_signal_raise_delivered_from_loop) {
  tide_loop loop;
  tide_signal sig;
  tide_timer dog;
  sig_rec r = {0, 0, 1, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_signal_init(&loop, &sig));
  sig.handle.data = &r;
  ASSERT_OK(tide_signal_start(&sig, sig_cb, SIGUSR1));
  ASSERT_EQ(tide_handle_is_active(&sig.handle), 1);
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(r.calls, 0); /* not from the signal handler */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* the watchdog is unref'd */
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.last_signum, SIGUSR1);
  ASSERT_EQ(r.closed, 1);
  test_watchdog_close(&dog);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(native_signal_two_loops_both_get_it) {
  tide_loop a, b;
  tide_signal sa, sb;
  tide_timer da, db;
  sig_rec ra = {0, 0, 1, 0}, rb = {0, 0, 1, 0};
  ASSERT_OK(tide_loop_init(&a, NULL));
  ASSERT_OK(tide_loop_init(&b, NULL));
  test_watchdog_start(&a, &da, WATCHDOG_MS);
  test_watchdog_start(&b, &db, WATCHDOG_MS);
  ASSERT_OK(tide_signal_init(&a, &sa));
  ASSERT_OK(tide_signal_init(&b, &sb));
  sa.handle.data = &ra;
  sb.handle.data = &rb;
  ASSERT_OK(tide_signal_start(&sa, sig_cb, SIGUSR1));
  ASSERT_OK(tide_signal_start(&sb, sig_cb, SIGUSR1));
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(tide_loop_run(&a, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_run(&b, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(ra.calls, 1);
  ASSERT_EQ(rb.calls, 1);
  ASSERT_EQ(ra.last_signum, SIGUSR1);
  ASSERT_EQ(rb.last_signum, SIGUSR1);
  test_watchdog_close(&da);
  test_watchdog_close(&db);
  ASSERT_EQ(tide_loop_run(&a, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(tide_loop_run(&b, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&a);
  CLOSE_LOOP(&b);
}

TEST(native_signal_two_watchers_one_loop) {
  tide_loop loop;
  tide_signal s1, s2;
  tide_timer dog;
  sig_rec r1 = {0, 0, 1, 0}, r2 = {0, 0, 1, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_signal_init(&loop, &s1));
  ASSERT_OK(tide_signal_init(&loop, &s2));
  s1.handle.data = &r1;
  s2.handle.data = &r2;
  ASSERT_OK(tide_signal_start(&s1, sig_cb, SIGUSR2));
  ASSERT_OK(tide_signal_start(&s2, sig_cb, SIGUSR2));
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r1.calls, 1);
  ASSERT_EQ(r2.calls, 1);
  test_watchdog_close(&dog);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(native_signal_bad_signum_einval) {
  tide_loop loop;
  tide_signal sig;
  sig_rec r = {0, 0, 0, 0};
  static const int bad[] = {0, -1, 100000, SIGKILL, SIGSTOP};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_signal_init(&loop, &sig));
  sig.handle.data = &r;
  for (size_t i = 0; i < TEST_ARRAY_SIZE(bad); i++) {
    int rc = tide_signal_start(&sig, sig_cb, bad[i]);
    if (rc != TIDE_EINVAL)
      test__fail(__FILE__, __LINE__,
                 "tide_signal_start(%d) returned %d (%s), expected EINVAL", bad[i], rc,
                 tide_err_name(rc));
    ASSERT_EQ(tide_handle_is_active(&sig.handle), 0);
  }
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_handle_close(&sig.handle, sig_close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.closed, 1);
  CLOSE_LOOP(&loop);
}

static void *kill_later(void *arg) {
  struct timespec ts = {0, 30 * 1000000L};
  (void)arg;
  nanosleep(&ts, NULL);
  kill(getpid(), SIGUSR2);
  return NULL;
}

TEST(native_signal_wakes_blocked_loop) {
  /* The loop blocks in the backend with only the signal watcher; another
   * thread signals the process 30 ms later. */
  tide_loop loop;
  tide_signal sig;
  tide_timer dog;
  pthread_t th;
  sig_rec r = {0, 0, 1, 0};
  sigset_t set;
  /* Keep the signal off the helper thread so it lands while we poll (either
   * way the loop must wake: the handler writes to the loop's wakeup). */
  ASSERT_OK(tide_loop_init(&loop, NULL));
  test_watchdog_start(&loop, &dog, WATCHDOG_MS);
  ASSERT_OK(tide_signal_init(&loop, &sig));
  sig.handle.data = &r;
  ASSERT_OK(tide_signal_start(&sig, sig_cb, SIGUSR2));
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
  ASSERT_EQ(pthread_create(&th, NULL, kill_later, NULL), 0);
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.last_signum, SIGUSR2);
  test_watchdog_close(&dog);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(native_signal_unref_and_stop) {
  tide_loop loop;
  tide_signal sig;
  sig_rec r = {0, 0, 0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_signal_init(&loop, &sig));
  sig.handle.data = &r;
  ASSERT_OK(tide_signal_start(&sig, sig_cb, SIGUSR1));
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  tide_handle_unref(&sig.handle);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_handle_ref(&sig.handle);
  tide_signal_stop(&sig);
  ASSERT_EQ(tide_handle_is_active(&sig.handle), 0);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  tide_handle_close(&sig.handle, sig_close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.closed, 1);
  ASSERT_EQ(r.calls, 0);
  CLOSE_LOOP(&loop);
}
