/* --format collapsed: Brendan Gregg's folded stacks, for flame graphs.
 *
 * A flame graph of the await tree shows where ten thousand tasks are, by
 * width.  One line per distinct stack, "frame;frame;...;frame COUNT": a
 * task's stack is its suspension chain (group.c, pag__chains_build with
 * whole = 1) from the end down to the task: the root task's coroutine
 * frames outermost first, then each awaiter's below it along first
 * awaiters, then the task's own frames, innermost last; tasks whose stacks
 * are equal all the way are one line with their count.  A chain that runs
 * into an await cycle starts with the frame "[cycle]".  A task without
 * frames adds none; a stack without any frame is "(no frame)".
 *
 * A frame is the text formats' "func file:line" (pag__put_frame_text:
 * control characters escaped), in which '%' is written "%25" and ';'
 * "%3B", so that ';' only separates frames; spaces stay (flamegraph.pl,
 * inferno and speedscope take the count after the last space).  Lines come
 * in order of their first task in the snapshot.  Past the output budget
 * (PAG_MAX_OUTPUT_LINES / _MIB) the output ends with tree's truncation line. */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "group.h"

/* One frame, escaped for the folded format; *sep says a ';' goes first. */
static int put_frame(FILE *out, const pag_frame_t *f, int *sep)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return -1;
    pag__put_frame_text(m, f);
    if (fclose(m) != 0) {
        free(buf);
        return -1;
    }
    if (*sep) fputc(';', out);
    *sep = 1;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '%')
            fputs("%25", out);
        else if (buf[i] == ';')
            fputs("%3B", out);
        else
            fputc(buf[i], out);
    }
    free(buf);
    return 0;
}

/* The stack of chain id, from the end of the chain down (path: scratch of
 * the chain's depth). */
static int put_stack(FILE *out, const pag_snapshot_t *snap, const pag__chains_t *c, size_t id,
                     size_t *path)
{
    size_t np = 0, e = id;
    for (size_t d = c->nodes[id].depth; d-- > 0 && e < PAG__CHAIN_CYCLE; e = c->nodes[e].parent)
        path[np++] = e;
    int sep = 0;
    if (e == PAG__CHAIN_CYCLE) fputs("[cycle]", out), sep = 1;
    while (np > 0) {
        const pag_stack_t *st = &snap->tasks[c->nodes[path[--np]].task].stack;
        for (size_t f = st->frames ? st->n : 0; f-- > 0;)
            if (put_frame(out, &st->frames[f], &sep)) return -1;
    }
    if (!sep) fputs("(no frame)", out);
    return 0;
}

pag_err_t pag__render_collapsed(const pag_snapshot_t *snap, const pag_options_t *opts,
                                const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json;
    (void)opts;
    pag__chains_t c;
    pag_err_t err = pag__chains_build(snap, sel, 1, &c);
    size_t nn = c.n_nodes ? c.n_nodes : 1;
    size_t *count = err == PAG_OK ? calloc(nn, sizeof *count) : NULL;
    size_t *path = err == PAG_OK ? malloc(nn * sizeof *path) : NULL;
    if (err == PAG_OK && (!count || !path)) err = PAG_ERR_NOMEM;
    for (size_t i = 0; err == PAG_OK && i < snap->n_tasks; i++)
        if (sel[i] && c.id[i] < c.n_nodes) count[c.id[i]]++;
    /* in the order of each stack's first task; count[id] = 0 once written.
     * A long await chain of distinct tasks makes a line per task, each as
     * long as the chain: the output budget (fmt_internal.h) bounds it. */
    pag_budget_t budget = pag__budget(opts);
    for (size_t i = 0; err == PAG_OK && i < snap->n_tasks; i++) {
        size_t id = sel[i] ? c.id[i] : SIZE_MAX;
        if (id >= c.n_nodes || !count[id]) continue;
        if (pag__budget_spend(&budget, 80 * (uint64_t)c.nodes[id].depth, out)) break;
        if (put_stack(out, snap, &c, id, path)) err = PAG_ERR_NOMEM;
        fputc(' ', out);
        pag__put_u64(out, count[id]);
        fputc('\n', out);
        count[id] = 0;
    }
    free(count);
    free(path);
    pag__chains_free(&c);
    return err;
}
