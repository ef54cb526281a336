/* The snapshot walk: every interpreter, every thread's task list and the
 * interpreter's list of orphaned tasks, each task's coroutine chain and
 * awaiters, and each thread's running task with its real frame stack.
 *
 * Target memory is untrusted.  Every walk is bounded, lists and awaiter
 * chains are checked for repeats, and a task that cannot be decoded is kept
 * with its error so that the rest is still shown. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Filled in by cycles.c (formatter side of the core). */
pag_err_t pag__snapshot_find_cycles(pag_snapshot_t *snap);

typedef struct snap_impl {
    pag_snapshot_t pub;
    pag_arena_t arena;
    pag_map_t nodes; /* task/future address -> index */
} snap_impl_t;

enum type_kind {
    TK_OTHER = 1,
    TK_COROUTINE,
    TK_ASEND, /* async_generator_asend / _athrow: wrapper around an async generator */
    TK_ASYNC_GEN,
    TK_GENERATOR,
    TK_CODE,
    TK_HEAP, /* a heap type: never coroutine-like */
};

typedef struct code_info {
    const char *qualname, *filename;
    int firstlineno;
    const uint8_t *linetable;
    size_t linetable_len;
    uint64_t base; /* address of the first code unit */
    int bad;
} code_info_t;

typedef struct raw_awaiters {
    uint64_t *addrs;
    size_t n;
    /* from a set: each member's stored hash, the set's mask, and its fill
     * (live + deleted slots); hashes is NULL for a single awaiter */
    int64_t *hashes;
    uint64_t set_mask;
    size_t set_fill;
} raw_awaiters_t;

typedef struct walker {
    pag_session_t *s;
    snap_impl_t *snap;
    pag_arena_t *arena;
    size_t tasks_cap, threads_cap, warnings_cap;
    raw_awaiters_t *raw; /* parallel to tasks */
    pag_map_t types;     /* type address -> enum type_kind */
    pag_map_t codes;     /* code address -> index in code_infos */
    code_info_t *code_infos;
    size_t n_codes, codes_cap;
    pag_map_t lines; /* instr_ptr -> line + 2 */
    pag_strbuf_t sb;
    pag_frame_t *fscratch;
    size_t fscratch_cap;
    uint8_t *objbuf;                    /* scratch for one task object */
    uint8_t *batch;                     /* PAG_LIST_BATCH task objects (walk_list) */
    uint64_t chain[PAG_MAX_CORO_CHAIN]; /* coroutines on the current chain */
    size_t chain_n;
    int oom;
    int warned_limit[8];
} walker_t;

/* A coroutine chain that revisits a coroutine is corrupt (or torn). */
static int chain_seen(const walker_t *w, size_t n, uint64_t coro)
{
    (void)n;
    for (size_t i = 0; i < w->chain_n; i++)
        if (w->chain[i] == coro) return 1;
    return 0;
}

static void warn(walker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(walker_t *w, const char *fmt, ...)
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

static const char *intern(walker_t *w, const char *s, size_t n)
{
    const char *r = pag__arena_strdup(w->arena, s, n);
    if (!r) w->oom = 1;
    return r ? r : "";
}

/* ---- types ---- */

static int type_kind(walker_t *w, uint64_t type)
{
    size_t k = pag__map_get(&w->types, type);
    if (k != SIZE_MAX) return (int)k;
    pag_session_t *s = w->s;
    uint64_t flags;
    int kind = TK_OTHER;
    if (pag__read_u64(&s->cache, type + s->off.type.tp_flags, &flags) != PAG_OK) return 0;
    if (flags & PAG_TPFLAGS_HEAPTYPE) {
        kind = TK_HEAP;
    } else {
        char name[40];
        if (pag__read_type_name(s, type, name, sizeof name) != PAG_OK) return 0;
        if (!strcmp(name, "coroutine"))
            kind = TK_COROUTINE;
        else if (!strcmp(name, "async_generator_asend") || !strcmp(name, "async_generator_athrow"))
            kind = TK_ASEND;
        else if (!strcmp(name, "async_generator"))
            kind = TK_ASYNC_GEN;
        else if (!strcmp(name, "generator"))
            kind = TK_GENERATOR;
        else if (!strcmp(name, "code"))
            kind = TK_CODE;
    }
    if (pag__map_put(&w->types, type, (size_t)kind) != 0) w->oom = 1;
    return kind;
}

static int obj_kind(walker_t *w, uint64_t obj)
{
    uint64_t type;
    if (pag__read_u64(&w->s->cache, obj + w->s->off.pyobject.ob_type, &type) != PAG_OK || !type)
        return 0;
    return type_kind(w, type);
}

/* ---- code objects and lines ---- */

static const code_info_t *get_code(walker_t *w, uint64_t code)
{
    size_t i = pag__map_get(&w->codes, code);
    if (i != SIZE_MAX) return &w->code_infos[i];
    if (w->n_codes == w->codes_cap) {
        size_t cap = w->codes_cap ? w->codes_cap * 2 : 256;
        code_info_t *n = realloc(w->code_infos, cap * sizeof *n);
        if (!n) {
            w->oom = 1;
            return NULL;
        }
        w->code_infos = n;
        w->codes_cap = cap;
    }
    code_info_t *ci = &w->code_infos[w->n_codes];
    memset(ci, 0, sizeof *ci);
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    uint8_t buf[PAG_MAX_OBJECT_SIZE > 4096 ? 4096 : PAG_MAX_OBJECT_SIZE];
    ci->qualname = "<unknown>";
    ci->filename = "<unknown>";
    ci->firstlineno = -1;
    if (o->code.size > sizeof buf || pag__read(&s->cache, code, o->code.size, buf) != PAG_OK) {
        ci->bad = 1;
    } else {
        int trunc;
        uint64_t q = pag__u64(buf, o->code.qualname) & s->k.tag_mask;
        uint64_t f = pag__u64(buf, o->code.filename) & s->k.tag_mask;
        uint64_t lt = pag__u64(buf, o->code.linetable) & s->k.tag_mask;
        ci->firstlineno = (int32_t)pag__u32(buf, o->code.firstlineno);
        ci->base = code + o->code.co_code_adaptive;
        if (q && pag__read_str(s, q, 4096, &w->sb, &trunc) == PAG_OK)
            ci->qualname = intern(w, w->sb.p, w->sb.n);
        else
            ci->bad = 1;
        if (f && pag__read_str(s, f, 4096, &w->sb, &trunc) == PAG_OK)
            ci->filename = intern(w, w->sb.p, w->sb.n);
        else
            ci->bad = 1;
        if (lt && pag__read_bytes(s, lt, PAG_MAX_LINETABLE, &w->sb) == PAG_OK) {
            uint8_t *copy = pag__arena_alloc(w->arena, w->sb.n ? w->sb.n : 1);
            if (copy) {
                memcpy(copy, w->sb.p, w->sb.n);
                ci->linetable = copy;
                ci->linetable_len = w->sb.n;
            }
        }
    }
    if (pag__map_put(&w->codes, code, w->n_codes) != 0) {
        w->oom = 1;
        return NULL;
    }
    return &w->code_infos[w->n_codes++];
}

/* Decode one interpreter frame whose bytes are in fb.  Returns 1 and fills
 * *out for a Python frame, 0 for a frame that is skipped (C entry/shim),
 * -1 when it cannot be decoded. */
static int decode_frame(walker_t *w, uint64_t faddr, const uint8_t *fb, pag_frame_t *out)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    uint64_t exe = pag__u64(fb, o->frame.executable) & s->k.tag_mask;
    int owner = (int8_t)fb[o->frame.owner];
    if (!exe || owner >= s->k.owner_interp || owner < 0) return 0;
    if (obj_kind(w, exe) != TK_CODE) return 0; /* e.g. a shim or a corrupt frame */
    const code_info_t *ci = get_code(w, exe);
    if (!ci) return -1;
    uint64_t ip = pag__u64(fb, o->frame.instr_ptr);
    int line = -1;
    size_t memo = pag__map_get(&w->lines, ip);
    if (memo != SIZE_MAX) {
        line = (int)memo - 2;
    } else if (ci->linetable && ip >= ci->base) {
        line = pag__linetable_line(ci->linetable, ci->linetable_len, ci->firstlineno,
                                   (ip - ci->base) / 2);
        if (pag__map_put(&w->lines, ip, (size_t)(line + 2)) != 0) w->oom = 1;
    }
    out->qualname = ci->qualname;
    out->filename = ci->filename;
    out->lineno = line;
    out->kind = PAG_FRAME_SYNC;
    if (owner == s->k.owner_generator) {
        int k = obj_kind(w, faddr - o->gen.gi_iframe);
        out->kind = k == TK_ASYNC_GEN   ? PAG_FRAME_ASYNC_GEN
                    : k == TK_GENERATOR ? PAG_FRAME_GEN
                                        : PAG_FRAME_ASYNC;
    }
    return 1;
}

static int push_frame(walker_t *w, size_t *n, const pag_frame_t *f)
{
    if (*n == w->fscratch_cap) {
        size_t cap = w->fscratch_cap ? w->fscratch_cap * 2 : 64;
        pag_frame_t *p = realloc(w->fscratch, cap * sizeof *p);
        if (!p) {
            w->oom = 1;
            return -1;
        }
        w->fscratch = p;
        w->fscratch_cap = cap;
    }
    w->fscratch[(*n)++] = *f;
    return 0;
}

static int commit_stack(walker_t *w, size_t n, int reverse, pag_stack_t *st)
{
    st->n = 0;
    st->frames = NULL;
    if (!n) return 0;
    pag_frame_t *f = pag__arena_alloc(w->arena, n * sizeof *f);
    if (!f) {
        w->oom = 1;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = w->fscratch[reverse ? n - 1 - i : i];
    st->frames = f;
    st->n = n;
    return 0;
}

/* Follow a task's coroutine through what each suspended frame awaits.
 * Result: innermost first.  Returns PAG_OK or the reason the chain broke. */
static pag_err_t coro_chain(walker_t *w, uint64_t coro, pag_stack_t *st, const char **detail)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    const pag_consts_t *k = &s->k;
    size_t n = 0;
    pag_err_t err = PAG_OK;
    uint8_t gen[4096];
    /* every early return must leave an empty stack, never the caller's garbage */
    st->n = 0;
    st->frames = NULL;
    *detail = NULL;
    w->chain_n = 0;
    if (o->gen.size > sizeof gen) return PAG_ERR_CORRUPT;
    for (unsigned depth = 0; coro; depth++) {
        if (depth >= PAG_MAX_CORO_CHAIN) {
            warn(w, "truncated: a coroutine chain longer than %u (PAG_MAX_CORO_CHAIN)",
                 PAG_MAX_CORO_CHAIN);
            break;
        }
        int kind = obj_kind(w, coro);
        if (kind == TK_ASEND) {
            uint64_t g;
            if (pag__read_u64(&s->cache, coro + o->pyobject.size, &g) != PAG_OK) {
                err = PAG_ERR_READ;
                *detail = "unreadable async generator wrapper";
                break;
            }
            coro = g & k->tag_mask;
            if (!coro) break;
            kind = obj_kind(w, coro);
            if (kind != TK_ASYNC_GEN) break;
        } else if (kind != TK_COROUTINE && !(kind == TK_ASYNC_GEN && depth > 0)) {
            if (kind == 0 && depth == 0) {
                err = PAG_ERR_READ;
                *detail = "unreadable coroutine";
            }
            break;
        }
        if (pag__read(&s->cache, coro, o->gen.size, gen) != PAG_OK) {
            err = PAG_ERR_READ;
            *detail = "unreadable coroutine object";
            break;
        }
        int st8 = (int8_t)gen[o->gen.gi_frame_state];
        if (st8 == k->frame_cleared) break;
        const uint8_t *fb = gen + o->gen.gi_iframe;
        pag_frame_t f;
        int r = decode_frame(w, coro + o->gen.gi_iframe, fb, &f);
        if (r <= 0) {
            if (r < 0) err = PAG_ERR_NOMEM;
            break;
        }
        f.kind = kind == TK_ASYNC_GEN ? PAG_FRAME_ASYNC_GEN : PAG_FRAME_ASYNC;
        if (push_frame(w, &n, &f) != 0) return PAG_ERR_NOMEM;
        if (st8 != k->frame_yield_from && st8 != k->frame_yield_from_locked) break;
        if ((int8_t)fb[o->frame.owner] != k->owner_generator) {
            err = PAG_ERR_CORRUPT;
            *detail = "a suspended coroutine does not own its frame";
            break;
        }
        uint64_t sp = pag__u64(fb, o->frame.stackpointer) & k->tag_mask;
        uint64_t stack_lo = coro + o->gen.gi_iframe + o->frame.localsplus;
        if (!sp || sp < stack_lo + 8 * (uint64_t)k->await_slot) break;
        uint64_t next;
        if (pag__read_u64(&s->cache, sp - 8 * (uint64_t)k->await_slot, &next) != PAG_OK) {
            err = PAG_ERR_READ;
            *detail = "unreadable frame stack";
            break;
        }
        next &= k->tag_mask;
        if (w->chain_n < PAG_MAX_CORO_CHAIN) w->chain[w->chain_n++] = coro;
        if (chain_seen(w, n, next)) {
            err = PAG_ERR_CORRUPT;
            *detail = "coroutines await each other in a loop";
            break;
        }
        coro = next;
    }
    /* Collected outermost first: the task's coroutine, then what it awaits. */
    if (commit_stack(w, n, 1, st) != 0) return PAG_ERR_NOMEM;
    return err;
}

/* The real frame stack of a thread, down to (and including) the frame of
 * the running task's coroutine.  Innermost first. */
static void thread_stack(walker_t *w, uint64_t tstate, uint64_t current_frame, uint64_t coro,
                         pag_stack_t *st)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    uint8_t fb[1024];
    uint64_t target = coro ? coro + o->gen.gi_iframe : 0;
    uint64_t base = s->k.has_base_frame ? tstate + o->tstate.base_frame : 0;
    size_t n = 0;
    int found = 0;
    st->n = 0;
    st->frames = NULL;
    if (o->frame.size > sizeof fb) return;
    uint64_t f = current_frame;
    for (unsigned i = 0; f && f != base; i++) {
        if (i >= PAG_MAX_THREAD_FRAMES) {
            warn(w, "truncated: a thread stack deeper than %u frames (PAG_MAX_THREAD_FRAMES)",
                 PAG_MAX_THREAD_FRAMES);
            break;
        }
        if (pag__read(&s->cache, f, o->frame.size, fb) != PAG_OK) break;
        pag_frame_t fr;
        if (decode_frame(w, f, fb, &fr) > 0 && push_frame(w, &n, &fr) != 0) return;
        if (f == target) {
            found = 1;
            break;
        }
        f = pag__u64(fb, o->frame.previous);
    }
    if (!found)
        return; /* the task's coroutine is not on this stack: show nothing rather than garbage */
    commit_stack(w, n, 0, st);
}

/* ---- tasks ---- */

/* Add a node for addr.  *existing (if given) receives the index of a node
 * already there, in which case nothing is added and SIZE_MAX returned. */
static size_t new_node_ex(walker_t *w, uint64_t addr, size_t *existing)
{
    pag_snapshot_t *p = &w->snap->pub;
    if (existing) *existing = SIZE_MAX;
    if (p->n_tasks >= PAG_MAX_NODES) return SIZE_MAX;
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

static size_t new_node(walker_t *w, uint64_t addr)
{
    return new_node_ex(w, addr, NULL);
}

static void node_fail(walker_t *w, size_t i, pag_err_t e, const char *detail)
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
        node_fail(w, i, PAG_ERR_READ, "unreadable task name");
        return;
    }
    if (flags & PAG_TPFLAGS_LONG_SUBCLASS) {
        int64_t v;
        if (pag__read_long(s, name, &v) != PAG_OK) {
            node_fail(w, i, PAG_ERR_CORRUPT, "bad task name counter");
            return;
        }
        char buf[32];
        int n = snprintf(buf, sizeof buf, "Task-%lld", (long long)v);
        t->name = intern(w, buf, (size_t)n);
    } else if (flags & PAG_TPFLAGS_UNICODE_SUBCLASS) {
        int trunc;
        pag_err_t e = pag__read_str(s, name, PAG_MAX_STR_CHARS, &w->sb, &trunc);
        if (e) {
            node_fail(w, i, e, "unreadable task name");
            return;
        }
        if (trunc) warn(w, "truncated: a task name longer than %u characters", PAG_MAX_STR_CHARS);
        t->name = intern(w, w->sb.p, w->sb.n);
    } else {
        node_fail(w, i, PAG_ERR_CORRUPT, "task name is neither str nor int");
    }
}

/* Read the awaited_by field: NULL, one waiter, or a set of waiters. */
static void read_awaiters(walker_t *w, size_t i, uint64_t ab, int is_set)
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
        node_fail(w, i, PAG_ERR_READ, "unreadable awaited_by set");
        return;
    }
    int64_t used = pag__i64(sb, o->set.used), mask = pag__i64(sb, o->set.mask);
    uint64_t table = pag__u64(sb, o->set.table);
    if (mask < 0 || (uint64_t)mask >= PAG_MAX_SET_SLOTS || ((mask + 1) & mask) != 0 || used < 0 ||
        used > mask + 1 || !table) {
        node_fail(w, i, PAG_ERR_CORRUPT, "invalid awaited_by set");
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
        node_fail(w, i, PAG_ERR_READ, "unreadable awaited_by set table");
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
    for (size_t j = 0; j < slots; j++) {
        uint64_t key = pag__u64(entries, j * 16);
        int64_t hash = pag__i64(entries, j * 16 + 8);
        if (!key) continue; /* empty slot */
        r->set_fill++;
        if (hash == -1 || r->n == (size_t)used) continue; /* deleted slot (or more than used) */
        r->hashes[r->n] = hash;
        r->addrs[r->n++] = key & s->k.tag_mask;
    }
    free(entries);
}

/* Decode a node whose object bytes are in w->objbuf. */
static void decode_node(walker_t *w, size_t i, const uint8_t *ob)
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
        pag_err_t e = coro_chain(w, pag__u64(ob, a->task.coro) & m, &st, &detail);
        t = &w->snap->pub.tasks[i];
        t->stack = st;
        if (e) node_fail(w, i, e, detail);
    }
    read_awaiters(w, i, pag__u64(ob, a->task.awaited_by) & m, ob[a->task.awaited_by_is_set] != 0);
}

static pag_thread_t *new_thread(walker_t *w)
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
    return t;
}

/* Walk one circular task list starting at the embedded head node.
 *
 * Tasks go in batches: first the list links of up to PAG_LIST_BATCH tasks
 * (each object copied whole), then one readv for the blocks of all their
 * coroutines and names, then the decoding.  A list is a chain of dependent
 * reads; batching moves everything that does not depend on the chain out of
 * it. */
static void walk_list(walker_t *w, size_t thread_idx, uint64_t head)
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
        warn(w, "cannot read a task list head at 0x%llx", (unsigned long long)head);
        return;
    }
    int stop = 0;
    for (size_t count = 0; !stop && node != head;) {
        size_t k = 0;
        while (k < PAG_LIST_BATCH && node != head) {
            if (!node) {
                warn(w, "a task list is broken (NULL link after %zu tasks)", count);
                p->n_inconsistent++;
                stop = 1;
                break;
            }
            if (count >= PAG_MAX_TASKS_PER_LIST) {
                warn(w, "truncated: a task list longer than %u tasks", PAG_MAX_TASKS_PER_LIST);
                stop = 1;
                break;
            }
            uint64_t task = node - a->task.node;
            size_t seen;
            size_t i = new_node_ex(w, task, &seen);
            if (seen != SIZE_MAX) {
                warn(w, "a task list loops back to task 0x%llx after %zu tasks",
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
                node_fail(w, i, PAG_ERR_READ, "unreadable task object");
                warn(w, "a task list is broken at unreadable task 0x%llx",
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
            decode_node(w, idx[q], w->batch + q * tsz);
        if (w->oom) break;
    }
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

/* Decode nodes reached only as awaiters, then turn addresses into indices. */
static void resolve_awaiters(walker_t *w)
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
                n = new_node(w, r.addrs[j]);
                if (n == SIZE_MAX) {
                    if (!w->oom && !w->warned_limit[0]++)
                        warn(w, "truncated: more than %u tasks and futures", PAG_MAX_NODES);
                    continue;
                }
                if (pag__read(&s->cache, r.addrs[j], s->aoff.task.size, w->objbuf) != PAG_OK) {
                    node_fail(w, n, PAG_ERR_READ, "unreadable awaiter object");
                } else {
                    decode_node(w, n, w->objbuf); /* may append its own raw awaiters */
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

static void walk_interp(walker_t *w, uint64_t interp)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    const pag_async_offsets_t *a = &s->aoff;
    pag_snapshot_t *p = &w->snap->pub;
    uint8_t ib[64];
    int64_t interp_id = -1;
    uint64_t tstate = 0, main_ts = 0;
    if (pag__read(&s->cache, interp + o->interp.id, 8, ib) == PAG_OK) interp_id = pag__i64(ib, 0);
    pag__read_u64(&s->cache, interp + o->interp.threads_head, &tstate);
    pag__read_u64(&s->cache, interp + o->interp.threads_main, &main_ts);

    size_t tsz = a->thread.size > o->tstate.size ? a->thread.size : o->tstate.size;
    uint8_t *tb = malloc(tsz);
    if (!tb) {
        w->oom = 1;
        return;
    }
    pag_map_t seen;
    if (pag__map_init(&seen, 16) != 0) {
        free(tb);
        w->oom = 1;
        return;
    }
    for (unsigned n = 0; tstate; n++) {
        if (n >= PAG_MAX_THREADS) {
            warn(w, "truncated: more than %u threads", PAG_MAX_THREADS);
            break;
        }
        if (pag__map_get(&seen, tstate) != SIZE_MAX) {
            warn(w, "the thread list of interpreter %lld loops", (long long)interp_id);
            p->n_inconsistent++;
            break;
        }
        pag__map_put(&seen, tstate, n);
        if (pag__read(&s->cache, tstate, tsz, tb) != PAG_OK) {
            warn(w, "cannot read thread state 0x%llx", (unsigned long long)tstate);
            break;
        }
        pag_thread_t *th = new_thread(w);
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
        walk_list(w, ti, tstate + a->thread.tasks_head);
        if (running) {
            size_t ri = pag__map_get(&w->snap->nodes, running);
            if (ri == SIZE_MAX) {
                /* Running but not registered (e.g. an eager task between steps). */
                ri = new_node(w, running);
                if (ri != SIZE_MAX) {
                    if (pag__read(&s->cache, running, a->task.size, w->objbuf) == PAG_OK)
                        decode_node(w, ri, w->objbuf);
                    else
                        node_fail(w, ri, PAG_ERR_READ, "unreadable running task");
                    p->tasks[ri].thread = ti;
                }
            }
            if (ri != SIZE_MAX) {
                p->threads[ti].running_task = ri;
                p->tasks[ri].running = 1;
                uint64_t coro = 0;
                if (pag__read_u64(&s->cache, running + a->task.coro, &coro) == PAG_OK) {
                    pag_stack_t st = {0};
                    thread_stack(w, tstate, cur, coro & s->k.tag_mask, &st);
                    p->tasks[ri].running_stack = st;
                }
            }
        }
        tstate = next;
        if (w->oom) break;
    }
    pag__map_fini(&seen);
    free(tb);
    /* Tasks left behind by threads that exited. */
    pag_thread_t *orph = new_thread(w);
    if (orph) {
        orph->interp_id = interp_id;
        walk_list(w, (size_t)(orph - p->threads), interp + a->interp.tasks_head);
    }
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

size_t pag_snapshot_find(const pag_snapshot_t *snap, uint64_t addr)
{
    if (!snap) return SIZE_MAX;
    return pag__map_get(&((const snap_impl_t *)snap)->nodes, addr);
}

pag_err_t pag_snapshot_take(pag_session_t *s, pag_snapshot_t **out)
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
    w.snap = impl;
    w.arena = &impl->arena;
    pag_err_t err = PAG_OK;
    if (pag__map_init(&impl->nodes, 1024) || pag__map_init(&w.types, 64) ||
        pag__map_init(&w.codes, 256) || pag__map_init(&w.lines, 256)) {
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
        pag_map_t seen;
        if (pag__map_init(&seen, 8)) {
            err = PAG_ERR_NOMEM;
            goto done;
        }
        for (unsigned n = 0; interp && !w.oom; n++) {
            if (n >= PAG_MAX_INTERPRETERS || pag__map_get(&seen, interp) != SIZE_MAX) {
                warn(&w, "the interpreter list loops or is longer than %u", PAG_MAX_INTERPRETERS);
                break;
            }
            pag__map_put(&seen, interp, n);
            walk_interp(&w, interp);
            uint64_t next = 0;
            if (pag__read_u64(&s->cache, interp + s->off.interp.next, &next) != PAG_OK) break;
            interp = next;
        }
        pag__map_fini(&seen);
        resolve_awaiters(&w);
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
    free(w.code_infos);
    free(w.raw);
    free(w.sb.p);
    free(w.fscratch);
    free(w.objbuf);
    free(w.batch);
    if (err) {
        pag_snapshot_destroy(p);
        return err;
    }
    *out = p;
    return PAG_OK;
}
