/* py-async-graph CLI: ELF lookups in the files mapped into a target.
 *
 * Both targets find the ".PyRuntime"/".AsyncioDebug" sections and
 * "_PyRuntime"-style symbols in the ELF files mapped into the target, and
 * compute each file's load bias, so that lookup lives here, once
 * (elf_lookup.c, libelf only).  Not "elf.h": that name is the system
 * header libelf includes.
 */
#ifndef PAG_CLI_ELF_LOOKUP_H
#define PAG_CLI_ELF_LOOKUP_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

#include "pag/target.h"

/* Give up a candidate file: end its Elf handle (may be NULL) and close fd. */
void cli_elf_drop(Elf *elf, int fd);

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

#endif
