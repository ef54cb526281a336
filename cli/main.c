/* py-async-graph: the standalone command.
 *
 * Parse the options (the core's parser, shared with gdb and lldb), open the
 * target -- a live PID or a core file -- behind pag_accessors_t, take one
 * snapshot, let the target go, and print what the core renders.  Every
 * failure is exactly one line on stderr and a documented exit status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "pag/command.h"
#include "pag/snapshot.h"
#include "target.h"

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("py-async-graph: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static void describe_target(const pag_options_t *o, char *buf, size_t len)
{
    if (o->core)
        snprintf(buf, len, "core file %s", o->core);
    else
        snprintf(buf, len, "process %ld", o->pid);
}

/* A JSON string literal of s (null for NULL) at o, which has room for
 * 6 * strlen(s) + 3 bytes; returns the end. */
static char *json_str(char *o, const char *s)
{
    if (!s) return o + sprintf(o, "null");
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *o = 0;
    return o;
}

/* The JSON "source" object from the target's plain fields (malloc'd, NULL
 * when out of memory).  Until the core writes it from a pag_source_t. */
static char *source_json(const pag_source_t *src)
{
    const char *core = src->core, *exe = src->executable;
    char *j = malloc(6 * ((core ? strlen(core) : 0) + (exe ? strlen(exe) : 0)) + 96), *o = j;
    if (!j) return NULL;
    int is_core = src->kind == PAG_SOURCE_CORE;
    o += sprintf(o, "{\"kind\":\"%s\"", is_core ? "core" : "live");
    if (is_core) o = json_str(o + sprintf(o, ",\"core\":"), core);
    o = json_str(o + sprintf(o, ",\"pid\":%lld,\"executable\":", src->pid), exe);
    strcpy(o, "}");
    return j;
}

/* A snapshot and its rendering are thousands of small allocations made once
 * and freed at exit; on a 10,000-task target faulting in their pages 4 KiB
 * at a time is a tenth of the whole run.  So (glibc, this process only --
 * the debugger frontends leave their host's allocator alone): grow the heap
 * in large steps, ask for huge pages on it, and keep freed memory instead of
 * handing it back and faulting it in again. */
static void tune_malloc(void)
{
#if defined(__GLIBC__)
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    char *start = sbrk(0);
    char *first = malloc(1);
    char *end = sbrk(0);
    uintptr_t huge = (uintptr_t)2 << 20;
    char *a = (char *)(((uintptr_t)first + huge - 1) & ~(huge - 1));
    /* only when the allocation came from the brk heap (not, say, ASan's) */
    if (first && start != (char *)-1 && end != (char *)-1 && first >= start && a < end)
        madvise(a, (size_t)(end - a), MADV_HUGEPAGE);
    free(first);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    pag_options_t o;
    char err[1024] = "";
    memset(&o, 0, sizeof o);
    pag_err_t e = pag_options_parse(argc - 1, (const char *const *)argv + 1, PAG_OPT_TARGET, &o,
                                    err, sizeof err);
    if (e != PAG_OK) return fail(PAG_EXIT_USAGE, "%s", err[0] ? err : pag_strerror(e));
    if (o.help) {
        fputs(pag_usage(PAG_OPT_TARGET), stdout);
        return fflush(stdout) == 0 ? PAG_EXIT_OK : PAG_EXIT_INTERNAL;
    }
    if (o.version) {
        fputs(pag_version_text(), stdout);
        return fflush(stdout) == 0 ? PAG_EXIT_OK : PAG_EXIT_INTERNAL;
    }
    if (!o.core && o.pid <= 0)
        return fail(PAG_EXIT_USAGE, "no target: give a PID or --core FILE (see --help)");

    char what[1200];
    describe_target(&o, what, sizeof what);
    cli_target_t t;
    e = o.core ? cli_core_open(&o, &t, err, sizeof err) : cli_live_open(&o, &t, err, sizeof err);
    if (e != PAG_OK) return fail(pag_exit_code(e), "%s", err[0] ? err : pag_strerror(e));

    err[0] = 0;
    pag_session_t *s = pag_session_create_ex(&t.acc, t.ctx, &e, err, sizeof err);
    if (!s) {
        const char *why = err[0] ? err : pag_strerror(e);
        const char *missing = t.problems ? t.problems(t.ctx) : NULL;
        int code = pag_exit_code(e);
        if (e == PAG_ERR_NOT_PYTHON && missing)
            /* Most likely the file that would hold _PyRuntime is the missing one. */
            fail(code, "%s: %s; %s", what, why, missing);
        else if (e == PAG_ERR_NOT_PYTHON)
            fail(code, "%s is not a CPython process (%s)", what, why);
        else if (missing && e == PAG_ERR_READ)
            fail(code, "%s: %s; %s", what, why, missing);
        else
            fail(code, "%s: %s", what, why);
        t.close(t.ctx);
        return code;
    }

    /* One snapshot; without stopping the target, retry while it changes
     * (--retries).  The rules below match pag_command_run so that the CLI,
     * gdb and lldb report the same things the same way. */
    pag_snapshot_t *snap = NULL;
    int tries = o.no_stop ? o.retries + 1 : 1;
    for (int k = 0; k < tries; k++) {
        if (snap) pag_snapshot_destroy(snap);
        snap = NULL;
        e = pag_snapshot_take(s, &snap);
        if (e != PAG_OK || !snap->n_inconsistent) break;
    }
    t.release(t.ctx); /* let the target run again before we print */
    if (e == PAG_OK && o.no_stop && snap->n_inconsistent) e = PAG_ERR_CHANGED;
    if (e != PAG_OK) {
        const char *m = pag_session_errmsg(s);
        const char *missing = t.problems ? t.problems(t.ctx) : NULL;
        int code = pag_exit_code(e);
        if (e == PAG_ERR_CHANGED)
            fail(code, "%s: %s kept changing while read (%d reads); run without --no-stop",
                 pag_strerror(e), what, tries);
        else if (missing && e == PAG_ERR_READ)
            fail(code, "%s: %s; %s", what, m && m[0] ? m : pag_strerror(e), missing);
        else if (m && m[0])
            fail(code, "%s: %s: %s", what, pag_strerror(e), m);
        else
            fail(code, "%s: %s", what, pag_strerror(e));
        if (snap) pag_snapshot_destroy(snap);
        pag_session_destroy(s);
        t.close(t.ctx);
        return code;
    }

    FILE *out = stdout;
    int code = PAG_EXIT_OK;
    if (!snap->asyncio_loaded && t.problems && t.problems(t.ctx)) {
        /* No AsyncioDebug table, but a module file could not be used: the
         * table may be in that file.  Do not print a silently empty graph. */
        code = fail(pag_exit_code(PAG_ERR_READ), "%s: no asyncio state found; %s", what,
                    t.problems(t.ctx));
        goto done;
    }
    if (o.output && !(out = fopen(o.output, "w"))) {
        code = fail(pag_exit_code(PAG_ERR_IO), "%s: cannot write '%s': %s",
                    pag_strerror(PAG_ERR_IO), o.output, strerror(errno));
        goto done;
    }
    /* a million-task render is hundreds of MB: write it in large blocks */
    static char outbuf[64 << 10];
    setvbuf(out, outbuf, _IOFBF, sizeof outbuf);
    char *source = source_json(&t.src);
    e = pag_render(snap, &o, source ? source : "{}", out);
    free(source);
    int werr = ferror(out) || fflush(out) != 0;
    if (out != stdout && fclose(out) != 0) werr = 1;
    if (e == PAG_OK && werr) e = PAG_ERR_IO;
    if (e == PAG_ERR_NO_TASK) {
        char sel[600];
        pag_selection_text(&o, sel, sizeof sel);
        code = fail(pag_exit_code(e), "%s: no task matches%s", pag_strerror(e), sel);
    } else if (e == PAG_ERR_IO) {
        code = fail(pag_exit_code(e), "%s: '%s'", pag_strerror(e), o.output ? o.output : "stdout");
    } else if (e != PAG_OK) {
        code = fail(pag_exit_code(e), "%s", pag_strerror(e));
    } else {
        /* Not errors: at most one line (warnings, --stats), as every frontend. */
        char line[2048];
        code = pag_snapshot_note(snap, &o, line, sizeof line);
        if (line[0]) fprintf(stderr, "%s\n", line);
    }
done:
    pag_snapshot_destroy(snap);
    pag_session_destroy(s);
    t.close(t.ctx);
    return code;
}
