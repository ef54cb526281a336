/* Readers for the few Python object kinds the graph needs: str, bytes, int,
 * a type's name and flags, and the location table.  Every length read from
 * the target is clamped before it is used as a size, and every field read
 * from a copied header lies inside the bytes copied: the session refuses a
 * table that says otherwise (versions.c, pag__copies_check), and the checks
 * here repeat it at the point of use so no table can reach past a buffer. */
#include <stdlib.h>

#include "internal.h"

int pag__sb_put(pag_strbuf_t *b, const void *data, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int pag__sb_putc(pag_strbuf_t *b, char c)
{
    return pag__sb_put(b, &c, 1);
}

void pag__sb_utf8(pag_strbuf_t *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        /* Lone surrogates are written in their 3-byte form, as Python's
         * "surrogatepass" would; consumers that need strict UTF-8 replace them. */
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    pag__sb_put(b, u, n);
}

pag_err_t pag__read_type(pag_session_t *s, uint64_t obj, uint64_t *type, uint64_t *flags)
{
    uint64_t t;
    pag_err_t e = pag__read_u64(&s->cache, obj + s->off.pyobject.ob_type, &t);
    if (e) return e;
    if (!t) return PAG_ERR_CORRUPT;
    *type = t;
    if (flags) return pag__read_u64(&s->cache, t + s->off.type.tp_flags, flags);
    return PAG_OK;
}

pag_err_t pag__read_type_name(pag_session_t *s, uint64_t type, char *name, size_t cap)
{
    uint64_t p;
    pag_err_t e = pag__read_u64(&s->cache, type + s->off.type.tp_name, &p);
    if (e) return e;
    /* tp_name is a C string in .rodata; read what fits without crossing into
     * a possibly unmapped page, then the rest if needed. */
    size_t got = 0;
    while (got + 1 < cap) {
        size_t room = PAG_PAGE_SIZE - (size_t)((p + got) & (PAG_PAGE_SIZE - 1));
        size_t n = cap - 1 - got;
        if (n > room) n = room;
        e = pag__read(&s->cache, p + got, n, name + got);
        if (e) return e;
        void *z = memchr(name + got, 0, n);
        got += n;
        if (z) return PAG_OK;
    }
    name[cap - 1] = 0;
    return PAG_OK;
}

pag_err_t pag__read_bytes(pag_session_t *s, uint64_t addr, size_t max, pag_strbuf_t *b)
{
    uint8_t hdr[PAG_COPY_BYTES_HDR];
    const pag_offsets_t *o = &s->off;
    if (o->bytes.ob_size > sizeof hdr - 8) return PAG_ERR_CORRUPT;
    pag_err_t e = pag__read(&s->cache, addr, o->bytes.ob_size + 8, hdr);
    if (e) return e;
    int64_t n = pag__i64(hdr, o->bytes.ob_size);
    if (n < 0 || (uint64_t)n > max) return PAG_ERR_CORRUPT;
    b->n = 0;
    if (pag__sb_put(b, "", 0) != 0) return PAG_ERR_NOMEM;
    if (n == 0) return PAG_OK;
    if (b->cap < (size_t)n + 1) {
        char *p = realloc(b->p, (size_t)n + 1);
        if (!p) return PAG_ERR_NOMEM;
        b->p = p;
        b->cap = (size_t)n + 1;
    }
    e = pag__read(&s->cache, addr + o->bytes.ob_sval, (size_t)n, b->p);
    if (e) return e;
    b->n = (size_t)n;
    b->p[n] = 0;
    return PAG_OK;
}

pag_err_t pag__read_long(pag_session_t *s, uint64_t addr, int64_t *out)
{
    const pag_offsets_t *o = &s->off;
    uint64_t tag;
    pag_err_t e = pag__read_u64(&s->cache, addr + o->long_.lv_tag, &tag);
    if (e) return e;
    uint64_t ndigits = tag >> 3;
    int sign = (int)(tag & 3);
    if (ndigits > PAG_MAX_LONG_DIGITS || sign == 3) return PAG_ERR_CORRUPT;
    uint32_t d[PAG_MAX_LONG_DIGITS];
    if (ndigits) {
        e = pag__read(&s->cache, addr + o->long_.ob_digit, ndigits * 4, d);
        if (e) return e;
    }
    uint64_t v = 0;
    for (uint64_t i = ndigits; i-- > 0;) {
        if (v >> 33) return PAG_ERR_CORRUPT; /* would overflow int64 */
        v = (v << 30) | (d[i] & 0x3FFFFFFFu);
    }
    if (v > INT64_MAX) return PAG_ERR_CORRUPT;
    *out = sign == 2 ? -(int64_t)v : sign == 1 ? 0 : (int64_t)v;
    return PAG_OK;
}

pag_err_t pag__read_str(pag_session_t *s, uint64_t addr, size_t max_chars, pag_strbuf_t *b,
                        int *truncated)
{
    const pag_offsets_t *o = &s->off;
    const pag_consts_t *k = &s->k;
    uint8_t hdr[PAG_COPY_STR_HDR];
    /* what is copied (the ASCII header, then up to the data pointer) fits
     * hdr, and what is read from the first copy lies inside it */
    const uint64_t ascii_len = o->unicode.asciiobject_size;
    if (o->unicode.compact_size > sizeof hdr - 8 || ascii_len > sizeof hdr ||
        o->unicode.length > ascii_len || ascii_len - o->unicode.length < 8 ||
        o->unicode.state > ascii_len || ascii_len - o->unicode.state < 4)
        return PAG_ERR_CORRUPT;
    size_t hdrlen = (size_t)o->unicode.compact_size + 8;
    b->n = 0;
    if (pag__sb_put(b, "", 0) != 0) return PAG_ERR_NOMEM;
    if (truncated) *truncated = 0;
    /* The header may sit at the end of a mapping for short ASCII strings;
     * read the ASCII part first, the rest only when needed. */
    pag_err_t e = pag__read(&s->cache, addr, (size_t)ascii_len, hdr);
    if (e) return e;
    int64_t len = pag__i64(hdr, o->unicode.length);
    uint32_t state = pag__u32(hdr, o->unicode.state);
    unsigned kind = (state >> k->str_kind_shift) & 7;
    int compact = (state >> k->str_compact_bit) & 1;
    int ascii = (state >> k->str_ascii_bit) & 1;
    if (len < 0 || len > (int64_t)1 << 40) return PAG_ERR_CORRUPT;
    if (kind != 1 && kind != 2 && kind != 4) return PAG_ERR_CORRUPT;
    if (ascii && kind != 1) return PAG_ERR_CORRUPT;
    size_t n = (size_t)len;
    if (n > max_chars) {
        n = max_chars;
        if (truncated) *truncated = 1;
    }
    uint64_t data;
    if (compact && ascii) {
        data = addr + o->unicode.asciiobject_size;
    } else if (compact) {
        data = addr + o->unicode.compact_size;
    } else {
        e = pag__read(&s->cache, addr, hdrlen, hdr);
        if (e) return e;
        data = pag__u64(hdr, o->unicode.compact_size);
        if (!data) return PAG_ERR_CORRUPT;
    }
    if (n == 0) return PAG_OK;
    size_t nbytes = n * kind;
    uint8_t small[1024];
    uint8_t *raw = nbytes <= sizeof small ? small : malloc(nbytes);
    if (!raw) return PAG_ERR_NOMEM;
    e = pag__read(&s->cache, data, nbytes, raw);
    if (e == PAG_OK) {
        if (kind == 1 && ascii) {
            for (size_t i = 0; i < n; i++)
                if (raw[i] & 0x80) raw[i] = '?'; /* an "ascii" str with high bytes is corrupt */
            if (pag__sb_put(b, raw, n) != 0) e = PAG_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < n; i++) {
                uint32_t cp;
                if (kind == 1)
                    cp = raw[i];
                else if (kind == 2) {
                    uint16_t v;
                    memcpy(&v, raw + 2 * i, 2);
                    cp = v;
                } else
                    memcpy(&cp, raw + 4 * i, 4);
                pag__sb_utf8(b, cp);
            }
            if (!b->p) e = PAG_ERR_NOMEM;
        }
    }
    if (raw != small) free(raw);
    return e;
}

/* ---- Location table (PEP 626/657 format) ---- */

static int read_varint(const uint8_t *t, size_t len, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (*i >= len || shift > 60) return -1;
        uint8_t c = t[(*i)++];
        v |= (uint64_t)(c & 63) << shift;
        shift += 6;
        if (!(c & 64)) break;
    }
    *out = v;
    return 0;
}

static int read_svarint(const uint8_t *t, size_t len, size_t *i, int64_t *out)
{
    uint64_t u;
    if (read_varint(t, len, i, &u)) return -1;
    *out = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
    return 0;
}

int pag__linetable_line(const uint8_t *tab, size_t len, int firstlineno, uint64_t addrq)
{
    int64_t line = firstlineno;
    uint64_t addr = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t first = tab[i++];
        if (!(first & 0x80)) return -1; /* not at an entry start: corrupt */
        unsigned code = (first >> 3) & 15;
        uint64_t length = (first & 7) + 1;
        int64_t delta = 0;
        int none = 0;
        uint64_t u;
        switch (code) {
        case 15:
            none = 1;
            break;
        case 14:
            if (read_svarint(tab, len, &i, &delta)) return -1;
            for (int j = 0; j < 3; j++)
                if (read_varint(tab, len, &i, &u)) return -1;
            break;
        case 13:
            if (read_svarint(tab, len, &i, &delta)) return -1;
            break;
        case 10:
        case 11:
        case 12:
            delta = code - 10;
            i += 2;
            break;
        default:
            i += 1;
            break;
        }
        if (i > len) return -1;
        line += delta;
        if (addrq >= addr && addrq < addr + length) return none ? -1 : (int)line;
        addr += length;
    }
    return -1;
}
