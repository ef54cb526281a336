/* Error texts and exit codes.  Kept in one table so every frontend says the
 * same thing for the same condition. */
#include <stdio.h>

#include "internal.h"

static const char *const texts[PAG_ERR__COUNT] = {
    [PAG_OK] = "success",
    [PAG_ERR_NOMEM] = "out of memory",
    [PAG_ERR_INVALID_ARG] = "invalid argument",
    [PAG_ERR_READ] = "cannot read target memory",
    [PAG_ERR_NOT_FOUND] = "not found",
    [PAG_ERR_NOT_PYTHON] = "not a CPython process (no _PyRuntime debug tables)",
    [PAG_ERR_PYTHON_TOO_OLD] = "CPython older than 3.14 is not supported",
    [PAG_ERR_UNSUPPORTED] = "unsupported CPython version or build",
    [PAG_ERR_NO_ASYNCIO] = "asyncio is not loaded in the target",
    [PAG_ERR_CORRUPT] = "corrupt or inconsistent target data",
    [PAG_ERR_NO_TASK] = "no such task",
    [PAG_ERR_NO_PROCESS] = "no such process or file",
    [PAG_ERR_PERMISSION] = "permission denied",
    [PAG_ERR_TRUNCATED] = "core file is truncated",
    [PAG_ERR_CHANGED] = "target changed while reading",
    [PAG_ERR_IO] = "cannot write output",
};

const char *pag_strerror(pag_err_t err)
{
    if ((unsigned)err >= PAG_ERR__COUNT || !texts[err]) return "unknown error";
    return texts[err];
}

int pag_exit_code(pag_err_t err)
{
    // clang-format off
    switch (err) {
    case PAG_OK: return PAG_EXIT_OK;
    case PAG_ERR_INVALID_ARG: return PAG_EXIT_USAGE;
    case PAG_ERR_NO_PROCESS: return PAG_EXIT_NO_PROCESS;
    case PAG_ERR_PERMISSION: return PAG_EXIT_PERMISSION;
    case PAG_ERR_NOT_PYTHON: return PAG_EXIT_NOT_PYTHON;
    case PAG_ERR_PYTHON_TOO_OLD: return PAG_EXIT_TOO_OLD;
    case PAG_ERR_UNSUPPORTED: return PAG_EXIT_UNSUPPORTED;
    case PAG_ERR_CORRUPT: return PAG_EXIT_CORRUPT;
    case PAG_ERR_NO_TASK: return PAG_EXIT_NO_TASK;
    case PAG_ERR_TRUNCATED: return PAG_EXIT_TRUNCATED;
    case PAG_ERR_CHANGED: return PAG_EXIT_CHANGED;
    case PAG_ERR_READ: return PAG_EXIT_READ;
    case PAG_ERR_NO_ASYNCIO: return PAG_EXIT_OK;
    default: return PAG_EXIT_INTERNAL;
    }
}
// clang-format on

void pag__seterr(struct pag_errbuf *eb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
}
