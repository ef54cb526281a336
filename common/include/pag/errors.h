/* py-async-graph: error codes, their texts and exit statuses -- the ABI
 * every frontend shares with the core.
 *
 * One list makes the enum, the texts (pag_strerror), the names
 * (pag_err_name) and the exit-status mapping (pag_exit_code), as libdwfl's
 * DWFL_ERRORS does, so none of them can drift from the others.  The numbers
 * are pinned: a frontend that was built against them (the gdb script reads
 * them from the generated pag_abi.py) keeps working until PAG_ABI_VERSION
 * changes.  Append new codes; never renumber.
 */
#ifndef PAG_ERRORS_H
#define PAG_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PAG_API __attribute__((visibility("default")))
#else
#define PAG_API
#endif

/* The layout of every struct and enum a frontend passes across the C
 * boundary (pag_accessors_t, pag_frontend_t, pag_result_t, pag_source_t,
 * pag_options_t, the codes below).  Bumped on any incompatible change. */
#define PAG_ABI_VERSION 4

/* Exit statuses of every frontend (documented in docs/user-guide.md).
 * X(NAME, value, meaning) */
// clang-format off
#define PAG_EXITS(X)                                                                 \
    X(OK,          0,  "success")                                                    \
    X(INTERNAL,    1,  "out of memory, output error")                                \
    X(USAGE,       2,  "bad options")                                                \
    X(NO_PROCESS,  3,  "no such PID / file")                                         \
    X(PERMISSION,  4,  "ptrace or read refused")                                     \
    X(NOT_PYTHON,  5,  "not a CPython process")                                      \
    X(TOO_OLD,     6,  "CPython older than 3.14")                                    \
    X(UNSUPPORTED, 7,  "unknown newer CPython / build flavour; compressed or piped core") \
    X(CORRUPT,     8,  "corrupt or inconsistent target data; a core that is not ELF")  \
    X(NO_TASK,     9,  "unknown task or thread")                                     \
    X(PARTIAL,     10, "output printed, but some tasks could not be decoded")        \
    X(CHANGED,     11, "--no-stop: target kept changing while read")                 \
    X(TRUNCATED,   12, "core file truncated")                                        \
    X(READ,        13, "target memory needed for the graph is unreadable")

/* Error codes.  Distinct conditions get distinct codes so that frontends
 * can give one clear line and a documented exit status.
 * X(NAME, value, text, exit status) */
#define PAG_ERRORS(X)                                                                \
    X(OK,             0,  "success",                                        OK)          \
    X(NOMEM,          1,  "out of memory",                                  INTERNAL)    \
    X(INVALID_ARG,    2,  "invalid argument",                               USAGE)       \
    X(READ,           3,  "cannot read target memory",                      READ)        \
    X(NOT_FOUND,      4,  "not found",                                      INTERNAL)    \
    X(NOT_PYTHON,     5,  "not a CPython process (no _PyRuntime debug tables)", NOT_PYTHON) \
    X(PYTHON_TOO_OLD, 6,  "CPython older than 3.14 is not supported",       TOO_OLD)     \
    X(UNSUPPORTED,    7,  "unsupported CPython version or build",           UNSUPPORTED) \
    X(NO_ASYNCIO,     8,  "asyncio is not loaded in the target",            OK)          \
    X(CORRUPT,        9,  "corrupt or inconsistent target data",            CORRUPT)     \
    X(NO_TASK,        10, "no such task",                                   NO_TASK)     \
    X(NO_PROCESS,     11, "no such process or file",                        NO_PROCESS)  \
    X(PERMISSION,     12, "permission denied",                              PERMISSION)  \
    X(TRUNCATED,      13, "core file is truncated",                         TRUNCATED)   \
    X(CHANGED,        14, "target changed while reading",                   CHANGED)     \
    X(IO,             15, "cannot write output",                            INTERNAL)
// clang-format on

#define PAG__EXIT_ENUM(name, value, meaning) PAG_EXIT_##name = value,
enum { PAG_EXITS(PAG__EXIT_ENUM) };
#undef PAG__EXIT_ENUM

#define PAG__ERR_ENUM(name, value, text, exit) PAG_ERR_##name = value,
typedef enum pag_err { PAG_ERRORS(PAG__ERR_ENUM) PAG_ERR__COUNT } pag_err_t;
#undef PAG__ERR_ENUM
/* PAG_OK is the one code without the PAG_ERR_ prefix. */
#define PAG_OK PAG_ERR_OK

/* A human-readable, one-line description of an error code. */
PAG_API const char *pag_strerror(pag_err_t err);
/* The code's name without its prefix ("READ"), or NULL if unknown. */
PAG_API const char *pag_err_name(pag_err_t err);
/* The exit status (PAG_EXIT_*) that every frontend uses for err. */
PAG_API int pag_exit_code(pag_err_t err);
/* PAG_ABI_VERSION of the library actually loaded (the gdb script checks it). */
PAG_API int pag_abi_version(void);

#ifdef __cplusplus
}
#endif
#endif
