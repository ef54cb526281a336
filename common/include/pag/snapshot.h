/* py-async-graph: a decoded, self-contained picture of a target's asyncio state.
 *
 * A snapshot is taken once (pag_snapshot_take) and then only read: the
 * formatters, the frontends and the tests all work from this plain data and
 * never go back to target memory.  Every string is UTF-8 and owned by the
 * snapshot.
 */
#ifndef PAG_SNAPSHOT_H
#define PAG_SNAPSHOT_H

#include "pag/target.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pag_frame_kind {
    PAG_FRAME_SYNC = 0,      /* a plain function frame */
    PAG_FRAME_ASYNC = 1,     /* a coroutine */
    PAG_FRAME_ASYNC_GEN = 2, /* an async generator */
    PAG_FRAME_GEN = 3,       /* a generator */
} pag_frame_kind_t;

typedef struct pag_frame {
    const char *qualname; /* co_qualname, never NULL */
    const char *filename; /* co_filename, never NULL */
    int lineno;           /* -1 when the location table gives none */
    pag_frame_kind_t kind;
    /* The address of the C entry (or shim) frame just outward of this one,
     * 0 when there is none: where the evaluator was entered from C, so the
     * next frame outward belongs to another _PyEval_EvalFrameDefault call
     * (issue 14's native merge).  Set in pag_thread_t.py_stack only. */
    uint64_t entry;
} pag_frame_t;

typedef struct pag_stack {
    pag_frame_t *frames; /* innermost (leaf) first */
    size_t n;
} pag_stack_t;

typedef enum pag_task_state {
    PAG_TASK_PENDING = 0,
    PAG_TASK_CANCELLED = 1,
    PAG_TASK_FINISHED = 2,
    PAG_TASK_UNKNOWN = 3,
} pag_task_state_t;

/* A node of the graph: a Task, or a bare Future seen only as an awaiter. */
typedef struct pag_task {
    uint64_t addr;    /* id(task) in the target */
    int is_task;      /* 1 Task, 0 Future */
    int listed;       /* 1 if found in a task list, 0 if reached only as an awaiter */
    const char *name; /* Task name (str or "Task-N"); NULL for Futures */
    pag_task_state_t state;
    size_t thread;     /* index into pag_snapshot.threads of the list holding it, or SIZE_MAX */
    int running;       /* 1 if it is its thread's running task */
    pag_stack_t stack; /* coroutine chain, innermost first (what ps/pstree show) */
    /* For a running task: the thread's real frame stack down to the task's
     * coroutine, sync frames included, innermost first.  Empty otherwise. */
    pag_stack_t running_stack;
    size_t *awaited_by; /* indices into pag_snapshot.tasks, in set-slot order */
    /* The same n_awaited_by awaiters in the order Python iterates
     * fut._asyncio_awaited_by -- a frozenset copy of the set, whose table
     * can differ from the set's -- which asyncio.format_call_graph()
     * follows.  NULL when that order is awaited_by's. */
    size_t *awaited_by_iter;
    size_t n_awaited_by;
    pag_err_t error;          /* PAG_OK, or why this node could not be fully decoded */
    const char *error_detail; /* NULL or a short text */
} pag_task_t;

typedef struct pag_thread {
    int64_t interp_id;
    uint64_t native_id;    /* OS thread id; 0 for an interpreter's list of orphaned tasks */
    uint64_t tstate;       /* PyThreadState address; 0 for the orphan list */
    int is_main;           /* the interpreter's main thread */
    uint64_t running_loop; /* 0 if none */
    size_t running_task;   /* index into tasks, or SIZE_MAX */
    size_t first_task;     /* the tasks of this list are tasks[first_task .. first_task+n_tasks) */
    size_t n_tasks;
    /* issue 14 (0 / empty for an orphan list) */
    pag_stack_t py_stack;       /* the thread's whole Python stack, innermost first */
    pag_native_frame_t *native; /* PAG_SNAP_NATIVE: its native stack, innermost first; the
                                   strings are the snapshot's */
    size_t n_native;
    pag_err_t native_error;  /* PAG_OK; PAG_ERR_TRUNCATED (unwinding stopped early, see
                                native_note); PAG_ERR_UNSUPPORTED (no unwinder) ... */
    const char *native_note; /* why the native stack ends early, or NULL */
    int holds_gil;           /* 1 / 0, or -1 when not known (free-threaded, unread) */
    int gil_requested;       /* 1 / 0 (3.15's thread state), or -1 when not known */
    int in_callback;         /* a loop with no running task, inside a callback (Handle._run) */
} pag_thread_t;

/* A cycle in the awaited-by graph: node indices, the first repeated at the end. */
typedef struct pag_cycle {
    size_t *nodes;
    size_t n;
} pag_cycle_t;

typedef struct pag_stats {
    uint64_t read_calls; /* calls made to the read/readv callbacks */
    uint64_t bytes_read; /* bytes those calls returned */
    uint64_t cache_hits; /* reads served by the core's page cache */
} pag_stats_t;

typedef struct pag_snapshot {
    uint64_t py_version; /* PY_VERSION_HEX of the target */
    int free_threaded;
    int asyncio_loaded;    /* 0: no AsyncioDebug table, the graph is empty */
    pag_thread_t *threads; /* thread lists in walk order (per interpreter: threads newest first,
                              then orphans) */
    size_t n_threads;
    pag_task_t *tasks; /* listed tasks in list order, then unlisted awaiters */
    size_t n_tasks;
    pag_cycle_t *cycles;
    size_t n_cycles;
    const char **warnings; /* "truncated: ..." and similar notes */
    size_t n_warnings;
    size_t n_failed; /* tasks whose error != PAG_OK */
    /* Signs that a live target changed while it was read (a list node whose
     * prev does not point back, a node seen twice).  A frontend reading
     * without stopping the target retries when this is non-zero. */
    size_t n_inconsistent;
    pag_stats_t stats;
    /* issue 14: the main interpreter's GIL (GIL builds) */
    int gil_known;       /* 1 when the GIL state below was read */
    int gil_locked;      /* the GIL is held */
    size_t gil_holder;   /* index into threads of its holder, or SIZE_MAX */
    unsigned flags;      /* the PAG_SNAP_* it was taken with */
    size_t n_cut_stacks; /* thread stacks that stop at an unreadable or zeroed frame */
} pag_snapshot_t;

typedef struct pag_session pag_session_t;

/* Bind to a target: find _PyRuntime, validate its tables, find AsyncioDebug.
 * On failure returns NULL and sets *err. */
PAG_API pag_session_t *pag_session_create(const pag_accessors_t *acc, void *ctx, pag_err_t *err);
/* The same, and on failure writes a one-line detail ("the target runs
 * CPython 3.13; ...") into msg.  Frontends should use this one. */
PAG_API pag_session_t *pag_session_create_ex(const pag_accessors_t *acc, void *ctx, pag_err_t *err,
                                             char *msg, size_t msglen);
PAG_API void pag_session_destroy(pag_session_t *s);
/* A detail line for the last error of the session (may be ""). */
PAG_API const char *pag_session_errmsg(const pag_session_t *s);
/* Target version as PY_VERSION_HEX. */
PAG_API uint64_t pag_session_version(const pag_session_t *s);

/* Read the whole asyncio state.  Per-task failures are recorded in the
 * task (and counted in n_failed); only a failure to read the interpreter
 * and thread structure fails the whole call. */
PAG_API pag_err_t pag_snapshot_take(pag_session_t *s, pag_snapshot_t **out);
/* What a snapshot reads beyond the graph (issue 14). */
enum {
    PAG_SNAP_NATIVE = 1u << 0, /* every thread's native stack, through acc.native_frames */
    PAG_SNAP_STACKS = 1u << 1, /* every thread's whole Python stack (--all-threads) */
};
PAG_API pag_err_t pag_snapshot_take_ex(pag_session_t *s, unsigned flags, pag_snapshot_t **out);
PAG_API void pag_snapshot_destroy(pag_snapshot_t *snap);

/* Find a node by address; SIZE_MAX if absent. */
PAG_API size_t pag_snapshot_find(const pag_snapshot_t *snap, uint64_t addr);

#ifdef __cplusplus
}
#endif
#endif
