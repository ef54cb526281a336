/* Private declarations shared by the decoder's files (session, cache,
 * pyread, snapshot).  Nothing here is visible outside the core library. */
#ifndef PAG_INTERNAL_H
#define PAG_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "pag/snapshot.h"

/* ---- Limits.  Each is reported ("truncated: ...") when hit, never fatal. ---- */
#define PAG_MAX_INTERPRETERS 4096         /* interpreters walked */
#define PAG_MAX_THREADS 65536             /* thread states per interpreter */
#define PAG_MAX_CORO_CHAIN 4096           /* coroutines followed from one task */
#define PAG_MAX_THREAD_FRAMES 16384       /* frames walked on one thread stack */
#define PAG_MAX_SET_SLOTS (1u << 22)      /* slots of one awaited_by set (64 MiB of table) */
#define PAG_MAX_STR_CHARS 65536           /* code points kept from one str */
#define PAG_MAX_LINETABLE (1u << 20)      /* bytes of one location table */
#define PAG_MAX_LONG_DIGITS 4             /* digits of a Task-N counter (120 bits) */
#define PAG_MAX_OBJECT_SIZE (1u << 20)    /* largest struct size a table may declare */
#define PAG_MAX_NODES (64u * 1024 * 1024) /* tasks + futures in one snapshot */
#define PAG_MAX_TASKS_PER_LIST (64u * 1024 * 1024)
/* entries of one code object's thread-local bytecode array (free-threaded
 * builds): one per thread index, and CPython grows it by doubling, so up to
 * twice PAG_MAX_THREADS */
#define PAG_MAX_TLBC (2u * PAG_MAX_THREADS)
#ifndef PAG_LIST_BATCH
#define PAG_LIST_BATCH 128 /* tasks decoded per readv batch (walk_list) */
#endif

/* ---- Errors ---- */
struct pag_errbuf {
    char msg[256];
};
void pag__seterr(struct pag_errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Reading through the page cache ---- */
#ifndef PAG_PAGE_SHIFT
#define PAG_PAGE_SHIFT 13 /* 8 KiB blocks: few callback calls even through gdb */
#endif
#define PAG_PAGE_SIZE (1u << PAG_PAGE_SHIFT)
#ifndef PAG_CACHE_SLOTS
#define PAG_CACHE_SLOTS 1024 /* 8 MiB */
#endif

typedef struct pag_cache {
    /* The frontend's accessors, copied (the contract in pag/target.h: the
     * caller's struct need not outlive session creation); acc points here. */
    pag_accessors_t acc_copy;
    const pag_accessors_t *acc;
    void *ctx;
    uint64_t *tags; /* page number + 1 per slot; 0 = empty */
    uint8_t *data;  /* PAG_CACHE_SLOTS * PAG_PAGE_SIZE */
    uint32_t *mark; /* pag__prefetch: slots taken by the current batch */
    uint32_t epoch;
    pag_stats_t stats;
} pag_cache_t;

int pag__cache_init(pag_cache_t *c, const pag_accessors_t *acc, void *ctx);
void pag__cache_fini(pag_cache_t *c);
void pag__cache_clear(pag_cache_t *c);
/* Read len bytes at addr; whole pages are fetched and kept. */
pag_err_t pag__read(pag_cache_t *c, uint64_t addr, size_t len, void *dst);
/* Read straight through the callback (no caching); counts stats. */
pag_err_t pag__read_direct(pag_cache_t *c, uint64_t addr, size_t len, void *dst);
pag_err_t pag__read_u64(pag_cache_t *c, uint64_t addr, uint64_t *out);
/* Bring the blocks of many known addresses in with one readv call. */
void pag__prefetch(pag_cache_t *c, const uint64_t *addrs, size_t n);

/* ---- Unaligned field access on a copied struct ---- */
static inline uint64_t pag__u64(const uint8_t *buf, uint64_t off)
{
    uint64_t v;
    memcpy(&v, buf + off, 8);
    return v;
}
static inline uint32_t pag__u32(const uint8_t *buf, uint64_t off)
{
    uint32_t v;
    memcpy(&v, buf + off, 4);
    return v;
}
static inline int64_t pag__i64(const uint8_t *buf, uint64_t off)
{
    int64_t v;
    memcpy(&v, buf + off, 8);
    return v;
}

/* ---- Offsets taken from the target's tables ---- */
// clang-format off
typedef struct pag_offsets {
    uint64_t version, free_threaded;
    struct { uint64_t size, finalizing, interpreters_head; } runtime;
    struct {
        uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict, builtins,
            ceval_gil, gil_runtime_state, gil_enabled, gil_locked, gil_holder,
            code_object_generation, tlbc_generation;
    } interp;
    struct {
        uint64_t size, prev, next, interp, current_frame, base_frame, last_profiled_frame,
            last_profiled_frame_seq, thread_id, native_thread_id, datastack_chunk, status,
            holds_gil, gil_requested, current_exception, exc_state;
    } tstate;
    struct { uint64_t exc_value; } err_stackitem;
    struct {
        uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer, tlbc_index;
    } frame;
    struct {
        uint64_t size, filename, name, qualname, linetable, firstlineno, argcount, localsplusnames,
            localspluskinds, co_code_adaptive, co_tlbc;
    } code;
    struct { uint64_t size, ob_type; } pyobject;
    struct { uint64_t size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset; } type;
    struct { uint64_t size, ht_cached_keys; } heap_type;
    struct { uint64_t size, ob_item, ob_size; } tuple, list;
    struct { uint64_t size, used, table, mask; } set;
    struct { uint64_t size, ma_keys, ma_values; } dict;
    struct { uint64_t size, ob_fval; } float_;
    struct { uint64_t size, lv_tag, ob_digit; } long_;
    struct { uint64_t size, ob_size, ob_sval; } bytes;
    struct { uint64_t size, state, length, asciiobject_size, compact_size; } unicode;
    struct { uint64_t size, collecting, frame, generation_stats_size, generation_stats; } gc;
    struct { uint64_t size, gi_name, gi_iframe, gi_frame_state; } gen;
    struct { uint64_t next, prev; } llist;
    struct {
        uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
            debugger_pending_call, debugger_script_path, debugger_script_path_size;
    } debugger;
} pag_offsets_t;

typedef struct pag_async_offsets {
    struct { uint64_t size, name, awaited_by, is_task, awaited_by_is_set, coro, node; } task;
    struct { uint64_t size, tasks_head; } interp;
    struct { uint64_t size, running_loop, running_task, tasks_head; } thread;
} pag_async_offsets_t;
// clang-format on

/* Values no table carries, from the version's row in versions.c (see the reference, preface). */
typedef struct pag_consts {
    int frame_created, frame_executing, frame_yield_from, frame_yield_from_locked, frame_cleared;
    int await_slot;      /* awaited object is stackpointer[-await_slot] */
    int owner_generator; /* FRAME_OWNED_BY_GENERATOR */
    int owner_interp;    /* frames with owner >= this are C/shim frames */
    uint64_t tag_mask;   /* ~tag bits of _PyStackRef and tagged fields */
    unsigned str_kind_shift, str_compact_bit, str_ascii_bit;
    int has_base_frame; /* 3.15: the thread stack ends at an embedded sentinel */
} pag_consts_t;

/* ---- One descriptor per supported CPython minor version (versions.c) ---- */
#define PAG_DEBUG_OFFSETS_HEADER 24 /* cookie, version, free_threaded */
#define PAG_MAX_DEBUG_OFFSETS 1024  /* bytes of _Py_DebugOffsets copied (3.15: 888) */
#define PAG_MAX_ASYNCIO_TABLE 256   /* bytes of the AsyncioDebug table copied (104) */
#define PAG_FIELD_UNCHECKED 0xffff  /* pag_field_t.size_at of a field the decoder never reads at */

/* How many bytes the decoder reads at a field's offset. */
enum pag_width_kind {
    PAG_W_CONST,     /* pag_field_t.width bytes */
    PAG_W_FRAME,     /* an embedded _PyInterpreterFrame: interpreter_frame.size bytes */
    PAG_W_LIST_NODE, /* a struct llist_node: up to its later link (llist_node.next/prev) + 8 */
};

/* One u64 of a debug table, in table order.
 *
 * The rule it carries: every field the decoder reads from a copied header
 * lies inside the bytes copied.  So size_at names the length the decoder
 * copies before it reads there -- for most structs the whole declared size,
 * for a str the PyASCIIObject header (unicode_object.asciiobject_size) --
 * and pag__fields_check refuses offset + width beyond it. */
typedef struct pag_field {
    const char *name; /* CPython's name, for messages: "thread_state.next" */
    uint16_t at;      /* where its value goes in the parsed struct */
    uint16_t size_at; /* the parsed struct's member that holds how many bytes of the struct
                         are copied before this offset is read (PAG_FIELD_UNCHECKED: never
                         read at, not checked) */
    uint8_t width;    /* PAG_W_CONST: bytes read at the offset (0: only an address) */
    uint8_t width_kind;
    uint8_t slack; /* bytes past the declared size that may be read (flexible arrays) */
} pag_field_t;

typedef struct pag_pyversion {
    unsigned minor;             /* 14 for CPython 3.14 */
    const char *text;           /* "3.14", for messages */
    const pag_field_t *offsets; /* _Py_DebugOffsets after the header -> pag_offsets_t */
    size_t n_offsets;
    const pag_field_t *asyncio; /* the AsyncioDebug table -> pag_async_offsets_t */
    size_t n_asyncio;
    /* non-zero: the table has no compact_size; it is asciiobject_size + this */
    unsigned compact_after_ascii;
    pag_consts_t k; /* all but the str bits, which depend on the build: */
    struct {
        unsigned kind_shift, compact_bit, ascii_bit;
    } str_state[2]; /* [free_threaded] */
} pag_pyversion_t;

/* The row for a _Py_DebugOffsets version (PY_VERSION_HEX); NULL, *e and a
 * message in *err (too old / newer than supported) when there is none. */
const pag_pyversion_t *pag__version_find(uint64_t version, struct pag_errbuf *err, pag_err_t *e);
/* Copy a table's u64 values into dst (pag_offsets_t or pag_async_offsets_t);
 * at most len bytes of buf are read. */
void pag__fields_parse(const pag_field_t *f, size_t n, const uint8_t *buf, size_t len, void *dst);
/* The first checked field of tab (a parsed table) whose offset + width does
 * not fit its struct's declared size, or NULL; *size gets that size.  Widths
 * that depend on the runtime table come from o. */
const pag_field_t *pag__fields_check(const pag_field_t *f, size_t n, const void *tab,
                                     const pag_offsets_t *o, uint64_t *size);
/* The fixed buffers the decoder copies a target struct into, whose copy
 * lengths come from the table (pag__copies_check refuses a table that
 * declares more at session creation; the copying code keeps its own check
 * as a second guard).  Heap copies (task and thread objects) are sized from
 * the table itself and bounded by PAG_MAX_OBJECT_SIZE. */
#define PAG_COPY_STR_HDR 128  /* pyread.c: a str header up to its data pointer */
#define PAG_COPY_BYTES_HDR 64 /* pyread.c: a bytes header up to ob_size */
#define PAG_COPY_CODE 4096    /* frames.c: a code object */
#define PAG_COPY_GEN 4096     /* frames.c: a coroutine with its embedded frame */
#define PAG_COPY_FRAME 1024   /* frames.c: an interpreter frame of a thread stack */
#define PAG_COPY_SET 1024     /* awaiters.c: an awaited_by set object */
/* The first copy of a parsed _Py_DebugOffsets table that does not fit its
 * buffer, or NULL; *len and *cap get the length and the buffer's size. */
const char *pag__copies_check(const pag_offsets_t *o, uint64_t *len, uint64_t *cap);
/* The name of the field of list f that fills member `at` ("?" if none). */
const char *pag__field_name(const pag_field_t *f, size_t n, uint16_t at);
/* The supported versions, from the table: "3.14, 3.15" and "3.14 and 3.15". */
const char *pag__versions_text(void);
const char *pag__versions_prose(void);
/* The whole table checked (each row's lists fit the buffers, fill each member
 * once, list and check every offset the decoder reads): 0, or -1 and why. */
int pag__versions_selfcheck(char *msg, size_t len);

struct pag_session {
    pag_cache_t cache;
    struct pag_errbuf err;
    uint64_t runtime_addr;
    const pag_pyversion_t *ver; /* the target's row in versions.c */
    pag_offsets_t off;
    pag_consts_t k;
    int have_async;
    int async_corrupt; /* an AsyncioDebug table was found but failed validation */
    uint64_t async_addr;
    pag_async_offsets_t aoff;
};

/* session.c */
pag_err_t pag__find_asyncio(pag_session_t *s);

/* ---- Address -> index hash map (open addressing) ---- */
typedef struct pag_mslot {
    uint64_t key; /* 0 = empty (address 0 is never a key) */
    size_t val;
} pag_mslot_t;
typedef struct pag_map {
    pag_mslot_t *slots; /* key and value side by side: one cache miss a probe */
    size_t cap, n;
} pag_map_t;

/* A 64-bit mixer (murmur3's finaliser) for hash tables. */
size_t pag__hash64(uint64_t k);
int pag__map_init(pag_map_t *m, size_t cap_hint);
void pag__map_fini(pag_map_t *m);
/* SIZE_MAX if absent */
size_t pag__map_get(const pag_map_t *m, uint64_t key);
/* 0 on success, -1 on out of memory */
int pag__map_put(pag_map_t *m, uint64_t key, size_t val);
/* Insert if absent: SIZE_MAX when inserted, the existing value when the key
 * was there, SIZE_MAX - 1 on out of memory. */
size_t pag__map_put_new(pag_map_t *m, uint64_t key, size_t val);
void pag__hint_huge(void *p, size_t n);

/* ---- Arena for snapshot strings and arrays ---- */
typedef struct pag_arena_chunk pag_arena_chunk_t;
typedef struct pag_arena {
    pag_arena_chunk_t *head;
    size_t used, cap;
} pag_arena_t;

void *pag__arena_alloc(pag_arena_t *a, size_t n);
char *pag__arena_strdup(pag_arena_t *a, const char *s, size_t n);
void pag__arena_fini(pag_arena_t *a);

/* ---- Python object readers (pyread.c) ---- */
typedef struct pag_strbuf {
    char *p;
    size_t n, cap;
} pag_strbuf_t;
int pag__sb_put(pag_strbuf_t *b, const void *data, size_t n);
int pag__sb_putc(pag_strbuf_t *b, char c);
void pag__sb_utf8(pag_strbuf_t *b, uint32_t cp);

/* Read a str object as UTF-8 into b (replacing its contents).  *truncated
 * is set when more than max_chars code points were dropped. */
pag_err_t pag__read_str(pag_session_t *s, uint64_t addr, size_t max_chars, pag_strbuf_t *b,
                        int *truncated);
/* Read a bytes object; at most max bytes. */
pag_err_t pag__read_bytes(pag_session_t *s, uint64_t addr, size_t max, pag_strbuf_t *b);
/* Read a small int (PyLong) into *out. */
pag_err_t pag__read_long(pag_session_t *s, uint64_t addr, int64_t *out);
/* tp_flags and tp_name (up to cap-1 bytes, NUL-terminated) of an object's type. */
pag_err_t pag__read_type(pag_session_t *s, uint64_t obj, uint64_t *type, uint64_t *flags);
pag_err_t pag__read_type_name(pag_session_t *s, uint64_t type, char *name, size_t cap);

/* Location table lookup: line of code unit addrq; -1 if none. */
int pag__linetable_line(const uint8_t *tab, size_t len, int firstlineno, uint64_t addrq);

#define PAG_TPFLAGS_HEAPTYPE (1ull << 9)
#define PAG_TPFLAGS_LONG_SUBCLASS (1ull << 24)
#define PAG_TPFLAGS_UNICODE_SUBCLASS (1ull << 28)

#endif
