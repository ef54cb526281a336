/* --format summary: the table to paste into an incident channel.
 *
 * Ten thousand tasks are a few suspension points.  One row per distinct
 * suspension chain (group.c, pag__chains_build with whole = 0): where the
 * task is suspended (its innermost frame), then, arrow by arrow, where its
 * first awaiter is suspended, up to a task that awaits nobody -- with how
 * many tasks share it, most first, cut at --top N.  Before the table: the
 * totals, then every await cycle and every running task; the rows holding
 * a running task or a task on a cycle (or whose chain runs into a cycle)
 * come first and are never cut.
 *
 *   summary: 100,000 tasks, 1 thread, 1 loop, 1 cycle, 0 running
 *   cycle: lock-a → lock-b → lock-a
 *   running: legacy-sync-call (thread 4242) at legacy_blocking_io demo.py:112
 *      COUNT  SUSPENDED AT ← AWAITED BY (first awaiter)
 *          2  acquire_a_then_b big_service.py:51 ← acquire_b_then_a ... ← [cycle]
 *     85,710  handle_client big_service.py:30
 *   ... 3 more suspension points (12 tasks); --top 0 shows all
 *
 * A row shows at most PAG_SUMMARY_MAX_LINKS awaiters and then "… (+N)". */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "group.h"

#define PAG_SUMMARY_MAX_LINKS 8

typedef struct row {
    size_t chain, count;
    int first; /* has a running task or ends in an await cycle */
} row_t;

static int row_cmp(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->first != y->first) return y->first - x->first;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return x->chain < y->chain ? -1 : x->chain > y->chain;
}

static void put_name(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (t->is_task && t->name)
        pag__put_text(out, t->name);
    else
        pag__put_hex(out, t->addr);
}

static void put_innermost(FILE *out, const pag_stack_t *st)
{
    if (st->frames && st->n)
        pag__put_frame_text(out, &st->frames[0]);
    else
        fputs("(no frame)", out);
}

/* The header line and the cycle and running lines. */
static void put_head(FILE *out, const pag_snapshot_t *snap, const unsigned char *sel)
{
    size_t tasks = 0, futures = 0, threads = 0, loops = 0, cycles = 0, running = 0;
    for (size_t i = 0; i < snap->n_tasks; i++) {
        if (!sel[i]) continue;
        snap->tasks[i].is_task ? tasks++ : futures++;
        running += snap->tasks[i].running != 0;
    }
    for (size_t k = 0; k < snap->n_threads; k++) {
        const pag_thread_t *th = &snap->threads[k];
        threads += th->tstate != 0;
        int seen = th->running_loop == 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = snap->threads[j].running_loop == th->running_loop;
        loops += !seen;
    }
    for (size_t c = 0; c < snap->n_cycles; c++)
        cycles += pag__cycle_selected(snap, &snap->cycles[c], sel);
    fputs("summary: ", out);
    pag__put_count(out, tasks);
    fputs(tasks == 1 ? " task, " : " tasks, ", out);
    if (futures) {
        pag__put_count(out, futures);
        fputs(futures == 1 ? " future, " : " futures, ", out);
    }
    fprintf(out, "%zu thread%s, %zu loop%s, %zu cycle%s, %zu running\n", threads,
            threads == 1 ? "" : "s", loops, loops == 1 ? "" : "s", cycles, cycles == 1 ? "" : "s",
            running);
    for (size_t c = 0; c < snap->n_cycles; c++) {
        const pag_cycle_t *cy = &snap->cycles[c];
        if (!pag__cycle_selected(snap, cy, sel)) continue;
        fputs("cycle: ", out);
        for (size_t q = cy->n; q-- > 0;) { /* backwards: each awaits the next */
            put_name(out, snap, cy->nodes[q]);
            if (q) fputs(" \xe2\x86\x92 ", out); /* " → " */
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < snap->n_tasks; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i] || !t->running) continue;
        fputs("running: ", out);
        put_name(out, snap, i);
        if (t->thread < snap->n_threads)
            fprintf(out, " (thread %llu)", (unsigned long long)snap->threads[t->thread].native_id);
        fputs(" at ", out);
        put_innermost(out, t->running_stack.n ? &t->running_stack : &t->stack);
        fputc('\n', out);
    }
}

/* One row: count, then the chain's links, innermost task first. */
static void put_row(FILE *out, const pag_snapshot_t *snap, const pag__chains_t *c, const row_t *r,
                    int width)
{
    char num[32];
    FILE *m = fmemopen(num, sizeof num, "w");
    if (m) {
        pag__put_count(m, r->count);
        fputc('\0', m);
        fclose(m);
    }
    num[sizeof num - 1] = '\0';
    fprintf(out, "%*s  ", width, num);
    size_t id = r->chain, links = 0;
    put_innermost(out, &snap->tasks[c->nodes[id].task].stack);
    for (id = c->nodes[id].parent; id < PAG__CHAIN_CYCLE; id = c->nodes[id].parent) {
        if (++links > PAG_SUMMARY_MAX_LINKS) {
            fputs(" \xe2\x86\x90 \xe2\x80\xa6 (+", out); /* " ← … (+" */
            pag__put_u64(out, c->nodes[id].depth);
            fputc(')', out);
            break;
        }
        fputs(" \xe2\x86\x90 ", out);
        put_innermost(out, &snap->tasks[c->nodes[id].task].stack);
    }
    if (id == PAG__CHAIN_CYCLE) fputs(" \xe2\x86\x90 [cycle]", out);
    fputc('\n', out);
}

/* Rows: one per chain id that some selected task ends in. */
static row_t *make_rows(const pag_snapshot_t *snap, const unsigned char *sel,
                        const pag__chains_t *c, size_t *n_rows)
{
    size_t *at = malloc((c->n_nodes ? c->n_nodes : 1) * sizeof *at);
    row_t *rows = malloc((c->n_nodes ? c->n_nodes : 1) * sizeof *rows);
    size_t n = 0;
    if (!at || !rows) {
        free(at), free(rows);
        return NULL;
    }
    for (size_t k = 0; k < c->n_nodes; k++)
        at[k] = SIZE_MAX;
    for (size_t i = 0; i < snap->n_tasks; i++) {
        if (!sel[i] || c->id[i] >= c->n_nodes) continue;
        size_t id = c->id[i];
        if (at[id] == SIZE_MAX) {
            at[id] = n;
            rows[n].chain = id, rows[n].count = 0, rows[n].first = 0;
            size_t e = id; /* ends in a cycle? depth bounds the walk */
            for (size_t d = c->nodes[id].depth; d-- > 0 && e < PAG__CHAIN_CYCLE;)
                e = c->nodes[e].parent;
            rows[n++].first = e == PAG__CHAIN_CYCLE;
        }
        rows[at[id]].count++;
        if (snap->tasks[i].running) rows[at[id]].first = 1;
    }
    for (size_t k = 0; k < snap->n_cycles; k++) { /* a row with a task on a cycle */
        const pag_cycle_t *cy = &snap->cycles[k];
        if (!pag__cycle_selected(snap, cy, sel)) continue;
        for (size_t q = 0; q < cy->n; q++)
            if (c->id[cy->nodes[q]] < c->n_nodes) rows[at[c->id[cy->nodes[q]]]].first = 1;
    }
    free(at);
    qsort(rows, n, sizeof *rows, row_cmp);
    *n_rows = n;
    return rows;
}

pag_err_t pag__render_summary(const pag_snapshot_t *snap, const pag_options_t *opts,
                              const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json;
    pag__chains_t c;
    pag_err_t err = pag__chains_build(snap, sel, 0, &c);
    size_t n = 0;
    row_t *rows = err == PAG_OK ? make_rows(snap, sel, &c, &n) : NULL;
    if (err == PAG_OK && !rows) err = PAG_ERR_NOMEM;
    if (err == PAG_OK) {
        put_head(out, snap, sel);
        int width = 5;
        char num[32];
        for (size_t k = 0; k < n; k++) {
            int w = snprintf(num, sizeof num, "%zu", rows[k].count);
            w += (w - 1) / 3; /* the thousands separators */
            if (w > width) width = w;
        }
        fprintf(out, "%*s  SUSPENDED AT \xe2\x86\x90 AWAITED BY (first awaiter)\n", width, "COUNT");
        size_t top = opts && opts->top > 0 ? (size_t)opts->top : SIZE_MAX, shown = 0, rest = 0;
        for (size_t k = 0; k < n; k++) {
            if (rows[k].first || shown < top) {
                put_row(out, snap, &c, &rows[k], width);
                shown += !rows[k].first;
            } else {
                rest += rows[k].count;
            }
        }
        if (rest) {
            size_t more = 0;
            for (size_t k = 0; k < n; k++)
                more += !rows[k].first;
            more -= shown;
            fprintf(out, "... %zu more suspension point%s (", more, more == 1 ? "" : "s");
            pag__put_count(out, rest);
            fputs(rest == 1 ? " task); --top 0 shows all\n" : " tasks); --top 0 shows all\n", out);
        }
    }
    free(rows);
    pag__chains_free(&c);
    return err;
}
