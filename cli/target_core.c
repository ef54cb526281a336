/* The core-file target: a core from gcore or from the kernel.
 *
 * Memory the core holds comes from its PT_LOAD segments (only p_filesz
 * bytes are present: the rest was left out).  Memory it does not hold --
 * read-only file-backed pages such as .rodata type names -- comes from the
 * ELF file that was mapped there.  elfutils' libdwfl reads the core's
 * NT_FILE note and link map and reports the modules; our find_elf callback
 * locates each file (--exe, --sysroot prefix, the recorded path,
 * --lib-search-path by basename) and accepts it only when its build-id
 * matches the one found in the core.  Lookups then work exactly as live.
 */
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

typedef struct core_seg {
    uint64_t vaddr, memsz, filesz, offset;
} core_seg_t;

typedef struct core_mod {
    Dwfl_Module *mod;
    const char *name;
    uint64_t start, end;
    int tried;
    Elf *elf;
    uint64_t bias;
} core_mod_t;

typedef struct core {
    const pag_options_t *o;
    char *path;
    int fd;
    Elf *elf;
    char *raw;
    size_t fsize;
    core_seg_t *segs;
    size_t nsegs;
    long pid;
    char *exe;       /* main executable path from NT_FILE */
    uint64_t at_phdr;
    Dwfl *dwfl;
    core_mod_t *mods;
    size_t nmods, capmods;
    char problems[2048]; /* files missing or not matching, for the error line */
} core_t;

/* libdwfl's find_elf callback has no user pointer; the CLI opens one core. */
static core_t *g_core;

static void add_problem(core_t *C, const char *fmt, const char *a, const char *b)
{
    size_t l = strlen(C->problems);
    if (l + 8 >= sizeof C->problems) return;
    if (l) {
        snprintf(C->problems + l, sizeof C->problems - l, "; ");
        l += 2;
    }
    snprintf(C->problems + l, sizeof C->problems - l, fmt, a, b);
}

static int is_main(core_t *C, const char *modname, Dwarf_Addr base)
{
    (void)base;
    return C->exe && modname && strcmp(modname, C->exe) == 0;
}

static int build_id_matches(Dwfl_Module *mod, Elf *elf, int *core_has)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(mod, &bits, &vaddr);
    *core_has = n > 0;
    if (n <= 0) return 1; /* the core does not say: take the file as it is */
    const void *id;
    ssize_t m = dwelf_elf_gnu_build_id(elf, &id);
    return m == n && memcmp(id, bits, (size_t)n) == 0;
}

static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
    (void)userdata;
    core_t *C = g_core;
    *elfp = NULL;
    if (!C || !modname) return -1;
    /* "[vdso]" and the like: no file; libdwfl reads such an image from the
     * core's memory itself. */
    if (modname[0] == '[' && !(C->o->exe && strcmp(modname, "[exe]") == 0)) return -1;
    const char *o_exe = C->o->exe, *sysroot = C->o->sysroot, *libs = C->o->lib_search_path;
    int main_mod = is_main(C, modname, base) || strcmp(modname, "[exe]") == 0;
    const char *bn = strrchr(modname, '/');
    bn = bn ? bn + 1 : modname;
    char cands[34][PATH_MAX];
    int nc = 0;
    if (main_mod && o_exe) snprintf(cands[nc++], PATH_MAX, "%s", o_exe);
    if (modname[0] == '/') {
        if (sysroot) snprintf(cands[nc++], PATH_MAX, "%s%s", sysroot, modname);
        snprintf(cands[nc++], PATH_MAX, "%s", modname);
    }
    if (libs) {
        const char *p = libs;
        while (*p && nc < 34) {
            size_t l = strcspn(p, ":");
            if (l) snprintf(cands[nc++], PATH_MAX, "%.*s/%s", (int)l, p, bn);
            p += l;
            if (*p == ':') p++;
        }
    }
    const char *mismatch = NULL;
    for (int i = 0; i < nc; i++) {
        int fd = open(cands[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        int core_has;
        if (!elf || elf_kind(elf) != ELF_K_ELF) {
            if (elf) elf_end(elf);
            close(fd);
            continue;
        }
        if (!build_id_matches(mod, elf, &core_has)) {
            mismatch = cands[i];
            elf_end(elf);
            close(fd);
            continue;
        }
        *file_name = strdup(cands[i]);
        *elfp = elf;
        return fd;
    }
    if (mismatch)
        add_problem(C, "%s does not match the core (different build-id)%s", mismatch,
                    main_mod ? "; give the right one with --exe" : "; give the right one with --lib-search-path or --sysroot");
    else
        add_problem(C, "%s not found%s", modname,
                    main_mod ? " (give it with --exe)" : " (give its directory with --lib-search-path, or --sysroot)");
    return -1;
}

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)debuglink_file,
        (void)debuglink_crc, (void)debuginfo_file_name;
    return -1; /* sections and ELF symbols are enough; no DWARF needed */
}

static const Dwfl_Callbacks core_callbacks = {
    .find_elf = core_find_elf,
    .find_debuginfo = no_debuginfo,
};

static Elf *mod_elf(core_t *C, core_mod_t *m)
{
    if (m->tried) return m->elf;
    m->tried = 1;
    Dwarf_Addr bias = 0;
    m->elf = dwfl_module_getelf(m->mod, &bias);
    m->bias = bias;
    return m->elf;
    (void)C;
}

static int collect_mod(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                       void *arg)
{
    (void)userdata;
    core_t *C = arg;
    if (C->nmods == C->capmods) {
        size_t nc = C->capmods ? C->capmods * 2 : 32;
        core_mod_t *nm = realloc(C->mods, nc * sizeof *nm);
        if (!nm) return DWARF_CB_ABORT;
        C->mods = nm;
        C->capmods = nc;
    }
    Dwarf_Addr end = 0;
    dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
    C->mods[C->nmods++] = (core_mod_t){mod, name, start, end, 0, NULL, 0};
    return DWARF_CB_OK;
}

static pag_err_t core_find(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                           uint64_t *addr, uint64_t *size)
{
    core_t *C = ctx;
    for (size_t i = 0; i < C->nmods; i++) {
        Elf *elf = mod_elf(C, &C->mods[i]);
        if (!elf) continue;
        if (cli_elf_lookup(elf, C->mods[i].bias, kind, name, &index, addr, size)) return PAG_OK;
    }
    return PAG_ERR_NOT_FOUND;
}

static const core_seg_t *seg_for(const core_t *C, uint64_t addr)
{
    size_t lo = 0, hi = C->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (C->segs[mid].vaddr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NULL;
    const core_seg_t *s = &C->segs[lo - 1];
    return addr - s->vaddr < s->memsz ? s : NULL;
}

static pag_err_t core_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    core_t *C = ctx;
    char *out = dst;
    while (len) {
        const core_seg_t *s = seg_for(C, addr);
        if (s && addr - s->vaddr < s->filesz) {
            uint64_t off = addr - s->vaddr;
            size_t n = (size_t)(s->filesz - off) < len ? (size_t)(s->filesz - off) : len;
            if (s->offset + off + n > C->fsize) return PAG_ERR_READ;
            memcpy(out, C->raw + s->offset + off, n);
            out += n, addr += n, len -= n;
            continue;
        }
        /* Not in the core: left out as file-backed and unmodified.  Read
         * that page from the file mapped there. */
        size_t n = 4096 - (size_t)(addr & 4095);
        if (n > len) n = len;
        Dwfl_Module *mod = dwfl_addrmodule(C->dwfl, addr);
        core_mod_t *m = NULL;
        for (size_t i = 0; mod && i < C->nmods; i++)
            if (C->mods[i].mod == mod) m = &C->mods[i];
        Elf *elf = m ? mod_elf(C, m) : NULL;
        if (!elf || cli_elf_read_image(elf, m->bias, addr, n, out) != 0) return PAG_ERR_READ;
        out += n, addr += n, len -= n;
    }
    return PAG_OK;
}

static void parse_notes(core_t *C)
{
    size_t n;
    if (elf_getphdrnum(C->elf, &n) != 0) return;
    struct {
        uint64_t start, end;
    } *maps = NULL;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(C->elf, (int)i, &ph) || ph.p_type != PT_NOTE) continue;
        Elf_Data *d = elf_getdata_rawchunk(C->elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        if (!d) continue;
        GElf_Nhdr nh;
        size_t off = 0, name_off, desc_off;
        while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            const char *desc = (const char *)d->d_buf + desc_off;
            if (nh.n_type == NT_PRPSINFO && nh.n_descsz >= sizeof(prpsinfo_t)) {
                prpsinfo_t ps;
                memcpy(&ps, desc, sizeof ps);
                C->pid = ps.pr_pid;
            } else if (nh.n_type == NT_AUXV) {
                for (size_t k = 0; k + 16 <= nh.n_descsz; k += 16) {
                    uint64_t key, val;
                    memcpy(&key, desc + k, 8);
                    memcpy(&val, desc + k + 8, 8);
                    if (key == 3 /* AT_PHDR */) C->at_phdr = val;
                }
            } else if (nh.n_type == 0x46494c45 /* NT_FILE */ && nh.n_descsz >= 16) {
                uint64_t count;
                memcpy(&count, desc, 8);
                if (count > nh.n_descsz / 24) continue;
                free(maps);
                maps = calloc(count + 1, sizeof *maps);
                if (!maps) continue;
                const char *names = desc + 16 + 24 * count, *end = desc + nh.n_descsz;
                for (uint64_t k = 0; k < count && names < end; k++) {
                    uint64_t s, e;
                    memcpy(&s, desc + 16 + 24 * k, 8);
                    memcpy(&e, desc + 16 + 24 * k + 8, 8);
                    size_t l = strnlen(names, (size_t)(end - names));
                    if (C->at_phdr >= s && C->at_phdr < e && !C->exe)
                        C->exe = strndup(names, l);
                    names += l + 1;
                }
            }
        }
    }
    /* NT_AUXV may follow NT_FILE; if so, the exe was not set above. */
    free(maps);
}

static void core_close(void *ctx)
{
    core_t *C = ctx;
    if (C->dwfl) dwfl_end(C->dwfl);
    if (C->elf) elf_end(C->elf);
    if (C->fd >= 0) close(C->fd);
    free(C->segs);
    free(C->mods);
    free(C->exe);
    free(C->path);
    if (g_core == C) g_core = NULL;
    free(C);
}

static void core_release(void *ctx)
{
    (void)ctx;
}

static int seg_cmp(const void *a, const void *b)
{
    const core_seg_t *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static const char *core_problems(void *ctx)
{
    core_t *C = ctx;
    return C->problems[0] ? C->problems : NULL;
}

pag_err_t cli_core_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen)
{
    memset(t, 0, sizeof *t);
    elf_version(EV_CURRENT);
    core_t *C = calloc(1, sizeof *C);
    if (!C) {
        snprintf(msg, msglen, "out of memory");
        return PAG_ERR_NOMEM;
    }
    C->o = o;
    C->fd = -1;
    C->path = strdup(o->core);
    pag_err_t e = PAG_OK;
    struct stat st;
    C->fd = open(o->core, O_RDONLY | O_CLOEXEC);
    if (C->fd < 0 || fstat(C->fd, &st) != 0) {
        int er = errno;
        snprintf(msg, msglen, "cannot open core file %s: %s", o->core, strerror(er));
        e = er == ENOENT ? PAG_ERR_NO_PROCESS : (er == EACCES || er == EPERM) ? PAG_ERR_PERMISSION : PAG_ERR_READ;
        goto fail;
    }
    C->fsize = (size_t)st.st_size;
    C->elf = elf_begin(C->fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    if (!C->elf || elf_kind(C->elf) != ELF_K_ELF || !gelf_getehdr(C->elf, &eh)) {
        if (C->fsize < 64)
            snprintf(msg, msglen, "core file %s is truncated (%zu bytes, not even an ELF header)",
                     o->core, C->fsize);
        else
            snprintf(msg, msglen, "%s is not an ELF core file", o->core);
        e = C->fsize < 64 ? PAG_ERR_TRUNCATED : PAG_ERR_INVALID_ARG;
        goto fail;
    }
    if (eh.e_type != ET_CORE) {
        snprintf(msg, msglen, "%s is not a core file (ELF type %u)", o->core, (unsigned)eh.e_type);
        e = PAG_ERR_INVALID_ARG;
        goto fail;
    }
    size_t nph;
    if (elf_getphdrnum(C->elf, &nph) != 0) {
        snprintf(msg, msglen, "core file %s is truncated (program headers missing)", o->core);
        e = PAG_ERR_TRUNCATED;
        goto fail;
    }
    /* Everything the headers promise must be in the file. */
    uint64_t need = eh.e_phoff + (uint64_t)nph * eh.e_phentsize;
    if (eh.e_shoff && eh.e_shnum) {
        uint64_t sh = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
        if (sh > need) need = sh;
    }
    C->segs = calloc(nph + 1, sizeof *C->segs);
    if (!C->segs) {
        snprintf(msg, msglen, "out of memory");
        e = PAG_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(C->elf, (int)i, &ph)) continue;
        if (ph.p_filesz && ph.p_offset + ph.p_filesz > need) need = ph.p_offset + ph.p_filesz;
        if (ph.p_type == PT_LOAD && ph.p_memsz)
            C->segs[C->nsegs++] = (core_seg_t){ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset};
    }
    if (need > C->fsize) {
        snprintf(msg, msglen, "core file %s is truncated (%zu of %llu bytes present)", o->core,
                 C->fsize, (unsigned long long)need);
        e = PAG_ERR_TRUNCATED;
        goto fail;
    }
    qsort(C->segs, C->nsegs, sizeof *C->segs, seg_cmp);
    C->raw = elf_rawfile(C->elf, NULL);
    if (!C->raw) {
        snprintf(msg, msglen, "cannot map core file %s: %s", o->core, elf_errmsg(-1));
        e = PAG_ERR_READ;
        goto fail;
    }
    parse_notes(C);
    if (!C->exe) parse_notes(C); /* AT_PHDR now known */
    g_core = C;
    C->dwfl = dwfl_begin(&core_callbacks);
    if (!C->dwfl) {
        snprintf(msg, msglen, "libdwfl: %s", dwfl_errmsg(-1));
        e = PAG_ERR_NOMEM;
        goto fail;
    }
    dwfl_report_begin(C->dwfl);
    int nm = dwfl_core_file_report(C->dwfl, C->elf, o->exe);
    dwfl_report_end(C->dwfl, NULL, NULL);
    if (nm < 0) {
        snprintf(msg, msglen, "cannot read the module list of core file %s: %s", o->core,
                 dwfl_errmsg(-1));
        e = PAG_ERR_CORRUPT;
        goto fail;
    }
    dwfl_getmodules(C->dwfl, collect_mod, C, 0);

    const char *exe = o->exe ? o->exe : C->exe ? C->exe : "";
    size_t jl = 6 * (strlen(exe) + strlen(o->core)) + 160;
    t->source_json = malloc(jl);
    if (t->source_json) {
        snprintf(t->source_json, jl, "{\"kind\":\"core\",\"core\":");
        cli_json_str(t->source_json, jl - 80, o->core);
        snprintf(t->source_json + strlen(t->source_json), 40, ",\"pid\":%ld,\"executable\":",
                 C->pid);
        cli_json_str(t->source_json, jl - 2, exe);
        strcat(t->source_json, "}");
    }
    t->acc.read = core_read;
    t->acc.find = core_find;
    t->ctx = C;
    t->release = core_release;
    t->problems = core_problems;
    t->close = core_close;
    return PAG_OK;
fail:
    core_close(C);
    return e;
}
