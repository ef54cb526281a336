/* Writes fuzzing seeds: synthetic images shaped like the test fixtures
 * (TaskGroup tree, gather set, a Future waiter, a running task, a cycle,
 * non-ASCII names), for both table versions. */
#include <stdio.h>

#include "../unit/synth_image.h"

static void dump(sy_image_t *im, const char *dir, const char *name, uint8_t fmt)
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
    hdr[8] = fmt;
    fwrite(hdr, 1, 16, f);
    fwrite(im->mem, 1, im->used, f);
    fclose(f);
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
    }
    return 0;
}
