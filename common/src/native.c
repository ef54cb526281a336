/* The native side of a snapshot (issue 14): a thread's native frames, as the
 * frontend's unwinder reports them, and the GIL.
 *
 * Why here and not in a frontend: the core may not unwind (no OS calls), but
 * everything after the unwinding -- the bound, the check that the stack
 * really moves outward, copying the strings, the GIL holder -- must be the
 * same in the CLI, gdb and lldb, or the same options would print different
 * frames.  A frontend's records are treated like target memory: an
 * unwinder fed a damaged core can return garbage, and nothing it says may
 * make the core loop, overrun or trust a frame that goes backwards. */
#include <stdlib.h>
#include <string.h>

#include "walk.h"

static const char *copy_str(walker_t *w, const char *s, size_t max)
{
    if (!s) return NULL;
    size_t n = strnlen(s, max);
    return pag__walk_intern(w, s, n);
}

/* Keep frames [0, n) of raw in thread ti, copying their strings, and cut the
 * stack where it stops moving outward: an sp below the previous one (the
 * stack grows down, so callers have higher ones) or a frame that repeats the
 * previous one exactly means the unwinder is lost; a caller at pc 0 is
 * where it ran into a zeroed stack. */
static size_t keep_frames(walker_t *w, pag_thread_t *th, const pag_native_frame_t *raw, size_t n)
{
    pag_native_frame_t *f = pag__arena_alloc(w->arena, (n ? n : 1) * sizeof *f);
    if (!f) {
        w->oom = 1;
        return 0;
    }
    size_t k = 0;
    for (; k < n; k++) {
        const pag_native_frame_t *r = &raw[k];
        if (k > 0 && r->sp && raw[k - 1].sp &&
            (r->sp < raw[k - 1].sp || (r->sp == raw[k - 1].sp && r->pc == raw[k - 1].pc))) {
            th->native_error = PAG_ERR_CORRUPT;
            th->native_note = "its native stack stops moving outward";
            break;
        }
        if (k > 0 && r->pc == 0) { /* an unwinder that ran into zeros: no frame there */
            th->native_error = PAG_ERR_TRUNCATED;
            th->native_note = "the unwinder stopped before the thread's first frame";
            break;
        }
        f[k] = *r;
        f[k].function = copy_str(w, r->function, 4096);
        f[k].module = copy_str(w, r->module, 4096); /* rendered by its file name */
        f[k].file = copy_str(w, r->file, 4096);
        if (!f[k].function) f[k].sym_offset = 0;
        if (!f[k].module) f[k].module_base = 0;
        if (!f[k].file || f[k].line < 0) f[k].line = 0;
        f[k].reserved = 0;
    }
    th->native = f;
    th->n_native = k;
    return k;
}

/* Thread ti's native stack through the frontend's native_frames accessor. */
void pag__walk_native(walker_t *w, size_t ti)
{
    pag_session_t *s = w->s;
    pag_thread_t *th = &w->snap->pub.threads[ti];
    const pag_accessors_t *acc = s->cache.acc;
    if (!acc->native_frames) {
        th->native_error = PAG_ERR_UNSUPPORTED;
        th->native_note = "this frontend cannot unwind native frames";
        return;
    }
    if (!w->native_buf) {
        w->native_buf = calloc(PAG_MAX_NATIVE_FRAMES, sizeof *w->native_buf);
        if (!w->native_buf) {
            w->oom = 1;
            return;
        }
    }
    /* cleared for every thread: a frontend that overstates *n must not
     * hand the core the previous thread's records and their dead strings */
    memset(w->native_buf, 0, PAG_MAX_NATIVE_FRAMES * sizeof *w->native_buf);
    size_t n = 0;
    pag_err_t e =
        acc->native_frames(s->cache.ctx, th->native_id, w->native_buf, PAG_MAX_NATIVE_FRAMES, &n);
    if (e != PAG_OK && e != PAG_ERR_TRUNCATED) {
        th->native_error = e;
        th->native_note = e == PAG_ERR_NOT_FOUND ? "the debugger knows no such thread"
                                                 : "its native stack cannot be unwound";
        return;
    }
    if (n > PAG_MAX_NATIVE_FRAMES) n = PAG_MAX_NATIVE_FRAMES;
    if (keep_frames(w, th, w->native_buf, n) < n) return;
    if (e == PAG_ERR_TRUNCATED) {
        th->native_error = PAG_ERR_TRUNCATED;
        th->native_note = "the unwinder stopped before the thread's first frame";
    } else if (n == PAG_MAX_NATIVE_FRAMES) {
        th->native_error = PAG_ERR_TRUNCATED;
        th->native_note = "its native stack is deeper than 1024 frames (PAG_MAX_NATIVE_FRAMES)";
    }
}

/* Which thread holds interpreter interp's GIL: the interpreter points at
 * the GIL it uses (its own, or the main interpreter's for a legacy
 * subinterpreter), whose `locked` and `last_holder` the table gives as
 * offsets from the interpreter's embedded GIL.  Threads
 * [first_thread, n_threads) are this interpreter's.  Free-threaded builds
 * have no single holder: nothing is read. */
void pag__walk_gil(walker_t *w, uint64_t interp, int64_t interp_id, size_t first_thread)
{
    pag_session_t *s = w->s;
    const pag_offsets_t *o = &s->off;
    pag_snapshot_t *p = &w->snap->pub;
    if (s->off.free_threaded) return;
    uint64_t gil = 0, holder = 0;
    uint8_t lk[4];
    uint64_t base = o->interp.gil_runtime_state;
    if (o->interp.gil_locked < base || o->interp.gil_holder < base) return;
    if (pag__read_u64(&s->cache, interp + o->interp.ceval_gil, &gil) != PAG_OK || !gil) return;
    if (pag__read(&s->cache, gil + (o->interp.gil_locked - base), 4, lk) != PAG_OK ||
        pag__read_u64(&s->cache, gil + (o->interp.gil_holder - base), &holder) != PAG_OK)
        return;
    int locked = pag__u32(lk, 0) != 0;
    size_t held = SIZE_MAX;
    for (size_t i = first_thread; i < p->n_threads; i++) {
        pag_thread_t *th = &p->threads[i];
        if (!th->tstate) continue;
        th->holds_gil = locked && th->tstate == holder;
        if (th->holds_gil) held = i;
    }
    if (!p->gil_known || interp_id == 0) { /* the main interpreter's wins */
        p->gil_known = 1;
        p->gil_locked = locked;
        p->gil_holder = held;
    }
}
