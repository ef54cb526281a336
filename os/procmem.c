/* pag_procmem: the one reader of a local process's memory (see procmem.h).
 *
 * It exists so that the CLI's live target and the lldb plugin share one
 * implementation of process_vm_readv with the /proc/PID/mem fallback: which
 * errors fall back, how ranges are batched and what is counted are decided
 * here once.
 */
#include "procmem.h"

#include <errno.h>
#include <stdlib.h>

static const pag_procmem_stats_t no_stats; /* what a NULL reader reports */

#ifdef __linux__
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct pag_procmem {
    pid_t pid;
    unsigned flags;
    int memfd;   /* /proc/PID/mem, opened on first use; -1 before */
    int use_mem; /* process_vm_readv was refused: read the mem file */
    pag_procmem_stats_t st;
};

pag_procmem_t *pag_procmem_create(long pid, unsigned flags)
{
    if (pid <= 0 || pid > INT_MAX) {
        errno = EINVAL;
        return NULL;
    }
    pag_procmem_t *pm = calloc(1, sizeof *pm);
    if (!pm) return NULL;
    pm->pid = (pid_t)pid;
    pm->flags = flags;
    pm->memfd = -1;
    return pm;
}

void pag_procmem_destroy(pag_procmem_t *pm)
{
    if (!pm) return;
    if (pm->memfd >= 0) close(pm->memfd);
    free(pm);
}

static pag_err_t mem_pread(pag_procmem_t *pm, uint64_t addr, size_t len, void *dst)
{
    if (pm->memfd < 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/mem", (int)pm->pid);
        pm->memfd = open(p, O_RDONLY | O_CLOEXEC);
        if (pm->memfd < 0) return PAG_ERR_READ;
    }
    size_t done = 0;
    while (done < len) {
        pm->st.calls++;
        ssize_t n = pread(pm->memfd, (char *)dst + done, len - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return PAG_ERR_READ;
        done += (size_t)n;
    }
    pm->st.bytes += len;
    return PAG_OK;
}

/* One process_vm_readv of k <= PAG_PROCMEM_MAX_IOV ranges: 1 if all came,
 * 0 if not, -1 if refused and this reader now uses the mem file. */
static int vm_readv(pag_procmem_t *pm, const pag_iov_t *iov, size_t k)
{
    struct iovec l[PAG_PROCMEM_MAX_IOV], r[PAG_PROCMEM_MAX_IOV];
    size_t total = 0;
    for (size_t j = 0; j < k; j++) {
        l[j].iov_base = iov[j].dst;
        l[j].iov_len = iov[j].len;
        r[j].iov_base = (void *)(uintptr_t)iov[j].addr;
        r[j].iov_len = iov[j].len;
        total += iov[j].len;
    }
    pm->st.calls++;
    ssize_t got = process_vm_readv(pm->pid, l, (unsigned long)k, r, (unsigned long)k, 0);
    if (got == (ssize_t)total) {
        pm->st.bytes += total;
        return 1;
    }
    if (got >= 0) return 0;
    int e = errno;
    if (e == EPERM || e == ENOSYS || e == ESRCH) pm->st.refused = 1;
    if ((e == EPERM || e == ENOSYS) && !(pm->flags & PAG_PROCMEM_NO_FALLBACK)) {
        pm->use_mem = pm->st.memfile = 1; /* seccomp, old kernel: the mem file may still work */
        return -1;
    }
    return 0;
}

pag_err_t pag_procmem_readv(void *ctx, const pag_iov_t *iov, size_t n)
{
    pag_procmem_t *pm = ctx;
    if (!pm) return PAG_ERR_READ;
    size_t i = 0;
    while (i < n) {
        if (pm->use_mem) {
            for (; i < n; i++)
                if (mem_pread(pm, iov[i].addr, iov[i].len, iov[i].dst) != PAG_OK)
                    return PAG_ERR_READ;
            return PAG_OK;
        }
        size_t k = n - i < PAG_PROCMEM_MAX_IOV ? n - i : PAG_PROCMEM_MAX_IOV;
        int r = vm_readv(pm, iov + i, k);
        if (r == 0) return PAG_ERR_READ;
        if (r > 0) i += k; /* r < 0: the same ranges again, from the mem file */
    }
    return PAG_OK;
}

pag_err_t pag_procmem_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    if (len == 0) return ctx ? PAG_OK : PAG_ERR_READ;
    pag_iov_t one = {addr, len, dst};
    return pag_procmem_readv(ctx, &one, 1);
}

const pag_procmem_stats_t *pag_procmem_stats(const pag_procmem_t *pm)
{
    return pm ? &pm->st : &no_stats;
}

#else /* not Linux: no way to read another process here */

pag_procmem_t *pag_procmem_create(long pid, unsigned flags)
{
    (void)pid, (void)flags;
    errno = ENOSYS;
    return NULL;
}

void pag_procmem_destroy(pag_procmem_t *pm)
{
    (void)pm;
}

pag_err_t pag_procmem_readv(void *ctx, const pag_iov_t *iov, size_t n)
{
    (void)ctx, (void)iov, (void)n;
    return PAG_ERR_READ;
}

pag_err_t pag_procmem_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    (void)ctx, (void)addr, (void)len, (void)dst;
    return PAG_ERR_READ;
}

const pag_procmem_stats_t *pag_procmem_stats(const pag_procmem_t *pm)
{
    (void)pm;
    return &no_stats;
}

#endif
