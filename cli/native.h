/* py-async-graph CLI: the native_frames accessor (issue 14, --native).
 *
 * The core never unwinds; each frontend gives it a thread's native frames
 * as plain records.  The CLI's come from elfutils (libdwfl), for both of
 * its targets: a live process whose threads it has stopped with ptrace,
 * and a core file.  A cli_native_t is cheap to make: its Dwfl is built on
 * the first call, so that only --native pays for it.
 */
#ifndef PAG_CLI_NATIVE_H
#define PAG_CLI_NATIVE_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

#include "modules.h"
#include "pag/target.h"

typedef struct cli_native cli_native_t;

/* A live process whose threads the caller holds ptrace-stopped. */
cli_native_t *cli_native_live(long pid);

/* A core: its Elf (the plain, decompressed file), the executable the user
 * named (--exe, or NULL) and the core target's module table, whose
 * module files (found through --exe, --sysroot, --lib-search-path and
 * checked against the core) the unwinder is given when the core itself
 * left their pages out.  All three must outlive the cli_native_t. */
cli_native_t *cli_native_core(Elf *core, const char *exe, cli_modtab_t *mods);

/* pag_accessors_t.native_frames.  n is NULL-safe; N may be NULL (out of
 * memory when the target was opened): PAG_ERR_TRUNCATED, no frames. */
pag_err_t cli_native_frames(cli_native_t *N, uint64_t tid, pag_native_frame_t *out, size_t max,
                            size_t *n);

void cli_native_free(cli_native_t *N);

#endif
