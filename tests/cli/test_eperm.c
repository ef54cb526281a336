/* The ptrace-refused messages, for every Yama scope (cli/eperm.c).
 *
 * Why: this machine's kernel has no Yama, so a live test can only ever see
 * the "absent" message; the scope 1, 2 and 3 lines would otherwise never
 * run.  The oracle is the kernel's documented meaning of each scope
 * (Documentation/admin-guide/LSM/Yama.rst): 1 admits descendants (so
 * CAP_SYS_PTRACE or scope 0 are the fixes), 2 admits CAP_SYS_PTRACE only,
 * 3 admits nobody, capability or not.  Every line must name the scope and
 * a fix that works at that scope, and never one that does not. */
#include <stdio.h>
#include <string.h>

#include "target.h"

static int fails;

static void expect(int ok, const char *what, const char *line)
{
    printf("%s: %s\n    %s\n", ok ? "ok" : "FAIL", what, line);
    if (!ok) fails++;
}

static const char *msg_for(const char *yama, int cap, long uid, long euid, long tracer)
{
    static char msg[512];
    cli_eperm_facts_t f = {.pid = 4242,
                           .tracer = tracer,
                           .tracer_comm = "gdb",
                           .uid = uid,
                           .euid = euid,
                           .cap = cap,
                           .yama_scope = yama};
    msg[0] = 0;
    pag_err_t e = cli_eperm_message(&f, msg, sizeof msg);
    if (e != PAG_ERR_PERMISSION || strchr(msg, '\n') || !msg[0]) {
        printf("FAIL: %s: not one line with PAG_ERR_PERMISSION (%d)\n", yama ? yama : "NULL", e);
        fails++;
    }
    return msg;
}

static int has(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static void scope_parse(void)
{
    static const struct {
        const char *text;
        int want;
    } t[] = {{"0\n", 0},  {"1\n", 1},   {"2\n", 2},   {"3\n", 3},
             {"1", 1},    {NULL, -1},   {"", -1},     {"x\n", -1},
             {"4\n", -1}, {"-1\n", -1}, {"1x\n", -1}, {"99999999999999999999", -1}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int got = cli_yama_scope(t[i].text);
        char what[96];
        snprintf(what, sizeof what, "scope of \"%s\" is %d (got %d)",
                 t[i].text ? t[i].text : "(absent)", t[i].want, got);
        what[strcspn(what, "\n")] = '|';
        expect(got == t[i].want, what, "");
    }
}

int main(void)
{
    scope_parse();
    const char *m;
    m = msg_for("1\n", 0, 1000, 1000, 0);
    expect(has(m, "process 4242") && has(m, "ptrace_scope=1") && has(m, "descendants") &&
               has(m, "CAP_SYS_PTRACE") && has(m, "ptrace_scope=0"),
           "scope 1: only descendants; the capability or scope 0 fixes it", m);
    m = msg_for("2\n", 0, 1000, 1000, 0);
    expect(has(m, "ptrace_scope=2") && has(m, "CAP_SYS_PTRACE") && !has(m, "descendants"),
           "scope 2: only CAP_SYS_PTRACE (a parent does not help)", m);
    m = msg_for("3\n", 0, 1000, 1000, 0);
    expect(has(m, "ptrace_scope=3") && has(m, "until reboot") && !has(m, "setcap") &&
               has(m, "core file"),
           "scope 3: nobody, no capability helps; a core file does", m);
    m = msg_for("3\n", 1, 1000, 1000, 0);
    expect(has(m, "ptrace_scope=3") && !has(m, "setcap"),
           "scope 3 with CAP_SYS_PTRACE: still refused", m);
    static const char *const generic[] = {"0\n", NULL, "garbage\n", "7\n"};
    for (size_t i = 0; i < 4; i++) {
        m = msg_for(generic[i], 0, 1000, 1000, 0);
        char what[96];
        snprintf(what, sizeof what, "scope %s: no Yama line, the generic reason",
                 generic[i] ? generic[i] : "absent");
        what[strcspn(what, "\n")] = 0;
        expect(!has(m, "yama") && has(m, "not dumpable") && has(m, "CAP_SYS_PTRACE"), what, m);
    }
    /* Yama at 1 or 2 does not bind a holder of CAP_SYS_PTRACE: generic */
    m = msg_for("1\n", 1, 1000, 1000, 0);
    expect(!has(m, "yama"), "scope 1 with CAP_SYS_PTRACE: not blamed on Yama", m);
    m = msg_for("2\n", 1, 1000, 1000, 0);
    expect(!has(m, "yama"), "scope 2 with CAP_SYS_PTRACE: not blamed on Yama", m);
    /* the earlier checks win over Yama */
    m = msg_for("1\n", 0, 0, 1000, 0);
    expect(has(m, "belongs to uid 0") && has(m, "uid 1000"), "another user's process, at scope 1",
           m);
    m = msg_for("3\n", 0, 1000, 1000, 77);
    expect(has(m, "already traced by PID 77 (gdb)") && has(m, "--no-stop"),
           "a traced process, at scope 3", m);
    m = msg_for("1\n", 1, 0, 1000, 0);
    expect(!has(m, "belongs to"), "another user's process with CAP_SYS_PTRACE: not the uid line",
           m);
    printf("%s\n", fails ? "FAILED" : "all passed");
    return fails ? 1 : 0;
}
