/* The module table shared by the live and the core target (modules.h).
 *
 * It exists so that /proc/PID/maps and a core's NT_FILE note become the same
 * table and find() is answered by one function.  A crafted core may list
 * hundreds of thousands of files: interning a path is one hash probe and
 * every array grows geometrically, so building the table is linear (160,000
 * entries took minutes with a linear search and a realloc per entry).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules.h"
#include "target.h"

void cli_modtab_init(cli_modtab_t *t, cli_mod_open_fn open, void *owner)
{
    memset(t, 0, sizeof *t);
    t->open = open;
    t->owner = owner;
}

void cli_modtab_free(cli_modtab_t *t)
{
    for (size_t i = 0; i < t->nmods; i++) {
        if (t->mods[i].elf) elf_end(t->mods[i].elf);
        if (t->mods[i].fd >= 0) close(t->mods[i].fd);
    }
    while (t->chunks) {
        cli_chunk_t *c = t->chunks;
        t->chunks = c->next;
        free(c);
    }
    free(t->mods);
    free(t->maps);
    free(t->slots);
    free(t->byaddr);
    memset(t, 0, sizeof *t);
}

static uint64_t mod_hash(const char *path, size_t len, unsigned dmaj, unsigned dmin, uint64_t ino)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)path[i]) * 0x100000001b3ull;
    h ^= ino + ((uint64_t)dmaj << 40) + ((uint64_t)dmin << 20);
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* Double the hash table (or make the first one).  0, or -1 out of memory. */
static int grow_slots(cli_modtab_t *t)
{
    size_t n = t->nslots ? t->nslots * 2 : 64;
    size_t *s = calloc(n, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < t->nmods; i++) {
        const cli_mod_t *m = &t->mods[i];
        size_t k = (size_t)m->hash & (n - 1);
        while (s[k])
            k = (k + 1) & (n - 1);
        s[k] = i + 1;
    }
    free(t->slots);
    t->slots = s;
    t->nslots = n;
    return 0;
}

/* A copy of path, NUL-terminated, from the table's chunks: one malloc per
 * 64 KiB of paths rather than one per module (and one free each). */
static char *keep_path(cli_modtab_t *t, const char *path, size_t len)
{
    enum { CHUNK = 64 << 10 };
    if (len + 1 > t->chunk_left) {
        size_t want = len + 1 > CHUNK ? len + 1 : CHUNK;
        cli_chunk_t *c = malloc(sizeof *c + want);
        if (!c) return NULL;
        c->next = t->chunks;
        t->chunks = c;
        t->chunk_at = c->data;
        t->chunk_left = want;
    }
    char *p = t->chunk_at;
    memcpy(p, path, len);
    p[len] = 0;
    t->chunk_at += len + 1;
    t->chunk_left -= len + 1;
    return p;
}

size_t cli_modtab_intern(cli_modtab_t *t, const char *path, size_t len, unsigned dmaj,
                         unsigned dmin, uint64_t ino)
{
    if (t->nmaps >= CLI_MAX_MAPPINGS) return CLI_NONE;
    if (2 * (t->nmods + 1) > t->nslots && grow_slots(t) != 0) return CLI_NONE;
    uint64_t h = mod_hash(path, len, dmaj, dmin, ino);
    size_t k = (size_t)h & (t->nslots - 1);
    for (; t->slots[k]; k = (k + 1) & (t->nslots - 1)) {
        const cli_mod_t *m = &t->mods[t->slots[k] - 1];
        if (m->hash == h && m->pathlen == len && m->ino == ino && m->dmaj == dmaj &&
            m->dmin == dmin && memcmp(m->path, path, len) == 0)
            return t->slots[k] - 1;
    }
    if (t->nmods == t->capmods) {
        size_t nc = t->capmods ? t->capmods * 2 : 32;
        cli_mod_t *nm = realloc(t->mods, nc * sizeof *nm);
        if (!nm) return CLI_NONE;
        t->mods = nm;
        t->capmods = nc;
    }
    cli_mod_t *m = &t->mods[t->nmods];
    memset(m, 0, sizeof *m);
    m->path = keep_path(t, path, len);
    if (!m->path) return CLI_NONE;
    m->hash = h;
    m->pathlen = len;
    m->dmaj = dmaj;
    m->dmin = dmin;
    m->ino = ino;
    m->maps = CLI_NONE;
    m->fd = -1;
    t->slots[k] = t->nmods + 1;
    return t->nmods++;
}

int cli_modtab_add_map(cli_modtab_t *t, size_t mi, uint64_t start, uint64_t end, uint64_t pgoff)
{
    if (mi >= t->nmods || t->nmaps >= CLI_MAX_MAPPINGS) return -1;
    if (t->nmaps == t->capmaps) {
        size_t nc = t->capmaps ? t->capmaps * 2 : 64;
        cli_map_t *nm = realloc(t->maps, nc * sizeof *nm);
        if (!nm) return -1;
        t->maps = nm;
        t->capmaps = nc;
    }
    cli_mod_t *m = &t->mods[mi];
    t->maps[t->nmaps] = (cli_map_t){start, end, pgoff, mi, m->maps};
    m->maps = t->nmaps++;
    if (pgoff == 0 && (!m->have_base || start < m->base)) {
        m->have_base = 1;
        m->base = start;
        m->base_end = end;
    }
    free(t->byaddr); /* stale now */
    t->byaddr = NULL;
    return 0;
}

/* The set's slot for (str, len): where it is, or the empty slot where it
 * would go. */
static size_t set_slot(const cli_strset_t *s, const char *str, size_t len)
{
    size_t k = (size_t)mod_hash(str, len, 0, 0, 0) & (CLI_STRSET_SLOTS - 1);
    for (size_t i = 0; i < CLI_STRSET_SLOTS && s->slots[k]; i++) {
        if (strlen(s->slots[k]) == len && memcmp(s->slots[k], str, len) == 0) return k;
        k = (k + 1) & (CLI_STRSET_SLOTS - 1);
    }
    return k;
}

int cli_strset_has(const cli_strset_t *s, const char *str, size_t len)
{
    return s->slots && s->slots[set_slot(s, str, len)] != NULL;
}

void cli_strset_add(cli_strset_t *s, const char *str, size_t len)
{
    if (!s->slots && !(s->slots = calloc(CLI_STRSET_SLOTS, sizeof *s->slots))) return;
    if (s->n >= CLI_STRSET_SLOTS / 2) return; /* full: a miss costs a syscall, no more */
    size_t k = set_slot(s, str, len);
    if (s->slots[k] || !(s->slots[k] = strndup(str, len))) return;
    s->n++;
}

void cli_strset_free(cli_strset_t *s)
{
    for (size_t i = 0; s->slots && i < CLI_STRSET_SLOTS; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

Elf *cli_modtab_elf(cli_modtab_t *t, size_t mi)
{
    cli_mod_t *m = &t->mods[mi];
    if (m->tried) return m->elf;
    m->tried = 1;
    if (!m->have_base) return NULL;
    t->open(t->owner, m, mi);
    return m->elf;
}

pag_err_t cli_modtab_find(cli_modtab_t *t, pag_lookup_kind_t kind, const char *name, unsigned index,
                          uint64_t *addr, uint64_t *size)
{
    for (size_t i = 0; i < t->nmods; i++) {
        Elf *elf = cli_modtab_elf(t, i);
        if (!elf) continue;
        if (cli_elf_lookup(elf, t->mods[i].bias, kind, name, &index, addr, size)) return PAG_OK;
    }
    return PAG_ERR_NOT_FOUND;
}

static int by_start(const void *a, const void *b)
{
    const cli_span_t *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->map < y->map ? -1 : x->map > y->map;
}

/* Sort the mappings by address once; note whether any overlap. */
static int index_maps(cli_modtab_t *t)
{
    t->byaddr = malloc((t->nmaps + 1) * sizeof *t->byaddr);
    if (!t->byaddr) return -1;
    for (size_t i = 0; i < t->nmaps; i++)
        t->byaddr[i] = (cli_span_t){t->maps[i].start, t->maps[i].end, i};
    qsort(t->byaddr, t->nmaps, sizeof *t->byaddr, by_start);
    uint64_t reach = 0;
    t->overlap = 0;
    for (size_t i = 0; i < t->nmaps; i++) {
        if (i && t->byaddr[i].start < reach) t->overlap = 1;
        if (t->byaddr[i].end > reach) reach = t->byaddr[i].end;
    }
    return 0;
}

size_t cli_modtab_mod_at(cli_modtab_t *t, uint64_t addr)
{
    if (!t->byaddr && index_maps(t) != 0) t->overlap = 1;
    if (t->overlap) { /* no unique answer by address: the first listed, as always */
        for (size_t i = 0; i < t->nmaps; i++)
            if (addr >= t->maps[i].start && addr < t->maps[i].end) return t->maps[i].mod;
        return CLI_NONE;
    }
    size_t lo = 0, hi = t->nmaps; /* the last mapping starting at or below addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->byaddr[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= t->byaddr[lo - 1].end) return CLI_NONE;
    return t->maps[t->byaddr[lo - 1].map].mod;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("py-async-graph: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *cli_path_text(const char *path, char *buf, size_t len)
{
    size_t o = 0;
    if (!len) return buf;
    for (const unsigned char *p = (const unsigned char *)path; *p && o + 1 < len; p++) {
        char esc[8];
        size_t n = 1;
        if (*p == '\n' || *p == '\t' || *p == '\r')
            n = (size_t)snprintf(esc, sizeof esc, "\\%c",
                                 *p == '\n'   ? 'n'
                                 : *p == '\t' ? 't'
                                              : 'r');
        else if (*p < 0x20 || *p == 0x7f)
            n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
        else
            esc[0] = (char)*p;
        if (o + n >= len) break; /* never half an escape */
        memcpy(buf + o, esc, n);
        o += n;
    }
    buf[o] = 0;
    return buf;
}

pag_err_t cli_modtab_module_of(cli_modtab_t *t, uint64_t addr, char *name, size_t len)
{
    size_t mi = cli_modtab_mod_at(t, addr);
    if (mi == CLI_NONE || !len) return PAG_ERR_NOT_FOUND;
    cli_path_text(t->mods[mi].path, name, len); /* --info prints it on one line */
    return PAG_OK;
}
