/* Private to the snapshot walk, whose concerns are split over snapshot.c
 * (the entry points and the interpreter/thread walk), frames.c (code objects,
 * frames, coroutine chains and thread stacks), tasks.c (task lists, nodes and
 * names) and awaiters.c (awaited_by sets and the order Python iterates them).
 * They share one walker_t, declared here with the functions one file calls in
 * another; each is hidden like every non-API symbol of the core (the build's
 * default visibility), and everything else stays static in its file. */
#ifndef PAG_WALK_H
#define PAG_WALK_H

#include "internal.h"

typedef struct snap_impl {
    pag_snapshot_t pub;
    pag_arena_t arena;
    pag_map_t nodes; /* task/future address -> index */
    /* Awaiters that a consistent graph does not have: a task on no task
     * list (a waiting task is always on one) or an object whose type is not
     * a Future's or a Task's.  Damage in a stopped target, shown as read;
     * a change under --no-stop, read again (pag__snapshot_suspect). */
    size_t n_suspect;
} snap_impl_t;

typedef struct code_info {
    const char *qualname, *filename;
    int firstlineno;
    const uint8_t *linetable;
    size_t linetable_len;
    uint64_t base; /* address of the first code unit */
    int bad;
} code_info_t;

typedef struct raw_awaiters {
    uint64_t *addrs;
    size_t n;
    /* from a set: each member's stored hash, the set's mask, and its fill
     * (live + deleted slots); hashes is NULL for a single awaiter */
    int64_t *hashes;
    uint64_t set_mask;
    size_t set_fill;
} raw_awaiters_t;

typedef struct walker {
    pag_session_t *s;
    snap_impl_t *snap;
    pag_arena_t *arena;
    size_t tasks_cap, threads_cap, warnings_cap;
    raw_awaiters_t *raw; /* parallel to tasks */
    pag_map_t types;     /* type address -> enum type_kind */
    pag_map_t codes;     /* code address -> index in code_infos */
    code_info_t *code_infos;
    size_t n_codes, codes_cap;
    pag_map_t lines;     /* instr_ptr -> line + 2 */
    pag_map_t fut_types; /* type address -> 1 Future/Task type, 2 other */
    pag_strbuf_t sb;
    pag_frame_t *fscratch;
    size_t fscratch_cap;
    uint8_t *objbuf;                    /* scratch for one task object */
    uint8_t *batch;                     /* PAG_LIST_BATCH task objects (walk_list) */
    uint64_t chain[PAG_MAX_CORO_CHAIN]; /* coroutines on the current chain */
    size_t chain_n;
    int oom;
    int warned_limit[8];
    unsigned flags;                 /* PAG_SNAP_* */
    pag_native_frame_t *native_buf; /* PAG_MAX_NATIVE_FRAMES records for the accessor */
} walker_t;

/* snapshot.c: what every part of the walk reports or keeps */
void pag__walk_warn(walker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *pag__walk_intern(walker_t *w, const char *s, size_t n);

/* frames.c */
pag_err_t pag__coro_chain(walker_t *w, uint64_t coro, pag_stack_t *st, const char **detail);
void pag__thread_stack(walker_t *w, uint64_t tstate, uint64_t current_frame, uint64_t coro,
                       pag_stack_t *st);
void pag__thread_pystack(walker_t *w, uint64_t tid, uint64_t tstate, uint64_t current_frame,
                         pag_stack_t *st);

/* native.c: the native side of a snapshot (issue 14) */
void pag__walk_native(walker_t *w, size_t ti);
void pag__walk_gil(walker_t *w, uint64_t interp, int64_t interp_id, size_t first_thread);

/* tasks.c */
size_t pag__new_node(walker_t *w, uint64_t addr);
void pag__node_fail(walker_t *w, size_t i, pag_err_t e, const char *detail);
void pag__decode_node(walker_t *w, size_t i, const uint8_t *ob);
pag_thread_t *pag__new_thread(walker_t *w);
/* PAG_ERR_READ: the head cannot be read; PAG_ERR_CORRUPT: it is NULL (no
 * list head); each reported as before.  Otherwise PAG_OK. */
pag_err_t pag__walk_list(walker_t *w, size_t thread_idx, uint64_t head);

/* awaiters.c */
void pag__read_awaiters(walker_t *w, size_t i, uint64_t ab, int is_set);
void pag__resolve_awaiters(walker_t *w);

/* snapshot.c, for command.c: the count of suspect awaiters (see snap_impl_t). */
size_t pag__snapshot_suspect(const pag_snapshot_t *snap);

#endif
