/* The process-memory provider (os/procmem.c) on its own, against a child
 * process whose memory we know: single and vectored reads, batching at
 * PAG_PROCMEM_MAX_IOV, unreadable addresses, a process that is gone (ESRCH:
 * refused, no fallback), and process_vm_readv refused with EPERM (by a
 * seccomp filter on ourselves, last): /proc/PID/mem takes over unless
 * PAG_PROCMEM_NO_FALLBACK, which fails the read and says "refused".
 * Exit 0 when every check passes, 77 off Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmem.h"

#ifdef __linux__
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int failures;

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (cond)                                                                                  \
            printf("ok: %s\n", what);                                                              \
        else {                                                                                     \
            printf("FAIL: %s (line %d)\n", what, __LINE__);                                        \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

enum { NRANGES = 600 }; /* more than PAG_PROCMEM_MAX_IOV: three system calls */
static unsigned char image[NRANGES * 8];

/* A child that keeps `image` (same address as ours) until killed. */
static pid_t child(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Read all of image as NRANGES ranges, in reverse order; 1 if it came right. */
static int read_all(pag_procmem_t *pm)
{
    static unsigned char got[NRANGES * 8];
    pag_iov_t iov[NRANGES];
    memset(got, 0, sizeof got);
    for (size_t i = 0; i < NRANGES; i++) {
        size_t k = NRANGES - 1 - i;
        iov[i] = (pag_iov_t){(uint64_t)(uintptr_t)(image + 8 * k), 8, got + 8 * k};
    }
    return pag_procmem_readv(pm, iov, NRANGES) == PAG_OK && memcmp(got, image, sizeof got) == 0;
}

static void plain_reads(pid_t pid)
{
    pag_procmem_t *pm = pag_procmem_create(pid, 0);
    CHECK(pm != NULL, "create");
    const pag_procmem_stats_t *st = pag_procmem_stats(pm);
    unsigned char b[64];
    CHECK(pag_procmem_read(pm, (uintptr_t)image, sizeof b, b) == PAG_OK &&
              memcmp(b, image, sizeof b) == 0,
          "read: the child's bytes");
    CHECK(st->calls == 1 && st->bytes == sizeof b && !st->refused && !st->memfile,
          "read: one call, its bytes counted");
    CHECK(pag_procmem_read(pm, (uintptr_t)image, 0, b) == PAG_OK && st->calls == 1,
          "read of 0 bytes: no system call");
    CHECK(read_all(pm), "readv of 600 ranges: every byte");
    CHECK(st->calls == 4 && st->bytes == sizeof b + sizeof image,
          "readv of 600 ranges: batches of PAG_PROCMEM_MAX_IOV (3 calls)");
    CHECK(pag_procmem_read(pm, 16, 8, b) == PAG_ERR_READ && !st->refused && !st->memfile,
          "unmapped address: a read error, not a refusal");
    pag_procmem_destroy(pm);
}

/* A fresh reader of pid with these flags: its first read fails with errno
 * want, counts as refused, and does not turn to /proc/PID/mem. */
static void expect_refused(pid_t pid, unsigned flags, int want, const char *what)
{
    pag_procmem_t *pm = pag_procmem_create(pid, flags);
    unsigned char b[8];
    errno = 0;
    int failed = pag_procmem_read(pm, (uintptr_t)image, sizeof b, b) == PAG_ERR_READ;
    int e = errno;
    const pag_procmem_stats_t *st = pag_procmem_stats(pm);
    CHECK(failed && e == want && st->refused && !st->memfile, what);
    pag_procmem_destroy(pm);
}

static void gone(void)
{
    pid_t pid = child();
    reap(pid);
    expect_refused(pid, 0, ESRCH,
                   "process gone: read error, errno ESRCH, refused, no /proc/PID/mem");
}

/* From here on process_vm_readv fails with EPERM in this process. */
static int refuse_vm_readv(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

static void refused(pid_t pid)
{
    if (!refuse_vm_readv()) {
        printf("note: no seccomp here (%s): the EPERM fallback is not tested\n", strerror(errno));
        return;
    }
    expect_refused(pid, PAG_PROCMEM_NO_FALLBACK, EPERM,
                   "NO_FALLBACK, EPERM: read error, errno EPERM, refused, no /proc/PID/mem");
    unsigned char b[64];
    pag_procmem_t *pm = pag_procmem_create(pid, 0);
    const pag_procmem_stats_t *st = pag_procmem_stats(pm);
    CHECK(pag_procmem_read(pm, (uintptr_t)image, sizeof b, b) == PAG_OK &&
              memcmp(b, image, sizeof b) == 0,
          "EPERM: read through /proc/PID/mem");
    CHECK(st->refused && st->memfile, "EPERM: refused, memfile on");
    CHECK(read_all(pm), "EPERM: readv of 600 ranges through /proc/PID/mem");
    CHECK(pag_procmem_read(pm, 16, 8, b) == PAG_ERR_READ, "EPERM: unmapped address fails");
    pag_procmem_destroy(pm);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof image; i++)
        image[i] = (unsigned char)(i * 7 + 3);
    errno = 0;
    CHECK(pag_procmem_create(0, 0) == NULL && errno == EINVAL, "pid 0: NULL, EINVAL");
    CHECK(pag_procmem_create(1L << 40, 0) == NULL, "pid out of range: NULL");
    unsigned char b[8];
    CHECK(pag_procmem_read(NULL, 0, sizeof b, b) == PAG_ERR_READ &&
              pag_procmem_stats(NULL)->calls == 0,
          "NULL reader: reads fail, counters zero");
    pid_t pid = child();
    plain_reads(pid);
    gone();
    refused(pid);
    reap(pid);
    printf("procmem: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}

#else

int main(void)
{
    printf("SKIP: pag_procmem reads processes on Linux only\n");
    return 77;
}

#endif
