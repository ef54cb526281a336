/* The snapshot walk: every interpreter, every thread's task list and the
 * interpreter's list of orphaned tasks, each task's coroutine chain and
 * awaiters, and each thread's running task with its real frame stack.
 *
 * This file holds the entry points (take, find, destroy), the walker's
 * warnings and strings, and the interpreter and thread walk that drives the
 * rest: frames.c (code objects, frames, chains, thread stacks), tasks.c
 * (task lists, nodes, names) and awaiters.c (awaited_by sets and their
 * iteration order), which share walk.h.
 *
 * Target memory is untrusted.  Every walk is bounded, lists and awaiter
 * chains are checked for repeats, and a task that cannot be decoded is kept
 * with its error so that the rest is still shown. */
#include <stdio.h>
#include <stdlib.h>

#include "walk.h"

/* Filled in by cycles.c (formatter side of the core). */
pag_err_t pag__snapshot_find_cycles(pag_snapshot_t *snap);

/* ---- what every part of the walk reports or keeps ---- */

void pag__walk_warn(walker_t *w, const char *fmt, ...)
{
    pag_snapshot_t *p = &w->snap->pub;
    if (p->n_warnings >= 1000) return;
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (p->n_warnings == w->warnings_cap) {
        size_t cap = w->warnings_cap ? w->warnings_cap * 2 : 8;
        const char **n = realloc((void *)p->warnings, cap * sizeof *n);
        if (!n) {
            w->oom = 1;
            return;
        }
        p->warnings = n;
        w->warnings_cap = cap;
    }
    const char *str = pag__arena_strdup(w->arena, buf, strlen(buf));
    if (!str) {
        w->oom = 1;
        return;
    }
    p->warnings[p->n_warnings++] = str;
}

const char *pag__walk_intern(walker_t *w, const char *s, size_t n)
{
    const char *r = pag__arena_strdup(w->arena, s, n);
    if (!r) w->oom = 1;
    return r ? r : "";
}

/* ---- the interpreter and thread walk ---- */

/* Thread ti's running task, with the real stack of the thread down to its
 * coroutine's frame. */
static void walk_running(walker_t *w, size_t ti, uint64_t running, uint64_t tstate, uint64_t cur)
{
    pag_session_t *s = w->s;
    const pag_async_offsets_t *a = &s->aoff;
    pag_snapshot_t *p = &w->snap->pub;
    size_t ri = pag__map_get(&w->snap->nodes, running);
    if (ri == SIZE_MAX) {
        /* Running but not registered (e.g. a task whose coroutine has just
         * returned: it unregisters before its step ends). */
        ri = pag__new_node(w, running);
        if (ri == SIZE_MAX) return;
        if (pag__read(&s->cache, running, a->task.size, w->objbuf) == PAG_OK)
            pag__decode_node(w, ri, w->objbuf);
        else
            pag__node_fail(w, ri, PAG_ERR_READ, "unreadable running task");
        p->tasks[ri].thread = ti;
    }
    p->threads[ti].running_task = ri;
    p->tasks[ri].running = 1;
    uint64_t coro = 0;
    if (pag__read_u64(&s->cache, running + a->task.coro, &coro) == PAG_OK) {
        pag_stack_t st = {0};
        pag__thread_stack(w, tstate, cur, coro & s->k.tag_mask, &st);
        p->tasks[ri].running_stack = st;
    }
}

/* Is the innermost run of Python frames a plain callback of the loop?  An
 * asyncio loop runs each callback (call_soon, call_later, a protocol's
 * data_received) from Handle._run in asyncio/events.py; a loop that is only
 * waiting for I/O has no such frame.  Only that makes the thread's stack
 * worth showing without --native or --all-threads. */
static int in_callback(const pag_stack_t *st)
{
    for (size_t i = 0; i < st->n; i++) {
        const pag_frame_t *f = &st->frames[i];
        static const char tail[] = "asyncio/events.py";
        size_t fl = strlen(f->filename), tl = sizeof tail - 1;
        if (strcmp(f->qualname, "Handle._run") == 0 && fl >= tl &&
            strcmp(f->filename + fl - tl, tail) == 0)
            return 1;
    }
    return 0;
}

/* What issue 14 reads of a thread besides its tasks: the whole Python
 * stack (--native, --all-threads, or a loop with no running task, which may
 * be stuck in a callback), and the native stack with --native. */
static void walk_thread_extra(walker_t *w, size_t ti, uint64_t running, uint64_t tstate,
                              uint64_t cur)
{
    pag_thread_t *th = &w->snap->pub.threads[ti];
    int want = (w->flags & (PAG_SNAP_NATIVE | PAG_SNAP_STACKS)) || (th->running_loop && !running);
    if (!want) return;
    pag__thread_pystack(w, th->native_id, tstate, cur, &th->py_stack);
    th->in_callback = th->running_loop && !running && in_callback(&th->py_stack);
    if (!(w->flags & (PAG_SNAP_NATIVE | PAG_SNAP_STACKS)) && !th->in_callback) {
        th->py_stack.n = 0; /* an idle loop: shown as before */
        th->py_stack.frames = NULL;
    }
    if (w->flags & PAG_SNAP_NATIVE) pag__walk_native(w, ti);
}

/* Walk one interpreter; the error (and nothing kept) if it cannot be read
 * or is not one.  Every interpreter has its task list head initialised when
 * it is created (a circular list: never NULL), and its thread states point
 * back at it.  A runtime whose interpreter list leads elsewhere (a changed
 * runtime.interpreters_head, a damaged pointer) would otherwise give an
 * empty graph that looks real.  The checks use only what the walk reads
 * anyway, so a good target is read exactly as before. */
static pag_err_t walk_interp(walker_t *w, uint64_t interp)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    const pag_async_offsets_t *a = &s->aoff;
    pag_snapshot_t *p = &w->snap->pub;
    uint8_t ib[64];
    int64_t interp_id = -1;
    uint64_t tstate = 0, main_ts = 0;
    if (pag__read(&s->cache, interp + o->interp.id, 8, ib) != PAG_OK ||
        pag__read_u64(&s->cache, interp + o->interp.threads_head, &tstate) != PAG_OK ||
        pag__read_u64(&s->cache, interp + o->interp.threads_main, &main_ts) != PAG_OK)
        return PAG_ERR_READ;
    interp_id = pag__i64(ib, 0);
    pag_err_t err = PAG_OK;
    size_t tsz = a->thread.size > o->tstate.size ? a->thread.size : o->tstate.size;
    uint8_t *tb = malloc(tsz);
    if (!tb) {
        w->oom = 1;
        return PAG_OK;
    }
    pag_map_t seen;
    if (pag__map_init(&seen, 16) != 0) {
        free(tb);
        w->oom = 1;
        return PAG_OK;
    }
    size_t first_thread = p->n_threads;
    for (unsigned n = 0; tstate; n++) {
        if (n >= PAG_MAX_THREADS) {
            pag__walk_warn(w, "truncated: more than %u threads", PAG_MAX_THREADS);
            break;
        }
        if (pag__map_get(&seen, tstate) != SIZE_MAX) {
            pag__walk_warn(w, "the thread list of interpreter %lld loops", (long long)interp_id);
            p->n_inconsistent++;
            break;
        }
        pag__map_put(&seen, tstate, n);
        if (pag__read(&s->cache, tstate, tsz, tb) != PAG_OK) {
            pag__walk_warn(w, "cannot read thread state 0x%llx", (unsigned long long)tstate);
            break;
        }
        if (o->tstate.interp + 8 <= tsz && pag__u64(tb, o->tstate.interp) != interp) {
            if (n == 0) {
                err = PAG_ERR_CORRUPT; /* not this interpreter's thread: not an interpreter */
                break;
            }
            pag__walk_warn(w, "thread state 0x%llx is not interpreter %lld's",
                           (unsigned long long)tstate, (long long)interp_id);
            p->n_inconsistent++;
            break;
        }
        pag_thread_t *th = pag__new_thread(w);
        if (!th) break;
        size_t ti = (size_t)(th - p->threads);
        th->interp_id = interp_id;
        th->tstate = tstate;
        th->native_id = pag__u64(tb, o->tstate.native_thread_id);
        th->is_main = tstate == main_ts;
        th->running_loop = pag__u64(tb, a->thread.running_loop) & s->k.tag_mask;
        uint64_t running = pag__u64(tb, a->thread.running_task) & s->k.tag_mask;
        uint64_t cur = pag__u64(tb, o->tstate.current_frame);
        uint64_t next = pag__u64(tb, o->tstate.next);
        if (o->tstate.gil_requested && o->tstate.gil_requested + 4 <= tsz)
            th->gil_requested = pag__u32(tb, o->tstate.gil_requested) != 0;
        pag__walk_list(w, ti, tstate + a->thread.tasks_head);
        if (running) walk_running(w, ti, running, tstate, cur);
        walk_thread_extra(w, ti, running, tstate, cur);
        tstate = next;
        if (w->oom) break;
    }
    pag__map_fini(&seen);
    free(tb);
    if (err) return err;
    pag__walk_gil(w, interp, interp_id, first_thread);
    /* Tasks left behind by threads that exited. */
    pag_thread_t *orph = pag__new_thread(w);
    if (orph) {
        orph->interp_id = interp_id;
        err = pag__walk_list(w, (size_t)(orph - p->threads), interp + a->interp.tasks_head);
    }
    return err;
}

/* Every interpreter from the runtime's list.  A runtime always has one (the
 * main interpreter, until the runtime is finalised): none, or a first one
 * that is not an interpreter, is a corrupt runtime, never an empty graph
 * (a first one that cannot be read: unreadable).  A later one of either
 * kind ends the list with a warning and counts as inconsistent (under
 * --no-stop it may be being destroyed). */
static pag_err_t walk_interps(walker_t *w, uint64_t interp)
{
    pag_session_t *s = w->s;
    if (!interp) {
        pag__seterr(&s->err, "the runtime lists no interpreter");
        return PAG_ERR_CORRUPT;
    }
    pag_map_t seen;
    if (pag__map_init(&seen, 8)) return PAG_ERR_NOMEM;
    pag_err_t err = PAG_OK;
    for (unsigned n = 0; interp && !w->oom; n++) {
        if (n >= PAG_MAX_INTERPRETERS || pag__map_get(&seen, interp) != SIZE_MAX) {
            pag__walk_warn(w, "the interpreter list loops or is longer than %u",
                           PAG_MAX_INTERPRETERS);
            break;
        }
        pag__map_put(&seen, interp, n);
        pag_err_t e = walk_interp(w, interp);
        if (e) {
            const char *what = e == PAG_ERR_READ ? "cannot be read" : "is not an interpreter state";
            if (n == 0) {
                pag__seterr(&s->err, "the runtime's first interpreter (0x%llx) %s",
                            (unsigned long long)interp, what);
                err = e;
                break;
            }
            pag__walk_warn(w, "interpreter 0x%llx %s", (unsigned long long)interp, what);
            w->snap->pub.n_inconsistent++;
            break;
        }
        uint64_t next = 0;
        if (pag__read_u64(&s->cache, interp + s->off.interp.next, &next) != PAG_OK) break;
        interp = next;
    }
    pag__map_fini(&seen);
    return err;
}

void pag_snapshot_destroy(pag_snapshot_t *snap)
{
    if (!snap) return;
    snap_impl_t *impl = (snap_impl_t *)snap;
    for (size_t i = 0; i < snap->n_cycles; i++)
        free(snap->cycles[i].nodes);
    free(snap->cycles);
    free(snap->tasks);
    free(snap->threads);
    free((void *)snap->warnings);
    pag__map_fini(&impl->nodes);
    pag__arena_fini(&impl->arena);
    free(impl);
}

size_t pag__snapshot_suspect(const pag_snapshot_t *snap)
{
    return snap ? ((const snap_impl_t *)snap)->n_suspect : 0;
}

size_t pag_snapshot_find(const pag_snapshot_t *snap, uint64_t addr)
{
    if (!snap) return SIZE_MAX;
    return pag__map_get(&((const snap_impl_t *)snap)->nodes, addr);
}

pag_err_t pag_snapshot_take(pag_session_t *s, pag_snapshot_t **out)
{
    return pag_snapshot_take_ex(s, 0, out);
}

pag_err_t pag_snapshot_take_ex(pag_session_t *s, unsigned flags, pag_snapshot_t **out)
{
    if (!s || !out) return PAG_ERR_INVALID_ARG;
    *out = NULL;
    snap_impl_t *impl = calloc(1, sizeof *impl);
    if (!impl) return PAG_ERR_NOMEM;
    pag_snapshot_t *p = &impl->pub;
    p->py_version = s->off.version;
    p->free_threaded = (int)s->off.free_threaded;
    pag__cache_clear(&s->cache);
    pag_stats_t before = s->cache.stats;
    if (!s->have_async) pag__find_asyncio(s);
    p->asyncio_loaded = s->have_async;
    if (s->async_corrupt) {
        pag_snapshot_destroy(p);
        return PAG_ERR_CORRUPT;
    }

    walker_t w;
    memset(&w, 0, sizeof w);
    w.s = s;
    w.flags = flags;
    p->flags = flags;
    p->gil_holder = SIZE_MAX;
    w.snap = impl;
    w.arena = &impl->arena;
    pag_err_t err = PAG_OK;
    if (pag__map_init(&impl->nodes, 1024) || pag__map_init(&w.types, 64) ||
        pag__map_init(&w.codes, 256) || pag__map_init(&w.lines, 256) ||
        pag__map_init(&w.fut_types, 16)) {
        err = PAG_ERR_NOMEM;
        goto done;
    }
    if (s->have_async) {
        w.objbuf = malloc(s->aoff.task.size);
        w.batch = malloc((size_t)PAG_LIST_BATCH * s->aoff.task.size);
        if (!w.objbuf || !w.batch) {
            err = PAG_ERR_NOMEM;
            goto done;
        }
        uint64_t interp;
        err = pag__read_u64(&s->cache, s->runtime_addr + s->off.runtime.interpreters_head, &interp);
        if (err) {
            pag__seterr(&s->err, "cannot read the interpreter list");
            goto done;
        }
        err = walk_interps(&w, interp);
        if (err) goto done;
        pag__resolve_awaiters(&w);
        if (!w.oom) err = pag__snapshot_find_cycles(p);
    }
    if (w.oom) err = PAG_ERR_NOMEM;
done:
    p->stats.read_calls = s->cache.stats.read_calls - before.read_calls;
    p->stats.bytes_read = s->cache.stats.bytes_read - before.bytes_read;
    p->stats.cache_hits = s->cache.stats.cache_hits - before.cache_hits;
    pag__map_fini(&w.types);
    pag__map_fini(&w.codes);
    pag__map_fini(&w.lines);
    pag__map_fini(&w.fut_types);
    free(w.code_infos);
    free(w.raw);
    free(w.sb.p);
    free(w.fscratch);
    free(w.objbuf);
    free(w.batch);
    free(w.native_buf);
    if (err) {
        pag_snapshot_destroy(p);
        return err;
    }
    *out = p;
    return PAG_OK;
}
