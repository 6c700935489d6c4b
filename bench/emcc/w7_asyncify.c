/* w7_asyncify.c: W7's comparison, bench/c/w7_minimal.c's logic written with
 * Emscripten's ASYNCIFY: await a 1 ms JS sleep three times, exit 0 if all three
 * succeeded. Only its size is measured (emcc -O2 -sASYNCIFY).
 */
#include <emscripten.h>

EM_ASYNC_JS(int, js_sleep, (int ms), {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 0;
});

int main(void) {
  int ok = 0;
  for (int i = 0; i < 3; i++) ok += js_sleep(1) == 0;
  return ok == 3 ? 0 : 1;
}
