/* Binding to a target: find _PyRuntime, check its cookie and version, copy
 * the _Py_DebugOffsets table and the asyncio table, and check every offset
 * against the struct sizes the target itself declares.  Nothing about the
 * target's struct layouts is assumed here beyond the order of fields in the
 * two tables for each supported minor version. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define COOKIE "xdebugpy"
#define V314 0x030e
#define V315 0x030f

/* Field order of _Py_DebugOffsets after the 24-byte header.  NULL marks a
 * slot whose value we do not use.  The two lists differ only where 3.15
 * inserted fields. */
#define F(x) offsetof(pag_offsets_t, x)
#define SKIP ((size_t)-1)
// clang-format off
typedef struct { size_t field; unsigned since; } slot_t; /* since: minor version (14 or 15) */
static const slot_t layout[] = {
    {F(runtime.size), 14}, {F(runtime.finalizing), 14}, {F(runtime.interpreters_head), 14},
    {F(interp.size), 14}, {F(interp.id), 14}, {F(interp.next), 14}, {F(interp.threads_head), 14},
    {F(interp.threads_main), 14}, {F(interp.gc), 14}, {F(interp.imports_modules), 14},
    {F(interp.sysdict), 14}, {F(interp.builtins), 14}, {F(interp.ceval_gil), 14},
    {F(interp.gil_runtime_state), 14}, {F(interp.gil_enabled), 14}, {F(interp.gil_locked), 14},
    {F(interp.gil_holder), 14}, {F(interp.code_object_generation), 14},
    {F(interp.tlbc_generation), 14},
    {F(tstate.size), 14}, {F(tstate.prev), 14}, {F(tstate.next), 14}, {F(tstate.interp), 14},
    {F(tstate.current_frame), 14}, {F(tstate.base_frame), 15},
    {F(tstate.last_profiled_frame), 15}, {F(tstate.last_profiled_frame_seq), 15},
    {F(tstate.thread_id), 14}, {F(tstate.native_thread_id), 14},
    {F(tstate.datastack_chunk), 14}, {F(tstate.status), 14}, {F(tstate.holds_gil), 15},
    {F(tstate.gil_requested), 15}, {F(tstate.current_exception), 15},
    {F(tstate.exc_state), 15}, {F(err_stackitem.exc_value), 15},
    {F(frame.size), 14}, {F(frame.previous), 14}, {F(frame.executable), 14},
    {F(frame.instr_ptr), 14}, {F(frame.localsplus), 14}, {F(frame.owner), 14},
    {F(frame.stackpointer), 14}, {F(frame.tlbc_index), 14},
    {F(code.size), 14}, {F(code.filename), 14}, {F(code.name), 14}, {F(code.qualname), 14},
    {F(code.linetable), 14}, {F(code.firstlineno), 14}, {F(code.argcount), 14},
    {F(code.localsplusnames), 14}, {F(code.localspluskinds), 14},
    {F(code.co_code_adaptive), 14}, {F(code.co_tlbc), 14},
    {F(pyobject.size), 14}, {F(pyobject.ob_type), 14},
    {F(type.size), 14}, {F(type.tp_name), 14}, {F(type.tp_repr), 14}, {F(type.tp_flags), 14},
    {F(type.tp_basicsize), 15}, {F(type.tp_dictoffset), 15},
    {F(heap_type.size), 15}, {F(heap_type.ht_cached_keys), 15},
    {F(tuple.size), 14}, {F(tuple.ob_item), 14}, {F(tuple.ob_size), 14},
    {F(list.size), 14}, {F(list.ob_item), 14}, {F(list.ob_size), 14},
    {F(set.size), 14}, {F(set.used), 14}, {F(set.table), 14}, {F(set.mask), 14},
    {F(dict.size), 14}, {F(dict.ma_keys), 14}, {F(dict.ma_values), 14},
    {F(float_.size), 14}, {F(float_.ob_fval), 14},
    {F(long_.size), 14}, {F(long_.lv_tag), 14}, {F(long_.ob_digit), 14},
    {F(bytes.size), 14}, {F(bytes.ob_size), 14}, {F(bytes.ob_sval), 14},
    {F(unicode.size), 14}, {F(unicode.state), 14}, {F(unicode.length), 14},
    {F(unicode.asciiobject_size), 14}, {F(unicode.compact_size), 15},
    {F(gc.size), 14}, {F(gc.collecting), 14}, {F(gc.frame), 15},
    {F(gc.generation_stats_size), 15}, {F(gc.generation_stats), 15},
    {F(gen.size), 14}, {F(gen.gi_name), 14}, {F(gen.gi_iframe), 14},
    {F(gen.gi_frame_state), 14},
    {F(llist.next), 14}, {F(llist.prev), 14},
    {F(debugger.eval_breaker), 14}, {F(debugger.remote_debugger_support), 14},
    {F(debugger.remote_debugging_enabled), 14}, {F(debugger.debugger_pending_call), 14},
    {F(debugger.debugger_script_path), 14}, {F(debugger.debugger_script_path_size), 14},
};
// clang-format on
#undef F

static size_t table_size(unsigned minor)
{
    size_t n = 3; /* cookie, version, free_threaded */
    for (size_t i = 0; i < sizeof layout / sizeof *layout; i++)
        if (layout[i].since <= minor) n++;
    return n * 8;
}

static void parse_table(pag_offsets_t *o, const uint8_t *buf, unsigned minor)
{
    size_t pos = 24;
    for (size_t i = 0; i < sizeof layout / sizeof *layout; i++) {
        if (layout[i].since > minor) continue;
        uint64_t v = pag__u64(buf, pos);
        memcpy((char *)o + layout[i].field, &v, 8);
        pos += 8;
    }
}

/* An offset plus the width read there must fit in the declared struct. */
/* written so that a huge (off) cannot wrap around */
#define FITS(sz, off, w)                                                                           \
    ((sz) > 0 && (sz) <= PAG_MAX_OBJECT_SIZE && (w) <= (sz) && (off) <= (sz) - (w))

static pag_err_t validate(pag_session_t *s)
{
    const pag_offsets_t *o = &s->off;
    struct {
        const char *name;
        uint64_t size, off, width;
    } checks[] = {
        {"runtime_state.interpreters_head", o->runtime.size, o->runtime.interpreters_head, 8},
        {"interpreter_state.id", o->interp.size, o->interp.id, 8},
        {"interpreter_state.next", o->interp.size, o->interp.next, 8},
        {"interpreter_state.threads_head", o->interp.size, o->interp.threads_head, 8},
        {"interpreter_state.threads_main", o->interp.size, o->interp.threads_main, 8},
        {"thread_state.next", o->tstate.size, o->tstate.next, 8},
        {"thread_state.current_frame", o->tstate.size, o->tstate.current_frame, 8},
        {"thread_state.native_thread_id", o->tstate.size, o->tstate.native_thread_id, 8},
        {"interpreter_frame.previous", o->frame.size, o->frame.previous, 8},
        {"interpreter_frame.executable", o->frame.size, o->frame.executable, 8},
        {"interpreter_frame.instr_ptr", o->frame.size, o->frame.instr_ptr, 8},
        {"interpreter_frame.owner", o->frame.size, o->frame.owner, 1},
        {"interpreter_frame.stackpointer", o->frame.size, o->frame.stackpointer, 8},
        {"code_object.filename", o->code.size, o->code.filename, 8},
        {"code_object.qualname", o->code.size, o->code.qualname, 8},
        {"code_object.linetable", o->code.size, o->code.linetable, 8},
        {"code_object.firstlineno", o->code.size, o->code.firstlineno, 4},
        {"code_object.co_code_adaptive", o->code.size, o->code.co_code_adaptive, 0},
        {"pyobject.ob_type", o->pyobject.size, o->pyobject.ob_type, 8},
        {"type_object.tp_name", o->type.size, o->type.tp_name, 8},
        {"type_object.tp_flags", o->type.size, o->type.tp_flags, 8},
        {"set_object.used", o->set.size, o->set.used, 8},
        {"set_object.table", o->set.size, o->set.table, 8},
        {"set_object.mask", o->set.size, o->set.mask, 8},
        {"long_object.lv_tag", o->long_.size, o->long_.lv_tag, 8},
        {"long_object.ob_digit", o->long_.size + 8, o->long_.ob_digit, 4},
        {"bytes_object.ob_size", o->bytes.size, o->bytes.ob_size, 8},
        {"bytes_object.ob_sval", o->bytes.size, o->bytes.ob_sval, 0},
        {"unicode_object.state", o->unicode.size, o->unicode.state, 4},
        {"unicode_object.length", o->unicode.size, o->unicode.length, 8},
        {"unicode_object.asciiobject_size", o->unicode.size, o->unicode.asciiobject_size, 0},
        {"gen_object.gi_frame_state", o->gen.size, o->gen.gi_frame_state, 1},
        {"gen_object.gi_iframe", o->gen.size, o->gen.gi_iframe, o->frame.size},
    };
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        if (!FITS(checks[i].size, checks[i].off, checks[i].width)) {
            pag__seterr(&s->err, "debug offsets: %s (%llu) does not fit its struct (size %llu)",
                        checks[i].name, (unsigned long long)checks[i].off,
                        (unsigned long long)checks[i].size);
            return PAG_ERR_CORRUPT;
        }
    }
    if (o->unicode.compact_size < o->unicode.asciiobject_size ||
        o->unicode.compact_size + 8 > o->unicode.size || o->llist.next > 64 || o->llist.prev > 64) {
        pag__seterr(&s->err, "debug offsets: implausible str or list-node layout");
        return PAG_ERR_CORRUPT;
    }
    if (o->pyobject.size > 64) {
        pag__seterr(&s->err, "debug offsets: implausible PyObject size %llu",
                    (unsigned long long)o->pyobject.size);
        return PAG_ERR_CORRUPT;
    }
    return PAG_OK;
}

static void set_consts(pag_session_t *s, unsigned minor)
{
    pag_consts_t *k = &s->k;
    memset(k, 0, sizeof *k);
    if (minor == 14) {
        k->frame_created = -3;
        k->frame_executing = 0;
        k->frame_yield_from = -1;
        k->frame_yield_from_locked = -1;
        k->frame_cleared = 4;
        k->await_slot = 1;
    } else {
        k->frame_created = 0;
        k->frame_executing = 4;
        k->frame_yield_from = 2;
        k->frame_yield_from_locked = 3;
        k->frame_cleared = 5;
        k->await_slot = 2;
        k->has_base_frame = 1;
    }
    k->owner_generator = 1;
    k->owner_interp = 3;
    k->tag_mask = ~(uint64_t)3;
    if (s->off.free_threaded) {
        k->str_kind_shift = 8;
        k->str_compact_bit = 11;
        k->str_ascii_bit = 12;
    } else {
        k->str_kind_shift = 2;
        k->str_compact_bit = 5;
        k->str_ascii_bit = 6;
    }
}

/* Try one candidate address for _PyRuntime. */
static pag_err_t try_runtime(pag_session_t *s, uint64_t addr)
{
    uint8_t hdr[24];
    pag_err_t e = pag__read(&s->cache, addr, sizeof hdr, hdr);
    if (e) return e;
    if (memcmp(hdr, COOKIE, 8) != 0) return PAG_ERR_NOT_PYTHON;
    uint64_t version = pag__u64(hdr, 8);
    uint64_t ft = pag__u64(hdr, 16);
    unsigned major = (unsigned)(version >> 24) & 0xff, minor = (unsigned)(version >> 16) & 0xff;
    s->off.version = version;
    s->off.free_threaded = ft;
    if (major > 3) {
        pag__seterr(&s->err,
                    "the target runs CPython %u.%u, newer than this py-async-graph "
                    "understands (3.14, 3.15)",
                    major, minor);
        return PAG_ERR_UNSUPPORTED;
    }
    if (major < 3 || minor < 14) {
        pag__seterr(&s->err, "the target runs CPython %u.%u; py-async-graph reads 3.14 and 3.15",
                    major, minor);
        return PAG_ERR_PYTHON_TOO_OLD;
    }
    if (minor > 15) {
        pag__seterr(&s->err,
                    "the target runs CPython %u.%u, newer than this py-async-graph "
                    "understands (3.14, 3.15)",
                    major, minor);
        return PAG_ERR_UNSUPPORTED;
    }
    if (ft > 1) {
        pag__seterr(&s->err, "debug offsets: bad free_threaded flag %llu", (unsigned long long)ft);
        return PAG_ERR_CORRUPT;
    }
    uint8_t buf[1024];
    size_t tsz = table_size(minor);
    e = pag__read(&s->cache, addr, tsz, buf);
    if (e) return e;
    parse_table(&s->off, buf, minor);
    s->off.version = version;
    s->off.free_threaded = ft;
    if (minor == 14) s->off.unicode.compact_size = s->off.unicode.asciiobject_size + 16;
    e = validate(s);
    if (e) return e;
    set_consts(s, minor);
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
            uint8_t b[104];
            if (!addr || pag__read(&s->cache, addr, sizeof b, b) != PAG_OK) continue;
            pag_async_offsets_t a;
            a.task.size = pag__u64(b, 0);
            a.task.name = pag__u64(b, 8);
            a.task.awaited_by = pag__u64(b, 16);
            a.task.is_task = pag__u64(b, 24);
            a.task.awaited_by_is_set = pag__u64(b, 32);
            a.task.coro = pag__u64(b, 40);
            a.task.node = pag__u64(b, 48);
            a.interp.size = pag__u64(b, 56);
            a.interp.tasks_head = pag__u64(b, 64);
            a.thread.size = pag__u64(b, 72);
            a.thread.running_loop = pag__u64(b, 80);
            a.thread.running_task = pag__u64(b, 88);
            a.thread.tasks_head = pag__u64(b, 96);
            /* No cookie here: check it against the runtime table instead. */
            int ok = a.interp.size == o->interp.size && a.thread.size >= o->tstate.size &&
                     FITS(a.task.size, a.task.name, 8) && FITS(a.task.size, a.task.awaited_by, 8) &&
                     FITS(a.task.size, a.task.is_task, 1) &&
                     FITS(a.task.size, a.task.awaited_by_is_set, 1) &&
                     FITS(a.task.size, a.task.coro, 8) &&
                     FITS(a.task.size, a.task.node, o->llist.prev + 8) &&
                     FITS(a.task.size, a.task.node, o->llist.next + 8) &&
                     a.task.size >= o->pyobject.size &&
                     FITS(a.interp.size, a.interp.tasks_head, 16) &&
                     FITS(a.thread.size, a.thread.running_loop, 8) &&
                     FITS(a.thread.size, a.thread.running_task, 8) &&
                     FITS(a.thread.size, a.thread.tasks_head, 16);
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
