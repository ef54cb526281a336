/* Shared helpers of the formatter side of the core: cycle search, option
 * filters and the string escapers every output format needs (Python repr,
 * JSON, DOT, code-point counting).  Private to common/src. */
#ifndef PAG_FMT_INTERNAL_H
#define PAG_FMT_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

/* The formatters write millions of small pieces; pag_render holds the
 * stream's lock for the whole render, so the pieces skip it (glibc). */
#if defined(__GLIBC__) && defined(__USE_GNU)
#define fputs fputs_unlocked
#define fputc fputc_unlocked
#define fwrite fwrite_unlocked
#endif

#include "pag/command.h"
#include "pag/snapshot.h"

/* Fill snap->cycles (malloc'd; each nodes array malloc'd) from the
 * awaited-by graph.  Iterative, bounded.  A cycle lists node indices along
 * awaited_by edges (nodes[i+1] is an awaiter of nodes[i], i.e. nodes[i+1]
 * awaits nodes[i]), rotated to start at its smallest index, first node
 * repeated at the end.  Each cycle is reported once. */
pag_err_t pag__snapshot_find_cycles(pag_snapshot_t *snap);

/* Decode one UTF-8 code point from s[0..len); invalid sequences give
 * U+FFFD and consume one byte.  Returns the number of bytes used (>= 1). */
size_t pag__utf8_next(const unsigned char *s, size_t len, uint32_t *cp);
/* Python's str.isprintable() for one code point (approximate above ASCII). */
int pag__py_isprintable(uint32_t cp);
/* Write repr(s) as Python does (quote choice and escapes). */
void pag__put_pyrepr(FILE *out, const char *s);
/* Write a target string by the text formats' rule (tree, table, tasks; see
 * format_common.c): surrogateescapes as their bytes, other lone surrogates
 * and control characters escaped. */
void pag__put_text(FILE *out, const char *s);
/* The number of bytes pag__put_text writes for s. */
size_t pag__text_size(const char *s);
/* Write s by that rule, left-justified to width code points (Python
 * f"{s:<width}", an escape counting its characters). */
void pag__put_ljust(FILE *out, const char *s, size_t width);
/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD, a
 * lone surrogate its \ud800-style escape. */
void pag__put_json_str(FILE *out, const char *s);
/* The JSON "source" object for src (malloc'd; "" for PAG_SOURCE_NONE,
 * which the json format writes as null), or NULL when out of memory. */
char *pag__source_json(const pag_source_t *src);
/* --info: what a bound session found (info.c). */
pag_err_t pag__render_info(const pag_session_t *s, FILE *out);
/* A DOT double-quoted string, quotes included. */
void pag__put_dot_str(FILE *out, const char *s);
/* "0x..." lowercase hex of v, as printf's %#llx would (but 0 is "0x0"). */
void pag__put_hex(FILE *out, uint64_t v);
/* Decimal v (printf's %llu, without printf). */
void pag__put_u64(FILE *out, uint64_t v);
/* Write one UTF-8 code point. */
void pag__put_utf8(FILE *out, uint32_t cp);

/* The frame label ps/pstree use: "func file:line" (see format_tree.c),
 * the names as they are (for DOT, which escapes the whole label) ... */
void pag__put_frame_label(FILE *out, const pag_frame_t *f);
/* ... and by the text formats' rule (pag__put_text). */
void pag__put_frame_text(FILE *out, const pag_frame_t *f);
/* Same into a malloc'd string (NULL on OOM). */
char *pag__frame_label(const pag_frame_t *f);

/* Selection from --task/--thread/--running: sel[i] = 1 for selected nodes.
 * Returns the count; *any_filter = 0 when no filter was given (all listed
 * and unlisted nodes selected). */
size_t pag__select(const pag_snapshot_t *snap, const pag_options_t *opts, unsigned char *sel,
                   int *any_filter);
/* Extend a selection to every node reachable along awaited_by edges in both
 * directions from it (awaiters of awaiters, and tasks awaited by them). */
void pag__select_closure(const pag_snapshot_t *snap, unsigned char *sel);

/* Tree and graph output repeat shared subtrees (as CPython does), which a
 * hostile or huge graph can blow up exponentially; they stop after this many
 * lines with a last line "... (output truncated after N lines)". */
#define PAG_MAX_OUTPUT_LINES 2000000u
/* Lines can be long too: the indentation grows with the depth, so a chain of
 * 3,000 tasks awaiting each other drawn for every task is O(n^3) bytes (21 GB
 * measured).  Estimated output bytes are capped as well. */
#define PAG_MAX_OUTPUT_MIB 1024u

/* The caps of one render (PAG_MAX_OUTPUT_LINES, PAG_MAX_OUTPUT_MIB MiB; a
 * unit test sets small ones through pag__command_run_capped) and whether the
 * render hit one: then the command adds a note and exits 10 (partial). */
typedef struct pag__caps {
    uint64_t max_lines, max_bytes;
    int truncated;
} pag__caps_t;

/* What pag_render hands its renderers as opts: the options and the caps.
 * Every renderer is called from pag_render only (format_common.c). */
typedef struct pag__render_opts {
    pag_options_t o; /* first: opts points here */
    pag__caps_t *caps;
} pag__render_opts_t;

static inline pag__caps_t *pag__render_caps(const pag_options_t *opts)
{
    return ((const pag__render_opts_t *)(const void *)opts)->caps;
}

typedef struct pag_budget {
    uint64_t lines, bytes;
    pag__caps_t *caps;
} pag_budget_t;
/* A fresh budget for one render, under the caps pag_render passed. */
static inline pag_budget_t pag__budget(const pag_options_t *opts)
{
    pag_budget_t b = {0, 0, pag__render_caps(opts)};
    return b;
}

/* Account for one more entry of about `bytes` bytes; 1 (after writing the
 * "... (output truncated ...)" line and marking the caps hit) when a limit
 * is passed. */
static inline int pag__budget_spend(pag_budget_t *b, uint64_t bytes, FILE *out)
{
    pag__caps_t *c = b->caps;
    b->bytes += bytes;
    if (++b->lines > c->max_lines) {
        fprintf(out, "\n... (output truncated after %llu lines)\n",
                (unsigned long long)c->max_lines);
        c->truncated = 1;
        return 1;
    }
    if (b->bytes > c->max_bytes) {
        if (c->max_bytes % (1u << 20) == 0)
            fprintf(out, "\n... (output truncated after about %llu MiB)\n",
                    (unsigned long long)(c->max_bytes >> 20));
        else
            fprintf(out, "\n... (output truncated after about %llu bytes)\n",
                    (unsigned long long)c->max_bytes);
        c->truncated = 1;
        return 1;
    }
    return 0;
}

static inline int pag__budget_spent(const pag_budget_t *b)
{
    return b->lines > b->caps->max_lines || b->bytes > b->caps->max_bytes;
}

/* pag_render with these caps (pag_render: the defaults). */
pag_err_t pag__render_capped(const pag_snapshot_t *snap, const pag_options_t *opts,
                             const char *source_json, FILE *out, pag__caps_t *caps);

/* A cycle of at least two nodes, all of them selected. */
static inline int pag__cycle_selected(const pag_snapshot_t *snap, const pag_cycle_t *cy,
                                      const unsigned char *sel)
{
    if (cy->n < 2) return 0;
    for (size_t q = 0; q < cy->n; q++)
        if (cy->nodes[q] >= snap->n_tasks || !sel[cy->nodes[q]]) return 0;
    return 1;
}

/* Checked awaiter index: SIZE_MAX when out of range. */
static inline size_t pag__awaiter(const pag_snapshot_t *snap, const pag_task_t *t, size_t k)
{
    size_t a = t->awaited_by[k];
    return a < snap->n_tasks ? a : SIZE_MAX;
}

/* The same, in the order Python iterates the awaiters (graph format). */
static inline size_t pag__awaiter_iter(const pag_snapshot_t *snap, const pag_task_t *t, size_t k)
{
    size_t a = t->awaited_by_iter ? t->awaited_by_iter[k] : t->awaited_by[k];
    return a < snap->n_tasks ? a : SIZE_MAX;
}

const char *pag__state_name(pag_task_state_t st);
const char *pag__kind_name(pag_frame_kind_t k);

/* One renderer per row of PAG_FORMATS (pag/formats.h): format_<name>.c
 * defines pag__render_<name>.  sel marks the tasks to show (the closure of
 * the selection already taken for formats whose row says so). */
typedef pag_err_t (*pag__renderer_t)(const pag_snapshot_t *snap, const pag_options_t *opts,
                                     const unsigned char *sel, const char *source_json, FILE *out);
#define PAG__FMT_PROTO(ID, name, closure, pad, help)                                               \
    pag_err_t pag__render_##name(const pag_snapshot_t *snap, const pag_options_t *opts,            \
                                 const unsigned char *sel, const char *source_json, FILE *out);
PAG_FORMATS(PAG__FMT_PROTO)
#undef PAG__FMT_PROTO

/* ---- threads and native frames (format_native.c, issue 14) ---- */
/* One entry of a merged stack: a Python frame or a native one. */
typedef struct pag__vframe {
    const pag_frame_t *py;
    const pag_native_frame_t *nat;
} pag__vframe_t;
int pag__is_evaluator(const pag_native_frame_t *f);
/* The module's file name without its directories (what every frontend
 * agrees on), or NULL. */
const char *pag__module_name(const pag_native_frame_t *f);
/* "func+0xoff (module) at file:line" / "module+0xoff" / "0xpc" into buf. */
size_t pag__native_text(const pag_native_frame_t *f, char *buf, size_t len);
/* "[native] " + that, by the text formats' rule. */
void pag__put_native(FILE *out, const pag_native_frame_t *f);
/* A Python entry as "func file:line", a native one as above. */
void pag__put_vframe_text(FILE *out, const pag__vframe_t *v);
/* A graph entry "File '<file>', line N, in async f()" (format_graph.c). */
void pag__put_graph_entry(FILE *out, const pag_frame_t *f);
/* Merged views, innermost first, malloc'd into *out (free it; count 0 and
 * *out NULL when out of memory). */
size_t pag__thread_view(const pag_thread_t *th, int native, size_t py_max, pag__vframe_t **out);
size_t pag__task_view(const pag_snapshot_t *snap, const pag_task_t *t, int native,
                      pag__vframe_t **out);
int pag__gil_waits(const pag_snapshot_t *snap, size_t ti);
/* ", in <holder's innermost native frame> (innermost Python frame: ...)" */
void pag__put_holder_where(FILE *out, const pag_snapshot_t *snap);
int pag__thread_shown(const pag_snapshot_t *snap, const pag_options_t *o, size_t ti);
size_t pag__threads_shown(const pag_snapshot_t *snap, const pag_options_t *o);
/* The thread blocks after a text format's output (graph: its entry form). */
size_t pag__render_threads(const pag_snapshot_t *snap, const pag_options_t *o, int graph,
                           int blank_first, FILE *out);

/* The format table, expanded from PAG_FORMATS, indexed by pag_format_t. */
struct pag__format_row {
    const char *name;
    int closure;
    const char *help;
    pag__renderer_t render;
};
extern const struct pag__format_row pag__formats[PAG_FMT__COUNT];

#endif
