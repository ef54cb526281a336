/* pag-table-fields VERSION: the field lists of common/src/versions.c for one
 * CPython minor ("3.14"), as JSON, for tests/hardening/table_mutation.py.
 *
 * Why: the mutation test changes every field of _Py_DebugOffsets and of the
 * AsyncioDebug table in a real core.  It must know each field's place in
 * the table and the struct size it is measured against; a second,
 * hand-kept list in Python would drift from the decoder's, so the test asks
 * the decoder's own list through this helper (built only for the tests).
 *
 * Output: {"version": "3.14", "header": [...], "offsets": [...],
 * "asyncio": [...]}, each field {"name", "offset" (bytes from the start of
 * its table), "size_field" (index in the same list of the field holding
 * the size it is checked against -- for a field nothing reads, its group's
 * ".size" -- or -1), "checked" (whether the decoder reads at it)}. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The index in f of the field that fills member `at`, or -1. */
static long index_at(const pag_field_t *f, size_t n, uint16_t at)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].at == at) return (long)i;
    return -1;
}

/* The index of "<group>.size" for a field "<group>.<member>", or -1. */
static long group_size(const pag_field_t *f, size_t n, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return -1;
    size_t g = (size_t)(dot - name);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(f[i].name, name, g) && !strcmp(f[i].name + g, ".size")) return (long)i;
    return -1;
}

static void list(const char *key, const pag_field_t *f, size_t n, size_t base)
{
    printf(",\n \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        int checked = f[i].size_at != PAG_FIELD_UNCHECKED;
        long sz = checked ? index_at(f, n, f[i].size_at) : group_size(f, n, f[i].name);
        printf("%s\n  {\"name\": \"%s\", \"offset\": %zu, \"size_field\": %ld, \"checked\": %s}",
               i ? "," : "", f[i].name, base + 8 * i, sz, checked ? "true" : "false");
    }
    printf("\n ]");
}

int main(int argc, char **argv)
{
    unsigned minor;
    if (argc != 2 || sscanf(argv[1], "3.%u", &minor) != 1) {
        fprintf(stderr, "usage: pag-table-fields 3.X\n");
        return 2;
    }
    struct pag_errbuf eb = {{0}};
    pag_err_t e = PAG_OK;
    const pag_pyversion_t *v = pag__version_find(0x03000000u | (minor << 16), &eb, &e);
    if (!v) {
        fprintf(stderr, "pag-table-fields: %s\n", eb.msg);
        return 1;
    }
    /* The header session.c reads before the list: the cookie (not a number),
     * then the version and the free_threaded flag, one u64 each. */
    printf(
        "{\"version\": \"%s\",\n \"header\": [\n"
        "  {\"name\": \"version\", \"offset\": 8, \"size_field\": -1, \"checked\": true},\n"
        "  {\"name\": \"free_threaded\", \"offset\": 16, \"size_field\": -1, \"checked\": true}\n"
        " ]",
        v->text);
    list("offsets", v->offsets, v->n_offsets, PAG_DEBUG_OFFSETS_HEADER);
    list("asyncio", v->asyncio, v->n_asyncio, 0);
    printf("\n}\n");
    return 0;
}
