/* Synthetic target memory for decoder tests and the fuzzer.
 *
 * Builds, in a flat buffer mapped at a fake address, the structures a real
 * CPython 3.14 or 3.15 process has: the _Py_DebugOffsets table, an
 * AsyncioDebug table, an interpreter, thread states, task lists, tasks,
 * coroutines with embedded frames, code objects, str/int/bytes/set objects.
 * The struct offsets it declares are deliberately NOT CPython's, so a
 * decoder that hard-coded layouts would fail these tests.
 *
 * A free-threaded image (sy_init_ft) is what a Py_GIL_DISABLED build
 * changes: the table's free_threaded flag, a PyObject header 16 bytes
 * larger (every object's fields, ob_type included, move up by im->hdr, as
 * CPython's do), the str state bits of that build, and thread-local
 * bytecode (a tlbc_index in each frame, a _PyCodeArray at each code
 * object's co_tlbc).  A GIL image has hdr 0 and is byte for byte what it
 * was before free-threaded images existed (the fuzz seeds depend on it). */
#ifndef SYNTH_IMAGE_H
#define SYNTH_IMAGE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pag/snapshot.h"

#define SY_BASE 0x7f0000100000ull
#define SY_SIZE (4u << 20)

typedef struct sy_image {
    uint8_t *mem;
    size_t used;
    unsigned minor; /* 14 or 15 */
    uint64_t runtime, asyncio, interp;
    uint64_t t_coroutine, t_str, t_int, t_code, t_future, t_task, t_set, t_bytes, t_asend,
        t_agen;
    int fail_reads_above; /* for tests: reads at or above this offset fail (0 = off) */
    int hide_asyncio;
    int ft;       /* a free-threaded (Py_GIL_DISABLED) image */
    unsigned hdr; /* bytes the object header adds: 16 when ft, else 0 */
} sy_image_t;

/* Our chosen struct layouts (compare: CPython's are different numbers). */
enum {
    SY_OBTYPE = 8, SY_PYOBJ = 16,
    SY_TP_NAME = 32, SY_TP_FLAGS = 176, SY_TYPE_SIZE = 432,
    SY_STR_LEN = 16, SY_STR_STATE = 32, SY_STR_ASCII = 40, SY_STR_COMPACT = 56, SY_STR_SIZE = 72,
    SY_LONG_TAG = 16, SY_LONG_DIGIT = 24, SY_LONG_SIZE = 32,
    SY_BYTES_LEN = 16, SY_BYTES_SVAL = 32, SY_BYTES_SIZE = 40,
    SY_CODE_FILE = 120, SY_CODE_NAME = 128, SY_CODE_QUAL = 136, SY_CODE_LT = 144,
    SY_CODE_FIRST = 76, SY_CODE_ADAPT = 224, SY_CODE_SIZE = 232,
    SY_FR_EXE = 0, SY_FR_PREV = 8, SY_FR_IP = 56, SY_FR_SP = 64, SY_FR_OWNER = 74,
    SY_FR_LOCALS = 80, SY_FR_SIZE = 88,
    SY_GEN_NAME = 24, SY_GEN_STATE = 75, SY_GEN_FRAME = 80, SY_GEN_SIZE = 168,
    SY_SET_USED = 24, SY_SET_MASK = 32, SY_SET_TABLE = 40, SY_SET_SIZE = 200,
    SY_TS_PREV = 0, SY_TS_NEXT = 8, SY_TS_INTERP = 16, SY_TS_FRAME = 24, SY_TS_BASE = 32,
    SY_TS_TID = 48, SY_TS_NTID = 56, SY_TS_SIZE = 192,
    SY_TS_LOOP = 200, SY_TS_RUNNING = 208, SY_TS_TASKS = 224, SY_TSI_SIZE = 256,
    SY_IS_ID = 8, SY_IS_NEXT = 0, SY_IS_THEAD = 24, SY_IS_TMAIN = 32, SY_IS_TASKS = 96,
    SY_IS_SIZE = 256,
    SY_RT_INTERP = 1024, SY_RT_SIZE = 1040,
    SY_T_AB = 104, SY_T_ISTASK = 116, SY_T_ISSET = 117, SY_T_CORO = 136, SY_T_NAME = 144,
    SY_T_NODE = 176, SY_T_SIZE = 200,
    /* free-threaded images only: a frame's int32 tlbc_index, a code object's
     * _PyCodeArray pointer (before im->hdr), and the entries that array holds */
    SY_FR_TLBC = 44, SY_CODE_TLBC = 160, SY_FT_HDR = 16, SY_TLBC_SIZE = 16,
};

static inline uint64_t sy_alloc(sy_image_t *im, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (im->used + n > SY_SIZE) abort();
    uint64_t a = SY_BASE + im->used;
    im->used += n;
    return a;
}
static inline uint8_t *sy_ptr(sy_image_t *im, uint64_t a) { return im->mem + (a - SY_BASE); }
static inline void sy_w64(sy_image_t *im, uint64_t a, uint64_t v) { memcpy(sy_ptr(im, a), &v, 8); }
static inline void sy_w32(sy_image_t *im, uint64_t a, uint32_t v) { memcpy(sy_ptr(im, a), &v, 4); }
static inline void sy_w8(sy_image_t *im, uint64_t a, uint8_t v) { *sy_ptr(im, a) = v; }
static inline uint64_t sy_r64(sy_image_t *im, uint64_t a)
{
    uint64_t v;
    memcpy(&v, sy_ptr(im, a), 8);
    return v;
}

static inline uint64_t sy_type(sy_image_t *im, const char *name, uint64_t flags)
{
    uint64_t t = sy_alloc(im, SY_TYPE_SIZE + im->hdr);
    uint64_t s = sy_alloc(im, strlen(name) + 1);
    memcpy(sy_ptr(im, s), name, strlen(name) + 1);
    sy_w64(im, t + im->hdr + SY_TP_NAME, s);
    sy_w64(im, t + im->hdr + SY_TP_FLAGS, flags);
    return t;
}

/* PyASCIIObject.state: the free-threaded build gives `interned` a whole
 * byte, so kind, compact and ascii sit 6 bits higher. */
static inline uint32_t sy_str_state(const sy_image_t *im, unsigned kind, int compact, int ascii)
{
    unsigned sh = im->ft ? 6 : 0;
    return (kind << (2 + sh)) | ((unsigned)compact << (5 + sh)) | ((unsigned)ascii << (6 + sh));
}

/* A str from UTF-32 code points; kind chosen like CPython does. */
static inline uint64_t sy_str32(sy_image_t *im, const uint32_t *cp, size_t n)
{
    uint32_t maxc = 0;
    for (size_t i = 0; i < n; i++) maxc = cp[i] > maxc ? cp[i] : maxc;
    unsigned kind = maxc < 0x80 ? 1 : maxc < 0x100 ? 1 : maxc < 0x10000 ? 2 : 4;
    int ascii = maxc < 0x80;
    size_t hdr = im->hdr + (ascii ? SY_STR_ASCII : SY_STR_COMPACT);
    uint64_t o = sy_alloc(im, hdr + (n + 1) * kind);
    sy_w64(im, o + im->hdr + SY_OBTYPE, im->t_str);
    sy_w64(im, o + im->hdr + SY_STR_LEN, n);
    sy_w32(im, o + im->hdr + SY_STR_STATE, sy_str_state(im, kind, 1, ascii));
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = sy_ptr(im, o + hdr + i * kind);
        if (kind == 1) *d = (uint8_t)cp[i];
        else if (kind == 2) { uint16_t v = (uint16_t)cp[i]; memcpy(d, &v, 2); }
        else memcpy(d, &cp[i], 4);
    }
    return o;
}

/* A legacy (not compact) latin-1 str: the characters live elsewhere, behind
 * the data pointer at compact_size (PyUnicodeObject.data). */
static inline uint64_t sy_str_legacy(sy_image_t *im, const char *text)
{
    size_t n = strlen(text);
    uint64_t o = sy_alloc(im, SY_STR_SIZE + im->hdr), d = sy_alloc(im, n + 1);
    sy_w64(im, o + im->hdr + SY_OBTYPE, im->t_str);
    sy_w64(im, o + im->hdr + SY_STR_LEN, n);
    sy_w32(im, o + im->hdr + SY_STR_STATE, sy_str_state(im, 1, 0, 0)); /* kind 1, neither */
    sy_w64(im, o + im->hdr + SY_STR_COMPACT, d);
    memcpy(sy_ptr(im, d), text, n + 1);
    return o;
}

static inline uint64_t sy_str(sy_image_t *im, const char *ascii)
{
    uint32_t cp[512];
    size_t n = strlen(ascii);
    if (n > 512) n = 512;
    for (size_t i = 0; i < n; i++) cp[i] = (unsigned char)ascii[i];
    return sy_str32(im, cp, n);
}

static inline uint64_t sy_long(sy_image_t *im, uint32_t v)
{
    uint64_t o = sy_alloc(im, SY_LONG_SIZE + 8 + im->hdr);
    sy_w64(im, o + im->hdr + SY_OBTYPE, im->t_int);
    sy_w64(im, o + im->hdr + SY_LONG_TAG, v ? (1u << 3) : 1);
    sy_w32(im, o + im->hdr + SY_LONG_DIGIT, v);
    return o;
}

static inline uint64_t sy_bytes(sy_image_t *im, const uint8_t *b, size_t n)
{
    uint64_t o = sy_alloc(im, SY_BYTES_SVAL + n + 1 + im->hdr);
    sy_w64(im, o + im->hdr + SY_OBTYPE, im->t_bytes);
    sy_w64(im, o + im->hdr + SY_BYTES_LEN, n);
    memcpy(sy_ptr(im, o + im->hdr + SY_BYTES_SVAL), b, n);
    return o;
}

/* A code object whose location table maps code unit u to line first+1+u/4
 * (NO_COLUMNS entries of 4 units, +1 line each), over nunits units (at most
 * 512: the table has 128 entries).  In a free-threaded image its co_tlbc is
 * a _PyCodeArray of 16 entries whose entry 0 is co_code_adaptive and the
 * rest NULL, as CPython's init_code makes it; sy_tlbc_copy adds the copies
 * of other threads. */
static inline uint64_t sy_code(sy_image_t *im, const char *qual, const char *file, int first,
                               unsigned nunits)
{
    uint8_t lt[256];
    size_t n = 0;
    for (unsigned u = 0; u < nunits && n + 2 <= sizeof lt; u += 4) {
        lt[n++] = (uint8_t)(0x80 | (13 << 3) | 3);
        lt[n++] = 2; /* signed varint +1 */
    }
    uint64_t c = sy_alloc(im, SY_CODE_SIZE + im->hdr + nunits * 2);
    sy_w64(im, c + im->hdr + SY_OBTYPE, im->t_code);
    sy_w64(im, c + im->hdr + SY_CODE_QUAL, sy_str(im, qual));
    sy_w64(im, c + im->hdr + SY_CODE_NAME, sy_str(im, qual));
    sy_w64(im, c + im->hdr + SY_CODE_FILE, sy_str(im, file));
    sy_w64(im, c + im->hdr + SY_CODE_LT, sy_bytes(im, lt, n));
    sy_w32(im, c + im->hdr + SY_CODE_FIRST, (uint32_t)first);
    if (im->ft) {
        uint64_t arr = sy_alloc(im, 8 + 8 * SY_TLBC_SIZE);
        sy_w64(im, arr, SY_TLBC_SIZE);
        sy_w64(im, arr + 8, c + im->hdr + SY_CODE_ADAPT);
        sy_w64(im, c + im->hdr + SY_CODE_TLBC, arr);
    }
    return c;
}

/* Where a code object's bytecode copy 0 (co_code_adaptive) starts. */
static inline uint64_t sy_code_adaptive(const sy_image_t *im, uint64_t code)
{
    return code + im->hdr + SY_CODE_ADAPT;
}

/* Free-threaded images: give thread index `index` (1 .. SY_TLBC_SIZE-1)
 * its own copy of `code`'s bytecode, nunits units, allocated apart like
 * CPython's create_tlbc_lock_held does.  Returns the copy's address. */
static inline uint64_t sy_tlbc_copy(sy_image_t *im, uint64_t code, unsigned index, unsigned nunits)
{
    if (!im->ft || index == 0 || index >= SY_TLBC_SIZE) abort();
    uint64_t arr = sy_r64(im, code + im->hdr + SY_CODE_TLBC);
    uint64_t copy = sy_alloc(im, nunits * 2);
    sy_w64(im, arr + 8 + 8 * (uint64_t)index, copy);
    return copy;
}

/* The _PyCodeArray of a free-threaded image's code object. */
static inline uint64_t sy_tlbc_array(sy_image_t *im, uint64_t code)
{
    return sy_r64(im, code + im->hdr + SY_CODE_TLBC);
}

/* The bytecode copy `index` of `code` as the image holds it (0: co_code_adaptive). */
static inline uint64_t sy_tlbc_base(sy_image_t *im, uint64_t code, unsigned index)
{
    if (index == 0) return sy_code_adaptive(im, code);
    return sy_r64(im, sy_tlbc_array(im, code) + 8 + 8 * (uint64_t)index);
}

/* Put the frame at f on copy `index` of `code`, at code unit `unit`. */
static inline void sy_frame_on_copy(sy_image_t *im, uint64_t f, uint64_t code, int32_t index,
                                    unsigned unit)
{
    sy_w64(im, f + SY_FR_IP, sy_tlbc_base(im, code, (unsigned)index) + 2 * (uint64_t)unit);
    sy_w32(im, f + SY_FR_TLBC, (uint32_t)index);
}

static inline int sy_state_yield_from(const sy_image_t *im) { return im->minor == 14 ? -1 : 2; }
static inline int sy_state_suspended(const sy_image_t *im) { return im->minor == 14 ? -2 : 1; }
static inline int sy_state_executing(const sy_image_t *im) { return im->minor == 14 ? 0 : 4; }

/* A coroutine suspended at code unit `unit` of `code`, awaiting `awaits` (0 = nothing). */
static inline uint64_t sy_coro_type(sy_image_t *im, uint64_t type, uint64_t code, unsigned unit,
                                    uint64_t awaits, int state)
{
    uint64_t g = sy_alloc(im, SY_GEN_SIZE + 64 + im->hdr);
    uint64_t f = g + im->hdr + SY_GEN_FRAME;
    sy_w64(im, g + im->hdr + SY_OBTYPE, type);
    sy_w8(im, g + im->hdr + SY_GEN_STATE, (uint8_t)(int8_t)state);
    sy_w64(im, f + SY_FR_EXE, code | 1); /* tagged stack ref */
    sy_w64(im, f + SY_FR_IP, code + im->hdr + SY_CODE_ADAPT + 2 * unit);
    sy_w8(im, f + SY_FR_OWNER, 1);
    unsigned slot = im->minor == 14 ? 1 : 2;
    uint64_t sp = f + SY_FR_LOCALS + 8 * 3;
    sy_w64(im, f + SY_FR_SP, sp);
    sy_w64(im, sp - 8 * slot, awaits ? (awaits | 1) : 0);
    if (im->minor == 15) sy_w64(im, sp - 8, 1); /* PyStackRef_NULL on top */
    return g;
}
/* The interpreter frame embedded in a coroutine. */
static inline uint64_t sy_coro_frame(const sy_image_t *im, uint64_t coro)
{
    return coro + im->hdr + SY_GEN_FRAME;
}
static inline uint64_t sy_coro(sy_image_t *im, uint64_t code, unsigned unit, uint64_t awaits)
{
    return sy_coro_type(im, im->t_coroutine, code, unit, awaits,
                        awaits ? sy_state_yield_from(im) : sy_state_suspended(im));
}

static inline uint64_t sy_future(sy_image_t *im)
{
    uint64_t t = sy_alloc(im, SY_T_SIZE + im->hdr);
    sy_w64(im, t + im->hdr + SY_OBTYPE, im->t_future);
    return t;
}

static inline uint64_t sy_task(sy_image_t *im, uint64_t name, uint64_t coro)
{
    uint64_t t = sy_alloc(im, SY_T_SIZE + im->hdr);
    sy_w64(im, t + im->hdr + SY_OBTYPE, im->t_task);
    sy_w8(im, t + im->hdr + SY_T_ISTASK, 1);
    sy_w64(im, t + im->hdr + SY_T_NAME, name);
    sy_w64(im, t + im->hdr + SY_T_CORO, coro);
    return t;
}

static inline void sy_awaited_by(sy_image_t *im, uint64_t task, uint64_t waiter)
{
    sy_w64(im, task + im->hdr + SY_T_AB, waiter);
    sy_w8(im, task + im->hdr + SY_T_ISSET, 0);
}

/* awaited_by as a set with the waiters in the given slot positions of an 8-slot table. */
static inline void sy_awaited_by_set(sy_image_t *im, uint64_t task, const uint64_t *w, size_t n)
{
    uint64_t s = sy_alloc(im, SY_SET_SIZE + im->hdr);
    uint64_t table = sy_alloc(im, 8 * 16);
    sy_w64(im, s + im->hdr + SY_OBTYPE, im->t_set);
    sy_w64(im, s + im->hdr + SY_SET_USED, n);
    sy_w64(im, s + im->hdr + SY_SET_MASK, 7);
    sy_w64(im, s + im->hdr + SY_SET_TABLE, table);
    for (size_t i = 0; i < n; i++) {
        sy_w64(im, table + 16 * (2 * i + 1), w[i]); /* odd slots: order by slot */
        sy_w64(im, table + 16 * (2 * i + 1) + 8, 12345 + i);
    }
    /* a deleted ("dummy") entry in slot 0 must be skipped */
    sy_w64(im, table, SY_BASE + 16);
    sy_w64(im, table + 8, (uint64_t)-1);
    sy_w64(im, task + im->hdr + SY_T_AB, s);
    sy_w8(im, task + im->hdr + SY_T_ISSET, 1);
}

/* Link tasks into the circular list whose head node is at `head`. */
static inline void sy_list(sy_image_t *im, uint64_t head, const uint64_t *tasks, size_t n)
{
    uint64_t prev = head;
    for (size_t i = 0; i < n; i++) {
        uint64_t node = tasks[i] + im->hdr + SY_T_NODE;
        sy_w64(im, prev, node);   /* prev->next */
        sy_w64(im, node + 8, prev);                      /* node->prev */
        prev = node;
    }
    sy_w64(im, prev, head);
    sy_w64(im, head + 8, prev);
}

static inline uint64_t sy_thread(sy_image_t *im, uint64_t native_id)
{
    uint64_t ts = sy_alloc(im, SY_TSI_SIZE);
    sy_w64(im, ts + SY_TS_NTID, native_id);
    sy_w64(im, ts + SY_TS_INTERP, im->interp);
    uint64_t head = ts + SY_TS_TASKS;
    sy_w64(im, head, head);
    sy_w64(im, head + 8, head);
    /* push at the head of the interpreter's thread list (newest first) */
    sy_w64(im, ts + SY_TS_NEXT, sy_r64(im, im->interp + SY_IS_THEAD));
    sy_w64(im, im->interp + SY_IS_THEAD, ts);
    if (!sy_r64(im, im->interp + SY_IS_TMAIN)) sy_w64(im, im->interp + SY_IS_TMAIN, ts);
    if (im->minor == 15) sy_w64(im, ts + SY_TS_FRAME, ts + SY_TS_BASE);
    return ts;
}

/* Write the _Py_DebugOffsets table in the order of the target version.
 * H(x): an offset inside an object, past the (larger, when ft) header. */
static inline void sy_tables(sy_image_t *im, uint64_t version)
{
    unsigned m = im->minor;
    uint64_t v[128];
    size_t n = 0;
#define P(x) v[n++] = (uint64_t)(x)
#define H(x) P((x) + im->hdr)
    memcpy(&v[0], "xdebugpy", 8);
    n = 1;
    P(version); P(im->ft);
    P(SY_RT_SIZE); P(0); P(SY_RT_INTERP);
    P(SY_IS_SIZE); P(SY_IS_ID); P(SY_IS_NEXT); P(SY_IS_THEAD); P(SY_IS_TMAIN);
    for (int i = 0; i < 11; i++) P(40 + 8 * i); /* gc .. tlbc_generation */
    P(SY_TS_SIZE); P(SY_TS_PREV); P(SY_TS_NEXT); P(SY_TS_INTERP); P(SY_TS_FRAME);
    if (m == 15) { P(SY_TS_BASE); P(120); P(128); }
    P(SY_TS_TID); P(SY_TS_NTID); P(64); P(72);
    if (m == 15) { P(76); P(80); P(136); P(144); P(0); }
    P(SY_FR_SIZE); P(SY_FR_PREV); P(SY_FR_EXE); P(SY_FR_IP); P(SY_FR_LOCALS); P(SY_FR_OWNER);
    P(SY_FR_SP); P(im->ft ? SY_FR_TLBC : 0);
    H(SY_CODE_SIZE); H(SY_CODE_FILE); H(SY_CODE_NAME); H(SY_CODE_QUAL); H(SY_CODE_LT);
    H(SY_CODE_FIRST); H(52); H(96); H(104); H(SY_CODE_ADAPT);
    P(im->ft ? SY_CODE_TLBC + im->hdr : 0);
    H(SY_PYOBJ); H(SY_OBTYPE);
    H(SY_TYPE_SIZE); H(SY_TP_NAME); H(88); H(SY_TP_FLAGS);
    if (m == 15) { H(32); H(288); H(944); H(888); }
    H(40); H(32); H(16); /* tuple */
    H(40); H(24); H(16); /* list */
    H(SY_SET_SIZE); H(SY_SET_USED); H(SY_SET_TABLE); H(SY_SET_MASK);
    H(48); H(32); H(40); /* dict */
    H(24); H(16);        /* float */
    H(SY_LONG_SIZE); H(SY_LONG_TAG); H(SY_LONG_DIGIT);
    H(SY_BYTES_SIZE); H(SY_BYTES_LEN); H(SY_BYTES_SVAL);
    H(SY_STR_SIZE); H(SY_STR_STATE); H(SY_STR_LEN); H(SY_STR_ASCII);
    if (m == 15) H(SY_STR_COMPACT);
    P(264); P(192);
    if (m == 15) { P(120); P(1120); P(104); }
    H(SY_GEN_SIZE); H(SY_GEN_NAME); H(SY_GEN_FRAME); H(SY_GEN_STATE);
    P(0); P(8);
    P(24); P(0); P(0); P(0); P(0); P(512);
#undef H
#undef P
    im->runtime = sy_alloc(im, SY_RT_SIZE);
    memcpy(sy_ptr(im, im->runtime), v, n * 8);
    /* runtime_state fields live inside the same struct, after the table */
    im->interp = sy_alloc(im, SY_IS_SIZE);
    sy_w64(im, im->runtime + SY_RT_INTERP, im->interp);
    sy_w64(im, im->interp + SY_IS_ID, 0);
    uint64_t oh = im->interp + SY_IS_TASKS;
    sy_w64(im, oh, oh);
    sy_w64(im, oh + 8, oh);
    const uint64_t h = im->hdr; /* a task is an object; the states are not */
    uint64_t a[13] = {SY_T_SIZE + h, SY_T_NAME + h, SY_T_AB + h, SY_T_ISTASK + h,
                      SY_T_ISSET + h, SY_T_CORO + h, SY_T_NODE + h, SY_IS_SIZE, SY_IS_TASKS,
                      SY_TSI_SIZE, SY_TS_LOOP, SY_TS_RUNNING, SY_TS_TASKS};
    im->asyncio = sy_alloc(im, sizeof a);
    memcpy(sy_ptr(im, im->asyncio), a, sizeof a);
}

static inline void sy_init_ex(sy_image_t *im, unsigned minor, uint64_t version, int ft)
{
    memset(im, 0, sizeof *im);
    im->mem = calloc(1, SY_SIZE);
    im->minor = minor;
    im->ft = ft;
    im->hdr = ft ? SY_FT_HDR : 0;
    im->used = 16;
    im->t_str = sy_type(im, "str", 1ull << 28);
    im->t_int = sy_type(im, "int", 1ull << 24);
    im->t_bytes = sy_type(im, "bytes", 1ull << 27);
    im->t_code = sy_type(im, "code", 0);
    im->t_coroutine = sy_type(im, "coroutine", 0);
    im->t_agen = sy_type(im, "async_generator", 0);
    im->t_asend = sy_type(im, "async_generator_asend", 0);
    im->t_future = sy_type(im, "_asyncio.Future", 0);
    im->t_task = sy_type(im, "_asyncio.Task", 0);
    im->t_set = sy_type(im, "set", 0);
    sy_tables(im, version);
}

/* A GIL build's image (what every test had before free-threaded images). */
static inline void sy_init(sy_image_t *im, unsigned minor, uint64_t version)
{
    sy_init_ex(im, minor, version, 0);
}

/* A free-threaded (Py_GIL_DISABLED) build's image. */
static inline void sy_init_ft(sy_image_t *im, unsigned minor, uint64_t version)
{
    sy_init_ex(im, minor, version, 1);
}

static inline void sy_fini(sy_image_t *im)
{
    free(im->mem);
    im->mem = NULL;
}

static inline pag_err_t sy_read(void *ctx, uint64_t addr, size_t len, void *dst)
{
    sy_image_t *im = ctx;
    if (addr < SY_BASE || len > SY_SIZE || addr - SY_BASE > SY_SIZE - len) return PAG_ERR_READ;
    if (im->fail_reads_above && addr + len > SY_BASE + (uint64_t)im->fail_reads_above)
        return PAG_ERR_READ;
    memcpy(dst, im->mem + (addr - SY_BASE), len);
    return PAG_OK;
}

static inline pag_err_t sy_find(void *ctx, pag_lookup_kind_t kind, const char *name,
                                unsigned index, uint64_t *addr, uint64_t *size)
{
    sy_image_t *im = ctx;
    if (index != 0) return PAG_ERR_NOT_FOUND;
    if (kind == PAG_LOOKUP_SYMBOL && !strcmp(name, "_PyRuntime")) {
        *addr = im->runtime;
        *size = 0;
        return PAG_OK;
    }
    if (kind == PAG_LOOKUP_SECTION && !strcmp(name, ".AsyncioDebug") && !im->hide_asyncio) {
        *addr = im->asyncio;
        *size = 104;
        return PAG_OK;
    }
    return PAG_ERR_NOT_FOUND;
}

/* The image is one module, for --info. */
static pag_err_t sy_module_of(void *ctx, uint64_t addr, char *name, size_t len)
{
    (void)ctx, (void)addr;
    snprintf(name, len, "synthetic-image");
    return PAG_OK;
}

static const pag_accessors_t sy_accessors = {sy_read, sy_find, NULL, sy_module_of, NULL};

#endif
