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

/* What was spooled: the compressor (NULL for a plain stream), the
 * compressed bytes read and the bytes written to the temporary file. */
typedef struct cli_spool_info {
    const char *packer;
    unsigned long long consumed, written;
} cli_spool_info_t;

/* Read all of in (a file, pipe or FIFO, from its current offset),
 * decompressing it when it starts with a known compressor's magic, into
 * an unlinked temporary file in TMPDIR (default /tmp); *out is that file,
 * at offset 0, and *info (may be NULL) says what was read.  On failure,
 * one line in msg and *out is -1; nothing is left on disk.  The one
 * exception: PAG_ERR_TRUNCATED (a compressed stream cut short) still gives
 * *out, holding everything that was decompressed -- the front of the core,
 * which the caller may read as a truncated core -- and msg the line for
 * when that front is not enough. */
pag_err_t cli_core_spool(int in, const char *name, int *out, cli_spool_info_t *info, char *msg,
                         size_t msglen);

#endif
