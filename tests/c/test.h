/* test.h: the C test harness (libuv test/task.h style): TEST(name) registration
 * and ASSERT macros that print both sides of a failed comparison.
 *
 * A test is a function registered by a constructor into a registry kept by
 * runner.c, so adding a test is writing TEST(name) { ... } in any test-*.c file
 * (tests/c/CMakeLists.txt parses the same lines to register each with ctest).
 * A failed assertion prints file:line, the expressions and their values, and
 * aborts: the runner runs each test in its own process where it can (fork), and a
 * single test by name in process, so an abort never hides another test's result.
 *
 * Rules every test follows: it ends by closing its loop successfully
 * (CLOSE_LOOP), and when it uses the counting allocator, with zero live blocks
 * (ASSERT_NO_LEAKS).
 */
#ifndef TIDE_TEST_H
#define TIDE_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tide.h"

/* One registered test. Entries live in static storage in the test's file; the
 * runner links them into a list (no allocation, so a test's leak count is its own). */
typedef struct test_entry {
  const char *name;
  const char *file;
  int line;
  void (*fn)(void);
  struct test_entry *next;
} test_entry;

void test__register(test_entry *entry);
/* Print a failure (prefixed with file:line) and abort the test. */
void test__fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4), noreturn))
#endif
    ;
/* The name of the test running now (for messages). */
const char *test__current_name(void);

/* A test that cannot run here says so and ends its process with this status,
 * which ctest counts as skipped (SKIP_RETURN_CODE in tests/c/CMakeLists.txt)
 * and the runner's forked runs print as "# SKIP": never as a pass. */
#define TEST_SKIP_CODE 77
/* Print "SKIPPED <test>: <reason>" and exit with TEST_SKIP_CODE. In a run of
 * several tests in one process (no fork: WASI, --no-fork) this ends the run. */
void test__skip(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
#define TEST_SKIP(...) test__skip(__VA_ARGS__)

/* Define and register a test: TEST(timer_order) { ... }. Names are unique across
 * all files (the runner refuses duplicates) and are [A-Za-z0-9_]+ so ctest can
 * parse them. */
#define TEST(name)                                                                     \
  static void test_fn_##name(void);                                                    \
  static test_entry test_entry_##name = {#name, __FILE__, __LINE__, test_fn_##name,    \
                                         NULL};                                        \
  __attribute__((constructor)) static void test_register_##name(void) {                \
    test__register(&test_entry_##name);                                                \
  }                                                                                    \
  static void test_fn_##name(void)

/* --- Assertions ------------------------------------------------------------ */

#define ASSERT(expr)                                                                   \
  do {                                                                                 \
    if (!(expr)) test__fail(__FILE__, __LINE__, "assertion failed: %s", #expr);        \
  } while (0)

/* Integer comparisons: both sides are evaluated once, as long long. */
#define TEST__CMP_INT(a, op, b)                                                        \
  do {                                                                                 \
    long long test__a_ = (long long)(a);                                               \
    long long test__b_ = (long long)(b);                                               \
    if (!(test__a_ op test__b_))                                                       \
      test__fail(__FILE__, __LINE__, "assertion failed: %s %s %s (%lld %s %lld)", #a,  \
                 #op, #b, test__a_, #op, test__b_);                                    \
  } while (0)

#define ASSERT_EQ(a, b) TEST__CMP_INT(a, ==, b)
#define ASSERT_NE(a, b) TEST__CMP_INT(a, !=, b)
#define ASSERT_LT(a, b) TEST__CMP_INT(a, <, b)
#define ASSERT_LE(a, b) TEST__CMP_INT(a, <=, b)
#define ASSERT_GT(a, b) TEST__CMP_INT(a, >, b)
#define ASSERT_GE(a, b) TEST__CMP_INT(a, >=, b)

/* Unsigned 64-bit comparison (times, deadlines near UINT64_MAX). */
#define ASSERT_U64_EQ(a, b)                                                            \
  do {                                                                                 \
    unsigned long long test__a_ = (unsigned long long)(a);                             \
    unsigned long long test__b_ = (unsigned long long)(b);                             \
    if (test__a_ != test__b_)                                                          \
      test__fail(__FILE__, __LINE__, "assertion failed: %s == %s (%llu == %llu)", #a,  \
                 #b, test__a_, test__b_);                                              \
  } while (0)

/* A TIDE_E* result equal to an expected code; prints both names. */
#define ASSERT_ERR(expr, code)                                                         \
  do {                                                                                 \
    int test__r_ = (int)(expr);                                                        \
    int test__c_ = (int)(code);                                                        \
    if (test__r_ != test__c_)                                                          \
      test__fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", #expr,   \
                 test__r_, test__r_ ? tide_err_name(test__r_) : "OK", test__c_,        \
                 test__c_ ? tide_err_name(test__c_) : "OK");                           \
  } while (0)

/* expr == 0; on failure prints the error's name and message. */
#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    int test__r_ = (int)(expr);                                                        \
    if (test__r_ != 0)                                                                 \
      test__fail(__FILE__, __LINE__, "%s returned %d (%s: %s), expected 0", #expr,     \
                 test__r_, tide_err_name(test__r_), tide_strerror(test__r_));          \
  } while (0)

#define ASSERT_STR_EQ(a, b)                                                            \
  do {                                                                                 \
    const char *test__a_ = (a);                                                        \
    const char *test__b_ = (b);                                                        \
    if (test__a_ == NULL || test__b_ == NULL || strcmp(test__a_, test__b_) != 0)       \
      test__fail(__FILE__, __LINE__, "assertion failed: %s == %s (\"%s\" == \"%s\")",  \
                 #a, #b, test__a_ ? test__a_ : "(null)",                               \
                 test__b_ ? test__b_ : "(null)");                                      \
  } while (0)

#define ASSERT_PTR_EQ(a, b)                                                            \
  do {                                                                                 \
    const void *test__a_ = (const void *)(a);                                          \
    const void *test__b_ = (const void *)(b);                                          \
    if (test__a_ != test__b_)                                                          \
      test__fail(__FILE__, __LINE__, "assertion failed: %s == %s (%p == %p)", #a, #b,  \
                 test__a_, test__b_);                                                  \
  } while (0)

#define ASSERT_PTR_NE(a, b)                                                            \
  do {                                                                                 \
    const void *test__a_ = (const void *)(a);                                          \
    const void *test__b_ = (const void *)(b);                                          \
    if (test__a_ == test__b_)                                                          \
      test__fail(__FILE__, __LINE__, "assertion failed: %s != %s (both %p)", #a, #b,   \
                 test__a_);                                                            \
  } while (0)

#define ASSERT_NULL(a) ASSERT_PTR_EQ(a, NULL)
#define ASSERT_NOT_NULL(a) ASSERT_PTR_NE(a, NULL)

/* Every test ends with this: nothing is left registered, the loop closes. */
#define CLOSE_LOOP(loop) ASSERT_OK(tide_loop_close(loop))

/* Run the loop until it has no referenced work, then close it. */
#define RUN_AND_CLOSE_LOOP(loop)                                                       \
  do {                                                                                 \
    ASSERT_EQ(tide_loop_run((loop), TIDE_RUN_DEFAULT), 0);                             \
    CLOSE_LOOP(loop);                                                                  \
  } while (0)

#define TEST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifdef TIDE_HOST_JS
/* On the JS host a poll never blocks: where tide_loop_run would have to wait it
 * returns TIDE_EAGAIN (src/backend/js/imports.c) and the JS host waits between
 * ticks instead. A C test runs synchronously, so on that host every test's
 * tide_loop_run does what the JS host would, in place (tests/c/js_host.c): wait
 * for the next deadline, then run again. tide_loop_stop is seen too, so a stop
 * still ends a DEFAULT run there. */
int test_js_loop_run(tide_loop *loop, tide_run_mode mode);
void test_js_loop_stop(tide_loop *loop);
#define tide_loop_run(loop, mode) test_js_loop_run((loop), (mode))
#define tide_loop_stop(loop) test_js_loop_stop(loop)
#endif

#endif /* TIDE_TEST_H */
