/* py-async-graph CLI: the pieces shared by the live and core targets.
 *
 * The CLI's only job is to give the core a pag_accessors_t for a process or
 * a core file and to print what the core renders.  Both targets find the
 * ".PyRuntime"/".AsyncioDebug" sections and "_PyRuntime"-style symbols in
 * the ELF files mapped into the target, so that lookup lives here, once.
 */
#ifndef PAG_CLI_H
#define PAG_CLI_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

#include "pag/command.h"
#include "pag/target.h"

/* An opened target: the callbacks, their context, a JSON object describing
 * the source, and how to let go of it (detach, close files). */
typedef struct cli_target {
    pag_accessors_t acc;
    void *ctx;
    pag_source_t src;           /* strings owned by ctx, valid until close */
    void (*release)(void *ctx); /* resume the target (live) -- may be called twice */
    void (*close)(void *ctx);   /* free everything */
    /* Optional: files the target needed but could not find or trust, as one
     * line naming them and the option that supplies them; NULL if none. */
    const char *(*problems)(void *ctx);
} cli_target_t;

/* Open a target for these options (an entry of main.c's opener table). */
typedef pag_err_t (*cli_opener_fn)(const pag_options_t *o, cli_target_t *t, char *msg,
                                   size_t msglen);

/* Tune the CLI's own heap for one big snapshot (glibc; see heap.c). */
void cli_tune_heap(void);

/* Open a live process / a core file.  On failure returns the error and
 * writes one line (without the "py-async-graph: " prefix) into msg. */
pag_err_t cli_live_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen);
pag_err_t cli_core_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen);

/* Load bias of an ELF file whose lowest offset-0 mapping starts at base:
 * 0 for ET_EXEC, else base minus the page-aligned vaddr of the first PT_LOAD. */
int cli_elf_bias(Elf *elf, uint64_t base, uint64_t *bias);

/* Look name up in one ELF file.  Returns 1 and sets addr/size if this file
 * holds match number *index; otherwise subtracts the number of matches it
 * holds from *index and returns 0.  Sections must be SHF_ALLOC; symbols come
 * from .dynsym, else .symtab, and must be defined. */
int cli_elf_lookup(Elf *elf, uint64_t bias, pag_lookup_kind_t kind, const char *name,
                   unsigned *index, uint64_t *addr, uint64_t *size);

/* Copy bytes of the loaded image from the file itself: the part of a
 * PT_LOAD that is backed by the file (p_filesz).  0 on success. */
int cli_elf_read_image(Elf *elf, uint64_t bias, uint64_t addr, size_t len, void *dst);


/* Print "py-async-graph: warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
