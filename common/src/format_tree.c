/* --format tree: byte for byte `python -m asyncio pstree` (CPython
 * Lib/asyncio/tools.py: _index, _build_tree, _roots, build_async_tree),
 * whenever CPython could draw the graph at all.
 *
 * Same algorithm: task nodes in snapshot order; for every (awaiter, child)
 * edge in snapshot order the awaiter's coroutine frames, outermost first,
 * become coroutine nodes under the awaiter (shared per parent by label
 * "func file:line"), and the child task hangs below the last one (once);
 * tasks that await nobody get their own frames below them; roots are the
 * nodes nobody points to, in order; lines are
 * prefix + "└── "/"├── " + "(T) name" or "(T)"-less "  func file:line".
 *
 * Where CPython loses information we don't:
 *  - awaiters it does not list (a bare Future, a task of another
 *    interpreter or thread) are drawn instead of silently dropping the
 *    subtree: "(F) Future 0x..." for a Future, "(T) name" for a Task;
 *  - a task with a decode error gets " [error: <text>]" after its name;
 *  - a frame without a line number prints as "func file" (3.14's None);
 *  - await cycles (pstree refuses to draw them) are drawn: a cycle without
 *    any root is entered at its first task in snapshot order, a task met
 *    again on its own path is printed with " [cycle]" and not descended,
 *    and after the trees follows an empty line and one line per cycle,
 *    "possible deadlock: await cycle: a → b → a" (a awaits b, which awaits
 *    a; names, or the address for a Future or a nameless task). */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

typedef struct tnode {
    int is_task;
    size_t task;       /* snapshot index (task nodes) */
    const char *label; /* coroutine nodes: points into a label table */
    size_t *kids;
    size_t n_kids, cap_kids;
    int is_child;
} tnode_t;

/* Which (parent, label) coroutine nodes and (parent, child task) edges
 * exist: CPython's cor_nodes dict and its "not in children[cur]" test, as a
 * hash table so that a parent with many children stays linear. */
typedef struct edge {
    size_t parent;
    const char *label; /* coroutine node; NULL for a task child */
    size_t node;       /* the coroutine node, or the child task node */
    uint64_t hash;
    int used;
} edge_t;

typedef struct tree {
    tnode_t *nodes;
    size_t n, cap;
    edge_t *edges;
    size_t n_edges, cap_edges; /* cap_edges: a power of two */
    int oom;
} tree_t;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static uint64_t edge_hash(size_t parent, const char *label, size_t child)
{
    return mix((uint64_t)parent * 0x9e3779b97f4a7c15ull ^
               (label ? str_hash(label) : mix((uint64_t)child + 0x51ed27)));
}

/* Find an edge; returns its slot (used, or the free slot to fill). */
static edge_t *edge_slot(tree_t *t, size_t parent, const char *label, size_t child, uint64_t h)
{
    size_t mask = t->cap_edges - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        edge_t *e = &t->edges[i];
        if (!e->used) return e;
        if (e->hash != h || e->parent != parent) continue;
        if (label ? (e->label && strcmp(e->label, label) == 0) : (!e->label && e->node == child))
            return e;
    }
}

static int edge_grow(tree_t *t)
{
    if ((t->n_edges + 1) * 2 <= t->cap_edges) return 0;
    size_t nc = t->cap_edges ? t->cap_edges * 2 : 256;
    edge_t *old = t->edges;
    size_t oc = t->cap_edges;
    t->edges = calloc(nc, sizeof *t->edges);
    if (!t->edges) {
        t->edges = old;
        t->oom = 1;
        return -1;
    }
    t->cap_edges = nc;
    for (size_t i = 0; i < oc; i++) {
        if (!old[i].used) continue;
        edge_t *e = edge_slot(t, old[i].parent, old[i].label, old[i].node, old[i].hash);
        *e = old[i];
    }
    free(old);
    return 0;
}

static size_t new_node(tree_t *t)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        tnode_t *p = realloc(t->nodes, nc * sizeof *p);
        if (!p) {
            t->oom = 1;
            return SIZE_MAX;
        }
        t->nodes = p;
        t->cap = nc;
    }
    memset(&t->nodes[t->n], 0, sizeof t->nodes[0]);
    return t->n++;
}

static void add_kid(tree_t *t, size_t parent, size_t kid)
{
    tnode_t *p = &t->nodes[parent];
    if (p->n_kids == p->cap_kids) {
        size_t nc = p->cap_kids ? p->cap_kids * 2 : 4;
        size_t *k = realloc(p->kids, nc * sizeof *k);
        if (!k) {
            t->oom = 1;
            return;
        }
        p->kids = k;
        p->cap_kids = nc;
    }
    p->kids[p->n_kids++] = kid;
    t->nodes[kid].is_child = 1;
}

static size_t get_or_create(tree_t *t, size_t parent, const char *label)
{
    if (edge_grow(t) != 0) return SIZE_MAX;
    uint64_t h = edge_hash(parent, label, 0);
    edge_t *e = edge_slot(t, parent, label, 0, h);
    if (e->used) return e->node;
    size_t id = new_node(t);
    if (id == SIZE_MAX) return SIZE_MAX;
    t->nodes[id].label = label;
    add_kid(t, parent, id);
    if (t->oom) return SIZE_MAX;
    e->used = 1;
    e->parent = parent;
    e->label = label;
    e->node = id;
    e->hash = h;
    t->n_edges++;
    return id;
}

/* Append a task child once. */
static void add_task_kid(tree_t *t, size_t parent, size_t child)
{
    if (edge_grow(t) != 0) return;
    uint64_t h = edge_hash(parent, NULL, child);
    edge_t *e = edge_slot(t, parent, NULL, child, h);
    if (e->used) return;
    add_kid(t, parent, child);
    if (t->oom) return;
    e->used = 1;
    e->parent = parent;
    e->label = NULL;
    e->node = child;
    e->hash = h;
    t->n_edges++;
}

static void put_task_label(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (!t->is_task) {
        fprintf(out, "(F) Future 0x%llx", (unsigned long long)t->addr);
        return;
    }
    fputs("(T) ", out);
    if (t->name)
        fputs(t->name, out);
    else
        fprintf(out, "0x%llx", (unsigned long long)t->addr);
    if (t->error != PAG_OK) fprintf(out, " [error: %s]", pag_strerror(t->error));
}

static void put_name(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (t->is_task && t->name)
        fputs(t->name, out);
    else
        fprintf(out, "0x%llx", (unsigned long long)t->addr);
}

typedef struct {
    size_t node;
    size_t next;
} rframe_t;

/* Draw one root; prefix segments come from the "last" flags of ancestors. */
static int render_root(FILE *out, const pag_snapshot_t *snap, tree_t *t, size_t root,
                       rframe_t *stack, unsigned char *lastf, size_t *onpath, size_t *budget)
{
    size_t sp = 0;
    fputs("\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 ", out); /* "└── " */
    put_task_label(out, snap, t->nodes[root].task);
    stack[sp].node = root;
    stack[sp].next = 0;
    lastf[sp] = 1;
    sp++;
    onpath[root]++;
    while (sp > 0) {
        rframe_t *top = &stack[sp - 1];
        tnode_t *nd = &t->nodes[top->node];
        if (top->next >= nd->n_kids) {
            onpath[top->node]--;
            sp--;
            continue;
        }
        size_t i = top->next++;
        size_t kid = nd->kids[i];
        if (++*budget > PAG_MAX_OUTPUT_LINES) {
            for (size_t q = 0; q < sp; q++)
                onpath[stack[q].node]--;
            fprintf(out, "\n... (output truncated after %u lines)\n", PAG_MAX_OUTPUT_LINES);
            return 1;
        }
        int last = top->next == nd->n_kids;
        fputc('\n', out);
        for (size_t d = 0; d < sp; d++)
            fputs(lastf[d] ? "    " : "\xe2\x94\x82   ", out); /* "│   " */
        fputs(last ? "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 "
                   : "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 ",
              out);
        tnode_t *k = &t->nodes[kid];
        if (k->is_task) {
            put_task_label(out, snap, k->task);
            if (onpath[kid]) {
                fputs(" [cycle]", out);
                continue;
            }
        } else {
            fputs(" ", out); /* empty coroutine flag, then " " */
            fputs(k->label, out);
        }
        if (sp >= t->n) return -1; /* cannot happen: the path has no repeats */
        stack[sp].node = kid;
        stack[sp].next = 0;
        lastf[sp] = (unsigned char)last;
        sp++;
        onpath[kid]++;
    }
    fputc('\n', out);
    return 0;
}

pag_err_t pag__render_tree(const pag_snapshot_t *snap, const pag_options_t *opts,
                           const unsigned char *sel, FILE *out)
{
    (void)opts;
    size_t n = snap->n_tasks;
    tree_t t = {0};
    pag_err_t err = PAG_OK;
    size_t *tnode = malloc((n ? n : 1) * sizeof *tnode);
    char ***labels = calloc(n ? n : 1, sizeof *labels); /* per task: its frame labels */
    unsigned char *awaiter = calloc(n ? n : 1, 1);
    rframe_t *stack = NULL;
    unsigned char *lastf = NULL, *reached = NULL;
    size_t *onpath = NULL, *roots = NULL, n_roots = 0;
    if (!tnode || !labels || !awaiter) goto oom;

    for (size_t i = 0; i < n; i++) {
        tnode[i] = SIZE_MAX;
        if (!sel[i]) continue;
        tnode[i] = new_node(&t);
        if (tnode[i] == SIZE_MAX) goto oom;
        t.nodes[tnode[i]].is_task = 1;
        t.nodes[tnode[i]].task = i;
        const pag_stack_t *st = &snap->tasks[i].stack;
        if (st->frames && st->n) {
            labels[i] = calloc(st->n, sizeof(char *));
            if (!labels[i]) goto oom;
            for (size_t f = 0; f < st->n; f++) {
                labels[i][f] = pag__frame_label(&st->frames[f]);
                if (!labels[i][f]) goto oom;
            }
        }
    }
    /* the awaits edges, in snapshot order */
    for (size_t i = 0; i < n; i++) {
        const pag_task_t *c = &snap->tasks[i];
        if (!sel[i] || !c->awaited_by) continue;
        for (size_t k = 0; k < c->n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, c, k);
            if (a == SIZE_MAX || !sel[a]) continue;
            awaiter[a] = 1;
            size_t cur = tnode[a];
            const pag_stack_t *st = &snap->tasks[a].stack;
            size_t sn = st->frames ? st->n : 0;
            for (size_t f = sn; f-- > 0;) {
                cur = get_or_create(&t, cur, labels[a][f]);
                if (cur == SIZE_MAX) goto oom;
            }
            add_task_kid(&t, cur, tnode[i]);
            if (t.oom) goto oom;
        }
    }
    /* tasks awaiting nobody show their own frames */
    for (size_t i = 0; i < n; i++) {
        if (!sel[i] || awaiter[i]) continue;
        const pag_stack_t *st = &snap->tasks[i].stack;
        size_t cur = tnode[i];
        size_t sn = st->frames ? st->n : 0;
        for (size_t f = sn; f-- > 0;) {
            cur = get_or_create(&t, cur, labels[i][f]);
            if (cur == SIZE_MAX) goto oom;
        }
    }

    size_t nn = t.n;
    stack = malloc((nn ? nn : 1) * sizeof *stack);
    lastf = malloc(nn ? nn : 1);
    onpath = calloc(nn ? nn : 1, sizeof *onpath);
    reached = calloc(nn ? nn : 1, 1);
    roots = malloc((nn ? nn : 1) * sizeof *roots);
    if (!stack || !lastf || !onpath || !reached || !roots) goto oom;
    /* roots: nodes nobody points to; then, for what a cycle leaves
     * unreachable, its first task in order */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t v = 0; v < nn; v++) {
            if (!t.nodes[v].is_task || reached[v]) continue;
            if (pass == 0 && t.nodes[v].is_child) continue;
            roots[n_roots++] = v;
            size_t sp = 0;
            reached[v] = 1;
            stack[sp++].node = v;
            while (sp > 0) {
                size_t u = stack[--sp].node;
                for (size_t q = 0; q < t.nodes[u].n_kids; q++) {
                    size_t w = t.nodes[u].kids[q];
                    if (!reached[w]) reached[w] = 1, stack[sp++].node = w;
                }
            }
        }
    }
    /* pass 0 roots come first in node order, pass 1 roots after: CPython
     * prints roots in node order, and pass 1 only adds cycle entries */
    size_t budget = 0;
    for (size_t r = 0; r < n_roots; r++) {
        int rc = render_root(out, snap, &t, roots[r], stack, lastf, onpath, &budget);
        if (rc < 0) {
            err = PAG_ERR_CORRUPT;
            goto done;
        }
        if (rc > 0) break;
    }

    int header = 0;
    for (size_t c = 0; c < snap->n_cycles; c++) {
        const pag_cycle_t *cy = &snap->cycles[c];
        int all = cy->n >= 2;
        for (size_t q = 0; q < cy->n && all; q++)
            all = cy->nodes[q] < n && sel[cy->nodes[q]];
        if (!all) continue;
        if (!header) fputc('\n', out);
        header = 1;
        fputs("possible deadlock: await cycle: ", out);
        for (size_t q = cy->n; q-- > 0;) {
            put_name(out, snap, cy->nodes[q]);
            if (q) fputs(" \xe2\x86\x92 ", out); /* " → " */
        }
        fputc('\n', out);
    }
    goto done;
oom:
    err = PAG_ERR_NOMEM;
done:
    for (size_t i = 0; i < t.n; i++)
        free(t.nodes[i].kids);
    free(t.nodes);
    free(t.edges);
    if (labels) {
        for (size_t i = 0; i < n; i++) {
            if (!labels[i]) continue;
            for (size_t f = 0; f < snap->tasks[i].stack.n; f++)
                free(labels[i][f]);
            free(labels[i]);
        }
    }
    free(labels);
    free(tnode);
    free(awaiter);
    free(stack);
    free(lastf);
    free(onpath);
    free(reached);
    free(roots);
    return err;
}
