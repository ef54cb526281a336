/* --format dot: the await graph for Graphviz (`dot -Tsvg`).
 *
 *   digraph asyncio {
 *     "t0x..." [shape=box, label="<name>\n<leaf frame: func file:line>"];   a Task
 *     "t0x..." [shape=ellipse, label="Future\n0x..."];                      a Future
 *     "t0xCHILD" -> "t0xAWAITER";
 *   }
 *
 * Edges follow awaited_by: from a task to each task or future awaiting it
 * (so arrows point toward the roots pstree prints).  Edges on an await cycle
 * are red with penwidth=2.  The running task has a bold border; a node that
 * could not be decoded is drawn dashed with the error in its label.  Labels
 * are DOT-escaped (quotes, backslashes, newlines; other control characters
 * shown as \xNN).  With --native a running task's label adds its thread's
 * innermost native frames; a thread shown on its own (a loop stuck in a
 * callback, --all-threads) is a "th<native id>" note node. */
#include <stdlib.h>

#include "fmt_internal.h"

static int on_cycle(const pag_snapshot_t *snap, size_t child, size_t awaiter)
{
    for (size_t c = 0; c < snap->n_cycles; c++) {
        const pag_cycle_t *cy = &snap->cycles[c];
        for (size_t q = 0; q + 1 < cy->n; q++)
            if (cy->nodes[q] == child && cy->nodes[q + 1] == awaiter) return 1;
    }
    return 0;
}

/* --native: a running task's label goes on with its thread's native frames
 * above the Python leaf, innermost first, up to PAG_DOT_NATIVE of them. */
#define PAG_DOT_NATIVE 8
static void put_native_top(FILE *m, const pag_snapshot_t *snap, const pag_task_t *t)
{
    pag__vframe_t *v = NULL;
    size_t n = pag__task_view(snap, t, 1, &v);
    for (size_t k = 0; k < n && k < PAG_DOT_NATIVE && v[k].nat; k++) {
        char buf[1024];
        pag__native_text(v[k].nat, buf, sizeof buf);
        fprintf(m, "\n[native] %s", buf);
    }
    free(v);
}

/* The thread blocks (a loop stuck in a callback, --all-threads): a note
 * node per thread with its innermost entries, not linked to any task. */
static void put_threads(FILE *out, const pag_snapshot_t *snap, const pag_options_t *opts)
{
    for (size_t ti = 0; ti < snap->n_threads; ti++) {
        if (!pag__thread_shown(snap, opts, ti)) continue;
        const pag_thread_t *th = &snap->threads[ti];
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) return;
        fprintf(m, "Thread %llu%s", (unsigned long long)th->native_id,
                th->in_callback ? " (in a callback)" : "");
        pag__vframe_t *v = NULL;
        size_t n = pag__thread_view(th, opts->native, SIZE_MAX, &v);
        for (size_t k = 0; k < n && k < PAG_DOT_NATIVE; k++) {
            fputc('\n', m);
            pag__put_vframe_text(m, &v[k]);
        }
        free(v);
        if (fclose(m) != 0) {
            free(buf);
            return;
        }
        fprintf(out, "  \"th%llu\" [shape=note, label=", (unsigned long long)th->native_id);
        pag__put_dot_str(out, buf);
        fputs("];\n", out);
        free(buf);
    }
}

pag_err_t pag__render_dot(const pag_snapshot_t *snap, const pag_options_t *opts,
                          const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    size_t n = snap->n_tasks;
    fputs("digraph asyncio {\n  node [fontname=\"monospace\"];\n", out);
    for (size_t i = 0; i < n; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i]) continue;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) return PAG_ERR_NOMEM;
        if (t->is_task) {
            if (t->name)
                fputs(t->name, m);
            else
                fprintf(m, "0x%llx", (unsigned long long)t->addr);
            const pag_stack_t *st = &t->stack;
            if (t->running && t->running_stack.frames && t->running_stack.n) st = &t->running_stack;
            if (st->frames && st->n) {
                fputc('\n', m);
                pag__put_frame_label(m, &st->frames[0]);
            }
            if (opts->native && t->running) put_native_top(m, snap, t);
        } else {
            fprintf(m, "Future\n0x%llx", (unsigned long long)t->addr);
        }
        if (t->error != PAG_OK) fprintf(m, "\nerror: %s", pag_strerror(t->error));
        if (fclose(m) != 0) {
            free(buf);
            return PAG_ERR_NOMEM;
        }
        fprintf(out, "  \"t0x%llx\" [shape=%s, label=", (unsigned long long)t->addr,
                t->is_task ? "box" : "ellipse");
        pag__put_dot_str(out, buf);
        free(buf);
        if (t->running)
            fputs(", style=bold", out);
        else if (t->error != PAG_OK)
            fputs(", style=dashed", out);
        fputs("];\n", out);
    }
    for (size_t i = 0; i < n; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i]) continue;
        for (size_t k = 0; t->awaited_by && k < t->n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, t, k);
            if (a == SIZE_MAX || !sel[a]) continue;
            fprintf(out, "  \"t0x%llx\" -> \"t0x%llx\"", (unsigned long long)t->addr,
                    (unsigned long long)snap->tasks[a].addr);
            if (on_cycle(snap, i, a)) fputs(" [color=red, penwidth=2]", out);
            fputs(";\n", out);
        }
    }
    put_threads(out, snap, opts);
    fputs("}\n", out);
    return PAG_OK;
}
