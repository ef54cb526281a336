/* What every frontend says after a successful snapshot: at most one stderr
 * line (undecodable tasks, the first warning, read statistics) and the exit
 * code it implies.  Kept in one place so the CLI, gdb and lldb agree. */
#include <stdarg.h>
#include <stdio.h>

#include "pag/command.h"
#include "fmt_internal.h"

static void add(char *line, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *line, size_t len, size_t *at, const char *fmt, ...)
{
    if (*at >= len) return;
    if (*at) {
        int n = snprintf(line + *at, len - *at, "; ");
        if (n > 0) *at += (size_t)n;
        if (*at >= len) return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + *at, len - *at, fmt, ap);
    va_end(ap);
    if (n > 0) *at += (size_t)n;
}

/* Issue 14's notes: a thread that waits for the GIL, named with its holder
 * and where the holder is; a native stack that ends early (partial: frames
 * are missing), once per kind of reason. */
static int thread_notes(const pag_snapshot_t *snap, const pag_options_t *o, char *line, size_t len,
                        size_t *at, int code)
{
    for (size_t ti = 0; ti < snap->n_threads; ti++) {
        const pag_thread_t *th = &snap->threads[ti];
        if (!pag__gil_waits(snap, ti)) continue;
        char where[1200] = "";
        FILE *m = fmemopen(where, sizeof where - 1, "w");
        if (m) {
            pag__put_holder_where(m, snap);
            fclose(m);
        }
        add(line, len, at,
            "py-async-graph: note: thread %llu%s waits for the GIL held by thread %llu%s",
            (unsigned long long)th->native_id, th->running_loop ? " (loop)" : "",
            (unsigned long long)snap->threads[snap->gil_holder].native_id, where);
    }
    if (!o->native) return code;
    size_t bad = 0, first = SIZE_MAX;
    for (size_t ti = 0; ti < snap->n_threads; ti++) {
        if (!snap->threads[ti].tstate || !snap->threads[ti].native_note) continue;
        if (!bad++) first = ti;
    }
    if (!bad) return code;
    const pag_thread_t *th = &snap->threads[first];
    if (th->native_error == PAG_ERR_UNSUPPORTED && o->no_stop) {
        add(line, len, at,
            "py-async-graph: warning: --native: unwinding needs the threads stopped, and "
            "--no-stop leaves them running: no native frames");
    } else if (th->native_error == PAG_ERR_UNSUPPORTED) {
        add(line, len, at, "py-async-graph: warning: --native: %s", th->native_note);
    } else if (bad > 1) {
        add(line, len, at,
            "py-async-graph: warning: the native stack of thread %llu is incomplete: %s "
            "(and %zu more threads)",
            (unsigned long long)th->native_id, th->native_note, bad - 1);
    } else {
        add(line, len, at,
            "py-async-graph: warning: the native stack of thread %llu is incomplete: %s",
            (unsigned long long)th->native_id, th->native_note);
    }
    return PAG_EXIT_PARTIAL;
}

int pag_snapshot_note(const pag_snapshot_t *snap, const pag_options_t *o, char *line, size_t len)
{
    size_t at = 0;
    int code = PAG_EXIT_OK;
    if (len) line[0] = 0;
    if (snap->n_failed > 0) {
        add(line, len, &at, "py-async-graph: warning: %zu task(s) could not be fully decoded",
            snap->n_failed);
        code = PAG_EXIT_PARTIAL;
    }
    /* Inconsistent lists in a stopped target or a core are damage: what was
     * read is shown, but the result is partial -- and said so, even when no
     * warning names it on this line (a torn back link warns nothing; JSON
     * keeps its warnings to itself). */
    if (snap->n_inconsistent > 0) {
        if (!snap->n_failed && (o->format == PAG_FMT_JSON || !snap->n_warnings))
            add(line, len, &at,
                "py-async-graph: warning: %zu inconsistent link(s) in the target's task or "
                "thread lists: the output may be incomplete",
                snap->n_inconsistent);
        code = PAG_EXIT_PARTIAL;
    }
    if (!snap->asyncio_loaded)
        add(line, len, &at,
            "py-async-graph: warning: the target has not loaded asyncio "
            "(no AsyncioDebug table): there are no tasks");
    if (snap->n_cut_stacks) {
        if (o->format == PAG_FMT_JSON) /* the other formats print the warning itself */
            add(line, len, &at,
                "py-async-graph: warning: %zu thread stack(s) stop at an unreadable or zeroed "
                "frame: shown as far as they go",
                snap->n_cut_stacks);
        code = PAG_EXIT_PARTIAL;
    }
    if (o->native || o->all_threads) code = thread_notes(snap, o, line, len, &at, code);
    if (o->format != PAG_FMT_JSON) { /* JSON carries these itself */
        if (snap->n_warnings > 0 && snap->warnings[0]) {
            if (snap->n_warnings > 1)
                add(line, len, &at, "py-async-graph: warning: %s (and %zu more)", snap->warnings[0],
                    snap->n_warnings - 1);
            else
                add(line, len, &at, "py-async-graph: warning: %s", snap->warnings[0]);
        }
        /* issue 16: a tree this big is a wall of text; say what folds it */
        if (o->format == PAG_FMT_TREE && !o->group && snap->n_tasks > 1000)
            add(line, len, &at,
                "py-async-graph: note: %zu tasks: --group folds the tree, "
                "--format summary counts them",
                snap->n_tasks);
        if (o->stats)
            add(line, len, &at,
                "py-async-graph: stats: read_calls=%llu bytes_read=%llu "
                "cache_hits=%llu tasks=%zu",
                (unsigned long long)snap->stats.read_calls,
                (unsigned long long)snap->stats.bytes_read,
                (unsigned long long)snap->stats.cache_hits, snap->n_tasks);
    }
    for (char *c = line; c < line + len && *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    return code;
}
