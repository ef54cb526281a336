/* pag_command_run: the whole command for debugger frontends (parse, bind,
 * snapshot, render), so gdb and lldb print exactly what the CLI prints.
 *
 * Output channels: the rendered text goes to out_text (or to -o FILE);
 * everything else goes to err_line, one line:
 *   - an error: "py-async-graph: <pag_strerror>: <detail>" (no output);
 *   - after a successful render, pag_snapshot_note()'s line (undecodable
 *     tasks -> PAG_EXIT_PARTIAL, asyncio not loaded, the first snapshot
 *     warning, --stats), shared with the CLI.
 * Several of these are joined with "; ". */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

static void add_err(char **line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_err(char **line, const char *fmt, ...)
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

static char *dupstr(const char *s)
{
    size_t l = strlen(s);
    char *p = malloc(l + 1);
    if (p) memcpy(p, s, l + 1);
    return p;
}

int pag_command_run(const pag_accessors_t *acc, void *ctx, int argc, const char *const *argv,
                    unsigned accept, const char *source_json, pag_result_t *res)
{
    pag_options_t o;
    char msg[512];
    pag_err_t err;
    pag_session_t *s = NULL;
    pag_snapshot_t *snap = NULL;
    if (!res) return PAG_EXIT_INTERNAL;
    memset(res, 0, sizeof *res);

    err = pag_options_parse(argc, argv, accept, &o, msg, sizeof msg);
    if (err) {
        add_err(&res->err_line, "py-async-graph: %s", msg);
        res->exit_code = PAG_EXIT_USAGE;
        goto out;
    }
    if (o.help || o.version) {
        res->out_text = dupstr(o.help ? pag_usage(accept) : pag_version_text());
        res->exit_code = res->out_text ? PAG_EXIT_OK : PAG_EXIT_INTERNAL;
        goto out;
    }
    msg[0] = '\0';
    s = pag_session_create_ex(acc, ctx, &err, msg, sizeof msg);
    if (!s) {
        if (msg[0])
            add_err(&res->err_line, "py-async-graph: %s: %s", pag_strerror(err), msg);
        else
            add_err(&res->err_line, "py-async-graph: %s", pag_strerror(err));
        res->exit_code = pag_exit_code(err);
        goto out;
    }
    int tries = o.no_stop ? o.retries + 1 : 1;
    for (int t = 0; t < tries; t++) {
        if (snap) pag_snapshot_destroy(snap);
        snap = NULL;
        err = pag_snapshot_take(s, &snap);
        if (err || !snap->n_inconsistent) break;
    }
    if (!err && o.no_stop && snap->n_inconsistent) err = PAG_ERR_CHANGED;
    if (err) {
        const char *d = pag_session_errmsg(s);
        if (d && *d)
            add_err(&res->err_line, "py-async-graph: %s: %s", pag_strerror(err), d);
        else
            add_err(&res->err_line, "py-async-graph: %s", pag_strerror(err));
        res->exit_code = pag_exit_code(err);
        goto out;
    }

    FILE *f;
    char *buf = NULL;
    size_t len = 0;
    if (o.output)
        f = fopen(o.output, "w");
    else
        f = open_memstream(&buf, &len);
    if (!f) {
        if (o.output)
            add_err(&res->err_line, "py-async-graph: %s: cannot write '%s'",
                    pag_strerror(PAG_ERR_IO), o.output);
        else
            add_err(&res->err_line, "py-async-graph: %s", pag_strerror(PAG_ERR_NOMEM));
        res->exit_code = pag_exit_code(o.output ? PAG_ERR_IO : PAG_ERR_NOMEM);
        goto out;
    }
    err = pag_render(snap, &o, source_json, f);
    if (fclose(f) != 0 && !err) err = PAG_ERR_IO;
    if (o.output) {
        free(buf);
        res->out_text = dupstr("");
    } else if (err) {
        free(buf);
    } else {
        res->out_text = buf;
    }
    if (err) {
        if (err == PAG_ERR_NO_TASK) {
            char sel[600];
            pag_selection_text(&o, sel, sizeof sel);
            add_err(&res->err_line, "py-async-graph: %s: no task matches%s", pag_strerror(err),
                    sel);
        } else if (err == PAG_ERR_IO && o.output)
            add_err(&res->err_line, "py-async-graph: %s: '%s'", pag_strerror(err), o.output);
        else
            add_err(&res->err_line, "py-async-graph: %s", pag_strerror(err));
        res->exit_code = pag_exit_code(err);
        goto out;
    }
    {
        /* the same after-render line and exit code as every frontend */
        char note[2048];
        res->exit_code = pag_snapshot_note(snap, &o, note, sizeof note);
        if (note[0]) add_err(&res->err_line, "%s", note);
    }
out:
    if (snap) pag_snapshot_destroy(snap);
    if (s) pag_session_destroy(s);
    if (!res->out_text) res->out_text = dupstr("");
    return res->exit_code;
}

void pag_result_free(pag_result_t *res)
{
    if (!res) return;
    free(res->out_text);
    free(res->err_line);
    res->out_text = NULL;
    res->err_line = NULL;
}
