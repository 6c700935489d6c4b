/* libuv_spawn.c: W8 on libuv: spawn-and-wait of /bin/true N times, K at a time.
 *
 *   libuv_spawn N [K [PROGRAM]]    (K default 8, PROGRAM default /bin/true)
 *
 * K uv_process_t slots, each started with uv_spawn (all three streams
 * UV_IGNORE, i.e. /dev/null, as tideloop's TIDE_STDIO_NULL); its exit_cb checks
 * the exit status (0, no signal), closes the handle, and the close callback
 * starts the slot's next child, so K run at once and a new one starts as soon
 * as one is reaped (the handle must be closed before it is reused). The clock
 * runs from the first spawn to the last exit seen.
 */
#include <uv.h>

#include "bench.h"

static struct {
  long n, started, done, ok;
  const char *program;
  uint64_t start, end;
  uv_loop_t loop;
} w8;

static void start_next(uv_process_t *proc);

static void on_closed(uv_handle_t *h) {
  start_next((uv_process_t *)h);
}

static void on_child_exit(uv_process_t *proc, int64_t status, int signal) {
  BENCH_CHECK(status == 0 && signal == 0,
              "child of %s: exit status %lld, signal %d, expected 0", w8.program,
              (long long)status, signal);
  w8.ok++;
  if (++w8.done == w8.n) w8.end = bench_now_ns();
  uv_close((uv_handle_t *)proc, on_closed);
}

static void start_next(uv_process_t *proc) {
  if (w8.started >= w8.n) return;
  long i = w8.started++;
  char *args[] = {(char *)w8.program, NULL};
  uv_stdio_container_t stdio[3];
  for (int k = 0; k < 3; k++)
    stdio[k].flags = UV_IGNORE;
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.file = w8.program;
  o.args = args;
  o.exit_cb = on_child_exit;
  o.stdio_count = 3;
  o.stdio = stdio;
  int rc = uv_spawn(&w8.loop, proc, &o);
  BENCH_CHECK(rc == 0, "uv_spawn %ld of %s: %s", i, w8.program, uv_strerror(rc));
}

int main(int argc, char **argv) {
  w8.n = bench_arg(argc, argv, 1, 1000);
  long k = bench_arg(argc, argv, 2, 8);
  w8.program = argc > 3 ? argv[3] : "/bin/true";
  BENCH_CHECK(w8.n > 0 && k > 0, "usage: libuv_spawn N [K [PROGRAM]]");
  if (k > w8.n) k = w8.n;
  BENCH_CHECK(uv_loop_init(&w8.loop) == 0, "uv_loop_init");
  uv_process_t *procs = calloc((size_t)k, sizeof *procs);
  BENCH_CHECK(procs != NULL, "out of memory");
  w8.start = bench_now_ns();
  for (long i = 0; i < k; i++)
    start_next(&procs[i]);
  uv_run(&w8.loop, UV_RUN_DEFAULT);
  BENCH_CHECK(w8.done == w8.n, "%ld exits seen, expected %ld", w8.done, w8.n);
  printf("{\"ops\": %ld, \"ns\": %llu, \"check\": %ld}\n", w8.n,
         (unsigned long long)(w8.end - w8.start), w8.ok);
  BENCH_CHECK(uv_loop_close(&w8.loop) == 0, "uv_loop_close");
  free(procs);
  return 0;
}
