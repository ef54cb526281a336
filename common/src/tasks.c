/* Task lists and names: the nodes of the snapshot.  A node is made for every
 * task on a list and for every awaiter found later; this file owns the
 * node array (and the raw awaiters kept beside it), the thread records, the
 * batched walk of one circular task list and the decoding of one task object
 * (name, coroutine chain, awaited_by field).  Apart from frames.c because it
 * reads only task objects and list links, and from awaiters.c because
 * turning awaiters into nodes has to wait until every list is walked.
 *
 * A list is bounded by PAG_MAX_TASKS_PER_LIST and the snapshot by
 * PAG_MAX_NODES; a list that loops or breaks is reported, and one whose prev
 * links do not point back counts as inconsistent (torn under us). */
#include <stdio.h>
#include <stdlib.h>

#include "walk.h"

/* Add a node for addr.  *existing (if given) receives the index of a node
 * already there, in which case nothing is added and SIZE_MAX returned. */
static size_t new_node_ex(walker_t *w, uint64_t addr, size_t *existing)
{
    pag_snapshot_t *p = &w->snap->pub;
    if (existing) *existing = SIZE_MAX;
    /* 0 is no object (and the map's empty key): callers check for it, this is
     * the last guard, so that garbage never passes for running out of memory */
    if (!addr || p->n_tasks >= PAG_MAX_NODES) return SIZE_MAX;
    if (p->n_tasks == w->tasks_cap) {
        size_t cap = w->tasks_cap ? w->tasks_cap * 2 : 256;
        pag_task_t *t = realloc(p->tasks, cap * sizeof *t);
        raw_awaiters_t *r = realloc(w->raw, cap * sizeof *r);
        if (t) p->tasks = t;
        if (r) w->raw = r;
        if (!t || !r) {
            w->oom = 1;
            return SIZE_MAX;
        }
        w->tasks_cap = cap;
        if (cap >= (1u << 16)) {
            pag__hint_huge(p->tasks, cap * sizeof *t);
            pag__hint_huge(w->raw, cap * sizeof *r);
        }
    }
    size_t i = p->n_tasks;
    size_t old = pag__map_put_new(&w->snap->nodes, addr, i);
    if (old == SIZE_MAX - 1) {
        w->oom = 1;
        return SIZE_MAX;
    }
    if (old != SIZE_MAX) {
        if (existing) *existing = old;
        return SIZE_MAX;
    }
    pag_task_t *t = &p->tasks[i];
    memset(t, 0, sizeof *t);
    memset(&w->raw[i], 0, sizeof w->raw[i]);
    t->addr = addr;
    t->thread = SIZE_MAX;
    t->state = PAG_TASK_UNKNOWN;
    p->n_tasks++;
    return i;
}

size_t pag__new_node(walker_t *w, uint64_t addr)
{
    return new_node_ex(w, addr, NULL);
}

void pag__node_fail(walker_t *w, size_t i, pag_err_t e, const char *detail)
{
    pag_task_t *t = &w->snap->pub.tasks[i];
    if (t->error != PAG_OK) return;
    t->error = e;
    t->error_detail = detail;
    w->snap->pub.n_failed++;
}

static void read_name(walker_t *w, size_t i, uint64_t name)
{
    pag_session_t *s = w->s;
    uint64_t type, flags;
    pag_task_t *t = &w->snap->pub.tasks[i];
    t->name = "";
    if (!name || pag__read_type(s, name, &type, &flags) != PAG_OK) {
        pag__node_fail(w, i, PAG_ERR_READ, "unreadable task name");
        return;
    }
    if (flags & PAG_TPFLAGS_LONG_SUBCLASS) {
        int64_t v;
        if (pag__read_long(s, name, &v) != PAG_OK) {
            pag__node_fail(w, i, PAG_ERR_CORRUPT, "bad task name counter");
            return;
        }
        char buf[32];
        int n = snprintf(buf, sizeof buf, "Task-%lld", (long long)v);
        t->name = pag__walk_intern(w, buf, (size_t)n);
    } else if (flags & PAG_TPFLAGS_UNICODE_SUBCLASS) {
        int trunc;
        pag_err_t e = pag__read_str(s, name, PAG_MAX_STR_CHARS, &w->sb, &trunc);
        if (e) {
            pag__node_fail(w, i, e, "unreadable task name");
            return;
        }
        if (trunc)
            pag__walk_warn(w, "truncated: a task name longer than %u characters",
                           PAG_MAX_STR_CHARS);
        t->name = pag__walk_intern(w, w->sb.p, w->sb.n);
    } else {
        pag__node_fail(w, i, PAG_ERR_CORRUPT, "task name is neither str nor int");
    }
}

/* Decode a node whose object bytes are in w->objbuf. */
void pag__decode_node(walker_t *w, size_t i, const uint8_t *ob)
{
    pag_session_t *s = w->s;
    const pag_async_offsets_t *a = &s->aoff;
    const uint64_t m = s->k.tag_mask;
    pag_task_t *t = &w->snap->pub.tasks[i];
    t->is_task = ob[a->task.is_task] != 0;
    if (t->is_task) {
        read_name(w, i, pag__u64(ob, a->task.name) & m);
        const char *detail;
        pag_stack_t st = {0};
        pag_err_t e = pag__coro_chain(w, pag__u64(ob, a->task.coro) & m, &st, &detail);
        t = &w->snap->pub.tasks[i];
        t->stack = st;
        if (e) pag__node_fail(w, i, e, detail);
    }
    pag__read_awaiters(w, i, pag__u64(ob, a->task.awaited_by) & m,
                       ob[a->task.awaited_by_is_set] != 0);
}

pag_thread_t *pag__new_thread(walker_t *w)
{
    pag_snapshot_t *p = &w->snap->pub;
    if (p->n_threads == w->threads_cap) {
        size_t cap = w->threads_cap ? w->threads_cap * 2 : 16;
        pag_thread_t *t = realloc(p->threads, cap * sizeof *t);
        if (!t) {
            w->oom = 1;
            return NULL;
        }
        p->threads = t;
        w->threads_cap = cap;
    }
    pag_thread_t *t = &p->threads[p->n_threads++];
    memset(t, 0, sizeof *t);
    t->running_task = SIZE_MAX;
    t->first_task = p->n_tasks;
    t->holds_gil = -1;
    t->gil_requested = -1;
    return t;
}

/* Walk one circular task list starting at the embedded head node.
 *
 * Tasks go in batches: first the list links of up to PAG_LIST_BATCH tasks
 * (each object copied whole), then one readv for the blocks of all their
 * coroutines and names, then the decoding.  A list is a chain of dependent
 * reads; batching moves everything that does not depend on the chain out of
 * it. */
pag_err_t pag__walk_list(walker_t *w, size_t thread_idx, uint64_t head)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    const pag_async_offsets_t *a = &s->aoff;
    const uint64_t m = s->k.tag_mask;
    pag_snapshot_t *p = &w->snap->pub;
    const size_t tsz = a->task.size;
    size_t idx[PAG_LIST_BATCH];
    uint64_t pre[2 * PAG_LIST_BATCH];
    uint64_t node, prev = head;
    if (pag__read_u64(&s->cache, head + o->llist.next, &node) != PAG_OK) {
        pag__walk_warn(w, "cannot read a task list head at 0x%llx", (unsigned long long)head);
        return PAG_ERR_READ;
    }
    /* a list head is initialised when its owner is made: NULL is no head */
    const pag_err_t ret = node ? PAG_OK : PAG_ERR_CORRUPT;
    int stop = 0;
    for (size_t count = 0; !stop && node != head;) {
        size_t k = 0;
        while (k < PAG_LIST_BATCH && node != head) {
            if (node <= a->task.node) { /* NULL, or a link that is no task's */
                pag__walk_warn(w, "a task list is broken (%s link after %zu tasks)",
                               node ? "bad" : "NULL", count);
                p->n_inconsistent++;
                stop = 1;
                break;
            }
            if (count >= PAG_MAX_TASKS_PER_LIST) {
                pag__walk_warn(w, "truncated: a task list longer than %u tasks",
                               PAG_MAX_TASKS_PER_LIST);
                stop = 1;
                break;
            }
            uint64_t task = node - a->task.node;
            size_t seen;
            size_t i = new_node_ex(w, task, &seen);
            if (seen != SIZE_MAX) {
                pag__walk_warn(w, "a task list loops back to task 0x%llx after %zu tasks",
                               (unsigned long long)task, count);
                p->n_inconsistent++;
                stop = 1;
                break;
            }
            if (i == SIZE_MAX) {
                stop = 1;
                break;
            }
            count++;
            pag_task_t *t = &p->tasks[i];
            t->listed = 1;
            t->is_task = 1;
            t->state = PAG_TASK_PENDING;
            t->thread = thread_idx;
            p->threads[thread_idx].n_tasks++;
            uint8_t *ob = w->batch + k * tsz;
            if (pag__read(&s->cache, task, tsz, ob) != PAG_OK) {
                pag__node_fail(w, i, PAG_ERR_READ, "unreadable task object");
                pag__walk_warn(w, "a task list is broken at unreadable task 0x%llx",
                               (unsigned long long)task);
                stop = 1;
                break;
            }
            uint64_t next = pag__u64(ob, a->task.node + o->llist.next);
            uint64_t back = pag__u64(ob, a->task.node + o->llist.prev);
            if (back != prev) p->n_inconsistent++; /* torn list: the target changed under us */
            pre[2 * k] = pag__u64(ob, a->task.coro) & m;
            pre[2 * k + 1] = pag__u64(ob, a->task.name) & m;
            idx[k++] = i;
            prev = node;
            node = next;
        }
        pag__prefetch(&s->cache, pre, 2 * k);
        for (size_t q = 0; q < k && !w->oom; q++)
            pag__decode_node(w, idx[q], w->batch + q * tsz);
        if (w->oom) break;
    }
    return ret;
}
