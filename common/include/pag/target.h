/* py-async-graph: how the core reaches a target process or core file.
 *
 * The core never touches the target itself.  A frontend (CLI, gdb, lldb)
 * fills in a pag_accessors and passes an opaque context pointer; the core
 * calls back through it to read bytes and to look names up.  This mirrors
 * libunwind's unw_accessors_t.
 */
#ifndef PAG_TARGET_H
#define PAG_TARGET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PAG_API __attribute__((visibility("default")))
#else
#define PAG_API
#endif

/* Error codes.  Distinct conditions get distinct codes so that frontends
 * can give one clear line and a documented exit status (pag_exit_code). */
typedef enum pag_err {
    PAG_OK = 0,
    PAG_ERR_NOMEM,          /* the debugger side ran out of memory */
    PAG_ERR_INVALID_ARG,    /* a bad option or argument */
    PAG_ERR_READ,           /* target memory could not be read */
    PAG_ERR_NOT_FOUND,      /* a section/symbol lookup found nothing (callback use) */
    PAG_ERR_NOT_PYTHON,     /* no _PyRuntime / debug cookie: not a CPython process */
    PAG_ERR_PYTHON_TOO_OLD, /* CPython older than 3.14 */
    PAG_ERR_UNSUPPORTED,    /* an unknown or newer CPython version or build flavour */
    PAG_ERR_NO_ASYNCIO,     /* no AsyncioDebug table: _asyncio not loaded */
    PAG_ERR_CORRUPT,        /* target data is inconsistent */
    PAG_ERR_NO_TASK,        /* --task/--thread matched nothing */
    PAG_ERR_NO_PROCESS,     /* the PID or file does not exist */
    PAG_ERR_PERMISSION,     /* the OS refused access to the target */
    PAG_ERR_TRUNCATED,      /* a core file is cut short */
    PAG_ERR_CHANGED,        /* a live target kept changing while read */
    PAG_ERR_IO,             /* writing the output failed */
    PAG_ERR__COUNT
} pag_err_t;

/* A human-readable, one-line description of an error code. */
PAG_API const char *pag_strerror(pag_err_t err);

/* What a lookup asks for. */
typedef enum pag_lookup_kind {
    PAG_LOOKUP_SECTION = 1, /* an ELF section (".PyRuntime") or Mach-O "__DATA,PyRuntime" */
    PAG_LOOKUP_SYMBOL = 2,  /* a dynamic or static symbol ("_PyRuntime") */
} pag_lookup_kind_t;

typedef struct pag_iov {
    uint64_t addr;
    size_t len;
    void *dst;
} pag_iov_t;

typedef struct pag_accessors {
    /* Read exactly len bytes at addr into dst.  Return PAG_OK, or
     * PAG_ERR_READ when any part is unreadable.  Required. */
    pag_err_t (*read)(void *ctx, uint64_t addr, size_t len, void *dst);

    /* Find the index-th match (0, 1, 2, ...) of a section or symbol across
     * all loaded modules, in any order.  Sections are asked for by their ELF
     * name (".PyRuntime", ".AsyncioDebug"); a Mach-O frontend maps that to
     * "__DATA,PyRuntime".  Sets the load address and size (0 if unknown).
     * Return PAG_ERR_NOT_FOUND once index passes the last match.  Required. */
    pag_err_t (*find)(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                      uint64_t *addr, uint64_t *size);

    /* Optional: read many ranges at once (e.g. process_vm_readv).  Each
     * entry succeeds or the call fails as a whole; the core then falls back
     * to single reads. */
    pag_err_t (*readv)(void *ctx, const pag_iov_t *iov, size_t n);
} pag_accessors_t;

/* Exit codes used by every frontend (documented in docs/user-guide.md). */
enum {
    PAG_EXIT_OK = 0,
    PAG_EXIT_INTERNAL = 1,    /* out of memory, output error */
    PAG_EXIT_USAGE = 2,       /* bad options */
    PAG_EXIT_NO_PROCESS = 3,  /* no such PID / file */
    PAG_EXIT_PERMISSION = 4,  /* ptrace or read refused */
    PAG_EXIT_NOT_PYTHON = 5,  /* not a CPython process */
    PAG_EXIT_TOO_OLD = 6,     /* CPython older than 3.14 */
    PAG_EXIT_UNSUPPORTED = 7, /* unknown newer CPython / build flavour */
    PAG_EXIT_CORRUPT = 8,     /* corrupt or inconsistent target data */
    PAG_EXIT_NO_TASK = 9,     /* unknown task or thread */
    PAG_EXIT_PARTIAL = 10,    /* output printed, but some tasks could not be decoded */
    PAG_EXIT_CHANGED = 11,    /* --no-stop: target kept changing while read */
    PAG_EXIT_TRUNCATED = 12,  /* core file truncated */
    PAG_EXIT_READ = 13,       /* target memory needed for the graph is unreadable */
};

/* Map an error code to the exit code above. */
PAG_API int pag_exit_code(pag_err_t err);

#ifdef __cplusplus
}
#endif
#endif
