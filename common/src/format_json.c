/* --format json: the whole snapshot as one JSON document, for scripts.
 *
 * Schema "py-async-graph/1" (fields are only ever added within a version):
 *
 * {
 *   "schema": "py-async-graph/1",
 *   "source": {"kind": "live", "pid": 123, "executable": "..." | null} |
 *             {"kind": "core", "core": "..." | null, "pid": 123,
 *              "executable": "..." | null} | null
 *            written by pag__source_json from the frontend's pag_source_t
 *   "python": {"version": "3.14.10", "hex": "0x30e0af0",
 *              "free_threaded": false, "asyncio_loaded": true},
 *   "threads": [ {                       one per task list, walk order
 *       "index": 0, "interp_id": 0,
 *       "native_id": 12345,              0 for an interpreter's orphan list
 *       "tstate": "0x..." | null,        null for the orphan list
 *       "main": true,
 *       "running_loop": "0x..." | null,
 *       "running_task": "0x..." | null,
 *       "tasks": ["0x...", ...] } ],     the listed tasks of this list
 *   "tasks": [ {                          listed tasks in list order, then
 *       "id": "0x...",                    awaiters found only as awaiters
 *       "name": "Task-1" | null,          null for a Future
 *       "kind": "task" | "future",
 *       "listed": true,
 *       "state": "pending" | "cancelled" | "finished" | "unknown",
 *       "thread": 12345 | null,           native id of its list (0: orphans)
 *       "running": false,
 *       "stack": [ {"function": qualname, "file": filename,
 *                   "line": 12 | null, "kind": "async" | "async_gen" | "gen" | "sync"} ],
 *                                         innermost first (what ps/pstree show)
 *       "running_stack": [ same ],        running task only: real frames, sync
 *                                         ones included, innermost first
 *       "awaited_by": ["0x...", ...],     awaiter ids, set-slot order
 *       "error": null | {"message": "...", "detail": "..." | null} } ],
 *   "edges": [ {"task": "0x...", "awaiter": "0x..."} ],   one per awaited_by entry
 *   "cycles": [ ["0xa", "0xb", "0xa"] ],  each id awaits the next one
 *   "warnings": ["..."],
 *   "failed": 0,                          tasks that could not be fully decoded
 *   "inconsistent": 0,                    signs the target changed while read
 *   "stats": {"read_calls": n, "bytes_read": n, "cache_hits": n}   only with --stats
 * }
 *
 * With --task/--thread/--running, "tasks", "edges" and "cycles" keep the
 * selected tasks and everything connected to them; "threads" stays whole.
 * Strings are escaped per RFC 8259 (control characters as \u00XX) and any
 * invalid UTF-8 from the target becomes U+FFFD, so the output always parses. */
#include <stdlib.h>
#include "fmt_internal.h"

static void put_id(FILE *out, uint64_t v)
{
    fputc('"', out);
    pag__put_hex(out, v);
    fputc('"', out);
}

static void put_stack_items(FILE *out, const pag_stack_t *st)
{
    for (size_t i = 0; st->frames && i < st->n; i++) {
        const pag_frame_t *f = &st->frames[i];
        if (i) fputs(", ", out);
        fputs("{\"function\": ", out);
        pag__put_json_str(out, f->qualname ? f->qualname : "");
        fputs(", \"file\": ", out);
        pag__put_json_str(out, f->filename ? f->filename : "");
        /* per frame and per task below: fputs and pag__put_u64, not
         * fprintf, whose format parsing was a third of a large JSON render */
        if (f->lineno >= 0) {
            fputs(", \"line\": ", out);
            pag__put_u64(out, (uint64_t)f->lineno);
        } else {
            fputs(", \"line\": null", out);
        }
        fputs(", \"kind\": \"", out);
        fputs(pag__kind_name(f->kind), out);
        fputs("\"}", out);
    }
}

static void put_stack(FILE *out, const pag_stack_t *st)
{
    fputc('[', out);
    put_stack_items(out, st);
    fputc(']', out);
}

static void put_version(FILE *out, uint64_t hex)
{
    unsigned major = (hex >> 24) & 0xff, minor = (hex >> 16) & 0xff, micro = (hex >> 8) & 0xff;
    unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
    fprintf(out, "\"%u.%u.%u", major, minor, micro);
    if (level == 0xa)
        fprintf(out, "a%u", serial);
    else if (level == 0xb)
        fprintf(out, "b%u", serial);
    else if (level == 0xc)
        fprintf(out, "rc%u", serial);
    fputc('"', out);
}

static void put_json_or_null(FILE *f, const char *s)
{
    if (s)
        pag__put_json_str(f, s);
    else
        fputs("null", f);
}

char *pag__source_json(const pag_source_t *src)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    if (src && src->kind == PAG_SOURCE_CORE) {
        fputs("{\"kind\":\"core\",\"core\":", f);
        put_json_or_null(f, src->core);
        fprintf(f, ",\"pid\":%lld,\"executable\":", src->pid);
    } else if (src && src->kind == PAG_SOURCE_LIVE) {
        fprintf(f, "{\"kind\":\"live\",\"pid\":%lld,\"executable\":", src->pid);
    }
    if (src && (src->kind == PAG_SOURCE_CORE || src->kind == PAG_SOURCE_LIVE)) {
        put_json_or_null(f, src->executable);
        fputc('}', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What every section of the document reads, passed by one pointer: the
 * per-task loops below run a million times on large targets, so they take
 * no more arguments than this. */
typedef struct json_ctx {
    const pag_snapshot_t *snap;
    const unsigned char *sel; /* the tasks to write */
    FILE *out;
    const pag_options_t *o;
    int v2; /* --native or --all-threads: schema /2 (threads' stacks, native frames, GIL) */
} json_ctx_t;

static void put_bool3(FILE *out, int v)
{
    fputs(v < 0 ? "null" : v ? "true" : "false", out);
}

/* One entry of a merged stack: a Python frame as in /1, or
 * {"function", "file", "line", "kind": "native", "pc", "module", "offset"}. */
static void put_native(FILE *out, const pag_native_frame_t *f)
{
    fputs("{\"function\": ", out);
    if (f->function)
        pag__put_json_str(out, f->function);
    else
        fputs("null", out);
    fputs(", \"file\": ", out);
    if (f->file)
        pag__put_json_str(out, f->file);
    else
        fputs("null", out);
    fputs(", \"line\": ", out);
    if (f->file && f->line > 0)
        pag__put_u64(out, (uint64_t)f->line);
    else
        fputs("null", out);
    fputs(", \"kind\": \"native\", \"pc\": ", out);
    pag__put_u64(out, f->pc);
    fputs(", \"module\": ", out);
    if (f->module)
        pag__put_json_str(out, pag__module_name(f));
    else
        fputs("null", out);
    fputs(", \"offset\": ", out);
    if (f->function)
        pag__put_u64(out, f->sym_offset);
    else if (f->module)
        pag__put_u64(out, f->pc - f->module_base);
    else
        fputs("null", out);
    fputc('}', out);
}

static void put_vstack(FILE *out, const pag__vframe_t *v, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", out);
        if (v[i].nat) {
            put_native(out, v[i].nat);
        } else {
            pag_stack_t one = {(pag_frame_t *)v[i].py, 1};
            put_stack_items(out, &one);
        }
    }
    fputc(']', out);
}

/* Schema /2's per-thread fields: its whole stack (merged with --native),
 * the GIL flags and why the native stack ends early. */
static void put_thread_v2(const json_ctx_t *c, size_t i)
{
    const pag_snapshot_t *snap = c->snap;
    const pag_thread_t *th = &snap->threads[i];
    FILE *out = c->out;
    fputs(", \"in_callback\": ", out);
    put_bool3(out, th->in_callback);
    fputs(", \"gil\": {\"holds\": ", out);
    put_bool3(out, th->tstate ? th->holds_gil : -1);
    fputs(", \"requested\": ", out);
    put_bool3(out, th->tstate ? th->gil_requested : -1);
    fputs(", \"waits\": ", out);
    put_bool3(out, th->tstate ? pag__gil_waits(snap, i) : -1);
    fputs("}, \"native_error\": ", out);
    if (c->o->native && th->native_note)
        pag__put_json_str(out, th->native_note);
    else
        fputs("null", out);
    fputs(",\n     \"stack\": ", out);
    pag__vframe_t *v = NULL;
    size_t n = pag__thread_view(th, c->o->native, SIZE_MAX, &v);
    put_vstack(out, v, n);
    free(v);
}

/* "schema", "source" and "python": the document's opening lines. */
static void put_header(const json_ctx_t *c, const char *source_json)
{
    const pag_snapshot_t *snap = c->snap;
    FILE *out = c->out;
    fputs(c->v2 ? "{\n  \"schema\": \"py-async-graph/2\",\n  \"source\": "
                : "{\n  \"schema\": \"py-async-graph/1\",\n  \"source\": ",
          out);
    fputs(source_json && *source_json ? source_json : "null", out);
    fputs(",\n  \"python\": {\"version\": ", out);
    put_version(out, snap->py_version);
    fprintf(out, ", \"hex\": \"0x%llx\", \"free_threaded\": %s, \"asyncio_loaded\": %s},\n",
            (unsigned long long)snap->py_version, snap->free_threaded ? "true" : "false",
            snap->asyncio_loaded ? "true" : "false");
    if (!c->v2) return;
    fputs("  \"gil\": {\"locked\": ", out);
    put_bool3(out, snap->gil_known ? snap->gil_locked : -1);
    fputs(", \"holder\": ", out);
    if (snap->gil_known && snap->gil_holder < snap->n_threads)
        pag__put_u64(out, snap->threads[snap->gil_holder].native_id);
    else
        fputs("null", out);
    fputs("},\n", out);
}

/* One "threads" entry.  Its task range comes from the target, so it is
 * clipped to the snapshot rather than trusted. */
static void put_thread(const json_ctx_t *c, size_t i)
{
    const pag_snapshot_t *snap = c->snap;
    const pag_thread_t *th = &snap->threads[i];
    size_t n = snap->n_tasks;
    FILE *out = c->out;
    fprintf(out, "{\"index\": %zu, \"interp_id\": %lld, \"native_id\": %llu, \"tstate\": ", i,
            (long long)th->interp_id, (unsigned long long)th->native_id);
    if (th->tstate)
        put_id(out, th->tstate);
    else
        fputs("null", out);
    fprintf(out, ", \"main\": %s, \"running_loop\": ", th->is_main ? "true" : "false");
    if (th->running_loop)
        put_id(out, th->running_loop);
    else
        fputs("null", out);
    fputs(", \"running_task\": ", out);
    if (th->running_task < n)
        put_id(out, snap->tasks[th->running_task].addr);
    else
        fputs("null", out);
    fputs(", \"tasks\": [", out);
    int first = 1;
    for (size_t k = 0; k < th->n_tasks; k++) {
        size_t ti = th->first_task + k;
        if (ti >= n || th->first_task > n) break;
        fputs(first ? "" : ", ", out);
        first = 0;
        put_id(out, snap->tasks[ti].addr);
    }
    fputc(']', out);
    if (c->v2) put_thread_v2(c, i);
    fputc('}', out);
}

/* "threads" stays whole whatever the selection: it describes the target,
 * not the tasks shown. */
static void put_threads(const json_ctx_t *c)
{
    FILE *out = c->out;
    fputs("  \"threads\": [", out);
    for (size_t i = 0; i < c->snap->n_threads; i++) {
        fputs(i ? ",\n    " : "\n    ", out);
        put_thread(c, i);
    }
    fputs(c->snap->n_threads ? "\n  ],\n" : "],\n", out);
}

/* A task's "error": null, or why it could not be fully decoded. */
static void put_task_error(FILE *out, const pag_task_t *t)
{
    if (t->error == PAG_OK) {
        fputs("null", out);
        return;
    }
    fputs("{\"message\": ", out);
    pag__put_json_str(out, pag_strerror(t->error));
    fputs(", \"detail\": ", out);
    if (t->error_detail)
        pag__put_json_str(out, t->error_detail);
    else
        fputs("null", out);
    fputc('}', out);
}

/* One "tasks" entry.  Per task, so fixed text goes out in as few fputs as
 * possible and numbers through pag__put_u64 (see put_stack). */
static void put_task(const json_ctx_t *c, const pag_task_t *t)
{
    const pag_snapshot_t *snap = c->snap;
    FILE *out = c->out;
    fputs("{\"id\": ", out);
    put_id(out, t->addr);
    fputs(", \"name\": ", out);
    if (t->is_task && t->name)
        pag__put_json_str(out, t->name);
    else
        fputs("null", out);
    fputs(t->is_task ? ", \"kind\": \"task\", \"listed\": "
                     : ", \"kind\": \"future\", \"listed\": ",
          out);
    fputs(t->listed ? "true" : "false", out);
    fputs(", \"state\": \"", out);
    fputs(pag__state_name(t->state), out);
    fputs("\", \"thread\": ", out);
    if (t->thread < snap->n_threads)
        pag__put_u64(out, snap->threads[t->thread].native_id);
    else
        fputs("null", out);
    fputs(t->running ? ", \"running\": true,\n     \"stack\": "
                     : ", \"running\": false,\n     \"stack\": ",
          out);
    put_stack(out, &t->stack);
    fputs(",\n     \"running_stack\": ", out);
    if (c->v2 && c->o->native && t->running) {
        pag__vframe_t *v = NULL;
        size_t nv = pag__task_view(snap, t, 1, &v);
        put_vstack(out, v, nv);
        free(v);
    } else {
        put_stack(out, &t->running_stack);
    }
    /* every awaiter, selected or not: the entry describes the task itself;
     * "edges" is what keeps to the selection */
    fputs(",\n     \"awaited_by\": [", out);
    int first = 1;
    for (size_t k = 0; t->awaited_by && k < t->n_awaited_by; k++) {
        size_t a = pag__awaiter(snap, t, k);
        if (a == SIZE_MAX) continue;
        if (!first) fputs(", ", out);
        first = 0;
        put_id(out, snap->tasks[a].addr);
    }
    fputs("], \"error\": ", out);
    put_task_error(out, t);
    fputc('}', out);
}

static void put_tasks(const json_ctx_t *c)
{
    FILE *out = c->out;
    fputs("  \"tasks\": [", out);
    int first = 1;
    for (size_t i = 0; i < c->snap->n_tasks; i++) {
        if (!c->sel[i]) continue;
        fputs(first ? "\n    " : ",\n    ", out);
        first = 0;
        put_task(c, &c->snap->tasks[i]);
    }
    fputs(first ? "],\n" : "\n  ],\n", out);
}

/* "edges": one per awaited_by entry whose two ends are both selected. */
static void put_edges(const json_ctx_t *c)
{
    const pag_snapshot_t *snap = c->snap;
    const unsigned char *sel = c->sel;
    FILE *out = c->out;
    fputs("  \"edges\": [", out);
    int first = 1;
    for (size_t i = 0; i < snap->n_tasks; i++) {
        const pag_task_t *t = &snap->tasks[i];
        if (!sel[i]) continue;
        for (size_t k = 0; t->awaited_by && k < t->n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, t, k);
            if (a == SIZE_MAX || !sel[a]) continue;
            fputs(first ? "\n    " : ",\n    ", out);
            first = 0;
            fputs("{\"task\": ", out);
            put_id(out, t->addr);
            fputs(", \"awaiter\": ", out);
            put_id(out, snap->tasks[a].addr);
            fputc('}', out);
        }
    }
    fputs(first ? "],\n" : "\n  ],\n", out);
}

/* "cycles": a cycle lists awaited_by order (each node awaited by the next),
 * so it is written backwards to read "each id awaits the next one". */
static void put_cycles(const json_ctx_t *c)
{
    const pag_snapshot_t *snap = c->snap;
    FILE *out = c->out;
    fputs("  \"cycles\": [", out);
    int first = 1;
    for (size_t k = 0; k < snap->n_cycles; k++) {
        const pag_cycle_t *cy = &snap->cycles[k];
        if (!pag__cycle_selected(snap, cy, c->sel)) continue;
        fputs(first ? "\n    [" : ",\n    [", out);
        first = 0;
        for (size_t q = cy->n; q-- > 0;) {
            put_id(out, snap->tasks[cy->nodes[q]].addr);
            if (q) fputs(", ", out);
        }
        fputc(']', out);
    }
    fputs(first ? "],\n" : "\n  ],\n", out);
}

/* "warnings", the counters and, with --stats, "stats"; then the end. */
static void put_trailer(const json_ctx_t *c, const pag_options_t *opts)
{
    const pag_snapshot_t *snap = c->snap;
    FILE *out = c->out;
    fputs("  \"warnings\": [", out);
    for (size_t w = 0; w < snap->n_warnings; w++) {
        if (w) fputs(", ", out);
        pag__put_json_str(out, snap->warnings[w] ? snap->warnings[w] : "");
    }
    fprintf(out, "],\n  \"failed\": %zu,\n  \"inconsistent\": %zu", snap->n_failed,
            snap->n_inconsistent);
    if (opts->stats)
        fprintf(
            out,
            ",\n  \"stats\": {\"read_calls\": %llu, \"bytes_read\": %llu, \"cache_hits\": %llu}",
            (unsigned long long)snap->stats.read_calls, (unsigned long long)snap->stats.bytes_read,
            (unsigned long long)snap->stats.cache_hits);
    fputs("\n}\n", out);
}

/* The document, section by section in schema order (see the top). */
pag_err_t pag__render_json(const pag_snapshot_t *snap, const pag_options_t *opts,
                           const unsigned char *sel, const char *source_json, FILE *out)
{
    const json_ctx_t c = {snap, sel, out, opts, opts->native || opts->all_threads};
    put_header(&c, source_json);
    put_threads(&c);
    put_tasks(&c);
    put_edges(&c);
    put_cycles(&c);
    put_trailer(&c, opts);
    return PAG_OK;
}
