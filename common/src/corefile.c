/* Facts about a core file and the ELF files it maps, for the debugger
 * frontends.
 *
 * Why this exists (issue 18, defect 7): the same damaged core must give the
 * same line in the CLI, gdb and lldb.  The debuggers hide two conditions
 * the CLI names: gdb refuses a truncated core outright (so the command saw
 * "no process") and lldb loads it and reads zeros or nothing (so "not a
 * CPython process"); and when the dynamic linker's list of modules is gone
 * from the core, gdb has no shared libraries, so the `.AsyncioDebug` table
 * of the `_asyncio` extension is never found ("asyncio not loaded") although
 * the core's NT_FILE note says where that file was mapped.  The frontends
 * supply only facts -- a way to read the file, its size -- and these
 * functions decide, so the wording is the CLI's (cli/target_core.c) and is
 * kept in one place for the debuggers.
 *
 * No OS call: every byte comes through the caller's read callback, every
 * size read from the file is checked before it is used, and every loop is
 * bounded by a count the file gives and a fixed cap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pag/target.h"

#define ELF_HDR 64              /* Elf64_Ehdr */
#define ELF_PHDR 56             /* Elf64_Phdr */
#define ELF_SHDR 64             /* Elf64_Shdr */
#define PN_XNUM 0xffffu         /* e_phnum overflow: the count is section 0's sh_info */
#define MAX_HEADERS 1000000u    /* program / section headers looked at */
#define MAX_NT_FILE (64u << 20) /* bytes of one NT_FILE note */
#define MAX_NT_NOTES 65536u     /* notes looked at in one PT_NOTE */

static uint16_t u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t u32(const unsigned char *p)
{
    return (uint32_t)u16(p) | (uint32_t)u16(p + 2) << 16;
}
static uint64_t u64(const unsigned char *p)
{
    return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

/* The bytes [off, off+len) of a file of `size` bytes, when they are all in it. */
static int get(pag_file_read_fn read, void *ctx, uint64_t size, uint64_t off, size_t len, void *dst)
{
    return off <= size && len <= size - off && read(ctx, off, len, dst) == PAG_OK;
}

static int is_elf64le(const unsigned char *h)
{
    return memcmp(h, "\177ELF", 4) == 0 && h[4] == 2 && h[5] == 1;
}

/* The end of what the program headers say the file holds, or 0 when they
 * cannot be read (then the headers themselves are past the end). */
static uint64_t loads_end(pag_file_read_fn read, void *ctx, uint64_t size, uint64_t phoff,
                          unsigned long phnum)
{
    uint64_t need = 0;
    unsigned char ph[ELF_PHDR];
    for (unsigned long i = 0; i < phnum && i < MAX_HEADERS; i++) {
        if (!get(read, ctx, size, phoff + i * ELF_PHDR, sizeof ph, ph)) return 0;
        uint64_t off = u64(ph + 8), filesz = u64(ph + 32);
        if (filesz && off + filesz > need && off + filesz >= off) need = off + filesz;
    }
    return need;
}

pag_err_t pag_core_file_check(pag_file_read_fn read, void *ctx, uint64_t size, const char *name,
                              char *msg, size_t len)
{
    unsigned char h[ELF_HDR];
    if (!name) name = "core file";
    if (size == 0) {
        snprintf(msg, len, "%s is truncated: it is empty", name);
        return PAG_ERR_TRUNCATED;
    }
    size_t got = size < sizeof h ? (size_t)size : sizeof h;
    if (!read || read(ctx, 0, got, h) != PAG_OK) return PAG_ERR_NOT_FOUND;
    if (memcmp(h, "\177ELF", got < 4 ? got : 4) != 0) return PAG_ERR_NOT_FOUND; /* not ELF */
    if (got < sizeof h) {
        snprintf(msg, len, "%s is truncated (%zu bytes, not even an ELF header)", name, got);
        return PAG_ERR_TRUNCATED;
    }
    if (!is_elf64le(h) || u16(h + 16) != 4 /* ET_CORE */) return PAG_ERR_NOT_FOUND;
    uint64_t phoff = u64(h + 32), shoff = u64(h + 40);
    unsigned long phnum = u16(h + 56), shnum = u16(h + 60);
    unsigned phent = u16(h + 54), shent = u16(h + 58);
    unsigned char sh0[ELF_SHDR];
    if (phnum == PN_XNUM) {
        if (!shoff || !get(read, ctx, size, shoff, sizeof sh0, sh0)) {
            snprintf(msg, len, "%s is truncated (program headers missing)", name);
            return PAG_ERR_TRUNCATED;
        }
        phnum = u32(sh0 + 44);
    }
    /* Everything the headers promise must be in the file, as the CLI checks. */
    uint64_t need = phoff + (uint64_t)phnum * phent;
    if (shoff && shnum && shoff + (uint64_t)shnum * shent > need)
        need = shoff + (uint64_t)shnum * shent;
    if (need <= size && phent == ELF_PHDR) {
        uint64_t l = loads_end(read, ctx, size, phoff, phnum);
        if (l > need) need = l;
    }
    if (need > size) {
        snprintf(msg, len, "%s is truncated (%llu of %llu bytes present)", name,
                 (unsigned long long)size, (unsigned long long)need);
        return PAG_ERR_TRUNCATED;
    }
    return PAG_OK;
}

/* The name of section header sh (its sh_name in the string table at strtab). */
static int name_is(pag_file_read_fn read, void *ctx, uint64_t size, uint64_t strtab, uint64_t strsz,
                   const unsigned char *sh, const char *want)
{
    char buf[64];
    size_t n = strlen(want) + 1;
    uint32_t at = u32(sh);
    if (n > sizeof buf || at >= strsz || n > strsz - at) return 0;
    return get(read, ctx, size, strtab + at, n, buf) && memcmp(buf, want, n) == 0;
}

pag_err_t pag_elf_find_section(pag_file_read_fn read, void *ctx, uint64_t size, const char *name,
                               uint64_t *addr, uint64_t *sec_size, int *is_dyn)
{
    unsigned char h[ELF_HDR], sh[ELF_SHDR];
    if (!read || !name || !get(read, ctx, size, 0, sizeof h, h) || !is_elf64le(h))
        return PAG_ERR_NOT_FOUND;
    uint64_t shoff = u64(h + 40);
    unsigned long shnum = u16(h + 60), shstrndx = u16(h + 62);
    if (!shoff || u16(h + 58) != ELF_SHDR) return PAG_ERR_NOT_FOUND;
    if ((shnum == 0 || shstrndx == 0xffff) && get(read, ctx, size, shoff, sizeof sh, sh)) {
        if (shnum == 0) shnum = u64(sh + 32);
        if (shstrndx == 0xffff) shstrndx = u32(sh + 40);
    }
    if (shstrndx >= shnum || !get(read, ctx, size, shoff + shstrndx * ELF_SHDR, sizeof sh, sh))
        return PAG_ERR_NOT_FOUND;
    uint64_t strtab = u64(sh + 24), strsz = u64(sh + 32);
    for (unsigned long i = 1; i < shnum && i < MAX_HEADERS; i++) {
        if (!get(read, ctx, size, shoff + i * ELF_SHDR, sizeof sh, sh)) return PAG_ERR_NOT_FOUND;
        if (!(u64(sh + 8) & 2 /* SHF_ALLOC */) ||
            !name_is(read, ctx, size, strtab, strsz, sh, name))
            continue;
        *addr = u64(sh + 16);
        *sec_size = u64(sh + 32);
        *is_dyn = u16(h + 16) == 3; /* ET_DYN: addresses are relative to the load base */
        return PAG_OK;
    }
    return PAG_ERR_NOT_FOUND;
}

/* Each file mapping of an NT_FILE note's body (count, page size, count
 * (start, end, page offset) triples, then count NUL-terminated paths). */
static unsigned nt_file_entries(const unsigned char *d, uint64_t n, pag_mapping_fn cb, void *cbctx)
{
    if (n < 16) return 0;
    uint64_t count = u64(d), page = u64(d + 8);
    if (count > (n - 16) / 24 || page == 0 || page > (1u << 30)) return 0;
    const char *path = (const char *)d + 16 + count * 24, *end = (const char *)d + n;
    unsigned done = 0;
    for (uint64_t i = 0; i < count && path < end; i++, done++) {
        const char *z = memchr(path, 0, (size_t)(end - path));
        if (!z) break;
        const unsigned char *t = d + 16 + i * 24;
        uint64_t start = u64(t), stop = u64(t + 8), off = u64(t + 16);
        if (stop > start && off <= UINT64_MAX / page && cb(cbctx, start, stop, off * page, path))
            break;
        path = z + 1;
    }
    return done;
}

/* The NT_FILE note inside one PT_NOTE segment [off, off+filesz), if any:
 * its body's offset and size. */
static int find_nt_file(pag_file_read_fn read, void *ctx, uint64_t size, uint64_t off,
                        uint64_t filesz, uint64_t *body, uint64_t *body_len)
{
    uint64_t pos = off, end = off + filesz;
    unsigned char nh[12];
    for (unsigned k = 0; k < MAX_NT_NOTES && end >= off && pos + 12 <= end; k++) {
        if (!get(read, ctx, size, pos, sizeof nh, nh)) return 0;
        uint64_t namesz = (u32(nh) + 3ull) & ~3ull, descsz = u32(nh + 4);
        uint64_t desc = pos + 12 + namesz;
        if (desc > end || descsz > end - desc) return 0;
        if (u32(nh + 8) == 0x46494c45 /* NT_FILE */) {
            *body = desc;
            *body_len = descsz;
            return 1;
        }
        pos = desc + ((descsz + 3) & ~3ull);
    }
    return 0;
}

pag_err_t pag_core_file_mappings(pag_file_read_fn read, void *ctx, uint64_t size, pag_mapping_fn cb,
                                 void *cbctx, unsigned *count)
{
    unsigned char h[ELF_HDR], ph[ELF_PHDR];
    *count = 0;
    if (!read || !cb || !get(read, ctx, size, 0, sizeof h, h) || !is_elf64le(h) ||
        u16(h + 16) != 4 || u16(h + 54) != ELF_PHDR)
        return PAG_ERR_NOT_FOUND;
    uint64_t phoff = u64(h + 32), body = 0, len = 0;
    unsigned long phnum = u16(h + 56);
    for (unsigned long i = 0; i < phnum && i < MAX_HEADERS && !len; i++) {
        if (!get(read, ctx, size, phoff + i * ELF_PHDR, sizeof ph, ph)) break;
        if (u32(ph) == 4 /* PT_NOTE */)
            find_nt_file(read, ctx, size, u64(ph + 8), u64(ph + 32), &body, &len);
    }
    if (!len || len > MAX_NT_FILE) return PAG_ERR_NOT_FOUND;
    unsigned char *d = malloc((size_t)len);
    if (!d) return PAG_ERR_NOMEM;
    pag_err_t e = get(read, ctx, size, body, (size_t)len, d) ? PAG_OK : PAG_ERR_READ;
    if (e == PAG_OK) *count = nt_file_entries(d, len, cb, cbctx);
    free(d);
    return e;
}
