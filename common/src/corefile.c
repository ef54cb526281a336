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

/* ---- Is the executable the core's?  (the CLI's build-id check) ---------- */

typedef struct file {
    pag_file_read_fn read;
    void *ctx;
    uint64_t size;
} file_t;

/* Read [addr, addr+len) of the core's memory: it must lie in the bytes of
 * one PT_LOAD segment that the core file holds. */
static int core_mem(const file_t *c, uint64_t addr, size_t len, void *dst)
{
    unsigned char h[ELF_HDR], ph[ELF_PHDR];
    if (!get(c->read, c->ctx, c->size, 0, sizeof h, h)) return 0;
    uint64_t phoff = u64(h + 32);
    unsigned long phnum = u16(h + 56);
    for (unsigned long i = 0; i < phnum && i < MAX_HEADERS; i++) {
        if (!get(c->read, c->ctx, c->size, phoff + i * ELF_PHDR, sizeof ph, ph)) return 0;
        uint64_t vaddr = u64(ph + 16), filesz = u64(ph + 32);
        if (u32(ph) == 1 /* PT_LOAD */ && addr >= vaddr && addr - vaddr < filesz &&
            len <= filesz - (addr - vaddr))
            return get(c->read, c->ctx, c->size, u64(ph + 8) + (addr - vaddr), len, dst);
    }
    return 0;
}

/* The GNU build-id in a block of notes; its length (0: none). */
static size_t build_id_in(const unsigned char *n, size_t len, unsigned char *id, size_t idmax)
{
    for (size_t off = 0; off + 12 <= len;) {
        uint32_t namesz = u32(n + off), descsz = u32(n + off + 4);
        size_t name = off + 12, desc = name + ((namesz + 3ull) & ~3ull);
        if (namesz > len || descsz > len || desc + descsz > len) return 0;
        if (u32(n + off + 8) == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 &&
            memcmp(n + name, "GNU", 4) == 0 && descsz && descsz <= idmax) {
            memcpy(id, n + desc, descsz);
            return descsz;
        }
        off = desc + ((descsz + 3ull) & ~3ull);
    }
    return 0;
}

/* The build-id of the ELF image whose header is at `at`: in a file (mem 0:
 * notes at their file offsets) or in the core's memory (notes at their
 * addresses, moved by the load bias). */
static size_t image_build_id(const file_t *f, int mem, uint64_t at, unsigned char *id, size_t idmax)
{
    unsigned char h[ELF_HDR], ph[ELF_PHDR], note[4096];
    if (!(mem ? core_mem(f, at, sizeof h, h) : get(f->read, f->ctx, f->size, 0, sizeof h, h)) ||
        !is_elf64le(h) || u16(h + 54) != ELF_PHDR || u16(h + 56) > 64)
        return 0;
    unsigned n = u16(h + 56);
    uint64_t bias = UINT64_MAX;
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            uint64_t p = (mem ? at : 0) + u64(h + 32) + i * ELF_PHDR;
            if (!(mem ? core_mem(f, p, sizeof ph, ph)
                      : get(f->read, f->ctx, f->size, p, sizeof ph, ph)))
                return 0;
            uint64_t off = u64(ph + 8), vaddr = u64(ph + 16), filesz = u64(ph + 32);
            if (pass == 0 && u32(ph) == 1 && bias == UINT64_MAX) bias = at - (vaddr & ~0xfffull);
            if (pass == 0 || u32(ph) != 4 /* PT_NOTE */ || filesz < 12 || filesz > sizeof note)
                continue;
            int ok = mem ? bias != UINT64_MAX && core_mem(f, vaddr + bias, (size_t)filesz, note)
                         : get(f->read, f->ctx, f->size, off, (size_t)filesz, note);
            size_t l = ok ? build_id_in(note, (size_t)filesz, id, idmax) : 0;
            if (l) return l;
        }
    return 0;
}

/* The core's executable: the NT_FILE mapping that holds AT_PHDR (NT_AUXV). */
typedef struct exe_find {
    uint64_t phdr, base;
    char path[1024];
    int found;
} exe_find_t;

static int exe_mapping(void *ctx, uint64_t start, uint64_t end, uint64_t offset, const char *path)
{
    exe_find_t *x = ctx;
    if (!x->found && start <= x->phdr && x->phdr < end) {
        snprintf(x->path, sizeof x->path, "%s", path);
        x->found = 1;
    }
    if (offset == 0 && (!x->found || strcmp(path, x->path) == 0) && start <= x->phdr &&
        (!x->base || start > x->base))
        x->base = start; /* the last offset-0 mapping at or below AT_PHDR */
    return 0;
}

static uint64_t auxv_phdr(const file_t *c)
{
    unsigned char h[ELF_HDR], ph[ELF_PHDR], nh[12], av[16];
    if (!get(c->read, c->ctx, c->size, 0, sizeof h, h)) return 0;
    for (unsigned long i = 0; i < u16(h + 56); i++) {
        if (!get(c->read, c->ctx, c->size, u64(h + 32) + i * ELF_PHDR, sizeof ph, ph)) return 0;
        if (u32(ph) != 4) continue;
        uint64_t pos = u64(ph + 8), end = pos + u64(ph + 32);
        for (unsigned k = 0; k < MAX_NT_NOTES && pos + 12 <= end; k++) {
            if (!get(c->read, c->ctx, c->size, pos, sizeof nh, nh)) return 0;
            uint64_t desc = pos + 12 + ((u32(nh) + 3ull) & ~3ull), dsz = u32(nh + 4);
            for (uint64_t a = 0; u32(nh + 8) == 6 /* NT_AUXV */ && a + 16 <= dsz && a < 65536;
                 a += 16)
                if (get(c->read, c->ctx, c->size, desc + a, sizeof av, av) &&
                    u64(av) == 3 /* AT_PHDR */)
                    return u64(av + 8);
            pos = desc + ((dsz + 3) & ~3ull);
        }
    }
    return 0;
}

pag_err_t pag_core_exe_check(pag_file_read_fn core_read, void *core_ctx, uint64_t core_size,
                             pag_file_read_fn exe_read, void *exe_ctx, uint64_t exe_size,
                             const char *exe_name, char *msg, size_t len)
{
    file_t c = {core_read, core_ctx, core_size}, e = {exe_read, exe_ctx, exe_size};
    exe_find_t x = {.phdr = auxv_phdr(&c)};
    unsigned n = 0;
    if (!core_read || !exe_read || !x.phdr ||
        pag_core_file_mappings(core_read, core_ctx, core_size, exe_mapping, &x, &n) != PAG_OK ||
        !x.found || !x.base)
        return PAG_OK; /* nothing to compare with */
    unsigned char want[64], have[64];
    size_t wl = image_build_id(&c, 1, x.base, want, sizeof want);
    size_t hl = wl ? image_build_id(&e, 0, 0, have, sizeof have) : 0;
    if (!wl || (hl == wl && memcmp(want, have, wl) == 0)) return PAG_OK;
    snprintf(msg, len,
             "%s does not match the core (different build-id); the core's executable is %s",
             exe_name ? exe_name : "the executable", x.path);
    return PAG_ERR_NOT_PYTHON;
}
