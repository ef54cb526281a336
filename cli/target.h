/* py-async-graph CLI: the target interface.
 *
 * The CLI's only job is to give the core a pag_accessors_t for a process or
 * a core file and to print what the core renders.  A target is opened by
 * one of a small table of openers (live, core; a compressed-core or Mach-O
 * reader would be one more) and handed back as a cli_target_t: the
 * callbacks, their context, where it came from, and how to let it go.
 */
#ifndef PAG_CLI_TARGET_H
#define PAG_CLI_TARGET_H

#include <stddef.h>

#include "pag/command.h"
#include "pag/target.h"

/* An opened target. */
typedef struct cli_target {
    pag_accessors_t acc;
    void *ctx;
    /* Where it came from, for the JSON "source" object.  The strings belong
     * to ctx and stay valid until close. */
    pag_source_t src;
    void (*release)(void *ctx); /* resume the target (live) -- may be called twice */
    void (*close)(void *ctx);   /* free everything, src's strings included */
    /* Optional: files the target needed but could not find or trust, as one
     * line naming them and the option that supplies them; NULL if none. */
    const char *(*problems)(void *ctx);
    /* Optional: a target known to be incomplete (a cut compressed core read
     * as far as it goes): the line pag_frontend_t.incomplete gives. */
    const char *(*incomplete)(void *ctx);
} cli_target_t;

/* Open the target the options name.  On failure returns the error and
 * writes one line (without the "py-async-graph: " prefix) into msg. */
typedef pag_err_t (*cli_opener_fn)(const pag_options_t *o, cli_target_t *t, char *msg, size_t len);

/* Tune the CLI's own heap for one big snapshot (glibc; see heap.c). */
void cli_tune_heap(void);

/* A live process (o->pid) / a core file (o->core). */
pag_err_t cli_live_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen);
pag_err_t cli_core_open(const pag_options_t *o, cli_target_t *t, char *msg, size_t msglen);

/* What is known when ptrace refuses with EPERM (target_live.c gathers it
 * from /proc; eperm.c turns it into words, purely, so tests drive it). */
typedef struct cli_eperm_facts {
    long pid;
    long tracer;             /* TracerPid: > 0 when another tracer holds it */
    const char *tracer_comm; /* that tracer's name, or NULL */
    long uid;                /* the target's real uid, -1 unknown */
    long euid;               /* ours */
    int cap;                 /* we hold CAP_SYS_PTRACE */
    const char *yama_scope;  /* /proc/sys/kernel/yama/ptrace_scope's text, NULL: no Yama */
} cli_eperm_facts_t;

/* Yama's scope from that text: 0..3, or -1 when absent or not a value. */
int cli_yama_scope(const char *text);
/* The one line (no prefix) and the error (always PAG_ERR_PERMISSION). */
pag_err_t cli_eperm_message(const cli_eperm_facts_t *f, char *msg, size_t len);

/* Print "py-async-graph: warning: ..." on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
