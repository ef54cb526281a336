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
 * ..."), unless that is the evaluator itself (then the Python frame is).  Every Task node
 * is listed (listed tasks first, in snapshot order); Futures are not. */
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
        const pag_stack_t *st = &t->stack;
        if (t->running && t->running_stack.frames && t->running_stack.n) st = &t->running_stack;
        const pag_thread_t *th = t->thread < snap->n_threads ? &snap->threads[t->thread] : NULL;
        if (opts->native && t->running && th && th->n_native && !pag__is_evaluator(th->native))
            pag__put_native(out, &th->native[0]); /* --native: the C function on top */
        else if (st->frames && st->n)
            pag__put_frame_text(out, &st->frames[0]);
        else
            fputc('-', out);
        if (t->error != PAG_OK) fprintf(out, " [error: %s]", pag_strerror(t->error));
        fputc('\n', out);
    }
    return PAG_OK;
}
