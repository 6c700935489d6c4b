/* values.c: the value-list codec of src/backend/js/ABI.md (tag byte + payload, little
 * endian), between tide_value arrays and the bytes that cross to the host.
 *
 * Decoding treats its input as hostile: one scan checks every tag and length
 * against the end before anything is allocated or copied. Multi-byte fields
 * are little-endian at any alignment (see WIRE_NATIVE).
 */
#include <string.h>

#include "hostops.h"

#define U32_MAX_LEN ((uint64_t)UINT32_MAX)

static int is_text(tide_value_type type) {
  return type == TIDE_VALUE_BYTES || type == TIDE_VALUE_STRING ||
         type == TIDE_VALUE_JSON;
}

/* The wire is little-endian, as wasm memory is. On a little-endian machine
 * (wasm, x86, most ARM) a field is one unaligned load or store through
 * memcpy, which every compiler turns into a single instruction; a host call
 * writes one and a completion may read one, so this is on the round trip's
 * path. Elsewhere, byte by byte. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIRE_NATIVE 1
#else
#define WIRE_NATIVE 0
#endif

static void put_u32(unsigned char *p, uint32_t v) {
  if (WIRE_NATIVE) {
    memcpy(p, &v, sizeof v);
    return;
  }
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  uint32_t v;
  if (WIRE_NATIVE) {
    memcpy(&v, p, sizeof v);
    return v;
  }
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void put_f64(unsigned char *p, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  if (WIRE_NATIVE) {
    memcpy(p, &bits, sizeof bits);
    return;
  }
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(bits >> (8 * i));
}

static double get_f64(const unsigned char *p) {
  uint64_t bits = 0;
  double d;
  if (WIRE_NATIVE) {
    memcpy(&bits, p, sizeof bits);
  } else {
    for (int i = 0; i < 8; i++)
      bits |= (uint64_t)p[i] << (8 * i);
  }
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* --- Encoding ---------------------------------------------------------------- */

int tide__values_measure(const tide_value *vals, size_t n, size_t *out_len) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t item;
    switch (vals[i].type) {
    case TIDE_VALUE_NONE:
      item = 1;
      break;
    case TIDE_VALUE_INT:
    case TIDE_VALUE_DOUBLE:
      item = 9;
      break;
    case TIDE_VALUE_BYTES:
    case TIDE_VALUE_STRING:
    case TIDE_VALUE_JSON:
      if ((uint64_t)vals[i].as.bytes.len > U32_MAX_LEN) return TIDE_EINVAL;
      if (vals[i].as.bytes.data == NULL && vals[i].as.bytes.len > 0) return TIDE_EINVAL;
      item = 5 + vals[i].as.bytes.len;
      if (item < 5) return TIDE_EINVAL;
      break;
    default: /* PTR: an address means nothing on the other side */
      return TIDE_EINVAL;
    }
    if (item > SIZE_MAX - total) return TIDE_EINVAL;
    total += item;
  }
  *out_len = total;
  return 0;
}

static unsigned char tag_of(tide_value_type type) {
  switch (type) {
  case TIDE_VALUE_INT:
  case TIDE_VALUE_DOUBLE:
    return TIDE__TAG_NUMBER;
  case TIDE_VALUE_STRING:
    return TIDE__TAG_STRING;
  case TIDE_VALUE_BYTES:
    return TIDE__TAG_BYTES;
  case TIDE_VALUE_JSON:
    return TIDE__TAG_JSON;
  default:
    return TIDE__TAG_NONE;
  }
}

void tide__values_write(const tide_value *vals, size_t n, unsigned char *buf) {
  for (size_t i = 0; i < n; i++) {
    const tide_value *v = &vals[i];
    *buf++ = tag_of(v->type);
    if (v->type == TIDE_VALUE_INT || v->type == TIDE_VALUE_DOUBLE) {
      /* JS has one number type: an INT goes as a double (exact up to 2^53). */
      put_f64(buf, v->type == TIDE_VALUE_INT ? (double)v->as.i : v->as.d);
      buf += 8;
    } else if (is_text(v->type)) {
      put_u32(buf, (uint32_t)v->as.bytes.len);
      buf += 4;
      if (v->as.bytes.len > 0) memcpy(buf, v->as.bytes.data, v->as.bytes.len);
      buf += v->as.bytes.len;
    }
  }
}

int tide__values_encode(tide_loop *loop, const tide_value *vals, size_t n,
                        void **out_buf, size_t *out_len) {
  size_t len;
  int rc = tide__values_measure(vals, n, &len);
  if (rc != 0) return rc;
  unsigned char *buf = NULL;
  if (len > 0) {
    buf = tide_loop_alloc(loop, len);
    if (buf == NULL) return TIDE_ENOMEM;
    tide__values_write(vals, n, buf);
  }
  *out_buf = buf;
  *out_len = len;
  return 0;
}

/* --- Decoding ----------------------------------------------------------------- */

/* One item at p (avail bytes left): its tag, payload offset and length, and its
 * total size. 0 or TIDE_EINVAL; never reads past p + avail. */
static int scan_item(const unsigned char *p, size_t avail, unsigned *out_tag,
                     size_t *out_payload_len, size_t *out_size) {
  if (avail < 1) return TIDE_EINVAL;
  unsigned tag = p[0];
  size_t size, payload = 0;
  switch (tag) {
  case TIDE__TAG_NONE:
    size = 1;
    break;
  case TIDE__TAG_NUMBER:
    if (avail < 9) return TIDE_EINVAL;
    size = 9;
    break;
  case TIDE__TAG_STRING:
  case TIDE__TAG_BYTES:
  case TIDE__TAG_JSON: {
    if (avail < 5) return TIDE_EINVAL;
    uint32_t n = get_u32(p + 1);
    if ((uint64_t)n > (uint64_t)(avail - 5)) return TIDE_EINVAL;
    payload = n;
    size = 5 + payload;
    break;
  }
  default:
    return TIDE_EINVAL;
  }
  *out_tag = tag;
  *out_payload_len = payload;
  *out_size = size;
  return 0;
}

static tide_value_type type_of_tag(unsigned tag) {
  switch (tag) {
  case TIDE__TAG_NUMBER:
    return TIDE_VALUE_DOUBLE;
  case TIDE__TAG_STRING:
    return TIDE_VALUE_STRING;
  case TIDE__TAG_BYTES:
    return TIDE_VALUE_BYTES;
  case TIDE__TAG_JSON:
    return TIDE_VALUE_JSON;
  default:
    return TIDE_VALUE_NONE;
  }
}

/* Validate the whole list: how many items, and the bytes their payload copies
 * (each + 1 for the NUL) need. */
static int scan_list(const unsigned char *p, size_t len, size_t *out_n,
                     size_t *out_text) {
  size_t n = 0, text = 0, off = 0;
  while (off < len) {
    unsigned tag;
    size_t payload, size;
    if (scan_item(p + off, len - off, &tag, &payload, &size) != 0) return TIDE_EINVAL;
    if (tag >= TIDE__TAG_STRING) text += payload + 1; /* <= size: text <= len */
    off += size;
    n++;
  }
  *out_n = n;
  *out_text = text;
  return 0;
}

int tide__values_decode(tide_loop *loop, const void *buf, size_t len,
                        tide_value **out_vals, size_t *out_n, void **out_block) {
  const unsigned char *p = buf;
  size_t n, text;
  if (len > 0 && buf == NULL) return TIDE_EINVAL;
  int rc = scan_list(p, len, &n, &text);
  if (rc != 0) return rc;
  *out_vals = NULL;
  *out_n = 0;
  *out_block = NULL;
  if (n == 0) return 0;
  if (n > (SIZE_MAX - text) / sizeof(tide_value)) return TIDE_ENOMEM;
  unsigned char *block = tide_loop_alloc(loop, n * sizeof(tide_value) + text);
  if (block == NULL) return TIDE_ENOMEM;
  tide_value *vals = (tide_value *)(void *)block;
  unsigned char *copy = block + n * sizeof(tide_value);
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned tag;
    size_t payload, size;
    /* scan_list accepted these bytes, so this cannot fail; testing it anyway
     * keeps every use below on the path where the outputs were written (gcc
     * -O3 cannot see that through the loop and warns maybe-uninitialized). */
    if (scan_item(p + off, len - off, &tag, &payload, &size) != 0) {
      tide_loop_dealloc(loop, block);
      return TIDE_EINVAL;
    }
    tide_value *v = &vals[i];
    *v = tide_value_none();
    v->type = type_of_tag(tag);
    if (tag == TIDE__TAG_NUMBER) {
      v->as.d = get_f64(p + off + 1);
    } else if (tag != TIDE__TAG_NONE) {
      /* Borrowed by the receiver; the block owns the bytes. */
      if (payload > 0) memcpy(copy, p + off + 5, payload);
      copy[payload] = '\0';
      v->as.bytes.data = copy;
      v->as.bytes.len = payload;
      copy += payload + 1;
    }
    off += size;
  }
  *out_vals = vals;
  *out_n = n;
  *out_block = block;
  return 0;
}

void tide__host_bytes_free(void *data, void *ud) {
  tide_loop_dealloc(ud, data);
}

int tide__value_take_one(tide_loop *loop, void *buf, size_t len,
                         tide_value *out_value) {
  unsigned char *p = buf;
  unsigned tag;
  size_t payload, size;
  if (buf == NULL || scan_item(p, len, &tag, &payload, &size) != 0 || size != len)
    return TIDE_EINVAL; /* empty, malformed, or more than one item */
  *out_value = tide_value_none();
  out_value->type = type_of_tag(tag);
  if (tag == TIDE__TAG_NUMBER) {
    out_value->as.d = get_f64(p + 1);
  } else if (tag != TIDE__TAG_NONE) {
    /* The 5-byte header before the payload leaves room for the NUL once the
     * payload moves to the front: no allocation on the completion path. */
    memmove(p, p + 5, payload);
    p[payload] = '\0';
    out_value->as.bytes.data = p;
    out_value->as.bytes.len = payload;
    out_value->priv_free = tide__host_bytes_free;
    out_value->priv_free_ud = loop;
  }
  return 0;
}
