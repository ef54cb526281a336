/* libFuzzer target for the decoder and the formatters.
 *
 * The input is a memory image: a 16-byte header (offsets of _PyRuntime and
 * of the AsyncioDebug table inside the image, and flags), then bytes mapped
 * at SY_BASE.  The read callback serves those bytes and fails everywhere
 * else, so every pointer the decoder follows is attacker-controlled.  Seeds
 * come from make_seeds.c, which builds images shaped like the fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pag/command.h"

#define FZ_BASE 0x7f0000100000ull

typedef struct {
    const uint8_t *mem;
    size_t len;
    uint32_t runtime, asyncio;
} fz_t;

static pag_err_t fz_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    fz_t *f = ctx;
    if (addr < FZ_BASE || len > f->len || addr - FZ_BASE > f->len - len) return PAG_ERR_READ;
    memcpy(dst, f->mem + (addr - FZ_BASE), len);
    return PAG_OK;
}

/* Whole or nothing, as the accessor contract says; data[10] turns it off so
 * that both cache paths (prefetch and lazy blocks) are fuzzed. */
static pag_err_t fz_readv(void *ctx, const pag_iov_t *iov, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fz_read(ctx, iov[i].addr, iov[i].len, iov[i].dst) != PAG_OK) return PAG_ERR_READ;
    return PAG_OK;
}

static pag_err_t fz_find(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                         uint64_t *addr, uint64_t *size)
{
    fz_t *f = ctx;
    if (index) return PAG_ERR_NOT_FOUND;
    *size = 0;
    if (kind == PAG_LOOKUP_SYMBOL && !strcmp(name, "_PyRuntime")) {
        *addr = FZ_BASE + f->runtime;
        return PAG_OK;
    }
    if (kind == PAG_LOOKUP_SECTION && !strcmp(name, ".AsyncioDebug")) {
        *addr = FZ_BASE + f->asyncio;
        return PAG_OK;
    }
    return PAG_ERR_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16) return 0;
    fz_t f;
    memcpy(&f.runtime, data, 4);
    memcpy(&f.asyncio, data + 4, 4);
    f.mem = data + 16;
    f.len = size - 16;
    pag_accessors_t acc = {
        .read = fz_read, .find = fz_find, .readv = data[10] & 1 ? fz_readv : NULL};
    const char *argv[] = {"--format", pag_format_name(data[8] % PAG_FMT__COUNT), "--limit",
                          data[9] & 1 ? "2" : "-1"};
    static const char *const info[] = {"--info"}; /* data[9] & 0x40: --info instead */
    pag_result_t res;
    if (data[9] & 0x40)
        pag_command_run(&acc, &f, 1, info, &res);
    else
        pag_command_run(&acc, &f, data[9] & 2 ? 4 : 2, argv, &res);
    pag_result_free(&res);
    return 0;
}
