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
#include "group.h"
#include "internal.h"

/* A million-task tree is built here, so nodes carry no allocations of their
 * own: the edges go to one array (sorted into per-parent kid ranges, in
 * insertion order, once built), and frame labels are interned. */

#define NONE SIZE_MAX

typedef struct tnode {
    size_t task;       /* snapshot index (task nodes) */
    const char *label; /* coroutine nodes: an interned label */
    size_t first_lkid; /* coroutine-node kids (each has this node as its only parent) */
    size_t next_lsib;
    size_t stamp; /* 1 + the child task whose edge into this node was added last */
    unsigned char is_task, is_child;
} tnode_t;

typedef struct tedge {
    size_t parent, kid;
} tedge_t;

/* Label interning, keyed by the frame's strings (pointers: the snapshot
 * shares them per code object) and line. */
typedef struct lslot {
    const char *qn, *fn;
    int lineno, used;
    const char *label;
} lslot_t;

typedef struct tree {
    tnode_t *nodes;
    size_t n, cap;
    tedge_t *edges;
    size_t n_edges, cap_edges;
    size_t *off, *kids; /* kids of v: kids[off[v] .. off[v+1]) */
    /* --group: per kid slot, how many siblings it stands for and its name
     * pattern (an index into pats, NONE for one task); NULL without it */
    size_t *cnt, *pat;
    pag__pattern_t *pats;
    size_t n_pats, cap_pats;
    lslot_t *ls;
    size_t ls_n, ls_cap; /* ls_cap: a power of two */
    pag_arena_t arena;
    int oom;
} tree_t;

static lslot_t *lslot_find(lslot_t *tab, size_t cap, const char *qn, const char *fn, int lineno)
{
    uint64_t h = pag__hash64((uint64_t)(uintptr_t)qn * 31 ^ pag__hash64((uint64_t)(uintptr_t)fn) ^
                             (uint64_t)(unsigned)lineno * 0x9e3779b97f4a7c15ull);
    size_t mask = cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        lslot_t *e = &tab[i];
        if (!e->used || (e->qn == qn && e->fn == fn && e->lineno == lineno)) return e;
    }
}

/* The "func file:line" label of a frame, as pag__put_frame_text writes it. */
static const char *label_of(tree_t *t, const pag_frame_t *f)
{
    if ((t->ls_n + 1) * 2 > t->ls_cap) {
        size_t nc = t->ls_cap ? t->ls_cap * 2 : 256;
        lslot_t *nt = calloc(nc, sizeof *nt);
        if (!nt) {
            t->oom = 1;
            return NULL;
        }
        for (size_t i = 0; i < t->ls_cap; i++)
            if (t->ls[i].used)
                *lslot_find(nt, nc, t->ls[i].qn, t->ls[i].fn, t->ls[i].lineno) = t->ls[i];
        free(t->ls);
        t->ls = nt;
        t->ls_cap = nc;
    }
    lslot_t *e = lslot_find(t->ls, t->ls_cap, f->qualname, f->filename, f->lineno);
    if (e->used) return e->label;
    const char *qn = f->qualname ? f->qualname : "", *fn = f->filename ? f->filename : "";
    size_t cap = pag__text_size(qn) + pag__text_size(fn) + 16;
    char *buf = pag__arena_alloc(&t->arena, cap);
    if (!buf) {
        t->oom = 1;
        return NULL;
    }
    FILE *m = fmemopen(buf, cap, "w");
    if (!m) {
        t->oom = 1;
        return NULL;
    }
    setbuf(m, NULL);
    pag__put_frame_text(m, f);
    long len = ftell(m);
    fclose(m);
    buf[len >= 0 && (size_t)len < cap ? (size_t)len : cap - 1] = '\0';
    e->used = 1;
    e->qn = f->qualname;
    e->fn = f->filename;
    e->lineno = f->lineno;
    e->label = buf;
    t->ls_n++;
    return buf;
}

static size_t new_node(tree_t *t)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        tnode_t *p = realloc(t->nodes, nc * sizeof *p);
        if (!p) {
            t->oom = 1;
            return NONE;
        }
        t->nodes = p;
        t->cap = nc;
    }
    tnode_t *nd = &t->nodes[t->n];
    memset(nd, 0, sizeof *nd);
    nd->first_lkid = nd->next_lsib = NONE;
    return t->n++;
}

static void add_edge(tree_t *t, size_t parent, size_t kid)
{
    if (t->n_edges == t->cap_edges) {
        size_t nc = t->cap_edges ? t->cap_edges * 2 : 256;
        tedge_t *p = realloc(t->edges, nc * sizeof *p);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->edges = p;
        t->cap_edges = nc;
    }
    t->edges[t->n_edges].parent = parent;
    t->edges[t->n_edges].kid = kid;
    t->n_edges++;
    t->nodes[kid].is_child = 1;
}

/* CPython's cor_nodes: the coroutine node (parent, label), made once.  A
 * parent has at most a few coroutine kids (one per distinct next frame of
 * the one stack that passes through it), so a list scan is enough. */
static size_t get_or_create(tree_t *t, size_t parent, const char *label)
{
    for (size_t k = t->nodes[parent].first_lkid; k != NONE; k = t->nodes[k].next_lsib) {
        const char *l = t->nodes[k].label;
        if (l == label || strcmp(l, label) == 0) return k;
    }
    size_t id = new_node(t);
    if (id == NONE) return NONE;
    t->nodes[id].label = label;
    t->nodes[id].next_lsib = t->nodes[parent].first_lkid;
    t->nodes[parent].first_lkid = id;
    add_edge(t, parent, id);
    return t->oom ? NONE : id;
}

/* Hang child task `child` (snapshot index) below parent once.  All edges
 * into one child are added together, so the stamp catches a repeat. */
static void add_task_kid(tree_t *t, size_t parent, size_t child_node, size_t child)
{
    if (t->nodes[parent].stamp == child + 1) return; /* this edge is there already */
    t->nodes[parent].stamp = child + 1;
    add_edge(t, parent, child_node);
}

/* The edges, grouped by parent in insertion order (a stable counting sort). */
static int build_kids(tree_t *t)
{
    t->off = calloc(t->n + 1, sizeof *t->off);
    t->kids = malloc((t->n_edges ? t->n_edges : 1) * sizeof *t->kids);
    if (!t->off || !t->kids) return -1;
    for (size_t e = 0; e < t->n_edges; e++)
        t->off[t->edges[e].parent + 1]++;
    for (size_t v = 0; v < t->n; v++)
        t->off[v + 1] += t->off[v];
    size_t *fill = calloc(t->n ? t->n : 1, sizeof *fill);
    if (!fill) return -1;
    for (size_t e = 0; e < t->n_edges; e++) {
        size_t p = t->edges[e].parent;
        t->kids[t->off[p] + fill[p]++] = t->edges[e].kid;
    }
    free(fill);
    free(t->edges);
    t->edges = NULL;
    return 0;
}

/* A Task's label after its "(T) ". */
static void put_task_label_tail(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (t->name)
        pag__put_text(out, t->name);
    else
        fprintf(out, "0x%llx", (unsigned long long)t->addr);
    if (t->error != PAG_OK) fprintf(out, " [error: %s]", pag_strerror(t->error));
}

static void put_task_label(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (!t->is_task) {
        fputs("(F) Future ", out);
        pag__put_hex(out, t->addr);
        return;
    }
    fputs("(T) ", out);
    put_task_label_tail(out, snap, i);
}

static void put_name(FILE *out, const pag_snapshot_t *snap, size_t i)
{
    const pag_task_t *t = &snap->tasks[i];
    if (t->is_task && t->name)
        pag__put_text(out, t->name);
    else
        fprintf(out, "0x%llx", (unsigned long long)t->addr);
}

/* --group: a folded node, "(T) conn-* ×4,812" ("(T) " already written
 * when named), or "(F) Future ×3": the ids are the members' own. */
static void put_group_label(FILE *out, const pag_snapshot_t *snap, const tree_t *t, size_t cnt,
                            size_t pat, size_t task, int named)
{
    const pag_task_t *x = &snap->tasks[task];
    if (!named) {
        fputs(x->is_task ? "(T) " : "(F) Future", out);
        if (x->is_task) fputs("0x*", out);
    } else if (pat != NONE) {
        pag__pattern_put(out, &t->pats[pat]);
    }
    if (x->error != PAG_OK) fprintf(out, " [error: %s]", pag_strerror(x->error));
    fputs(" \xc3\x97", out); /* " ×" */
    pag__put_count(out, cnt);
}

typedef struct {
    size_t node;
    size_t next;
} rframe_t;

/* The indentation of the current path, "    " or "│   " per ancestor,
 * kept as one string that grows and shrinks with the path: a line is then
 * one write of prefix and connector, not one small write per level. */
typedef struct {
    char *p;
    size_t len, cap;
} pfx_t;

static int pfx_reserve(pfx_t *x, size_t more)
{
    if (x->len + more <= x->cap) return 0;
    size_t cap = x->cap ? x->cap * 2 : 256;
    while (cap < x->len + more)
        cap *= 2;
    char *p = realloc(x->p, cap);
    if (!p) return -1;
    x->p = p;
    x->cap = cap;
    return 0;
}

#define SEG_LAST "    "
#define SEG_MORE "\xe2\x94\x82   "                        /* "│   " */
#define CONN_LAST "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 " /* "└── " */
#define CONN_MORE "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 " /* "├── " */
#define SEG_LEN(last) ((last) ? sizeof SEG_LAST - 1 : sizeof SEG_MORE - 1)

/* Draw one root; prefix segments come from the "last" flags of ancestors. */
static int render_root(FILE *out, const pag_snapshot_t *snap, tree_t *t, size_t root,
                       const size_t rgrp[2], rframe_t *stack, unsigned char *lastf, size_t *onpath,
                       pag_budget_t *budget, pfx_t *pfx)
{
    size_t sp = 0;
    fputs(CONN_LAST, out);
    size_t rt = t->nodes[root].task;
    if (rgrp && rgrp[0] > 1) {
        int named = snap->tasks[rt].is_task;
        if (named) fputs("(T) ", out);
        put_group_label(out, snap, t, rgrp[0], rgrp[1], rt, named);
    } else {
        put_task_label(out, snap, rt);
    }
    stack[sp].node = root;
    stack[sp].next = 0;
    lastf[sp] = 1;
    sp++;
    onpath[root]++;
    pfx->len = 0;
    if (pfx_reserve(pfx, sizeof SEG_LAST - 1)) return -2;
    memcpy(pfx->p, SEG_LAST, sizeof SEG_LAST - 1);
    pfx->len = sizeof SEG_LAST - 1;
    while (sp > 0) {
        rframe_t *top = &stack[sp - 1];
        size_t nk = t->off[top->node + 1] - t->off[top->node];
        if (top->next >= nk) {
            onpath[top->node]--;
            pfx->len -= SEG_LEN(lastf[sp - 1]);
            sp--;
            continue;
        }
        size_t i = top->next++;
        size_t kid = t->kids[t->off[top->node] + i];
        if (pag__budget_spend(budget, pfx->len + 80, out)) {
            for (size_t q = 0; q < sp; q++)
                onpath[stack[q].node]--;
            return 1;
        }
        int last = top->next == nk;
        tnode_t *k = &t->nodes[kid];
        /* "\n" + prefix + connector + "(T) " or " " in one write; the
         * prefix buffer has room for it past its end */
        static const char tail_task[] = "(T) ", tail_coro[] = " ";
        int named = k->is_task && snap->tasks[k->task].is_task;
        const char *tail = k->is_task ? (named ? tail_task : "") : tail_coro;
        size_t tl = strlen(tail);
        if (pfx_reserve(pfx, 1 + sizeof CONN_LAST - 1 + tl + sizeof SEG_MORE - 1)) return -2;
        char *w = pfx->p + pfx->len;
        memcpy(w, last ? CONN_LAST : CONN_MORE, sizeof CONN_LAST - 1);
        memcpy(w + sizeof CONN_LAST - 1, tail, tl);
        fputc('\n', out);
        fwrite(pfx->p, 1, pfx->len + sizeof CONN_LAST - 1 + tl, out);
        if (k->is_task) {
            size_t slot = t->off[top->node] + i;
            if (t->cnt && t->cnt[slot] > 1)
                put_group_label(out, snap, t, t->cnt[slot], t->pat[slot], k->task, named);
            else if (named)
                put_task_label_tail(out, snap, k->task);
            else
                put_task_label(out, snap, k->task);
            if (onpath[kid]) {
                fputs(" [cycle]", out);
                continue;
            }
        } else {
            fputs(k->label, out);
        }
        if (sp >= t->n) return -1; /* cannot happen: the path has no repeats */
        stack[sp].node = kid;
        stack[sp].next = 0;
        lastf[sp] = (unsigned char)last;
        memcpy(pfx->p + pfx->len, last ? SEG_LAST : SEG_MORE, SEG_LEN(last));
        pfx->len += SEG_LEN(last);
        sp++;
        onpath[kid]++;
    }
    fputc('\n', out);
    return 0;
}

/* One render's state, shared by its phases through one pointer and freed
 * in one place whichever phase fails.  Build phase: tnode, chain_end and
 * awaiter (per snapshot index) fill t.  Draw phase: stack, lastf, onpath,
 * reached and roots (per tree node) are allocated once t is complete. */
typedef struct render {
    const pag_snapshot_t *snap;
    const unsigned char *sel;
    tree_t t;
    size_t *tnode;          /* the task node of a selected task, else NONE */
    size_t *chain_end;      /* an awaiter's innermost frame node, once walked */
    unsigned char *awaiter; /* 1: some selected task awaits it */
    rframe_t *stack;        /* the DFS stack: roots search, then drawing */
    unsigned char *lastf, *reached;
    size_t *onpath, *roots, n_roots;
    size_t *rgrp; /* --group: per root, its count and pattern (pairs) */
    pfx_t pfx;
    int native; /* --native: a running task's own frames go on into its thread's */
} render_t;

/* Hang a stack's frames, outermost first, below node cur as a chain of
 * coroutine nodes (shared with earlier chains by label).  Returns the
 * innermost one (cur itself for an empty stack), or NONE out of memory. */
static size_t add_frames(tree_t *t, size_t cur, const pag_stack_t *st)
{
    size_t sn = st->frames ? st->n : 0;
    for (size_t f = sn; f-- > 0;) {
        const char *l = label_of(t, &st->frames[f]);
        cur = l ? get_or_create(t, cur, l) : NONE;
        if (cur == NONE) return NONE;
    }
    return cur;
}

/* --native: below a running task's leaf (its innermost coroutine), the rest
 * of what its thread runs, outermost first down to the blocking C function:
 * sync frames as "func file:line", native ones as "[native] ...". */
static int add_running(tree_t *t, size_t leaf, const pag_snapshot_t *snap, size_t ti)
{
    const pag_task_t *task = &snap->tasks[ti];
    pag__vframe_t *v = NULL;
    size_t nv = pag__task_view(snap, task, 1, &v);
    size_t nc = task->stack.frames ? task->stack.n : 0;
    if (!v) return -1;
    size_t extra = nv > nc ? nv - nc : 0;
    pag_frame_t *fr = pag__arena_alloc(&t->arena, (extra ? extra : 1) * sizeof *fr);
    if (!fr) {
        free(v);
        return -1;
    }
    for (size_t k = 0; k < extra; k++) {
        if (v[k].py) {
            fr[k] = *v[k].py;
            continue;
        }
        char buf[1100] = "[native] ";
        pag__native_text(v[k].nat, buf + 9, sizeof buf - 9);
        size_t m = strlen(buf);
        char *q = pag__arena_alloc(&t->arena, m + 1);
        if (!q) {
            free(v);
            return -1;
        }
        memcpy(q, buf, m + 1);
        memset(&fr[k], 0, sizeof fr[k]);
        fr[k].qualname = q;
        fr[k].filename = "";
        fr[k].lineno = -1;
    }
    free(v);
    pag_stack_t st = {fr, extra};
    return add_frames(t, leaf, &st) == NONE ? -1 : 0;
}

/* CPython's _build_tree: a node per selected task, in snapshot order; then
 * every (awaiter, child) edge in snapshot order, the child below the
 * awaiter's frames; then the own frames of tasks that await nobody. */
static pag_err_t build_tree(render_t *r)
{
    const pag_snapshot_t *snap = r->snap;
    const unsigned char *sel = r->sel;
    tree_t *t = &r->t;
    size_t n = snap->n_tasks;
    /* per-task loops: the arrays in locals, not reloaded through r */
    size_t *tnode = r->tnode = malloc((n ? n : 1) * sizeof *tnode);
    size_t *chain_end = r->chain_end = malloc((n ? n : 1) * sizeof *chain_end);
    unsigned char *awaiter = r->awaiter = calloc(n ? n : 1, 1);
    if (!tnode || !chain_end || !awaiter) return PAG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        tnode[i] = chain_end[i] = NONE;
        if (!sel[i]) continue;
        tnode[i] = new_node(t);
        if (tnode[i] == NONE) return PAG_ERR_NOMEM;
        t->nodes[tnode[i]].is_task = 1;
        t->nodes[tnode[i]].task = i;
    }
    for (size_t i = 0; i < n; i++) {
        const pag_task_t *c = &snap->tasks[i];
        if (!sel[i] || !c->awaited_by) continue;
        for (size_t k = 0; k < c->n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, c, k);
            if (a == SIZE_MAX || !sel[a]) continue;
            awaiter[a] = 1;
            /* the awaiter's frames are the same nodes for every child it
             * has: walk them once */
            if (chain_end[a] == NONE) {
                chain_end[a] = add_frames(t, tnode[a], &snap->tasks[a].stack);
                if (chain_end[a] == NONE) return PAG_ERR_NOMEM;
            }
            add_task_kid(t, chain_end[a], tnode[i], i);
            if (t->oom) return PAG_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!sel[i] || awaiter[i]) continue;
        size_t leaf = add_frames(t, tnode[i], &snap->tasks[i].stack);
        if (leaf == NONE) return PAG_ERR_NOMEM;
        if (r->native && snap->tasks[i].running && add_running(t, leaf, snap, i) != 0)
            return PAG_ERR_NOMEM;
    }
    return build_kids(t) != 0 ? PAG_ERR_NOMEM : PAG_OK;
}

/* CPython's _roots: the task nodes nobody points to, in node order.  A
 * cycle that no root reaches would vanish, so a second pass adds, for
 * what is still unreached, its first task in node order as a root.  Pass 0
 * roots come first, pass 1 roots after: CPython prints roots in node
 * order, and pass 1 only adds cycle entries. */
static pag_err_t find_roots(render_t *r)
{
    const tree_t *t = &r->t;
    size_t nn = t->n;
    r->stack = malloc((nn ? nn : 1) * sizeof *r->stack);
    r->lastf = malloc(nn ? nn : 1);
    r->onpath = calloc(nn ? nn : 1, sizeof *r->onpath);
    r->reached = calloc(nn ? nn : 1, 1);
    r->roots = malloc((nn ? nn : 1) * sizeof *r->roots);
    if (!r->stack || !r->lastf || !r->onpath || !r->reached || !r->roots) return PAG_ERR_NOMEM;
    const tnode_t *nodes = t->nodes;
    const size_t *off = t->off, *kids = t->kids;
    rframe_t *stack = r->stack;
    unsigned char *reached = r->reached;
    size_t *roots = r->roots, n_roots = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t v = 0; v < nn; v++) {
            if (!nodes[v].is_task || reached[v]) continue;
            if (pass == 0 && nodes[v].is_child) continue;
            roots[n_roots++] = v;
            size_t sp = 0;
            reached[v] = 1;
            stack[sp++].node = v;
            while (sp > 0) {
                size_t u = stack[--sp].node;
                for (size_t q = off[u]; q < off[u + 1]; q++) {
                    size_t w = kids[q];
                    if (!reached[w]) reached[w] = 1, stack[sp++].node = w;
                }
            }
        }
    }
    r->n_roots = n_roots;
    return PAG_OK;
}

/* Each root's tree, until the output budget runs out (which still leaves
 * the cycle lines to write). */
static pag_err_t draw_roots(render_t *r, FILE *out, pag__caps_t *caps)
{
    pag_budget_t budget = {0, 0, caps};
    for (size_t k = 0; k < r->n_roots; k++) {
        int rc = render_root(out, r->snap, &r->t, r->roots[k], r->rgrp ? &r->rgrp[2 * k] : NULL,
                             r->stack, r->lastf, r->onpath, &budget, &r->pfx);
        if (rc == -2) return PAG_ERR_NOMEM;
        if (rc < 0) return PAG_ERR_CORRUPT;
        if (rc > 0) break;
    }
    return PAG_OK;
}

/* After the trees: an empty line, then one line per selected cycle,
 * written backwards (a cycle lists awaited_by order) so that each name
 * awaits the next. */
static void put_cycles(FILE *out, const pag_snapshot_t *snap, const unsigned char *sel)
{
    int header = 0;
    for (size_t c = 0; c < snap->n_cycles; c++) {
        const pag_cycle_t *cy = &snap->cycles[c];
        if (!pag__cycle_selected(snap, cy, sel)) continue;
        if (!header) fputc('\n', out);
        header = 1;
        fputs("possible deadlock: await cycle: ", out);
        for (size_t q = cy->n; q-- > 0;) {
            put_name(out, snap, cy->nodes[q]);
            if (q) fputs(" \xe2\x86\x92 ", out); /* " → " */
        }
        fputc('\n', out);
    }
}

/* ---- --group: fold sibling task nodes of one shape (group.c) ---- */

typedef struct folder {
    const pag_snapshot_t *snap;
    const pag__groups_t *g;
    tree_t *t;
    size_t *seen_par, *seen_at; /* per shape: parent + 1, and its slot there */
} folder_t;

/* Fold one sibling list in[0..n) (kids of parent, or the roots) into
 * out[0..), with counts and pattern indices; returns the length kept. */
static size_t fold_list(folder_t *f, size_t parent, const size_t *in, size_t n, size_t *out,
                        size_t *cnt, size_t *pat)
{
    tree_t *t = f->t;
    size_t w = 0;
    for (size_t q = 0; q < n && !t->oom; q++) {
        size_t kid = in[q];
        size_t s = t->nodes[kid].is_task ? f->g->shape[t->nodes[kid].task] : NONE;
        int foldable = s != NONE && !f->g->unique[s];
        if (foldable && f->seen_par[s] == parent + 1) {
            size_t d = f->seen_at[s];
            if (pat[d] == NONE) { /* the second member: the group gets a pattern */
                if (t->n_pats == t->cap_pats) {
                    size_t nc = t->cap_pats ? t->cap_pats * 2 : 64;
                    pag__pattern_t *np = realloc(t->pats, nc * sizeof *np);
                    if (!np) {
                        t->oom = 1;
                        break;
                    }
                    t->pats = np, t->cap_pats = nc;
                }
                pat[d] = t->n_pats;
                memset(&t->pats[t->n_pats], 0, sizeof t->pats[0]);
                pag__pattern_add(&t->pats[t->n_pats++], f->snap->tasks[t->nodes[out[d]].task].name);
            }
            pag__pattern_add(&t->pats[pat[d]], f->snap->tasks[t->nodes[kid].task].name);
            cnt[d]++;
            continue;
        }
        out[w] = kid, cnt[w] = 1, pat[w] = NONE;
        if (foldable) f->seen_par[s] = parent + 1, f->seen_at[s] = w;
        w++;
    }
    return w;
}

/* Replace the kid ranges and the roots by their folded lists (in place:
 * a folded list is never longer than the list it comes from). */
static pag_err_t fold_tree(render_t *r, const pag__groups_t *g)
{
    tree_t *t = &r->t;
    size_t ns = g->n_shapes ? g->n_shapes : 1, ne = t->off[t->n] ? t->off[t->n] : 1;
    folder_t f = {r->snap, g, t, calloc(ns, sizeof(size_t)), malloc(ns * sizeof(size_t))};
    t->cnt = malloc(ne * sizeof *t->cnt);
    t->pat = malloc(ne * sizeof *t->pat);
    size_t nr = r->n_roots ? r->n_roots : 1;
    size_t *rcnt = malloc(nr * sizeof *rcnt), *rpat = malloc(nr * sizeof *rpat);
    r->rgrp = malloc(2 * nr * sizeof *r->rgrp);
    pag_err_t err = PAG_ERR_NOMEM;
    if (f.seen_par && f.seen_at && t->cnt && t->pat && rcnt && rpat && r->rgrp) {
        size_t w = 0;
        for (size_t v = 0; v < t->n; v++) {
            size_t b = t->off[v], e = t->off[v + 1];
            t->off[v] = w;
            w += fold_list(&f, v, t->kids + b, e - b, t->kids + w, t->cnt + w, t->pat + w);
        }
        t->off[t->n] = w;
        r->n_roots = fold_list(&f, t->n, r->roots, r->n_roots, r->roots, rcnt, rpat);
        for (size_t k = 0; k < r->n_roots; k++)
            r->rgrp[2 * k] = rcnt[k], r->rgrp[2 * k + 1] = rpat[k];
        err = t->oom ? PAG_ERR_NOMEM : PAG_OK;
    }
    free(f.seen_par), free(f.seen_at), free(rcnt), free(rpat);
    return err;
}

static void render_free(render_t *r)
{
    free(r->t.nodes);
    free(r->t.edges);
    free(r->t.off);
    free(r->t.kids);
    free(r->t.ls);
    pag__arena_fini(&r->t.arena);
    free(r->chain_end);
    free(r->tnode);
    free(r->awaiter);
    free(r->stack);
    free(r->lastf);
    free(r->onpath);
    free(r->reached);
    free(r->roots);
    free(r->rgrp);
    free(r->t.cnt);
    free(r->t.pat);
    free(r->t.pats);
    free(r->pfx.p);
}

/* Build the tree, find its roots, draw them, then the cycle lines; the
 * first phase that fails ends the render with its error. */
pag_err_t pag__render_tree(const pag_snapshot_t *snap, const pag_options_t *opts,
                           const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)source_json; /* only json writes the source object */
    render_t r = {.snap = snap, .sel = sel, .native = opts->native};
    pag_err_t err = build_tree(&r);
    if (err == PAG_OK) err = find_roots(&r);
    if (err == PAG_OK && opts && opts->group) {
        pag__groups_t g;
        err = pag__groups_build(snap, sel, &g);
        if (err == PAG_OK) err = fold_tree(&r, &g);
        pag__groups_free(&g);
    }
    if (err == PAG_OK) err = draw_roots(&r, out, pag__render_caps(opts));
    if (err == PAG_OK) put_cycles(out, snap, sel);
    render_free(&r);
    return err;
}
