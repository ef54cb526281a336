/* Everything this program knows about each CPython minor version, as data.
 *
 * Why this file exists: CPython exports its struct offsets (_Py_DebugOffsets
 * in .PyRuntime, the AsyncioDebug table of _asyncio), but not the order of
 * the fields in those tables, the width of what the decoder reads at each
 * offset, nor a few constants no table carries (frame states, the stack slot
 * of the awaited object, str state bits).  Those facts change from one minor
 * version to the next.  They used to be spread over session.c as
 * `if (minor == 14) ... else` branches, so a new version would silently have
 * taken the last one's constants.  Here each supported version is one row of
 * `versions[]` (the way pystack keeps its per-version tables); a minor that
 * has no row is refused, never decoded with another version's knowledge.
 *
 * Adding CPython 3.X: copy the newest row and its two field lists, edit them
 * after Include/internal/pycore_debug_offsets.h and Modules/_asynciomodule.c
 * of 3.X, add 3.X to fixtures/python-versions (the build, the tests and the
 * fixture script read the supported versions from there), and run the unit
 * tests: unit_test_versions checks this table against that file and checks
 * every row as a whole (pag__versions_selfcheck).
 *
 * A field list is read in order, one u64 per field, after the table's
 * header.  Each field names the member of pag_offsets_t (or
 * pag_async_offsets_t) it fills and, when the decoder reads at that offset,
 * the struct-size field of the struct it lives in and the width read there:
 * pag__fields_check refuses a table whose offset + width does not fit the
 * size the target itself declares, naming the field. */
#include <stdio.h>

#include "internal.h"

// clang-format off
/* CPython's names of the _Py_DebugOffsets groups, for messages. */
#define G_runtime "runtime_state"
#define G_interp "interpreter_state"
#define G_tstate "thread_state"
#define G_err_stackitem "err_stackitem"
#define G_frame "interpreter_frame"
#define G_code "code_object"
#define G_pyobject "pyobject"
#define G_type "type_object"
#define G_heap_type "heap_type_object"
#define G_tuple "tuple_object"
#define G_list "list_object"
#define G_set "set_object"
#define G_dict "dict_object"
#define G_float_ "float_object"
#define G_long_ "long_object"
#define G_bytes "bytes_object"
#define G_unicode "unicode_object"
#define G_gc "gc"
#define G_gen "gen_object"
#define G_llist "llist_node"
#define G_debugger "debugger_support"

#define OFF(m) ((uint16_t)offsetof(pag_offsets_t, m))
/* R: the decoder reads w bytes at g.m, inside the g.size bytes the target declares
 *    (w = 0: an address computed or a flexible array, nothing read past it).
 * U: listed in the table, not used by the decoder (also every .size): parsed only. */
#define R(g, m, w) {G_##g "." #m, OFF(g.m), OFF(g.size), w, PAG_W_CONST, 0}
#define U(g, m) {G_##g "." #m, OFF(g.m), PAG_FIELD_UNCHECKED, 0, PAG_W_CONST, 0}
/* R_IN: read w bytes at g.m of a copied prefix of the struct, g.prefix bytes
 *       long (a str's state and length are read from the PyASCIIObject header
 *       alone, so they must lie inside asciiobject_size, not just unicode.size). */
#define R_IN(g, m, w, prefix) {G_##g "." #m, OFF(g.m), OFF(g.prefix), w, PAG_W_CONST, 0}
/* gen_object.gi_iframe: a whole _PyInterpreterFrame is embedded there. */
#define R_FRAME(g, m) {G_##g "." #m, OFF(g.m), OFF(g.size), 0, PAG_W_FRAME, 0}
/* long_object.ob_digit: 4-byte digits of a flexible array; sizeof(PyLongObject)
 * counts one digit, and up to 8 bytes past the declared size are accepted. */
#define R_SLACK(g, m, w, slack) {G_##g "." #m, OFF(g.m), OFF(g.size), w, PAG_W_CONST, slack}

/* _Py_DebugOffsets of 3.14 after the header (cookie, version, free_threaded):
 * 92 fields, 760 bytes in all (Include/internal/pycore_debug_offsets.h).
 * interpreter_frame.tlbc_index (an int32_t) and code_object.co_tlbc (a
 * _PyCodeArray pointer) are read only when the header's free_threaded is 1
 * (frames.c, thread-local bytecode); a GIL build's table has 0 in both, which
 * fits any struct, so the same checked fields serve both build flavours. */
static const pag_field_t offsets_314[] = {
    U(runtime, size), U(runtime, finalizing), R(runtime, interpreters_head, 8),
    U(interp, size), R(interp, id, 8), R(interp, next, 8), R(interp, threads_head, 8),
    R(interp, threads_main, 8), U(interp, gc), U(interp, imports_modules), U(interp, sysdict),
    U(interp, builtins), R(interp, ceval_gil, 8), R(interp, gil_runtime_state, 0),
    U(interp, gil_enabled), R(interp, gil_locked, 4), R(interp, gil_holder, 8),
    U(interp, code_object_generation), U(interp, tlbc_generation),
    U(tstate, size), U(tstate, prev), R(tstate, next, 8), R(tstate, interp, 8),
    R(tstate, current_frame, 8), U(tstate, thread_id), R(tstate, native_thread_id, 8),
    U(tstate, datastack_chunk), U(tstate, status),
    U(frame, size), R(frame, previous, 8), R(frame, executable, 8), R(frame, instr_ptr, 8),
    R(frame, localsplus, 0), R(frame, owner, 1), R(frame, stackpointer, 8), R(frame, tlbc_index, 4),
    U(code, size), R(code, filename, 8), U(code, name), R(code, qualname, 8),
    R(code, linetable, 8), R(code, firstlineno, 4), U(code, argcount), U(code, localsplusnames),
    U(code, localspluskinds), R(code, co_code_adaptive, 0), R(code, co_tlbc, 8),
    U(pyobject, size), R(pyobject, ob_type, 8),
    U(type, size), R(type, tp_name, 8), U(type, tp_repr), R(type, tp_flags, 8),
    U(tuple, size), U(tuple, ob_item), U(tuple, ob_size),
    U(list, size), U(list, ob_item), U(list, ob_size),
    U(set, size), R(set, used, 8), R(set, table, 8), R(set, mask, 8),
    U(dict, size), U(dict, ma_keys), U(dict, ma_values),
    U(float_, size), U(float_, ob_fval),
    U(long_, size), R(long_, lv_tag, 8), R_SLACK(long_, ob_digit, 4, 8),
    U(bytes, size), R(bytes, ob_size, 8), R(bytes, ob_sval, 0),
    U(unicode, size), R_IN(unicode, state, 4, asciiobject_size),
    R_IN(unicode, length, 8, asciiobject_size), R(unicode, asciiobject_size, 0),
    U(gc, size), U(gc, collecting),
    U(gen, size), U(gen, gi_name), R_FRAME(gen, gi_iframe), R(gen, gi_frame_state, 1),
    U(llist, next), U(llist, prev),
    U(debugger, eval_breaker), U(debugger, remote_debugger_support),
    U(debugger, remote_debugging_enabled), U(debugger, debugger_pending_call),
    U(debugger, debugger_script_path), U(debugger, debugger_script_path_size),
};

/* 3.15: 3.14's fields plus thread_state.{base_frame, last_profiled_frame,
 * last_profiled_frame_seq} (after current_frame) and {holds_gil, gil_requested,
 * current_exception, exc_state}, err_stackitem, type_object.{tp_basicsize,
 * tp_dictoffset}, heap_type_object, unicode_object.compactunicodeobject_size
 * and gc.{frame, generation_stats_size, generation_stats}: 108 fields, 888 bytes. */
static const pag_field_t offsets_315[] = {
    U(runtime, size), U(runtime, finalizing), R(runtime, interpreters_head, 8),
    U(interp, size), R(interp, id, 8), R(interp, next, 8), R(interp, threads_head, 8),
    R(interp, threads_main, 8), U(interp, gc), U(interp, imports_modules), U(interp, sysdict),
    U(interp, builtins), R(interp, ceval_gil, 8), R(interp, gil_runtime_state, 0),
    U(interp, gil_enabled), R(interp, gil_locked, 4), R(interp, gil_holder, 8),
    U(interp, code_object_generation), U(interp, tlbc_generation),
    U(tstate, size), U(tstate, prev), R(tstate, next, 8), R(tstate, interp, 8),
    R(tstate, current_frame, 8), R(tstate, base_frame, 0), U(tstate, last_profiled_frame),
    U(tstate, last_profiled_frame_seq), U(tstate, thread_id), R(tstate, native_thread_id, 8),
    U(tstate, datastack_chunk), U(tstate, status), R(tstate, holds_gil, 4), R(tstate, gil_requested, 4),
    U(tstate, current_exception), U(tstate, exc_state), U(err_stackitem, exc_value),
    U(frame, size), R(frame, previous, 8), R(frame, executable, 8), R(frame, instr_ptr, 8),
    R(frame, localsplus, 0), R(frame, owner, 1), R(frame, stackpointer, 8), R(frame, tlbc_index, 4),
    U(code, size), R(code, filename, 8), U(code, name), R(code, qualname, 8),
    R(code, linetable, 8), R(code, firstlineno, 4), U(code, argcount), U(code, localsplusnames),
    U(code, localspluskinds), R(code, co_code_adaptive, 0), R(code, co_tlbc, 8),
    U(pyobject, size), R(pyobject, ob_type, 8),
    U(type, size), R(type, tp_name, 8), U(type, tp_repr), R(type, tp_flags, 8),
    U(type, tp_basicsize), U(type, tp_dictoffset),
    U(heap_type, size), U(heap_type, ht_cached_keys),
    U(tuple, size), U(tuple, ob_item), U(tuple, ob_size),
    U(list, size), U(list, ob_item), U(list, ob_size),
    U(set, size), R(set, used, 8), R(set, table, 8), R(set, mask, 8),
    U(dict, size), U(dict, ma_keys), U(dict, ma_values),
    U(float_, size), U(float_, ob_fval),
    U(long_, size), R(long_, lv_tag, 8), R_SLACK(long_, ob_digit, 4, 8),
    U(bytes, size), R(bytes, ob_size, 8), R(bytes, ob_sval, 0),
    U(unicode, size), R_IN(unicode, state, 4, asciiobject_size),
    R_IN(unicode, length, 8, asciiobject_size), R(unicode, asciiobject_size, 0), U(unicode, compact_size),
    U(gc, size), U(gc, collecting), U(gc, frame), U(gc, generation_stats_size),
    U(gc, generation_stats),
    U(gen, size), U(gen, gi_name), R_FRAME(gen, gi_iframe), R(gen, gi_frame_state, 1),
    U(llist, next), U(llist, prev),
    U(debugger, eval_breaker), U(debugger, remote_debugger_support),
    U(debugger, remote_debugging_enabled), U(debugger, debugger_pending_call),
    U(debugger, debugger_script_path), U(debugger, debugger_script_path_size),
};
#undef R
#undef R_IN
#undef U
#undef R_FRAME
#undef R_SLACK
#undef OFF

/* Py_AsyncioModuleDebugOffsets (Modules/_asynciomodule.c), no header: 13 u64,
 * the same in 3.14 and 3.15.  Checked against the AsyncioDebug table's own
 * sizes here; session.c adds the checks against the runtime's table. */
#define AOFF(m) ((uint16_t)offsetof(pag_async_offsets_t, m))
/* A: the decoder reads w bytes at member m, inside the struct whose size is sz. */
#define A(name, m, sz, w) {name, AOFF(m), AOFF(sz), w, PAG_W_CONST, 0}
#define A_SIZE(name, m) {name, AOFF(m), PAG_FIELD_UNCHECKED, 0, PAG_W_CONST, 0}
static const pag_field_t asyncio_314[] = {
    A_SIZE("asyncio_task_object.size", task.size),
    A("asyncio_task_object.task_name", task.name, task.size, 8),
    A("asyncio_task_object.task_awaited_by", task.awaited_by, task.size, 8),
    A("asyncio_task_object.task_is_task", task.is_task, task.size, 1),
    A("asyncio_task_object.task_awaited_by_is_set", task.awaited_by_is_set, task.size, 1),
    A("asyncio_task_object.task_coro", task.coro, task.size, 8),
    /* a struct llist_node: next and prev at the runtime's llist_node offsets */
    {"asyncio_task_object.task_node", AOFF(task.node), AOFF(task.size), 0, PAG_W_LIST_NODE, 0},
    A_SIZE("asyncio_interpreter_state.size", interp.size),
    A("asyncio_interpreter_state.asyncio_tasks_head", interp.tasks_head, interp.size, 16),
    A_SIZE("asyncio_thread_state.size", thread.size),
    A("asyncio_thread_state.asyncio_running_loop", thread.running_loop, thread.size, 8),
    A("asyncio_thread_state.asyncio_running_task", thread.running_task, thread.size, 8),
    A("asyncio_thread_state.asyncio_tasks_head", thread.tasks_head, thread.size, 16),
};
#undef A
#undef A_SIZE
#undef AOFF

#define N(a) (sizeof a / sizeof *a)
/* The copy buffers in session.c are this big; a longer list does not build. */
_Static_assert(PAG_DEBUG_OFFSETS_HEADER + 8 * N(offsets_314) <= PAG_MAX_DEBUG_OFFSETS, "3.14");
_Static_assert(PAG_DEBUG_OFFSETS_HEADER + 8 * N(offsets_315) <= PAG_MAX_DEBUG_OFFSETS, "3.15");
_Static_assert(8 * N(asyncio_314) <= PAG_MAX_ASYNCIO_TABLE, "AsyncioDebug");

/* str state bits (PyASCIIObject.state): the free-threaded build puts the
 * interned byte first, so kind/compact/ascii move up by 6.  Indexed by the
 * table's free_threaded flag. */
#define STR_STATE {{.kind_shift = 2, .compact_bit = 5, .ascii_bit = 6},                            \
                   {.kind_shift = 8, .compact_bit = 11, .ascii_bit = 12}}

/* One row per supported minor version, oldest first.  The constants are
 * CPython's own (see the reference, preface): frame states from
 * pycore_frame.h's _PyFrameState, the awaited object at stackpointer[-slot]
 * (3.15 keeps a NULL above it), frame owners, the _PyStackRef tag bits.
 * One tag mask, ~3, serves both build flavours: 3.14's free-threaded build
 * tags only bit 0 (Py_TAG_DEFERRED, Py_TAG_BITS 1; its code pointers in
 * frames carry that bit too), the GIL build and 3.15 use bits 0-1, and no
 * object address has bit 1 set (objects are at least 8-byte aligned), so
 * clearing both bits is right for each. */
static const pag_pyversion_t versions[] = {
    {
        .minor = 14, .text = "3.14",
        .offsets = offsets_314, .n_offsets = N(offsets_314),
        .asyncio = asyncio_314, .n_asyncio = N(asyncio_314),
        /* 3.14's table has no compactunicodeobject_size: PyCompactUnicodeObject
         * is PyASCIIObject plus utf8_length and utf8 (16 bytes) */
        .compact_after_ascii = 16,
        .k = {.frame_created = -3, .frame_executing = 0, .frame_yield_from = -1,
              .frame_yield_from_locked = -1, .frame_cleared = 4, .await_slot = 1,
              .owner_generator = 1, .owner_interp = 3, .tag_mask = ~(uint64_t)3,
              .has_base_frame = 0},
        .str_state = STR_STATE,
    },
    {
        .minor = 15, .text = "3.15",
        .offsets = offsets_315, .n_offsets = N(offsets_315),
        .asyncio = asyncio_314, .n_asyncio = N(asyncio_314),
        .compact_after_ascii = 0, /* unicode_object.compactunicodeobject_size */
        .k = {.frame_created = 0, .frame_executing = 4, .frame_yield_from = 2,
              .frame_yield_from_locked = 3, .frame_cleared = 5, .await_slot = 2,
              .owner_generator = 1, .owner_interp = 3, .tag_mask = ~(uint64_t)3,
              .has_base_frame = 1},
        .str_state = STR_STATE,
    },
};
#define N_VERSIONS N(versions)

/* Offsets the decoder (snapshot.c, pyread.c) reads at, whatever the version:
 * every row must list each as a checked field.  `only_base_frame`: needed
 * only by versions whose thread stacks end at an embedded base frame. */
#define OFF(m) ((uint16_t)offsetof(pag_offsets_t, m))
#define D(g, m) {G_##g "." #m, OFF(g.m), 0}
static const struct {
    const char *name;
    uint16_t at;
    unsigned char only_base_frame;
} decoder_reads[] = {
    D(runtime, interpreters_head), D(interp, id), D(interp, next), D(interp, threads_head),
    D(interp, threads_main), D(tstate, next), D(tstate, interp), D(tstate, current_frame),
    {G_tstate ".base_frame", OFF(tstate.base_frame), 1}, D(tstate, native_thread_id),
    D(frame, previous), D(frame, executable), D(frame, instr_ptr), D(frame, localsplus),
    D(frame, owner), D(frame, stackpointer), D(frame, tlbc_index), D(code, filename),
    D(code, qualname), D(code, linetable), D(code, firstlineno), D(code, co_code_adaptive),
    D(code, co_tlbc), D(pyobject, ob_type),
    D(type, tp_name), D(type, tp_flags), D(set, used), D(set, table), D(set, mask),
    D(long_, lv_tag), D(long_, ob_digit), D(bytes, ob_size), D(bytes, ob_sval),
    D(unicode, state), D(unicode, length), D(unicode, asciiobject_size), D(gen, gi_iframe),
    D(gen, gi_frame_state),
};
#undef D

/* Where the decoder copies a struct of a table-declared length into a fixed
 * buffer (the buffers' sizes are PAG_COPY_* in internal.h): the member that
 * holds the length, bytes copied past it, and the buffer. */
#define C(g, m, extra, cap) {G_##g "." #m, OFF(g.m), extra, cap}
static const struct {
    const char *name;
    uint16_t len_at;
    uint8_t extra;
    uint32_t cap;
} copies[] = {
    C(unicode, asciiobject_size, 0, PAG_COPY_STR_HDR), /* a compact ASCII str's header */
    C(unicode, compact_size, 8, PAG_COPY_STR_HDR),     /* up to a legacy str's data pointer */
    C(bytes, ob_size, 8, PAG_COPY_BYTES_HDR),
    C(code, size, 0, PAG_COPY_CODE),
    C(gen, size, 0, PAG_COPY_GEN),
    C(frame, size, 0, PAG_COPY_FRAME),
    C(set, size, 0, PAG_COPY_SET),
};
#undef C
#undef OFF
// clang-format on

static const pag_pyversion_t *lookup(unsigned minor)
{
    for (size_t i = 0; i < N_VERSIONS; i++)
        if (versions[i].minor == minor) return &versions[i];
    return NULL;
}

const pag_pyversion_t *pag__version_find(uint64_t version, struct pag_errbuf *err, pag_err_t *e)
{
    unsigned major = (unsigned)(version >> 24) & 0xff, minor = (unsigned)(version >> 16) & 0xff;
    const pag_pyversion_t *v = major == 3 ? lookup(minor) : NULL;
    if (v) return v;
    if (major > 3 || (major == 3 && minor > versions[N_VERSIONS - 1].minor)) {
        pag__seterr(err,
                    "the target runs CPython %u.%u, newer than this py-async-graph "
                    "understands (%s)",
                    major, minor, pag__versions_text());
        *e = PAG_ERR_UNSUPPORTED;
    } else if (major < 3 || minor < versions[0].minor) {
        pag__seterr(err, "the target runs CPython %u.%u; py-async-graph reads %s", major, minor,
                    pag__versions_prose());
        *e = PAG_ERR_PYTHON_TOO_OLD;
    } else { /* between two rows: a version this build dropped or never had */
        pag__seterr(err,
                    "the target runs CPython %u.%u, which this py-async-graph does not read (%s)",
                    major, minor, pag__versions_text());
        *e = PAG_ERR_UNSUPPORTED;
    }
    return NULL;
}

void pag__fields_parse(const pag_field_t *f, size_t n, const uint8_t *buf, size_t len, void *dst)
{
    for (size_t i = 0; i < n && 8 * i + 8 <= len; i++) {
        uint64_t v = pag__u64(buf, 8 * i);
        memcpy((char *)dst + f[i].at, &v, 8);
    }
}

static uint64_t get(const void *base, uint16_t at)
{
    uint64_t v;
    memcpy(&v, (const char *)base + at, 8);
    return v;
}

/* An offset plus the width read there must fit in the declared struct;
 * written so that a huge offset cannot wrap around. */
static int fits(uint64_t size, uint64_t off, uint64_t width)
{
    return size > 0 && size <= PAG_MAX_OBJECT_SIZE && width <= size && off <= size - width;
}

const pag_field_t *pag__fields_check(const pag_field_t *f, size_t n, const void *tab,
                                     const pag_offsets_t *o, uint64_t *size)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].size_at == PAG_FIELD_UNCHECKED) continue;
        uint64_t sz = get(tab, f[i].size_at) + f[i].slack, w = f[i].width;
        if (f[i].width_kind == PAG_W_FRAME) w = o->frame.size;
        if (f[i].width_kind == PAG_W_LIST_NODE)
            w = (o->llist.next > o->llist.prev ? o->llist.next : o->llist.prev) + 8;
        if (!fits(sz, get(tab, f[i].at), w)) {
            if (size) *size = sz;
            return &f[i];
        }
    }
    return NULL;
}

const char *pag__copies_check(const pag_offsets_t *o, uint64_t *len, uint64_t *cap)
{
    for (size_t i = 0; i < N(copies); i++) {
        uint64_t v = get(o, copies[i].len_at);
        /* v + extra > cap, written so that a huge v cannot wrap around */
        if (v > copies[i].cap || copies[i].cap - v < copies[i].extra) {
            *len = v;
            *cap = copies[i].cap;
            return copies[i].name;
        }
    }
    return NULL;
}

const char *pag__field_name(const pag_field_t *f, size_t n, uint16_t at)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].at == at) return f[i].name;
    return "?";
}

/* ---- the supported versions as text ----
 *
 * Compile-time strings from the one versions list (fixtures/python-versions,
 * passed in by common/CMakeLists.txt), so the help text can be built by
 * string concatenation and the core keeps no state; pag__versions_selfcheck
 * fails when the table's rows and that list disagree. */
#ifndef PAG_PY_VERSIONS_TEXT
#error "PAG_PY_VERSIONS_TEXT comes from fixtures/python-versions via CMake"
#endif

const char *pag__versions_text(void)
{
    return PAG_PY_VERSIONS_TEXT;
}

const char *pag__versions_prose(void)
{
    return PAG_PY_VERSIONS_PROSE;
}

/* The table's own rows as "3.14, 3.15" or "3.14 and 3.15". */
static void table_text(char *buf, size_t len, int prose)
{
    size_t a = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_VERSIONS && a < len; i++) {
        const char *sep = i == 0 ? "" : (prose && i + 1 == N_VERSIONS) ? " and " : ", ";
        a += (size_t)snprintf(buf + a, len - a, "%s%s", sep, versions[i].text);
    }
}

/* ---- the table checked as a whole (unit_test_versions runs this) ---- */

static const pag_field_t *find_at(const pag_field_t *f, size_t n, uint16_t at)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].at == at) return &f[i];
    return NULL;
}

/* Each list fills every member once, and each checked field's struct size
 * is itself a field of the list (so it was read before it is used). */
static int check_list(const pag_field_t *f, size_t n, size_t cap, size_t dst_size, char *msg,
                      size_t len, const char *what)
{
    if (8 * n > cap) {
        snprintf(msg, len, "%s: %zu fields do not fit the %zu-byte copy buffer", what, n, cap);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (f[i].at % 8 || f[i].at + 8u > dst_size) {
            snprintf(msg, len, "%s: %s is not a member of the parsed struct", what, f[i].name);
            return -1;
        }
        if (find_at(f, i, f[i].at)) {
            snprintf(msg, len, "%s: %s is listed twice", what, f[i].name);
            return -1;
        }
        if (f[i].size_at != PAG_FIELD_UNCHECKED && !find_at(f, n, f[i].size_at)) {
            snprintf(msg, len, "%s: the struct size of %s is not in the list", what, f[i].name);
            return -1;
        }
    }
    return 0;
}

static int check_row(const pag_pyversion_t *v, char *msg, size_t len)
{
    char what[64];
    snprintf(what, sizeof what, "%s _Py_DebugOffsets", v->text);
    if (check_list(v->offsets, v->n_offsets, PAG_MAX_DEBUG_OFFSETS - PAG_DEBUG_OFFSETS_HEADER,
                   sizeof(pag_offsets_t), msg, len, what))
        return -1;
    for (size_t j = 0; j < N(decoder_reads); j++) {
        if (decoder_reads[j].only_base_frame && !v->k.has_base_frame) continue;
        const pag_field_t *f = find_at(v->offsets, v->n_offsets, decoder_reads[j].at);
        if (!f || f->size_at == PAG_FIELD_UNCHECKED) {
            snprintf(msg, len, "%s: %s, which the decoder reads, is %s", what,
                     decoder_reads[j].name, f ? "not checked" : "not listed");
            return -1;
        }
    }
    for (size_t j = 0; j < N(copies); j++) {
        /* each copy length is read from the table (3.14's compact_size is derived) */
        int derived = copies[j].len_at == offsetof(pag_offsets_t, unicode.compact_size) &&
                      v->compact_after_ascii;
        if (!derived && !find_at(v->offsets, v->n_offsets, copies[j].len_at)) {
            snprintf(msg, len, "%s: %s, a copy length, is not listed", what, copies[j].name);
            return -1;
        }
    }
    if (!v->compact_after_ascii &&
        !find_at(v->offsets, v->n_offsets, offsetof(pag_offsets_t, unicode.compact_size))) {
        snprintf(msg, len, "%s: no compact_size rule and no unicode_object.compact_size", what);
        return -1;
    }
    snprintf(what, sizeof what, "%s AsyncioDebug", v->text);
    if (check_list(v->asyncio, v->n_asyncio, PAG_MAX_ASYNCIO_TABLE, sizeof(pag_async_offsets_t),
                   msg, len, what))
        return -1;
    for (size_t j = 0; j < v->n_asyncio; j++) {
        const pag_field_t *f = &v->asyncio[j];
        int is_size = f->at == offsetof(pag_async_offsets_t, task.size) ||
                      f->at == offsetof(pag_async_offsets_t, interp.size) ||
                      f->at == offsetof(pag_async_offsets_t, thread.size);
        if (!is_size && f->size_at == PAG_FIELD_UNCHECKED) {
            snprintf(msg, len, "%s: %s is not checked", what, f->name);
            return -1;
        }
    }
    if (v->n_asyncio != sizeof(pag_async_offsets_t) / 8) {
        snprintf(msg, len, "%s: %zu fields for %zu members", what, v->n_asyncio,
                 sizeof(pag_async_offsets_t) / 8);
        return -1;
    }
    return 0;
}

int pag__versions_selfcheck(char *msg, size_t len)
{
    for (size_t i = 0; i < N_VERSIONS; i++) {
        const pag_pyversion_t *v = &versions[i];
        char want[16];
        snprintf(want, sizeof want, "3.%u", v->minor);
        if (strcmp(v->text, want) != 0 || (i && v->minor <= versions[i - 1].minor)) {
            snprintf(msg, len, "row %zu (%s): text or order is wrong", i, v->text);
            return -1;
        }
        if (check_row(v, msg, len)) return -1;
    }
    char text[16 * N_VERSIONS], prose[16 * N_VERSIONS];
    table_text(text, sizeof text, 0);
    table_text(prose, sizeof prose, 1);
    if (strcmp(text, PAG_PY_VERSIONS_TEXT) != 0 || strcmp(prose, PAG_PY_VERSIONS_PROSE) != 0) {
        snprintf(msg, len, "the table has %s, fixtures/python-versions %s", text,
                 PAG_PY_VERSIONS_TEXT);
        return -1;
    }
    if (msg && len) msg[0] = 0;
    return 0;
}
