/* --format graph: the text of asyncio.format_call_graph(task), rebuilt from
 * the snapshot (CPython Lib/asyncio/graph.py, render_level).
 *
 *   * Task(name='x', id=0x...)      or  * Future(id=0x...)
 *     + Call stack:                 (omitted when the kept stack is empty)
 *     |   File '<file>', line N, in async f()    ("async ", "async generator ",
 *                                                 "generator " or no tag)
 *     + Awaited by:
 *         <each awaiter, the same at level+1, 4 spaces per level>
 *
 * Stacks: a suspended task shows its whole coroutine chain, the same one
 * tree, table and json show.  This is more than graph.py's
 * _build_graph_for_future prints: that walk follows cr_await and so stops at
 * an async_generator_asend (no cr_await), hiding the async generator's frame
 * and everything it awaits, which we can still read.  The running task shows
 * its thread's real frames (sync frames included) with the --depth innermost
 * frames dropped.  --limit N keeps, in both cases, the N entries closest to
 * the invocation point (the outermost) for N > 0, the |N| innermost for
 * N < 0, and no stack for 0 (graph.py's slicing, including the sign flip of
 * capture_call_graph for the current task, comes to the same thing); the
 * limit applies at every level.  Lines without f_lineno print "line None".
 *
 * Beyond graph.py (which needs live objects): a node with a decode error
 * gets a line "  + Error: <pag_strerror> (<detail>)" after its header; an
 * awaiter already on the current path is printed as its header line followed
 * by "  + (cycle: awaits itself through this chain — possible deadlock)" and
 * its subtree is not repeated.  The walk uses an explicit stack.
 *
 * One block per task, each ending with one newline (print_call_graph's
 * print()).  Without --task every listed Task gets a block, in snapshot
 * order, and blocks are separated by one empty line; with filters, each
 * selected node gets a block, the same way. */
#include <stdlib.h>

#include "fmt_internal.h"

static void indent(FILE *out, size_t level)
{
    for (size_t i = 0; i < level; i++)
        fputs("    ", out);
}

static void header(FILE *out, const pag_task_t *t, size_t level)
{
    indent(out, level);
    if (t->is_task) {
        fputs("* Task(name=", out);
        if (t->name)
            pag__put_pyrepr(out, t->name);
        else
            fputs("None", out);
        fprintf(out, ", id=0x%llx)", (unsigned long long)t->addr);
    } else {
        fprintf(out, "* Future(id=0x%llx)", (unsigned long long)t->addr);
    }
}

void pag__put_graph_entry(FILE *out, const pag_frame_t *f)
{
    const char *tag = "";
    switch (f->kind) {
    case PAG_FRAME_ASYNC:
        tag = "async ";
        break;
    case PAG_FRAME_ASYNC_GEN:
        tag = "async generator ";
        break;
    case PAG_FRAME_GEN:
        tag = "generator ";
        break;
    default:
        break;
    }
    fputs("File ", out);
    pag__put_pyrepr(out, f->filename ? f->filename : "");
    if (f->lineno >= 0)
        fprintf(out, ", line %d, in %s", f->lineno, tag);
    else
        fprintf(out, ", line None, in %s", tag);
    pag__put_text(out, f->qualname ? f->qualname : "");
    fputs("()", out);
}

/* The task's call stack: --depth skips innermost entries of a running
 * task's stack, --limit keeps |N| of them (asyncio.format_call_graph's
 * rules); with --native a running task's entries include its thread's
 * native frames ("[native] ...", which no Python entry can look like). */
static void call_stack(FILE *out, const pag_snapshot_t *snap, const pag_task_t *t,
                       const pag_options_t *opts, size_t level)
{
    pag__vframe_t *all = NULL;
    size_t n = pag__task_view(snap, t, opts->native, &all);
    const pag__vframe_t *fr = all;
    if (t->running && t->running_stack.frames && t->running_stack.n > 0) {
        size_t d = opts->depth > 0 ? (size_t)opts->depth : 0;
        if (d >= n)
            n = 0;
        else
            fr += d, n -= d;
    }
    if (opts->have_limit) {
        long l = opts->limit;
        if (l == 0) {
            n = 0;
        } else if (l > 0) {
            if ((unsigned long)l < n) fr += n - (size_t)l, n = (size_t)l;
        } else {
            unsigned long m = (unsigned long)(-(l + 1)) + 1;
            if (m < n) n = (size_t)m;
        }
    }
    if (n > 0) {
        fputc('\n', out);
        indent(out, level);
        fputs("  + Call stack:", out);
    }
    for (size_t i = 0; i < n; i++) {
        fputc('\n', out);
        indent(out, level);
        fputs("  |   ", out);
        if (fr[i].nat)
            pag__put_native(out, fr[i].nat);
        else
            pag__put_graph_entry(out, fr[i].py);
    }
    free(all);
}

typedef struct {
    size_t node;
    size_t next;
} gframe_t;

static pag_err_t render_one(const pag_snapshot_t *snap, const pag_options_t *opts, size_t root,
                            size_t *onpath, gframe_t *stack, pag_budget_t *budget, FILE *out)
{
    size_t sp = 0;
    /* first visit of a node prints its header and stack */
    header(out, &snap->tasks[root], 0);
    stack[sp].node = root;
    stack[sp].next = 0;
    sp++;
    onpath[root]++;
    int fresh = 1;
    while (sp > 0) {
        gframe_t *top = &stack[sp - 1];
        const pag_task_t *t = &snap->tasks[top->node];
        size_t level = sp - 1;
        if (fresh) {
            fresh = 0;
            if (t->error != PAG_OK) {
                fputc('\n', out);
                indent(out, level);
                fprintf(out, "  + Error: %s", pag_strerror(t->error));
                if (t->error_detail && *t->error_detail) fprintf(out, " (%s)", t->error_detail);
            }
            call_stack(out, snap, t, opts, level);
            if (t->awaited_by && t->n_awaited_by > 0) {
                fputc('\n', out);
                indent(out, level);
                fputs("  + Awaited by:", out);
            }
        }
        if (!t->awaited_by || top->next >= t->n_awaited_by) {
            onpath[top->node]--;
            sp--;
            continue;
        }
        size_t a = pag__awaiter_iter(snap, t, top->next++);
        if (a == SIZE_MAX) continue;
        /* header, "Call stack:", its frames, "Awaited by:", indented */
        const pag_task_t *at = &snap->tasks[a];
        uint64_t nl = 3 + (at->stack.frames ? at->stack.n : 0) +
                      (at->running_stack.frames ? at->running_stack.n : 0);
        if (pag__budget_spend(budget, nl * (4 * (uint64_t)(level + 1) + 80), out)) {
            for (size_t q = 0; q < sp; q++)
                onpath[stack[q].node]--;
            return PAG_OK;
        }
        fputc('\n', out);
        header(out, &snap->tasks[a], level + 1);
        if (onpath[a]) {
            fputc('\n', out);
            indent(out, level + 1);
            fputs("  + (cycle: awaits itself through this chain \xe2\x80\x94 possible deadlock)",
                  out);
            continue;
        }
        /* no repeats on the path, so sp <= n_tasks */
        stack[sp].node = a;
        stack[sp].next = 0;
        sp++;
        onpath[a]++;
        fresh = 1;
    }
    fputc('\n', out);
    return PAG_OK;
}

pag_err_t pag__render_graph(const pag_snapshot_t *snap, const pag_options_t *opts,
                            const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    size_t n = snap->n_tasks;
    int filtered = opts->task || opts->have_thread || opts->running;
    size_t *onpath = calloc(n ? n : 1, sizeof *onpath);
    gframe_t *stack = malloc((n ? n : 1) * sizeof *stack);
    if (!onpath || !stack) {
        free(onpath);
        free(stack);
        return PAG_ERR_NOMEM;
    }
    int first = 1;
    pag_budget_t budget = pag__budget(opts);
    pag_err_t err = PAG_OK;
    for (size_t i = 0; i < n && !err && !pag__budget_spent(&budget); i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i]) continue;
        if (!filtered && !(t->is_task && t->listed)) continue;
        if (!first) fputc('\n', out);
        first = 0;
        err = render_one(snap, opts, i, onpath, stack, &budget, out);
    }
    free(onpath);
    free(stack);
    return err;
}
