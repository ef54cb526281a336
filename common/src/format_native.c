/* Threads and native frames in the output (issue 14): the merged view of a
 * thread's stack, the GIL verdict, and the per-thread blocks the text
 * formats print after the graph.
 *
 * Why one file: the merge rule (pystack's hybrid mode: each native frame of
 * the evaluator stands for the run of Python frames it executes) and the
 * text of a native frame must be the same in every format and every
 * frontend, so every renderer asks here instead of walking frames itself.
 *
 * A thread block, in the text formats:
 *
 *   Thread 1234 (loop, in a callback, waits for the GIL held by thread 1240):
 *       [native] clock_nanosleep+0x5d (libc.so.6)
 *       slow_callback /srv/app.py:12
 *       (native stack incomplete: <why>)
 *
 * and in graph, asyncio.format_call_graph's entry form:
 *
 *   * Thread 1234 (loop, in a callback):
 *     + Call stack:
 *     |   [native] clock_nanosleep+0x5d (libc.so.6)
 *     |   File '/srv/app.py', line 12, in slow_callback()
 */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

int pag__is_evaluator(const pag_native_frame_t *f)
{
    static const char ev[] = "_PyEval_EvalFrameDefault";
    if (!f->function || strncmp(f->function, ev, sizeof ev - 1) != 0) return 0;
    char c = f->function[sizeof ev - 1];
    return c == '\0' || c == '.'; /* gcc's ".cold" part is the same frame */
}

const char *pag__module_name(const pag_native_frame_t *f)
{
    if (!f->module) return NULL;
    const char *b = strrchr(f->module, '/');
    return b && b[1] ? b + 1 : f->module;
}

size_t pag__native_text(const pag_native_frame_t *f, char *buf, size_t len)
{
    int n;
    const char *mod = pag__module_name(f);
    if (f->function && mod)
        n = snprintf(buf, len, "%s+0x%llx (%s)", f->function, (unsigned long long)f->sym_offset,
                     mod);
    else if (f->function)
        n = snprintf(buf, len, "%s+0x%llx", f->function, (unsigned long long)f->sym_offset);
    else if (mod)
        n = snprintf(buf, len, "%s+0x%llx", mod, (unsigned long long)(f->pc - f->module_base));
    else
        n = snprintf(buf, len, "0x%llx", (unsigned long long)f->pc);
    if (n >= 0 && (size_t)n < len && f->file && f->line > 0)
        n += snprintf(buf + n, len - (size_t)n, " at %s:%d", f->file, f->line);
    return n < 0 ? 0 : (size_t)n;
}

void pag__put_native(FILE *out, const pag_native_frame_t *f)
{
    char buf[1024];
    pag__native_text(f, buf, sizeof buf);
    fputs("[native] ", out);
    pag__put_text(out, buf);
}

void pag__put_vframe_text(FILE *out, const pag__vframe_t *v)
{
    if (v->nat)
        pag__put_native(out, v->nat);
    else
        pag__put_frame_text(out, v->py);
}

/* Which native frame's stack area holds address a: frame k's locals lie in
 * [sp_k, sp_k+1).  SIZE_MAX when none (or the frontend gave no sp). */
static size_t frame_holding(const pag_thread_t *th, uint64_t a)
{
    for (size_t k = 0; k + 1 < th->n_native; k++) {
        uint64_t lo = th->native[k].sp, hi = 0;
        /* an inlined frame shares its caller's stack: the debuggers give it
         * no sp, so the area ends at the next frame that has one */
        for (size_t q = k + 1; q < th->n_native && !hi; q++)
            hi = th->native[q].sp;
        if (lo && hi > lo && a >= lo && a < hi) return k;
    }
    return SIZE_MAX;
}

/* Thread th's stack, innermost first, at most py_max Python frames.  With
 * native, each native frame of the evaluator is replaced by the Python
 * frames it runs.  Which frame that is, is found by where the evaluator's
 * C entry frame lives: it is a local of the _PyEval_EvalFrameDefault call
 * that runs the Python frames just inside it, so the native frame whose
 * stack area holds that entry frame's address is that call -- which needs
 * no symbol (Debian's release builds run the evaluator's body in a part of
 * the function no symbol covers).  When the frontend gives no stack
 * pointers, the evaluator is known by its name and each one takes the
 * frames up to the next entry mark.  Python frames no evaluator frame
 * claims (the native stack ends early, or none is given) follow at the
 * end, so the merge never drops one. */
size_t pag__thread_view(const pag_thread_t *th, int native, size_t py_max, pag__vframe_t **out)
{
    size_t nn = native && th->native ? th->n_native : 0;
    size_t np = th->py_stack.frames ? th->py_stack.n : 0;
    if (np > py_max) np = py_max;
    pag__vframe_t *v = malloc((nn + np + 1) * sizeof *v);
    size_t *owner = malloc((np + 1) * sizeof *owner);
    *out = v;
    if (!v || !owner) {
        free(owner);
        free(v);
        *out = NULL;
        return 0;
    }
    const pag_frame_t *pf = th->py_stack.frames;
    int by_sp = 0;
    for (size_t j = 0; j < np; j++) {
        owner[j] = nn && pf[j].entry ? frame_holding(th, pf[j].entry) : SIZE_MAX;
        by_sp |= owner[j] != SIZE_MAX;
    }
    size_t n = 0, pi = 0;
    int capped = py_max != SIZE_MAX;
    for (size_t k = 0; k < nn; k++) {
        const pag_native_frame_t *f = &th->native[k];
        if (capped && pi >= np) break; /* a task's view ends at its coroutine */
        size_t end = SIZE_MAX;         /* the last Python frame frame k runs */
        for (size_t j = pi; by_sp && j < np && end == SIZE_MAX; j++)
            if (owner[j] != SIZE_MAX) end = owner[j] == k ? j : SIZE_MAX - 1;
        if (!by_sp && pag__is_evaluator(f) && pi < np)
            for (end = pi; end + 1 < np && !pf[end].entry; end++)
                ;
        if (end >= np) {
            v[n].py = NULL, v[n++].nat = f;
            continue;
        }
        while (pi <= end)
            v[n].py = &pf[pi++], v[n++].nat = NULL;
    }
    while (pi < np)
        v[n].py = &pf[pi++], v[n++].nat = NULL;
    free(owner);
    return n;
}

/* A task's call stack as graph/tasks/tree show it: the running stack (with
 * --native, merged with its thread's native frames down to the task's
 * coroutine), else the coroutine chain. */
size_t pag__task_view(const pag_snapshot_t *snap, const pag_task_t *t, int native,
                      pag__vframe_t **out)
{
    const pag_stack_t *st = &t->stack;
    if (t->running && t->running_stack.frames && t->running_stack.n > 0) {
        st = &t->running_stack;
        if (native && t->thread < snap->n_threads) {
            const pag_thread_t *th = &snap->threads[t->thread];
            if (th->py_stack.n >= st->n) return pag__thread_view(th, 1, st->n, out);
        }
    }
    size_t n = st->frames ? st->n : 0;
    pag__vframe_t *v = malloc((n + 1) * sizeof *v);
    *out = v;
    if (!v) return 0;
    for (size_t i = 0; i < n; i++)
        v[i].py = &st->frames[i], v[i].nat = NULL;
    return n;
}

/* Does thread ti wait for the GIL?  3.15's thread state says so itself
 * (gil_requested); for 3.14 it is read off the native stack: a condition
 * wait of the interpreter's take_gil (CPython's locks wait on semaphores,
 * only the GIL on a condition variable) above the thread's first evaluator
 * frame, while another thread holds the GIL. */
int pag__gil_waits(const pag_snapshot_t *snap, size_t ti)
{
    const pag_thread_t *th = &snap->threads[ti];
    if (!snap->gil_known || !snap->gil_locked || snap->gil_holder == ti || th->holds_gil == 1 ||
        !th->tstate)
        return 0;
    if (th->gil_requested >= 0) return th->gil_requested == 1;
    for (size_t k = 0; k < th->n_native; k++) {
        const char *fn = th->native[k].function;
        if (pag__is_evaluator(&th->native[k])) break;
        if (fn && (strncmp(fn, "take_gil", 8) == 0 || strstr(fn, "pthread_cond_timedwait") ||
                   strstr(fn, "pthread_cond_wait")))
            return 1;
    }
    return 0;
}

/* Where the GIL holder is: its innermost native frame and its innermost
 * Python frame, as far as known ("" when nothing is). */
void pag__put_holder_where(FILE *out, const pag_snapshot_t *snap)
{
    if (snap->gil_holder >= snap->n_threads) return;
    const pag_thread_t *h = &snap->threads[snap->gil_holder];
    if (h->n_native) {
        fputs(", in ", out);
        pag__put_vframe_text(out, &(pag__vframe_t){NULL, &h->native[0]});
    }
    if (h->py_stack.n) {
        fputs(h->n_native ? " (innermost Python frame: " : ", in ", out);
        pag__put_frame_text(out, &h->py_stack.frames[0]);
        if (h->n_native) fputc(')', out);
    }
}

/* Is thread ti's block printed?  Never for an orphan list; with --task
 * only under --all-threads; --thread N picks one; --all-threads shows every
 * thread; otherwise a loop stuck in a callback, and with --native the
 * --thread N thread when it runs no task (its running task shows its own
 * native frames). */
int pag__thread_shown(const pag_snapshot_t *snap, const pag_options_t *o, size_t ti)
{
    const pag_thread_t *th = &snap->threads[ti];
    if (!th->tstate) return 0;
    if (o->have_thread && th->native_id != o->thread) return 0;
    if (o->all_threads) return 1;
    if (o->task) return 0;
    if (th->in_callback && th->py_stack.n) return 1;
    return o->native && o->have_thread && th->running_task == SIZE_MAX;
}

/* "Thread N (main, loop, ...)" */
static void put_thread_header(FILE *out, const pag_snapshot_t *snap, size_t ti, int graph)
{
    const pag_thread_t *th = &snap->threads[ti];
    const char *parts[6];
    size_t n = 0;
    if (th->is_main) parts[n++] = "main";
    if (th->running_loop) parts[n++] = "loop";
    if (th->running_task != SIZE_MAX) parts[n++] = "a task running";
    if (th->in_callback) parts[n++] = "in a callback";
    if (th->holds_gil == 1) parts[n++] = "holds the GIL";
    int waits = pag__gil_waits(snap, ti);
    fprintf(out, "%sThread %llu", graph ? "* " : "", (unsigned long long)th->native_id);
    for (size_t i = 0; i < n; i++)
        fputs(i ? ", " : " (", out), fputs(parts[i], out);
    if (waits)
        fprintf(out, "%swaits for the GIL held by thread %llu", n ? ", " : " (",
                (unsigned long long)snap->threads[snap->gil_holder].native_id);
    fputs(n || waits ? "):" : ":", out);
}

static void put_block(FILE *out, const pag_snapshot_t *snap, const pag_options_t *o, size_t ti,
                      int graph)
{
    const pag_thread_t *th = &snap->threads[ti];
    pag__vframe_t *v = NULL;
    size_t n = pag__thread_view(th, o->native, SIZE_MAX, &v);
    put_thread_header(out, snap, ti, graph);
    if (graph && n) fputs("\n  + Call stack:", out);
    for (size_t i = 0; i < n; i++) {
        fputs(graph ? "\n  |   " : "\n    ", out);
        if (graph && !v[i].nat)
            pag__put_graph_entry(out, v[i].py);
        else
            pag__put_vframe_text(out, &v[i]);
    }
    if (o->native && th->native_note) {
        fputs(graph ? "\n  |   " : "\n    ", out);
        fprintf(out, "(native stack incomplete: %s)", th->native_note);
    }
    if (!n && !(o->native && th->native_note))
        fputs(graph ? "\n  + (no Python frames)" : "\n    (no Python frames)", out);
    fputc('\n', out);
    free(v);
}

size_t pag__render_threads(const pag_snapshot_t *snap, const pag_options_t *o, int graph,
                           int blank_first, FILE *out)
{
    size_t shown = 0;
    for (size_t ti = 0; ti < snap->n_threads; ti++) {
        if (!pag__thread_shown(snap, o, ti)) continue;
        if (shown || blank_first) fputc('\n', out);
        put_block(out, snap, o, ti, graph);
        shown++;
    }
    return shown;
}

size_t pag__threads_shown(const pag_snapshot_t *snap, const pag_options_t *o)
{
    size_t n = 0;
    for (size_t ti = 0; ti < snap->n_threads; ti++)
        n += (size_t)pag__thread_shown(snap, o, ti);
    return n;
}
