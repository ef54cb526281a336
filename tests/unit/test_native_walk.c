/* Unit tests of how the core takes a frontend's native frames (issue 14),
 * on the synthetic image (synth_image.h) through the whole command: the
 * records are bounded, a stack whose sp goes backwards is cut there, an
 * unwinder that stops early or a frontend without one gives a note and
 * the partial exit code, an overstated count is clamped -- and none of it
 * touches the output without --native.
 * pag-test-formats: tasks */
#include <stdio.h>
#include <string.h>

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

/* What the fake unwinder returns, per test. */
static struct {
    pag_native_frame_t rec[4];
    size_t n, claim; /* records given, and the count it says (0: n) */
    int deep;        /* give max records of a stack that goes on (a deep recursion) */
    pag_err_t rc;
    uint64_t asked_tid;
} U;

static pag_err_t fake_native(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max,
                             size_t *n)
{
    (void)ctx;
    U.asked_tid = tid;
    for (size_t k = 0; k < U.n && k < max; k++)
        out[k] = U.rec[k];
    *n = U.claim ? U.claim : U.n;
    for (size_t k = 0; U.deep && k < max; k++)
        out[k] = (pag_native_frame_t){0x400000 + k, 0x10000 + 16 * k, 0, 0, NULL, NULL, NULL, 0, 0};
    if (U.deep) *n = max;
    return U.rc;
}

static int run(sy_image_t *im, int with_native_acc, pag_result_t *r, int argc, const char **argv)
{
    pag_accessors_t acc = sy_accessors;
    if (with_native_acc) acc.native_frames = fake_native;
    int rc = pag_command_run(&acc, im, argc, argv, r);
    printf("     rc=%d err=%s\n", rc, r->err_line ? r->err_line : "(none)");
    return rc;
}

static void set(size_t i, uint64_t pc, uint64_t sp, const char *fn, const char *mod)
{
    U.rec[i] = (pag_native_frame_t){pc, sp, 0x7f0000000000ull, 0x10, fn, mod, NULL, 0, 0};
}

static void test_minor(unsigned minor)
{
    printf("-- 3.%u\n", minor);
    sy_image_t im;
    sy_init(&im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t code = sy_code(&im, "work", "/app/w.py", 10, 64);
    uint64_t t = sy_task(&im, sy_str(&im, "t0"), sy_coro(&im, code, 2, 0));
    uint64_t ts = sy_thread(&im, 77);
    sy_list(&im, ts + SY_TS_TASKS, &t, 1);
    const char *nat[] = {"--native", "--thread", "77", "--format", "tasks"};
    const char *plain[] = {"--thread", "77", "--format", "tasks"};
    pag_result_t r, base;

    memset(&U, 0, sizeof U);
    set(0, 0x7f0000001234, 0x1000, "clock_nanosleep", "/lib/x86_64-linux-gnu/libc.so.6");
    set(1, 0x7f0000005000, 0x2000, NULL, "/usr/bin/python3.14");
    U.n = 2;
    CHECK(run(&im, 1, &base, 4, plain) == PAG_EXIT_OK);
    CHECK(strstr(base.out_text, "[native]") == NULL && strstr(base.out_text, "Thread") == NULL);
    CHECK(U.asked_tid == 0); /* no unwinding without --native */
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_OK && r.err_line == NULL);
    CHECK(U.asked_tid == 77);
    CHECK(strstr(r.out_text, "\nThread 77 (main):\n    [native] clock_nanosleep+0x10 (libc.so.6)\n"
                             "    [native] python3.14+0x5000\n") != NULL);
    CHECK(strncmp(r.out_text, base.out_text, strlen(base.out_text)) == 0); /* tasks as before */
    pag_result_free(&r);

    set(1, 0x7f0000005000, 0x0800, "main", "/usr/bin/python3.14"); /* sp goes backwards */
    set(2, 0x7f0000006000, 0x3000, "_start", "/usr/bin/python3.14");
    U.n = 3;
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "thread 77 is incomplete: its native stack stops "
                                           "moving outward"));
    CHECK(strstr(r.out_text, "clock_nanosleep") && !strstr(r.out_text, "main+0x") &&
          strstr(r.out_text, "(native stack incomplete: its native stack stops moving outward)"));
    pag_result_free(&r);

    set(1, 0x7f0000001234, 0x1000, "clock_nanosleep", "libc.so.6"); /* the same frame again */
    U.n = 2;
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_PARTIAL);
    pag_result_free(&r);

    set(1, 0x7f0000005000, 0x2000, "main", "python3.14");
    U.rc = PAG_ERR_TRUNCATED;
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "the unwinder stopped before the thread's first frame"));
    CHECK(strstr(r.out_text, "main+0x10 (python3.14)") != NULL);
    pag_result_free(&r);

    U.rc = PAG_OK;
    U.claim = 5000; /* more than it gave, more than asked for: the rest is zeros */
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "the unwinder stopped before the thread's first frame"));
    CHECK(strstr(r.out_text, "0x0") == NULL); /* a pc-0 record ends the stack */
    pag_result_free(&r);

    U.claim = 0, U.deep = 1; /* the bound */
    CHECK(run(&im, 1, &r, 5, nat) == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "deeper than 1024 frames"));
    CHECK(strstr(r.out_text, "[native] 0x4003ff\n") && !strstr(r.out_text, "0x400400"));
    pag_result_free(&r);
    U.deep = 0;

    U.claim = 0;
    CHECK(run(&im, 0, &r, 5, nat) == PAG_EXIT_PARTIAL);
    CHECK(r.err_line && strstr(r.err_line, "--native: this frontend cannot unwind native frames"));
    pag_result_free(&r);

    const char *json[] = {"--native", "--format", "json"};
    U.rc = PAG_ERR_NOT_FOUND;
    CHECK(run(&im, 1, &r, 3, json) == PAG_EXIT_PARTIAL);
    CHECK(strstr(r.out_text, "\"native_error\": \"the debugger knows no such thread\"") != NULL);
    pag_result_free(&r);
    pag_result_free(&base);
    sy_fini(&im);
}

int main(void)
{
    test_minor(14);
    test_minor(15);
    if (failures) printf("%d failure(s)\n", failures);
    return failures != 0;
}
