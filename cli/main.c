/* py-async-graph: the standalone command.
 *
 * Why this file is small: the command itself -- options, help, retries,
 * rendering, the one error or note line and the exit status -- is the
 * core's (pag_command_main), shared with gdb and lldb.  What is left here is
 * the CLI's part: which kind of target the options name (the opener table
 * below; a new target kind is a new row), and printing. */
#include <stdio.h>
#include <string.h>

#include "target.h"
#include "pag/command.h"

static int is_core(const pag_options_t *o)
{
    return o->core != NULL;
}

static int is_live(const pag_options_t *o)
{
    return o->pid > 0;
}

/* The target kinds, tried in order; the first that claims the options opens. */
static const struct {
    int (*claims)(const pag_options_t *o);
    cli_opener_fn open;
} openers[] = {
    {is_core, cli_core_open},
    {is_live, cli_live_open},
};

typedef struct cli_frontend {
    cli_target_t t;
    int open;
} cli_frontend_t;

static pag_err_t fe_open(void *fc, const pag_options_t *o, pag_accessors_t *acc, void **ctx,
                         pag_source_t *src, char *msg, size_t len)
{
    cli_frontend_t *f = fc;
    for (size_t i = 0; i < sizeof openers / sizeof *openers; i++) {
        if (!openers[i].claims(o)) continue;
        memset(&f->t, 0, sizeof f->t);
        pag_err_t e = openers[i].open(o, &f->t, msg, len);
        if (e != PAG_OK) return e;
        f->open = 1;
        *acc = f->t.acc, *ctx = f->t.ctx, *src = f->t.src;
        return PAG_OK;
    }
    snprintf(msg, len, "no target: give a PID or --core CORE (see --help)");
    return PAG_ERR_INVALID_ARG;
}

static void fe_release(void *fc)
{
    cli_frontend_t *f = fc;
    if (f->open) f->t.release(f->t.ctx);
}

static void fe_close(void *fc)
{
    cli_frontend_t *f = fc;
    if (f->open) f->t.close(f->t.ctx);
    f->open = 0;
}

static const char *fe_problems(void *fc)
{
    cli_frontend_t *f = fc;
    return f->open && f->t.problems ? f->t.problems(f->t.ctx) : NULL;
}

static const char *fe_incomplete(void *fc)
{
    cli_frontend_t *f = fc;
    return f->open && f->t.incomplete ? f->t.incomplete(f->t.ctx) : NULL;
}

int main(int argc, char **argv)
{
    static char outbuf[64 << 10]; /* a million-task render is hundreds of MB */
    cli_tune_heap();
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    cli_frontend_t f = {0};
    pag_frontend_t fe = {.accept = PAG_OPT_TARGET,
                         .out = stdout,
                         .open = fe_open,
                         .release = fe_release,
                         .close = fe_close,
                         .problems = fe_problems,
                         .incomplete = fe_incomplete};
    pag_result_t r;
    int code =
        pag_command_main(&fe, &f, PAG_CMD_GRAPH, argc - 1, (const char *const *)argv + 1, &r);
    fflush(stdout);
    if (r.err_line) fprintf(stderr, "%s\n", r.err_line);
    pag_result_free(&r);
    return code;
}
