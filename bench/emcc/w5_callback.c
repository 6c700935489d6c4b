/* w5_callback.c: W5 written by hand without any runtime: C starts a ping
 * through an import, and JS calls the exported on_pong() from the Promise's
 * then(); the C "coroutine" is a counter and a callback, the least a C-to-JS
 * await can cost.
 *
 *   built by bench/build.sh (emcc -O2 -sSTANDALONE_WASM --no-entry), run by
 *   bench/js/w5-callback.mjs, which provides the imports.
 */
__attribute__((import_module("bench"), import_name("ping"))) void js_ping(double x);
__attribute__((import_module("bench"), import_name("done"))) void js_done(long ok);

static long n, i, ok;

__attribute__((export_name("start"))) void start(long count) {
  n = count;
  i = 0;
  ok = 0;
  js_ping(0);
}

__attribute__((export_name("on_pong"))) void on_pong(double v) {
  ok += v == (double)(i + 1);
  if (++i < n)
    js_ping((double)i);
  else
    js_done(ok);
}
