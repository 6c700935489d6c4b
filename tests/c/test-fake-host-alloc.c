/* test-fake-host-alloc.c (tide-tests-fake only): out-of-memory at every
 * allocation site of host operations and exported calls, in turn (as
 * test-alloc-fail.c does for the core). Each injected failure must show as
 * exactly one TIDE_ENOMEM (from the call that needed the memory, or sent to the
 * host as a call's outcome) or as the substitute message the contract promises;
 * the loop must stay usable, and after closing nothing may be left allocated. */
#include <string.h>

#include "alloc.h"
#include "fake.h"
#include "test.h"
#include "util.h"

#define MAX_WALK 200

typedef struct outcome {
  int enomem;
  int substitute; /* an error landed with a cut or fixed message */
} outcome;

typedef void (*scenario_fn)(test_alloc *a, size_t fail_n, outcome *out);

static int walk(scenario_fn scenario) {
  for (size_t n = 1; n <= MAX_WALK; n++) {
    test_alloc a;
    outcome out = {0, 0};
    test_alloc_init(&a);
    scenario(&a, n, &out);
    ASSERT_NO_LEAKS(&a);
    ASSERT_EQ(out.enomem + out.substitute, (long long)a.failures);
    if (a.failures == 0) return (int)n - 1;
  }
  test__fail(__FILE__, __LINE__, "walk did not finish within %d failures", MAX_WALK);
}

/* A one-item STRING list of len copies of c. */
static size_t string_list(unsigned char *buf, char c, size_t len) {
  buf[0] = 2;
  for (int i = 0; i < 4; i++)
    buf[1 + i] = (unsigned char)((uint32_t)len >> (8 * i));
  memset(buf + 5, c, len);
  return 5 + len;
}

static int all_are(const char *s, char c, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != c) return 0;
  return s[len] == '\0';
}

/* --- A host call with large arguments and a string result -------------------- */

static void scenario_roundtrip(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future f;
  char big[400];
  unsigned char res[5 + 300];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  tide_value arg = tide_value_string(big);
  tide_future_init(&loop, &f);
  int rc = tide_host_call(&loop, "f", &arg, 1, &f);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    ASSERT_EQ(tide_loop_alive(&loop), 0);
    ASSERT_NULL(loop.priv_host); /* a refused first call leaves nothing */
    ASSERT_EQ(tide_fake_host_call_count(&loop), 0);
    tide_future_release(&f);
    CLOSE_LOOP(&loop);
    return;
  }
  ASSERT_OK(rc);
  uint32_t op;
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
  size_t len = string_list(res, 'r', 300);
  rc = tide_fake_host_complete(&loop, op, 0, res, len);
  if (rc == TIDE_ENOMEM) { /* the host could not pass its answer: still pending */
    out->enomem++;
    ASSERT_EQ(tide_future_state_get(&f), TIDE_FUTURE_PENDING);
    rc = tide_fake_host_complete(&loop, op, 0, res, len);
  }
  ASSERT_OK(rc);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  tide_value v;
  ASSERT_OK(tide_future_result(&f, &v));
  ASSERT_EQ(v.type, TIDE_VALUE_STRING);
  ASSERT(all_are(v.as.bytes.data, 'r', 300));
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(fake_host_alloc_fail_roundtrip) {
  ASSERT_GE(walk(scenario_roundtrip), 4); /* state, id table, args, the host's copy */
}

/* --- An error with a long message ----------------------------------------------- */

static void scenario_error_message(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  tide_future f;
  char msg[600];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  memset(msg, 'm', sizeof msg);
  tide_future_init(&loop, &f);
  int rc = tide_host_call(&loop, "f", NULL, 0, &f);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    tide_future_release(&f);
    CLOSE_LOOP(&loop);
    return;
  }
  ASSERT_OK(rc);
  uint32_t op;
  ASSERT_OK(tide_fake_host_last_op(&loop, &op, NULL, NULL, NULL));
  rc = tide_fake_host_complete(&loop, op, TIDE_EIO, msg, sizeof msg);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    rc = tide_fake_host_complete(&loop, op, TIDE_EIO, msg, sizeof msg);
  }
  ASSERT_OK(rc);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_ERR(tide_future_result(&f, NULL), TIDE_EIO); /* the error always lands */
  const char *got = tide_future_error_message(&f);
  if (all_are(got, 'm', sizeof msg)) {
    /* whole */
  } else if (all_are(got, 'm', 255)) {
    out->substitute++; /* the staging copy failed: cut, not lost */
  } else {
    ASSERT_STR_EQ(got, "(error message lost: out of memory)");
    out->substitute++;
  }
  tide_future_release(&f);
  CLOSE_LOOP(&loop);
}

TEST(fake_host_alloc_fail_error_message) {
  ASSERT_GE(walk(scenario_error_message), 4);
}

/* --- An exported coroutine called with a string, returning a long string ------ */

static int upper_main(tide_task *t, void *frame) {
  const tide_value *args;
  size_t n;
  (void)frame;
  tide_task_args(t, &args, &n);
  ASSERT_EQ(n, 1);
  char *s = args[0].as.bytes.data; /* the task's own copy */
  for (size_t i = 0; i < args[0].as.bytes.len; i++)
    if (s[i] >= 'a' && s[i] <= 'z') s[i] = (char)(s[i] - 'a' + 'A');
  TIDE_RETURN_VALUE(t, &args[0]);
}

static void scenario_export_call(test_alloc *a, size_t n, outcome *out) {
  tide_loop_options opts = test_alloc_options(a);
  tide_loop loop;
  unsigned char list[5 + 200];
  ASSERT_OK(tide_loop_init(&loop, &opts));
  test_alloc_fail_in(a, n);
  int rc = tide_export_task(&loop, "upper", upper_main, 0);
  if (rc == TIDE_ENOMEM) {
    out->enomem++;
    CLOSE_LOOP(&loop);
    return;
  }
  ASSERT_OK(rc);
  size_t len = string_list(list, 'q', 200);
  int call = tide_fake_call_task(&loop, "upper", list, len);
  if (call == TIDE_ENOMEM) {
    out->enomem++;
    ASSERT_EQ(tide_fake_call_done_count(&loop), 0);
    ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0); /* a half-made call unwinds */
    ASSERT_EQ(tide_fake_call_done_count(&loop), 0);
    CLOSE_LOOP(&loop);
    return;
  }
  ASSERT_GT(call, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  uint32_t got_call;
  int code;
  const void *data;
  size_t got_len;
  ASSERT_OK(tide_fake_call_done_last(&loop, &got_call, &code, &data, &got_len));
  ASSERT_EQ(got_call, call);
  if (code == TIDE_ENOMEM) {
    out->enomem++; /* the result could not be encoded: the host hears why */
  } else {
    ASSERT_OK(code);
    ASSERT_EQ(got_len, len);
    ASSERT(((const unsigned char *)data)[5] == 'Q');
  }
  CLOSE_LOOP(&loop);
}

TEST(fake_host_alloc_fail_export_call) {
  /* export entry, host state, args copy, decoded block, task, the task's side
   * block (its arguments and name), id table, done callback record, result
   * encoding */
  ASSERT_GE(walk(scenario_export_call), 9);
}
