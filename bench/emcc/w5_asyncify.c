/* w5_asyncify.c: W5 with Emscripten's ASYNCIFY: C awaits the JS function
 * globalThis.benchPing (the same async (x) => x + 1 every W5 variant awaits)
 * through EM_ASYNC_JS, N times in a plain C loop; ASYNCIFY unwinds and rewinds
 * the C stack around each await.
 *
 *   built by bench/build.sh (emcc -O2 -sASYNCIFY), run by bench/js/w5-asyncify.mjs
 */
#include <emscripten.h>
#include <stdio.h>
#include <stdlib.h>

EM_ASYNC_JS(double, ping, (double x), { return await globalThis.benchPing(x); });

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
  long ok = 0;
  double start = emscripten_get_now();
  for (long i = 0; i < n; i++) ok += ping((double)i) == (double)(i + 1);
  double ms = emscripten_get_now() - start;
  if (ok != n) {
    fprintf(stderr, "FAIL: %ld of %ld pings answered right\n", ok, n);
    return 1;
  }
  printf("{\"ops\": %ld, \"ns\": %.0f, \"check\": %ld}\n", n, ms * 1e6, ok);
  return 0;
}
