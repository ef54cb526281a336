/* pag-target-probe: exercise the CLI's target layer on its own.
 *
 *   pag-target-probe PID|--core CORE [--exe E] [--lib-search-path D] [--sysroot S]
 *                    [--no-stop] LOOKUP...
 * LOOKUP is sym:NAME or sec:NAME[:LEN]; for each match it prints
 * "KIND NAME #i 0xADDR size=N bytes=HEX" reading LEN (default 8) bytes there,
 * so a test can compare the same lookups on a live process and its core
 * without the decoder.  First it prints the target's source fields, one
 * "source FIELD VALUE" line each (kind, pid, then core and executable
 * unless NULL).  Exit status as the CLI's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

int main(int argc, char **argv)
{
    pag_options_t o;
    memset(&o, 0, sizeof o);
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--core") && i + 1 < argc)
            o.core = argv[++i];
        else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
            o.exe = argv[++i];
        else if (!strcmp(argv[i], "--lib-search-path") && i + 1 < argc)
            o.lib_search_path = argv[++i];
        else if (!strcmp(argv[i], "--sysroot") && i + 1 < argc)
            o.sysroot = argv[++i];
        else if (!strcmp(argv[i], "--no-stop"))
            o.no_stop = 1;
        else if (!o.core && !o.pid && argv[i][0] >= '0' && argv[i][0] <= '9')
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
    static const char *const kinds[] = {"none", "live", "core"};
    printf("source kind %s\nsource pid %lld\n", kinds[t.src.kind % 3], t.src.pid);
    if (t.src.core) printf("source core %s\n", t.src.core);
    if (t.src.executable) printf("source executable %s\n", t.src.executable);
    for (; i < argc; i++) {
        char kind[8], name[256];
        size_t len = 8;
        if (sscanf(argv[i], "%3[a-z]:%255[^:]:%zu", kind, name, &len) < 2 || len > 4096) continue;
        pag_lookup_kind_t k = !strcmp(kind, "sym") ? PAG_LOOKUP_SYMBOL : PAG_LOOKUP_SECTION;
        for (unsigned idx = 0; idx < 16; idx++) {
            uint64_t addr = 0, size = 0;
            if (t.acc.find(t.ctx, k, name, idx, &addr, &size) != PAG_OK) {
                if (idx == 0) printf("%s %s none\n", kind, name);
                break;
            }
            unsigned char buf[4096];
            printf("%s %s #%u 0x%llx size=%llu bytes=", kind, name, idx, (unsigned long long)addr,
                   (unsigned long long)size);
            if (t.acc.read(t.ctx, addr, len, buf) != PAG_OK)
                printf("unreadable");
            else
                for (size_t j = 0; j < len; j++)
                    printf("%02x", buf[j]);
            printf("\n");
        }
    }
    t.release(t.ctx);
    t.close(t.ctx);
    return 0;
}
