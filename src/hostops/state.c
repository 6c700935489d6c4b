/* state.c: the per-loop host state (loop->priv_host): allocated on first use, so
 * a loop that never meets a host costs nothing, and freed by tide_loop_close
 * through loop->priv_host_close. Two loops never share any of it. */
#include <string.h>

#include "hostops.h"

/* At close nothing can be pending: every operation and call is counted in
 * loop->priv_registered, and tide_loop_close refuses while any is. */
static void host_close(tide_loop *loop) {
  tide__host *h = loop->priv_host;
  if (h == NULL) return;
  tide__exports_free(loop, h);
  while (h->kept != NULL) {
    void *block = h->kept;
    memcpy(&h->kept, block, sizeof h->kept);
    tide_loop_dealloc(loop, block);
  }
  tide__ids_free(loop, &h->ops);
  tide__ids_free(loop, &h->calls);
  tide_loop_dealloc(loop, h);
  loop->priv_host = NULL;
  loop->priv_host_close = NULL;
}

tide__host *tide__host_get(tide_loop *loop) {
  if (loop->priv_host != NULL) return loop->priv_host;
  tide__host *h = tide_loop_alloc(loop, sizeof *h);
  if (h == NULL) return NULL;
  memset(h, 0, sizeof *h);
  loop->priv_host = h;
  loop->priv_host_close = host_close;
  return h;
}

void tide__host_trim(tide_loop *loop) {
  tide__host *h = loop->priv_host;
  if (h != NULL && h->ops.used == 0 && h->calls.used == 0 && h->exports == NULL &&
      h->kept == NULL)
    host_close(loop);
}

int tide__host_keep(tide_loop *loop, void *block) {
  tide__host *h = tide__host_get(loop);
  if (h == NULL) return TIDE_ENOMEM;
  memcpy(block, &h->kept, sizeof h->kept);
  h->kept = block;
  return 0;
}
