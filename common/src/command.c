/* pag_command_main: the whole command, once, for every frontend.
 *
 * Why here: the promise is "the same options give the same bytes from the
 * CLI, gdb and lldb".  That holds only if there is one copy of the
 * sequence -- parse, open the target (lazily, so --help needs none), bind,
 * snapshot with the --no-stop retries, release the target, render, and the
 * one error or note line with its exit code.  Frontends supply hooks
 * (pag_frontend_t) and print the result.
 *
 * Lines: an error is "py-async-graph: <what went wrong>"; the standalone CLI
 * names its target ("process 123: ...", "core file X: ..."), a debugger has
 * only one.  After a successful render pag_snapshot_note()'s line follows
 * (warnings, partial output, --stats).  Several lines are joined by "; ". */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

/* The stdio buffer for -o FILE. */
#define PAG_OUT_BLOCK (64 << 10)

/* One invocation. */
typedef struct run {
    const pag_frontend_t *fe;
    void *fe_ctx;
    pag_result_t *res;
    pag_options_t o;
    int opened, tries;
    pag_accessors_t acc;
    void *actx;
    pag_source_t src;
    pag__caps_t caps; /* the output caps: the defaults, a unit test's own */
    char what[1100];  /* the CLI's name for its target; "" in a debugger */
} run_t;

static void add_line(char **line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_line(char **line, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* one line: newlines in details become spaces */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t old = *line ? strlen(*line) : 0;
    char *n = realloc(*line, old + strlen(buf) + 3);
    if (!n) return;
    if (old) memcpy(n + old, "; ", 2), old += 2;
    strcpy(n + old, buf);
    *line = n;
}

/* The command failed: one error line and the exit code of err. */
static int fail(run_t *r, pag_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(run_t *r, pag_err_t err, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_line(&r->res->err_line, "py-async-graph: %s", buf);
    r->res->failed = 1;
    r->res->exit_code = pag_exit_code(err);
    return r->res->exit_code;
}

static char *dupstr(const char *s)
{
    size_t l = strlen(s);
    char *p = malloc(l + 1);
    if (p) memcpy(p, s, l + 1);
    return p;
}

static const char *problems(run_t *r)
{
    return r->fe->problems ? r->fe->problems(r->fe_ctx) : NULL;
}

/* The sub-command's arguments in front of the user's: py-async-tasks is
 * --format tasks, py-async-bt TASK is --format graph --task TASK and
 * py-async-bt alone the running task (its thread is asked for later). */
static int expand_argv(int cmd, int argc, const char *const *argv, const char **out)
{
    int n = 0;
    if (cmd == PAG_CMD_TASKS) {
        out[n++] = "--format", out[n++] = "tasks";
    } else if (cmd == PAG_CMD_BT) {
        out[n++] = "--format", out[n++] = "graph";
        if (argc > 0 && argv[0] && argv[0][0] != '-')
            out[n++] = "--task", out[n++] = argv[0], argv++, argc--;
        else
            out[n++] = "--running";
    }
    for (int i = 0; i < argc; i++)
        out[n++] = argv[i];
    return n;
}

static int open_target(run_t *r)
{
    char msg[1024] = "";
    if (!r->fe->open) return fail(r, PAG_ERR_INVALID_ARG, "no target");
    pag_err_t e = r->fe->open(r->fe_ctx, &r->o, &r->acc, &r->actx, &r->src, msg, sizeof msg);
    if (e != PAG_OK) return fail(r, e, "%s", msg[0] ? msg : pag_strerror(e));
    r->opened = 1;
    if (r->fe->accept & PAG_OPT_TARGET) {
        if (r->o.core)
            snprintf(r->what, sizeof r->what, "core file %s", r->o.core);
        else
            snprintf(r->what, sizeof r->what, "process %ld", r->o.pid);
    }
    return PAG_EXIT_OK;
}

/* The session could not be created: why, in the frontend's words. */
static int bind_failed(run_t *r, pag_err_t e, const char *msg)
{
    const char *why = msg[0] ? msg : pag_strerror(e);
    const char *missing = problems(r);
    if (!r->what[0]) {
        if (e == PAG_ERR_NOT_PYTHON && missing && msg[0])
            return fail(r, e, "%s: %s (%s)", pag_strerror(e), msg, missing);
        if (e == PAG_ERR_NOT_PYTHON && missing) return fail(r, e, "%s (%s)", why, missing);
        if (msg[0]) return fail(r, e, "%s: %s", pag_strerror(e), msg);
        return fail(r, e, "%s", pag_strerror(e));
    }
    if (missing && (e == PAG_ERR_NOT_PYTHON || e == PAG_ERR_READ))
        /* Most likely the file that would hold _PyRuntime is the missing one. */
        return fail(r, e, "%s: %s; %s", r->what, why, missing);
    if (e == PAG_ERR_NOT_PYTHON)
        return fail(r, e, "%s is not a CPython process (%s)", r->what, why);
    return fail(r, e, "%s: %s", r->what, why);
}

/* The snapshot could not be taken. */
static int take_failed(run_t *r, pag_err_t e, const char *m)
{
    const char *missing = problems(r);
    if (!r->what[0]) {
        if (m && *m) return fail(r, e, "%s: %s", pag_strerror(e), m);
        return fail(r, e, "%s", pag_strerror(e));
    }
    if (e == PAG_ERR_CHANGED)
        return fail(r, e, "%s: %s kept changing while read (%d reads); run without --no-stop",
                    pag_strerror(e), r->what, r->tries);
    if (missing && e == PAG_ERR_READ)
        return fail(r, e, "%s: %s; %s", r->what, m && m[0] ? m : pag_strerror(e), missing);
    if (m && m[0]) return fail(r, e, "%s: %s: %s", r->what, pag_strerror(e), m);
    return fail(r, e, "%s: %s", r->what, pag_strerror(e));
}

/* snapshot.c: awaiters a consistent graph does not have (walk.h). */
size_t pag__snapshot_suspect(const pag_snapshot_t *snap);

/* Did a --no-stop read race with the target?  Torn lists say so, and so does
 * anything that only memory changing under the reader explains: a task that
 * could not be decoded (its name, coroutine or object freed or reused), an
 * awaiter on no task list or not a Future.  In a stopped target or a core
 * the same symptoms are damage, and the graph is shown as partial. */
static int changed(const pag_snapshot_t *snap)
{
    /* a thread stack cut at a zeroed frame is damage in a core, and a frame
     * being set up in a running target: read again */
    return snap->n_inconsistent || snap->n_failed || snap->n_cut_stacks ||
           pag__snapshot_suspect(snap);
}

/* What the snapshot must read beyond the graph: native stacks for --native,
 * every thread's Python stack for --all-threads. */
static unsigned snap_flags(const pag_options_t *o)
{
    return (o->native ? PAG_SNAP_NATIVE | PAG_SNAP_STACKS : 0u) |
           (o->all_threads ? PAG_SNAP_STACKS : 0u);
}

/* One snapshot; without stopping the target, retry while it changes.  The
 * target is let go as soon as the reading is over. */
static int take(run_t *r, pag_session_t *s, pag_snapshot_t **snap)
{
    pag_err_t e = PAG_OK;
    r->tries = r->o.no_stop ? r->o.retries + 1 : 1;
    for (int k = 0; k < r->tries; k++) {
        if (*snap) pag_snapshot_destroy(*snap);
        *snap = NULL;
        e = pag_snapshot_take_ex(s, snap_flags(&r->o), snap);
        if (e != PAG_OK || !r->o.no_stop || !changed(*snap)) break;
    }
    if (r->fe->release) r->fe->release(r->fe_ctx);
    if (e == PAG_OK && r->o.no_stop && changed(*snap)) e = PAG_ERR_CHANGED;
    if (e != PAG_OK) return take_failed(r, e, pag_session_errmsg(s));
    const char *missing = problems(r);
    if (!(*snap)->asyncio_loaded && missing)
        /* No AsyncioDebug table, but a module file could not be used: the
         * table may be in that file.  Do not print a silently empty graph. */
        return fail(r, PAG_ERR_READ, "%s%sno asyncio state found; %s", r->what,
                    r->what[0] ? ": " : "", missing);
    return PAG_EXIT_OK;
}

/* Render into -o FILE, the frontend's stream, or a memory buffer: the
 * snapshot, or with --info (snap NULL) what the session found. */
static int render(run_t *r, const pag_snapshot_t *snap, const pag_session_t *s)
{
    char *buf = NULL, *fbuf = NULL;
    size_t len = 0;
    FILE *f = r->fe->out;
    if (r->o.output) {
        if (!(f = fopen(r->o.output, "w")))
            return fail(r, PAG_ERR_IO, "%s: cannot write '%s': %s", pag_strerror(PAG_ERR_IO),
                        r->o.output, strerror(errno));
        /* a million-task render is hundreds of MB: write it in large blocks */
        if ((fbuf = malloc(PAG_OUT_BLOCK))) setvbuf(f, fbuf, _IOFBF, PAG_OUT_BLOCK);
    } else if (!f && !(f = open_memstream(&buf, &len))) {
        return fail(r, PAG_ERR_NOMEM, "%s", pag_strerror(PAG_ERR_NOMEM));
    }
    char *src = snap ? pag__source_json(&r->src) : NULL;
    pag_err_t e = !snap ? pag__render_info(s, f)
                  : src ? pag__render_capped(snap, &r->o, src, f, &r->caps)
                        : PAG_ERR_NOMEM;
    free(src);
    int werr = ferror(f) || fflush(f) != 0;
    if (f != r->fe->out && fclose(f) != 0) werr = 1;
    free(fbuf);
    if (e == PAG_OK && werr) e = PAG_ERR_IO;
    if (e == PAG_OK && buf) r->res->out_text = buf, buf = NULL;
    free(buf);
    if (e == PAG_ERR_NO_TASK) {
        char sel[600];
        pag_selection_text(&r->o, sel, sizeof sel);
        return fail(r, e, "%s: no task matches%s", pag_strerror(e), sel);
    }
    if (e == PAG_ERR_IO)
        return fail(r, e, "%s: '%s'", pag_strerror(e), r->o.output ? r->o.output : "stdout");
    if (e != PAG_OK) return fail(r, e, "%s", pag_strerror(e));
    if (!snap) return r->res->exit_code = PAG_EXIT_OK;
    /* the same after-render line and exit code in every frontend */
    char note[2048];
    r->res->exit_code = pag_snapshot_note(snap, &r->o, note, sizeof note);
    if (note[0]) add_line(&r->res->err_line, "%s", note);
    if (r->caps.truncated) {
        /* the output stops at its cap: partial, and said so where the user
         * looks for notes, not only as the output's last line */
        uint64_t b = r->caps.max_bytes;
        int mib = b % (1u << 20) == 0;
        add_line(&r->res->err_line,
                 "py-async-graph: warning: output truncated at its cap (%llu lines, about %llu "
                 "%s): what is shown is partial",
                 (unsigned long long)r->caps.max_lines, (unsigned long long)(mib ? b >> 20 : b),
                 mib ? "MiB" : "bytes");
        if (r->res->exit_code == PAG_EXIT_OK) r->res->exit_code = PAG_EXIT_PARTIAL;
    }
    return r->res->exit_code;
}

/* From the parsed options to the output. */
static int execute(run_t *r, int cmd)
{
    if (open_target(r) != PAG_EXIT_OK) return r->res->exit_code;
    if (cmd == PAG_CMD_BT && !r->o.task && !r->o.have_thread && r->fe->selected_thread) {
        char msg[512] = "";
        pag_err_t e = r->fe->selected_thread(r->fe_ctx, &r->o.thread, msg, sizeof msg);
        if (e != PAG_OK) return fail(r, e, "%s", msg[0] ? msg : pag_strerror(e));
        r->o.have_thread = 1;
    }
    char msg[512] = "";
    pag_err_t e;
    pag_session_t *s = pag_session_create_ex(&r->acc, r->actx, &e, msg, sizeof msg);
    if (!s) return bind_failed(r, e, msg);
    pag_snapshot_t *snap = NULL;
    int code;
    if (r->o.info) {
        /* nothing to walk: let a live target go at once */
        if (r->fe->release) r->fe->release(r->fe_ctx);
        code = render(r, NULL, s);
    } else {
        code = take(r, s, &snap);
        if (code == PAG_EXIT_OK) code = render(r, snap, s);
    }
    pag_snapshot_destroy(snap);
    pag_session_destroy(s);
    return code;
}

/* A target the frontend knows to be incomplete (a compressed core whose
 * stream is cut short, read as far as it goes): its line comes first, and
 * the exit status is the cut core's, whether the graph was printed from
 * what is there or the data needed was past the cut (unreadable, corrupt,
 * not found).  Other failures (bad options, no such task) keep theirs. */
static void incomplete(run_t *r)
{
    const char *l = r->fe->incomplete ? r->fe->incomplete(r->fe_ctx) : NULL;
    pag_result_t *res = r->res;
    if (!l || !*l) return;
    int code = res->exit_code;
    if (res->failed && code != PAG_EXIT_READ && code != PAG_EXIT_NOT_PYTHON &&
        code != PAG_EXIT_CORRUPT)
        return;
    if (!res->failed) {
        char *rest = res->err_line;
        res->err_line = NULL;
        add_line(&res->err_line, "py-async-graph: warning: %s", l);
        if (rest) add_line(&res->err_line, "%s", rest);
        free(rest);
    }
    res->exit_code = PAG_EXIT_TRUNCATED;
}

static int command_main(const pag_frontend_t *fe, void *fe_ctx, int cmd, int argc,
                        const char *const *argv, pag_result_t *res, const pag__caps_t *caps);

int pag_command_main(const pag_frontend_t *fe, void *fe_ctx, int cmd, int argc,
                     const char *const *argv, pag_result_t *res)
{
    const pag__caps_t caps = {PAG_MAX_OUTPUT_LINES, (uint64_t)PAG_MAX_OUTPUT_MIB << 20, 0};
    return command_main(fe, fe_ctx, cmd, argc, argv, res, &caps);
}

static int command_main(const pag_frontend_t *fe, void *fe_ctx, int cmd, int argc,
                        const char *const *argv, pag_result_t *res, const pag__caps_t *caps)
{
    if (!res) return PAG_EXIT_INTERNAL;
    memset(res, 0, sizeof *res);
    if (!fe || cmd < 0 || cmd >= PAG_CMD__COUNT || argc < 0 || (argc && !argv)) {
        res->err_line = dupstr("py-async-graph: invalid argument");
        res->failed = 1;
        return res->exit_code = PAG_EXIT_INTERNAL;
    }
    run_t *r = calloc(1, sizeof *r);
    const char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!r || !args) {
        free(r);
        free(args);
        res->exit_code = PAG_EXIT_INTERNAL;
        res->failed = 1;
        return res->exit_code;
    }
    r->fe = fe, r->fe_ctx = fe_ctx, r->res = res, r->caps = *caps;
    int n = expand_argv(cmd, argc, argv, args);
    char msg[512];
    if (pag_options_parse(n, args, fe->accept, &r->o, msg, sizeof msg) != PAG_OK) {
        fail(r, PAG_ERR_INVALID_ARG, "%s", msg);
    } else if (r->o.help || r->o.version) {
        const char *text = r->o.help ? pag_usage(fe->accept) : pag_version_text();
        if (fe->out)
            res->exit_code =
                fputs(text, fe->out) >= 0 && fflush(fe->out) == 0 ? PAG_EXIT_OK : PAG_EXIT_INTERNAL;
        else
            res->exit_code = (res->out_text = dupstr(text)) ? PAG_EXIT_OK : PAG_EXIT_INTERNAL;
    } else {
        execute(r, cmd);
        if (r->opened) incomplete(r);
        if (r->o.stats && fe->stats) {
            char line[512] = "";
            fe->stats(fe_ctx, line, sizeof line);
            if (line[0]) res->stats_line = dupstr(line);
        }
    }
    if (r->opened && fe->close) fe->close(fe_ctx);
    if (!res->out_text) res->out_text = dupstr("");
    free(args);
    free(r);
    return res->exit_code;
}

void pag_result_free(pag_result_t *res)
{
    if (!res) return;
    free(res->out_text);
    free(res->err_line);
    free(res->stats_line);
    memset(res, 0, sizeof *res);
}

/* pag_command_run's frontend: the accessors it was given. */
typedef struct fixed {
    const pag_accessors_t *acc;
    void *ctx;
} fixed_t;

static pag_err_t fixed_open(void *fc, const pag_options_t *o, pag_accessors_t *acc, void **ctx,
                            pag_source_t *src, char *msg, size_t len)
{
    const fixed_t *f = fc;
    (void)o, (void)msg, (void)len;
    if (!f->acc) return PAG_ERR_INVALID_ARG;
    *acc = *f->acc, *ctx = f->ctx;
    memset(src, 0, sizeof *src);
    return PAG_OK;
}

int pag_command_run(const pag_accessors_t *acc, void *ctx, int argc, const char *const *argv,
                    pag_result_t *res)
{
    fixed_t f = {acc, ctx};
    pag_frontend_t fe = {.open = fixed_open};
    return pag_command_main(&fe, &f, PAG_CMD_GRAPH, argc, argv, res);
}

/* pag_command_run with other output caps: the unit test of the cap, which
 * would otherwise have to write 1 GiB.  Not in any header a frontend uses. */
int pag__command_run_capped(const pag_accessors_t *acc, void *ctx, int argc,
                            const char *const *argv, pag_result_t *res, uint64_t max_lines,
                            uint64_t max_bytes);
int pag__command_run_capped(const pag_accessors_t *acc, void *ctx, int argc,
                            const char *const *argv, pag_result_t *res, uint64_t max_lines,
                            uint64_t max_bytes)
{
    fixed_t f = {acc, ctx};
    pag_frontend_t fe = {.open = fixed_open};
    const pag__caps_t caps = {max_lines, max_bytes, 0};
    return command_main(&fe, &f, PAG_CMD_GRAPH, argc, argv, res, &caps);
}
