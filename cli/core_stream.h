/* Cores that are compressed or come from a stream (cli/core_stream.c). */
#ifndef PAG_CLI_CORE_STREAM_H
#define PAG_CLI_CORE_STREAM_H

#include <stddef.h>

#include "pag/errors.h"

/* The compressor whose magic head starts with (zstd, xz, gzip, lz4,
 * bzip2), or NULL. */
const char *cli_core_packer(const unsigned char *head, size_t n);

/* Nonzero when head starts a format cli_core_spool decompresses. */
int cli_core_unpackable(const unsigned char *head, size_t n);

/* Read all of in (a file, pipe or FIFO, from its current offset),
 * decompressing it when it starts with a known compressor's magic, into
 * an unlinked temporary file in TMPDIR (default /tmp); *out is that file,
 * at offset 0.  On failure, one line in msg; nothing is left on disk. */
pag_err_t cli_core_spool(int in, const char *name, int *out, char *msg, size_t msglen);

#endif
