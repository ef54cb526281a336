/* Containers for the snapshot: an address-keyed hash map and an arena.
 * The snapshot holds millions of small strings and arrays on big targets, so
 * they come from a bump allocator and are freed all at once. */
#include <stdint.h>
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "internal.h"

/* Large snapshot arrays are touched once, densely: ask for huge pages so a
 * million-task snapshot does not spend its time in page faults. */
void pag__hint_huge(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
    if (e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

size_t pag__hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k;
}

int pag__map_init(pag_map_t *m, size_t cap_hint)
{
    size_t cap = 64;
    while (cap < cap_hint * 2)
        cap <<= 1;
    m->slots = calloc(cap, sizeof *m->slots);
    if (m->slots && cap >= (1u << 17)) pag__hint_huge(m->slots, cap * sizeof *m->slots);
    m->cap = cap;
    m->n = 0;
    if (!m->slots) {
        pag__map_fini(m);
        return -1;
    }
    return 0;
}

void pag__map_fini(pag_map_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

size_t pag__map_get(const pag_map_t *m, uint64_t key)
{
    if (!m->cap || key == 0) return SIZE_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = pag__hash64(key) & mask;; i = (i + 1) & mask) {
        if (m->slots[i].key == key) return m->slots[i].val;
        if (m->slots[i].key == 0) return SIZE_MAX;
    }
}

/* The slot holding key, or the empty slot where it goes. */
static pag_mslot_t *find_slot(pag_mslot_t *slots, size_t cap, uint64_t key)
{
    size_t mask = cap - 1;
    for (size_t i = pag__hash64(key) & mask;; i = (i + 1) & mask)
        if (slots[i].key == key || slots[i].key == 0) return &slots[i];
}

static int grow(pag_map_t *m)
{
    pag_map_t n;
    if (pag__map_init(&n, m->cap) != 0) return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *find_slot(n.slots, n.cap, m->slots[i].key) = m->slots[i];
    n.n = m->n;
    pag__map_fini(m);
    *m = n;
    return 0;
}

size_t pag__map_put_new(pag_map_t *m, uint64_t key, size_t val)
{
    if (key == 0) return SIZE_MAX - 1;
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0) return SIZE_MAX - 1;
    pag_mslot_t *e = find_slot(m->slots, m->cap, key);
    if (e->key == key) return e->val;
    e->key = key;
    e->val = val;
    m->n++;
    return SIZE_MAX;
}

int pag__map_put(pag_map_t *m, uint64_t key, size_t val)
{
    if (key == 0) return 0;
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0) return -1;
    pag_mslot_t *e = find_slot(m->slots, m->cap, key);
    if (e->key != key) m->n++;
    e->key = key;
    e->val = val;
    return 0;
}

struct pag_arena_chunk {
    pag_arena_chunk_t *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

void *pag__arena_alloc(pag_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->used + n > a->cap) {
        /* Chunks grow with the arena: small snapshots stay small. */
        size_t want = a->cap ? a->cap * 2 : (64u << 10);
        if (want > (8u << 20)) want = 8u << 20;
        size_t cap = n > want ? n : want;
        pag_arena_chunk_t *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        if (cap >= (4u << 20)) pag__hint_huge(c, sizeof *c + cap);
        c->next = a->head;
        c->cap = cap;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

char *pag__arena_strdup(pag_arena_t *a, const char *s, size_t n)
{
    char *p = pag__arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void pag__arena_fini(pag_arena_t *a)
{
    pag_arena_chunk_t *c = a->head;
    while (c) {
        pag_arena_chunk_t *n = c->next;
        free(c);
        c = n;
    }
    memset(a, 0, sizeof *a);
}
