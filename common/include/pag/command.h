/* py-async-graph: the command every frontend runs.
 *
 * Option parsing, help text and output rendering live here, once, so that
 * the CLI, gdb and lldb accept the same options and print the same bytes.
 */
#ifndef PAG_COMMAND_H
#define PAG_COMMAND_H

#include <stdio.h>
#include "pag/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PAG_VERSION "0.1.0"
#define PAG_PY_VERSIONS "3.14, 3.15"

typedef enum pag_format {
    PAG_FMT_TREE = 0, /* python -m asyncio pstree */
    PAG_FMT_TABLE,    /* python -m asyncio ps */
    PAG_FMT_GRAPH,    /* asyncio.format_call_graph() */
    PAG_FMT_JSON,
    PAG_FMT_DOT,
    PAG_FMT_TASKS, /* one line per task (py-async-tasks) */
} pag_format_t;

/* Which options the caller accepts beyond the common ones. */
enum {
    PAG_OPT_TARGET = 1u << 0, /* PID, --core, --exe, --lib-search-path, --sysroot, --no-stop */
};

typedef struct pag_options {
    pag_format_t format;
    const char *task; /* --task ID|NAME, or NULL */
    int have_thread;
    uint64_t thread; /* --thread TID (native id) */
    int running;     /* --running: the running task(s) only */
    int have_limit;
    long limit;         /* --limit N */
    long depth;         /* --depth N */
    const char *output; /* -o FILE, or NULL for the frontend's stdout */
    int stats;          /* --stats: read counters on stderr / in JSON */
    int help, version;
    /* target options (PAG_OPT_TARGET only) */
    long pid; /* 0 if none */
    const char *core;
    const char *exe;
    const char *lib_search_path;
    const char *sysroot;
    int no_stop;
    int retries; /* --retries N for --no-stop (default 3) */
} pag_options_t;

/* Where a snapshot came from, as plain fields; the core writes the JSON
 * "source" object from them (schema in docs/user-guide.md).  Strings are
 * the frontend's and must live until the command returns. */
typedef enum pag_source_kind {
    PAG_SOURCE_NONE = 0, /* "source": null */
    PAG_SOURCE_LIVE = 1, /* {"kind":"live","pid":N,"executable":...} */
    PAG_SOURCE_CORE = 2, /* {"kind":"core","core":...,"pid":N,"executable":...} */
} pag_source_kind_t;

typedef struct pag_source {
    pag_source_kind_t kind;
    long long pid;          /* 0 when unknown */
    const char *core;       /* the core file's path, or NULL (written as null) */
    const char *executable; /* the executable's path, or NULL (written as null) */
} pag_source_t;

/* Parse argv (argv[0] is NOT a program name: pass only the arguments).
 * On error returns PAG_ERR_INVALID_ARG and writes one line to errbuf. */
PAG_API pag_err_t pag_options_parse(int argc, const char *const *argv, unsigned accept,
                                    pag_options_t *opts, char *errbuf, size_t errlen);

/* The --help text (for accept flags as above) and the --version text. */
PAG_API const char *pag_usage(unsigned accept);
PAG_API const char *pag_version_text(void);

/* The selection options as given (" --task X --thread N --running"; empty
 * when none), for "no task matches..." lines that must read alike in
 * every frontend. */
PAG_API void pag_selection_text(const pag_options_t *opts, char *buf, size_t len);

/* Render a snapshot as the options ask.  Returns PAG_ERR_NO_TASK when
 * --task/--thread selects nothing. */
PAG_API pag_err_t pag_render(const pag_snapshot_t *snap, const pag_options_t *opts,
                             const char *source_json, FILE *out);

/* After a successful render: the one line for stderr (warnings, --stats;
 * empty when there is nothing to say) and the exit code, PAG_EXIT_PARTIAL
 * when tasks could not be decoded or the task lists were inconsistent. */
PAG_API int pag_snapshot_note(const pag_snapshot_t *snap, const pag_options_t *opts, char *line,
                              size_t len);

/* The whole command for debugger frontends: parse, bind, snapshot, render.
 * Output goes to *out_text (malloc'd, NUL-terminated, may be empty); an
 * error goes to *err_line (malloc'd, one line, no newline) or NULL.
 * Returns the exit code (PAG_EXIT_*).  -o FILE writes the file instead and
 * leaves *out_text empty. */
typedef struct pag_result {
    char *out_text;
    char *err_line;
    int exit_code;
} pag_result_t;

PAG_API int pag_command_run(const pag_accessors_t *acc, void *ctx, int argc,
                            const char *const *argv, unsigned accept, const char *source_json,
                            pag_result_t *res);
PAG_API void pag_result_free(pag_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
