/* dns-test-module.c: the module tests/js/dns.test.mjs loads, built with
 * tide_add_js_module() to <build>/tests/modules/tide-dns-test-module.wasm (its own file,
 * so the general test module stays small).
 *
 * Its TIDE_MAIN setup (rt.main(argv)) exports one coroutine (rt.call(name,
 * args)):
 *   resolve(host, [family])  awaits tide_resolve(host, family or 0) and returns
 *                            the addresses as one string of "<family>/<host>"
 *                            items separated by spaces ("4/127.0.0.1 6/::1"),
 *                            or fails with the resolve's error (code and
 *                            message). Aborting the call cancels the resolve.
 */
#include <stdio.h>
#include <string.h>

#include "tide.h"

typedef struct resolve_frame {
  tide_future f;
  int rc;
  char msg[256];
} resolve_frame;

static void free_text(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

/* The addresses in f's result as "<family>/<host> ..." (loop-allocated), or
 * NULL if out of memory. */
static char *format(tide_loop *loop, tide_future *f, size_t *out_len) {
  tide_value v;
  (void)tide_future_result(f, &v);
  const tide_address *a = v.as.bytes.data;
  size_t n = v.as.bytes.len / sizeof *a;
  size_t cap = n * (sizeof a->host + 4) + 1;
  char *text = tide_loop_alloc(loop, cap);
  if (text == NULL) return NULL;
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len, "%s%d/%s", i ? " " : "", a[i].family,
                            a[i].host);
  *out_len = len;
  return text;
}

static int resolve_main(tide_task *t, void *frame) {
  resolve_frame *r = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n < 1 || args[0].type != TIDE_VALUE_STRING)
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "resolve(host, [family]) takes a host name");
    int family = n >= 2 && args[1].type == TIDE_VALUE_DOUBLE ? (int)args[1].as.d : 0;
    tide_future_init(loop, &r->f);
    r->rc = tide_resolve(loop, args[0].as.bytes.data, family, &r->f);
    if (r->rc != 0) {
      tide_future_release(&r->f);
      TIDE_RETURN_ERROR(t, r->rc, "tide_resolve refused the call");
    }
  }
  TIDE_AWAIT(t, &r->f, r->rc);
  if (r->rc != 0) {
    const char *m = tide_future_error_message(&r->f);
    snprintf(r->msg, sizeof r->msg, "%s", m != NULL ? m : tide_strerror(r->rc));
    tide_future_release(&r->f);
    TIDE_RETURN_ERROR(t, r->rc, r->msg);
  }
  {
    size_t len = 0;
    char *text = format(loop, &r->f, &len);
    tide_future_release(&r->f);
    if (text == NULL) TIDE_RETURN_ERROR(t, TIDE_ENOMEM, "no memory for the answer");
    tide_value v = tide_value_text(TIDE_VALUE_STRING, text, len);
    v.priv_free = free_text;
    v.priv_free_ud = loop;
    TIDE_RETURN_VALUE(t, &v);
  }
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tide_export_task(loop, "resolve", resolve_main, sizeof(resolve_frame));
}

TIDE_MAIN(setup)
