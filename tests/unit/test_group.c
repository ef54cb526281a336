/* Grouping unit tests on hand-built snapshots (group.c and the three
 * formats built on it): name patterns, counts, exact shapes, and, on a few
 * hundred random await forests with shared awaiters, cycles and running
 * tasks, the --group tree against the plain tree it folds (which is
 * CPython's pstree, checked byte for byte by format_oracle.py): every line
 * of the plain tree, task names left out, is in the grouped tree as many
 * times as the counts above it multiply to; running and cycle tasks are
 * never folded; summary and collapsed counts add up to the task total.
 * pag-test-formats: tree summary collapsed */
#define _GNU_SOURCE
#include "snapbuild.h"

#include "group.h"

static char *put_to_string(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    fn(m, arg);
    fclose(m);
    return buf;
}

static void put_pat(FILE *m, const void *p)
{
    pag__pattern_put(m, p);
}

static void expect_pattern(const char *want, const char *const *names, size_t n)
{
    pag__pattern_t p;
    memset(&p, 0, sizeof p);
    for (size_t i = 0; i < n; i++)
        pag__pattern_add(&p, names[i]);
    char *got = put_to_string(put_pat, &p);
    char what[128];
    snprintf(what, sizeof what, "pattern %s", want);
    sb_expect_text(what, got, want);
    free(got);
}

static void put_cnt(FILE *m, const void *v)
{
    pag__put_count(m, *(const uint64_t *)v);
}

static void test_patterns(void)
{
    const char *a[] = {"conn-1", "conn-22", "conn-333"};
    expect_pattern("conn-*", a, 3);
    const char *b[] = {"same", "same"};
    expect_pattern("same", b, 2);
    const char *c[] = {"x-1-y", "x-22-y"};
    expect_pattern("x-*-y", c, 2);
    const char *d[] = {"ab", "abab"}; /* prefix and suffix would overlap in "ab" */
    expect_pattern("ab*", d, 2);
    const char *e[] = {"1", "2"};
    expect_pattern("*", e, 2);
    const char *f[] = {"\xc3\xa9\xc3\xa0",
                       "\xc3\xa9\xc3\xa1"}; /* "éà", "éá": one UTF-8 lead byte shared */
    expect_pattern("\xc3\xa9*", f, 2);
    const char *g[] = {"", "x"};
    expect_pattern("*", g, 2);
    uint64_t vals[] = {0, 999, 1000, 4812, 1234567};
    const char *want[] = {"0", "999", "1,000", "4,812", "1,234,567"};
    for (int i = 0; i < 5; i++) {
        char *got = put_to_string(put_cnt, &vals[i]);
        sb_expect_text("count", got, want[i]);
        free(got);
    }
}

/* R awaits a1..a4 (one shape), b (another line), c (a's shape, running)
 * and d1 <-> d2 (a cycle, a's frames). */
static void small(pag_snapshot_t *s, size_t *ids)
{
    sb_init(s);
    size_t th = sb_thread(s, 7, 1);
    const char *names[] = {"R", "a-1", "a-2", "a-3", "a-4", "b", "c", "d1", "d2"};
    for (size_t i = 0; i < 9; i++) {
        ids[i] = sb_task(s, th, 0x1000 + 0x100 * i, names[i]);
        sb_frame(s, ids[i], i == 0 ? "root" : "work", "m.py", i == 5 ? 9 : 5);
        if (i) sb_await(s, ids[i], ids[0]);
    }
    sb_await(s, ids[7], ids[8]);
    sb_await(s, ids[8], ids[7]);
    sb_running(s, ids[6]);
    sb_finish(s);
}

static void test_shapes(void)
{
    pag_snapshot_t s;
    size_t id[9];
    small(&s, id);
    unsigned char sel[9];
    memset(sel, 1, sizeof sel);
    pag__groups_t g;
    CHECK(pag__groups_build(&s, sel, &g) == PAG_OK);
    CHECK(g.shape[id[1]] == g.shape[id[2]] && g.shape[id[2]] == g.shape[id[4]]);
    CHECK(g.shape[id[5]] != g.shape[id[1]]);
    CHECK(g.unique[g.shape[id[6]]] && g.shape[id[6]] != g.shape[id[1]]);
    CHECK(g.unique[g.shape[id[7]]] && g.unique[g.shape[id[8]]]);
    CHECK(g.unique[g.shape[id[0]]]); /* holds the running task and the cycle */
    CHECK(g.off[id[0] + 1] - g.off[id[0]] == 8);
    pag__groups_free(&g);

    pag_err_t err;
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    o.group = 1;
    char *out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK);
    sb_expect_text(
        "tree --group: small", out,
        "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) R\n"
        "    \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  root m.py:5\n"
        "        \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 (T) a-* \xc3\x97"
        "4\n"
        "        \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "        \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 (T) b\n"
        "        \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:9\n"
        "        \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 (T) c\n"
        "        \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "        \xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 (T) d1\n"
        "        \xe2\x94\x82   \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "        \xe2\x94\x82       \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) d2\n"
        "        \xe2\x94\x82           \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "        \xe2\x94\x82               \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) d1 [cycle]\n"
        "        \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) d2\n"
        "            \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "                \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) d1\n"
        "                    \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  work m.py:5\n"
        "                        \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) d2 [cycle]\n"
        "\n"
        "possible deadlock: await cycle: d1 \xe2\x86\x92 d2 \xe2\x86\x92 d1\n");
    free(out);

    o = sb_opts(PAG_FMT_SUMMARY);
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK);
    sb_expect_text("summary: small", out,
                   "summary: 9 tasks, 1 thread, 0 loops, 1 cycle, 1 running\n"
                   "cycle: d1 \xe2\x86\x92 d2 \xe2\x86\x92 d1\n"
                   "running: c (thread 7) at work m.py:5\n"
                   "COUNT  SUSPENDED AT \xe2\x86\x90 AWAITED BY (first awaiter)\n"
                   "    7  work m.py:5 \xe2\x86\x90 root m.py:5\n"
                   "    1  root m.py:5\n"
                   "    1  work m.py:9 \xe2\x86\x90 root m.py:5\n");
    free(out);
    o.top = 1;
    out = sb_render(&s, &o, &err);
    sb_expect_text("summary: --top 1", out,
                   "summary: 9 tasks, 1 thread, 0 loops, 1 cycle, 1 running\n"
                   "cycle: d1 \xe2\x86\x92 d2 \xe2\x86\x92 d1\n"
                   "running: c (thread 7) at work m.py:5\n"
                   "COUNT  SUSPENDED AT \xe2\x86\x90 AWAITED BY (first awaiter)\n"
                   "    7  work m.py:5 \xe2\x86\x90 root m.py:5\n"
                   "    1  root m.py:5\n"
                   "... 1 more suspension point (1 task); --top 0 shows all\n");
    free(out);

    o = sb_opts(PAG_FMT_COLLAPSED);
    out = sb_render(&s, &o, &err);
    sb_expect_text("collapsed: small", out,
                   "root m.py:5 1\n"
                   "root m.py:5;work m.py:5 7\n"
                   "root m.py:5;work m.py:9 1\n");
    free(out);
    sb_free(&s);
}

/* ---- random forests: the grouped tree against the plain one ---- */

typedef struct line_key {
    char *key;
    uint64_t weight;
} line_key_t;

typedef struct keys {
    line_key_t *v;
    size_t n;
} keys_t;

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const line_key_t *)a)->key, ((const line_key_t *)b)->key);
}

/* Each drawn line as (depth, label without task names), weighted by the
 * product of the counts of the task lines above it and its own.  Returns
 * the weighted number of task lines. */
static uint64_t tree_keys(const char *text, keys_t *k)
{
    uint64_t mult[4096], tasks = 0;
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        p = nl ? nl + 1 : NULL;
        char *conn = strstr(line, "\xe2\x94\x80\xe2\x94\x80 "); /* "── " */
        if (!conn) {
            free(line);
            continue;
        }
        size_t cps = 0; /* code points before the connector's first char */
        for (const char *q = line; q < conn; q++)
            cps += ((unsigned char)*q & 0xc0) != 0x80;
        size_t depth = (cps - 1) / 4;
        char *label = conn + 7;
        uint64_t m = 1, w = 1;
        int task = strncmp(label, "(T) ", 4) == 0 || strncmp(label, "(F) ", 4) == 0;
        char *x = strstr(label, " \xc3\x97");
        if (x) {
            m = 0;
            for (char *q = x + 3; *q; q++)
                if (*q >= '0' && *q <= '9') m = m * 10 + (uint64_t)(*q - '0');
            *x = '\0';
        }
        for (size_t d = 0; d < depth && d < 4096; d++)
            w *= mult[d];
        if (depth < 4096) mult[depth] = task ? m : 1;
        w *= m;
        char key[512];
        int cyc = strstr(label, " [cycle]") != NULL;
        snprintf(key, sizeof key, "%zu %s", depth, task ? (cyc ? "(T) [cycle]" : "(T)") : label);
        k->v = sb_xrealloc(k->v, (k->n + 1) * sizeof *k->v);
        k->v[k->n].key = strdup(key);
        k->v[k->n++].weight = w;
        if (task) tasks += w;
        free(line);
    }
    qsort(k->v, k->n, sizeof *k->v, key_cmp);
    size_t o = 0; /* merge equal keys */
    for (size_t i = 0; i < k->n; i++) {
        if (o && strcmp(k->v[o - 1].key, k->v[i].key) == 0) {
            k->v[o - 1].weight += k->v[i].weight;
            free(k->v[i].key);
        } else {
            k->v[o++] = k->v[i];
        }
    }
    k->n = o;
    return tasks;
}

static int keys_equal(const keys_t *a, const keys_t *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].key, b->v[i].key) || a->v[i].weight != b->v[i].weight) return 0;
    return 1;
}

static void keys_free(keys_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].key);
    free(k->v);
}

static unsigned rnd(unsigned *st)
{
    *st = *st * 1103515245u + 12345u;
    return (*st >> 16) & 0x7fff;
}

static char g_names[64][16];

static void random_forest(pag_snapshot_t *s, unsigned seed)
{
    unsigned st = seed;
    sb_init(s);
    size_t th = sb_thread(s, 1, 1);
    size_t n = 2 + rnd(&st) % 40;
    static const char *fn[] = {"a", "b", "c"};
    for (size_t i = 0; i < n; i++) {
        snprintf(g_names[i], sizeof g_names[i], "%c-%zu", "xyz"[rnd(&st) % 3], i);
        size_t t = sb_task(s, th, 0x10000 + 0x100 * i, g_names[i]);
        for (unsigned f = rnd(&st) % 3; f-- > 0;)
            sb_frame(s, t, fn[rnd(&st) % 3], "r.py", (int)(rnd(&st) % 2));
    }
    for (size_t i = 1; i < n; i++) {
        if (rnd(&st) % 5 == 0) continue; /* a root */
        sb_await(s, i, rnd(&st) % i);
        if (rnd(&st) % 7 == 0) sb_await(s, i, rnd(&st) % i); /* a second awaiter */
    }
    if (rnd(&st) % 4 == 0) { /* a back edge: an await cycle */
        size_t a = rnd(&st) % n, b = rnd(&st) % n;
        if (a != b) sb_await(s, a < b ? a : b, a < b ? b : a);
    }
    if (rnd(&st) % 3 == 0) sb_running(s, rnd(&st) % n);
    sb_finish(s);
}

/* The sum of the summary's row counts, or of the collapsed lines'. */
static uint64_t sum_counts(const char *text, int collapsed)
{
    uint64_t sum = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (collapsed) {
            const char *sp = p + len;
            while (sp > p && sp[-1] != ' ')
                sp--;
            sum += strtoull(sp, NULL, 10);
        } else if (len && (*p == ' ' || (*p >= '0' && *p <= '9'))) {
            uint64_t v = 0;
            const char *q = p;
            while (*q == ' ')
                q++;
            for (; (*q >= '0' && *q <= '9') || *q == ','; q++)
                if (*q != ',') v = v * 10 + (uint64_t)(*q - '0');
            sum += v;
        }
        p = nl ? nl + 1 : NULL;
    }
    return sum;
}

static void test_random(void)
{
    int bad = 0, folded = 0;
    for (unsigned seed = 1; seed <= 400; seed++) {
        pag_snapshot_t s;
        random_forest(&s, seed);
        pag_err_t e1, e2, e3, e4;
        pag_options_t o = sb_opts(PAG_FMT_TREE);
        char *plain = sb_render(&s, &o, &e1);
        o.group = 1;
        char *grouped = sb_render(&s, &o, &e2);
        keys_t kp = {0}, kg = {0};
        uint64_t tp = tree_keys(plain, &kp), tg = tree_keys(grouped, &kg);
        o = sb_opts(PAG_FMT_SUMMARY);
        char *sum = sb_render(&s, &o, &e3);
        o = sb_opts(PAG_FMT_COLLAPSED);
        char *col = sb_render(&s, &o, &e4);
        int ok = e1 == PAG_OK && e2 == PAG_OK && e3 == PAG_OK && e4 == PAG_OK && tp == tg &&
                 keys_equal(&kp, &kg) && sum_counts(sum, 0) == s.n_tasks &&
                 sum_counts(col, 1) == s.n_tasks;
        for (size_t i = 0; ok && i < s.n_tasks; i++) { /* running tasks stay visible */
            char want[64];
            snprintf(want, sizeof want, "(T) %s\n", s.tasks[i].name);
            if (s.tasks[i].running && !strstr(grouped, want)) ok = 0;
        }
        folded += strstr(grouped, " \xc3\x97") != NULL;
        if (!ok && bad++ < 3)
            printf("FAIL random seed %u (tasks %zu/%zu, summary %llu, collapsed %llu)\n"
                   "--- plain ---\n%s--- grouped ---\n%s--- summary ---\n%s",
                   seed, (size_t)tp, (size_t)tg, (unsigned long long)sum_counts(sum, 0),
                   (unsigned long long)sum_counts(col, 1), plain, grouped, sum);
        keys_free(&kp), keys_free(&kg);
        free(plain), free(grouped), free(sum), free(col);
        sb_free(&s);
    }
    if (bad) sb_failures++;
    printf("%s random forests: %d of 400 failed, %d of them folded something\n",
           bad ? "FAIL" : "ok  ", bad, folded);
    CHECK(folded > 100); /* the property is not vacuous */
}

int main(void)
{
    test_patterns();
    test_shapes();
    test_random();
    printf("%s\n", sb_failures ? "FAILED" : "all passed");
    return sb_failures ? 1 : 0;
}
