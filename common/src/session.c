/* Binding to a target: find _PyRuntime, check its cookie and version, copy
 * the _Py_DebugOffsets table and the asyncio table, and check every offset
 * against the struct sizes the target itself declares.  Nothing about the
 * target's struct layouts is assumed here: the order and width of the
 * tables' fields and the constants no table carries come from the target
 * version's row in versions.c. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define COOKIE "xdebugpy"

/* Every offset the decoder reads fits its struct (the row's field list
 * says which and how wide), plus what a field list cannot say. */
static pag_err_t validate(pag_session_t *s)
{
    const pag_offsets_t *o = &s->off;
    uint64_t size = 0;
    const pag_field_t *bad = pag__fields_check(s->ver->offsets, s->ver->n_offsets, o, o, &size);
    if (bad) {
        uint64_t off;
        memcpy(&off, (const char *)o + bad->at, 8);
        const char *len_name = pag__field_name(s->ver->offsets, s->ver->n_offsets, bad->size_at);
        size_t l = strlen(len_name);
        if (l >= 5 && !strcmp(len_name + l - 5, ".size"))
            pag__seterr(&s->err, "debug offsets: %s (%llu) does not fit its struct (size %llu)",
                        bad->name, (unsigned long long)off, (unsigned long long)size);
        else /* read from a copied prefix, not the whole struct */
            pag__seterr(&s->err, "debug offsets: %s (%llu) does not fit the %llu bytes (%s) read",
                        bad->name, (unsigned long long)off, (unsigned long long)size, len_name);
        return PAG_ERR_CORRUPT;
    }
    /* compact_size is unchecked in 3.15's list and derived in 3.14's:
     * compact_size + 8 <= unicode.size, written so that it cannot wrap */
    if (o->unicode.compact_size < o->unicode.asciiobject_size ||
        o->unicode.compact_size > o->unicode.size ||
        o->unicode.size - o->unicode.compact_size < 8 || o->llist.next > 64 || o->llist.prev > 64) {
        pag__seterr(&s->err, "debug offsets: implausible str or list-node layout");
        return PAG_ERR_CORRUPT;
    }
    if (o->pyobject.size > 64) {
        pag__seterr(&s->err, "debug offsets: implausible PyObject size %llu",
                    (unsigned long long)o->pyobject.size);
        return PAG_ERR_CORRUPT;
    }
    uint64_t len, cap;
    const char *copy = pag__copies_check(o, &len, &cap);
    if (copy) {
        pag__seterr(&s->err,
                    "debug offsets: %s (%llu) makes a copy larger than the decoder's "
                    "%llu-byte buffer",
                    copy, (unsigned long long)len, (unsigned long long)cap);
        return PAG_ERR_CORRUPT;
    }
    return PAG_OK;
}

/* The one check of the table against memory: the first interpreter, found
 * where runtime_state.interpreters_head says, can be read.  CPython's main
 * interpreter lives inside _PyRuntime itself, so an unreadable one means a
 * wrong offset (exit 8, naming the field), not memory missing (exit 13). */
static pag_err_t check_interpreters_head(pag_session_t *s, uint64_t runtime)
{
    const pag_offsets_t *o = &s->off;
    uint64_t head;
    uint8_t b[8];
    if (pag__read_u64(&s->cache, runtime + o->runtime.interpreters_head, &head) != PAG_OK ||
        !head || pag__read(&s->cache, head + o->interp.id, sizeof b, b) == PAG_OK)
        return PAG_OK;
    pag__seterr(&s->err,
                "debug offsets: runtime_state.interpreters_head (%llu) gives 0x%llx, which "
                "cannot be read: not an interpreter",
                (unsigned long long)o->runtime.interpreters_head, (unsigned long long)head);
    return PAG_ERR_CORRUPT;
}

/* The version's constants; the str state bits by build flavour. */
static void set_consts(pag_session_t *s)
{
    const pag_pyversion_t *v = s->ver;
    s->k = v->k;
    s->k.str_kind_shift = v->str_state[s->off.free_threaded].kind_shift;
    s->k.str_compact_bit = v->str_state[s->off.free_threaded].compact_bit;
    s->k.str_ascii_bit = v->str_state[s->off.free_threaded].ascii_bit;
}

/* Try one candidate address for _PyRuntime. */
static pag_err_t try_runtime(pag_session_t *s, uint64_t addr)
{
    uint8_t hdr[PAG_DEBUG_OFFSETS_HEADER];
    pag_err_t e = pag__read(&s->cache, addr, sizeof hdr, hdr);
    if (e) return e;
    if (memcmp(hdr, COOKIE, 8) != 0) return PAG_ERR_NOT_PYTHON;
    uint64_t version = pag__u64(hdr, 8);
    uint64_t ft = pag__u64(hdr, 16);
    s->off.version = version;
    s->off.free_threaded = ft;
    const pag_pyversion_t *v = pag__version_find(version, &s->err, &e);
    if (!v) return e;
    if (ft > 1) {
        pag__seterr(&s->err, "debug offsets: bad free_threaded flag %llu", (unsigned long long)ft);
        return PAG_ERR_CORRUPT;
    }
    uint8_t buf[PAG_MAX_DEBUG_OFFSETS];
    size_t tsz = PAG_DEBUG_OFFSETS_HEADER + 8 * v->n_offsets;
    if (tsz > sizeof buf) { /* cannot happen: versions.c asserts it at build time */
        pag__seterr(&s->err,
                    "debug offsets: the %s table (%zu bytes) exceeds PAG_MAX_DEBUG_OFFSETS",
                    v->text, tsz);
        return PAG_ERR_UNSUPPORTED;
    }
    e = pag__read(&s->cache, addr, tsz, buf);
    if (e) return e;
    /* a failed earlier candidate may have filled fields this version lacks */
    memset(&s->off, 0, sizeof s->off);
    pag__fields_parse(v->offsets, v->n_offsets, buf + PAG_DEBUG_OFFSETS_HEADER,
                      tsz - PAG_DEBUG_OFFSETS_HEADER, &s->off);
    s->off.version = version;
    s->off.free_threaded = ft;
    if (v->compact_after_ascii)
        s->off.unicode.compact_size = s->off.unicode.asciiobject_size + v->compact_after_ascii;
    s->ver = v;
    e = validate(s);
    if (!e && ft && (!s->off.frame.tlbc_index || !s->off.code.co_tlbc)) {
        /* a free-threaded frame's line needs its bytecode copy (frames.c) */
        pag__seterr(&s->err, "debug offsets: a free-threaded table without %s",
                    !s->off.frame.tlbc_index ? "interpreter_frame.tlbc_index"
                                             : "code_object.co_tlbc");
        e = PAG_ERR_CORRUPT;
    }
    if (!e) e = check_interpreters_head(s, addr);
    if (e) return e;
    set_consts(s);
    s->runtime_addr = addr;
    return PAG_OK;
}

static pag_err_t find_runtime(pag_session_t *s)
{
    pag_err_t best = PAG_ERR_NOT_PYTHON;
    struct pag_errbuf saved = {{0}};
    static const struct {
        pag_lookup_kind_t kind;
        const char *name;
    } how[] = {
        {PAG_LOOKUP_SYMBOL, "_PyRuntime"},
        {PAG_LOOKUP_SECTION, ".PyRuntime"},
    };
    int saw_symbol = 0;
    for (size_t h = 0; h < 2; h++) {
        for (unsigned i = 0; i < 64; i++) {
            uint64_t addr = 0, size = 0;
            pag_err_t e =
                s->cache.acc->find(s->cache.ctx, how[h].kind, how[h].name, i, &addr, &size);
            if (e != PAG_OK) break;
            if (!addr) continue;
            if (h == 0) saw_symbol = 1;
            e = try_runtime(s, addr);
            if (e == PAG_OK) {
                if (h == 1 && size && size != s->off.runtime.size) {
                    /* Still usable; the section and the struct normally agree. */
                }
                return PAG_OK;
            }
            /* Keep the most specific failure: version problems beat "no cookie". */
            if (e == PAG_ERR_PYTHON_TOO_OLD || e == PAG_ERR_UNSUPPORTED ||
                (e == PAG_ERR_CORRUPT && best == PAG_ERR_NOT_PYTHON) ||
                (e == PAG_ERR_READ && best == PAG_ERR_NOT_PYTHON)) {
                best = e;
                saved = s->err;
            }
        }
    }
    if (best == PAG_ERR_NOT_PYTHON) {
        if (saw_symbol)
            pag__seterr(&s->err, "_PyRuntime has no debug cookie: CPython older than 3.13?");
        else
            pag__seterr(&s->err, "no _PyRuntime symbol or .PyRuntime section in any loaded module");
        if (saw_symbol) return PAG_ERR_PYTHON_TOO_OLD;
    } else {
        s->err = saved;
        if (best == PAG_ERR_READ && !s->err.msg[0]) pag__seterr(&s->err, "cannot read _PyRuntime");
    }
    return best;
}

pag_err_t pag__find_asyncio(pag_session_t *s)
{
    static const struct {
        pag_lookup_kind_t kind;
        const char *name;
    } how[] = {
        {PAG_LOOKUP_SECTION, ".AsyncioDebug"},
        {PAG_LOOKUP_SYMBOL, "_Py_AsyncioDebug"},
        {PAG_LOOKUP_SYMBOL, "_AsyncioDebug"},
    };
    const pag_offsets_t *o = &s->off;
    uint64_t bad_addr = 0;
    s->async_corrupt = 0;
    for (size_t h = 0; h < sizeof how / sizeof *how; h++) {
        for (unsigned i = 0; i < 64; i++) {
            uint64_t addr = 0, size = 0;
            if (s->cache.acc->find(s->cache.ctx, how[h].kind, how[h].name, i, &addr, &size) !=
                PAG_OK)
                break;
            uint8_t b[PAG_MAX_ASYNCIO_TABLE];
            size_t len = 8 * s->ver->n_asyncio;
            if (len > sizeof b) break; /* cannot happen: versions.c asserts it at build time */
            if (!addr || pag__read(&s->cache, addr, len, b) != PAG_OK) continue;
            pag_async_offsets_t a;
            memset(&a, 0, sizeof a);
            pag__fields_parse(s->ver->asyncio, s->ver->n_asyncio, b, len, &a);
            /* No cookie here: check it against the runtime table instead. */
            int ok = a.interp.size == o->interp.size && a.thread.size >= o->tstate.size &&
                     a.task.size >= o->pyobject.size &&
                     !pag__fields_check(s->ver->asyncio, s->ver->n_asyncio, &a, o, NULL);
            if (!ok) {
                bad_addr = addr;
                continue;
            }
            s->aoff = a;
            s->async_addr = addr;
            s->have_async = 1;
            return PAG_OK;
        }
    }
    if (bad_addr) {
        /* A table is there but disagrees with the runtime's own: damaged
         * memory, not "asyncio not loaded". */
        s->async_corrupt = 1;
        pag__seterr(&s->err,
                    "the AsyncioDebug table at 0x%llx fails its checks against the "
                    "runtime's debug offsets",
                    (unsigned long long)bad_addr);
        return PAG_ERR_CORRUPT;
    }
    return PAG_ERR_NO_ASYNCIO;
}

pag_session_t *pag_session_create_ex(const pag_accessors_t *acc, void *ctx, pag_err_t *err,
                                     char *msg, size_t msglen)
{
    pag_err_t dummy;
    if (!err) err = &dummy;
    if (msg && msglen) msg[0] = 0;
    if (!acc || !acc->read || !acc->find) {
        *err = PAG_ERR_INVALID_ARG;
        return NULL;
    }
    pag_session_t *s = calloc(1, sizeof *s);
    if (!s || pag__cache_init(&s->cache, acc, ctx) != 0) {
        free(s);
        *err = PAG_ERR_NOMEM;
        return NULL;
    }
    pag_err_t e = find_runtime(s);
    if (e != PAG_OK) {
        if (msg && msglen) snprintf(msg, msglen, "%s", s->err.msg);
        pag_session_destroy(s);
        *err = e;
        return NULL;
    }
    pag__find_asyncio(s); /* missing asyncio is not an error: the graph is empty */
    *err = PAG_OK;
    return s;
}

pag_session_t *pag_session_create(const pag_accessors_t *acc, void *ctx, pag_err_t *err)
{
    return pag_session_create_ex(acc, ctx, err, NULL, 0);
}

void pag_session_destroy(pag_session_t *s)
{
    if (!s) return;
    pag__cache_fini(&s->cache);
    free(s);
}

const char *pag_session_errmsg(const pag_session_t *s)
{
    return s ? s->err.msg : "";
}

uint64_t pag_session_version(const pag_session_t *s)
{
    return s ? s->off.version : 0;
}
