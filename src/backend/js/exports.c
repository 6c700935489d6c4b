/* exports.c: the JS -> core direction of src/backend/js/ABI.md: every function JS calls.
 *
 * JS is an untrusted caller here: each export checks its loop against the loops
 * it made and every (ptr, len) against the size of linear memory before
 * touching it, and answers bad input with a TIDE_E* code, leaving the loop as it
 * was. The names are exported by the link (exports.txt, one --export each), so
 * nothing here needs an export attribute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bridge.h"
#include "hostops.h"

#ifndef __wasm__
#error "src/backend/js/exports.c is the JS host's glue: build it for wasm32 only"
#endif

/* --- Checking what JS passes ---------------------------------------------------- */

/* Bytes of linear memory now (it only grows, so a range checked here stays
 * valid for the call). 64-bit: 65536 pages make exactly 4 GiB. */
static uint64_t memory_bytes(void) {
  return (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
}

/* [ptr, ptr + len) lies in memory; a zero ptr is allowed only with len 0. */
static int in_memory(uint32_t ptr, uint32_t len) {
  if (ptr == 0) return len == 0;
  return (uint64_t)ptr + len <= memory_bytes();
}

static void *ptr_of(uint32_t ptr) {
  return (void *)(uintptr_t)ptr;
}

/* The completion ring (ABI.md, "Completions"): JS writes the completions of
 * host operations here between ticks, and the next tick takes them, in order,
 * before it runs, so a completion costs no call into wasm of its own. Its
 * layout is ABI: a header of four u32 (count, capacity, two reserved), then
 * `capacity` entries of 32 bytes. */
enum { RING_CAP = 256 };
enum { RING_NONE = 0, RING_NUMBER = 1, RING_BLOCK = 2 };

typedef struct js_completion {
  uint32_t op;
  int32_t code;  /* 0, or a TIDE_E* (a foreign code becomes TIDE_EHOST) */
  uint32_t kind; /* RING_NONE, RING_NUMBER (num), RING_BLOCK (ptr, len) */
  uint32_t ptr;  /* RING_BLOCK: a block from tide_js_alloc, which C takes: a */
  uint32_t len;  /*   one-item value list, or with code < 0 a UTF-8 message */
  uint32_t reserved;
  double num;
} js_completion;

typedef struct js_ring {
  uint32_t count; /* entries JS wrote; the tick that takes them resets it */
  uint32_t cap;   /* RING_CAP, for JS to read */
  uint32_t reserved[2];
  js_completion entries[RING_CAP];
} js_ring;

/* Loops made by tide_js_loop_new, so a stale or made-up loop pointer gets
 * TIDE_EINVAL rather than undefined behaviour. The list only validates: the
 * loops know nothing of each other. */
typedef struct js_loop {
  tide_loop loop; /* first: the pointer JS holds is &js_loop->loop */
  struct js_loop *next;
  js_ring ring;
} js_loop;

static js_loop *live_loops;

static js_loop *js_loop_of(tide_loop *loop) {
  for (js_loop *l = live_loops; l != NULL; l = l->next)
    if (&l->loop == loop) return l;
  return NULL;
}

static tide_loop *loop_of(tide_loop *loop) {
  return js_loop_of(loop) != NULL ? loop : NULL;
}

/* --- Loops ----------------------------------------------------------------------- */

tide_loop *tide_js_loop_new(void) {
  /* The default allocator: the one tide_js_alloc uses, so a buffer JS fills
   * can be taken and freed by the loop. */
  js_loop *l = tide__default_alloc(NULL, NULL, sizeof *l);
  if (l == NULL) return NULL;
  if (tide_loop_init(&l->loop, NULL) != 0) {
    tide__default_alloc(NULL, l, 0);
    return NULL;
  }
  memset(&l->ring, 0, sizeof l->ring);
  l->ring.cap = RING_CAP;
  l->next = live_loops;
  live_loops = l;
  return &l->loop;
}

int tide_js_loop_free(tide_loop *loop) {
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  if (loop->priv_running) return TIDE_ESTATE;
  int rc = tide_loop_close(loop);
  if (rc != 0) return rc;
  for (js_loop **p = &live_loops; *p != NULL; p = &(*p)->next) {
    if (&(*p)->loop == loop) {
      js_loop *l = *p;
      *p = l->next;
      tide__default_alloc(NULL, l, 0);
      break;
    }
  }
  return 0;
}

/* --- Ticks and completions ------------------------------------------------------ */

static int complete_block(tide_loop *loop, uint32_t op, int32_t code, uint32_t ptr,
                          uint32_t len);

/* Take one completion, from the ring or tide_js_tick_settle. One JS got
 * wrong (an unknown kind, a block that is not one) or one C refuses other than
 * for being stale (a malformed value, a code > 0) is reported, and changes
 * nothing else. A stale id (C cancelled the operation after JS wrote it) is
 * refused silently, as ABI.md promises. */
static void take_completion(js_loop *l, const js_completion *e) {
  tide_value v = tide_value_none();
  int rc;
  switch (e->kind) {
  case RING_NUMBER:
    v = tide_value_double(e->num);
    /* fallthrough */
  case RING_NONE:
    rc = tide__host_complete_value(&l->loop, e->op, e->code, &v);
    break;
  case RING_BLOCK:
    rc = complete_block(&l->loop, e->op, e->code, e->ptr, e->len);
    break;
  default:
    rc = TIDE_EINVAL;
  }
  if (rc != 0 && rc != TIDE_ENOENT)
    tide_loop_report(&l->loop, rc, "the host's completion of an operation", NULL);
}

/* Take what JS wrote to the ring, in order; a bad entry does not stop the
 * rest. */
static void take_ring(js_loop *l) {
  js_ring *r = &l->ring;
  uint32_t n = r->count < RING_CAP ? r->count : RING_CAP;
  r->count = 0; /* first: a completion may run C code that starts host calls */
  for (uint32_t i = 0; i < n; i++) {
    js_completion e = r->entries[i];
    take_completion(l, &e);
  }
}

int tide_js_take(tide_loop *loop) {
  js_loop *l = js_loop_of(loop);
  if (l == NULL) return TIDE_EINVAL;
  if (loop->priv_running) return TIDE_ESTATE;
  take_ring(l);
  return 0;
}

/* Largest timeout the tick's answer carries; a later tick asks again. */
#define TICK_TIMEOUT_MAX ((int64_t)1 << 29)

/* One tick of l (ABI.md, "tide_js_tick"): the ring's completions, then
 * settled's if it has one (RING_NONE or RING_NUMBER: the fast form), then one
 * NOWAIT iteration. */
static int tick(js_loop *l, double now_ms, const js_completion *settled) {
  tide_loop *loop = &l->loop;
  if (loop->priv_running) return TIDE_ESTATE; /* called back from inside a tick */
  tide__js_tick_begin(loop, now_ms);
  take_ring(l);
  if (settled != NULL) take_completion(l, settled);
  int rc = tide_loop_run(loop, TIDE_RUN_NOWAIT);
  tide__js_tick_end(loop);
  if (rc < 0) return rc;
  /* What JS needs next, in the one answer: when to tick again and whether the
   * loop keeps the process alive meanwhile (ABI.md, "tide_js_tick"). */
  int64_t t = tide_loop_next_timeout(loop);
  if (t > TICK_TIMEOUT_MAX) t = TICK_TIMEOUT_MAX;
  return (int)(((t + 1) << 1) | (tide_loop_alive(loop) ? 1 : 0));
}

int tide_js_tick(tide_loop *loop, double now_ms) {
  js_loop *l = js_loop_of(loop);
  if (l == NULL) return TIDE_EINVAL;
  return tick(l, now_ms, NULL);
}

/* A round trip's usual end in one call (ABI.md, "tide_js_tick_settle"): the
 * completion of op with a number (kind 1) or nothing (kind 0), after those in
 * the ring, then the tick, so JS writes no ring entry for it. */
int tide_js_tick_settle(tide_loop *loop, double now_ms, uint32_t op, uint32_t kind,
                        double num) {
  js_loop *l = js_loop_of(loop);
  if (l == NULL) return TIDE_EINVAL;
  if (kind != RING_NONE && kind != RING_NUMBER) return TIDE_EINVAL;
  js_completion c = {op, 0, kind, 0, 0, 0, num};
  return tick(l, now_ms, &c);
}

/* The virtual clock (tide.h, "Virtual time"), for load({clock}) and
 * rt.advance(): mode is a tide_clock_mode; ms a non-negative number of
 * milliseconds (fractions dropped). */
int tide_js_set_clock(tide_loop *loop, int mode) {
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  return tide_loop_set_clock(loop, (tide_clock_mode)mode);
}

int tide_js_advance(tide_loop *loop, double ms) {
  if (loop_of(loop) == NULL || !(ms >= 0.0 && ms <= 9007199254740992.0)) return TIDE_EINVAL;
  return tide_loop_advance(loop, (uint64_t)ms);
}

double tide_js_now(tide_loop *loop) {
  if (loop_of(loop) == NULL) return -1;
  return (double)tide_loop_now(loop);
}

uint32_t tide_js_ring(tide_loop *loop) {
  js_loop *l = js_loop_of(loop);
  return l != NULL ? (uint32_t)(uintptr_t)&l->ring : 0;
}

/* -1 for a loop that is not one (as "no timer": a double has no room for a
 * distinct code, and -1 makes the host arm nothing). */
double tide_js_next_timeout(tide_loop *loop) {
  if (loop_of(loop) == NULL) return -1;
  return (double)tide_loop_next_timeout(loop);
}

int tide_js_has_ref(tide_loop *loop) {
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  return tide_loop_alive(loop);
}

/* Read when rt.main() ends, which is the program's exit: its C stdio buffers
 * are flushed first, as exit() flushes them natively (printf to a pipe is
 * fully buffered, and nothing else ever flushes them on this host). With no
 * FILE in use, fflush(NULL) writes nothing and imports nothing. */
int tide_js_exit_code(tide_loop *loop) {
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  (void)fflush(NULL);
  return tide_main_exit_code(loop);
}

/* --- Memory for payloads --------------------------------------------------------- */

/* Every block tide_js_alloc hands out is recorded here until C takes it back
 * (a completion, a call's arguments) or JS frees it, so a pointer JS made up,
 * or passes twice, is refused instead of reaching free() and corrupting the
 * heap. An open-addressing set of addresses: linear probing, and backward-shift
 * deletion, so no tombstones pile up. One set per module instance: blocks are
 * memory of the instance, not of a loop. */
static uint32_t *blocks;
static uint32_t blocks_cap, blocks_len;

static uint32_t block_home(uint32_t p, uint32_t cap) {
  return ((p >> 3) * 2654435761u) & (cap - 1); /* Knuth's multiplicative hash */
}

static void block_put(uint32_t *set, uint32_t cap, uint32_t p) {
  uint32_t i = block_home(p, cap);
  while (set[i] != 0) i = (i + 1) & (cap - 1);
  set[i] = p;
}

static int blocks_add(uint32_t p) {
  if ((blocks_len + 1) * 2 > blocks_cap) { /* keep the load under one half */
    uint32_t cap = blocks_cap ? blocks_cap * 2 : 64;
    uint32_t *set = tide__default_alloc(NULL, NULL, cap * sizeof *set);
    if (set == NULL) return TIDE_ENOMEM;
    memset(set, 0, cap * sizeof *set);
    for (uint32_t i = 0; i < blocks_cap; i++)
      if (blocks[i] != 0) block_put(set, cap, blocks[i]);
    tide__default_alloc(NULL, blocks, 0);
    blocks = set;
    blocks_cap = cap;
  }
  block_put(blocks, blocks_cap, p);
  blocks_len++;
  return 0;
}

/* 1 if p was an outstanding block (now forgotten: the caller takes it). */
static int blocks_take(uint32_t p) {
  if (p == 0 || blocks_cap == 0) return 0;
  uint32_t mask = blocks_cap - 1, i = block_home(p, blocks_cap);
  while (blocks[i] != p) {
    if (blocks[i] == 0) return 0;
    i = (i + 1) & mask;
  }
  blocks[i] = 0;
  blocks_len--;
  /* Close the gap: move back each later entry whose home is not in (i, j]. */
  for (uint32_t j = (i + 1) & mask; blocks[j] != 0; j = (j + 1) & mask) {
    uint32_t k = block_home(blocks[j], blocks_cap);
    int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!stays) {
      blocks[i] = blocks[j];
      blocks[j] = 0;
      i = j;
    }
  }
  return 1;
}

/* Never 0 on success, even for size 0: 0 means out of memory. */
void *tide_js_alloc(uint32_t size) {
  void *p = tide__default_alloc(NULL, NULL, size > 0 ? size : 1);
  if (p != NULL && blocks_add((uint32_t)(uintptr_t)p) != 0) {
    tide__default_alloc(NULL, p, 0);
    return NULL;
  }
  return p;
}

/* Only blocks from tide_js_alloc that C has not taken are freed. */
void tide_js_free(uint32_t ptr) {
  if (blocks_take(ptr)) tide__default_alloc(NULL, ptr_of(ptr), 0);
}

/* --- Host operations and calls --------------------------------------------------- */

/* Take the block [ptr, ptr + len) JS passes with a completion: 0 (C owns it
 * now; ptr 0 is no block), TIDE_ERANGE (not in memory: not taken) or
 * TIDE_EINVAL (not a block JS holds: not ours to free). */
static int take_block(uint32_t ptr, uint32_t len) {
  if (!in_memory(ptr, len)) return TIDE_ERANGE;
  if (ptr != 0 && !blocks_take(ptr)) return TIDE_EINVAL;
  return 0;
}

static int complete_block(tide_loop *loop, uint32_t op, int32_t code, uint32_t ptr,
                          uint32_t len) {
  int rc = take_block(ptr, len);
  return rc != 0 ? rc : tide__host_complete(loop, op, code, ptr_of(ptr), len);
}

int tide_js_complete(tide_loop *loop, uint32_t op, int32_t code, uint32_t ptr,
                     uint32_t len) {
  int rc = take_block(ptr, len);
  if (rc != 0) return rc;
  if (loop_of(loop) == NULL) {
    tide__default_alloc(NULL, ptr_of(ptr), 0); /* taken, as the ABI promises */
    return TIDE_EINVAL;
  }
  return tide__host_complete(loop, op, code, ptr_of(ptr), len);
}

int tide_js_call(tide_loop *loop, uint32_t name_ptr, uint32_t name_len,
                 uint32_t args_ptr, uint32_t args_len) {
  if (!in_memory(name_ptr, name_len) || !in_memory(args_ptr, args_len))
    return TIDE_ERANGE;
  if (args_ptr != 0 && !blocks_take(args_ptr)) return TIDE_EINVAL; /* not ours */
  if (loop_of(loop) == NULL) {
    tide__default_alloc(NULL, ptr_of(args_ptr), 0);
    return TIDE_EINVAL;
  }
  if (name_len == 0) {
    tide__default_alloc(NULL, ptr_of(args_ptr), 0);
    return TIDE_ENOENT;
  }
  return tide__host_call_task(loop, ptr_of(name_ptr), name_len, ptr_of(args_ptr),
                              args_len);
}

int tide_js_cancel(tide_loop *loop, uint32_t call) {
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  return tide__host_cancel_call(loop, call);
}

/* --- The program's main ------------------------------------------------------------
 */

/* The length of the NUL-terminated string at ptr, or -1 if it runs off the end
 * of memory. A byte loop, not memchr: argv is short, and libc's memchr is 360
 * bytes of a minimal module (bench W7). */
static int64_t string_len(uint32_t ptr, uint64_t limit) {
  if (ptr == 0 || ptr >= limit) return -1;
  const char *s = ptr_of(ptr);
  for (uint64_t n = 0; n < limit - ptr; n++)
    if (s[n] == '\0') return (int64_t)n;
  return -1;
}

/* argv is borrowed (JS frees it after the call): C copies the array and the
 * strings into one block that lives until the loop is freed, because a C
 * program may keep argv for as long as it runs. */
/* A module without TIDE_MAIN still links: the host's rt.main() then fails with
 * TIDE_ENOSYS instead of a missing symbol. TIDE_MAIN defines the strong one. */
__attribute__((weak)) int tide__js_user_main(tide_loop *loop, int argc, char **argv) {
  (void)loop;
  (void)argc;
  (void)argv;
  return TIDE_ENOSYS;
}

int tide_js_main(tide_loop *loop, int32_t argc, uint32_t argv_ptr) {
  if (argc < 0 || argc > 65536 || !in_memory(argv_ptr, (uint32_t)argc * 4u))
    return TIDE_ERANGE;
  if (loop_of(loop) == NULL) return TIDE_EINVAL;
  uint64_t limit = memory_bytes();
  const unsigned char *raw = ptr_of(argv_ptr);
  uint64_t text = 0; /* 64-bit: argv may name one long string many times */
  for (int32_t i = 0; i < argc; i++) {
    uint32_t p;
    memcpy(&p, raw + 4 * (size_t)i, 4); /* wasm is little-endian, as the ABI */
    int64_t n = string_len(p, limit);
    if (n < 0) return TIDE_ERANGE;
    text += (uint64_t)n + 1;
  }
  /* The kept-list link, then argv[0..argc] (NULL-terminated), then the text. */
  size_t head = sizeof(void *) + ((size_t)argc + 1) * sizeof(char *);
  if (text > SIZE_MAX - head) return TIDE_ENOMEM;
  unsigned char *block = tide_loop_alloc(loop, head + (size_t)text);
  if (block == NULL) return TIDE_ENOMEM;
  char **argv = (char **)(void *)(block + sizeof(void *));
  char *out = (char *)block + head;
  const char *end = (const char *)block + head + (size_t)text;
  for (int32_t i = 0; i < argc; i++) {
    uint32_t p;
    memcpy(&p, raw + 4 * (size_t)i, 4);
    /* Measured again, bounded: the block may have been carved from memory an
     * entry pointed into, so its length must not be trusted twice. */
    int64_t n = string_len(p, limit);
    if (n < 0 || (uint64_t)n + 1 > (uint64_t)(end - out)) {
      tide_loop_dealloc(loop, block);
      return TIDE_ERANGE;
    }
    memcpy(out, ptr_of(p), (size_t)n + 1);
    argv[i] = out;
    out += n + 1;
  }
  argv[argc] = NULL;
  if (tide__host_keep(loop, block) != 0) {
    tide_loop_dealloc(loop, block);
    return TIDE_ENOMEM;
  }
  return tide__js_user_main(loop, argc, argv);
}
