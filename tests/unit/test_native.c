/* Unit tests of issue 14's merge and rendering on hand-built snapshots: each
 * evaluator frame is replaced by exactly the Python frames it runs, a
 * running task's view stops at its coroutine, native frames print in their
 * three forms, the GIL verdict follows its rules, and without --native or
 * --all-threads nothing changes.  The real oracles (gdb's bt, the
 * fixtures' own stacks) are in tests/native/; this pins the rule itself.
 * pag-test-formats: tasks graph tree json dot */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "snapbuild.h"

static int failures;
#define NCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static pag_frame_t py[3] = {
    {"stuck", "/srv/app.py", 40, PAG_FRAME_SYNC, 0},
    {"body", "/srv/app.py", 61, PAG_FRAME_ASYNC, 1}, /* the task's coroutine: entered from C */
    {"<module>", "/srv/app.py", 99, PAG_FRAME_SYNC, 1},
};

static pag_native_frame_t nat[7] = {
    {0x7f0000001234, 0x1000, 0x7f0000000000, 0x34, "clock_nanosleep", "/lib/libc.so.6", NULL, 0, 0},
    {0x555500002000, 0x1100, 0x555500000000, 0, NULL, "/usr/bin/python3.14", NULL, 0, 0},
    {0x555500003000, 0x1200, 0x555500000000, 0x10, "_PyEval_EvalFrameDefault",
     "/usr/bin/python3.14", "Python/ceval.c", 1000, 0},
    {0x555500004000, 0x1300, 0x555500000000, 0x8, "PyObject_Call", "/usr/bin/python3.14", NULL, 0,
     0},
    {0x555500003100, 0x1400, 0x555500000000, 0x110, "_PyEval_EvalFrameDefault.cold",
     "/usr/bin/python3.14", NULL, 0, 0},
    {0x555500005000, 0x1500, 0x555500000000, 0x20, "main", "/usr/bin/python3.14", NULL, 0, 0},
    {0xdead0000, 0x1600, 0, 0, NULL, NULL, NULL, 0, 0},
};

static char *render(const pag_snapshot_t *s, const char *const *argv, int argc, pag_err_t *err)
{
    pag_options_t o;
    char eb[256];
    if (pag_options_parse(argc, argv, 0, &o, eb, sizeof eb) != PAG_OK) {
        fprintf(stderr, "bad options: %s\n", eb);
        exit(2);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    *err = pag_render(s, &o, NULL, m);
    fclose(m);
    return buf;
}

static void build(pag_snapshot_t *s)
{
    sb_init(s);
    size_t th = sb_thread(s, 1234, 1);
    s->threads[th].running_loop = 0x7f00aa;
    s->threads[th].py_stack.frames = py;
    s->threads[th].py_stack.n = 3;
    s->threads[th].native = nat;
    s->threads[th].n_native = 7;
    s->threads[th].holds_gil = 0;
    s->threads[th].gil_requested = -1;
    size_t t = sb_node(s, th, 0x1000, "blocker", 1);
    s->tasks[t].stack.frames = &py[1];
    s->tasks[t].stack.n = 1;
    s->tasks[t].running = 1;
    s->tasks[t].running_stack.frames = py;
    s->tasks[t].running_stack.n = 2;
    s->threads[th].running_task = t;
    sb_thread(s, 1240, 0); /* a worker, no loop */
    s->threads[1].holds_gil = 1;
    s->threads[1].gil_requested = -1;
    s->gil_holder = SIZE_MAX;
}

static void test_views(const pag_snapshot_t *s)
{
    pag__vframe_t *v = NULL;
    size_t n = pag__thread_view(&s->threads[0], 1, SIZE_MAX, &v);
    /* clock_nanosleep, python3.14+off, [stuck, body], PyObject_Call, [<module>], main, 0x.. */
    NCHECK(n == 8, "thread view has %zu entries, want 8", n);
    if (n == 8) {
        NCHECK(v[0].nat == &nat[0] && v[1].nat == &nat[1], "native top");
        NCHECK(v[2].py == &py[0] && v[3].py == &py[1], "first evaluator -> stuck, body");
        NCHECK(v[4].nat == &nat[3], "PyObject_Call between the evaluator calls");
        NCHECK(v[5].py == &py[2], ".cold evaluator -> <module>");
        NCHECK(v[6].nat == &nat[5] && v[7].nat == &nat[6], "outer native frames kept");
    }
    free(v);
    n = pag__task_view(s, &s->tasks[0], 1, &v);
    NCHECK(n == 4 && v[3].py == &py[1], "task view stops at its coroutine (%zu)", n);
    free(v);
    n = pag__thread_view(&s->threads[0], 0, SIZE_MAX, &v);
    NCHECK(n == 3 && v[0].py == &py[0], "without native: the Python stack (%zu)", n);
    free(v);
    char buf[256];
    pag__native_text(&nat[0], buf, sizeof buf);
    NCHECK(strcmp(buf, "clock_nanosleep+0x34 (libc.so.6)") == 0, "text: %s", buf);
    pag__native_text(&nat[1], buf, sizeof buf);
    NCHECK(strcmp(buf, "python3.14+0x2000") == 0, "module form: %s", buf);
    pag__native_text(&nat[2], buf, sizeof buf);
    NCHECK(strcmp(buf, "_PyEval_EvalFrameDefault+0x10 (python3.14) at Python/ceval.c:1000") == 0,
           "file:line form: %s", buf);
    pag__native_text(&nat[6], buf, sizeof buf);
    NCHECK(strcmp(buf, "0xdead0000") == 0, "pc form: %s", buf);
}

/* Debian's release builds: no symbol names the evaluator's body, so the
 * evaluator calls are found by where their C entry frames live.  Entry
 * frame addresses inside native frames 2 and 4's stack areas. */
static void test_by_sp(void)
{
    pag_frame_t p[3] = {py[0], py[1], py[2]};
    pag_native_frame_t f[7];
    memcpy(f, nat, sizeof f);
    f[2].function = NULL; /* python3.14+0x3000: the unnamed evaluator body */
    f[4].function = NULL;
    f[3].function = "_PyEval_EvalFrameDefault"; /* a name the sp rule must not trust */
    p[1].entry = 0x1210;                        /* in [sp_2, sp_3) = [0x1200, 0x1300) */
    p[2].entry = 0x1450;                        /* in frame 4's [0x1400, 0x1500) */
    pag_thread_t th;
    memset(&th, 0, sizeof th);
    th.py_stack.frames = p;
    th.py_stack.n = 3;
    th.native = f;
    th.n_native = 7;
    pag__vframe_t *v = NULL;
    size_t n = pag__thread_view(&th, 1, SIZE_MAX, &v);
    NCHECK(n == 8, "by sp: %zu entries, want 8", n);
    if (n == 8)
        NCHECK(v[0].nat == &f[0] && v[1].nat == &f[1] && v[2].py == &p[0] && v[3].py == &p[1] &&
                   v[4].nat == &f[3] && v[5].py == &p[2] && v[6].nat == &f[5],
               "by sp: each unnamed evaluator replaced by its run");
    free(v);
    p[2].entry = 0x9999; /* an entry frame on no native frame (a shim): not a boundary */
    n = pag__thread_view(&th, 1, SIZE_MAX, &v);
    NCHECK(n == 9 && v[2].py == &p[0] && v[3].py == &p[1] && v[8].py == &p[2],
           "by sp: an unclaimed frame goes to the end (%zu)", n);
    free(v);
}

static void test_gil(pag_snapshot_t *s)
{
    NCHECK(!pag__gil_waits(s, 0), "GIL unknown: nobody waits");
    s->gil_known = 1, s->gil_locked = 1, s->gil_holder = 1;
    NCHECK(!pag__gil_waits(s, 0), "3.14, clock_nanosleep on top: not a GIL wait");
    nat[0].function = "__pthread_cond_timedwait64";
    NCHECK(pag__gil_waits(s, 0), "3.14, a condition wait above the evaluator: waits");
    NCHECK(!pag__gil_waits(s, 1), "the holder does not wait");
    s->threads[0].gil_requested = 0; /* 3.15 says so itself */
    NCHECK(!pag__gil_waits(s, 0), "3.15 gil_requested=0 wins");
    s->threads[0].gil_requested = 1;
    NCHECK(pag__gil_waits(s, 0), "3.15 gil_requested=1");
    pag_err_t e;
    const char *a[] = {"--native", "--format", "tasks"};
    char *out = render(s, a, 3, &e);
    NCHECK(e == PAG_OK &&
               strstr(out, "* blocker                  [native] __pthread_cond_timedwait64+0x34"),
           "tasks WHERE is the native top:\n%s", out);
    NCHECK(strstr(out, "Thread") == NULL, "no thread block without --all-threads:\n%s", out);
    free(out);
    char line[1024];
    pag_options_t o;
    char eb[64];
    pag_options_parse(1, a, 0, &o, eb, sizeof eb);
    pag_snapshot_note(s, &o, line, sizeof line);
    NCHECK(strstr(line, "thread 1234 (loop) waits for the GIL held by thread 1240") != NULL,
           "note: %s", line);
    nat[0].function = "clock_nanosleep";
    s->threads[0].gil_requested = -1;
}

static void test_formats(const pag_snapshot_t *s)
{
    pag_err_t e;
    const char *plain[] = {"--format", "graph"};
    const char *nat_graph[] = {"--format", "graph", "--native"};
    char *a = render(s, plain, 2, &e);
    char *b = render(s, nat_graph, 3, &e);
    NCHECK(strstr(a, "[native]") == NULL, "no native frames without --native:\n%s", a);
    NCHECK(strstr(b, "  |   [native] clock_nanosleep+0x34 (libc.so.6)\n"
                     "  |   [native] python3.14+0x2000\n"
                     "  |   File '/srv/app.py', line 40, in stuck()\n"
                     "  |   File '/srv/app.py', line 61, in async body()") != NULL,
           "graph call stack with native entries:\n%s", b);
    free(a);
    free(b);
    const char *all[] = {"--all-threads", "--format", "tree"};
    a = render(s, all, 3, &e);
    NCHECK(strstr(a, "\nThread 1240 (holds the GIL):\n    (no Python frames)\n") != NULL,
           "--all-threads lists the worker:\n%s", a);
    NCHECK(strstr(a, "Thread 1234 (main, loop, a task running):\n    stuck /srv/app.py:40\n"
                     "    body /srv/app.py:61\n    <module> /srv/app.py:99\n") != NULL,
           "--all-threads: the loop thread's Python stack:\n%s", a);
    free(a);
    const char *tree[] = {"--native", "--format", "tree"};
    a = render(s, tree, 3, &e);
    NCHECK(strstr(a, "body /srv/app.py:61\n        └──  stuck /srv/app.py:40\n"
                     "            └──  [native] python3.14+0x2000\n"
                     "                └──  [native] clock_nanosleep+0x34 (libc.so.6)") != NULL,
           "tree: native frames under the running leaf:\n%s", a);
    free(a);
    const char *js[] = {"--native", "--format", "json"};
    a = render(s, js, 3, &e);
    NCHECK(strstr(a, "\"schema\": \"py-async-graph/2\"") != NULL, "schema 2");
    NCHECK(strstr(a,
                  "{\"function\": null, \"file\": null, \"line\": null, \"kind\": \"native\", "
                  "\"pc\": 93823560589312, \"module\": \"python3.14\", \"offset\": 8192}") != NULL,
           "json native frame:\n%s", a);
    free(a);
    const char *js1[] = {"--format", "json"};
    a = render(s, js1, 2, &e);
    NCHECK(strstr(a, "\"schema\": \"py-async-graph/1\"") && !strstr(a, "\"kind\": \"native\""),
           "schema 1 unchanged without --native");
    free(a);
}

int main(void)
{
    pag_snapshot_t s;
    build(&s);
    test_views(&s);
    test_by_sp();
    test_gil(&s);
    test_formats(&s);
    free(s.threads);
    free(s.tasks);
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    return failures != 0;
}
