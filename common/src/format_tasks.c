/* --format tasks: one line per task, for gdb's py-async-tasks and quick
 * looks.  Fixed columns, separated by one space, padded in code points and
 * never truncated:
 *
 *   ID (18) THREAD (10) STATE (9) R (1) NAME (24) WHERE
 *
 * ID is the task address (0x hex); THREAD the native id of the list holding
 * it (0 for orphaned tasks, "-" for a task not found in any list); STATE
 * pending/cancelled/finished/unknown; R is "*" for a running task, else
 * "-"; WHERE the innermost frame of its coroutine chain as "func file:line"
 * (the frame of the running stack for a running task), or "-"; a task that
 * could not be decoded gets " [error: <text>]" after WHERE.  With --native, a
 * running task's WHERE is its thread's innermost native frame ("[native]
 * ..."): the first entry of the same merged view graph prints.  Every Task node
 * is listed (listed tasks first, in snapshot order); Futures are not. */
#include <stdlib.h>

#include "fmt_internal.h"

pag_err_t pag__render_tasks(const pag_snapshot_t *snap, const pag_options_t *opts,
                            const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    pag__put_ljust(out, "ID", 18);
    fputc(' ', out);
    pag__put_ljust(out, "THREAD", 10);
    fputc(' ', out);
    pag__put_ljust(out, "STATE", 9);
    fputs(" R ", out);
    pag__put_ljust(out, "NAME", 24);
    fputs(" WHERE\n", out);
    for (size_t i = 0; i < snap->n_tasks; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i] || !t->is_task) continue;
        char buf[32];
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)t->addr);
        pag__put_ljust(out, buf, 18);
        fputc(' ', out);
        if (t->thread < snap->n_threads)
            snprintf(buf, sizeof buf, "%llu",
                     (unsigned long long)snap->threads[t->thread].native_id);
        else
            snprintf(buf, sizeof buf, "-");
        pag__put_ljust(out, buf, 10);
        fputc(' ', out);
        pag__put_ljust(out, pag__state_name(t->state), 9);
        fputs(t->running ? " * " : " - ", out);
        pag__put_ljust(out, t->name ? t->name : "-", 24);
        fputc(' ', out);
        pag__vframe_t *v = NULL; /* the task's stack as every format merges it */
        if (pag__task_view(snap, t, opts->native, &v) > 0)
            pag__put_vframe_text(out, &v[0]);
        else
            fputc('-', out);
        free(v);
        if (t->error != PAG_OK) fprintf(out, " [error: %s]", pag_strerror(t->error));
        fputc('\n', out);
    }
    return PAG_OK;
}
