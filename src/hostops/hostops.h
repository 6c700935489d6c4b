/* hostops.h: what the host operations share with the JS bridge
 * (src/backend/js/exports.c) and the fake backend: the value-list codec of
 * src/backend/js/ABI.md, the per-loop host state with its id tables, and the
 * entry points through which a host completes operations and calls exported
 * coroutines.
 *
 * Ownership rule for buffers a host hands in (completion payloads, call
 * arguments): they come from the loop's allocator (on the JS host,
 * tide_js_alloc, which is the allocator of every loop tide_js_loop_new makes) and
 * the functions below take them, freeing them with tide_loop_dealloc whatever
 * they return.
 */
#ifndef TIDE_HOSTOPS_H
#define TIDE_HOSTOPS_H

#include <stddef.h>
#include <stdint.h>

#include "tide.h"

/* --- Value lists (src/backend/js/ABI.md, "Values on the wire") ----------------------- */

enum {
  TIDE__TAG_NONE = 0,
  TIDE__TAG_NUMBER = 1,
  TIDE__TAG_STRING = 2,
  TIDE__TAG_BYTES = 3,
  TIDE__TAG_JSON = 4
};

/* The size of the value list holding vals: 0, or TIDE_EINVAL for a PTR, an
 * unknown type, a payload longer than a u32 or NULL data with a length. */
int tide__values_measure(const tide_value *vals, size_t n, size_t *out_len);
/* Write the list into buf, which has the measured size. */
void tide__values_write(const tide_value *vals, size_t n, unsigned char *buf);
/* Measure and write into a new block from the loop's allocator (NULL when the
 * list is empty). 0, TIDE_EINVAL, TIDE_ENOMEM. */
int tide__values_encode(tide_loop *loop, const tide_value *vals, size_t n,
                        void **out_buf, size_t *out_len);
/* Decode a whole list into one new block: the tide_value array, followed by
 * copies of the STRING/JSON/BYTES payloads, each with a terminating NUL. The
 * values point into the block, which the caller frees (tide_loop_dealloc) once;
 * *out_block is NULL for an empty list. buf is borrowed. 0, TIDE_EINVAL
 * (malformed: an unknown tag, a length past the end), TIDE_ENOMEM. */
int tide__values_decode(tide_loop *loop, const void *buf, size_t len,
                        tide_value **out_vals, size_t *out_n, void **out_block);
/* Decode a list that must hold exactly one item, in place: a STRING, JSON or
 * BYTES payload is moved to the start of buf and NUL-terminated there, and the
 * value then owns buf (its free function deallocates it through loop). For
 * NONE and numbers buf stays the caller's. On error buf stays the caller's.
 * 0 or TIDE_EINVAL. */
int tide__value_take_one(tide_loop *loop, void *buf, size_t len, tide_value *out_value);
/* The free function of owned host bytes: tide_loop_dealloc(ud, data). */
void tide__host_bytes_free(void *data, void *ud);

/* --- Ids: slot << 15 | generation -------------------------------------------
 * A table of live objects named by u31 ids, so a stale id (a finished or
 * cancelled operation) never names a newer object: a freed slot's generation
 * moves on (1..32767, never 0, so an id is never 0). Slots are reused oldest
 * first from a free list, and the table only grows, so steady traffic allocates
 * nothing (ids.c). */
typedef struct tide__id_slot {
  void *ptr;          /* the object, NULL while free */
  uint32_t next_free; /* free list: index + 1 of the next free slot, 0 ends */
  uint16_t gen;       /* 1..32767 */
} tide__id_slot;

typedef struct tide__id_table {
  tide__id_slot *slots;
  uint32_t len; /* slots ever used */
  uint32_t cap;
  uint32_t free_head; /* index + 1 of the slot freed longest ago, 0: none */
  uint32_t free_tail; /* index + 1 of the slot freed last, 0: none */
  uint32_t used;
} tide__id_table;

/* Store ptr (non-NULL) under a new id: 0 or TIDE_ENOMEM (table full or cannot
 * grow; nothing changes). */
int tide__ids_add(tide_loop *loop, tide__id_table *t, void *ptr, uint32_t *out_id);
/* The object named by id, or NULL if the id is unknown or stale. */
void *tide__ids_get(const tide__id_table *t, uint32_t id);
/* Free id's slot (id must be live). */
void tide__ids_remove(tide__id_table *t, uint32_t id);
void tide__ids_free(tide_loop *loop, tide__id_table *t);

/* --- Per-loop host state (loop->priv_host) ---------------------------------- */

typedef struct tide__export tide__export;

typedef struct tide__host {
  tide__id_table ops;    /* pending host operations: their tide_future */
  tide__id_table calls;  /* host calls of exported coroutines: their tide_task */
  tide__export *exports; /* tide_export_task registry, newest first */
  void *kept; /* blocks freed at loop close, linked through their first word */
} tide__host;

/* The loop's host state, allocated on first use (NULL: out of memory). It also
 * sets loop->priv_host_close, so tide_loop_close frees it. */
tide__host *tide__host_get(tide_loop *loop);
/* Free the host state if it holds nothing (after a failed first use, so that a
 * refused call leaves nothing behind). */
void tide__host_trim(tide_loop *loop);
/* Keep block (from the loop's allocator, at least a pointer in size) until the
 * loop closes: 0 or TIDE_ENOMEM (then the caller still owns it). */
int tide__host_keep(tide_loop *loop, void *block);
/* Free the export registry (export_tasks.c), at loop close. */
void tide__exports_free(tide_loop *loop, tide__host *h);

/* --- What a host calls (src/backend/js/exports.c, the fake backend's test controls) --- */

/* Complete host operation op (src/backend/js/ABI.md, tide_js_complete): code 0 with a
 * one-item value list, code < 0 with a UTF-8 message of len bytes (a code
 * outside the TIDE_E* table becomes TIDE_EHOST). Takes buf whatever happens.
 * Returns 0; TIDE_ENOENT for an unknown, finished or cancelled op (nothing
 * changes); TIDE_EINVAL for a malformed list or code > 0 (the operation then
 * fails with TIDE_EINVAL, so its awaiter is never left waiting). */
int tide__host_complete(tide_loop *loop, uint32_t op, int code, void *buf, size_t len);
/* The same with a value already decoded (a number or none: the JS host's
 * completion ring), or with code < 0 and no message. Returns 0, TIDE_ENOENT or
 * TIDE_EINVAL (code > 0: the operation fails with TIDE_EINVAL). */
int tide__host_complete_value(tide_loop *loop, uint32_t op, int code,
                              const tide_value *value);
/* Spawn the exported coroutine name with the argument list args_buf (taken):
 * a call id > 0 (its result comes back through tide__backend_call_done) or
 * TIDE_ENOENT (no such export), TIDE_EINVAL (malformed list), TIDE_ENOMEM. */
int tide__host_call_task(tide_loop *loop, const char *name, size_t name_len,
                         void *args_buf, size_t args_len);
/* Cancel the task behind call: 0, or TIDE_ENOENT if unknown or finished. */
int tide__host_cancel_call(tide_loop *loop, uint32_t call);

#endif /* TIDE_HOSTOPS_H */
