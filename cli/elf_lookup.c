/* ELF lookups for the CLI targets, through libelf only.
 *
 * The core asks for a section (".PyRuntime") or a symbol ("_PyRuntime") by
 * name; both the live and the core target answer by walking the ELF files
 * mapped into the target.  This is where one file is searched and where a
 * file's load bias is computed, so both targets agree exactly.
 */
#include <string.h>
#include <unistd.h>

#include "elf_lookup.h"

int cli_elf_bias(Elf *elf, uint64_t base, uint64_t *bias)
{
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh)) return -1;
    if (eh.e_type == ET_EXEC) {
        *bias = 0;
        return 0;
    }
    size_t n;
    if (elf_getphdrnum(elf, &n) != 0) return -1;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t mask = ~(uint64_t)((pg > 0 ? pg : 4096) - 1);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
        /* The kernel maps the first PT_LOAD's page-aligned vaddr at the
         * lowest offset-0 mapping; everything else follows by the same bias. */
        *bias = base - (ph.p_vaddr & mask);
        return 0;
    }
    return -1;
}

static int find_section(Elf *elf, uint64_t bias, const char *name, uint64_t *addr, uint64_t *size)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) return 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        if (!(sh.sh_flags & SHF_ALLOC) || !sh.sh_addr) continue;
        const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n && strcmp(n, name) == 0) {
            *addr = sh.sh_addr + bias;
            *size = sh.sh_size;
            return 1;
        }
    }
    return 0;
}

static int find_symbol_in(Elf *elf, uint64_t bias, Elf64_Word type, const char *name,
                          uint64_t *addr, uint64_t *size)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize) continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d) continue;
        size_t count = sh.sh_size / sh.sh_entsize;
        for (size_t i = 1; i < count; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(d, (int)i, &sym)) break;
            if (sym.st_shndx == SHN_UNDEF || !sym.st_value) continue;
            if (GELF_ST_TYPE(sym.st_info) == STT_TLS) continue;
            const char *n = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (n && strcmp(n, name) == 0) {
                *addr = sym.st_value + (sym.st_shndx == SHN_ABS ? 0 : bias);
                *size = sym.st_size;
                return 1;
            }
        }
    }
    return 0;
}

int cli_elf_lookup(Elf *elf, uint64_t bias, pag_lookup_kind_t kind, const char *name,
                   unsigned *index, uint64_t *addr, uint64_t *size)
{
    uint64_t a = 0, s = 0;
    int found = 0;
    if (kind == PAG_LOOKUP_SECTION)
        found = find_section(elf, bias, name, &a, &s);
    else if (kind == PAG_LOOKUP_SYMBOL)
        /* One match per file: .symtab normally repeats .dynsym's entry. */
        found = find_symbol_in(elf, bias, SHT_DYNSYM, name, &a, &s) ||
                find_symbol_in(elf, bias, SHT_SYMTAB, name, &a, &s);
    if (!found) return 0;
    if (*index == 0) {
        *addr = a;
        *size = s;
        return 1;
    }
    (*index)--;
    return 0;
}

int cli_elf_read_image(Elf *elf, uint64_t bias, uint64_t addr, size_t len, void *dst)
{
    size_t n, fsize = 0;
    if (addr < bias || elf_getphdrnum(elf, &n) != 0) return -1;
    char *raw = elf_rawfile(elf, &fsize);
    if (!raw) return -1;
    uint64_t va = addr - bias;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
        if (va < ph.p_vaddr || va - ph.p_vaddr >= ph.p_filesz) continue;
        uint64_t off = va - ph.p_vaddr;
        if (len > ph.p_filesz - off) return -1; /* runs past the file-backed part */
        uint64_t foff = ph.p_offset + off;
        if (foff > fsize || len > fsize - foff) return -1;
        memcpy(dst, raw + foff, len);
        return 0;
    }
    return -1;
}

void cli_elf_drop(Elf *elf, int fd)
{
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
}
