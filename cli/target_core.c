/* The core-file target: a core from gcore or from the kernel.
 *
 * Memory the core holds comes from its PT_LOAD segments (only p_filesz
 * bytes are present: the rest was left out).  Memory it does not hold --
 * read-only file-backed pages such as .rodata type names -- comes from the
 * ELF file that was mapped there.  The NT_FILE note says which file is
 * mapped where (grouped into modules exactly like live /proc/PID/maps);
 * elfutils' libdwfl (dwfl_core_file_report) tells which of them are ELF
 * images.  We locate each file ourselves (--exe alone for the executable,
 * else the --sysroot prefix, the recorded path, --lib-search-path by
 * basename) -- libdwfl would otherwise quietly build an image from core
 * memory, without section headers -- and accept it only when it matches
 * the core: its build-id, read from the core's own copy of the file's notes
 * (libdwfl would take it from the file at the recorded path when the core
 * lacks it), or, lacking one, its ELF header and program headers (the
 * core's copy of the first page) and its load layout and size against
 * NT_FILE.  Lookups then work exactly as live.
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

#include "core_stream.h"
#include "elf_lookup.h"
#include "modules.h"
#include "native.h"
#include "target.h"

typedef struct core_seg {
    uint64_t vaddr, memsz, filesz, offset;
} core_seg_t;

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
    uint64_t at_phdr;
    char *exe;     /* main executable path (the NT_FILE entry holding AT_PHDR) */
    char *src_exe; /* the source object's executable: --exe, else exe, else "" */
    Dwfl *dwfl;
    int have_files;       /* an NT_FILE note was taken (later ones are ignored) */
    int bad_files;        /* an NT_FILE note lists more entries than it holds */
    cli_modtab_t mods;    /* grouped from NT_FILE, like live maps */
    cli_strset_t missing; /* directories of listed files that do not exist */
    /* Files missing or not matching, for the error line: those that would
     * hold _PyRuntime or .AsyncioDebug in full, the others counted. */
    char key[1536], other[512];
    size_t nkey, nother;
    char problems[2048]; /* the line, made by core_problems */
    /* --exe was given and is not the core's executable: why */
    int exe_errno;
    const char *exe_why;
    /* A compressed core whose stream was cut short (cli/core_stream.c): the
     * decompressed front is read as a truncated core, its missing pages
     * unreadable.  cut_line is the spooler's line, said instead whenever
     * that front is not enough; cut_note the line that comes with a
     * partial graph. */
    int cut;
    uint64_t need; /* the bytes the core's headers promise */
    cli_spool_info_t spooled;
    char cut_line[512], cut_note[600], kept_note[640];
    cli_native_t *native; /* --native: the unwinder, built on first use */
} core_t;

/* Would this file hold _PyRuntime (the executable, libpython) or the
 * .AsyncioDebug table (the _asyncio extension)?  Those are named in the
 * error line; other missing files are only counted. */
static int is_key_file(const char *path, int main_mod)
{
    const char *bn = strrchr(path, '/');
    bn = bn ? bn + 1 : path;
    return main_mod || strncmp(bn, "libpython3", 10) == 0 || strncmp(bn, "_asyncio.", 9) == 0;
}

/* a: a path the core recorded, printed escaped (it may hold a newline). */
static void add_problem(core_t *C, int key, const char *fmt, const char *a, const char *b)
{
    char *buf = key ? C->key : C->other, path[512];
    size_t cap = key ? sizeof C->key : sizeof C->other, l = strlen(buf);
    if ((key || !C->nother) && l + 8 < cap) {
        if (l) l += (size_t)snprintf(buf + l, cap - l, "; ");
        snprintf(buf + l, cap - l, fmt, cli_path_text(a, path, sizeof path), b);
    }
    *(key ? &C->nkey : &C->nother) += 1;
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

/* Copy what the core itself holds at addr, at most len bytes: the count, 0
 * when the core left that memory out, -1 on a read error. */
static ssize_t core_piece(core_t *C, uint64_t addr, size_t len, char *out)
{
    const core_seg_t *s = seg_for(C, addr);
    if (!s || addr - s->vaddr >= s->filesz) return 0;
    uint64_t off = addr - s->vaddr;
    size_t n = (size_t)(s->filesz - off) < len ? (size_t)(s->filesz - off) : len;
    if (s->offset + off + n > C->fsize) return -1;
    /* pread, not the mapping: a million-task walk touches most of a GB
     * core, and faulting it in page by page costs more (and shows up as
     * our RSS) than copying through the page cache */
    ssize_t got = pread(C->fd, out, n, (off_t)(s->offset + off));
    if (got != (ssize_t)n) {
        if (got < 0 || (size_t)got > n) return -1;
        memcpy(out + got, C->raw + s->offset + off + (size_t)got, n - (size_t)got);
    }
    return (ssize_t)n;
}

static uint64_t page_mask(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    return ~(uint64_t)((pg > 0 ? pg : 4096) - 1);
}

/* Module m's mappings (NT_FILE) cover addr, and there it maps file offset
 * off. */
static int maps_offset(const core_t *C, const cli_mod_t *m, uint64_t addr, uint64_t off)
{
    for (size_t k = m->maps; k != CLI_NONE; k = C->mods.maps[k].next) {
        const cli_map_t *mp = &C->mods.maps[k];
        if (addr >= mp->start && addr < mp->end && mp->pgoff + (addr - mp->start) == off) return 1;
    }
    return 0;
}

/* Without a build-id in the core, check the file against the core's
 * NT_FILE record instead: every mapping of it must fall on a PT_LOAD of the
 * file at the same offset and address and lie inside the file, and the
 * first and last page of every PT_LOAD's file part must be mapped so. */
static int layout_matches(core_t *C, const cli_mod_t *m, Elf *elf, uint64_t bias, size_t fsize)
{
    size_t n;
    if (elf_getphdrnum(elf, &n) != 0) return 0;
    uint64_t mask = page_mask(), pg = ~mask + 1;
    uint64_t fend = ((uint64_t)fsize + pg - 1) & mask;
    for (size_t k = m->maps; k != CLI_NONE; k = C->mods.maps[k].next) {
        const cli_map_t *mp = &C->mods.maps[k];
        int ok = mp->pgoff <= fend && mp->end - mp->start <= fend - mp->pgoff;
        for (size_t i = 0; i < n && ok == 1; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
            uint64_t va = (ph.p_vaddr & mask) + bias, off = ph.p_offset & mask;
            if (mp->start >= va && mp->start - va == mp->pgoff - off && mp->pgoff >= off &&
                mp->pgoff - off < ph.p_memsz + pg)
                ok = 2;
        }
        if (ok != 2) return 0;
    }
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_filesz) continue;
        uint64_t last = ph.p_filesz - 1;
        if (!maps_offset(C, m, (ph.p_vaddr & mask) + bias, ph.p_offset & mask) ||
            !maps_offset(C, m, ((ph.p_vaddr + last) & mask) + bias, (ph.p_offset + last) & mask))
            return 0;
    }
    return 1;
}

/* The ELF header and the program headers, where the core holds them (it
 * normally keeps the first page of every mapped ELF file), equal the
 * file's: they differ between any two builds. */
static int header_matches(core_t *C, const cli_mod_t *m, Elf *elf, const char *raw, size_t fsize)
{
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf, &eh)) return 0;
    const uint64_t part[2][2] = {{0, eh.e_ehsize},
                                 {eh.e_phoff, (uint64_t)eh.e_phnum * eh.e_phentsize}};
    char buf[4096];
    for (int i = 0; i < 2; i++) {
        uint64_t off = part[i][0], len = part[i][1];
        if (!len || off > sizeof buf || len > sizeof buf - off || off + len > fsize ||
            off + len > m->base_end - m->base)
            continue; /* not in the first page */
        ssize_t got = core_piece(C, m->base + off, (size_t)len, buf);
        if (got == (ssize_t)len && memcmp(buf, raw + off, (size_t)len) != 0) return 0;
    }
    return 1;
}

/* Module m's build-id as the core holds it: the ELF header at m->base, the
 * program headers, the PT_NOTE segments, all from the core's own memory
 * (a file on disk is what is being checked, so it cannot say).  bidlen 0
 * when the core left any of them out. */
static void core_build_id(core_t *C, cli_mod_t *m)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[64];
    m->bidlen = 0;
    if (core_piece(C, m->base, sizeof eh, (char *)&eh) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof *ph || !eh.e_phnum || eh.e_phnum > 64)
        return;
    size_t n = eh.e_phnum, first = n;
    if (core_piece(C, m->base + eh.e_phoff, n * sizeof *ph, (char *)ph) !=
        (ssize_t)(n * sizeof *ph))
        return;
    for (size_t i = 0; i < n && first == n; i++)
        if (ph[i].p_type == PT_LOAD) first = i;
    if (first == n) return;
    uint64_t bias = m->base - (ph[first].p_vaddr & page_mask());
    for (size_t i = 0; i < n; i++) {
        char note[4096];
        size_t len = ph[i].p_filesz;
        if (ph[i].p_type != PT_NOTE || len < 12 || len > sizeof note ||
            core_piece(C, ph[i].p_vaddr + bias, len, note) != (ssize_t)len)
            continue;
        for (size_t off = 0; off + 12 <= len;) {
            uint32_t hdr[3];
            memcpy(hdr, note + off, sizeof hdr);
            size_t name = off + 12, desc = name + ((hdr[0] + 3u) & ~3u);
            if (hdr[0] > len || hdr[1] > len || desc + hdr[1] > len) break;
            if (hdr[2] == NT_GNU_BUILD_ID && hdr[0] == 4 && memcmp(note + name, "GNU", 4) == 0 &&
                hdr[1] && hdr[1] <= sizeof m->bid) {
                memcpy(m->bid, note + desc, hdr[1]);
                m->bidlen = (int)hdr[1];
                return;
            }
            off = desc + ((hdr[1] + 3u) & ~3u);
        }
    }
}

/* Why this file is not the one the core mapped as m; NULL if it is. */
static const char *mismatch(core_t *C, const cli_mod_t *m, Elf *elf, uint64_t bias)
{
    if (m->bidlen > 0) {
        const void *id;
        ssize_t l = dwelf_elf_gnu_build_id(elf, &id);
        int same = l == m->bidlen && memcmp(id, m->bid, (size_t)l) == 0;
        return same ? NULL : "different build-id";
    }
    size_t fsize;
    const char *raw = elf_rawfile(elf, &fsize);
    if (!raw) return "unreadable";
    if (!header_matches(C, m, elf, raw, fsize)) return "different ELF header";
    if (!layout_matches(C, m, elf, bias, fsize)) return "different load layout or size";
    return NULL;
}

enum { CAND_ABSENT, CAND_NOT_ELF, CAND_MISMATCH, CAND_OK };

/* Try path as module m's file: CAND_OK (m->elf, fd and bias set), or why
 * not (*why for CAND_MISMATCH, errno kept for CAND_ABSENT). */
static int try_file(core_t *C, cli_mod_t *m, const char *path, const char **why)
{
    /* A core names these paths, so it may name a device whose open() acts
     * (a watchdog, a tape): only a regular file is opened.  O_NONBLOCK in
     * case it was swapped for a pipe meanwhile. */
    struct stat st;
    if (stat(path, &st) != 0) return CAND_ABSENT;
    if (!S_ISREG(st.st_mode)) return CAND_NOT_ELF;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return CAND_ABSENT;
    Elf *elf = NULL;
    uint64_t bias = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        !(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)) || elf_kind(elf) != ELF_K_ELF ||
        cli_elf_bias(elf, m->base, &bias) != 0) {
        cli_elf_drop(elf, fd);
        return CAND_NOT_ELF; /* there, but not an ELF file: a data mapping */
    }
    if ((*why = mismatch(C, m, elf, bias)) != NULL) {
        cli_elf_drop(elf, fd);
        return CAND_MISMATCH;
    }
    m->elf = elf;
    m->fd = fd;
    m->bias = bias;
    return CAND_OK;
}

/* try_file for a path the core lists, unless its directory is known to
 * be missing (a crafted core may list any number of files there: one
 * failed open each took half the time of a 160,000-entry NT_FILE). */
static int try_listed(core_t *C, cli_mod_t *m, const char *path, const char **why)
{
    const char *slash = strrchr(path, '/');
    size_t dl = slash && slash != path ? (size_t)(slash - path) : 0;
    if (dl && cli_strset_has(&C->missing, path, dl)) return CAND_ABSENT;
    errno = 0;
    int r = try_file(C, m, path, why);
    if (r != CAND_ABSENT || !dl || dl >= PATH_MAX || (errno != ENOENT && errno != ENOTDIR))
        return r;
    char dir[PATH_MAX];
    struct stat st;
    memcpy(dir, path, dl);
    dir[dl] = 0;
    if (stat(dir, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
        cli_strset_add(&C->missing, path, dl);
    return r;
}

/* The executable when --exe names it: that file or none (never one of the
 * default places instead); a refusal is kept for cli_core_open to report. */
static void open_given_exe(core_t *C, cli_mod_t *m)
{
    const char *why = NULL;
    errno = 0;
    int r = try_file(C, m, C->o->exe, &why);
    if (r == CAND_OK) return;
    C->exe_errno = r == CAND_ABSENT ? (errno ? errno : ENOENT) : 0;
    C->exe_why = r == CAND_MISMATCH ? why : "not an ELF executable";
}

/* cli_mod_open_fn: the file of module m: --exe (main executable, alone),
 * else the --sysroot prefix, the recorded path, --lib-search-path dirs by
 * basename; take the first whose build-id (or, lacking one, ELF header
 * and load layout) matches the core. */
static void open_mod(void *owner, cli_mod_t *m, size_t mi)
{
    (void)mi;
    core_t *C = owner;
    const pag_options_t *o = C->o;
    int main_mod = C->exe && strcmp(m->path, C->exe) == 0;
    core_build_id(C, m);
    if (main_mod && o->exe) {
        open_given_exe(C, m);
        return;
    }
    const char *bn = strrchr(m->path, '/');
    bn = bn ? bn + 1 : m->path;
    enum { MAXC = 34 };
    char *cands[MAXC];
    int nc = 0;
    if (o->sysroot && asprintf(&cands[nc], "%s%s", o->sysroot, m->path) >= 0) nc++;
    cands[nc++] = strdup(m->path);
    for (const char *p = o->lib_search_path; p && *p && nc < MAXC;) {
        size_t l = strcspn(p, ":");
        if (l && asprintf(&cands[nc], "%.*s/%s", (int)l, p, bn) >= 0) nc++;
        p += l;
        if (*p == ':') p++;
    }
    const char *bad = NULL, *why = "";
    int found_any = 0;
    for (int i = 0; i < nc && !m->elf; i++) {
        const char *w = NULL;
        int r = cands[i] ? try_listed(C, m, cands[i], &w) : CAND_ABSENT;
        found_any |= r == CAND_NOT_ELF;
        if (r == CAND_MISMATCH && !bad) bad = cands[i], why = w;
    }
    if (!m->elf && (m->dwfl_known || main_mod)) {
        int key = is_key_file(m->path, main_mod);
        const char *opt = main_mod ? "--exe" : "--lib-search-path or --sysroot";
        if (bad) {
            char tail[128];
            snprintf(tail, sizeof tail, " (%s); give the right one with %s", why, opt);
            add_problem(C, key, "%s does not match the core%s", bad, tail);
        } else if (!found_any)
            add_problem(C, key, "%s not found%s", m->path,
                        main_mod ? " (give it with --exe)"
                                 : " (give its directory with --lib-search-path, or --sysroot)");
    }
    for (int i = 0; i < nc; i++)
        free(cands[i]);
}

static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    *elfp = NULL;
    return -1; /* we open the files ourselves (mod_elf) */
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
    .find_elf = no_find_elf,
    .find_debuginfo = no_debuginfo,
};

/* libdwfl read the module list from the core (link map + NT_FILE): mark
 * our NT_FILE modules it saw an ELF image at.  Their build-ids are read
 * from the core by core_build_id, not taken from libdwfl, which falls back
 * to the file at the recorded path when the core lacks the note. */
static int collect_mod(Dwfl_Module *dm, void **userdata, const char *name, Dwarf_Addr start,
                       void *arg)
{
    (void)dm, (void)userdata, (void)name;
    core_t *C = arg;
    /* without overlaps only the module mapped at start can have its base
     * there: one lookup, not a pass over 160,000 modules per image */
    size_t mi = cli_modtab_mod_at(&C->mods, start);
    for (size_t i = C->mods.overlap ? 0 : mi; i < C->mods.nmods; i++) {
        cli_mod_t *m = &C->mods.mods[i];
        if (m->have_base && m->base == start) m->dwfl_known = 1;
        if (!C->mods.overlap) break;
    }
    return DWARF_CB_OK;
}

static pag_err_t core_module_of(void *ctx, uint64_t addr, char *name, size_t len)
{
    return cli_modtab_module_of(&((core_t *)ctx)->mods, addr, name, len);
}

static pag_err_t core_native_frames(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max,
                                    size_t *n)
{
    return cli_native_frames(((core_t *)ctx)->native, tid, out, max, n);
}

static pag_err_t core_find(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                           uint64_t *addr, uint64_t *size)
{
    return cli_modtab_find(&((core_t *)ctx)->mods, kind, name, index, addr, size);
}

static pag_err_t core_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    core_t *C = ctx;
    char *out = dst;
    while (len) {
        ssize_t got = core_piece(C, addr, len, out);
        if (got < 0) return PAG_ERR_READ;
        if (got > 0) {
            out += got, addr += (uint64_t)got, len -= (size_t)got;
            continue;
        }
        /* Not in the core: left out as file-backed and unmodified.  Read
         * that page from the file mapped there. */
        size_t n = 4096 - (size_t)(addr & 4095);
        if (n > len) n = len;
        size_t mi = cli_modtab_mod_at(&C->mods, addr);
        Elf *elf = mi != CLI_NONE ? cli_modtab_elf(&C->mods, mi) : NULL;
        if (!elf || cli_elf_read_image(elf, C->mods.mods[mi].bias, addr, n, out) != 0)
            return PAG_ERR_READ;
        out += n, addr += n, len -= n;
    }
    return PAG_OK;
}

/* NT_FILE: count, page size, count (start, end, page offset) triples, then
 * count NUL-terminated paths.  Linear in count (modules.c hashes the paths);
 * at most CLI_MAX_MAPPINGS entries are taken. */
static void parse_nt_file(core_t *C, const char *desc, size_t descsz)
{
    uint64_t count, pagesz;
    if (descsz < 16) return;
    memcpy(&count, desc, 8);
    memcpy(&pagesz, desc + 8, 8);
    if (count > (descsz - 16) / 24) {
        C->bad_files = 1;
        return;
    }
    C->have_files = 1;
    if (count > CLI_MAX_MAPPINGS)
        cli_warn("core file %s lists %llu mapped files; only the first %u are used", C->o->core,
                 (unsigned long long)count, CLI_MAX_MAPPINGS);
    const char *names = desc + 16 + 24 * count, *end = desc + descsz;
    for (uint64_t k = 0; k < count && k < CLI_MAX_MAPPINGS && names < end; k++) {
        uint64_t st, en, off;
        memcpy(&st, desc + 16 + 24 * k, 8);
        memcpy(&en, desc + 16 + 24 * k + 8, 8);
        memcpy(&off, desc + 16 + 24 * k + 16, 8);
        size_t l = strnlen(names, (size_t)(end - names));
        size_t mi = cli_modtab_intern(&C->mods, names, l, 0, 0, 0);
        if (mi != CLI_NONE) cli_modtab_add_map(&C->mods, mi, st, en, off * pagesz);
        names += l + 1;
    }
}

/* NT_PRPSINFO (pid), NT_AUXV (AT_PHDR: which file is the executable),
 * NT_FILE (what is mapped where). */
static void parse_notes(core_t *C)
{
    size_t n;
    if (elf_getphdrnum(C->elf, &n) != 0) return;
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
            } else if (nh.n_type == 0x46494c45 /* NT_FILE */ && !C->have_files) {
                parse_nt_file(C, desc, nh.n_descsz);
            }
        }
    }
    const cli_modtab_t *t = &C->mods;
    for (size_t k = 0; k < t->nmaps && !C->exe; k++)
        if (C->at_phdr >= t->maps[k].start && C->at_phdr < t->maps[k].end)
            C->exe = strdup(t->mods[t->maps[k].mod].path);
}

static void core_close(void *ctx)
{
    core_t *C = ctx;
    cli_native_free(C->native); /* it uses the core's Elf and module table */
    if (C->dwfl) dwfl_end(C->dwfl);
    cli_modtab_free(&C->mods);
    cli_strset_free(&C->missing);
    if (C->elf) elf_end(C->elf);
    if (C->fd >= 0) close(C->fd);
    free(C->segs);
    free(C->exe);
    free(C->src_exe);
    free(C->path);
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

/* The files that matter by name, the others by their count: a core from
 * another machine misses dozens, and one line must stay readable. */
static const char *core_problems(void *ctx)
{
    core_t *C = ctx;
    /* a cut core's first problem is the cut: what could not be read was
     * most likely past it */
    size_t l = (size_t)snprintf(C->problems, sizeof C->problems, "%s", C->cut_note);
    if (!C->nkey && !C->nother) return l ? C->problems : NULL;
    size_t rest = C->nkey ? C->nother : C->nother - 1;
    snprintf(C->problems + l, sizeof C->problems - l, "%s%s", l ? "; " : "",
             C->nkey ? C->key : C->other);
    l = strlen(C->problems);
    if (rest)
        snprintf(C->problems + l, sizeof C->problems - l,
                 "; and %zu other mapped file%s not found or not matching", rest,
                 rest == 1 ? "" : "s");
    return C->problems;
}

/* A file named by an option could not be opened: errno's code. */
static pag_err_t open_error(int er)
{
    return er == ENOENT                    ? PAG_ERR_NO_PROCESS
           : (er == EACCES || er == EPERM) ? PAG_ERR_PERMISSION
                                           : PAG_ERR_READ;
}

/* The core is compressed or a stream: read it once into an unlinked
 * temporary file (cli/core_stream.c) and go on with that file.  A stream
 * cut short goes on too, with what was decompressed (C->cut): whether that
 * front is enough is decided as it is read. */
static pag_err_t spool(core_t *C, const char *core, struct stat *st, char *msg, size_t msglen)
{
    int tmp;
    pag_err_t e = cli_core_spool(C->fd, core, &tmp, &C->spooled, msg, msglen);
    close(C->fd);
    C->fd = tmp;
    if (e == PAG_ERR_TRUNCATED && tmp >= 0) {
        C->cut = 1;
        snprintf(C->cut_line, sizeof C->cut_line, "%s", msg);
        *msg = '\0';
        e = PAG_OK;
    }
    if (e == PAG_OK && fstat(C->fd, st) != 0) {
        snprintf(msg, msglen, "cannot read the decompressed core %s: %s", core, strerror(errno));
        e = PAG_ERR_IO;
    }
    return e;
}

/* --core names something that is neither a regular file nor a stream:
 * refuse it before reading a byte (a device may act on a read). */
static pag_err_t not_regular(const char *core, mode_t mode, char *msg, size_t msglen)
{
    const char *what = S_ISDIR(mode)    ? "a directory"
                       : S_ISCHR(mode)  ? "a character device"
                       : S_ISBLK(mode)  ? "a block device"
                       : S_ISSOCK(mode) ? "a socket"
                                        : "not a regular file";
    snprintf(msg, msglen, "--core %s is %s, not a core file", core, what);
    return PAG_ERR_INVALID_ARG;
}

/* Open the core: a regular file, or a stream (`--core -` for standard
 * input, a FIFO) that is read once into a temporary file.  Only a regular
 * file or a FIFO is even opened (stat first; O_NONBLOCK so that a FIFO
 * with no writer yet does not block in open()). */
static pag_err_t open_regular(core_t *C, const char *core, struct stat *st, char *msg,
                              size_t msglen)
{
    int er = 0, stdin_core = strcmp(core, "-") == 0;
    const char *shown = stdin_core ? "(standard input)" : core;
    if (stdin_core) {
        if (isatty(0)) {
            snprintf(msg, msglen, "--core -: standard input is a terminal; pipe a core into it");
            return PAG_ERR_INVALID_ARG;
        }
        if ((C->fd = dup(0)) < 0 || fstat(C->fd, st) != 0) er = errno;
    } else if (stat(core, st) != 0)
        er = errno;
    else if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
        return not_regular(core, st->st_mode, msg, msglen);
    else if ((C->fd = open(core, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0 ||
             fstat(C->fd, st) != 0)
        er = errno;
    if (!er && !S_ISREG(st->st_mode) && (stdin_core || S_ISFIFO(st->st_mode)))
        return spool(C, shown, st, msg, msglen);
    if (!er && !S_ISREG(st->st_mode)) return not_regular(core, st->st_mode, msg, msglen);
    if (er) {
        snprintf(msg, msglen, "cannot open core file %s: %s", core, strerror(er));
        return open_error(er);
    }
    return PAG_OK;
}

/* The file does not start with the ELF magic: name what it starts with, and
 * the compressor when it is a compressed core we cannot unpack. */
static pag_err_t not_elf(const char *core, const unsigned char *head, size_t n, char *msg,
                         size_t msglen)
{
    char hex[16] = "";
    for (size_t i = 0, l = 0; i < n && i < 4; i++)
        l += (size_t)snprintf(hex + l, sizeof hex - l, "%s%02x", i ? " " : "", head[i]);
    const char *packer = cli_core_packer(head, n);
    if (packer) {
        snprintf(msg, msglen,
                 "core file %s is not an ELF file: it starts with %s, a compressed core (%s): "
                 "decompress it first",
                 core, hex, packer);
        return PAG_ERR_UNSUPPORTED;
    }
    snprintf(msg, msglen, "core file %s is not an ELF file: it starts with %s", core, hex);
    return PAG_ERR_CORRUPT;
}

/* A cut stream's front is read only when it holds the program headers and
 * every note (NT_FILE: which files are mapped where; kernel cores write
 * them first, gcore writes its notes after the memory).  The segments past
 * the cut are then unreadable: core_piece refuses any byte past the end of
 * the file, and never takes the mapped file's bytes for them. */
static int front_holds_headers(core_t *C, const GElf_Ehdr *eh, size_t nph)
{
    if (eh->e_phoff + (uint64_t)nph * eh->e_phentsize > C->fsize) return 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(C->elf, (int)i, &ph)) return 0;
        if (ph.p_type == PT_NOTE && ph.p_offset + ph.p_filesz > C->fsize) return 0;
    }
    return 1;
}

/* Open the core file, check that it is a whole ELF core, and index its
 * PT_LOAD segments. */
static pag_err_t open_core_file(core_t *C, const char *path, char *msg, size_t msglen)
{
    struct stat st;
    const char *core = strcmp(path, "-") == 0 ? "(standard input)" : path; /* for messages */
    pag_err_t e = open_regular(C, path, &st, msg, msglen);
    if (e != PAG_OK) return e;
    unsigned char head[8];
    ssize_t got = pread(C->fd, head, sizeof head, 0);
    if (got == 0) {
        snprintf(msg, msglen, "core file %s is truncated: it is empty", core);
        return PAG_ERR_TRUNCATED;
    }
    size_t hl = got > 0 ? (size_t)got : 0;
    if (cli_core_unpackable(head, hl)) { /* systemd-coredump's .zst, and the like */
        if ((e = spool(C, core, &st, msg, msglen)) != PAG_OK) return e;
        got = pread(C->fd, head, sizeof head, 0);
        hl = got > 0 ? (size_t)got : 0;
    }
    if (got == 0) {
        snprintf(msg, msglen, "core file %s is truncated: it is empty", core);
        return PAG_ERR_TRUNCATED;
    }
    if (got > 0 && memcmp(head, ELFMAG, hl < SELFMAG ? hl : SELFMAG) != 0)
        return not_elf(core, head, hl, msg, msglen);
    C->fsize = (size_t)st.st_size;
    C->elf = elf_begin(C->fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    if (!C->elf || elf_kind(C->elf) != ELF_K_ELF || !gelf_getehdr(C->elf, &eh)) {
        if (C->fsize < 64)
            snprintf(msg, msglen, "core file %s is truncated (%zu bytes, not even an ELF header)",
                     core, C->fsize);
        else
            snprintf(msg, msglen, "core file %s is corrupt: libelf cannot read it (%s)", core,
                     elf_errmsg(-1));
        return C->fsize < 64 ? PAG_ERR_TRUNCATED : PAG_ERR_CORRUPT;
    }
    if (eh.e_type != ET_CORE) {
        snprintf(msg, msglen, "%s is not a core file (ELF type %u)", core, (unsigned)eh.e_type);
        return PAG_ERR_INVALID_ARG;
    }
    size_t nph;
    if (elf_getphdrnum(C->elf, &nph) != 0) {
        snprintf(msg, msglen, "core file %s is truncated (program headers missing)", core);
        return PAG_ERR_TRUNCATED;
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
        return PAG_ERR_NOMEM;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(C->elf, (int)i, &ph)) continue;
        if (ph.p_offset + ph.p_filesz < ph.p_offset) { /* would pass any size check */
            snprintf(msg, msglen,
                     "core file %s is corrupt: program header %zu's file range wraps around", core,
                     i);
            return PAG_ERR_CORRUPT;
        }
        if (ph.p_filesz && ph.p_offset + ph.p_filesz > need) need = ph.p_offset + ph.p_filesz;
        if (ph.p_type == PT_LOAD && ph.p_memsz)
            C->segs[C->nsegs++] = (core_seg_t){ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset};
    }
    C->need = need;
    if (need > C->fsize && !(C->cut && front_holds_headers(C, &eh, nph))) {
        snprintf(msg, msglen, "core file %s is truncated (%zu of %llu bytes present)", core,
                 C->fsize, (unsigned long long)need);
        return PAG_ERR_TRUNCATED;
    }
    qsort(C->segs, C->nsegs, sizeof *C->segs, seg_cmp);
    C->raw = elf_rawfile(C->elf, NULL);
    if (!C->raw) {
        snprintf(msg, msglen, "cannot map core file %s: %s", core, elf_errmsg(-1));
        return PAG_ERR_READ;
    }
    return PAG_OK;
}

/* The modules: NT_FILE (ours), then libdwfl's view of the core for their
 * build-ids. */
static pag_err_t read_modules(core_t *C, const pag_options_t *o, char *msg, size_t msglen)
{
    parse_notes(C);
    C->dwfl = dwfl_begin(&core_callbacks);
    if (!C->dwfl) {
        snprintf(msg, msglen, "libdwfl: %s", dwfl_errmsg(-1));
        return PAG_ERR_NOMEM;
    }
    dwfl_report_begin(C->dwfl);
    int nm = dwfl_core_file_report(C->dwfl, C->elf, NULL);
    dwfl_report_end(C->dwfl, NULL, NULL);
    if (nm < 0) {
        snprintf(msg, msglen, "cannot read the module list of core file %s: %s", o->core,
                 dwfl_errmsg(-1));
        return PAG_ERR_CORRUPT;
    }
    dwfl_getmodules(C->dwfl, collect_mod, C, 0);
    if (!C->mods.nmods) {
        const char *why = C->have_files  ? "its NT_FILE note names no file"
                          : C->bad_files ? "its NT_FILE note lists more files than it holds"
                                         : "it has no NT_FILE note";
        snprintf(msg, msglen, "core file %s is corrupt: %s: no record of the mapped files", o->core,
                 why);
        return PAG_ERR_CORRUPT;
    }
    return PAG_OK;
}

/* A cut core read as a partial one: the line the core puts first
 * (pag_frontend_t.incomplete), with the exit status of a cut core. */
static const char *core_incomplete(void *ctx)
{
    core_t *C = ctx;
    return C->cut && C->kept_note[0] ? C->kept_note : NULL;
}

/* A cut core is read only when its front holds _PyRuntime's first page
 * (the debug tables, the interpreter list): without it there is nothing to
 * walk, and the cut is all there is to say.  Otherwise the note that comes
 * with the partial graph. */
static pag_err_t check_cut(core_t *C, char *msg, size_t msglen)
{
    uint64_t addr = 0, size = 0;
    char b;
    if (!C->cut) return PAG_OK;
    if (core_find(C, PAG_LOOKUP_SECTION, ".PyRuntime", 0, &addr, &size) == PAG_OK ||
        core_find(C, PAG_LOOKUP_SYMBOL, "_PyRuntime", 0, &addr, &size) == PAG_OK) {
        uint64_t last = addr + (size && size < 4096 ? size : 4096) - 1;
        if (core_piece(C, addr, 1, &b) < 0 || core_piece(C, last, 1, &b) < 0) {
            snprintf(msg, msglen, "%s", C->cut_line);
            return PAG_ERR_TRUNCATED;
        }
    }
    const char *packer = C->spooled.packer ? C->spooled.packer : "compressed";
    const char *core = strcmp(C->o->core, "-") == 0 ? "(standard input)" : C->o->core;
    unsigned long long got = C->spooled.written, need = C->need;
    if (got < need)
        snprintf(C->cut_note, sizeof C->cut_note,
                 "core file %s is truncated: its %s stream is cut short after %llu bytes (of "
                 "%llu the core's headers promise)",
                 core, packer, got, need);
    else /* cut in its end mark or checksum: all there, but unchecked */
        snprintf(C->cut_note, sizeof C->cut_note,
                 "core file %s is truncated: its %s stream is cut short after all %llu bytes "
                 "the core's headers promise (its end and checksum are missing)",
                 core, packer, got);
    /* with a graph (problems() gives the note alone, in an error line) */
    snprintf(C->kept_note, sizeof C->kept_note, "%s%s", C->cut_note,
             got < need ? ": the graph is partial" : "");
    return PAG_OK;
}

/* --exe names the executable: it must be the core's.  Checked now, not on
 * first use, so that a wrong one is refused rather than ignored. */
static pag_err_t check_exe(core_t *C, char *msg, size_t msglen)
{
    if (!C->o->exe || !C->exe) return PAG_OK;
    for (size_t i = 0; i < C->mods.nmods; i++)
        if (strcmp(C->mods.mods[i].path, C->exe) == 0 && cli_modtab_elf(&C->mods, i)) return PAG_OK;
    int er = C->exe_errno;
    if (er) {
        snprintf(msg, msglen, "cannot open --exe %s: %s", C->o->exe, strerror(er));
        return open_error(er);
    }
    if (!C->exe_why) return PAG_OK; /* the executable is not mapped from offset 0 */
    char exe[256], given[256];
    snprintf(msg, msglen,
             "core file %s: --exe %s does not match the core (%s); the core's executable is %s",
             C->o->core, cli_path_text(C->o->exe, given, sizeof given), C->exe_why,
             cli_path_text(C->exe, exe, sizeof exe));
    return PAG_ERR_NOT_PYTHON;
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
    cli_modtab_init(&C->mods, open_mod, C);
    pag_err_t e = open_core_file(C, o->core, msg, msglen);
    if (e == PAG_OK) e = read_modules(C, o, msg, msglen);
    if (e != PAG_OK && C->cut) { /* the cut, not what it broke */
        snprintf(msg, msglen, "%s", C->cut_line);
        e = PAG_ERR_TRUNCATED;
    }
    if (e == PAG_OK) e = check_exe(C, msg, msglen);
    if (e == PAG_OK) e = check_cut(C, msg, msglen);
    if (e != PAG_OK) {
        core_close(C);
        return e;
    }
    /* an unknown executable is "" (not null), as the source object always said */
    const char *exe = o->exe ? o->exe : C->exe ? C->exe : "";
    C->src_exe = strdup(exe);
    t->src = (pag_source_t){PAG_SOURCE_CORE, C->pid, C->path ? C->path : o->core,
                            C->src_exe ? C->src_exe : exe};
    t->acc.read = core_read;
    t->acc.find = core_find;
    t->acc.module_of = core_module_of;
    C->native = cli_native_core(C->elf, o->exe, &C->mods);
    t->acc.native_frames = core_native_frames;
    t->ctx = C;
    t->release = core_release;
    t->problems = core_problems;
    t->incomplete = core_incomplete;
    t->close = core_close;
    return PAG_OK;
}
