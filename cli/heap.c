/* The CLI's heap, tuned for one big snapshot.
 *
 * A snapshot and its rendering are thousands of small allocations made once
 * and freed at exit; on a 10,000-task target faulting in their pages 4 KiB
 * at a time is a tenth of the whole run.  So (glibc, this process only --
 * the debugger frontends leave their host's allocator alone): grow the heap
 * in large steps, ask for huge pages on it, and keep freed memory instead of
 * handing it back and faulting it in again. */
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "target.h"

void cli_tune_heap(void)
{
#if defined(__GLIBC__)
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    char *start = sbrk(0);
    char *first = malloc(1);
    char *end = sbrk(0);
    uintptr_t huge = (uintptr_t)2 << 20;
    char *a = (char *)(((uintptr_t)first + huge - 1) & ~(huge - 1));
    /* only when the allocation came from the brk heap (not, say, ASan's) */
    if (first && start != (char *)-1 && end != (char *)-1 && first >= start && a < end)
        madvise(a, (size_t)(end - a), MADV_HUGEPAGE);
    free(first);
#endif
}
