/* test_native_accessor: the CLI's native_frames accessor on its own (issue 14).
 *
 * Until the core renders --native, the tests need the accessor's records
 * themselves to hold them against gdb's own backtrace of the same thread.
 * This opens the target exactly as the CLI does (cli_live_open stops every
 * thread; cli_core_open with the same --exe/--sysroot/--lib-search-path)
 * and prints, for each thread id given (live: every thread when none is),
 *
 *   thread TID status=ERRNAME n=N usec=MICROSECONDS
 *   frame I pc=0xPC sp=0xSP base=0xBASE off=0xSYMOFF function=F module=M file=F line=L
 *
 * with "-" for a NULL string.  usec is the time of that one call (the first
 * call also builds the unwinder's view of the target).  Last,
 * "debuginfod-client loaded|absent": whether elfutils loaded its
 * debuginfod client into this process (it must not, unless the user set
 * DEBUGINFOD_URLS).
 *
 *   test_native_accessor PID|--core CORE [--exe E] [--lib-search-path D] [--sysroot S]
 *               [--max N] [--repeat K] [--after-release] [TID...]
 *
 * --after-release lets the process go first (live), so that the walks
 * meet threads that are not in a ptrace-stop.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "target.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const char *s(const char *p)
{
    return p ? p : "-";
}

static void one_thread(cli_target_t *t, unsigned long long tid, size_t max, int repeat)
{
    static pag_native_frame_t fr[PAG_MAX_NATIVE_FRAMES];
    size_t n = 0;
    pag_err_t e = PAG_OK;
    for (int k = 0; k < repeat; k++) {
        double t0 = now_us();
        e = t->acc.native_frames(t->ctx, tid, fr, max, &n);
        printf("thread %llu status=%s n=%zu usec=%.0f\n", tid, pag_err_name(e), n, now_us() - t0);
    }
    for (size_t i = 0; i < n; i++)
        printf("frame %zu pc=0x%llx sp=0x%llx base=0x%llx off=0x%llx function=%s module=%s "
               "file=%s line=%d\n",
               i, (unsigned long long)fr[i].pc, (unsigned long long)fr[i].sp,
               (unsigned long long)fr[i].module_base, (unsigned long long)fr[i].sym_offset,
               s(fr[i].function), s(fr[i].module), s(fr[i].file), fr[i].line);
}

int main(int argc, char **argv)
{
    pag_options_t o;
    memset(&o, 0, sizeof o);
    size_t max = PAG_MAX_NATIVE_FRAMES;
    int repeat = 1, i = 1, after_release = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--core") && i + 1 < argc)
            o.core = argv[++i];
        else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
            o.exe = argv[++i];
        else if (!strcmp(argv[i], "--lib-search-path") && i + 1 < argc)
            o.lib_search_path = argv[++i];
        else if (!strcmp(argv[i], "--sysroot") && i + 1 < argc)
            o.sysroot = argv[++i];
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--after-release"))
            after_release = 1;
        else if (!o.core && !o.pid)
            o.pid = strtol(argv[i], NULL, 10);
        else
            break;
    }
    cli_target_t t;
    char msg[1024] = "";
    pag_err_t e =
        o.core ? cli_core_open(&o, &t, msg, sizeof msg) : cli_live_open(&o, &t, msg, sizeof msg);
    if (e) {
        fprintf(stderr, "py-async-graph: %s\n", msg);
        return pag_exit_code(e);
    }
    if (!t.acc.native_frames) {
        fprintf(stderr, "test_native_accessor: the target has no native_frames accessor\n");
        return 1;
    }
    if (after_release) t.release(t.ctx);
    if (i < argc) {
        for (; i < argc; i++)
            one_thread(&t, strtoull(argv[i], NULL, 10), max, repeat);
    } else if (!o.core) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%ld/task", o.pid);
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL)
            if (de->d_name[0] != '.') one_thread(&t, strtoull(de->d_name, NULL, 10), max, repeat);
        if (d) closedir(d);
    }
    int loaded = 0;
    FILE *maps = fopen("/proc/self/maps", "re");
    char line[4096];
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "libdebuginfod")) loaded = 1;
    if (maps) fclose(maps);
    printf("debuginfod-client %s\n", loaded ? "loaded" : "absent");
    t.release(t.ctx);
    t.close(t.ctx);
    return 0;
}
