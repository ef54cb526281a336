/* --format table: byte for byte `python -m asyncio ps` (CPython
 * Lib/asyncio/tools.py build_task_table / display_awaited_by_tasks_table).
 *
 * Columns tid, task id, task name, coroutine stack, awaiter chain, awaiter
 * name, awaiter id, left-justified to 10/20/20/50/50/15/15 code points (never
 * truncated), separated by one space; then 180 dashes.  One row per
 * (listed task, awaiter) in snapshot and set-slot order, or one row with an
 * empty awaiter and "0x0".  Stacks are qualnames joined by " -> ", innermost
 * first; tid is the native id of the list holding the task (0 for orphans).
 *
 * Only listed tasks get rows, as in CPython.  The awaiter name is the
 * awaiter's name when it is a Task even if it is not listed (CPython says
 * "Unknown" then), and "Unknown" for a Future.  --task/--thread/--running
 * keep the rows of the selected tasks. */
#include <stdlib.h>

#include "fmt_internal.h"

static char *join_stack(const pag_stack_t *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    for (size_t i = 0; st->frames && i < st->n; i++) {
        if (i) fputs(" -> ", m);
        fputs(st->frames[i].qualname ? st->frames[i].qualname : "", m);
    }
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void row(FILE *out, const char *const cols[7])
{
    static const size_t w[7] = {10, 20, 20, 50, 50, 15, 15};
    for (int i = 0; i < 7; i++) {
        if (i) fputc(' ', out);
        pag__put_ljust(out, cols[i], w[i]);
    }
    fputc('\n', out);
}

pag_err_t pag__render_table(const pag_snapshot_t *snap, const pag_options_t *opts,
                            const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    (void)opts;
    static const char *const head[7] = {
        "tid",           "task id",      "task name", "coroutine stack",
        "awaiter chain", "awaiter name", "awaiter id"};
    row(out, head);
    for (int i = 0; i < 180; i++)
        fputc('-', out);
    fputc('\n', out);
    for (size_t i = 0; i < snap->n_tasks; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i] || !t->listed) continue;
        char tid[24], id[24], aid[24];
        uint64_t native = t->thread < snap->n_threads ? snap->threads[t->thread].native_id : 0;
        snprintf(tid, sizeof tid, "%llu", (unsigned long long)native);
        snprintf(id, sizeof id, "0x%llx", (unsigned long long)t->addr);
        char *stack = join_stack(&t->stack);
        if (!stack) return PAG_ERR_NOMEM;
        const char *name = t->name ? t->name : "";
        size_t na = t->awaited_by ? t->n_awaited_by : 0;
        int rows = 0;
        for (size_t k = 0; k < na; k++) {
            size_t a = pag__awaiter(snap, t, k);
            if (a == SIZE_MAX) continue;
            const pag_task_t *w = &snap->tasks[a];
            char *chain = join_stack(&w->stack);
            if (!chain) {
                free(stack);
                return PAG_ERR_NOMEM;
            }
            snprintf(aid, sizeof aid, "0x%llx", (unsigned long long)w->addr);
            const char *aname = (w->is_task && w->name) ? w->name : "Unknown";
            const char *cols[7] = {tid, id, name, stack, chain, aname, aid};
            row(out, cols);
            free(chain);
            rows++;
        }
        if (!rows) {
            const char *cols[7] = {tid, id, name, stack, "", "", "0x0"};
            row(out, cols);
        }
        free(stack);
    }
    return PAG_OK;
}
