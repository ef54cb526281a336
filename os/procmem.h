/* pag_procmem: reading the memory of another process on this machine.
 *
 * Why this exists: the CLI's live target and the lldb plugin's direct reads
 * both read a local process's memory from outside, read-only, in the shape
 * of pag_accessors_t's read and readv callbacks.  This is the one place that
 * does it (like pystack's process memory manager or libunwind's _UPT
 * accessors): process_vm_readv, many ranges per system call, and, where the
 * kernel refuses that syscall (EPERM: seccomp, a container; ENOSYS: an old
 * kernel), /proc/PID/mem with pread.  Linux only: elsewhere create() returns
 * NULL (errno ENOSYS) and the callbacks fail, so callers need no #ifdef.
 * Plain C, usable from C++.
 */
#ifndef PAG_PROCMEM_H
#define PAG_PROCMEM_H

#include <stddef.h>
#include <stdint.h>

#include "pag/target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most ranges one system call reads.  The core's prefetch (the largest
 * readv caller, common/src/cache.c) sends at most 256; a longer request is
 * split into calls of this many. */
#define PAG_PROCMEM_MAX_IOV 256

/* create() flags. */
enum {
    /* Never fall back to /proc/PID/mem: a refused process_vm_readv fails
     * the read (and sets refused), so the caller can read another way. */
    PAG_PROCMEM_NO_FALLBACK = 1u << 0,
};

typedef struct pag_procmem pag_procmem_t;

typedef struct pag_procmem_stats {
    unsigned long long calls; /* system calls made: process_vm_readv and pread */
    unsigned long long bytes; /* bytes delivered by the calls that read all they were asked */
    int refused;              /* process_vm_readv failed with EPERM, ENOSYS or ESRCH */
    int memfile;              /* reads go to /proc/PID/mem now (after EPERM/ENOSYS) */
} pag_procmem_stats_t;

/* A reader of process pid's memory; nothing is opened yet.  NULL when pid
 * is out of range (errno EINVAL), out of memory, or not on Linux (ENOSYS). */
pag_procmem_t *pag_procmem_create(long pid, unsigned flags);
void pag_procmem_destroy(pag_procmem_t *pm);

/* pag_accessors_t callbacks (ctx is the pag_procmem_t).  Read exactly len
 * bytes / every range, or return PAG_ERR_READ; then errno is the failing
 * system call's (unchanged when the kernel read only part of the bytes).
 * Without PAG_PROCMEM_NO_FALLBACK, process_vm_readv refused with EPERM or
 * ENOSYS switches this reader to /proc/PID/mem for good (ESRCH does not:
 * the process is gone). */
pag_err_t pag_procmem_read(void *pm, uint64_t addr, size_t len, void *dst);
pag_err_t pag_procmem_readv(void *pm, const pag_iov_t *iov, size_t n);

/* The counters and flags so far (all zero for NULL). */
const pag_procmem_stats_t *pag_procmem_stats(const pag_procmem_t *pm);

#ifdef __cplusplus
}
#endif
#endif
