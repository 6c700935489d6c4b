/* test-errors.c: the fixed error table: names, messages, numbers, unknowns. */
#include <limits.h>

#include "test.h"

typedef struct expected_error {
  int code;
  const char *name;
  const char *message;
} expected_error;

#define EXPECTED_ERROR(name, num, msg) {num, #name, msg},
static const expected_error table[] = {TIDE_ERRNO_MAP(EXPECTED_ERROR)};
#undef EXPECTED_ERROR

TEST(err_name_and_strerror_for_every_code) {
  for (size_t i = 0; i < TEST_ARRAY_SIZE(table); i++) {
    ASSERT_STR_EQ(tide_err_name(table[i].code), table[i].name);
    ASSERT_STR_EQ(tide_strerror(table[i].code), table[i].message);
  }
}

TEST(err_enum_matches_table) {
  /* Numbers never change once published (the same on every host); new codes
   * are appended, so the table stays dense from -1 to TIDE__ERR_LAST. */
  ASSERT_EQ(TIDE_EINVAL, -1);
  ASSERT_EQ(TIDE_ENOMEM, -2);
  ASSERT_EQ(TIDE_EBUSY, -3);
  ASSERT_EQ(TIDE_ECANCELED, -4);
  ASSERT_EQ(TIDE_ETIMEDOUT, -5);
  ASSERT_EQ(TIDE_EALREADY, -6);
  ASSERT_EQ(TIDE_EPENDING, -7);
  ASSERT_EQ(TIDE_EBADF, -11);
  ASSERT_EQ(TIDE_EOF, -21);
  ASSERT_EQ(TIDE_ECLOSED, -22);
  ASSERT_EQ(TIDE_ESTATE, -23);
  ASSERT_EQ(TIDE_EUNKNOWN, -31);
  ASSERT_EQ(TIDE_EMFILE, -32);
  ASSERT_EQ(TIDE_ENOTFOUND, -33);
  ASSERT_EQ(TIDE_ENOTSOCK, -34);
  ASSERT_EQ(TIDE_ESRCH, -35);
  ASSERT_EQ(TIDE_ENOEXEC, -36);
  ASSERT_EQ(TEST_ARRAY_SIZE(table), -TIDE__ERR_LAST);
  for (size_t i = 0; i < TEST_ARRAY_SIZE(table); i++)
    ASSERT_EQ(table[i].code, -(int)i - 1);
}

TEST(err_unknown_numbers) {
  static const int unknown[] = {
      TIDE__ERR_LAST - 1, -100, -1000, 1, 5, 1000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < TEST_ARRAY_SIZE(unknown); i++) {
    ASSERT_STR_EQ(tide_err_name(unknown[i]), "EUNKNOWN");
    ASSERT_STR_EQ(tide_strerror(unknown[i]), "unknown error");
  }
  /* 0 is success, not an error; whatever it says, it says something. */
  ASSERT_NOT_NULL(tide_err_name(0));
  ASSERT_NOT_NULL(tide_strerror(0));
}
