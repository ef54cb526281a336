/* libFuzzer target for the decoder, the formatters and the option parser.
 *
 * Why it is shaped like this: flipping raw bytes of a memory image rarely
 * turns one offset of _Py_DebugOffsets into "the struct size + 1" or 2^63,
 * and a byte-level run of 10 minutes missed exactly such a crash (issue
 * 18).  So the input also carries a list of structure-aware patches, each
 * naming a table field (or an object field, at an object found in the
 * image) and a value from the set that breaks bounds checks: 0, 1, the
 * struct size - 1, the size, size + 1, 2^31, 2^63, unaligned, ...; and a
 * list of option tokens, so that every option, sub-command and frontend
 * hook is reached, not only --format.
 *
 * Input: a 16-byte header, then npatch 4-byte patches, then nopt 2-byte
 * option tokens, then the memory image mapped at FZ_BASE.
 *   [0..3] offset of _PyRuntime in the image  [4..7] of AsyncioDebug
 *   [8] format (nopt == 0)  [9] flags (nopt == 0: bit 0 --limit 2, bit 1
 *       pass --limit, bit 6 --info)  [10] bit 0: offer readv
 *   [11] npatch (<= 64)  [12] nopt (<= 24)  [13] entry point (nopt > 0)
 *   [14] the debugger's selected thread (low byte)  [15] unused
 * Inputs with bytes 11-15 zero are the old layout: the seeds of before
 * still mean what they meant.  The read callback serves the (patched)
 * image and fails everywhere else, so every pointer the decoder follows
 * is attacker-controlled.  Seeds come from make_seeds.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pag/command.h"

#define FZ_BASE 0x7f0000100000ull
#define FZ_MAX_PATCH 64
#define FZ_MAX_OPT 24
#define FZ_MAX_OBJECTS 4096

typedef struct {
    const uint8_t *mem;
    size_t len;
    uint32_t runtime, asyncio;
    uint8_t thread;
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

static pag_err_t fz_module_of(void *ctx, uint64_t addr, char *name, size_t len)
{
    fz_t *f = ctx;
    if (addr < FZ_BASE || addr - FZ_BASE >= f->len) return PAG_ERR_NOT_FOUND;
    snprintf(name, len, "/fuzz/libpython3.so");
    return PAG_OK;
}

/* ---- Structure-aware patches ------------------------------------------ */

static uint64_t get64(const uint8_t *m, size_t len, uint64_t off)
{
    uint64_t v = 0;
    if (off <= len && len - off >= 8) memcpy(&v, m + off, 8);
    return v;
}

static void put(uint8_t *m, size_t len, uint64_t off, uint64_t v, unsigned width)
{
    if (!width || width > 8) width = 8;
    if (off <= len && len - off >= width) memcpy(m + off, &v, width); /* little-endian */
}

/* One of the values that break bounds checks, for a field whose value is
 * orig inside a struct of size sz; aux picks a place in the image. */
static uint64_t nasty(unsigned sel, uint64_t orig, uint64_t sz, uint8_t aux, uint64_t self,
                      size_t len)
{
    switch (sel % 20) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return sz - 1;
    case 3:
        return sz;
    case 4:
        return sz + 1;
    case 5:
        return 1ull << 31;
    case 6:
        return 1ull << 63;
    case 7:
        return orig | 1; /* unaligned */
    case 8:
        return orig + 3;
    case 9:
        return ~0ull;
    case 10:
        return orig - 8;
    case 11:
        return orig + 8;
    case 12:
        return 1ull << 32;
    case 13:
        return sz - 8;
    case 14:
        return 0x7fffffffull;
    case 15:
        return PAG_MAX_OBJECT_SIZE + (uint64_t)(aux & 1);
    case 16:
        return FZ_BASE + (uint64_t)aux * (len / 256 + 1); /* somewhere in the image */
    case 17:
        return self; /* a loop */
    case 18:
        return FZ_BASE + len - 1 - (aux & 7); /* the image's last bytes */
    default:
        return orig ^ (1ull << (aux & 63));
    }
}

/* The value of the field holding the size of the struct field i lives in. */
static uint64_t size_of(const pag_field_t *t, size_t n, size_t i, const uint8_t *tab, size_t len)
{
    if (t[i].size_at == PAG_FIELD_UNCHECKED) return get64(tab, len, 8 * i);
    for (size_t k = 0; k < n; k++)
        if (t[k].at == t[i].size_at) return get64(tab, len, 8 * k);
    return 0;
}

/* Where objects seem to start: an 8-aligned word whose ob_type points into
 * the image at something with a tp_name pointing into the image.  The scan
 * is bounded so that a large input stays fast. */
static size_t find_objects(const uint8_t *m, size_t len, uint64_t obtype, uint64_t tpname,
                           uint64_t *out)
{
    size_t n = 0, end = len < (256u << 10) ? len : (256u << 10);
    for (uint64_t p = 0; p + 8 <= end && n < FZ_MAX_OBJECTS; p += 8) {
        uint64_t t = get64(m, len, p + obtype);
        if (t < FZ_BASE || t - FZ_BASE >= len || p + obtype < p) continue;
        uint64_t nm = get64(m, len, t - FZ_BASE + tpname);
        if (nm >= FZ_BASE && nm - FZ_BASE < len) out[n++] = p;
    }
    return n;
}

typedef struct {
    const pag_pyversion_t *v;
    uint8_t *m;
    size_t len;
    uint64_t rt, as; /* table offsets in the image */
    uint64_t objs[FZ_MAX_OBJECTS];
    size_t nobjs;
} patcher_t;

/* The parsed-struct offset at of table t: the field's index, or n. */
static size_t index_of(const pag_field_t *t, size_t n, uint16_t at)
{
    size_t k = 0;
    while (k < n && t[k].at != at)
        k++;
    return k;
}

static void patch_one(patcher_t *P, const uint8_t *p)
{
    const pag_pyversion_t *v = P->v;
    unsigned kind = p[0] % 3;
    const pag_field_t *t = kind == 1 || (kind == 2 && (p[1] & 1)) ? v->asyncio : v->offsets;
    size_t n = t == v->asyncio ? v->n_asyncio : v->n_offsets;
    uint64_t tab = t == v->asyncio ? P->as : P->rt + PAG_DEBUG_OFFSETS_HEADER;
    size_t i = (kind == 2 ? p[1] >> 1 : p[1]) % n;
    const uint8_t *tp = tab <= P->len ? P->m + tab : P->m;
    size_t tl = tab <= P->len ? P->len - tab : 0;
    uint64_t orig = get64(tp, tl, 8 * i), sz = size_of(t, n, i, tp, tl);
    if (kind < 2) {
        put(P->m, P->len, tab + 8 * i, nasty(p[2], orig, sz, p[3], FZ_BASE + tab, P->len), 8);
        return;
    }
    if (!P->nobjs || t[i].size_at == PAG_FIELD_UNCHECKED) return;
    /* an object's field: at the offset the table gives, in an object found */
    uint64_t obj = P->objs[p[3] % P->nobjs], at = obj + orig;
    uint64_t cur = get64(P->m, P->len, at);
    unsigned width = t[i].width_kind == PAG_W_CONST ? t[i].width : 8;
    put(P->m, P->len, at, nasty(p[2], cur, sz, p[3], FZ_BASE + obj, P->len), width);
}

static patcher_t P; /* big; the fuzzer runs one input at a time */

/* The table version and the objects of image m (P.v NULL when the version
 * is not one the decoder knows: then there is nothing to aim at). */
static void scan_image(const uint8_t *m, size_t len, uint32_t rt, uint32_t as)
{
    struct pag_errbuf eb;
    pag_err_t e;
    P.v = pag__version_find(get64(m, len, (uint64_t)rt + 8), &eb, &e);
    P.len = len, P.rt = rt, P.as = as, P.nobjs = 0;
    if (!P.v) return;
    const pag_field_t *o = P.v->offsets;
    size_t no = P.v->n_offsets, ho = (size_t)rt + PAG_DEBUG_OFFSETS_HEADER;
    size_t it = index_of(o, no, offsetof(pag_offsets_t, pyobject.ob_type));
    size_t in = index_of(o, no, offsetof(pag_offsets_t, type.tp_name));
    if (it < no && in < no)
        P.nobjs =
            find_objects(m, len, get64(m, len, ho + 8 * it), get64(m, len, ho + 8 * in), P.objs);
}

/* Apply the patches to the image copy m (scanned by scan_image). */
static void apply_patches(uint8_t *m, const uint8_t *p, size_t np)
{
    if (!P.v) return;
    P.m = m;
    for (size_t k = 0; k < np; k++)
        patch_one(&P, p + 4 * k);
}

/* ---- Options ------------------------------------------------------------ */

static const char *const tok_flags[] = {
    "--running", "--stats",   "--info",    "--help",         "-h",
    "--version", "-V",        "--",        "--bogus",        "-x",
    "-",         "--stats=1", "1234",      "--no-stop",      "-ftree",
    "-fjson",    "-fnope",    "--format=", "--format=graph", "-o/dev/null",
    "0",         "--limit",   "--native",  "--all-threads",
};
static const char *const tok_task[] = {
    "worker-1", "alpha", "beta",         "7", "", "'alpha'", "café\xf0\x9f\x98\x80", "zzz",
    "0x0",      "0x",    "r\xff\xfe.csv"};
static const char *const tok_num[] = {
    "0", "1", "2", "-1", "-2", "x", "3e", "1000", "1001", "0x3e8", "99999999999999999999", ""};
static const char *const tok_valued[] = {
    "--format", "-f",    "--task",    "--thread",  "--limit",           "--depth", "-o",
    "--core",   "--exe", "--retries", "--sysroot", "--lib-search-path", "--output"};

/* One option token (a, b) as one or two arguments; str holds a built one. */
static int add_token(uint8_t a, uint8_t b, const char **argv, char *str, size_t slen, const fz_t *f)
{
    size_t nf = sizeof tok_flags / sizeof *tok_flags, nv = sizeof tok_valued / sizeof *tok_valued;
    if (a % 2 == 0 || a / 2 % (nv + 1) == nv) {
        argv[0] = tok_flags[(a / 2 + b) % nf];
        return 1;
    }
    const char *opt = tok_valued[a / 2 % (nv + 1)];
    argv[0] = opt;
    if (!strcmp(opt, "--format") || !strcmp(opt, "-f")) {
        const char *name = pag_format_name(b % (PAG_FMT__COUNT + 1));
        argv[1] = name ? name : "nope";
    } else if (!strcmp(opt, "--task") && b & 1) {
        /* the address of an object found in the image: a task's, with luck */
        uint64_t a = P.nobjs ? FZ_BASE + P.objs[(b >> 1) % P.nobjs] : FZ_BASE + b;
        snprintf(str, slen, "0x%llx", (unsigned long long)a);
        argv[1] = str;
    } else if (!strcmp(opt, "--task")) {
        argv[1] = tok_task[b / 2 % (sizeof tok_task / sizeof *tok_task)];
    } else if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
        argv[1] = b & 1 ? "" : "/dev/null";
    } else {
        argv[1] = tok_num[b % (sizeof tok_num / sizeof *tok_num)];
    }
    return 2;
}

/* A native unwinder whose records come from the image (issue 14): the
 * core must bound, check and copy whatever a frontend's unwinder says about
 * a damaged target -- a CFA that goes backwards or repeats, a pc without a
 * module, names of every length (including the evaluator's, which makes the
 * merge claim Python frames), too many records, and every return code. */
static const char *const fz_names[] = {"_PyEval_EvalFrameDefault",
                                       "_PyEval_EvalFrameDefault.cold",
                                       "clock_nanosleep",
                                       "__pthread_cond_timedwait64",
                                       "take_gil",
                                       "",
                                       NULL};
static pag_err_t fz_native(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max, size_t *n)
{
    const fz_t *f = ctx;
    static char longname[5000];
    if (!longname[0]) memset(longname, 'x', sizeof longname - 1);
    size_t nn = f->len / 24, at = (size_t)(tid * 7 + f->thread) % (f->len ? f->len : 1);
    if (nn > max + 1) nn = max + 1; /* one too many: the core must clamp */
    *n = 0;
    for (size_t k = 0; k < nn && k < max; k++, at += 24) {
        uint8_t w[24] = {0};
        for (size_t b = 0; b < 24; b++)
            w[b] = f->mem[(at + b) % f->len];
        pag_native_frame_t *r = &out[k];
        memset(r, 0, sizeof *r);
        memcpy(&r->pc, w, 8);
        memcpy(&r->sp, w + 8, 8);
        r->sp &= w[16] & 1 ? ~0ull : 0xffffull; /* small sps: mostly in order, often not */
        r->module_base = r->pc & ~0xfffull;
        r->sym_offset = w[17];
        size_t nm = sizeof fz_names / sizeof *fz_names;
        r->function = w[18] % (nm + 1) == nm ? longname : fz_names[w[18] % (nm + 1)];
        r->module = w[19] & 1   ? "/usr/lib/x86_64-linux-gnu/libc.so.6"
                    : w[19] & 2 ? "python3.14"
                                : NULL;
        r->file = w[19] & 4 ? "Python/ceval.c" : NULL;
        r->line = (int8_t)w[20];
        *n = k + 1;
    }
    if (f->thread & 8) *n = max + 3; /* a frontend that overstates *n */
    static const pag_err_t rc[] = {PAG_OK, PAG_ERR_TRUNCATED, PAG_ERR_NOT_FOUND, PAG_ERR_READ};
    return rc[(f->thread >> 4) % 4];
}

/* The frontend hooks, so that command.c's uses of each are reached. */
static pag_err_t fe_open(void *fc, const pag_options_t *o, pag_accessors_t *acc, void **ctx,
                         pag_source_t *src, char *msg, size_t len)
{
    fz_t *f = fc;
    (void)o;
    if (f->thread == 0xff) {
        snprintf(msg, len, "cannot open the fuzz target");
        return PAG_ERR_NO_PROCESS;
    }
    *acc = (pag_accessors_t){
        .read = fz_read, .find = fz_find, .module_of = fz_module_of, .native_frames = fz_native};
    if (f->thread & 1) acc->readv = fz_readv;
    *ctx = f;
    *src = (pag_source_t){f->thread & 2 ? PAG_SOURCE_CORE : PAG_SOURCE_LIVE, 42,
                          f->thread & 4 ? "/tmp/core \"q\"" : NULL, "/usr/bin/python3.14"};
    return PAG_OK;
}
static void fe_release(void *fc)
{
    (void)fc;
}
static void fe_close(void *fc)
{
    (void)fc;
}
static const char *fe_problems(void *fc)
{
    return ((fz_t *)fc)->thread & 8 ? "/usr/lib/x.so not found (give it with --lib-search-path)"
                                    : NULL;
}
static pag_err_t fe_thread(void *fc, uint64_t *tid, char *msg, size_t len)
{
    fz_t *f = fc;
    if (f->thread & 16) {
        snprintf(msg, len, "no thread selected");
        return PAG_ERR_NOT_FOUND;
    }
    *tid = 1000 + (f->thread >> 5 & 1);
    return PAG_OK;
}
static void fe_stats(void *fc, char *buf, size_t len)
{
    (void)fc;
    snprintf(buf, len, "fuzz: 0 reads");
}

/* nopt > 0: argv from the tokens, run through one of the entry points. */
static void run_tokens(fz_t *f, const uint8_t *tok, size_t nt, uint8_t entry)
{
    const char *argv[2 * FZ_MAX_OPT + 1];
    char strs[FZ_MAX_OPT][32];
    int argc = 0;
    for (size_t k = 0; k < nt; k++)
        argc += add_token(tok[2 * k], tok[2 * k + 1], argv + argc, strs[k], sizeof strs[k], f);
    pag_result_t res;
    if (entry % 4 == 3) { /* the parser alone, with the CLI's target options */
        pag_options_t o;
        char err[512], sel[256];
        pag_options_parse(argc, argv, PAG_OPT_TARGET, &o, err, sizeof err);
        pag_selection_text(&o, sel, sizeof sel);
        (void)pag_usage(PAG_OPT_TARGET);
        (void)pag_version_text();
        (void)pag__versions_selfcheck(err, sizeof err); /* the version rows' own checks */
        /* the error tables' API, with any number (the gdb script passes ints) */
        pag_err_t en = (pag_err_t)(int8_t)(entry ^ f->thread);
        (void)pag_strerror(en), (void)pag_err_name(en), (void)pag_exit_code(en);
        (void)pag_abi_version();
        int c = (int)(entry / 4 % (PAG_CMD__COUNT + 1));
        (void)pag_command_name(c), (void)pag_command_syntax(c);
        (void)pag_command_summary(c), (void)pag_command_help(c);
        return;
    }
    if (entry % 4 == 0) {
        pag_accessors_t acc = {
            .read = fz_read, .find = fz_find, .readv = fz_readv, .native_frames = fz_native};
        pag_command_run(&acc, f, argc, argv, &res);
    } else {
        pag_frontend_t fe = {.accept = entry & 4 ? PAG_OPT_TARGET : 0,
                             .open = fe_open,
                             .release = fe_release,
                             .close = fe_close,
                             .problems = fe_problems,
                             .selected_thread = fe_thread,
                             .stats = fe_stats};
        int cmd = entry % 4 == 1 ? PAG_CMD_TASKS : PAG_CMD_BT;
        pag_command_main(&fe, f, entry & 8 ? PAG_CMD_GRAPH : cmd, argc, argv, &res);
    }
    pag_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16) return 0;
    fz_t f;
    memcpy(&f.runtime, data, 4);
    memcpy(&f.asyncio, data + 4, 4);
    size_t np = data[11] % (FZ_MAX_PATCH + 1), nt = data[12] % (FZ_MAX_OPT + 1);
    if (size < 16 + 4 * np + 2 * nt) return 0;
    const uint8_t *patches = data + 16, *tok = patches + 4 * np;
    const uint8_t *img = tok + 2 * nt;
    f.len = size - (size_t)(img - data);
    f.thread = data[14];
    uint8_t *copy = NULL;
    P.nobjs = 0;
    if (np || nt) scan_image(img, f.len, f.runtime, f.asyncio);
    if (np) { /* patch a copy: the fuzzer's input is const */
        if (!(copy = malloc(f.len + 1))) return 0;
        memcpy(copy, img, f.len);
        apply_patches(copy, patches, np);
    }
    f.mem = copy ? copy : img;
    if (nt) {
        run_tokens(&f, tok, nt, data[13]);
        free(copy);
        return 0;
    }
    pag_accessors_t acc = {.read = fz_read,
                           .find = fz_find,
                           .readv = data[10] & 1 ? fz_readv : NULL,
                           .native_frames = data[10] & 2 ? fz_native : NULL};
    /* data[9] & 4: --native, & 8: --all-threads (issue 14) */
    const char *argv[] = {"--format",
                          pag_format_name(data[8] % PAG_FMT__COUNT),
                          "--limit",
                          data[9] & 1 ? "2" : "-1",
                          data[9] & 4 ? "--native" : "--running",
                          data[9] & 8 ? "--all-threads" : "--stats"};
    static const char *const info[] = {"--info"}; /* data[9] & 0x40: --info instead */
    pag_result_t res;
    if (data[9] & 0x40)
        pag_command_run(&acc, &f, 1, info, &res);
    else
        pag_command_run(&acc, &f, data[9] & 2 ? 6 : 2, argv, &res);
    pag_result_free(&res);
    free(copy);
    return 0;
}
