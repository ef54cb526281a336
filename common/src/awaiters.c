/* Awaiters: the awaited_by field of each task (one object or a set), and,
 * once every list is walked, the nodes and indices they resolve to.  Apart
 * because a set is read from CPython's set layout (slots, stored hashes,
 * deleted entries) and because the order Python iterates
 * fut._asyncio_awaited_by -- a frozenset copy -- is rebuilt here from those
 * hashes, CPython's set_merge/set_insert_clean reproduced; that is all the
 * snapshot knows of sets, in one place.
 *
 * A set is bounded by PAG_MAX_SET_SLOTS and validated (mask a power of two
 * less one, used <= slots) before its table is read. */
#include <stdlib.h>
#include <string.h>

#include "walk.h"

/* Read the awaited_by field: NULL, one waiter, or a set of waiters. */
void pag__read_awaiters(walker_t *w, size_t i, uint64_t ab, int is_set)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    raw_awaiters_t *r = &w->raw[i];
    if (!ab) return;
    if (!is_set) {
        r->addrs = pag__arena_alloc(w->arena, sizeof *r->addrs);
        if (!r->addrs) {
            w->oom = 1;
            return;
        }
        r->addrs[0] = ab;
        r->n = 1;
        return;
    }
    uint8_t sb[1024];
    if (o->set.size > sizeof sb || pag__read(&s->cache, ab, o->set.size, sb) != PAG_OK) {
        pag__node_fail(w, i, PAG_ERR_READ, "unreadable awaited_by set");
        return;
    }
    int64_t used = pag__i64(sb, o->set.used), mask = pag__i64(sb, o->set.mask);
    uint64_t table = pag__u64(sb, o->set.table);
    if (mask < 0 || (uint64_t)mask >= PAG_MAX_SET_SLOTS || ((mask + 1) & mask) != 0 || used < 0 ||
        used > mask + 1 || !table) {
        pag__node_fail(w, i, PAG_ERR_CORRUPT, "invalid awaited_by set");
        return;
    }
    if (used == 0) return;
    size_t slots = (size_t)mask + 1;
    uint8_t *entries = malloc(slots * 16);
    if (!entries) {
        w->oom = 1;
        return;
    }
    if (pag__read(&s->cache, table, slots * 16, entries) != PAG_OK) {
        free(entries);
        pag__node_fail(w, i, PAG_ERR_READ, "unreadable awaited_by set table");
        return;
    }
    r->addrs = pag__arena_alloc(w->arena, (size_t)used * sizeof *r->addrs);
    r->hashes = pag__arena_alloc(w->arena, (size_t)used * sizeof *r->hashes);
    if (!r->addrs || !r->hashes) {
        free(entries);
        w->oom = 1;
        return;
    }
    r->set_mask = (uint64_t)mask;
    int bad = 0;
    for (size_t j = 0; j < slots; j++) {
        uint64_t key = pag__u64(entries, j * 16);
        int64_t hash = pag__i64(entries, j * 16 + 8);
        if (!key) continue; /* empty slot */
        r->set_fill++;
        if (hash == -1 || r->n == (size_t)used) continue; /* deleted slot (or more than used) */
        if (!(key & s->k.tag_mask)) {                     /* a member that is no object's address */
            bad = 1;
            continue;
        }
        r->hashes[r->n] = hash;
        r->addrs[r->n++] = key & s->k.tag_mask;
    }
    free(entries);
    if (bad) pag__node_fail(w, i, PAG_ERR_CORRUPT, "invalid awaited_by set member");
}

/* The order in which Python iterates fut._asyncio_awaited_by, a frozenset
 * built from the set (CPython's set_merge into a fresh 8-slot table): the
 * set's own slot order when the copy ends up with a table of the same size
 * and the set has no deleted slots; otherwise the order the members land in
 * when re-inserted, in the set's slot order, into a table sized for them
 * (set_insert_clean: 9 linear probes, then perturbed probing).  Writes the
 * member positions 0..n-1 to out[]; returns 0 when that is the identity,
 * -1 on OOM. */
static int frozenset_copy_order(const int64_t *hashes, size_t n, uint64_t set_mask, size_t set_fill,
                                size_t *out)
{
    uint64_t mask = 7;
    if (n * 5 >= mask * 3) {
        uint64_t size = 8;
        while (size <= 2 * (uint64_t)n)
            size <<= 1;
        mask = size - 1;
    }
    if (mask == set_mask && set_fill == n) return 0;
    size_t *table = malloc(((size_t)mask + 1) * sizeof *table);
    if (!table) return -1;
    for (uint64_t i = 0; i <= mask; i++)
        table[i] = SIZE_MAX;
    for (size_t j = 0; j < n; j++) {
        uint64_t perturb = (uint64_t)hashes[j];
        uint64_t i = perturb & mask;
        for (;;) {
            size_t *e = &table[i];
            if (*e == SIZE_MAX) goto found;
            if (i + 9 <= mask)
                for (int q = 0; q < 9; q++)
                    if (*++e == SIZE_MAX) goto found;
            perturb >>= 5;
            i = (i * 5 + 1 + perturb) & mask;
            continue;
        found:
            *e = j;
            break;
        }
    }
    size_t k = 0;
    for (uint64_t i = 0; i <= mask; i++)
        if (table[i] != SIZE_MAX) out[k++] = table[i];
    free(table);
    return 1;
}

/* Is the type at `type` asyncio's Future or Task, or a subclass named like
 * one?  Python calls future_add_to_awaited_by() only with Futures and Tasks
 * (the C accelerator checks), so any other type means the awaiter address
 * was not an awaiter when it was read.  The table has no tp_base, hence the
 * name: "_asyncio.Future", "_asyncio.Task", or a class name ending so. */
static int future_type(walker_t *w, uint64_t type)
{
    size_t k = pag__map_get(&w->fut_types, type);
    if (k != SIZE_MAX) return k == 1;
    char name[128];
    int ok = 0;
    if (type && pag__read_type_name(w->s, type, name, sizeof name) == PAG_OK) {
        size_t n = strlen(name);
        ok = (n >= 6 && !strcmp(name + n - 6, "Future")) ||
             (n >= 4 && !strcmp(name + n - 4, "Task"));
    }
    if (pag__map_put(&w->fut_types, type, ok ? 1 : 2) != 0) w->oom = 1;
    return ok;
}

/* A node made for an awaiter no task list had, just decoded from ob: a task
 * (which, waiting, should have been listed) or an object of another type
 * than a Future's is suspect (see snap_impl_t). */
static void check_unlisted_awaiter(walker_t *w, size_t n, const uint8_t *ob)
{
    const pag_task_t *t = &w->snap->pub.tasks[n];
    uint64_t type = pag__u64(ob, w->s->off.pyobject.ob_type);
    if (t->is_task || !future_type(w, type)) w->snap->n_suspect++;
}

/* Decode nodes reached only as awaiters, then turn addresses into indices. */
void pag__resolve_awaiters(walker_t *w)
{
    pag_session_t *s = w->s;
    pag_snapshot_t *p = &w->snap->pub;
    for (size_t i = 0; i < p->n_tasks && !w->oom; i++) {
        raw_awaiters_t r = w->raw[i];
        size_t *idx = r.n ? pag__arena_alloc(w->arena, r.n * sizeof *idx) : NULL;
        if (r.n && !idx) {
            w->oom = 1;
            break;
        }
        if (r.n > 1) {
            /* a set's members are known at once: fetch the unseen ones together */
            uint64_t pre[256];
            size_t np = 0;
            for (size_t j = 0; j < r.n; j++) {
                if (pag__map_get(&w->snap->nodes, r.addrs[j]) != SIZE_MAX) continue;
                pre[np++] = r.addrs[j];
                if (np == 256) {
                    pag__prefetch(&s->cache, pre, np);
                    np = 0;
                }
            }
            pag__prefetch(&s->cache, pre, np);
        }
        /* A set can hold a million awaiters: past a handful, duplicates are
         * found with a hash set, not by rescanning what was kept. */
        pag_map_t kept;
        int hashed = r.n > 16;
        if (hashed && pag__map_init(&kept, r.n) != 0) {
            w->oom = 1;
            break;
        }
        /* for a set: the node kept for each member position (SIZE_MAX: none) */
        size_t *node_of = r.hashes && r.n > 1 ? malloc(r.n * sizeof *node_of) : NULL;
        if (r.hashes && r.n > 1 && !node_of) {
            if (hashed) pag__map_fini(&kept);
            w->oom = 1;
            break;
        }
        size_t k = 0;
        for (size_t j = 0; j < r.n; j++) {
            if (node_of) node_of[j] = SIZE_MAX;
            size_t n = pag__map_get(&w->snap->nodes, r.addrs[j]);
            if (n == SIZE_MAX) {
                n = pag__new_node(w, r.addrs[j]);
                if (n == SIZE_MAX) {
                    if (!w->oom && !w->warned_limit[0]++)
                        pag__walk_warn(w, "truncated: more than %u tasks and futures",
                                       PAG_MAX_NODES);
                    continue;
                }
                if (pag__read(&s->cache, r.addrs[j], s->aoff.task.size, w->objbuf) != PAG_OK) {
                    pag__node_fail(w, n, PAG_ERR_READ, "unreadable awaiter object");
                } else {
                    pag__decode_node(w, n, w->objbuf); /* may append its own raw awaiters */
                    check_unlisted_awaiter(w, n, w->objbuf);
                }
            }
            int dup = 0;
            if (hashed) {
                size_t old = pag__map_put_new(&kept, (uint64_t)n + 1, 0);
                if (old == SIZE_MAX - 1) {
                    w->oom = 1;
                    break;
                }
                dup = old != SIZE_MAX;
            } else {
                for (size_t q = 0; q < k; q++)
                    dup |= idx[q] == n;
            }
            if (!dup) {
                idx[k++] = n;
                if (node_of) node_of[j] = n;
            }
        }
        if (hashed) pag__map_fini(&kept);
        p->tasks[i].awaited_by = idx;
        p->tasks[i].n_awaited_by = k;
        if (node_of && !w->oom && k > 1) {
            size_t *order = malloc(r.n * sizeof *order);
            int rc =
                order ? frozenset_copy_order(r.hashes, r.n, r.set_mask, r.set_fill, order) : -1;
            size_t *iter = rc == 1 ? pag__arena_alloc(w->arena, k * sizeof *iter) : NULL;
            if (rc < 0 || (rc == 1 && !iter)) {
                w->oom = 1;
            } else if (rc == 1) {
                size_t m = 0;
                for (size_t q = 0; q < r.n && m < k; q++)
                    if (node_of[order[q]] != SIZE_MAX) iter[m++] = node_of[order[q]];
                p->tasks[i].awaited_by_iter = m == k ? iter : NULL;
            }
            free(order);
        }
        free(node_of);
    }
}
