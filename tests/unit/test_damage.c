/* Damage that used to pass silently, end to end through pag_command_run on
 * the synthetic image (synth_image.h), for 3.14 and 3.15 (issue 18):
 *   - a task's coro aimed at a str, at a coroutine whose frame is zeroed:
 *     that task fails, exit 10, the note counts it;
 *   - the empty stacks that are real stay exit 0: no coroutine (a finished
 *     task), a cleared frame, a heap type named like a coroutine (Cython);
 *   - runtime.interpreters_head NULL or aimed at a str: exit 8, no graph;
 *   - the output cap (defect 8b): with small caps (pag__command_run_capped,
 *     the test's way in, as writing 1 GiB is not), the tree and graph end
 *     with the cut line, a stderr note says so and the exit is 10. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pag/command.h"
#include "synth_image.h"

int pag__command_run_capped(const pag_accessors_t *acc, void *ctx, int argc,
                            const char *const *argv, pag_result_t *res, uint64_t max_lines,
                            uint64_t max_bytes);

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

typedef struct graph {
    sy_image_t im;
    uint64_t code, victim, tasks[40];
    size_t n;
} graph_t;

/* n tasks on one thread's list, t1..t(n-1) each awaited by t0 (a tree of
 * n-1 leaves); tasks[1] is the one the tests damage. */
static void build(graph_t *g, unsigned minor, size_t n)
{
    sy_image_t *im = &g->im;
    sy_init(im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    g->code = sy_code(im, "work", "/app/w.py", 10, 64);
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%zu", i);
        g->tasks[i] = sy_task(im, sy_str(im, name), sy_coro(im, g->code, 2, 0));
    }
    for (size_t i = 1; i < n; i++)
        sy_awaited_by(im, g->tasks[i], g->tasks[0]); /* every task awaited by t0 */
    g->victim = g->tasks[1];
    uint64_t ts = sy_thread(im, 77);
    sy_list(im, ts + SY_TS_TASKS, g->tasks, n);
}

static int run(graph_t *g, pag_result_t *r, const char *a0, const char *a1)
{
    const char *argv[2] = {a0, a1};
    int argc = a0 ? (a1 ? 2 : 1) : 0;
    int rc = pag_command_run(&sy_accessors, &g->im, argc, argv, r);
    printf("     rc=%d err=%s\n", rc, r->err_line ? r->err_line : "(none)");
    return rc;
}

static void set_coro(graph_t *g, uint64_t coro)
{
    sy_w64(&g->im, g->victim + SY_T_CORO, coro);
}

static void test_coroutines(unsigned minor)
{
    printf("-- coroutines, 3.%u\n", minor);
    graph_t g;
    build(&g, minor, 3);
    pag_result_t r;
    CHECK(run(&g, &r, "--format", "table") == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);

    set_coro(&g, sy_str(&g.im, "not a coroutine"));
    CHECK(run(&g, &r, "--format", "json") == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "1 task(s) could not be fully decoded"));
    CHECK(r.out_text && strstr(r.out_text, "is not a coroutine object"));
    pag_result_free(&r);

    uint64_t zeroed = sy_coro(&g.im, g.code, 2, 0);
    memset(sy_ptr(&g.im, zeroed + SY_GEN_FRAME), 0, SY_FR_SIZE);
    sy_w8(&g.im, zeroed + SY_GEN_STATE, 0);
    set_coro(&g, zeroed);
    CHECK(run(&g, &r, "--format", "json") == PAG_EXIT_PARTIAL);
    CHECK(r.out_text && strstr(r.out_text, "has no frame"));
    pag_result_free(&r);

    set_coro(&g, 0); /* a finished task drops its coroutine */
    CHECK(run(&g, &r, "--format", "table") == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);

    uint64_t cleared = sy_coro(&g.im, g.code, 2, 0);
    memset(sy_ptr(&g.im, cleared + SY_GEN_FRAME), 0, SY_FR_SIZE);
    sy_w8(&g.im, cleared + SY_GEN_STATE, (uint8_t)(minor == 14 ? 4 : 5)); /* FRAME_CLEARED */
    set_coro(&g, cleared);
    CHECK(run(&g, &r, "--format", "table") == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);

    uint64_t cy = sy_type(&g.im, "_cython_3_1_2.coroutine", 1ull << 9); /* Py_TPFLAGS_HEAPTYPE */
    uint64_t foreign = sy_alloc(&g.im, 64);
    sy_w64(&g.im, foreign + SY_OBTYPE, cy);
    set_coro(&g, foreign);
    CHECK(run(&g, &r, "--format", "table") == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);

    uint64_t task_type_obj = g.tasks[0]; /* another task: a heap type, not a coroutine */
    sy_w64(&g.im, task_type_obj + SY_OBTYPE, sy_type(&g.im, "_asyncio.Task", 1ull << 9));
    set_coro(&g, task_type_obj);
    CHECK(run(&g, &r, "--format", "table") == PAG_EXIT_PARTIAL);
    pag_result_free(&r);
    sy_fini(&g.im);
}

static void test_interpreters(unsigned minor)
{
    printf("-- interpreters, 3.%u\n", minor);
    graph_t g;
    build(&g, minor, 3);
    pag_result_t r;
    uint64_t head = g.im.runtime + SY_RT_INTERP, interp = g.im.interp;
    sy_w64(&g.im, head, 0);
    CHECK(run(&g, &r, NULL, NULL) == PAG_EXIT_CORRUPT);
    CHECK(r.err_line && strstr(r.err_line, "no interpreter") && r.out_text && !r.out_text[0]);
    pag_result_free(&r);
    sy_w64(&g.im, head, sy_str(&g.im, "an interpreter? no"));
    CHECK(run(&g, &r, NULL, NULL) == PAG_EXIT_CORRUPT);
    CHECK(r.err_line && strstr(r.err_line, "not an interpreter state") && r.out_text &&
          !r.out_text[0]);
    pag_result_free(&r);
    sy_w64(&g.im, head, interp);
    CHECK(run(&g, &r, NULL, NULL) == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);
    sy_fini(&g.im);
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = s ? strlen(s) : 0, b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static void test_output_cap(unsigned minor)
{
    printf("-- output cap, 3.%u\n", minor);
    graph_t g;
    build(&g, minor, 40);
    const char *tree[] = {"--format", "tree"}, *graph[] = {"--format", "graph"};
    pag_result_t r;
    int rc = pag__command_run_capped(&sy_accessors, &g.im, 2, tree, &r, 5, 1u << 30);
    CHECK(rc == PAG_EXIT_PARTIAL);
    CHECK(ends_with(r.out_text, "\n... (output truncated after 5 lines)\n"));
    CHECK(r.err_line && strstr(r.err_line, "output truncated at its cap (5 lines") &&
          !strchr(r.err_line, '\n'));
    pag_result_free(&r);
    rc = pag__command_run_capped(&sy_accessors, &g.im, 2, graph, &r, 1000, 300);
    CHECK(rc == PAG_EXIT_PARTIAL);
    CHECK(ends_with(r.out_text, "\n... (output truncated after about 300 bytes)\n"));
    CHECK(r.err_line && strstr(r.err_line, "about 300 bytes): what is shown is partial"));
    pag_result_free(&r);
    /* the default caps: the whole graph, no note */
    CHECK(run(&g, &r, "--format", "tree") == PAG_EXIT_OK && r.err_line == NULL);
    CHECK(r.out_text && !strstr(r.out_text, "truncated") && strstr(r.out_text, "t39"));
    pag_result_free(&r);
    rc = pag__command_run_capped(&sy_accessors, &g.im, 2, graph, &r, 2000000, 1ull << 30);
    CHECK(rc == PAG_EXIT_OK && r.err_line == NULL);
    pag_result_free(&r);
    sy_fini(&g.im);
}

int main(void)
{
    for (unsigned minor = 14; minor <= 15; minor++) {
        test_coroutines(minor);
        test_interpreters(minor);
        test_output_cap(minor);
    }
    if (failures) {
        printf("test_damage: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_damage: all checks passed\n");
    return 0;
}
