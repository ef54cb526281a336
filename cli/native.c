/* The CLI's native unwinder (issue 14, --native): one thread's real call
 * stack as pag_native_frame_t records, from elfutils' libdwfl.
 *
 * Why elfutils: the CLI already links it for cores, and libdwfl unwinds
 * both a ptrace-stopped process (dwfl_linux_proc_attach) and a core
 * (dwfl_core_file_attach) with CFI from .eh_frame and .debug_frame, finds
 * separate debug files by build-id the standard way and leaves debuginfod
 * off unless the user set DEBUGINFOD_URLS (dwfl_standard_find_debuginfo).
 *
 * Why the core target hands us its module table: a core (the kernel's or
 * gcore's) leaves out read-only file pages, so .eh_frame is not in it; the
 * unwinder must read each module's file from disk, found the way the core
 * target already finds and checks them (--exe, --sysroot,
 * --lib-search-path, the build-id in the core).  libdwfl's find_elf hook
 * has no argument of its own, so the table reaches it through each
 * module's userdata slot, set once the modules are reported: no global
 * state.
 *
 * What each record says, and why: a symbol names a frame only when the
 * lookup address lies inside [start, start + size) of that symbol (libdwfl
 * may hand back a sizeless or preceding symbol; a stripped static function
 * must print as module+0xoff, never as its exported neighbour).  Caller
 * frames are looked up at pc - 1, so that a call ending a function is not
 * named after the next one.  module_base is the module's load bias, so that
 * pc - module_base is the ELF address in the file, as gdb and lldb give it.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native.h"

/* The DWARF number of the stack pointer.  A record's sp is the frame's own
 * stack pointer (what target.h asks for): for a
 * caller frame the value the unwinder restored (the CFA of the frame it
 * called), for the innermost the thread's register.  It grows strictly
 * outward along a sane stack, which is what the core checks. */
#if defined(__x86_64__)
#define NATIVE_SP_REG 7
#elif defined(__aarch64__)
#define NATIVE_SP_REG 31
#endif

/* The most threads a target may list for the NOT_FOUND check. */
#define NATIVE_MAX_THREADS 65536

struct cli_native {
    long pid;           /* live: the process; 0 for a core */
    Elf *core;          /* core: the core's Elf (not ours) */
    const char *exe;    /* core: --exe, or NULL */
    cli_modtab_t *mods; /* core: the target's module table (not ours) */
    Dwfl *dwfl;         /* built on the first call */
    int tried;          /* the Dwfl was built, or failed to be */
    pid_t *tids;        /* the threads libdwfl sees */
    size_t ntids;
    /* names without their symbol version ("clock_nanosleep@GLIBC_2.2.5" in
     * a debug file's .symtab), one slot per record of the current call */
    char unversioned[PAG_MAX_NATIVE_FRAMES][128];
};

cli_native_t *cli_native_live(long pid)
{
    cli_native_t *N = calloc(1, sizeof *N);
    if (N) N->pid = pid;
    return N;
}

cli_native_t *cli_native_core(Elf *core, const char *exe, cli_modtab_t *mods)
{
    cli_native_t *N = calloc(1, sizeof *N);
    if (N) N->core = core, N->exe = exe, N->mods = mods;
    return N;
}

void cli_native_free(cli_native_t *N)
{
    if (!N) return;
    if (N->dwfl) dwfl_end(N->dwfl);
    free(N->tids);
    free(N);
}

/* ---- finding a core's module files ----------------------------------- */

/* libdwfl's find_elf for a core: the module's file as the core target
 * found and checked it, on a descriptor of its own (libdwfl closes it and
 * ends the Elf).  libdwfl checks the build-id again against the core. */
static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
    (void)mod, (void)modname;
    cli_native_t *N = *userdata;
    *elfp = NULL;
    if (!N || !N->mods) return -1;
    size_t mi = cli_modtab_mod_at(N->mods, base);
    if (mi == CLI_NONE || !cli_modtab_elf(N->mods, mi)) return -1;
    cli_mod_t *m = &N->mods->mods[mi];
    if (!m->have_base || m->base != base || m->fd < 0) return -1;
    int fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return -1;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) {
        close(fd);
        return -1;
    }
    /* the file's real name (it may lie under --sysroot), for the module's
     * path and the debuglink search beside it */
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t l = readlink(link, path, sizeof path - 1);
    path[l > 0 ? l : 0] = 0;
    *file_name = strdup(l > 0 ? path : m->path);
    *elfp = elf;
    return fd;
}

static int set_owner(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                     void *arg)
{
    (void)mod, (void)name, (void)start;
    *userdata = arg;
    return DWARF_CB_OK;
}

/* Separate debug files the standard way, but without loading the
 * debuginfod client when the user has not set it up: elfutils 0.188
 * dlopens libdebuginfod (libcurl, gnutls, krb5: some thirty libraries,
 * 50-100 ms, the larger part of a first --native walk) for every module
 * whose debug file is not found locally, only to learn that no server is
 * configured.  So: the build-id search in the debug directories first;
 * the whole standard search (by path, then debuginfod) when DEBUGINFOD_URLS
 * names a server, or when the module has no build-id (then the standard
 * search never asks debuginfod).  Left out without a server: a debug file
 * found only by its path for a module that has a build-id. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                          debuglink_crc, debuginfo_file_name);
    if (fd >= 0) return fd;
    const char *urls = getenv("DEBUGINFOD_URLS");
    const unsigned char *bits;
    GElf_Addr vaddr;
    if ((urls && *urls) || dwfl_module_build_id(mod, &bits, &vaddr) <= 0)
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                            debuglink_crc, debuginfo_file_name);
    return -1;
}

static const Dwfl_Callbacks live_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = find_debuginfo,
};

static const Dwfl_Callbacks core_callbacks = {
    .find_elf = core_find_elf,
    .find_debuginfo = find_debuginfo,
};

/* ---- building the Dwfl ----------------------------------------------- */

static int note_thread(Dwfl_Thread *th, void *arg)
{
    cli_native_t *N = arg;
    if (N->ntids == NATIVE_MAX_THREADS) return DWARF_CB_ABORT;
    if ((N->ntids & (N->ntids - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = N->ntids ? N->ntids * 2 : 1;
        pid_t *t = realloc(N->tids, cap * sizeof *t);
        if (!t) return DWARF_CB_ABORT;
        N->tids = t;
    }
    N->tids[N->ntids++] = dwfl_thread_tid(th);
    return DWARF_CB_OK;
}

/* Report the modules and attach the thread states; 0 or -1. */
static int build(cli_native_t *N)
{
    N->dwfl = dwfl_begin(N->pid ? &live_callbacks : &core_callbacks);
    if (!N->dwfl) return -1;
    dwfl_report_begin(N->dwfl);
    int r = N->pid ? dwfl_linux_proc_report(N->dwfl, (pid_t)N->pid)
                   : (dwfl_core_file_report(N->dwfl, N->core, N->exe) < 0 ? -1 : 0);
    if (dwfl_report_end(N->dwfl, NULL, NULL) != 0 || r != 0) return -1;
    if (!N->pid) dwfl_getmodules(N->dwfl, set_owner, N, 0);
    /* live: the CLI holds every thread ptrace-stopped (target_live.c) */
    r = N->pid ? dwfl_linux_proc_attach(N->dwfl, (pid_t)N->pid, true)
               : (dwfl_core_file_attach(N->dwfl, N->core) < 0 ? -1 : 0);
    if (r != 0) return -1;
    dwfl_getthreads(N->dwfl, note_thread, N);
    return 0;
}

/* ---- one frame ------------------------------------------------------- */

/* The module whose address range holds addr.  dwfl_addrmodule alone also
 * answers for an address past the highest module (a stack address that a
 * frame-pointer guess took for a pc came out as ld.so). */
static Dwfl_Module *module_at(Dwfl *dwfl, Dwarf_Addr addr)
{
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
    Dwarf_Addr start = 0, end = 0;
    if (!mod || !dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL)) return NULL;
    return addr >= start && addr < end ? mod : NULL;
}

/* Fill fr for pc: module, bias, symbol (only one that covers the lookup
 * address), file:line.  The strings belong to the Dwfl. */
/* The symbol's name as gdb and lldb print it: without "@VERSION" (a
 * debug file's .symtab keeps the versioned aliases); slot holds a copy
 * when one is cut off. */
static const char *unversioned(const char *name, char *slot, size_t len)
{
    const char *at = strchr(name, '@');
    if (!at || at == name) return name;
    snprintf(slot, len, "%.*s", (int)(at - name), name);
    return slot;
}

static void describe(Dwfl *dwfl, Dwarf_Addr pc, int activation, pag_native_frame_t *fr, char *slot,
                     size_t slotlen)
{
    memset(fr, 0, sizeof *fr);
    fr->pc = pc;
    Dwarf_Addr look = activation || pc == 0 ? pc : pc - 1;
    Dwfl_Module *mod = module_at(dwfl, look);
    if (!mod) return;
    Dwarf_Addr start = 0, bias = 0;
    const char *mainfile = NULL;
    /* getelf first: it finds the file, which names the module */
    Elf *elf = dwfl_module_getelf(mod, &bias);
    const char *name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, &mainfile, NULL);
    fr->module = mainfile ? mainfile : name;
    /* no file for it: a shared object's first PT_LOAD is at vaddr 0 */
    fr->module_base = elf ? bias : start;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *s = dwfl_module_addrinfo(mod, look, &off, &sym, NULL, NULL, NULL);
    if (s && *s && sym.st_size > 0 && off < sym.st_size) {
        fr->function = unversioned(s, slot, slotlen);
        fr->sym_offset = pc - (look - off);
    }
    Dwfl_Line *ln = dwfl_module_getsrc(mod, look);
    int line = 0;
    const char *file = ln ? dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL) : NULL;
    if (file && line > 0) fr->file = file, fr->line = line;
}

/* ---- the walk -------------------------------------------------------- */

typedef struct walk {
    cli_native_t *N;
    pag_native_frame_t *out;
    size_t max, n;
    int full;             /* max records and the unwinder had more */
    int stuck;            /* a frame repeated its caller's pc and stack pointer */
    Dwarf_Addr last_look; /* the last frame's lookup address */
} walk_t;

static int on_frame(Dwfl_Frame *f, void *arg)
{
    walk_t *w = arg;
    if (w->n == w->max) {
        w->full = 1;
        return DWARF_CB_ABORT;
    }
    Dwarf_Addr pc;
    bool activation = false;
    if (!dwfl_frame_pc(f, &pc, &activation)) return DWARF_CB_ABORT;
    Dwarf_Word sp = 0;
#ifdef NATIVE_SP_REG
    if (dwfl_frame_reg(f, NATIVE_SP_REG, &sp) != 0) sp = 0;
#endif
    /* a walk that does not move (a corrupt stack loops on itself) is over */
    if (w->n && pc == w->out[w->n - 1].pc && sp == w->out[w->n - 1].sp) {
        w->stuck = 1;
        return DWARF_CB_ABORT;
    }
    describe(w->N->dwfl, pc, activation, &w->out[w->n], w->N->unversioned[w->n],
             sizeof w->N->unversioned[w->n]);
    w->last_look = activation || pc == 0 ? pc : pc - 1;
    w->out[w->n++].sp = sp;
    return DWARF_CB_OK;
}

/* Does the CFI at look say that the return address is undefined: a
 * thread's real start (_start, clone3 mark it so)?  libdwfl also ends a
 * walk when it reads a return address of 0, which is what a zeroed or cut
 * stack gives, and that is no start. */
static int cfi_says_outermost(Dwfl *dwfl, Dwarf_Addr look)
{
    Dwfl_Module *mod = module_at(dwfl, look);
    if (!mod) return 0;
    for (int k = 0; k < 2; k++) {
        Dwarf_Addr bias;
        Dwarf_CFI *cfi = k ? dwfl_module_dwarf_cfi(mod, &bias) : dwfl_module_eh_cfi(mod, &bias);
        Dwarf_Frame *fr;
        if (!cfi || dwarf_cfi_addrframe(cfi, look - bias, &fr) != 0) continue;
        int ra = dwarf_frame_info(fr, NULL, NULL, NULL);
        Dwarf_Op mem[3], *ops;
        size_t nops;
        int undefined = ra >= 0 && dwarf_frame_register(fr, ra, mem, &ops, &nops) == 0 &&
                        nops == 0 && ops == mem;
        free(fr);
        if (undefined) return 1;
    }
    return 0;
}

static int known_thread(const cli_native_t *N, uint64_t tid)
{
    for (size_t i = 0; i < N->ntids; i++)
        if ((uint64_t)N->tids[i] == tid) return 1;
    return 0;
}

pag_err_t cli_native_frames(cli_native_t *N, uint64_t tid, pag_native_frame_t *out, size_t max,
                            size_t *n)
{
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!N) return PAG_ERR_TRUNCATED;
    if (!N->tried) {
        N->tried = 1;
        if (build(N) != 0 && N->dwfl) {
            dwfl_end(N->dwfl);
            N->dwfl = NULL;
        }
    }
    if (!N->dwfl) return PAG_ERR_TRUNCATED;
    if (!known_thread(N, tid)) return PAG_ERR_NOT_FOUND;
    if (max > PAG_MAX_NATIVE_FRAMES) max = PAG_MAX_NATIVE_FRAMES;
    walk_t w = {N, out, max, 0, 0, 0, 0};
    int r = max ? dwfl_getthread_frames(N->dwfl, (pid_t)tid, on_frame, &w) : 0;
    *n = w.n;
    if (r < 0 && !w.n && N->pid) {
        /* The thread's registers could not be read (it is not in a
         * ptrace-stop).  elfutils 0.188 then leaves the process marked as
         * attached to it, and the next walk of any thread would abort on
         * an assertion (linux-pid-attach.c): build the Dwfl afresh. */
        dwfl_end(N->dwfl);
        N->dwfl = NULL;
        N->tried = 0;
        N->ntids = 0;
    }
    if (w.full || (r == 0 && w.n && cfi_says_outermost(N->dwfl, w.last_look))) return PAG_OK;
    return PAG_ERR_TRUNCATED;
}
