/* jspi.c: W4 and W5 for JSPI (WebAssembly.Suspending / WebAssembly.promising),
 * the browsers' own stack switching, as a peer of tideloop: plain C, no runtime,
 * no libc, built with `clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry`
 * (bench/browser/build.sh). The page (bench/browser/page/variants.mjs) wraps
 * both imports in `new WebAssembly.Suspending(async ...)` and both exports in
 * `WebAssembly.promising`, so each call of an export is a Promise and each call
 * of an import suspends the whole wasm stack until the JS promise settles.
 *
 *   w5_loop(n)      W5: await ping(i) N times in a plain C loop, where ping is
 *                   the same `async (x) => x + 1` every W5 variant awaits;
 *                   returns how many answers were right (i + 1).
 *   w4_sleeper(ms)  W4: one task: await sleep(ms) once; returns 1. The page
 *                   starts N of them at once, each its own suspended stack.
 */
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(ping) double ping(double x);
IMPORT(sleep) int sleep_ms(int ms);

EXPORT(w5_loop) int w5_loop(int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) ok += ping((double)i) == (double)(i + 1);
  return ok;
}

EXPORT(w4_sleeper) int w4_sleeper(int ms) {
  return sleep_ms(ms) == 0;
}
