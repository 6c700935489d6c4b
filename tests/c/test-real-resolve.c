/* test-real-resolve.c (tide-tests on every real backend, native and WASI):
 * tide_resolve's answers that need no network: numeric addresses (canonical
 * text, family filter), "localhost", bad arguments, a name nobody can answer
 * here, cancellation, and out of memory, with the same results on each host
 * where the header promises them. Natively "localhost" and other names go
 * through the resolver threads (test-native-resolve.c has the rest of those). */
#include <string.h>

#include "alloc.h"
#include "test.h"
#include "util.h"

static void run_until_done(tide_loop *loop, tide_future *f) {
  while (!tide_future_done(f)) ASSERT_GE(tide_loop_run(loop, TIDE_RUN_ONCE), 0);
}

/* The addresses of a finished resolve (borrowed from the future). */
static const tide_address *addrs_of(tide_future *f, size_t *out_n) {
  tide_value v;
  ASSERT_OK(tide_future_result(f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_BYTES);
  ASSERT_NOT_NULL(v.as.bytes.data);
  ASSERT_GT(v.as.bytes.len, 0);
  ASSERT_EQ(v.as.bytes.len % sizeof(tide_address), 0);
  *out_n = v.as.bytes.len / sizeof(tide_address);
  return v.as.bytes.data;
}

/* Resolve host and expect exactly one address (family, text), complete when
 * tide_resolve returns: a numeric address needs nobody. */
static void expect_numeric(tide_loop *loop, const char *host, int family, int want_family,
                           const char *want) {
  tide_future f;
  size_t n;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_resolve(loop, host, family, &f));
  ASSERT(tide_future_done(&f));
  const tide_address *a = addrs_of(&f, &n);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(a[0].family, want_family);
  ASSERT_EQ(a[0].port, 0);
  ASSERT_STR_EQ(a[0].host, want);
  tide_future_release(&f);
}

static void expect_error_now(tide_loop *loop, const char *host, int family, int code) {
  tide_future f;
  tide_future_init(loop, &f);
  ASSERT_OK(tide_resolve(loop, host, family, &f));
  ASSERT(tide_future_done(&f));
  ASSERT_ERR(tide_future_result(&f, NULL), code);
  tide_future_release(&f);
}

static int is_loopback(const tide_address *a) {
  return (a->family == 4 && strncmp(a->host, "127.", 4) == 0) ||
         (a->family == 6 && strcmp(a->host, "::1") == 0);
}

TEST(resolve_numeric_v4) {
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  expect_numeric(&loop, "127.0.0.1", 0, 4, "127.0.0.1");
  expect_numeric(&loop, "10.20.30.40", 4, 4, "10.20.30.40");
  expect_numeric(&loop, "255.255.255.255", 0, 4, "255.255.255.255");
  /* Nothing was left behind: no thread, no handle. */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(resolve_numeric_v6_canonical) {
  /* The text is canonical (inet_ntop), so addresses compare alike everywhere. */
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  expect_numeric(&loop, "::1", 0, 6, "::1");
  expect_numeric(&loop, "0:0:0:0:0:0:0:1", 6, 6, "::1");
  expect_numeric(&loop, "2001:DB8:0:0:1:0:0:1", 0, 6, "2001:db8::1:0:0:1");
  expect_numeric(&loop, "::FFFF:1.2.3.4", 0, 6, "::ffff:1.2.3.4");
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(resolve_numeric_family_filter) {
  /* A numeric address of the other family has no address of the one asked. */
  tide_loop loop;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  expect_error_now(&loop, "127.0.0.1", 6, TIDE_ENOTFOUND);
  expect_error_now(&loop, "::1", 4, TIDE_ENOTFOUND);
  expect_error_now(&loop, "::ffff:1.2.3.4", 4, TIDE_ENOTFOUND);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(resolve_bad_arguments_einval) {
  /* Refused by the call: the future is left pending and untouched. */
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_resolve(&loop, NULL, 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_resolve(&loop, "", 0, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_resolve(&loop, "127.0.0.1", 5, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_resolve(&loop, "127.0.0.1", -1, &f), TIDE_EINVAL);
  ASSERT_ERR(tide_resolve(&loop, "localhost", 46, &f), TIDE_EINVAL);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  /* Still usable afterwards. */
  ASSERT_OK(tide_resolve(&loop, "127.0.0.1", 4, &f));
  ASSERT(tide_future_done(&f));
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(resolve_localhost) {
  tide_loop loop;
  tide_future any, v4, v6;
  size_t n;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &any);
  tide_future_init(&loop, &v4);
  tide_future_init(&loop, &v6);
  ASSERT_OK(tide_resolve(&loop, "localhost", 0, &any));
  ASSERT_OK(tide_resolve(&loop, "localhost", 4, &v4));
  ASSERT_OK(tide_resolve(&loop, "localhost", 6, &v6));
  run_until_done(&loop, &any);
  run_until_done(&loop, &v4);
  run_until_done(&loop, &v6);

  const tide_address *a = addrs_of(&any, &n);
#ifdef __wasi__
  /* No resolver: the fixed answer, IPv4 first. */
  ASSERT_EQ(n, 2);
  ASSERT_EQ(a[0].family, 4);
  ASSERT_STR_EQ(a[0].host, "127.0.0.1");
  ASSERT_EQ(a[1].family, 6);
  ASSERT_STR_EQ(a[1].host, "::1");
#endif
  /* Natively /etc/hosts says; loopback addresses only, in any case. */
  for (size_t i = 0; i < n; i++) ASSERT(is_loopback(&a[i]));

  a = addrs_of(&v4, &n);
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(a[i].family, 4);
    ASSERT(is_loopback(&a[i]));
  }
  /* A host whose /etc/hosts lists no ::1 for localhost has no IPv6 answer. */
  if (tide_future_result(&v6, NULL) == 0) {
    a = addrs_of(&v6, &n);
    ASSERT_EQ(n, 1);
    ASSERT_STR_EQ(a[0].host, "::1");
  } else {
#ifdef __wasi__
    ASSERT(0 && "WASI answers localhost for IPv6 with ::1");
#endif
    ASSERT_ERR(tide_future_result(&v6, NULL), TIDE_ENOTFOUND);
  }
  tide_future_release(&any);
  tide_future_release(&v4);
  tide_future_release(&v6);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(resolve_unknown_name) {
  /* The reserved .invalid TLD never resolves. Under WASI nothing can resolve a
   * name: TIDE_ENOSYS, as the header says. Natively, without a network the
   * resolver may also report a temporary failure. */
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_resolve(&loop, "nonexistent.invalid", 0, &f));
  run_until_done(&loop, &f);
  int rc = tide_future_result(&f, NULL);
#ifdef __wasi__
  ASSERT_ERR(rc, TIDE_ENOSYS);
#else
  if (rc != TIDE_EAGAIN) ASSERT_ERR(rc, TIDE_ENOTFOUND);
#endif
  /* The message names what was looked up. */
  ASSERT_NOT_NULL(strstr(tide_future_error_message(&f), "nonexistent.invalid"));
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
}

typedef struct resolve_frame {
  tide_future f;
  int rc;
  size_t n;
} resolve_frame;

/* Awaits a numeric resolve and a localhost one; returns how many addresses. */
static int resolver_main(tide_task *t, void *frame) {
  resolve_frame *r = frame;
  TIDE_BEGIN(t);
  tide_future_init(tide_task_loop(t), &r->f);
  r->rc = tide_resolve(tide_task_loop(t), "::1", 0, &r->f);
  if (r->rc != 0) TIDE_RETURN_ERROR(t, r->rc, NULL);
  TIDE_AWAIT(t, &r->f, r->rc);
  if (r->rc != 0) TIDE_RETURN_ERROR(t, r->rc, NULL);
  r->n = 1;
  tide_future_release(&r->f);

  tide_future_init(tide_task_loop(t), &r->f);
  r->rc = tide_resolve(tide_task_loop(t), "localhost", 4, &r->f);
  if (r->rc != 0) TIDE_RETURN_ERROR(t, r->rc, NULL);
  TIDE_AWAIT(t, &r->f, r->rc);
  if (r->rc != 0) TIDE_RETURN_ERROR(t, r->rc, NULL);
  {
    tide_value v;
    (void)tide_future_result(&r->f, &v);
    r->n += v.as.bytes.len / sizeof(tide_address);
  }
  tide_future_release(&r->f);
  TIDE_RETURN_INT(t, r->n);
  TIDE_END(t);
}

TEST(resolve_awaited_by_task) {
  tide_loop loop;
  tide_task *t;
  tide_value v;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_task_spawn(&loop, resolver_main, NULL, sizeof(resolve_frame), &t));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_OK(tide_future_result(tide_task_future(t), &v));
  ASSERT_GE(v.as.i, 2);
  tide_task_release(t);
  CLOSE_LOOP(&loop);
}

TEST(resolve_cancel_and_release) {
  /* Cancelling completes the future at once; releasing a pending one is a
   * cancel too. Either way the loop runs to its end and closes cleanly
   * (natively it waits for a thread still inside getaddrinfo). */
  tide_loop loop;
  tide_future a, b;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  tide_future_init(&loop, &a);
  tide_future_init(&loop, &b);
  ASSERT_OK(tide_resolve(&loop, "localhost", 0, &a));
  ASSERT_OK(tide_resolve(&loop, "localhost", 0, &b));
  int rc = tide_future_cancel(&a);
  if (rc == 0) {
    ASSERT_EQ(tide_future_state_get(&a), TIDE_FUTURE_CANCELLED);
  } else {
    ASSERT_ERR(rc, TIDE_EALREADY); /* answered at once (WASI) */
    ASSERT_EQ(tide_future_state_get(&a), TIDE_FUTURE_RESULT);
  }
  tide_future_release(&b);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_ERR(tide_future_cancel(&a), TIDE_EALREADY);
  tide_future_release(&a);
  CLOSE_LOOP(&loop);
}

TEST(resolve_result_freed_through_loop) {
  /* The array comes from the loop's allocator: the future frees it, or the
   * taker with tide_loop_dealloc. */
  test_alloc al;
  test_alloc_init(&al);
  tide_loop_options opts = test_alloc_options(&al);
  tide_loop loop;
  tide_future f;
  void *data;
  size_t len;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_resolve(&loop, "192.0.2.1", 0, &f));
  ASSERT_OK(tide_future_take_bytes(&f, &data, &len));
  ASSERT_EQ(len, sizeof(tide_address));
  ASSERT_STR_EQ(((tide_address *)data)->host, "192.0.2.1");
  tide_loop_dealloc(&loop, data);
  tide_future_release(&f);
  tide_future_init(&loop, &f);
  ASSERT_OK(tide_resolve(&loop, "localhost", 0, &f));
  run_until_done(&loop, &f);
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&al);
}

TEST(resolve_numeric_out_of_memory) {
  /* The one allocation of a numeric answer fails: TIDE_ENOMEM, and the future
   * is left pending as it was. */
  test_alloc al;
  test_alloc_init(&al);
  tide_loop_options opts = test_alloc_options(&al);
  tide_loop loop;
  tide_future f;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  tide_future_init(&loop, &f);
  test_alloc_fail_in(&al, 1);
  ASSERT_ERR(tide_resolve(&loop, "127.0.0.1", 0, &f), TIDE_ENOMEM);
  ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
  ASSERT_OK(tide_resolve(&loop, "127.0.0.1", 0, &f));
  ASSERT(tide_future_done(&f));
  tide_future_release(&f);
  RUN_AND_CLOSE_LOOP(&loop);
  ASSERT_NO_LEAKS(&al);
}
