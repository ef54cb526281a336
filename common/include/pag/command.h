/* py-async-graph: the command every frontend runs.
 *
 * Option parsing, help text and output rendering live here, once, so that
 * the CLI, gdb and lldb accept the same options and print the same bytes.
 */
#ifndef PAG_COMMAND_H
#define PAG_COMMAND_H

#include <stdio.h>
#include "pag/formats.h"
#include "pag/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PAG_VERSION "0.1.0"

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
    int info; /* --info: what was found in the target, no tasks read */
    /* target options (PAG_OPT_TARGET only) */
    long pid; /* 0 if none */
    const char *core;
    const char *exe;
    const char *lib_search_path;
    const char *sysroot;
    int no_stop;
    int retries; /* --retries N for --no-stop (default 3) */
    /* issue 16 (appended: gdb's ctypes mirror reads fields above by offset) */
    int group; /* --group: tree folds sibling subtrees of one shape */
    long top;  /* --top N: summary rows kept (default 20, 0 = all) */
    /* issue 14 */
    int native;      /* --native: native frames merged with the Python ones */
    int all_threads; /* --all-threads: every Python thread's stack */
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

/* The name of format f (pag/formats.h), or NULL past PAG_FMT__COUNT. */
PAG_API const char *pag_format_name(int f);

/* ---- The command -------------------------------------------------------
 *
 * Every frontend runs the same command through pag_command_main(): the
 * core parses the options (including --help, --version and --stats), opens
 * the target through the frontend's hooks only once it needs one, takes the
 * snapshot (with the --no-stop retries), lets the target go, renders, and
 * writes the one error or note line.  A frontend supplies memory access and
 * prints what comes back. */

/* The sub-commands, by the name the user types. */
typedef enum pag_command {
    PAG_CMD_GRAPH = 0, /* py-async-graph [OPTIONS] */
    PAG_CMD_TASKS,     /* py-async-tasks: --format tasks */
    PAG_CMD_BT,        /* py-async-bt [TASK]: --format graph of one task, by
                          default the one running on the selected thread */
    PAG_CMD__COUNT
} pag_command_t;

PAG_API const char *pag_command_name(int cmd);    /* "py-async-bt", or NULL */
PAG_API const char *pag_command_syntax(int cmd);  /* "py-async-bt [TASK] [OPTIONS]" */
PAG_API const char *pag_command_summary(int cmd); /* one line, no newline */
/* The long help of a debugger command (what the command is, then the
 * options), as "help py-async-bt" shows it. */
PAG_API const char *pag_command_help(int cmd);

/* What a frontend gives the command besides memory access.  Every hook but
 * open may be NULL.  fe_ctx (pag_command_main's) is passed to each hook. */
typedef struct pag_frontend {
    unsigned accept; /* PAG_OPT_TARGET: the standalone CLI's target options */
    FILE *out;       /* output stream; NULL collects it in pag_result_t.out_text */
    /* Bind to the target, called once the command knows it needs one (never
     * for --help/--version).  Fill *acc (the core copies it), *ctx (passed to
     * the accessors) and *src (its strings must live until close).  On
     * failure return the error and write one line (no prefix) into msg. */
    pag_err_t (*open)(void *fe_ctx, const pag_options_t *opts, pag_accessors_t *acc, void **ctx,
                      pag_source_t *src, char *msg, size_t len);
    /* The snapshot is taken: let a live target run again before printing. */
    void (*release)(void *fe_ctx);
    /* The command is done with the target (after output). */
    void (*close)(void *fe_ctx);
    /* Files the target needed but could not find or trust, as one line
     * naming them and how to supply them; NULL if none. */
    const char *(*problems)(void *fe_ctx);
    /* The native id of the debugger's selected thread, for py-async-bt
     * without a TASK.  On failure return an error with one line in msg. */
    pag_err_t (*selected_thread)(void *fe_ctx, uint64_t *tid, char *msg, size_t len);
    /* --stats: the frontend's own counters as one line (no newline). */
    void (*stats)(void *fe_ctx, char *buf, size_t len);
    /* The target is known to be incomplete (a compressed core cut short,
     * read as far as it goes): one line saying so, or NULL.  The core puts
     * it first and exits PAG_EXIT_TRUNCATED, after a partial graph or after
     * a failure to read what lay past the cut (issue 15). */
    const char *(*incomplete)(void *fe_ctx);
} pag_frontend_t;

/* What the command produced.  out_text: the output when pag_frontend_t.out
 * is NULL and no -o FILE was given (malloc'd, may be empty).  err_line: one
 * line or NULL -- an error when failed is set, else a note that comes with
 * the output (warnings, partial result, --stats).  stats_line: the
 * frontend's --stats counters, or NULL.  exit_code: PAG_EXIT_*. */
typedef struct pag_result {
    char *out_text;
    char *err_line;
    char *stats_line;
    int exit_code;
    int failed;
} pag_result_t;

/* Run sub-command cmd with argv (arguments only, no program name).
 * Returns res->exit_code.  Free the result with pag_result_free. */
PAG_API int pag_command_main(const pag_frontend_t *fe, void *fe_ctx, int cmd, int argc,
                             const char *const *argv, pag_result_t *res);
PAG_API void pag_result_free(pag_result_t *res);

/* pag_command_main for a caller that already holds its accessors (tests,
 * the fuzzer, embedders): py-async-graph with the debuggers' options. */
PAG_API int pag_command_run(const pag_accessors_t *acc, void *ctx, int argc,
                            const char *const *argv, pag_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
