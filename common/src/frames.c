/* Frames and code objects: what a task's coroutine chain and a thread's
 * real stack are made of.  Kept apart from the task lists because this is
 * the part that knows CPython's frame and generator layout (owner, stack
 * pointer, the awaited-object slot, frame states) and keeps the caches per
 * type, per code object and per instruction pointer, while tasks.c reads
 * only task objects and list links.  The type classification lives here
 * too: only frames and chains ask what kind of object something is.
 *
 * Target memory is untrusted: a chain is bounded by PAG_MAX_CORO_CHAIN and
 * checked for a coroutine seen twice, a stack by PAG_MAX_THREAD_FRAMES. */
#include <stdlib.h>

#include "walk.h"

enum type_kind {
    TK_OTHER = 1,
    TK_COROUTINE,
    TK_ASEND, /* async_generator_asend / _athrow: wrapper around an async generator */
    TK_ASYNC_GEN,
    TK_GENERATOR,
    TK_CODE,
    TK_HEAP, /* a heap type: never coroutine-like */
};

/* A coroutine chain that revisits a coroutine is corrupt (or torn). */
static int chain_seen(const walker_t *w, size_t n, uint64_t coro)
{
    (void)n;
    for (size_t i = 0; i < w->chain_n; i++)
        if (w->chain[i] == coro) return 1;
    return 0;
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
            ci->qualname = pag__walk_intern(w, w->sb.p, w->sb.n);
        else
            ci->bad = 1;
        if (f && pag__read_str(s, f, 4096, &w->sb, &trunc) == PAG_OK)
            ci->filename = pag__walk_intern(w, w->sb.p, w->sb.n);
        else
            ci->bad = 1;
        if (lt && pag__read_bytes(s, lt, PAG_MAX_LINETABLE, &w->sb) == PAG_OK) {
            uint8_t *copy = pag__arena_alloc(w->arena, w->sb.n ? w->sb.n : 1);
            if (copy) {
                memcpy(copy, w->sb.p, w->sb.n);
                ci->linetable = copy;
                ci->linetable_len = w->sb.n;
            }
        } else if (lt) {
            ci->bad = 1; /* an unreadable location table is no "line None" */
        }
    }
    if (pag__map_put(&w->codes, code, w->n_codes) != 0) {
        w->oom = 1;
        return NULL;
    }
    return &w->code_infos[w->n_codes++];
}

/* ---- thread-local bytecode (free-threaded builds) ----
 *
 * A free-threaded CPython lets each thread specialise its own copy of a
 * code object's bytecode: the frame's tlbc_index names the copy its
 * instr_ptr points into.  Copy 0 is the code object's own co_code_adaptive;
 * copy i > 0 is entries[i] of the _PyCodeArray at co_tlbc ({Py_ssize_t size;
 * char *entries[size]}, Include/cpython/code.h).  An offset measured from
 * co_code_adaptive for a frame on another copy is a wrong line (or none) on
 * every thread but the first, so the base is found here.
 *
 * The line cache (w->lines) stays keyed by instr_ptr alone: CPython
 * allocates each copy separately and whole (the code's full length), so
 * the copies alive in one snapshot never overlap: one instr_ptr lies in one
 * copy of one code object, and every copy maps an offset to the same line
 * (they share one location table).
 *
 * When the copy cannot be found (an index outside the array, a NULL or
 * unreadable entry, an array size no CPython makes) the frame is kept with
 * its line unknown (-1), and the damage is returned with a reason so that
 * the task fails (READ or CORRUPT, like an unreadable code object: issue 18,
 * no damage passes as CPython's "line None").  Copy 0 costs no read. */
static pag_err_t tlbc_base(walker_t *w, uint64_t code, const uint8_t *fb, uint64_t *base,
                           const char **why)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    /* offset 0 is f_executable (and ob_refcnt): a free-threaded table
     * without these offsets cannot say which copy a frame runs */
    if (!o->frame.tlbc_index) {
        *why = "a free-threaded table without interpreter_frame.tlbc_index";
        return PAG_ERR_CORRUPT;
    }
    int32_t idx = (int32_t)pag__u32(fb, o->frame.tlbc_index);
    if (idx == 0) return PAG_OK; /* the code object's own bytecode: *base as given */
    uint64_t arr, size, entry;
    if (idx < 0) {
        *why = "a negative thread-local bytecode index";
        return PAG_ERR_CORRUPT;
    }
    if (!o->code.co_tlbc) {
        *why = "a free-threaded table without code_object.co_tlbc";
        return PAG_ERR_CORRUPT;
    }
    if (pag__read_u64(&s->cache, code + o->code.co_tlbc, &arr) != PAG_OK) {
        *why = "unreadable thread-local bytecode array";
        return PAG_ERR_READ;
    }
    if (!arr) { /* CPython gives every code object of the build one */
        *why = "a code object without its thread-local bytecode array";
        return PAG_ERR_CORRUPT;
    }
    if (pag__read_u64(&s->cache, arr, &size) != PAG_OK) {
        *why = "unreadable thread-local bytecode array";
        return PAG_ERR_READ;
    }
    if (size == 0 || size > PAG_MAX_TLBC) { /* a Py_ssize_t: a negative one is huge here */
        *why = "a thread-local bytecode array of implausible size";
        return PAG_ERR_CORRUPT;
    }
    if ((uint64_t)idx >= size) {
        *why = "a thread-local bytecode index past its array";
        return PAG_ERR_CORRUPT;
    }
    if (pag__read_u64(&s->cache, arr + 8 + 8 * (uint64_t)idx, &entry) != PAG_OK) {
        *why = "unreadable thread-local bytecode array";
        return PAG_ERR_READ;
    }
    /* NULL: no thread of this index has run the code (CPython fills
     * entries[i] before thread i runs it, and frees a copy only once no
     * thread holds index i), so no frame can be on that copy */
    if (!entry) {
        *why = "a frame on a thread-local bytecode copy that does not exist";
        return PAG_ERR_CORRUPT;
    }
    *base = entry;
    return PAG_OK;
}

/* The line of the frame in fb, running `code` (ci): its instruction offset
 * from the start of the bytecode copy it runs.  -1 when the location table
 * has none; -1 with *err and *why set when the copy cannot be found (only
 * the first: they are left alone once set, and for a frame without damage). */
static int frame_line(walker_t *w, uint64_t code, const code_info_t *ci, const uint8_t *fb,
                      pag_err_t *err, const char **why)
{
    const pag_offsets_t *o = &w->s->off;
    uint64_t base = ci->base;
    pag_err_t e;
    const char *reason = NULL;
    if (o->free_threaded && (e = tlbc_base(w, code, fb, &base, &reason)) != PAG_OK) {
        if (*err == PAG_OK) *err = e, *why = reason;
        return -1;
    }
    uint64_t ip = pag__u64(fb, o->frame.instr_ptr);
    int line = -1;
    size_t memo = pag__map_get(&w->lines, ip);
    if (memo != SIZE_MAX) {
        line = (int)memo - 2;
    } else if (ci->linetable && ip >= base) {
        line =
            pag__linetable_line(ci->linetable, ci->linetable_len, ci->firstlineno, (ip - base) / 2);
        if (pag__map_put(&w->lines, ip, (size_t)(line + 2)) != 0) w->oom = 1;
    }
    return line;
}

/* Decode one interpreter frame whose bytes are in fb.  Returns 1 and fills
 * *out for a Python frame, 0 for a frame that is skipped (C entry/shim),
 * -1 when it cannot be decoded.  A frame whose line cannot be known for
 * damage (frame_line) is still 1, its line -1, with *line_err and *why set
 * (left alone for a frame without damage). */
static int decode_frame_ex(walker_t *w, uint64_t faddr, const uint8_t *fb, pag_frame_t *out,
                           pag_err_t *line_err, const char **why)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    uint64_t exe = pag__u64(fb, o->frame.executable) & s->k.tag_mask;
    int owner = (int8_t)fb[o->frame.owner];
    if (!exe || owner >= s->k.owner_interp || owner < 0) return 0;
    int kind = obj_kind(w, exe);
    if (!kind) return -2;          /* its code object is unreadable */
    if (kind != TK_CODE) return 0; /* e.g. a shim or a corrupt frame */
    const code_info_t *ci = get_code(w, exe);
    if (!ci) return -1;
    if (ci->bad) return -2;
    int line = frame_line(w, exe, ci, fb, line_err, why);
    out->qualname = ci->qualname;
    out->filename = ci->filename;
    out->lineno = line;
    out->kind = PAG_FRAME_SYNC;
    out->entry = 0;
    if (owner == s->k.owner_generator) {
        int k = obj_kind(w, faddr - o->gen.gi_iframe);
        out->kind = k == TK_ASYNC_GEN   ? PAG_FRAME_ASYNC_GEN
                    : k == TK_GENERATOR ? PAG_FRAME_GEN
                                        : PAG_FRAME_ASYNC;
    }
    return 1;
}

/* The thread stacks show a frame whose copy is damaged with its line
 * unknown; only a task's coroutine chain fails its task for it. */
static int decode_frame(walker_t *w, uint64_t faddr, const uint8_t *fb, pag_frame_t *out)
{
    pag_err_t line_err = PAG_OK;
    const char *why = NULL;
    return decode_frame_ex(w, faddr, fb, out, &line_err, &why);
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

/* A task's coroutine that is, by its type, not one of CPython's: a heap
 * type named like a coroutine (Cython's "_cython_3_x.coroutine") or a
 * generator-based coroutine (@types.coroutine).  Such a task has no frame
 * to show, and format_call_graph() shows none either. */
static int foreign_coroutine(walker_t *w, uint64_t obj, int kind)
{
    if (kind == TK_GENERATOR) return 1;
    if (kind != TK_HEAP) return 0;
    uint64_t type;
    char name[128];
    if (pag__read_u64(&w->s->cache, obj + w->s->off.pyobject.ob_type, &type) != PAG_OK) return 0;
    if (pag__read_type_name(w->s, type & w->s->k.tag_mask, name, sizeof name) != PAG_OK) return 0;
    return strstr(name, "coroutine") != NULL;
}

/* Follow a task's coroutine through what each suspended frame awaits.
 * Result: innermost first.  Returns PAG_OK or the reason the chain broke.
 *
 * A pending task's coroutine yields at least its own frame.  When it yields
 * none, something was misread (a changed gen.gi_iframe offset, a zeroed
 * frame, coro aimed at another object), and an empty stack would pass for
 * a real one: that is a decode failure.  Only three empty stacks are real:
 * no coroutine (a finished task drops it), a cleared frame (the coroutine
 * has returned, the task not yet unregistered) and a coroutine that is not
 * CPython's (foreign_coroutine). */
pag_err_t pag__coro_chain(walker_t *w, uint64_t coro, pag_stack_t *st, const char **detail)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    const pag_consts_t *k = &s->k;
    size_t n = 0;
    pag_err_t err = PAG_OK, line_err = PAG_OK; /* line_err: a frame kept with its line unknown */
    const char *line_why = NULL;
    uint8_t gen[4096];
    /* every early return must leave an empty stack, never the caller's garbage */
    st->n = 0;
    st->frames = NULL;
    *detail = NULL;
    w->chain_n = 0;
    if (o->gen.size > sizeof gen) return PAG_ERR_CORRUPT;
    int empty_ok = !coro; /* see above: an empty stack that is real */
    for (unsigned depth = 0; coro; depth++) {
        if (depth >= PAG_MAX_CORO_CHAIN) {
            pag__walk_warn(w, "truncated: a coroutine chain longer than %u (PAG_MAX_CORO_CHAIN)",
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
            } else if (depth == 0 && !(empty_ok = foreign_coroutine(w, coro, kind))) {
                err = PAG_ERR_CORRUPT;
                *detail = "the task's coroutine is not a coroutine object";
            }
            break;
        }
        if (pag__read(&s->cache, coro, o->gen.size, gen) != PAG_OK) {
            err = PAG_ERR_READ;
            *detail = "unreadable coroutine object";
            break;
        }
        int st8 = (int8_t)gen[o->gen.gi_frame_state];
        if (st8 == k->frame_cleared) {
            empty_ok |= depth == 0;
            break;
        }
        const uint8_t *fb = gen + o->gen.gi_iframe;
        pag_frame_t f;
        int r = decode_frame_ex(w, coro + o->gen.gi_iframe, fb, &f, &line_err, &line_why);
        if (r <= 0) {
            if (r == -1) err = PAG_ERR_NOMEM;
            if (r == -2) err = PAG_ERR_READ, *detail = "unreadable code object";
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
    if (err == PAG_OK && n == 0 && !empty_ok) {
        err = PAG_ERR_CORRUPT;
        *detail = "the task's coroutine has no frame";
    }
    if (err == PAG_OK && line_err != PAG_OK) err = line_err, *detail = line_why; /* a line is not */
    /* Collected outermost first: the task's coroutine, then what it awaits. */
    if (commit_stack(w, n, 1, st) != 0) return PAG_ERR_NOMEM;
    return err;
}

/* Is the frame in fb damage?  No frame the interpreter links in lacks a
 * code object unless it is a C entry or shim frame; one that cannot be read
 * (owner < 0), or is all zeros (gcore writes a thread's stack it cannot
 * read as zeros), is. */
static int damaged_frame(const pag_session_t *s, const uint8_t *fb, int owner)
{
    return owner < 0 ||
           (!(pag__u64(fb, s->off.frame.executable) & s->k.tag_mask) && owner < s->k.owner_interp);
}

/* Walk a thread's frames from current_frame, innermost first, into the
 * scratch stack: down to the frame `target` (a running task's coroutine;
 * 1 is returned when it was met), or, with target 0, the whole stack, each
 * Python frame just inside a C entry frame marked `entry` with that
 * frame's address.  Only the whole-stack walk reports damage (*cut: the
 * damaged frame's address): a running stack that does not reach its
 * coroutine is not shown at all. */
static int walk_thread(walker_t *w, uint64_t tstate, uint64_t current_frame, uint64_t target,
                       size_t *np, uint64_t *cut)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    uint8_t fb[1024];
    uint64_t base = s->k.has_base_frame ? tstate + o->tstate.base_frame : 0;
    size_t n = 0;
    *np = 0;
    if (o->frame.size > sizeof fb) return 0;
    uint64_t f = current_frame;
    for (unsigned i = 0; f && f != base; i++) {
        if (i >= PAG_MAX_THREAD_FRAMES) {
            pag__walk_warn(
                w, "truncated: a thread stack deeper than %u frames (PAG_MAX_THREAD_FRAMES)",
                PAG_MAX_THREAD_FRAMES);
            break;
        }
        int owner =
            pag__read(&s->cache, f, o->frame.size, fb) == PAG_OK ? (int8_t)fb[o->frame.owner] : -1;
        if (owner < 0 && target) break;
        if (!target && damaged_frame(s, fb, owner)) {
            *cut = f;
            break;
        }
        pag_frame_t fr;
        memset(&fr, 0, sizeof fr);
        int d = decode_frame(w, f, fb, &fr);
        if (d < 0 && !target) break;
        if (d > 0 && push_frame(w, &n, &fr) != 0) return -1;
        *np = n;
        if (target && f == target) return 1;
        if (!target && d == 0 && owner >= s->k.owner_interp && n && !w->fscratch[n - 1].entry)
            w->fscratch[n - 1].entry = f;
        f = pag__u64(fb, o->frame.previous);
    }
    *np = n;
    return 0;
}

/* The real frame stack of a thread, down to (and including) the frame of
 * the running task's coroutine.  Innermost first; empty when the
 * coroutine is not on the stack (nothing rather than garbage). */
void pag__thread_stack(walker_t *w, uint64_t tstate, uint64_t current_frame, uint64_t coro,
                       pag_stack_t *st)
{
    size_t n = 0;
    st->n = 0;
    st->frames = NULL;
    if (!coro) return;
    uint64_t target = coro + w->s->off.gen.gi_iframe;
    uint64_t cut = 0;
    if (walk_thread(w, tstate, current_frame, target, &n, &cut) == 1) commit_stack(w, n, 0, st);
}

/* The whole Python stack of a thread, innermost first (issue 14: --native,
 * --all-threads, a loop blocked in a plain callback).  The frames from the
 * innermost one to the first marked `entry` are what the innermost
 * _PyEval_EvalFrameDefault call runs, and so on outward: the native merge
 * (format_native.c) finds each call by where its entry frame lives. */
uint64_t pag__thread_pystack(walker_t *w, uint64_t tstate, uint64_t current_frame, pag_stack_t *st)
{
    size_t n = 0;
    uint64_t cut = 0;
    st->n = 0;
    st->frames = NULL;
    if (walk_thread(w, tstate, current_frame, 0, &n, &cut) >= 0) commit_stack(w, n, 0, st);
    return cut;
}
