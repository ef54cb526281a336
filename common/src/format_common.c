/* pag_render and what every output format shares: the --task/--thread/
 * --running selection and the string escapers (Python repr, JSON, DOT, the
 * text formats' rule, code-point padding).  Strings in a snapshot are UTF-8
 * with Python's lone surrogates in their 3-byte form (pyread.c), but come
 * from target memory, so every decoder here tolerates garbage: an invalid
 * byte is taken as U+FFFD.
 *
 * The text formats (tree, table, tasks; graph's function names) write a
 * target string as it is, except (pag__put_text):
 *   - U+DC80..U+DCFF, what os.fsdecode() and surrogateescape make of a byte
 *     that is not UTF-8, as that original byte (what CPython's ps writes
 *     under a UTF-8 locale);
 *   - any other lone surrogate as a \ud800-style escape (CPython's ps cannot print it),
 *     U+2028 and U+2029 as \u2028 and \u2029 (str.splitlines() and other
 *     readers take them for line breaks);
 *   - tab, newline and carriage return as \t, \n and \r, and every other
 *     control character (U+0000..U+001F, U+007F..U+009F) as \xNN, so one
 *     task stays one line.  A backslash is written as it is.
 * Columns are padded by what is written: an escape counts its characters,
 * a surrogateescape byte one.
 *
 * Filters (documented in --help): --task ID|NAME selects tasks whose address
 * is ID (0x hex) or whose name is NAME (several may match; see name_matches
 * for the forms of a name, "" included); --thread TID the
 * tasks of that thread's list (native id; 0 = orphaned tasks); --running the
 * running task(s).  Given together they intersect.  graph/table/tasks show
 * just the selected tasks; tree/json/dot show the selected tasks with
 * everything connected to them (their awaiters up to the roots and the
 * tasks they await, transitively). */
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

size_t pag__utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned c = s[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 1, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (len < need + 1) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    /* Surrogates are kept (Python strings can hold them; repr escapes them). */
    if (v < min || v > 0x10ffff) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = v;
    return need + 1;
}

void pag__put_utf8(FILE *out, uint32_t cp)
{
    if (cp < 0x80) {
        fputc((int)cp, out);
    } else if (cp < 0x800) {
        fputc(0xc0 | (cp >> 6), out);
        fputc(0x80 | (cp & 0x3f), out);
    } else if (cp < 0x10000) {
        fputc(0xe0 | (cp >> 12), out);
        fputc(0x80 | ((cp >> 6) & 0x3f), out);
        fputc(0x80 | (cp & 0x3f), out);
    } else {
        fputc(0xf0 | (cp >> 18), out);
        fputc(0x80 | ((cp >> 12) & 0x3f), out);
        fputc(0x80 | ((cp >> 6) & 0x3f), out);
        fputc(0x80 | (cp & 0x3f), out);
    }
}

/* Python's str.isprintable(): false for Unicode categories Cc, Cf, Cs, Co,
 * Cn, Zl, Zp and Zs other than the ASCII space.  Without the Unicode
 * database this is an approximation: all of Cc, Zs, Zl, Zp, Cs, Co and the
 * common Cf code points are exact; unassigned code points (Cn) are only
 * recognised for the noncharacters, planes 3-13 beyond the assigned CJK
 * extensions, and the tag/private planes 14-16.  Anything else above ASCII is
 * taken as printable and written as UTF-8, as Python does. */
int pag__py_isprintable(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7f) return 0;
    if (cp < 0x7f) return 1;
    if (cp <= 0xa0) return 0; /* C1 controls and NO-BREAK SPACE (Zs) */
    if (cp == 0xad) return 0;
    if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61c || cp == 0x6dd || cp == 0x70f || cp == 0x890 ||
        cp == 0x891 || cp == 0x8e2 || cp == 0x180e)
        return 0;
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
        (cp >= 0x205f && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) || cp == 0x3000)
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0; /* surrogates */
    if (cp >= 0xe000 && cp <= 0xf8ff) return 0; /* private use */
    if (cp >= 0xfdd0 && cp <= 0xfdef) return 0; /* noncharacters */
    if (cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xfffb)) return 0;
    if ((cp & 0xfffe) == 0xfffe) return 0; /* U+xFFFE, U+xFFFF */
    if (cp == 0x110bd || cp == 0x110cd || (cp >= 0x13430 && cp <= 0x1343f) ||
        (cp >= 0x1bca0 && cp <= 0x1bca3) || (cp >= 0x1d173 && cp <= 0x1d17a))
        return 0;
    if (cp >= 0x3134b && cp < 0xe0100) return 0; /* unassigned planes 3-13, tags */
    if (cp >= 0xe01f0) return 0;                 /* planes 14 (rest), 15, 16 */
    return 1;
}

void pag__put_pyrepr(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    /* Python: single quotes unless the string has ' and no " */
    char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    fputc(q, out);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += pag__utf8_next(p + i, len - i, &cp);
        if (cp == (uint32_t)q || cp == '\\') {
            fputc('\\', out);
            fputc((int)cp, out);
        } else if (cp == '\t') {
            fputs("\\t", out);
        } else if (cp == '\n') {
            fputs("\\n", out);
        } else if (cp == '\r') {
            fputs("\\r", out);
        } else if (pag__py_isprintable(cp)) {
            pag__put_utf8(out, cp);
        } else if (cp <= 0xff) {
            fprintf(out, "\\x%02x", (unsigned)cp);
        } else if (cp <= 0xffff) {
            fprintf(out, "\\u%04x", (unsigned)cp);
        } else {
            fprintf(out, "\\U%08x", (unsigned)cp);
        }
    }
    fputc(q, out);
}

/* The replacement the text formats write for code point cp (see the top of
 * this file) into rep, and its length; 0: cp is written as it is. */
static size_t text_escape(uint32_t cp, char rep[8])
{
    if (cp >= 0xdc80 && cp <= 0xdcff) {
        rep[0] = (char)(cp - 0xdc00);
        return 1;
    }
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0x2028 || cp == 0x2029)
        return (size_t)snprintf(rep, 8, "\\u%04x", (unsigned)cp);
    if (cp == '\t' || cp == '\n' || cp == '\r') {
        rep[0] = '\\';
        rep[1] = cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r';
        return 2;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
        return (size_t)snprintf(rep, 8, "\\x%02x", (unsigned)cp);
    return 0;
}

/* Write s by the text formats' rule (to out, unless NULL); *width gets the
 * code points written, *size the bytes. */
static void text_walk(FILE *out, const char *s, size_t *width, size_t *size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), w = 0, n = len, run = 0;
    for (size_t i = 0; i < len;) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            i++, w++;
            continue;
        }
        uint32_t cp;
        size_t k = pag__utf8_next(p + i, len - i, &cp);
        char rep[8];
        size_t r = text_escape(cp, rep);
        if (r) {
            if (out) {
                fwrite(p + run, 1, i - run, out);
                fwrite(rep, 1, r, out);
            }
            run = i + k;
            n = n - k + r;
        }
        w += r > 1 ? r : 1;
        i += k;
    }
    if (out) fwrite(p + run, 1, len - run, out);
    if (width) *width = w;
    if (size) *size = n;
}

void pag__put_text(FILE *out, const char *s)
{
    text_walk(out, s, NULL, NULL);
}

size_t pag__text_size(const char *s)
{
    size_t n;
    text_walk(NULL, s, NULL, &n);
    return n;
}

void pag__put_ljust(FILE *out, const char *s, size_t width)
{
    size_t n;
    text_walk(out, s, &n, NULL);
    for (; n < width; n++)
        fputc(' ', out);
}

void pag__put_hex(FILE *out, uint64_t v)
{
    char buf[20];
    size_t i = sizeof buf;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    fwrite(buf + i, 1, sizeof buf - i, out);
}

void pag__put_u64(FILE *out, uint64_t v)
{
    char buf[20];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fwrite(buf + i, 1, sizeof buf - i, out);
}

void pag__put_json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        /* a run of printable ASCII goes out as is, in one write */
        size_t j = i;
        while (j < len && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i) {
            fwrite(p + i, 1, j - i, out);
            i = j;
            continue;
        }
        uint32_t cp;
        i += pag__utf8_next(p + i, len - i, &cp);
        if (cp == '"' || cp == '\\') {
            fputc('\\', out);
            fputc((int)cp, out);
        } else if (cp == '\n') {
            fputs("\\n", out);
        } else if (cp == '\t') {
            fputs("\\t", out);
        } else if (cp == '\r') {
            fputs("\\r", out);
        } else if (cp < 0x20 || cp == 0x7f) {
            fprintf(out, "\\u%04x", (unsigned)cp);
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            /* a lone surrogate: not UTF-8, but JSON's escape, which Python's
             * json.loads turns back into the same str */
            fprintf(out, "\\u%04x", (unsigned)cp);
        } else {
            pag__put_utf8(out, cp);
        }
    }
    fputc('"', out);
}

void pag__put_dot_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += pag__utf8_next(p + i, len - i, &cp);
        if (cp == '"' || cp == '\\') {
            fputc('\\', out);
            fputc((int)cp, out);
        } else if (cp == '\n') {
            fputs("\\n", out); /* a DOT line break, centred */
        } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
                   (cp >= 0xd800 && cp <= 0xdfff)) {
            fputs("\\\\x", out); /* shown literally as \xNN */
            fprintf(out, "%02x", (unsigned)cp & 0xff);
        } else {
            pag__put_utf8(out, cp);
        }
    }
    fputc('"', out);
}

static void put_raw(FILE *out, const char *s)
{
    fputs(s, out);
}

/* CPython's _format_stack_entry: "func file:line"; without a line number
 * (lineno < 0, which 3.14's reader reports as None) "func file", or just
 * "func" for the file names "" and "~"; line 0 in file "" is just "func".
 * text: the names by the text formats' rule, else as they are. */
static void frame_label(FILE *out, const pag_frame_t *f, int text)
{
    const char *fn = f->filename ? f->filename : "";
    const char *qn = f->qualname ? f->qualname : "";
    void (*put)(FILE *, const char *) = text ? pag__put_text : put_raw;
    put(out, qn);
    if (f->lineno < 0 ? (*fn && strcmp(fn, "~") != 0) : (f->lineno != 0 || *fn)) {
        fputc(' ', out);
        put(out, fn);
    }
    if (f->lineno > 0 || (f->lineno == 0 && *fn)) fprintf(out, ":%d", f->lineno);
}

void pag__put_frame_label(FILE *out, const pag_frame_t *f)
{
    frame_label(out, f, 0);
}

void pag__put_frame_text(FILE *out, const pag_frame_t *f)
{
    frame_label(out, f, 1);
}

char *pag__frame_label(const pag_frame_t *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    pag__put_frame_label(m, f);
    if (fclose(m) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

const char *pag__state_name(pag_task_state_t st)
{
    switch (st) {
    case PAG_TASK_PENDING:
        return "pending";
    case PAG_TASK_CANCELLED:
        return "cancelled";
    case PAG_TASK_FINISHED:
        return "finished";
    default:
        return "unknown";
    }
}

const char *pag__kind_name(pag_frame_kind_t k)
{
    switch (k) {
    case PAG_FRAME_SYNC:
        return "sync";
    case PAG_FRAME_ASYNC:
        return "async";
    case PAG_FRAME_ASYNC_GEN:
        return "async_gen";
    case PAG_FRAME_GEN:
        return "gen";
    default:
        return "unknown";
    }
}

static int parse_hex_id(const char *s, uint64_t *out)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2]) return 0;
    uint64_t v = 0;
    for (const char *p = s + 2; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return 0;
        if (v >> 60) return 0;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 1;
}

/* s as Python decodes a command line under a UTF-8 locale (strict UTF-8,
 * surrogateescape): each byte that does not start a valid sequence becomes
 * U+DC80..U+DCFF, in the 3-byte form a snapshot keeps surrogates in.  So
 * the bytes of os.fsencode(name) select a task named os.fsdecode(bytes).
 * malloc'd; NULL when nothing changes (or out of memory). */
static char *fsdecode(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), n = 0, i = 0;
    while (i < len && p[i] < 0x80)
        i++;
    char *o = i < len ? malloc(3 * len + 1) : NULL; /* ASCII: nothing to do */
    if (!o) return NULL;
    int changed = 0;
    for (i = 0; i < len;) {
        uint32_t cp;
        size_t k = pag__utf8_next(p + i, len - i, &cp);
        if ((cp == 0xfffd && k == 1) || (cp >= 0xd800 && cp <= 0xdfff)) {
            /* U+DC80 + byte: ED, B2 or B3, then 80 | the low 6 bits */
            o[n++] = (char)0xed;
            o[n++] = (char)(0xb0 | (p[i] >> 6));
            o[n++] = (char)(0x80 | (p[i] & 0x3f));
            k = 1, changed = 1;
        } else {
            memcpy(o + n, p + i, k);
            n += k;
        }
        i += k;
    }
    o[n] = '\0';
    if (changed) return o;
    free(o);
    return NULL;
}

/* Whether --task text `want` names a task called `name`: the same bytes,
 * the same bytes once surrogateescaped (`bytes`, from fsdecode), or
 * repr(name) as graph prints it, quotes included -- the one way to type a
 * name whose bytes a debugger's command line refuses. */
static int name_matches(const char *name, const char *want, const char *bytes)
{
    if (!name) return 0;
    if (strcmp(name, want) == 0 || (bytes && strcmp(name, bytes) == 0)) return 1;
    if ((want[0] != '\'' && want[0] != '"') || strlen(name) + 2 > strlen(want)) return 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return 0;
    pag__put_pyrepr(m, name);
    int same = fclose(m) == 0 && strcmp(buf, want) == 0;
    free(buf);
    return same;
}

size_t pag__select(const pag_snapshot_t *snap, const pag_options_t *opts, unsigned char *sel,
                   int *any_filter)
{
    uint64_t id = 0;
    int by_id = opts->task && parse_hex_id(opts->task, &id);
    char *bytes = opts->task ? fsdecode(opts->task) : NULL;
    size_t count = 0;
    *any_filter = opts->task || opts->have_thread || opts->running;
    for (size_t i = 0; i < snap->n_tasks; i++) {
        const pag_task_t *t = &snap->tasks[i];
        int ok = 1;
        if (opts->task) {
            /* an id matches the address; any text also matches a name */
            ok = (by_id && t->addr == id) || name_matches(t->name, opts->task, bytes);
        }
        if (ok && opts->have_thread) {
            ok = t->thread < snap->n_threads && snap->threads[t->thread].native_id == opts->thread;
        }
        if (ok && opts->running) ok = t->running;
        sel[i] = (unsigned char)ok;
        count += (size_t)ok;
    }
    free(bytes);
    return count;
}

void pag__select_closure(const pag_snapshot_t *snap, unsigned char *sel)
{
    size_t n = snap->n_tasks;
    /* reverse adjacency (node -> nodes it awaits) as CSR */
    size_t *cnt = calloc(n + 1, sizeof *cnt);
    size_t *stack = malloc((n ? n : 1) * sizeof *stack);
    unsigned char *seen = calloc(n ? n : 1, 2);
    size_t *adj = NULL;
    if (!cnt || !stack || !seen) goto out;
    size_t edges = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < snap->tasks[i].n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, &snap->tasks[i], k);
            if (a != SIZE_MAX) cnt[a + 1]++, edges++;
        }
    }
    for (size_t i = 0; i < n; i++)
        cnt[i + 1] += cnt[i];
    adj = malloc((edges ? edges : 1) * sizeof *adj);
    size_t *fill = calloc(n ? n : 1, sizeof *fill);
    if (!adj || !fill) {
        free(fill);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < snap->tasks[i].n_awaited_by; k++) {
            size_t a = pag__awaiter(snap, &snap->tasks[i], k);
            if (a != SIZE_MAX) adj[cnt[a] + fill[a]++] = i;
        }
    }
    free(fill);
    /* dir 0: up along awaited_by; dir 1: down along the reverse edges */
    for (int dir = 0; dir < 2; dir++) {
        unsigned char *vis = seen + (size_t)dir * n;
        size_t sp = 0;
        for (size_t i = 0; i < n; i++) {
            if (sel[i]) {
                vis[i] = 1;
                stack[sp++] = i;
            }
        }
        while (sp > 0) {
            size_t v = stack[--sp];
            const pag_task_t *t = &snap->tasks[v];
            if (dir == 0) {
                for (size_t k = 0; k < t->n_awaited_by; k++) {
                    size_t a = pag__awaiter(snap, t, k);
                    if (a != SIZE_MAX && !vis[a]) vis[a] = 1, stack[sp++] = a;
                }
            } else {
                for (size_t e = cnt[v]; e < cnt[v + 1]; e++) {
                    size_t c = adj[e];
                    if (!vis[c]) vis[c] = 1, stack[sp++] = c;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        sel[i] = sel[i] || seen[i] || seen[n + i];
out:
    free(cnt);
    free(stack);
    free(seen);
    free(adj);
}

#define PAG__FMT_ROW(ID, name_, closure_, pad, help_)                                              \
    [PAG_FMT_##                                                                                    \
        ID] = {.name = #name_, .closure = closure_, .help = help_, .render = pag__render_##name_},
const struct pag__format_row pag__formats[PAG_FMT__COUNT] = {PAG_FORMATS(PAG__FMT_ROW)};
#undef PAG__FMT_ROW

const char *pag_format_name(int format)
{
    return format >= 0 && format < PAG_FMT__COUNT ? pag__formats[format].name : NULL;
}

/* The format's output, then the thread blocks of the text formats (issue
 * 14: --all-threads, a loop stuck in a callback, --native --thread N).
 * When only threads match the selection, the text formats print just them;
 * json and dot carry the threads in their own syntax. */
static pag_err_t render_with_threads(const pag_snapshot_t *snap, const pag_options_t *opts,
                                     const unsigned char *sel, const char *source_json, FILE *out,
                                     int only_threads, size_t threads)
{
    const struct pag__format_row *row = &pag__formats[opts->format];
    int text = opts->format == PAG_FMT_TREE || opts->format == PAG_FMT_TABLE ||
               opts->format == PAG_FMT_GRAPH || opts->format == PAG_FMT_TASKS;
    pag_err_t err = PAG_OK;
    if (!(text && only_threads)) err = row->render(snap, opts, sel, source_json, out);
    if (!err && text && threads)
        pag__render_threads(snap, opts, opts->format == PAG_FMT_GRAPH, !only_threads, out);
    return err;
}

pag_err_t pag_render(const pag_snapshot_t *snap, const pag_options_t *opts, const char *source_json,
                     FILE *out)
{
    pag__caps_t caps = {PAG_MAX_OUTPUT_LINES, (uint64_t)PAG_MAX_OUTPUT_MIB << 20, 0};
    return pag__render_capped(snap, opts, source_json, out, &caps);
}

pag_err_t pag__render_capped(const pag_snapshot_t *snap, const pag_options_t *opts,
                             const char *source_json, FILE *out, pag__caps_t *caps)
{
    if (!snap || !opts || !out || !caps) return PAG_ERR_INVALID_ARG;
    unsigned char *sel = malloc(snap->n_tasks ? snap->n_tasks : 1);
    if (!sel) return PAG_ERR_NOMEM;
    int filtered = 0;
    size_t count = pag__select(snap, opts, sel, &filtered);
    size_t threads = pag__threads_shown(snap, opts);
    pag_err_t err = PAG_OK;
    if (filtered && count == 0 && threads == 0) {
        free(sel);
        return PAG_ERR_NO_TASK;
    }
    if ((unsigned)opts->format >= PAG_FMT__COUNT) {
        free(sel);
        return PAG_ERR_INVALID_ARG;
    }
    const struct pag__format_row *row = &pag__formats[opts->format];
    flockfile(out);
    if (filtered && row->closure) pag__select_closure(snap, sel);
    pag__render_opts_t ro = {*opts, caps}; /* what the renderers' budgets read */
    err = render_with_threads(snap, &ro.o, sel, source_json, out, filtered && count == 0, threads);
    funlockfile(out);
    free(sel);
    if (!err && (fflush(out) != 0 || ferror(out))) err = PAG_ERR_IO;
    return err;
}
