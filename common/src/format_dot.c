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
 * shown as \xNN). */
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

pag_err_t pag__render_dot(const pag_snapshot_t *snap, const pag_options_t *opts,
                          const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    (void)opts;
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
    fputs("}\n", out);
    return PAG_OK;
}
