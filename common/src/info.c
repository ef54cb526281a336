/* --info: what the core found in a target, instead of the graph.
 *
 * Why: when the graph is empty or refused, the first question is "which
 * Python is this, and did we find its debug tables where we expected?".
 * --info answers that from a bound session alone -- the _PyRuntime address,
 * the _Py_DebugOffsets header (version, free-threaded flag), the
 * AsyncioDebug table, and the module holding each (the frontend's optional
 * module_of accessor) -- without walking a single task, so it also works
 * where only the files are at hand (a debugger with an executable and no
 * process, a Mach-O image in lldb). */
#include <stdio.h>

#include "internal.h"

/* "3.14.10", "3.15.0a3", "3.15.0rc1": PY_VERSION_HEX spelled out. */
static void version_text(uint64_t hex, char *buf, size_t len)
{
    static const char *const level[16] = {[0xa] = "a", [0xb] = "b", [0xc] = "rc"};
    const char *l = level[(hex >> 4) & 0xf];
    snprintf(buf, len, "%u.%u.%u%s", (unsigned)(hex >> 24) & 0xff, (unsigned)(hex >> 16) & 0xff,
             (unsigned)(hex >> 8) & 0xff, l ? l : "");
    if (l) snprintf(buf + strlen(buf), len - strlen(buf), "%u", (unsigned)hex & 0xf);
}

/* " in <module>" for addr, or "" when the frontend cannot tell. */
static void module_text(const pag_session_t *s, uint64_t addr, char *buf, size_t len)
{
    char name[1024];
    buf[0] = '\0';
    const pag_accessors_t *acc = s->cache.acc;
    if (!acc->module_of || acc->module_of(s->cache.ctx, addr, name, sizeof name) != PAG_OK) return;
    name[sizeof name - 1] = '\0';
    snprintf(buf, len, " in %s", name);
}

pag_err_t pag__render_info(const pag_session_t *s, FILE *out)
{
    char ver[64], mod[1100];
    version_text(s->off.version, ver, sizeof ver);
    fprintf(out, "python: CPython %s (0x%llx), %s build, read with the %s table\n", ver,
            (unsigned long long)s->off.version, s->off.free_threaded ? "free-threaded" : "default",
            s->ver ? s->ver->text : "?");
    module_text(s, s->runtime_addr, mod, sizeof mod);
    fprintf(out, "_PyRuntime: 0x%llx%s: _Py_DebugOffsets checked (%llu bytes of runtime state)\n",
            (unsigned long long)s->runtime_addr, mod, (unsigned long long)s->off.runtime.size);
    if (s->have_async) {
        module_text(s, s->async_addr, mod, sizeof mod);
        fprintf(out, "AsyncioDebug: 0x%llx%s: checked (task object %llu bytes)\n",
                (unsigned long long)s->async_addr, mod, (unsigned long long)s->aoff.task.size);
    } else if (s->async_corrupt) {
        fprintf(out, "AsyncioDebug: found, but it fails its checks: %s\n", s->err.msg);
    } else {
        fprintf(out, "AsyncioDebug: none (the target has not loaded asyncio)\n");
    }
    return ferror(out) ? PAG_ERR_IO : PAG_OK;
}
