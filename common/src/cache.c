/* A small direct-mapped page cache in front of the read callback.
 *
 * Debugger read callbacks are expensive per call (gdb's Python read_memory
 * especially), while the objects we decode are small and clustered on the
 * heap.  Fetching whole blocks turns thousands of field reads into a few
 * hundred callback calls.  A block that cannot be read whole (the edge of a
 * mapping) is not cached; the request then goes straight through. */
#include <stdlib.h>

#include "internal.h"

int pag__cache_init(pag_cache_t *c, const pag_accessors_t *acc, void *ctx)
{
    memset(c, 0, sizeof *c);
    c->acc_copy = *acc;
    c->acc = &c->acc_copy;
    c->ctx = ctx;
    c->tags = calloc(PAG_CACHE_SLOTS, sizeof *c->tags);
    /* 2 MiB-aligned and huge-page backed: faulting in an 8 MiB cache 4 KiB
     * at a time costs more than a small target's whole walk (VMs especially) */
    void *d = NULL;
    if (posix_memalign(&d, (size_t)2 << 20, (size_t)PAG_CACHE_SLOTS * PAG_PAGE_SIZE) == 0) {
        c->data = d;
        pag__hint_huge(d, (size_t)PAG_CACHE_SLOTS * PAG_PAGE_SIZE);
    }
    if (!c->tags || !c->data) {
        pag__cache_fini(c);
        return -1;
    }
    return 0;
}

void pag__cache_fini(pag_cache_t *c)
{
    free(c->tags);
    free(c->data);
    free(c->mark);
    c->tags = NULL;
    c->data = NULL;
    c->mark = NULL;
}

void pag__cache_clear(pag_cache_t *c)
{
    if (c->tags) memset(c->tags, 0, PAG_CACHE_SLOTS * sizeof *c->tags);
}

pag_err_t pag__read_direct(pag_cache_t *c, uint64_t addr, size_t len, void *dst)
{
    if (len == 0) return PAG_OK;
    if (addr == 0 || addr + len < addr) return PAG_ERR_READ;
    c->stats.read_calls++;
    pag_err_t e = c->acc->read(c->ctx, addr, len, dst);
    if (e == PAG_OK) c->stats.bytes_read += len;
    return e == PAG_OK ? PAG_OK : (e == PAG_ERR_NOMEM ? e : PAG_ERR_READ);
}

static const uint8_t *page_get(pag_cache_t *c, uint64_t pageno)
{
    size_t slot = (size_t)((pageno ^ (pageno >> 10)) % PAG_CACHE_SLOTS);
    uint8_t *data = c->data + slot * PAG_PAGE_SIZE;
    if (c->tags[slot] == pageno + 1) {
        c->stats.cache_hits++;
        return data;
    }
    if (pag__read_direct(c, pageno << PAG_PAGE_SHIFT, PAG_PAGE_SIZE, data) != PAG_OK) {
        c->tags[slot] = 0;
        return NULL;
    }
    c->tags[slot] = pageno + 1;
    return data;
}

pag_err_t pag__read(pag_cache_t *c, uint64_t addr, size_t len, void *dst)
{
    if (len == 0) return PAG_OK;
    if (addr == 0 || addr + len < addr) return PAG_ERR_READ;
    if (!c->tags) return pag__read_direct(c, addr, len, dst);
    uint8_t *out = dst;
    uint64_t a = addr;
    size_t left = len;
    while (left) {
        uint64_t pageno = a >> PAG_PAGE_SHIFT;
        size_t off = (size_t)(a & (PAG_PAGE_SIZE - 1));
        size_t n = PAG_PAGE_SIZE - off;
        if (n > left) n = left;
        const uint8_t *p = page_get(c, pageno);
        if (!p) {
            /* Partial block at a mapping edge: read just what was asked. */
            return pag__read_direct(c, a, left, out);
        }
        /* Most reads are one pointer.  For the rest, gcc (knowing n <= a
         * block) would inline memcpy as "rep movsq", whose start-up costs more
         * than the whole copy of a small object; memmove stays a call into
         * libc's vector copy. */
        if (n == 8)
            memcpy(out, p + off, 8);
        else
            memmove(out, p + off, n);
        out += n;
        a += n;
        left -= n;
    }
    return PAG_OK;
}

pag_err_t pag__read_u64(pag_cache_t *c, uint64_t addr, uint64_t *out)
{
    return pag__read(c, addr, 8, out);
}

/* Fetch, in one readv call, the blocks holding addrs[] that are not cached
 * yet: used where the next addresses are known before they are needed (the
 * coroutines and names of a batch of tasks, the members of a set).  Blocks
 * that collide on a slot within one batch are left to the lazy path, and a
 * failed readv (e.g. a block across the end of a mapping) just leaves the
 * slots empty: the reads that follow go through page_get as before. */
static void next_epoch(pag_cache_t *c)
{
    if (++c->epoch == 0) { /* wrapped: forget all marks */
        memset(c->mark, 0, PAG_CACHE_SLOTS * sizeof *c->mark);
        c->epoch = 1;
    }
}

void pag__prefetch(pag_cache_t *c, const uint64_t *addrs, size_t n)
{
    if (!c->tags || !c->acc->readv || n == 0) return;
    if (!c->mark && !(c->mark = calloc(PAG_CACHE_SLOTS, sizeof *c->mark))) return;
    enum { MAXV = 256 };
    pag_iov_t iov[MAXV];
    size_t slots[MAXV];
    size_t k = 0;
    next_epoch(c);
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            if (!addrs[i]) continue;
            uint64_t pageno = addrs[i] >> PAG_PAGE_SHIFT;
            size_t slot = (size_t)((pageno ^ (pageno >> 10)) % PAG_CACHE_SLOTS);
            if (c->tags[slot] == pageno + 1) continue;
            if (c->mark[slot] == c->epoch) continue; /* this batch has the slot */
            c->mark[slot] = c->epoch;
            iov[k].addr = pageno << PAG_PAGE_SHIFT;
            iov[k].len = PAG_PAGE_SIZE;
            iov[k].dst = c->data + slot * PAG_PAGE_SIZE;
            slots[k++] = slot;
            if (k < MAXV) continue;
        }
        if (k == 0) continue;
        c->stats.read_calls++;
        if (c->acc->readv(c->ctx, iov, k) == PAG_OK) {
            c->stats.bytes_read += (uint64_t)k * PAG_PAGE_SIZE;
            for (size_t q = 0; q < k; q++)
                c->tags[slots[q]] = (iov[q].addr >> PAG_PAGE_SHIFT) + 1;
        } else {
            for (size_t q = 0; q < k; q++)
                c->tags[slots[q]] = 0;
        }
        k = 0;
        next_epoch(c);
    }
}
