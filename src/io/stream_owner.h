/* stream_owner.h: a pointer to a stream that the stream clears when it closes,
 * so that whoever handed the stream out can tell it is gone (a child
 * process's pipes: tide_process_stdin and the rest return NULL once the caller
 * closed one, and communicate leaves that pipe alone). Implemented by each
 * stream implementation (fd/fd_stream.c, hostcall/host_stream.c). */
#ifndef TIDE_IO_STREAM_OWNER_H
#define TIDE_IO_STREAM_OWNER_H

#include "tide.h"

/* *slot is set to NULL when s starts closing (tide_stream_close or abort).
 * NULL: no slot. The slot must stay valid until then, or be unset first. */
void tide__stream_set_owner(tide_stream *s, tide_stream **slot);

#endif /* TIDE_IO_STREAM_OWNER_H */
