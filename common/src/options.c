/* Option parsing, --help and --version, shared by every frontend so the CLI,
 * gdb and lldb accept exactly the same options.  Hand-written (not getopt):
 * it must be reentrant inside a debugger and give one-line errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

static pag_err_t fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pag_err_t fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return PAG_ERR_INVALID_ARG;
}

static int parse_long(const char *s, long *out)
{
    if (!s || !*s) return 0;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

/* --format NAME through the one format table (pag/formats.h). */
static pag_err_t parse_format(const char *val, pag_format_t *out)
{
    for (int k = 0; k < PAG_FMT__COUNT; k++) {
        if (strcmp(val, pag__formats[k].name) == 0) {
            *out = (pag_format_t)k;
            return PAG_OK;
        }
    }
    return PAG_ERR_INVALID_ARG;
}

/* "tree, table, ..., dot or tasks", for the unknown-format line. */
static void format_names(char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < PAG_FMT__COUNT && at < len; k++) {
        const char *sep = k == 0 ? "" : k == PAG_FMT__COUNT - 1 ? " or " : ", ";
        int n = snprintf(buf + at, len - at, "%s%s", sep, pag__formats[k].name);
        if (n < 0) break;
        at += (size_t)n;
    }
}

enum opt_id {
    O_FORMAT,
    O_TASK,
    O_THREAD,
    O_RUNNING,
    O_LIMIT,
    O_DEPTH,
    O_OUTPUT,
    O_STATS,
    O_HELP,
    O_VERSION,
    O_INFO,
    O_CORE,
    O_EXE,
    O_LIBPATH,
    O_SYSROOT,
    O_NOSTOP,
    O_RETRIES,
    O_GROUP,
    O_TOP,
    O_NATIVE,
    O_ALL_THREADS
};

static const struct opt {
    const char *lng;
    char shrt;
    int arg;
    int target;
    enum opt_id id;
} opts_table[] = {
    {"--format", 'f', 1, 0, O_FORMAT},
    {"--task", 0, 1, 0, O_TASK},
    {"--thread", 0, 1, 0, O_THREAD},
    {"--running", 0, 0, 0, O_RUNNING},
    {"--limit", 0, 1, 0, O_LIMIT},
    {"--depth", 0, 1, 0, O_DEPTH},
    {"--output", 'o', 1, 0, O_OUTPUT},
    {"--stats", 0, 0, 0, O_STATS},
    {"--help", 'h', 0, 0, O_HELP},
    {"--version", 'V', 0, 0, O_VERSION},
    {"--info", 0, 0, 0, O_INFO},
    {"--core", 0, 1, 1, O_CORE},
    {"--exe", 0, 1, 1, O_EXE},
    {"--lib-search-path", 0, 1, 1, O_LIBPATH},
    {"--sysroot", 0, 1, 1, O_SYSROOT},
    {"--no-stop", 0, 0, 1, O_NOSTOP},
    {"--retries", 0, 1, 1, O_RETRIES},
    {"--group", 0, 0, 0, O_GROUP},
    {"--top", 0, 1, 0, O_TOP},
    {"--native", 0, 0, 0, O_NATIVE},
    {"--all-threads", 0, 0, 0, O_ALL_THREADS},
};

/* The parse in progress, shared by the helpers below. */
typedef struct parser {
    pag_options_t *o;
    unsigned accept; /* PAG_OPT_* */
    int have_pid;
    char *errbuf;
    size_t errlen;
} parser_t;

/* A positional argument: the PID of the standalone CLI's target. */
static pag_err_t take_pid(parser_t *p, const char *a)
{
    if (!(p->accept & PAG_OPT_TARGET))
        return fail(p->errbuf, p->errlen, "unexpected argument '%s' (see --help)", a);
    long pid;
    if (!parse_long(a, &pid) || pid <= 0)
        return fail(p->errbuf, p->errlen, "'%s' is not a process id (see --help)", a);
    if (p->have_pid) return fail(p->errbuf, p->errlen, "only one PID can be given");
    p->o->pid = pid;
    p->have_pid = 1;
    return PAG_OK;
}

/* The table row of option a ("--name", "--name=VALUE", "-x" or "-xVALUE"),
 * with *val set to an attached value (else left NULL).  Rows are tried in
 * table order and the first that matches wins, as does the first that
 * refuses an attached value. */
static pag_err_t find_option(parser_t *p, const char *a, const struct opt **op, const char **val)
{
    *op = NULL;
    *val = NULL;
    for (size_t k = 0; k < sizeof opts_table / sizeof opts_table[0] && !*op; k++) {
        const struct opt *c = &opts_table[k];
        size_t l = strlen(c->lng);
        if (a[1] == '-') {
            if (strncmp(a, c->lng, l) == 0 && (a[l] == '\0' || (a[l] == '=' && c->arg))) {
                *op = c;
                if (a[l] == '=') *val = a + l + 1;
            } else if (strncmp(a, c->lng, l) == 0 && a[l] == '=' && !c->arg) {
                return fail(p->errbuf, p->errlen, "%s takes no value", c->lng);
            }
        } else if (c->shrt && a[1] == c->shrt) {
            if (a[2] != '\0' && !c->arg) continue;
            *op = c;
            if (a[2] != '\0') *val = a + 2;
        }
    }
    if (!*op) return fail(p->errbuf, p->errlen, "unknown option '%.200s' (see --help)", a);
    return PAG_OK;
}

/* Check and store one option's value (val: NULL for a flag). */
static pag_err_t set_option(parser_t *p, enum opt_id id, const char *val)
{
    pag_options_t *o = p->o;
    char *eb = p->errbuf;
    size_t el = p->errlen;
    switch (id) {
    case O_FORMAT:
        if (parse_format(val, &o->format) != PAG_OK) {
            char names[256];
            format_names(names, sizeof names);
            return fail(eb, el, "unknown format '%.100s' (%s)", val, names);
        }
        break;
    case O_TASK:
        o->task = val; /* "" too: it selects the tasks named "" */
        break;
    case O_THREAD:
        if (!parse_u64(val, &o->thread))
            return fail(eb, el, "--thread needs a thread id (a number)");
        o->have_thread = 1;
        break;
    case O_RUNNING:
        o->running = 1;
        break;
    case O_LIMIT:
        if (!parse_long(val, &o->limit)) return fail(eb, el, "--limit needs an integer");
        o->have_limit = 1;
        break;
    case O_DEPTH:
        if (!parse_long(val, &o->depth) || o->depth < 0)
            return fail(eb, el, "--depth needs an integer >= 0");
        break;
    case O_OUTPUT:
        if (!*val) return fail(eb, el, "-o needs a file name");
        o->output = val;
        break;
    case O_STATS:
        o->stats = 1;
        break;
    case O_HELP:
        o->help = 1;
        break;
    case O_VERSION:
        o->version = 1;
        break;
    case O_INFO:
        o->info = 1;
        break;
    case O_CORE:
        o->core = val;
        break;
    case O_EXE:
        o->exe = val;
        break;
    case O_LIBPATH:
        o->lib_search_path = val;
        break;
    case O_SYSROOT:
        o->sysroot = val;
        break;
    case O_NOSTOP:
        o->no_stop = 1;
        break;
    case O_GROUP:
        o->group = 1;
        break;
    case O_NATIVE:
        o->native = 1;
        break;
    case O_ALL_THREADS:
        o->all_threads = 1;
        break;
    case O_TOP:
        if (!parse_long(val, &o->top) || o->top < 0)
            return fail(eb, el, "--top needs an integer >= 0");
        break;
    case O_RETRIES: {
        long r;
        if (!parse_long(val, &r) || r < 0 || r > 1000)
            return fail(eb, el, "--retries needs an integer from 0 to 1000");
        o->retries = (int)r;
        break;
    }
    }
    return PAG_OK;
}

/* Once every argument is read: the standalone CLI needs exactly one
 * target, and --exe only means something for a core.  Checked after the
 * loop so that options may come in any order. */
static pag_err_t check_target(const parser_t *p)
{
    const pag_options_t *o = p->o;
    if (p->have_pid && o->core)
        return fail(p->errbuf, p->errlen, "give either a PID or --core, not both");
    if (!p->have_pid && !o->core)
        return fail(p->errbuf, p->errlen, "no target: give a PID or --core CORE (see --help)");
    if (o->exe && !o->core) return fail(p->errbuf, p->errlen, "--exe is only used with --core");
    return PAG_OK;
}

/* Left to right: the first bad argument is the one error reported. */
pag_err_t pag_options_parse(int argc, const char *const *argv, unsigned accept, pag_options_t *o,
                            char *errbuf, size_t errlen)
{
    if (!o) return PAG_ERR_INVALID_ARG;
    memset(o, 0, sizeof *o);
    o->format = PAG_FMT_TREE;
    o->retries = 3;
    o->top = 20;
    if (errbuf && errlen) errbuf[0] = '\0';
    parser_t p = {o, accept, 0, errbuf, errlen};
    pag_err_t err;
    int no_more_opts = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!a) continue;
        if (no_more_opts || a[0] != '-' || a[1] == '\0') {
            if ((err = take_pid(&p, a)) != PAG_OK) return err;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            no_more_opts = 1;
            continue;
        }
        const struct opt *op;
        const char *val;
        if ((err = find_option(&p, a, &op, &val)) != PAG_OK) return err;
        if (op->target && !(accept & PAG_OPT_TARGET) && op->id == O_CORE)
            return fail(errbuf, errlen,
                        "--core is only for the standalone py-async-graph: open the core in the "
                        "debugger (a compressed core, such as systemd's .zst, the debugger cannot "
                        "open: decompress it first, or use coredumpctl debug)");
        if (op->target && !(accept & PAG_OPT_TARGET))
            return fail(errbuf, errlen, "%s is only for the standalone py-async-graph", op->lng);
        if (op->arg && !val) {
            if (i + 1 >= argc || !argv[i + 1])
                return fail(errbuf, errlen, "%s needs a value (see --help)", op->lng);
            val = argv[++i];
        }
        if ((err = set_option(&p, op->id, val)) != PAG_OK) return err;
    }
    if (o->help || o->version) return PAG_OK;
    return (accept & PAG_OPT_TARGET) ? check_target(&p) : PAG_OK;
}

/* One --help line per row of the format table.  The help text below is
 * kept one output line per source line: clang-format 14 would reflow it. */
// clang-format off
#define USAGE_FORMAT(ID, name, closure, pad, help) "                       " #name pad help "\n"

#define USAGE_COMMON                                                                               \
    "Output:\n"                                                                                    \
    "  -f, --format FMT\n" PAG_FORMATS(USAGE_FORMAT)                                                \
    "  -o, --output FILE    write to FILE instead of standard output\n"                            \
    "      --stats          also report target read counters (in JSON: \"stats\")\n"               \
    "      --group          tree: fold sibling subtrees that differ only in task\n"              \
    "                       names and ids into one \"name-* ×N\" node\n"                       \
    "      --top N          summary: keep the N most common suspension points\n"              \
    "                       (default 20; 0: all)\n"                                           \
    "      --info           what was found instead of the graph: the Python version\n"            \
    "                       and build, the debug tables and the modules holding them\n"           \
    "                       (needs no live process: a debugger's executable will do)\n"          \
    "\n"                                                                                           \
    "Selection:\n"                                                                                 \
    "      --task ID|NAME   only tasks with this address (0x...) or name (\"\" too,\n"             \
    "                       or the name's repr as graph prints it, quotes\n"                      \
    "                       included); a name may match several tasks.\n"                         \
    "                       graph/table/tasks show just them; tree/json/dot show\n"               \
    "                       them with their awaiters and the tasks they await\n"                  \
    "      --thread TID     only tasks of the thread with this native id\n"                        \
    "                       (0: tasks left behind by finished threads)\n"                          \
    "      --running        only the task(s) running right now\n"                                  \
    "\n"                                                                                           \
    "Threads (what is blocking the loop):\n"                                                       \
    "      --native         merge each thread's native frames (C functions, with\n"               \
    "                       module and offset, file:line from debug info) with its\n"           \
    "                       Python frames, innermost first; says which thread\n"                \
    "                       holds the GIL and who waits for it (JSON schema /2)\n"             \
    "      --all-threads    also every Python thread's stack, tasks or not\n"                  \
    "\n"                                                                                           \
    "Call stacks (graph format, as asyncio.format_call_graph):\n"                                  \
    "      --limit N        keep at most |N| entries of each call stack: for N > 0\n"              \
    "                       the ones closest to the invocation point (outermost),\n"               \
    "                       for N < 0 the innermost; 0 prints no call stacks\n"                    \
    "      --depth N        for a running task, skip the N innermost frames\n"                     \
    "                       (default 0)\n"                                                         \
    "\n"                                                                                           \
    "  -h, --help           show this help\n"                                                      \
    "  -V, --version        show the version\n"
// clang-format on

#define USAGE_TARGET                                                                               \
    "usage: py-async-graph [OPTIONS] PID\n"                                                        \
    "       py-async-graph [OPTIONS] --core CORE [--exe EXE]\n"                                    \
    "\n"                                                                                           \
    "Show the asyncio task graph of a running CPython " PAG_PY_VERSIONS_TEXT " process, or\n"      \
    "of a core file, without running any code in it.\n"                                            \
    "\n"                                                                                           \
    "Target:\n"                                                                                    \
    "  PID                  a live process (attached read-only, stopped while read)\n"             \
    "      --core CORE      a core file instead of a live process; it may be\n"                    \
    "                       zstd/lz4/xz/gzip-compressed, or - for standard input\n"                \
    "      --exe EXE        the python executable the core comes from\n"                           \
    "      --lib-search-path DIR[:DIR...]\n"                                                       \
    "                       directories searched, by file name, for the files the\n"               \
    "                       core mapped (executable, libraries, extensions) that\n"                \
    "                       are not at their recorded path (build-ids must match)\n"               \
    "      --sysroot DIR    prefix for the shared library paths in the core\n"                     \
    "      --no-stop        do not stop the live process; read it while it runs\n"                 \
    "      --retries N      with --no-stop, read again up to N times while the\n"                  \
    "                       target changes under us (default 3)\n"                                 \
    "\n"

#define USAGE_DEBUGGER                                                                             \
    "usage: py-async-graph [OPTIONS]\n"                                                            \
    "\n"                                                                                           \
    "Show the asyncio task graph of the CPython " PAG_PY_VERSIONS_TEXT                             \
    " program being debugged.\n"                                                                   \
    "\n"

const char *pag_usage(unsigned accept)
{
    return (accept & PAG_OPT_TARGET) ? USAGE_TARGET USAGE_COMMON : USAGE_DEBUGGER USAGE_COMMON;
}

const char *pag_version_text(void)
{
    return "py-async-graph " PAG_VERSION " (reads CPython " PAG_PY_VERSIONS_TEXT ")\n";
}

/* The --task value by the text formats' rule (so the error line stays one
 * line), '' for the empty name. */
void pag_selection_text(const pag_options_t *o, char *buf, size_t len)
{
    if (!len) return;
    buf[0] = '\0';
    FILE *m = fmemopen(buf, len, "w");
    if (!m) return;
    if (o->task) {
        fputs(" --task ", m);
        if (*o->task)
            pag__put_text(m, o->task);
        else
            fputs("''", m);
    }
    if (o->have_thread) fprintf(m, " --thread %llu", (unsigned long long)o->thread);
    if (o->running) fputs(" --running", m);
    fclose(m);
    buf[len - 1] = '\0';
}

/* The sub-commands and their help, as the debuggers list them. */
#define GRAPH_DETAILS                                                                              \
    "Read-only: reads memory, never runs code in the process.\n"                                   \
    "Same options and output as the py-async-graph CLI (without PID/--core).\n"                    \
    "See also: py-async-tasks (one line per task), py-async-bt [TASK] (one task's\n"               \
    "graph; default: the task running on the selected thread).\n\n"

static const struct {
    const char *name, *syntax, *summary, *help;
} commands[PAG_CMD__COUNT] = {
    [PAG_CMD_GRAPH] = {"py-async-graph", "py-async-graph [OPTIONS]",
                       "Print the asyncio task graph of the CPython " PAG_PY_VERSIONS_TEXT
                       " process (live or core).",
                       GRAPH_DETAILS USAGE_DEBUGGER USAGE_COMMON},
    [PAG_CMD_TASKS] = {"py-async-tasks", "py-async-tasks [OPTIONS]",
                       "List the asyncio tasks of the CPython process, one line each.",
                       "The same as \"py-async-graph --format tasks [OPTIONS]\".\n"},
    [PAG_CMD_BT] = {"py-async-bt", "py-async-bt [TASK] [OPTIONS]",
                    "Print the await graph of one asyncio task (format_call_graph style).",
                    "Without TASK: the task running on the selected thread\n"
                    "  (py-async-graph --format graph --running --thread <its native id>).\n"
                    "With TASK (an id such as 0x7f... or a task name):\n"
                    "  py-async-graph --format graph --task TASK.\n"
                    "Other options as for py-async-graph.\n"},
};

const char *pag_command_name(int cmd)
{
    return cmd >= 0 && cmd < PAG_CMD__COUNT ? commands[cmd].name : NULL;
}

const char *pag_command_syntax(int cmd)
{
    return cmd >= 0 && cmd < PAG_CMD__COUNT ? commands[cmd].syntax : NULL;
}

const char *pag_command_summary(int cmd)
{
    return cmd >= 0 && cmd < PAG_CMD__COUNT ? commands[cmd].summary : NULL;
}

const char *pag_command_help(int cmd)
{
    return cmd >= 0 && cmd < PAG_CMD__COUNT ? commands[cmd].help : NULL;
}
