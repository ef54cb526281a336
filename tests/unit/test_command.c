/* pag_command_run end to end on a synthetic target image (the lead's
 * synth_image.h): parse, bind, snapshot, render; -o FILE; --help/--version;
 * error lines and exit codes for bad options, unknown tasks and a target
 * without asyncio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pag/command.h"
#include "synth_image.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (c)                                                                                     \
            printf("ok   %s\n", #c);                                                               \
        else {                                                                                     \
            failures++;                                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                                    \
        }                                                                                          \
    } while (0)

static void build(sy_image_t *im)
{
    sy_init(im, 14, 0x030e0af0);
    uint64_t c_main = sy_code(im, "main", "/app/x.py", 10, 64);
    uint64_t c_work = sy_code(im, "Worker.run", "/app/x.py", 30, 64);
    uint64_t c_leaf = sy_code(im, "leaf", "/app/y.py", 50, 64);
    uint64_t fut = sy_future(im);
    uint64_t leaf = sy_coro(im, c_leaf, 9, fut);
    uint64_t work = sy_coro(im, c_work, 4, leaf);
    uint64_t mainc = sy_coro(im, c_main, 0, 0);
    uint64_t t_main = sy_task(im, sy_long(im, 1), mainc);
    uint64_t t_work = sy_task(im, sy_str(im, "worker"), work);
    sy_awaited_by(im, t_work, t_main);
    uint64_t ts = sy_thread(im, 4242);
    uint64_t list[] = {t_main, t_work};
    sy_list(im, ts + SY_TS_TASKS, list, 2);
}

static char *direct(sy_image_t *im, pag_format_t fmt)
{
    pag_err_t err;
    pag_session_t *s = pag_session_create(&sy_accessors, im, &err);
    if (!s) return NULL;
    pag_snapshot_t *snap = NULL;
    char *buf = NULL;
    size_t len = 0;
    if (pag_snapshot_take(s, &snap) == PAG_OK) {
        FILE *m = open_memstream(&buf, &len);
        pag_options_t o;
        memset(&o, 0, sizeof o);
        o.format = fmt;
        pag_render(snap, &o, NULL, m);
        fclose(m);
        pag_snapshot_destroy(snap);
    }
    pag_session_destroy(s);
    return buf;
}

static int run(sy_image_t *im, pag_result_t *r, const char *a0, const char *a1, const char *a2)
{
    const char *argv[3] = {a0, a1, a2};
    int argc = 0;
    while (argc < 3 && argv[argc])
        argc++;
    int rc = pag_command_run(&sy_accessors, im, argc, argv, r);
    printf("     rc=%d err=%s\n", rc, r->err_line ? r->err_line : "(none)");
    return rc;
}

int main(void)
{
    sy_image_t im;
    build(&im);
    pag_result_t r;

    char *want = direct(&im, PAG_FMT_TREE);
    CHECK(want && strstr(want, "(T) Task-1") && strstr(want, "(T) worker"));
    CHECK(run(&im, &r, "--format", "tree", NULL) == PAG_EXIT_OK);
    CHECK(want && r.out_text && strcmp(r.out_text, want) == 0 && r.err_line == NULL);
    pag_result_free(&r);
    free(want);

    want = direct(&im, PAG_FMT_TABLE);
    CHECK(run(&im, &r, "-f", "table", NULL) == PAG_EXIT_OK);
    CHECK(want && r.out_text && strcmp(r.out_text, want) == 0);
    pag_result_free(&r);

    char path[] = "/tmp/pag-cmd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char oarg[64];
    snprintf(oarg, sizeof oarg, "-o%s", path);
    CHECK(run(&im, &r, "--format=table", oarg, NULL) == PAG_EXIT_OK);
    CHECK(r.out_text && r.out_text[0] == '\0');
    pag_result_free(&r);
    FILE *f = fopen(path, "r");
    char filebuf[8192] = {0};
    if (f) {
        size_t n = fread(filebuf, 1, sizeof filebuf - 1, f);
        filebuf[n] = '\0';
        fclose(f);
    }
    unlink(path);
    CHECK(want && strcmp(filebuf, want) == 0);
    free(want);

    CHECK(run(&im, &r, "--task", "nope", NULL) == PAG_EXIT_NO_TASK);
    CHECK(r.err_line && strncmp(r.err_line, "py-async-graph: ", 16) == 0 &&
          strstr(r.err_line, "nope") && !strchr(r.err_line, '\n'));
    pag_result_free(&r);

    CHECK(run(&im, &r, "--task", "worker", "--stats") == PAG_EXIT_OK);
    CHECK(r.out_text && strstr(r.out_text, "(T) worker"));
    CHECK(r.err_line && strstr(r.err_line, "stats: read_calls="));
    pag_result_free(&r);

    CHECK(run(&im, &r, "--frmat", "json", NULL) == PAG_EXIT_USAGE);
    CHECK(r.err_line &&
          strcmp(r.err_line, "py-async-graph: unknown option '--frmat' (see --help)") == 0);
    pag_result_free(&r);

    CHECK(run(&im, &r, "--help", NULL, NULL) == PAG_EXIT_OK);
    CHECK(r.out_text && strcmp(r.out_text, pag_usage(0)) == 0 && !r.err_line);
    pag_result_free(&r);
    CHECK(run(&im, &r, "--version", NULL, NULL) == PAG_EXIT_OK);
    CHECK(r.out_text && strcmp(r.out_text, pag_version_text()) == 0);
    pag_result_free(&r);

    /* --info: the version, the tables and the module holding each */
    CHECK(run(&im, &r, "--info", NULL, NULL) == PAG_EXIT_OK);
    CHECK(r.out_text && strstr(r.out_text, "python: CPython 3.14.10 (0x30e0af0), default build"));
    CHECK(r.out_text && strstr(r.out_text, "_PyRuntime: 0x") &&
          strstr(r.out_text, " in synthetic-image: _Py_DebugOffsets checked"));
    CHECK(r.out_text && strstr(r.out_text, "AsyncioDebug: 0x") && !r.err_line);
    pag_result_free(&r);

    im.hide_asyncio = 1;
    int rc = run(&im, &r, NULL, NULL, NULL);
    CHECK(rc != PAG_EXIT_OK || (r.out_text && r.out_text[0] == '\0'));
    if (rc != PAG_EXIT_OK) CHECK(r.err_line && strncmp(r.err_line, "py-async-graph: ", 16) == 0);
    pag_result_free(&r);
    CHECK(run(&im, &r, "--info", NULL, NULL) == PAG_EXIT_OK);
    CHECK(r.out_text &&
          strstr(r.out_text, "AsyncioDebug: none (the target has not loaded asyncio)"));
    pag_result_free(&r);
    sy_fini(&im);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
