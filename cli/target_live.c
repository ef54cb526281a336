/* The live target: a running process, read from outside.
 *
 * Modules come from /proc/PID/maps; their ELF files are opened through
 * /proc/PID/map_files or /proc/PID/root so that containers work, and a file
 * is trusted only when its device/inode match the maps line or its notes
 * (build-id) match the ones mapped in memory (the module table is shared
 * with the core target: modules.c).  Memory is read by the shared provider
 * (os/procmem.c): process_vm_readv, or /proc/PID/mem where that syscall is
 * refused.  To read a consistent picture every thread is stopped with
 * PTRACE_SEIZE + PTRACE_INTERRUPT for the read window only, and always
 * detached again; SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGPIPE and the stop signals
 * SIGTSTP/SIGTTIN/SIGTTOU are held back meanwhile so they cannot leave it
 * stopped: they act once it runs again (if we die anyway, the kernel
 * detaches and resumes every thread; SIGSTOP cannot be held back, and
 * stops the target until we are continued).
 *
 * Another tracer (gdb) makes PTRACE_SEIZE fail with EPERM; we then name the
 * tracer.  A zombie (exited, not reaped) and a kernel thread are named as
 * such before any ptrace, since ptrace refuses both with the same EPERM.
 * With --no-stop no ptrace is needed: process_vm_readv only needs ptrace
 * *access* (same user / CAP_SYS_PTRACE, Yama scope), not an attach, so it
 * still reads a process gdb holds (tests/cli/errors.py checks this).
 */
#include <dirent.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elf_lookup.h"
#include "modules.h"
#include "native.h"
#include "procmem.h"
#include "target.h"

typedef struct live_thread {
    pid_t tid;
    int stopped;
    int sig; /* a signal caught in signal-delivery-stop, re-sent on detach */
} live_thread_t;

typedef struct live {
    pid_t pid;
    pag_procmem_t *pm;
    cli_modtab_t mods;
    char exe[PATH_MAX]; /* /proc/PID/exe, for the source object */
    live_thread_t *thr;
    size_t nthr, capthr;
    int masked;
    sigset_t oldmask;
    cli_native_t *native; /* --native: the unwinder, built on first use */
} live_t;

/* ---- memory ---------------------------------------------------------- */

static pag_err_t live_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    return pag_procmem_read(((live_t *)ctx)->pm, addr, len, dst);
}

static pag_err_t live_readv(void *ctx, const pag_iov_t *iov, size_t n)
{
    return pag_procmem_readv(((live_t *)ctx)->pm, iov, n);
}

/* ---- modules --------------------------------------------------------- */

static pag_err_t explain_eperm(pid_t pid, char *msg, size_t msglen);

static pag_err_t read_maps(live_t *L, char *msg, size_t msglen)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/maps", (int)L->pid);
    FILE *f = fopen(p, "re");
    if (!f) {
        int e = errno;
        if (e == ENOENT) {
            snprintf(msg, msglen, "no such process %d", (int)L->pid);
            return PAG_ERR_NO_PROCESS;
        }
        if (e == EACCES || e == EPERM) {
            /* maps needs the same ptrace access check: say why it failed. */
            return explain_eperm(L->pid, msg, msglen);
        }
        snprintf(msg, msglen, "cannot read %s: %s", p, strerror(e));
        return PAG_ERR_READ;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        unsigned long long start, end, off, ino;
        unsigned maj, min;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min,
                   &ino, &pos) < 7 ||
            !pos)
            continue;
        char *path = line + pos;
        path[strcspn(path, "\n")] = 0;
        if (path[0] != '/' || ino == 0) continue;
        size_t pl = strlen(path);
        if (pl > 10 && strcmp(path + pl - 10, " (deleted)") == 0) path[pl -= 10] = 0;
        size_t mi = cli_modtab_intern(&L->mods, path, pl, maj, min, ino);
        if (mi == CLI_NONE || cli_modtab_add_map(&L->mods, mi, start, end, off) != 0) break;
    }
    free(line);
    fclose(f);
    return PAG_OK;
}

/* The file's PT_NOTE bytes (which hold its build-id) equal the ones mapped
 * in the target: the same build. */
static int notes_match(live_t *L, Elf *elf, uint64_t bias)
{
    const void *id;
    if (dwelf_elf_gnu_build_id(elf, &id) <= 0) return 0;
    size_t n, fsize;
    char *raw = elf_rawfile(elf, &fsize);
    if (!raw || elf_getphdrnum(elf, &n) != 0) return 0;
    int compared = 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE) continue;
        if (ph.p_filesz == 0 || ph.p_filesz > 65536 || ph.p_offset > fsize ||
            ph.p_filesz > fsize - ph.p_offset)
            return 0;
        char buf[65536];
        if (live_read(L, ph.p_vaddr + bias, ph.p_filesz, buf) != PAG_OK) return 0;
        if (memcmp(buf, raw + ph.p_offset, ph.p_filesz) != 0) return 0;
        compared = 1;
    }
    return compared;
}

/* cli_mod_open_fn: the file mapped as module m, through map_files, the
 * process's root or the path itself, if it is the one mapped. */
static void open_mod(void *owner, cli_mod_t *m, size_t mi)
{
    (void)mi;
    live_t *L = owner;
    char cand[3][PATH_MAX + 64];
    snprintf(cand[0], sizeof cand[0], "/proc/%d/map_files/%llx-%llx", (int)L->pid,
             (unsigned long long)m->base, (unsigned long long)m->base_end);
    snprintf(cand[1], sizeof cand[1], "/proc/%d/root%s", (int)L->pid, m->path);
    snprintf(cand[2], sizeof cand[2], "%s", m->path);
    int mismatch = 0;
    for (int c = 0; c < 3; c++) {
        /* O_NONBLOCK: a pipe at the path must not block (fstat refuses it) */
        int fd = open(cand[c], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) continue;
        struct stat st;
        Elf *elf = NULL;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            !(elf = elf_begin(fd, ELF_C_READ_MMAP, NULL)) || elf_kind(elf) != ELF_K_ELF) {
            cli_elf_drop(elf, fd);
            if (c == 0) continue;
            return; /* not an ELF file (locale archive, data mmap) */
        }
        uint64_t bias;
        if (cli_elf_bias(elf, m->base, &bias) != 0) {
            cli_elf_drop(elf, fd);
            continue;
        }
        int same =
            st.st_ino == m->ino && major(st.st_dev) == m->dmaj && minor(st.st_dev) == m->dmin;
        if (!same) same = notes_match(L, elf, bias);
        if (!same) {
            mismatch = 1;
            cli_elf_drop(elf, fd);
            continue;
        }
        m->fd = fd;
        m->elf = elf;
        m->bias = bias;
        return;
    }
    if (mismatch)
        cli_warn("ignoring %s: the file on disk is not the one mapped into process %d "
                 "(different inode and build-id)",
                 m->path, (int)L->pid);
}

static pag_err_t live_module_of(void *ctx, uint64_t addr, char *name, size_t len)
{
    return cli_modtab_module_of(&((live_t *)ctx)->mods, addr, name, len);
}

static pag_err_t live_native_frames(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max,
                                    size_t *n)
{
    return cli_native_frames(((live_t *)ctx)->native, tid, out, max, n);
}

static pag_err_t live_find(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                           uint64_t *addr, uint64_t *size)
{
    return cli_modtab_find(&((live_t *)ctx)->mods, kind, name, index, addr, size);
}

/* ---- stopping -------------------------------------------------------- */

static long status_field(pid_t pid, const char *key)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f) return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int have_cap_sys_ptrace(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    int r = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "CapEff:", 7) == 0) {
            unsigned long long caps = strtoull(line + 7, NULL, 16);
            r = (caps >> 19) & 1; /* CAP_SYS_PTRACE */
        }
    fclose(f);
    return r;
}

/* Before any ptrace: a zombie has nothing left to read and a kernel thread
 * has no user memory at all; both would otherwise be "ptrace refused".
 * (A zombie leader whose other threads still run is a live process.) */
static pag_err_t check_alive_user(pid_t pid, char *msg, size_t msglen)
{
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f) return PAG_OK; /* the usual checks will say why */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm
     * may hold anything, so the fields are counted from its last ')' */
    char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
    char state;
    long ppid;
    unsigned long flags;
    if (!lp || !rp || rp < lp ||
        sscanf(rp + 1, " %c %ld %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3)
        return PAG_OK;
    *rp = 0;
    if (flags & 0x00200000 /* PF_KTHREAD */) {
        snprintf(msg, msglen, "process %d (%s) is a kernel thread, not a CPython process", (int)pid,
                 lp + 1);
        return PAG_ERR_NOT_PYTHON;
    }
    if ((state == 'Z' || state == 'X') && status_field(pid, "Threads") <= 1) {
        snprintf(msg, msglen,
                 "process %d has exited (a zombie its parent, PID %ld, has not reaped yet): "
                 "there is nothing left to read",
                 (int)pid, ppid);
        return PAG_ERR_NO_PROCESS;
    }
    return PAG_OK;
}

/* ptrace said EPERM: find out why and name the least-privilege fix (or,
 * if it exited or is a kernel thread after all, say that). */
static pag_err_t explain_eperm(pid_t pid, char *msg, size_t msglen)
{
    pag_err_t e = check_alive_user(pid, msg, msglen);
    if (e != PAG_OK) return e;
    cli_eperm_facts_t f = {.pid = (long)pid, .tracer = status_field(pid, "TracerPid")};
    char comm[64] = "?", *yama = NULL, buf[32];
    if (f.tracer > 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%ld/comm", f.tracer);
        FILE *fc = fopen(p, "re");
        if (fc) {
            if (fgets(comm, sizeof comm, fc)) comm[strcspn(comm, "\n")] = 0;
            fclose(fc);
        }
    }
    f.tracer_comm = comm;
    f.cap = have_cap_sys_ptrace();
    f.uid = status_field(pid, "Uid");
    f.euid = (long)geteuid();
    /* absent without Yama: the facts say NULL, the message is the generic one */
    FILE *fy = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    if (fy) {
        size_t n = fread(buf, 1, sizeof buf - 1, fy);
        buf[n] = 0;
        yama = buf;
        fclose(fy);
    }
    f.yama_scope = yama;
    return cli_eperm_message(&f, msg, msglen);
}

static int have_tid(live_t *L, pid_t tid)
{
    for (size_t i = 0; i < L->nthr; i++)
        if (L->thr[i].tid == tid) return 1;
    return 0;
}

static void live_release(void *ctx);

static pag_err_t live_stop(live_t *L, char *msg, size_t msglen)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGPIPE);
    /* Ctrl-Z, and a background job's terminal I/O (a warning on stderr):
     * a stop of ours would keep the target stopped as long */
    sigaddset(&set, SIGTSTP);
    sigaddset(&set, SIGTTIN);
    sigaddset(&set, SIGTTOU);
    sigprocmask(SIG_BLOCK, &set, &L->oldmask);
    L->masked = 1;
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/task", (int)L->pid);
    /* Threads may start while we attach: rescan until nothing is new. */
    for (int round = 0; round < 8; round++) {
        DIR *d = opendir(p);
        if (!d) {
            snprintf(msg, msglen, "no such process %d", (int)L->pid);
            live_release(L);
            return PAG_ERR_NO_PROCESS;
        }
        int fresh = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            pid_t tid = (pid_t)atoi(de->d_name);
            if (tid <= 0 || have_tid(L, tid)) continue;
            if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
                int e = errno;
                if (e == ESRCH) continue; /* the thread just exited */
                closedir(d);
                pag_err_t why = PAG_ERR_READ;
                if (e == EPERM)
                    why = explain_eperm(L->pid, msg, msglen);
                else
                    snprintf(msg, msglen, "cannot attach to thread %d of process %d: %s", (int)tid,
                             (int)L->pid, strerror(e));
                live_release(L);
                return why;
            }
            if (L->nthr == L->capthr) {
                size_t nc = L->capthr ? L->capthr * 2 : 16;
                live_thread_t *nt = realloc(L->thr, nc * sizeof *nt);
                if (!nt) {
                    ptrace(PTRACE_DETACH, tid, 0, 0);
                    closedir(d);
                    live_release(L);
                    snprintf(msg, msglen, "out of memory");
                    return PAG_ERR_NOMEM;
                }
                L->thr = nt;
                L->capthr = nc;
            }
            L->thr[L->nthr++] = (live_thread_t){tid, 0, 0};
            ptrace(PTRACE_INTERRUPT, tid, 0, 0);
            fresh++;
        }
        closedir(d);
        if (!fresh) break;
    }
    /* Wait, bounded, for every thread to report its stop.  A thread that
     * does not stop in time (uninterruptible sleep) is read anyway. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < L->nthr; i++) {
            live_thread_t *t = &L->thr[i];
            if (t->stopped) continue;
            int st;
            pid_t r = waitpid(t->tid, &st, WNOHANG | __WALL);
            if (r == t->tid && WIFSTOPPED(st)) {
                t->stopped = 1;
                if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) t->sig = WSTOPSIG(st);
            } else if (r == t->tid || (r < 0 && errno == ECHILD)) {
                t->stopped = -1; /* exited */
            } else {
                pending++;
            }
        }
        if (!pending) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > 2000) break;
        /* a stop normally lands within microseconds: poll finely */
        struct timespec ms = {0, 50000};
        nanosleep(&ms, NULL);
    }
    return PAG_OK;
}

/* Detach every thread and let held-back signals through.  Safe to call
 * twice.  (If we die instead, the kernel detaches and resumes them.) */
static void live_release(void *ctx)
{
    live_t *L = ctx;
    for (size_t i = 0; i < L->nthr; i++) {
        live_thread_t *t = &L->thr[i];
        if (t->stopped < 0) continue;
        for (int tries = 0; tries < 200; tries++) {
            if (ptrace(PTRACE_DETACH, t->tid, 0, (void *)(intptr_t)t->sig) == 0 || errno != ESRCH)
                break;
            /* ESRCH: not in a ptrace-stop yet (or gone); wait for it briefly. */
            int st;
            pid_t r = waitpid(t->tid, &st, WNOHANG | __WALL);
            if ((r == t->tid && !WIFSTOPPED(st)) || (r < 0 && errno == ECHILD)) break;
            if (r == 0) {
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        }
    }
    L->nthr = 0;
    if (L->masked) {
        L->masked = 0;
        sigprocmask(SIG_SETMASK, &L->oldmask, NULL);
    }
}

static void live_close(void *ctx)
{
    live_t *L = ctx;
    live_release(L);
    cli_native_free(L->native);
    cli_modtab_free(&L->mods);
    free(L->thr);
    pag_procmem_destroy(L->pm);
    free(L);
}

pag_err_t cli_live_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen)
{
    memset(t, 0, sizeof *t);
    if (o->pid <= 0 || o->pid > INT_MAX) {
        snprintf(msg, msglen, "no such process %ld", o->pid);
        return PAG_ERR_NO_PROCESS;
    }
    pid_t pid = (pid_t)o->pid;
    char p[64];
    snprintf(p, sizeof p, "/proc/%d", (int)pid);
    struct stat st;
    if ((kill(pid, 0) != 0 && errno == ESRCH) || stat(p, &st) != 0) {
        snprintf(msg, msglen, "no such process %d", (int)pid);
        return PAG_ERR_NO_PROCESS;
    }
    pag_err_t e = check_alive_user(pid, msg, msglen);
    if (e != PAG_OK) return e;
    live_t *L = calloc(1, sizeof *L);
    if (L) L->pm = pag_procmem_create(pid, 0);
    if (!L || !L->pm) {
        free(L);
        snprintf(msg, msglen, "out of memory");
        return PAG_ERR_NOMEM;
    }
    L->pid = pid;
    cli_modtab_init(&L->mods, open_mod, L);
    elf_version(EV_CURRENT);
    e = read_maps(L, msg, msglen);
    if (e == PAG_OK && !o->no_stop) e = live_stop(L, msg, msglen);
    if (e == PAG_OK) {
        /* Probe once so that a refused read is reported as such, not as
         * "not a Python process". */
        for (size_t i = 0; i < L->mods.nmods; i++) {
            if (!L->mods.mods[i].have_base) continue;
            char b[16];
            if (live_read(L, L->mods.mods[i].base, sizeof b, b) != PAG_OK &&
                (errno == EPERM || errno == EACCES)) {
                e = explain_eperm(pid, msg, msglen);
            }
            break;
        }
    }
    if (e != PAG_OK) {
        live_close(L);
        return e;
    }
    snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(p, L->exe, sizeof L->exe - 1);
    L->exe[n > 0 ? n : 0] = 0;
    /* an unreadable link is "" (not null), as the source object always said */
    t->src = (pag_source_t){PAG_SOURCE_LIVE, pid, NULL, L->exe};
    t->acc.read = live_read;
    t->acc.readv = live_readv;
    t->acc.find = live_find;
    t->acc.module_of = live_module_of;
    if (!o->no_stop) { /* the unwinder reads registers of stopped threads */
        L->native = cli_native_live(pid);
        t->acc.native_frames = live_native_frames;
    }
    t->ctx = L;
    t->release = live_release;
    t->close = live_close;
    return PAG_OK;
}
