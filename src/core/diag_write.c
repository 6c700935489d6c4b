/* diag_write.c: buffered text output for the task dump and the trace export.
 * The core has no stdio, so numbers and JSON strings are formatted by hand;
 * output goes to the user's write function in chunks of up to 1 KiB. */
#include <string.h>

#include "diag.h"

void tide__w_init(tide__writer *w, tide_write_fn fn, void *ud) {
  w->fn = fn;
  w->ud = ud;
  w->rc = 0;
  w->len = 0;
}

/* After the writer refused once, everything else is dropped: the caller gets
 * its code back from tide__w_finish, and no partial output follows a gap. */
static void flush(tide__writer *w) {
  if (w->rc == 0 && w->len > 0) w->rc = w->fn(w->buf, w->len, w->ud);
  w->len = 0;
}

void tide__w_mem(tide__writer *w, const char *s, size_t n) {
  while (n > 0 && w->rc == 0) {
    size_t room = sizeof w->buf - w->len;
    size_t k = n < room ? n : room;
    memcpy(w->buf + w->len, s, k);
    w->len += k;
    s += k;
    n -= k;
    if (w->len == sizeof w->buf) flush(w);
  }
}

void tide__w_str(tide__writer *w, const char *s) {
  tide__w_mem(w, s, strlen(s));
}

void tide__w_u64(tide__writer *w, uint64_t v) {
  char buf[21];
  tide__w_mem(w, buf, tide__fmt_u64(buf, v));
}

void tide__w_i64(tide__writer *w, int64_t v) {
  if (v < 0) {
    tide__w_mem(w, "-", 1);
    tide__w_u64(w, 0 - (uint64_t)v); /* also right for INT64_MIN */
  } else {
    tide__w_u64(w, (uint64_t)v);
  }
}

/* The length of a valid UTF-8 sequence at s (n bytes left), or 0. Names are
 * cut at a byte limit, so a sequence may be cut short; JSON must stay valid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
               : s[0] >= 0xE0               ? 3
               : s[0] >= 0xC2               ? 2
                                            : 0;
  if (len == 0 || len > n || s[0] > 0xF4) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  /* No overlong forms, surrogates or code points above U+10FFFF. */
  if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
      (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
    return 0;
  return len;
}

/* Escape what JSON requires (quote, backslash, control characters) and keep
 * valid UTF-8 as is; names come from users and hosts, so anything may appear. */
void tide__w_json(tide__writer *w, const char *str) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  size_t n = strlen(str);
  tide__w_mem(w, "\"", 1);
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      tide__w_mem(w, esc, 2);
      i++;
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      tide__w_mem(w, esc, 6);
      i++;
    } else if (c < 0x80) {
      tide__w_mem(w, (const char *)s + i, 1);
      i++;
    } else {
      size_t len = utf8_len(s + i, n - i);
      tide__w_mem(w, len ? (const char *)s + i : "?", len ? len : 1);
      i += len ? len : 1;
    }
  }
  tide__w_mem(w, "\"", 1);
}

int tide__w_finish(tide__writer *w) {
  flush(w);
  return w->rc;
}
