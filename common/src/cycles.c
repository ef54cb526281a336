/* Await cycles in the awaited-by graph (a deadlock: tasks awaiting each
 * other).  CPython's pstree refuses to draw a graph with a cycle; we draw it
 * and name the cycles, so they are found once, here, at snapshot time.
 *
 * Iterative DFS (explicit stack, no recursion: target data is untrusted and
 * can be deep) with white/grey/black colouring over edges task -> awaiter.
 * Each edge meeting a grey node closes one cycle: the path from that node to
 * the top of the stack.  Cycles are rotated to their smallest index and kept
 * once. */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

enum { WHITE = 0, GREY = 1, BLACK = 2 };

typedef struct {
    size_t node;
    size_t next; /* next awaited_by slot to look at */
} dfs_frame_t;

static int same_cycle(const pag_cycle_t *c, const size_t *nodes, size_t n)
{
    return c->n == n + 1 && memcmp(c->nodes, nodes, n * sizeof *nodes) == 0;
}

static pag_err_t add_cycle(pag_snapshot_t *snap, size_t *cap, const dfs_frame_t *path, size_t n)
{
    /* rotate so the smallest index comes first */
    size_t lo = 0;
    for (size_t i = 1; i < n; i++)
        if (path[i].node < path[lo].node) lo = i;
    size_t *nodes = malloc((n + 1) * sizeof *nodes);
    if (!nodes) return PAG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        nodes[i] = path[(lo + i) % n].node;
    nodes[n] = nodes[0];
    for (size_t i = 0; i < snap->n_cycles; i++) {
        if (same_cycle(&snap->cycles[i], nodes, n)) {
            free(nodes);
            return PAG_OK;
        }
    }
    if (snap->n_cycles == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        pag_cycle_t *p = realloc(snap->cycles, nc * sizeof *p);
        if (!p) {
            free(nodes);
            return PAG_ERR_NOMEM;
        }
        snap->cycles = p;
        *cap = nc;
    }
    snap->cycles[snap->n_cycles].nodes = nodes;
    snap->cycles[snap->n_cycles].n = n + 1;
    snap->n_cycles++;
    return PAG_OK;
}

pag_err_t pag__snapshot_find_cycles(pag_snapshot_t *snap)
{
    size_t n = snap->n_tasks;
    snap->cycles = NULL;
    snap->n_cycles = 0;
    if (n == 0) return PAG_OK;
    unsigned char *color = calloc(n, 1);
    size_t *pos = malloc(n * sizeof *pos); /* position on the stack of a grey node */
    dfs_frame_t *stack = malloc(n * sizeof *stack);
    size_t cap = 0;
    pag_err_t err = PAG_OK;
    if (!color || !pos || !stack) {
        err = PAG_ERR_NOMEM;
        goto out;
    }
    for (size_t root = 0; root < n && !err; root++) {
        if (color[root] != WHITE) continue;
        size_t sp = 0;
        stack[sp].node = root;
        stack[sp].next = 0;
        color[root] = GREY;
        pos[root] = sp++;
        while (sp > 0 && !err) {
            dfs_frame_t *top = &stack[sp - 1];
            const pag_task_t *t = &snap->tasks[top->node];
            if (!t->awaited_by || top->next >= t->n_awaited_by) {
                color[top->node] = BLACK;
                sp--;
                continue;
            }
            size_t w = pag__awaiter(snap, t, top->next++);
            if (w == SIZE_MAX) continue;
            if (color[w] == WHITE) {
                /* sp < n: every node on the stack is grey and distinct */
                color[w] = GREY;
                pos[w] = sp;
                stack[sp].node = w;
                stack[sp].next = 0;
                sp++;
            } else if (color[w] == GREY) {
                err = add_cycle(snap, &cap, &stack[pos[w]], sp - pos[w]);
            }
        }
    }
out:
    free(color);
    free(pos);
    free(stack);
    if (err) {
        for (size_t i = 0; i < snap->n_cycles; i++)
            free(snap->cycles[i].nodes);
        free(snap->cycles);
        snap->cycles = NULL;
        snap->n_cycles = 0;
    }
    return err;
}
