/* --format html: one self-contained file to explore ten thousand tasks.
 *
 * The page is common/html/explorer.html with explorer.js inlined, embedded
 * at build time (common/html/embed.cmake makes pag_html_template.c); this
 * file writes the template up to its data marker, the snapshot as compact
 * JSON, and the rest.  No network, no CDN: the page needs nothing else.
 *
 * The data (schema "pag-html/1"), small enough for a million tasks (about
 * 30 bytes a task; the budget is 200), in columns, one element per selected
 * node, because a million small arrays are what makes JSON.parse slow:
 *   {"schema": "pag-html/1", "source": <the json format's source> | null,
 *    "threads": N, "loops": N,
 *    "s": [strings: function names and file names],
 *    "f": [frames, flat: func, file, line (-1: none), kind, ...],
 *    "name": [name | null, ...],
 *    "id": "d d d ...": each id minus the one before, base 36, "-" when
 *          negative (the first: minus 0); "0x... 0x..." when "id_hex",
 *    "fl": [flags, ...], "sh": [shape, ...],
 *    "sn": [number of frames, ...], "sf": [frame, ...] (all stacks, flat),
 *    "an": [number of awaiters, ...], "af": [awaiter, ...] (flat),
 *    "rs": {"index": [frame, ...]},        running tasks' real frames
 *    "e": {"index": "error text (detail)", ...},
 *    "c": [[task, ...], ...]}             each awaits the next, first repeated
 * flags: 1 Task (else Future), 2 running, 4 listed.  Frames are indices into
 * f (innermost first); awaiters indices of nodes, in the order Python
 * iterates them (what graph follows); shape: the tree's shape id
 * (group.c), -1 for one that never folds.  Every string is escaped so
 * that "</script>" cannot end the data early ('<', '>', '&' as \u00XX). */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "group.h"
#include "internal.h"

#ifdef PAG_HTML_EMBEDDED /* the build's pag_html_template.c (common/CMakeLists.txt) */
extern const unsigned char pag__html_template[];
extern const size_t pag__html_template_len;
#else /* compiled without the build (the fuzzer's run_fuzz.sh): data only */
static const unsigned char pag__html_template[] = "<!-- no template -->__PAG_DATA__\n";
static const size_t pag__html_template_len = sizeof pag__html_template - 1;
#endif

#define MARKER "__PAG_DATA__"
#define NONE SIZE_MAX

/* A JSON string safe inside <script>: invalid UTF-8 as U+FFFD, a lone
 * surrogate as its own \u escape (\udcff for byte 0xff). */
static void put_js_str(FILE *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p);
    fputc('"', out);
    while (len > 0) {
        uint32_t cp;
        size_t k = pag__utf8_next(p, len, &cp);
        if (cp == '"' || cp == '\\') {
            fputc('\\', out), fputc((int)cp, out);
        } else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 ||
                   cp == 0x2029 || (cp >= 0xd800 && cp <= 0xdfff)) {
            fputs("\\u", out);
            for (int sh = 12; sh >= 0; sh -= 4)
                fputc(hex[(cp >> sh) & 15], out);
        } else if (cp == 0xfffd && !(k == 3 && p[0] == 0xef)) {
            fputs("\\ufffd", out);
        } else {
            fwrite(p, 1, k, out);
        }
        p += k, len -= k;
    }
    fputc('"', out);
}

/* Content-keyed interning of strings and of frames. */
typedef struct islot {
    const char *s; /* strings: the text; frames: NULL */
    int64_t key[4];
    size_t id;
    int used;
} islot_t;

typedef struct interner {
    islot_t *tab;
    size_t cap, n;
} interner_t;

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull + (h >> 31);
}

static int grow(interner_t *in)
{
    if ((in->n + 1) * 2 <= in->cap) return 0;
    size_t nc = in->cap ? in->cap * 2 : 1024;
    islot_t *nt = calloc(nc, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < in->cap; i++) {
        if (!in->tab[i].used) continue;
        uint64_t h = 0xcbf29ce484222325ull;
        if (in->tab[i].s)
            for (const unsigned char *q = (const unsigned char *)in->tab[i].s; *q; q++)
                h = mix(h, *q);
        else
            for (int k = 0; k < 4; k++)
                h = mix(h, (uint64_t)in->tab[i].key[k]);
        size_t j = pag__hash64(h) & (nc - 1);
        while (nt[j].used)
            j = (j + 1) & (nc - 1);
        nt[j] = in->tab[i];
    }
    free(in->tab);
    in->tab = nt;
    in->cap = nc;
    return 0;
}

/* The id of s (or of key when s is NULL); *fresh = 1 when it is new. */
static size_t intern(interner_t *in, const char *s, const int64_t key[4], int *fresh)
{
    if (grow(in)) return NONE;
    uint64_t h = 0xcbf29ce484222325ull;
    if (s)
        for (const unsigned char *q = (const unsigned char *)s; *q; q++)
            h = mix(h, *q);
    else
        for (int k = 0; k < 4; k++)
            h = mix(h, (uint64_t)key[k]);
    size_t j = pag__hash64(h) & (in->cap - 1);
    for (; in->tab[j].used; j = (j + 1) & (in->cap - 1)) {
        islot_t *e = &in->tab[j];
        if (s ? (e->s && strcmp(e->s, s) == 0) : (!e->s && !memcmp(e->key, key, sizeof e->key))) {
            *fresh = 0;
            return e->id;
        }
    }
    islot_t *e = &in->tab[j];
    e->used = 1;
    e->s = s;
    if (!s) memcpy(e->key, key, sizeof e->key);
    e->id = in->n++;
    *fresh = 1;
    return e->id;
}

typedef struct html {
    const pag_snapshot_t *snap;
    const unsigned char *sel;
    size_t *idx; /* snapshot index -> index in "t", NONE if not selected */
    interner_t strs, frames;
    FILE *s_out, *f_out; /* the "s" and "f" arrays, built while tasks are */
    int oom;
} html_t;

static size_t str_id(html_t *h, const char *s)
{
    int fresh;
    size_t id = intern(&h->strs, s ? s : "", NULL, &fresh);
    if (id == NONE) {
        h->oom = 1;
        return 0;
    }
    if (fresh) {
        if (id) fputc(',', h->s_out);
        put_js_str(h->s_out, s ? s : "");
    }
    return id;
}

static size_t frame_id(html_t *h, const pag_frame_t *f)
{
    int64_t key[4] = {(int64_t)str_id(h, f->qualname), (int64_t)str_id(h, f->filename), f->lineno,
                      f->kind};
    int fresh;
    size_t id = intern(&h->frames, NULL, key, &fresh);
    if (id == NONE) {
        h->oom = 1;
        return 0;
    }
    if (fresh)
        fprintf(h->f_out, "%s%lld,%lld,%lld,%lld", id ? "," : "", (long long)key[0],
                (long long)key[1], (long long)key[2], (long long)key[3]);
    return id;
}

/* The task columns, one memory stream each, in schema order. */
enum { C_NAME, C_ID, C_FLAGS, C_SHAPE, C_SN, C_SF, C_AN, C_AF, C_RS, C__N };
static const char *const col_key[C__N] = {"name", "id", "fl", "sh", "sn", "sf", "an", "af", "rs"};

typedef struct cols {
    FILE *f[C__N];
    char *buf[C__N];
    size_t len[C__N], n[C__N]; /* n: elements written (for the commas) */
    uint64_t prev;             /* the id written last (put_id) */
    int hex;                   /* ids as hex: one is too big for a double */
} cols_t;

static void col_sep(cols_t *c, int k)
{
    if (c->n[k]++) fputc(k == C_ID ? ' ' : ',', c->f[k]);
}

static size_t put_frames(cols_t *c, int k, html_t *h, const pag_stack_t *st)
{
    size_t n = st->frames ? st->n : 0;
    for (size_t q = 0; q < n; q++) {
        col_sep(c, k);
        pag__put_u64(c->f[k], frame_id(h, &st->frames[q]));
    }
    return n;
}

/* An id as the difference to the one before, in base 36 ("-" when lower):
 * a third of the bytes of hex, for addresses that a double holds exactly
 * (below 2^53, which every user-space address of the supported systems
 * is); "id_hex" (c->hex) writes plain hex instead, when one is not. */
static void put_id(cols_t *c, uint64_t addr)
{
    FILE *f = c->f[C_ID];
    if (c->hex) {
        pag__put_hex(f, addr);
        return;
    }
    uint64_t d = addr >= c->prev ? addr - c->prev : c->prev - addr;
    if (addr < c->prev) fputc('-', f);
    char buf[16];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[d % 36];
        d /= 36;
    } while (d);
    while (n > 0)
        fputc(buf[--n], f);
    c->prev = addr;
}

/* One task into every column. */
static void put_task(cols_t *c, html_t *h, size_t i, const pag__groups_t *g)
{
    const pag_snapshot_t *snap = h->snap;
    const pag_task_t *t = &snap->tasks[i];
    col_sep(c, C_NAME);
    if (t->name)
        put_js_str(c->f[C_NAME], t->name);
    else
        fputs("null", c->f[C_NAME]);
    col_sep(c, C_ID);
    put_id(c, t->addr);
    col_sep(c, C_FLAGS);
    fputc('0' + ((t->is_task ? 1 : 0) | (t->running ? 2 : 0) | (t->listed ? 4 : 0)), c->f[C_FLAGS]);
    col_sep(c, C_SHAPE);
    size_t s = g->shape[i];
    if (s == NONE || g->unique[s])
        fputs("-1", c->f[C_SHAPE]);
    else
        pag__put_u64(c->f[C_SHAPE], s);
    size_t nf = put_frames(c, C_SF, h, &t->stack);
    col_sep(c, C_SN);
    pag__put_u64(c->f[C_SN], nf);
    size_t na = 0;
    for (size_t k = 0; t->awaited_by && k < t->n_awaited_by; k++) {
        size_t a = pag__awaiter_iter(snap, t, k);
        if (a == SIZE_MAX || h->idx[a] == NONE) continue;
        col_sep(c, C_AF);
        pag__put_u64(c->f[C_AF], h->idx[a]);
        na++;
    }
    col_sep(c, C_AN);
    pag__put_u64(c->f[C_AN], na);
    if (t->running && t->running_stack.frames && t->running_stack.n) {
        FILE *rs = c->f[C_RS];
        fprintf(rs, "%s\"%zu\":[", c->n[C_RS]++ ? "," : "", h->idx[i]);
        for (size_t q = 0; q < t->running_stack.n; q++)
            fprintf(rs, "%s%zu", q ? "," : "", frame_id(h, &t->running_stack.frames[q]));
        fputc(']', rs);
    }
}

/* The source object with '<' escaped (it is JSON already). */
static void put_source(FILE *out, const char *src)
{
    if (!src || !*src) {
        fputs("null", out);
        return;
    }
    for (const char *p = src; *p; p++)
        if (*p == '<')
            fputs("\\u003c", out);
        else
            fputc(*p, out);
}

/* "text (detail)", as graph's "+ Error:" line has it. */
static void put_error(FILE *out, const pag_task_t *t)
{
    char buf[512];
    const char *d = t->error_detail;
    snprintf(buf, sizeof buf, d && *d ? "%s (%s)" : "%s", pag_strerror(t->error), d ? d : "");
    put_js_str(out, buf);
}

static size_t count_loops(const pag_snapshot_t *snap, size_t *threads)
{
    size_t loops = 0;
    *threads = 0;
    for (size_t k = 0; k < snap->n_threads; k++) {
        const pag_thread_t *th = &snap->threads[k];
        *threads += th->tstate != 0;
        int seen = th->running_loop == 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = snap->threads[j].running_loop == th->running_loop;
        loops += !seen;
    }
    return loops;
}

static void put_tail(FILE *out, html_t *h)
{
    const pag_snapshot_t *snap = h->snap;
    fputs(",\n\"e\":{", out);
    int first = 1;
    for (size_t i = 0; i < snap->n_tasks; i++) {
        if (!h->sel[i] || snap->tasks[i].error == PAG_OK) continue;
        fprintf(out, "%s\"%zu\":", first ? "" : ",", h->idx[i]);
        first = 0;
        put_error(out, &snap->tasks[i]);
    }
    fputs("},\n\"c\":[", out);
    first = 1;
    for (size_t c = 0; c < snap->n_cycles; c++) {
        const pag_cycle_t *cy = &snap->cycles[c];
        if (!pag__cycle_selected(snap, cy, h->sel)) continue;
        fputs(first ? "[" : ",[", out);
        first = 0;
        for (size_t q = cy->n; q-- > 0;) /* backwards: each awaits the next */
            fprintf(out, "%zu%s", h->idx[cy->nodes[q]], q ? "," : "");
        fputc(']', out);
    }
    fputs("]}", out);
}

/* The data object: the columns first into memory streams, which fill "s"
 * and "f" on the way, then everything in schema order. */
static pag_err_t put_data(FILE *out, html_t *h, const pag__groups_t *g, const char *source_json)
{
    const pag_snapshot_t *snap = h->snap;
    char *sb = NULL, *fb = NULL;
    size_t sl = 0, fl = 0;
    cols_t c;
    memset(&c, 0, sizeof c);
    h->s_out = open_memstream(&sb, &sl);
    h->f_out = open_memstream(&fb, &fl);
    pag_err_t err = h->s_out && h->f_out ? PAG_OK : PAG_ERR_NOMEM;
    for (int k = 0; k < C__N; k++)
        if (!(c.f[k] = open_memstream(&c.buf[k], &c.len[k]))) err = PAG_ERR_NOMEM;
    for (size_t i = 0; i < snap->n_tasks; i++)
        if (h->sel[i] && snap->tasks[i].addr >> 53) c.hex = 1;
    for (size_t i = 0; err == PAG_OK && i < snap->n_tasks; i++)
        if (h->sel[i]) put_task(&c, h, i, g);
    if (h->s_out && fclose(h->s_out)) err = PAG_ERR_NOMEM;
    if (h->f_out && fclose(h->f_out)) err = PAG_ERR_NOMEM;
    for (int k = 0; k < C__N; k++)
        if (c.f[k] && fclose(c.f[k])) err = PAG_ERR_NOMEM;
    if (err == PAG_OK && !h->oom) {
        size_t threads, loops = count_loops(snap, &threads);
        fputs("{\"schema\":\"pag-html/1\",\"source\":", out);
        put_source(out, source_json);
        fprintf(out, ",\"threads\":%zu,\"loops\":%zu,\"id_hex\":%s,\n\"s\":[", threads, loops,
                c.hex ? "true" : "false");
        fwrite(sb, 1, sl, out);
        fputs("],\n\"f\":[", out);
        fwrite(fb, 1, fl, out);
        fputc(']', out);
        for (int k = 0; k < C__N; k++) {
            const char *open = k == C_ID ? "\"" : k == C_RS ? "{" : "[";
            const char *close = k == C_ID ? "\"" : k == C_RS ? "}" : "]";
            fprintf(out, ",\n\"%s\":%s", col_key[k], open);
            fwrite(c.buf[k], 1, c.len[k], out);
            fputs(close, out);
        }
        put_tail(out, h);
    }
    if (h->oom) err = PAG_ERR_NOMEM;
    free(sb), free(fb);
    for (int k = 0; k < C__N; k++)
        free(c.buf[k]);
    return err;
}

pag_err_t pag__render_html(const pag_snapshot_t *snap, const pag_options_t *opts,
                           const unsigned char *sel, const char *source_json, FILE *out)
{
    (void)opts;
    const char *tpl = (const char *)pag__html_template;
    const char *m = memmem(tpl, pag__html_template_len, MARKER, sizeof MARKER - 1);
    if (!m) return PAG_ERR_CORRUPT; /* cannot happen: embed.cmake checks it */
    html_t h = {.snap = snap, .sel = sel};
    pag__groups_t g;
    pag_err_t err = pag__groups_build(snap, sel, &g);
    h.idx = malloc((snap->n_tasks ? snap->n_tasks : 1) * sizeof *h.idx);
    if (err == PAG_OK && !h.idx) err = PAG_ERR_NOMEM;
    for (size_t i = 0, k = 0; err == PAG_OK && i < snap->n_tasks; i++)
        h.idx[i] = sel[i] ? k++ : NONE;
    if (err == PAG_OK) {
        fwrite(tpl, 1, (size_t)(m - tpl), out);
        err = put_data(out, &h, &g, source_json);
        const char *rest = m + sizeof MARKER - 1;
        if (err == PAG_OK) fwrite(rest, 1, pag__html_template_len - (size_t)(rest - tpl), out);
    }
    pag__groups_free(&g);
    free(h.idx);
    free(h.strs.tab);
    free(h.frames.tab);
    return err;
}
