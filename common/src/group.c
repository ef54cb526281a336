/* Grouping: what makes ten thousand tasks readable (issue 16).
 *
 * A service in trouble has thousands of tasks in a few shapes (30,000
 * connection handlers parked at one line, 5,000 workers in one call).  The
 * --group tree folds sibling subtrees of the same shape, --format summary
 * counts the tasks per suspension point, --format collapsed merges equal
 * stacks.  All three need equality of structures over up to millions of
 * tasks, computed here once, on the snapshot alone: shapes by exact
 * interning (no hash is trusted for equality: two structures are compared
 * element by element before they share an id), chains by a trie of
 * interned links.  Everything is iterative and linear in the snapshot. */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "group.h"
#include "internal.h"

#define NONE SIZE_MAX

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h * 0x9e3779b97f4a7c15ull;
}

static uint64_t hash_frame(uint64_t h, const pag_frame_t *f)
{
    h = hash_str(h, f->qualname);
    h = hash_str(h, f->filename);
    return (h ^ (uint64_t)(unsigned)f->lineno) * 0xff51afd7ed558ccdull;
}

static int frame_eq(const pag_frame_t *a, const pag_frame_t *b)
{
    const char *qa = a->qualname ? a->qualname : "", *qb = b->qualname ? b->qualname : "";
    const char *fa = a->filename ? a->filename : "", *fb = b->filename ? b->filename : "";
    return a->lineno == b->lineno && (qa == qb || strcmp(qa, qb) == 0) &&
           (fa == fb || strcmp(fa, fb) == 0);
}

static size_t stack_n(const pag_stack_t *st)
{
    return st->frames ? st->n : 0;
}

/* ---- the kids (the inverse of awaited_by, restricted to the selection) -- */

static pag_err_t build_kids(const pag_snapshot_t *snap, const unsigned char *sel, pag__groups_t *g)
{
    size_t n = snap->n_tasks;
    size_t *stamp = calloc(n ? n : 1, sizeof *stamp), *pos = malloc((n + 1) * sizeof *pos);
    g->off = calloc(n + 1, sizeof *g->off);
    pag_err_t err = stamp && pos && g->off ? PAG_OK : PAG_ERR_NOMEM;
    /* pass 0 counts each awaiter's kids, pass 1 places them; the stamp
     * (kid + 1 per awaiter) drops an awaiter listed twice by one kid */
    for (int pass = 0; pass < 2 && err == PAG_OK; pass++) {
        memset(stamp, 0, (n ? n : 1) * sizeof *stamp);
        for (size_t c = 0; c < n; c++) {
            const pag_task_t *t = &snap->tasks[c];
            if (!sel[c] || !t->awaited_by) continue;
            for (size_t k = 0; k < t->n_awaited_by; k++) {
                size_t a = pag__awaiter(snap, t, k);
                if (a == SIZE_MAX || !sel[a] || stamp[a] == c + 1) continue;
                stamp[a] = c + 1;
                if (pass == 0)
                    g->off[a + 1]++;
                else
                    g->kids[pos[a]++] = c;
            }
        }
        if (pass == 1) break;
        for (size_t v = 0; v < n; v++)
            g->off[v + 1] += g->off[v];
        memcpy(pos, g->off, (n + 1) * sizeof *pos);
        g->kids = malloc((g->off[n] ? g->off[n] : 1) * sizeof *g->kids);
        if (!g->kids) err = PAG_ERR_NOMEM;
    }
    free(stamp);
    free(pos);
    return err;
}

/* ---- shapes ---- */

typedef struct shaper {
    const pag_snapshot_t *snap;
    pag__groups_t *g;
    size_t *rep;   /* per shape: a task of that shape */
    size_t *slots; /* intern table: shape id + 1, 0 empty */
    size_t cap;
} shaper_t;

static uint64_t shape_hash(const shaper_t *s, size_t v)
{
    const pag_task_t *t = &s->snap->tasks[v];
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)t->is_task << 1) ^ (uint64_t)(t->name != NULL);
    h = (h ^ (uint64_t)t->error) * 0x100000001b3ull;
    for (size_t f = 0; f < stack_n(&t->stack); f++)
        h = hash_frame(h, &t->stack.frames[f]);
    for (size_t q = s->g->off[v]; q < s->g->off[v + 1]; q++)
        h = (h ^ s->g->shape[s->g->kids[q]]) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static int shape_eq(const shaper_t *s, size_t a, size_t b)
{
    const pag_task_t *x = &s->snap->tasks[a], *y = &s->snap->tasks[b];
    const pag__groups_t *g = s->g;
    if (x->is_task != y->is_task || (x->name != NULL) != (y->name != NULL) ||
        x->error != y->error || stack_n(&x->stack) != stack_n(&y->stack) ||
        g->off[a + 1] - g->off[a] != g->off[b + 1] - g->off[b])
        return 0;
    for (size_t f = 0; f < stack_n(&x->stack); f++)
        if (!frame_eq(&x->stack.frames[f], &y->stack.frames[f])) return 0;
    for (size_t q = 0; q < g->off[a + 1] - g->off[a]; q++)
        if (g->shape[g->kids[g->off[a] + q]] != g->shape[g->kids[g->off[b] + q]]) return 0;
    return 1;
}

/* The shape of v, all of whose kids have theirs: an existing id or a new one. */
static size_t intern_shape(shaper_t *s, size_t v, int unique)
{
    pag__groups_t *g = s->g;
    for (size_t q = g->off[v]; q < g->off[v + 1] && !unique; q++)
        unique = g->unique[g->shape[g->kids[q]]] != 0;
    size_t id = g->n_shapes;
    if (!unique) {
        size_t mask = s->cap - 1;
        for (size_t i = shape_hash(s, v) & mask;; i = (i + 1) & mask) {
            if (!s->slots[i]) {
                s->slots[i] = id + 1;
                break;
            }
            if (shape_eq(s, s->rep[s->slots[i] - 1], v)) return s->slots[i] - 1;
        }
    }
    s->rep[id] = v;
    g->unique[id] = (size_t)unique;
    g->n_shapes++;
    return id;
}

/* Post-order over the kids, iteratively (an explicit stack of (task, next
 * kid)); a kid still on the stack closes an await cycle, so the task that
 * reaches it gets a unique shape, and uniqueness rises to every ancestor. */
static pag_err_t assign_shapes(shaper_t *s, const unsigned char *sel)
{
    pag__groups_t *g = s->g;
    size_t n = g->n;
    size_t *st = malloc((n ? n : 1) * 2 * sizeof *st);
    unsigned char *state = calloc(n ? n : 1, 1), *cyclic = calloc(n ? n : 1, 1);
    if (!st || !state || !cyclic) {
        free(st), free(state), free(cyclic);
        return PAG_ERR_NOMEM;
    }
    for (size_t r = 0; r < n; r++) {
        if (!sel[r] || state[r]) continue;
        size_t sp = 0;
        st[0] = r, st[1] = g->off[r], sp = 1, state[r] = 1;
        while (sp > 0) {
            size_t v = st[2 * (sp - 1)], *next = &st[2 * (sp - 1) + 1];
            if (*next < g->off[v + 1]) {
                size_t k = g->kids[(*next)++];
                if (state[k] == 1) cyclic[v] = 1;
                if (state[k]) continue;
                state[k] = 1; /* sp < n: each task is on the stack once */
                st[2 * sp] = k, st[2 * sp + 1] = g->off[k], sp++;
                continue;
            }
            g->shape[v] = intern_shape(s, v, cyclic[v] || s->snap->tasks[v].running);
            state[v] = 2;
            sp--;
        }
    }
    free(st), free(state), free(cyclic);
    return PAG_OK;
}

pag_err_t pag__groups_build(const pag_snapshot_t *snap, const unsigned char *sel, pag__groups_t *g)
{
    memset(g, 0, sizeof *g);
    size_t n = g->n = snap->n_tasks;
    shaper_t s = {.snap = snap, .g = g};
    pag_err_t err = build_kids(snap, sel, g);
    if (err != PAG_OK) return err;
    s.cap = 16;
    while (s.cap < 2 * n)
        s.cap *= 2;
    g->shape = malloc((n ? n : 1) * sizeof *g->shape);
    g->unique = malloc((n ? n : 1) * sizeof *g->unique);
    s.rep = malloc((n ? n : 1) * sizeof *s.rep);
    s.slots = calloc(s.cap, sizeof *s.slots);
    if (!g->shape || !g->unique || !s.rep || !s.slots) {
        err = PAG_ERR_NOMEM;
    } else {
        for (size_t i = 0; i < n; i++)
            g->shape[i] = NONE;
        err = assign_shapes(&s, sel);
    }
    free(s.rep);
    free(s.slots);
    return err;
}

void pag__groups_free(pag__groups_t *g)
{
    free(g->shape);
    free(g->unique);
    free(g->off);
    free(g->kids);
    memset(g, 0, sizeof *g);
}

/* ---- chains ---- */

static int link_eq(const pag_snapshot_t *snap, int whole, size_t a, size_t b)
{
    const pag_stack_t *x = &snap->tasks[a].stack, *y = &snap->tasks[b].stack;
    size_t nx = stack_n(x), ny = stack_n(y);
    if (!whole) {
        if (!nx || !ny) return nx == ny;
        return frame_eq(&x->frames[0], &y->frames[0]);
    }
    if (nx != ny) return 0;
    for (size_t f = 0; f < nx; f++)
        if (!frame_eq(&x->frames[f], &y->frames[f])) return 0;
    return 1;
}

static uint64_t link_hash(const pag_snapshot_t *snap, int whole, size_t task, size_t parent)
{
    const pag_stack_t *st = &snap->tasks[task].stack;
    uint64_t h = ((uint64_t)parent + 1) * 0x9e3779b97f4a7c15ull;
    size_t nf = whole ? stack_n(st) : (stack_n(st) ? 1 : 0);
    for (size_t f = 0; f < nf; f++)
        h = hash_frame(h, &st->frames[f]);
    return (h ^ nf) * 0xff51afd7ed558ccdull;
}

static int chains_grow(pag__chains_t *c)
{
    if (c->n_nodes < c->cap_nodes) return 0;
    size_t nc = c->cap_nodes ? c->cap_nodes * 2 : 64;
    pag__chain_node_t *p = realloc(c->nodes, nc * sizeof *p);
    if (!p) return -1;
    c->nodes = p;
    c->cap_nodes = nc;
    return 0;
}

/* The link (task's frames, parent chain): an existing id or a new one.
 * There are at most as many links as selected tasks, so the table sized
 * for that never fills. */
static size_t intern_link(const pag_snapshot_t *snap, pag__chains_t *c, size_t task, size_t parent)
{
    size_t mask = c->cap_slots - 1;
    size_t i = link_hash(snap, c->whole, task, parent) & mask;
    for (;; i = (i + 1) & mask) {
        if (!c->slots[i]) break;
        const pag__chain_node_t *e = &c->nodes[c->slots[i] - 1];
        if (e->parent == parent && link_eq(snap, c->whole, e->task, task)) return c->slots[i] - 1;
    }
    if (chains_grow(c)) return NONE;
    size_t id = c->n_nodes++;
    c->nodes[id].task = task;
    c->nodes[id].parent = parent;
    c->nodes[id].depth = 1 + (parent < PAG__CHAIN_CYCLE ? c->nodes[parent].depth : 0);
    c->slots[i] = id + 1;
    return id;
}

/* Walk up from t along first awaiters until a task whose chain is known,
 * the end of the chain or a task met again on this walk; then intern the
 * links from the top down.  onpath holds t + 1 for the tasks of this walk,
 * at their index in path.  Met again: the tasks from there on are a cycle,
 * and each one's chain is itself, then "[cycle]" -- the same whichever
 * task's walk finds the cycle, so chains never depend on walk order. */
static pag_err_t chain_of(const pag_snapshot_t *snap, const unsigned char *sel, pag__chains_t *c,
                          size_t t, size_t *path, size_t *onpath, size_t *at)
{
    size_t np = 0, base = PAG__CHAIN_ROOT, v = t;
    while (v != NONE && c->id[v] == NONE && onpath[v] != t + 1) {
        onpath[v] = t + 1;
        at[v] = np;
        path[np++] = v; /* np <= n: each task once per walk */
        const pag_task_t *x = &snap->tasks[v];
        size_t a = x->awaited_by && x->n_awaited_by ? pag__awaiter(snap, x, 0) : NONE;
        v = a != NONE && sel[a] ? a : NONE;
    }
    if (v != NONE && c->id[v] != NONE) base = c->id[v];
    if (v != NONE && c->id[v] == NONE) { /* back at path[at[v]]: a cycle */
        for (size_t j = at[v]; j < np; j++) {
            c->id[path[j]] = intern_link(snap, c, path[j], PAG__CHAIN_CYCLE);
            if (c->id[path[j]] == NONE) return PAG_ERR_NOMEM;
        }
        base = c->id[v];
        np = at[v];
    }
    while (np > 0) {
        size_t u = path[--np];
        base = intern_link(snap, c, u, base);
        if (base == NONE) return PAG_ERR_NOMEM;
        c->id[u] = base;
    }
    return PAG_OK;
}

pag_err_t pag__chains_build(const pag_snapshot_t *snap, const unsigned char *sel, int whole,
                            pag__chains_t *c)
{
    memset(c, 0, sizeof *c);
    c->whole = whole;
    size_t n = snap->n_tasks;
    c->cap_slots = 16;
    while (c->cap_slots < 2 * n)
        c->cap_slots *= 2;
    c->id = malloc((n ? n : 1) * sizeof *c->id);
    c->slots = calloc(c->cap_slots, sizeof *c->slots);
    size_t *path = malloc((n ? n : 1) * sizeof *path);
    size_t *onpath = calloc(n ? n : 1, sizeof *onpath), *at = malloc((n ? n : 1) * sizeof *at);
    pag_err_t err = PAG_OK;
    if (!c->id || !c->slots || !path || !onpath || !at) err = PAG_ERR_NOMEM;
    for (size_t i = 0; err == PAG_OK && i < n; i++)
        c->id[i] = NONE;
    for (size_t i = 0; err == PAG_OK && i < n; i++)
        if (sel[i] && c->id[i] == NONE) err = chain_of(snap, sel, c, i, path, onpath, at);
    free(path);
    free(onpath);
    free(at);
    return err;
}

void pag__chains_free(pag__chains_t *c)
{
    free(c->id);
    free(c->nodes);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

/* ---- name patterns and counts ---- */

void pag__pattern_add(pag__pattern_t *p, const char *name)
{
    const char *s = name ? name : "";
    size_t len = strlen(s);
    if (p->n++ == 0) {
        p->first = s;
        p->first_len = p->pre = p->suf = p->min_len = len;
        return;
    }
    size_t pre = 0, suf = 0;
    while (pre < p->pre && pre < len && s[pre] == p->first[pre])
        pre++;
    while (suf < p->suf && suf < len && s[len - 1 - suf] == p->first[p->first_len - 1 - suf])
        suf++;
    if (pre != len || len != p->first_len) p->differ = 1;
    p->pre = pre;
    p->suf = suf;
    if (len < p->min_len) p->min_len = len;
}

void pag__pattern_put(FILE *out, const pag__pattern_t *p)
{
    if (!p->n) return;
    if (!p->differ) {
        pag__put_text(out, p->first);
        return;
    }
    const unsigned char *f = (const unsigned char *)p->first;
    size_t pre = p->pre, suf = p->suf;
    /* prefix and suffix must not overlap in the shortest member, or the
     * pattern would not match it */
    if (pre + suf > p->min_len) suf = p->min_len - pre;
    while (pre > 0 && f[pre - 1] >= '0' && f[pre - 1] <= '9')
        pre--;
    while (suf > 0 && f[p->first_len - suf] >= '0' && f[p->first_len - suf] <= '9')
        suf--;
    while (pre > 0 && (f[pre] & 0xc0) == 0x80) /* never split a UTF-8 sequence */
        pre--;
    while (suf > 0 && (f[p->first_len - suf] & 0xc0) == 0x80)
        suf--;
    char *buf = malloc(pre + suf + 2);
    if (!buf) {
        fputc('*', out);
        return;
    }
    memcpy(buf, f, pre);
    buf[pre] = '*';
    memcpy(buf + pre + 1, f + p->first_len - suf, suf);
    buf[pre + 1 + suf] = '\0';
    pag__put_text(out, buf);
    free(buf);
}

void pag__put_count(FILE *out, uint64_t v)
{
    char d[32];
    int n = 0;
    do {
        if (n && n % 4 == 3) d[n++] = ',';
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n > 0)
        fputc(d[--n], out);
}
