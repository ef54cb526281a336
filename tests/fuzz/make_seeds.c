/* Writes fuzzing seeds: synthetic images shaped like the test fixtures
 * (TaskGroup tree, gather set, a Future waiter, a running task, a cycle,
 * non-ASCII names), for both table versions: the plain layout (one per
 * format), and the structure-aware one of fuzz_decode.c (patches of table
 * and object fields, option tokens for every entry point), so that a short
 * run starts from inputs that already reach every option and hook. */
#include <stdio.h>

#include "../unit/synth_image.h"

/* One seed: header bytes 8..15 as given, np patches, nt option tokens. */
static void dump2(sy_image_t *im, const char *dir, const char *name, const uint8_t h[8],
                  const uint8_t *patch, size_t np, const uint8_t *tok, size_t nt)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint32_t rt = (uint32_t)(im->runtime - SY_BASE), as = (uint32_t)(im->asyncio - SY_BASE);
    uint8_t hdr[16] = {0};
    memcpy(hdr, &rt, 4);
    memcpy(hdr + 4, &as, 4);
    memcpy(hdr + 8, h, 8);
    hdr[11] = (uint8_t)np;
    hdr[12] = (uint8_t)nt;
    fwrite(hdr, 1, 16, f);
    fwrite(patch, 4, np, f);
    fwrite(tok, 2, nt, f);
    fwrite(im->mem, 1, im->used, f);
    fclose(f);
}

static void dump(sy_image_t *im, const char *dir, const char *name, uint8_t fmt)
{
    const uint8_t h[8] = {fmt};
    dump2(im, dir, name, h, NULL, 0, NULL, 0);
}

/* Token (a, b) of fuzz_decode.c: a even is flag number (a/2 + b) % 21;
 * a odd is valued option a/2 % 14 (13: a flag again) with value b. */
#define FLAG(i) 0, (i)
#define VAL(o, v) (uint8_t)(2 * (o) + 1), (v)
enum {
    V_FORMAT,
    V_F,
    V_TASK,
    V_THREAD,
    V_LIMIT,
    V_DEPTH,
    V_O,
    V_CORE,
    V_EXE,
    V_RETRIES,
    V_SYSROOT,
    V_LIBPATH,
    V_OUTPUT
};
enum {
    F_RUNNING,
    F_STATS,
    F_INFO,
    F_HELP,
    F_H,
    F_VERSION,
    F_V,
    F_DASHDASH,
    F_BOGUS,
    F_X,
    F_DASH,
    F_STATS1,
    F_PID,
    F_NOSTOP,
    F_FTREE,
    F_FJSON,
    F_FNOPE,
    F_FORMATEQ,
    F_FGRAPH,
    F_ODEV,
    F_ZERO,
    F_LIMIT
};

/* Option seeds: each a command line the fuzzer starts from. */
static void option_seeds(sy_image_t *im, const char *dir, unsigned minor)
{
    static const struct {
        const char *name;
        uint8_t entry, thread;
        uint8_t tok[16];
        size_t nt;
    } s[] = {
        {"task-name", 0, 0, {VAL(V_TASK, 0), VAL(V_FORMAT, 1)}, 2}, /* worker-1, table */
        {"task-id", 0, 0, {VAL(V_TASK, 9), VAL(V_FORMAT, 3)}, 2},
        {"task-repr", 0, 0, {VAL(V_TASK, 10), VAL(V_F, 4)}, 2},
        {"thread-running", 0, 0, {VAL(V_THREAD, 7), FLAG(F_RUNNING), VAL(V_LIMIT, 2)}, 3},
        {"stats-json", 1, 1, {FLAG(F_STATS), VAL(V_FORMAT, 2), VAL(V_DEPTH, 1)}, 3},
        {"bt-selected", 2, 0x20, {VAL(V_LIMIT, 3)}, 1},
        {"bt-nothread", 2, 0x10, {FLAG(F_STATS)}, 1},
        {"cli-core", 5, 6, {VAL(V_CORE, 5), VAL(V_EXE, 5), VAL(V_FORMAT, 2), FLAG(F_STATS)}, 4},
        {"cli-pid", 6, 9, {FLAG(F_PID), FLAG(F_NOSTOP), VAL(V_RETRIES, 1), FLAG(F_INFO)}, 4},
        {"cli-openfail", 5, 0xff, {FLAG(F_PID)}, 1},
        {"info", 9, 0, {FLAG(F_INFO), FLAG(F_STATS)}, 2},
        {"help", 1, 0, {FLAG(F_HELP)}, 1},
        {"version", 5, 0, {FLAG(F_V)}, 1},
        {"output", 0, 0, {VAL(V_O, 0), FLAG(F_FJSON)}, 2},
        {"parse", 3, 0, {VAL(V_SYSROOT, 1), VAL(V_LIBPATH, 1), FLAG(F_PID), VAL(V_TASK, 8)}, 4},
        {"parse-bad", 7, 0, {VAL(V_THREAD, 5), FLAG(F_BOGUS)}, 2},
        {"graph-depth", 0, 0, {FLAG(F_FGRAPH), VAL(V_DEPTH, 2), VAL(V_LIMIT, 4)}, 3},
    };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        uint8_t h[8] = {0, 0, 0, 0, 0, s[i].entry, s[i].thread, 0};
        char name[64];
        snprintf(name, sizeof name, "opt-3.%u-%s", minor, s[i].name);
        dump2(im, dir, name, h, NULL, 0, s[i].tok, s[i].nt);
    }
}

/* Patch seeds: a table field or an object field set to a bad value.
 * Patch (kind, field, value, aux): kind 0 _Py_DebugOffsets, 1 AsyncioDebug,
 * 2 an object's field (field's low bit: which table). */
static void patch_seeds(sy_image_t *im, const char *dir, unsigned minor)
{
    uint8_t u = minor == 14 ? 74 : 86; /* unicode_object.size's index in the table */
    const uint8_t p[][4] = {
        {0, (uint8_t)(u + 2), 2, 0},  /* unicode length: the size - 1 */
        {0, (uint8_t)(u + 1), 4, 0},  /* unicode state: the size + 1 */
        {0, u, 15, 0},                /* unicode size: 1 MiB */
        {0, (uint8_t)(u + 3), 15, 1}, /* asciiobject_size: past the biggest */
        {1, 1, 6, 0},                 /* task_name: 2^63 */
        {1, 5, 2, 0},                 /* task_coro: size - 1 */
        {1, 8, 7, 0},                 /* interp tasks head: unaligned */
        {2, 3, 16, 9},                /* task_name in some object: a pointer into the image */
        {2, 11, 17, 3},               /* task_coro: the object itself */
        {0, 2, 0, 0},                 /* interpreters_head: 0 */
        {0, 20, 5, 0},                /* a thread state field: 2^31 */
    };
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        uint8_t h[8] = {(uint8_t)(i % 6), 0, 1, 0, 0, 0, 0, 0};
        char name[64];
        snprintf(name, sizeof name, "patch-3.%u-%zu", minor, i);
        dump2(im, dir, name, h, p[i], 1, NULL, 0);
    }
}

static void build(sy_image_t *im, unsigned minor)
{
    sy_init(im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t c1 = sy_code(im, "main", "/app/main.py", 10, 32);
    uint64_t c2 = sy_code(im, "Worker.run", "/app/w.py", 20, 32);
    uint64_t c3 = sy_code(im, "fetch.<locals>.inner", "/app/w.py", 40, 32);
    uint64_t fut = sy_future(im);
    uint64_t inner = sy_coro(im, c3, 5, fut);
    uint64_t w1 = sy_task(im, sy_str(im, "worker-1"), sy_coro(im, c2, 2, inner));
    uint64_t w2 = sy_task(im, sy_long(im, 7), sy_coro(im, c2, 6, 0));
    uint32_t cafe[] = {'c', 'a', 'f', 0xe9, 0x1F600};
    uint64_t w3 = sy_task(im, sy_str32(im, cafe, 5), sy_coro(im, c3, 1, 0));
    uint64_t m = sy_task(im, sy_long(im, 1), sy_coro(im, c1, 3, 0));
    uint64_t a = sy_task(im, sy_str(im, "alpha"), sy_coro(im, c1, 1, 0));
    uint64_t b = sy_task(im, sy_str(im, "beta"), sy_coro(im, c1, 1, 0));
    sy_awaited_by(im, w1, m);
    sy_awaited_by(im, w2, m);
    uint64_t ws[] = {m, w1};
    sy_awaited_by_set(im, w3, ws, 2);
    sy_awaited_by(im, a, b);
    sy_awaited_by(im, b, a);
    sy_awaited_by(im, fut, w2);
    uint64_t ts = sy_thread(im, 1000);
    uint64_t l1[] = {m, w1, w2, w3};
    sy_list(im, ts + SY_TS_TASKS, l1, 4);
    uint64_t ts2 = sy_thread(im, 1001);
    uint64_t l2[] = {a, b};
    sy_list(im, ts2 + SY_TS_TASKS, l2, 2);
    sy_w64(im, ts + SY_TS_RUNNING, w2);
}

/* Names the formatters must escape (control characters, a lone surrogate
 * as surrogateescape makes them, quotes, C1 controls, non-BMP), an async
 * generator awaiting a task, a 3-waiter set and a 4-deep await chain: the
 * shapes the first image lacks. */
static void build_odd(sy_image_t *im, unsigned minor)
{
    sy_init(im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t c1 = sy_code(im, "main", "/app/odd \"dir\"/m.py", 1, 64);
    uint64_t c2 = sy_code(im, "agen", "/app/g.py", 5, 16);
    static const uint32_t n1[] = {'a', '\t', 'b', '\n', 'c', '\r', 1, 0x7f};
    static const uint32_t n2[] = {'r', 0xdcff, 0xdcfe, '.', 'c', 's', 'v'};
    static const uint32_t n3[] = {'\'', '"', '\\', 0x85, 0x9f, 0x2028, 0x10ffff, 0xfeff};
    static const uint32_t n4[] = {0xd800, 'x', 0xe000, 0xfffd};
    uint64_t t1 = sy_task(im, sy_str32(im, n1, 8), sy_coro(im, c1, 1, 0));
    uint64_t t2 = sy_task(im, sy_str32(im, n2, 7), sy_coro(im, c1, 2, 0));
    uint64_t t3 = sy_task(im, sy_str32(im, n3, 8), sy_coro(im, c1, 3, 0));
    uint64_t t4 = sy_task(im, sy_str32(im, n4, 4), sy_coro(im, c1, 4, 0));
    uint64_t t5 = sy_task(im, sy_str(im, ""), sy_coro(im, c1, 5, 0));
    uint64_t g = sy_coro_type(im, im->t_agen, c2, 3, t1, sy_state_yield_from(im));
    uint64_t t6 = sy_task(im, sy_long(im, 4000000000u), sy_coro(im, c1, 6, g));
    uint64_t ws[] = {t2, t3, t4};
    sy_awaited_by_set(im, t1, ws, 3);
    sy_awaited_by(im, t2, t5);
    sy_awaited_by(im, t5, t6);
    uint64_t ts = sy_thread(im, 7);
    uint64_t l[] = {t1, t2, t3, t4, t5, t6};
    sy_list(im, ts + SY_TS_TASKS, l, 6);
    sy_w64(im, ts + SY_TS_RUNNING, t6);
}

/* One damaged or rare shape each, on a small base image: the walker's
 * loop and limit checks and the rarer frame kinds start covered. */
static void build_shape(sy_image_t *im, unsigned minor, int shape)
{
    sy_init(im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t c = sy_code(im, "job", "/app/s.py", 1, 32);
    uint64_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = sy_task(im, sy_long(im, (uint32_t)i + 1), sy_coro(im, c, (unsigned)i, 0));
    uint64_t ts = sy_thread(im, 99);
    sy_list(im, ts + SY_TS_TASKS, t, 8);
    uint64_t f = SY_GEN_FRAME; /* a coroutine's embedded frame */
    switch (shape) {
    case 0:
        sy_w64(im, ts + SY_TS_NEXT, ts);
        break; /* thread list loops */
    case 1:
        sy_w64(im, im->interp + SY_IS_NEXT, im->interp);
        break; /* interpreters loop */
    case 2: {  /* awaiting an async_generator_asend that wraps an async generator */
        uint64_t g = sy_coro_type(im, im->t_agen, c, 2, 0, sy_state_suspended(im));
        uint64_t a = sy_alloc(im, 32);
        sy_w64(im, a + SY_OBTYPE, im->t_asend);
        sy_w64(im, a + SY_PYOBJ, g);
        sy_w64(im, t[0] + SY_T_CORO, sy_coro(im, c, 3, a));
        break;
    }
    case 3: /* a 3-cycle entered from two outside tasks */
        sy_awaited_by(im, t[0], t[1]), sy_awaited_by(im, t[1], t[2]);
        sy_awaited_by(im, t[2], t[0]), sy_awaited_by(im, t[3], t[0]);
        sy_awaited_by(im, t[4], t[1]);
        break;
    case 4: { /* an awaited_by set of 7 in 16 slots: re-sized when copied */
        uint64_t st = sy_alloc(im, SY_SET_SIZE), tb = sy_alloc(im, 16 * 16);
        sy_w64(im, st + SY_OBTYPE, im->t_set);
        sy_w64(im, st + SY_SET_USED, 7);
        sy_w64(im, st + SY_SET_MASK, 15);
        sy_w64(im, st + SY_SET_TABLE, tb);
        for (int i = 0; i < 7; i++) {
            sy_w64(im, tb + 16 * (uint64_t)(2 * i + 1), t[i + 1]);
            sy_w64(im, tb + 16 * (uint64_t)(2 * i + 1) + 8, (uint64_t)(977 * i + 3));
        }
        sy_w64(im, t[0] + SY_T_AB, st);
        sy_w8(im, t[0] + SY_T_ISSET, 1);
        break;
    }
    case 5: { /* a suspended coroutine that does not own its frame */
        uint64_t inner = sy_coro(im, c, 1, 0), outer = sy_coro(im, c, 2, inner);
        sy_w8(im, outer + f + SY_FR_OWNER, 0);
        sy_w64(im, t[0] + SY_T_CORO, outer);
        break;
    }
    case 6: { /* coroutines awaiting each other in a loop */
        uint64_t a = sy_coro(im, c, 1, 0), b = sy_coro(im, c, 2, a);
        uint64_t sp = sy_r64(im, a + f + SY_FR_SP);
        sy_w64(im, sp - 8 * (minor == 14 ? 1 : 2), b | 1);
        sy_w8(im, a + SY_GEN_STATE, (uint8_t)(int8_t)sy_state_yield_from(im));
        sy_w64(im, t[0] + SY_T_CORO, a);
        break;
    }
    case 7: { /* a heap-type coroutine and a plain generator awaited */
        uint64_t ht = sy_type(im, "MyCoro", 1ull << 9), gt = sy_type(im, "generator", 0);
        sy_w64(im, t[1] + SY_T_CORO, sy_coro_type(im, ht, c, 1, 0, sy_state_suspended(im)));
        uint64_t g = sy_coro_type(im, gt, c, 2, 0, sy_state_suspended(im));
        sy_w64(im, t[2] + SY_T_CORO, sy_coro(im, c, 3, g));
        break;
    }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    for (unsigned minor = 14; minor <= 15; minor++) {
        for (uint8_t fmt = 0; fmt < 6; fmt++) {
            sy_image_t im;
            build(&im, minor);
            char name[64];
            snprintf(name, sizeof name, "seed-3.%u-fmt%u", minor, fmt);
            dump(&im, argv[1], name, fmt);
            sy_fini(&im);
        }
        for (uint8_t fmt = 0; fmt < 6; fmt++) {
            sy_image_t im;
            build_odd(&im, minor);
            char name[64];
            snprintf(name, sizeof name, "odd-3.%u-fmt%u", minor, fmt);
            dump(&im, argv[1], name, fmt);
            /* --task by the bytes of a surrogate-escaped name; a PID and
             * --core both; an option left without its value */
            const uint8_t tok[3][4] = {{VAL(V_TASK, 20), VAL(V_FORMAT, fmt)},
                                       {FLAG(F_PID), VAL(V_CORE, 1)},
                                       {FLAG(F_STATS), FLAG(F_LIMIT)}};
            const uint8_t h[8] = {0, 0, 0, 0, 0, (uint8_t)(fmt == 1 ? 3 : 0), 0, 0};
            snprintf(name, sizeof name, "opt-odd-3.%u-%u", minor, fmt);
            if (fmt < 3) dump2(&im, argv[1], name, h, NULL, 0, tok[fmt], 2);
            sy_fini(&im);
        }
        for (int shape = 0; shape < 8; shape++) {
            sy_image_t im;
            build_shape(&im, minor, shape);
            char name[64];
            snprintf(name, sizeof name, "shape-3.%u-%d", minor, shape);
            dump(&im, argv[1], name, (uint8_t)(shape % 6));
            sy_fini(&im);
        }
        sy_image_t im;
        build(&im, minor);
        option_seeds(&im, argv[1], minor);
        patch_seeds(&im, argv[1], minor);
        sy_fini(&im);
    }
    return 0;
}
