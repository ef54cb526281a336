/* Why ptrace said EPERM, as one line: a pure function of the facts.
 *
 * It exists so that every message can be tested.  The Yama LSM's
 * kernel.yama.ptrace_scope (0 classic, 1 descendants only, 2 admin only
 * (CAP_SYS_PTRACE), 3 no attach at all) decides most refusals, but a test
 * kernel without Yama (or with scope 0) can only ever produce one of them.
 * target_live.c gathers the facts from /proc; this file only chooses the
 * words and the exit code, so tests/cli/test_eperm.c drives it with every
 * scope value, an absent file and garbage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "target.h"

int cli_yama_scope(const char *text)
{
    if (!text) return -1;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text) return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    /* the kernel accepts 0..3 only; anything else is not a value we know */
    return *end || v < 0 || v > 3 ? -1 : (int)v;
}

/* scope >= 1 without the capability, or 3 with it: Yama refused. */
static pag_err_t yama_refusal(const cli_eperm_facts_t *f, int scope, char *msg, size_t len)
{
    if (scope == 3)
        snprintf(msg, len,
                 "ptrace of process %ld refused: kernel.yama.ptrace_scope=3 disables ptrace "
                 "(and --no-stop's reads) for everyone until reboot; read a core file instead",
                 f->pid);
    else if (scope == 2)
        snprintf(msg, len,
                 "ptrace of process %ld refused: kernel.yama.ptrace_scope=2 allows only "
                 "CAP_SYS_PTRACE; run as root, grant CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep "
                 "on this binary) or set kernel.yama.ptrace_scope=0",
                 f->pid);
    else
        snprintf(msg, len,
                 "ptrace of process %ld refused: kernel.yama.ptrace_scope=1 allows only "
                 "descendants; grant CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep on this binary) "
                 "or set kernel.yama.ptrace_scope=0",
                 f->pid);
    return PAG_ERR_PERMISSION;
}

pag_err_t cli_eperm_message(const cli_eperm_facts_t *f, char *msg, size_t len)
{
    if (f->tracer > 0) {
        snprintf(msg, len,
                 "process %ld is already traced by PID %ld (%s); detach it or use --no-stop",
                 f->pid, f->tracer, f->tracer_comm ? f->tracer_comm : "?");
        return PAG_ERR_PERMISSION;
    }
    if (f->uid >= 0 && f->uid != f->euid && !f->cap) {
        snprintf(msg, len,
                 "process %ld belongs to uid %ld and we run as uid %ld; run as that user "
                 "(or with CAP_SYS_PTRACE)",
                 f->pid, f->uid, f->euid);
        return PAG_ERR_PERMISSION;
    }
    int scope = cli_yama_scope(f->yama_scope);
    if ((scope >= 1 && !f->cap) || scope == 3) return yama_refusal(f, scope, msg, len);
    snprintf(msg, len,
             "ptrace of process %ld refused (not dumpable, or a container without "
             "CAP_SYS_PTRACE); run with CAP_SYS_PTRACE",
             f->pid);
    return PAG_ERR_PERMISSION;
}
