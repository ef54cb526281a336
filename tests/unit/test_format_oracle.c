/* Scenario dumper for format_oracle.py: builds fixed and pseudo-random
 * snapshots (several thread lists, orphans, shared awaiters, non-ASCII and
 * quote-laden names, frames without line numbers) and writes, per scenario,
 * the data in get_all_awaited_by() shape plus our tree, table and graph
 * renderings; format_oracle.py feeds the same data to CPython's own
 * Lib/asyncio/tools.py and graph.py and compares byte for byte.
 *
 *   test_format_oracle --dump DIR [N]    write N random scenarios + fixed ones
 *   test_format_oracle                   self-check: render every scenario
 *                                        in every format, expect success */
#include "snapbuild.h"
#include "fmt_internal.h"

#include <sys/stat.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const names[] = {
    "Task-1",
    "Task-2",
    "worker",
    "zadanie-\xc5\xbc\xc3\xb3\xc5\x82w",
    "a'b",
    "q\"x",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "emoji\xf0\x9f\x98\x80",
    "tab\there",
    "nl\nname",
    "a-very-long-task-name-that-is-longer-than-twenty",
    "",
    "back\\slash",
    "nbsp\xc2\xa0x",
};
static const char *const quals[] = {
    "main",
    "worker",
    "TaskGroup.__aexit__",
    "sleep",
    "gather_all.<locals>.inner",
    "Klass.method",
    "gen\xc5\xbc",
    "agen",
    "wait_for",
    "shield",
    "<lambda>",
    "a_function_with_a_very_long_qualified_name_beyond_fifty_characters_total",
};
static const char *const files[] = {
    "/usr/lib/python3.14/asyncio/taskgroups.py", "/srv/app.py", "x.py",     "", "~",
    "/tmp/\xc5\xbc\xc3\xb3\xc5\x82w.py",         "it's.py",     "<string>",
};

static void random_stack(pag_stack_t *st)
{
    unsigned n = rnd(5);
    for (unsigned i = 0; i < n; i++) {
        int line = rnd(10) == 0 ? -1 : (rnd(12) == 0 ? 0 : (int)rnd(400) + 1);
        pag_frame_kind_t k = rnd(8) == 0    ? PAG_FRAME_ASYNC_GEN
                             : rnd(10) == 0 ? PAG_FRAME_GEN
                                            : PAG_FRAME_ASYNC;
        sb_push(st, quals[rnd(sizeof quals / sizeof quals[0])],
                files[rnd(sizeof files / sizeof files[0])], line, k);
    }
}

/* A random DAG of listed tasks: awaiters always come from a lower rank. */
static void random_snapshot(pag_snapshot_t *s)
{
    sb_init(s);
    unsigned nthreads = 1 + rnd(3);
    unsigned ntasks = rnd(25);
    size_t base = 0;
    for (unsigned t = 0; t <= nthreads; t++) {
        /* the interpreter's orphan list (tid 0) always comes last */
        size_t th = sb_thread(s, t == nthreads ? 0 : 1000 + t * 17 + rnd(5), t == 0);
        unsigned here = t == nthreads ? ntasks / 4 : ntasks / (nthreads + 1) + rnd(3);
        for (unsigned i = 0; i < here; i++) {
            const char *fixed = names[rnd(sizeof names / sizeof names[0])];
            if (rnd(3) == 0) {
                /* default-style names; the buffer lives as long as the scenario */
                static char pool[256][32];
                char *nm = pool[s->n_tasks % 256];
                snprintf(nm, 32, "Task-%zu", s->n_tasks + 1);
                fixed = nm;
            }
            size_t id = sb_task(s, th, 0x7f0000000000ull + (base++) * 0x1a0 + rnd(7) * 0x10, fixed);
            random_stack(&s->tasks[id].stack);
        }
    }
    size_t n = s->n_tasks;
    if (n == 0) return;
    unsigned *rank = malloc(n * sizeof *rank);
    for (size_t i = 0; i < n; i++)
        rank[i] = (unsigned)i;
    for (size_t i = n; i-- > 1;) {
        size_t j = rnd((unsigned)i + 1);
        unsigned tmp = rank[i];
        rank[i] = rank[j];
        rank[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned na = rnd(4) == 0 ? 2 : (rnd(3) == 0 ? 0 : 1);
        for (unsigned k = 0; k < na; k++) {
            size_t a = rnd((unsigned)n);
            if (rank[a] >= rank[i]) continue;
            int dup = 0;
            for (size_t q = 0; q < s->tasks[i].n_awaited_by; q++)
                dup |= s->tasks[i].awaited_by[q] == a;
            if (!dup) sb_await(s, i, a);
        }
    }
    free(rank);
}

static void fixed_snapshot(pag_snapshot_t *s, int which)
{
    sb_init(s);
    size_t th = sb_thread(s, 4242, 1);
    if (which == 0) return; /* no tasks at all */
    size_t t1 = sb_task(s, th, 0x1039f0fe0ull, "test");
    sb_frame(s, t1, "test", "t2.py", 4);
    size_t t2 = sb_task(s, th, 0x103a5e060ull, "Task-1");
    sb_frame(s, t2, "TaskGroup.__aexit__", "taskgroups.py", 107);
    sb_frame(s, t2, "main", "t2.py", 7);
    sb_await(s, t1, t2);
    if (which == 1) return;
    /* two children awaited from the same frame share one coroutine node;
     * a task awaited by two tasks appears twice */
    size_t t3 = sb_task(s, th, 0x2000, "sibling");
    sb_frame(s, t3, "sleep", "/usr/lib/python3.14/asyncio/tasks.py", 702);
    sb_await(s, t3, t2);
    size_t t4 = sb_task(s, th, 0x3000, "other-root");
    sb_frame(s, t4, "main", "other.py", 1);
    sb_await(s, t3, t4);
    sb_thread(s, 0, 0);
}

static void put_json(FILE *f, const char *s)
{
    pag__put_json_str(f, s);
}

static void dump_stack(FILE *f, const pag_stack_t *st)
{
    fputc('[', f);
    for (size_t i = 0; i < st->n; i++) {
        const pag_frame_t *fr = &st->frames[i];
        if (i) fputc(',', f);
        fputc('[', f);
        put_json(f, fr->filename);
        if (fr->lineno < 0)
            fputs(",null,", f);
        else
            fprintf(f, ",%d,", fr->lineno);
        put_json(f, fr->qualname);
        fprintf(f, ",%d]", (int)fr->kind);
    }
    fputc(']', f);
}

static void dump_data(const pag_snapshot_t *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) exit(2);
    fputs("{\"threads\": [", f);
    for (size_t t = 0; t < s->n_threads; t++)
        fprintf(f, "%s%llu", t ? "," : "", (unsigned long long)s->threads[t].native_id);
    fputs("],\n \"nodes\": [", f);
    for (size_t i = 0; i < s->n_tasks; i++) {
        const pag_task_t *t = &s->tasks[i];
        fprintf(f,
                "%s\n  {\"id\": %llu, \"is_task\": %d, \"thread\": %lld, \"name\": ", i ? "," : "",
                (unsigned long long)t->addr, t->is_task,
                t->thread == SIZE_MAX ? -1LL : (long long)t->thread);
        if (t->name)
            put_json(f, t->name);
        else
            fputs("null", f);
        fputs(", \"stack\": ", f);
        dump_stack(f, &t->stack);
        fputs(", \"awaited_by\": [", f);
        for (size_t k = 0; k < t->n_awaited_by; k++)
            fprintf(f, "%s%llu", k ? "," : "", (unsigned long long)s->tasks[t->awaited_by[k]].addr);
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
    fclose(f);
}

static int render_to(const pag_snapshot_t *s, const pag_options_t *o, const char *path)
{
    FILE *f = path ? fopen(path, "w") : fopen("/dev/null", "w");
    if (!f) exit(2);
    pag_err_t err = pag_render(s, o, NULL, f);
    fclose(f);
    if (err != PAG_OK) {
        printf("FAIL render format %d: %s\n", (int)o->format, pag_strerror(err));
        sb_failures++;
    }
    return err == PAG_OK;
}

static void one(const pag_snapshot_t *s, const char *dir, int k)
{
    char p[1024];
    if (dir) {
        snprintf(p, sizeof p, "%s/%03d.json", dir, k);
        dump_data(s, p);
    }
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    snprintf(p, sizeof p, "%s/%03d.tree", dir ? dir : "", k);
    render_to(s, &o, dir ? p : NULL);
    o = sb_opts(PAG_FMT_TABLE);
    snprintf(p, sizeof p, "%s/%03d.table", dir ? dir : "", k);
    render_to(s, &o, dir ? p : NULL);
    static const long limits[] = {0, 2, -2, 0};
    for (int l = 0; l < 4; l++) {
        o = sb_opts(PAG_FMT_GRAPH);
        o.have_limit = l > 0;
        o.limit = limits[l];
        if (l == 3) o.limit = 0;
        snprintf(p, sizeof p, "%s/%03d.graph.%s", dir ? dir : "", k,
                 l == 0   ? "none"
                 : l == 1 ? "2"
                 : l == 2 ? "-2"
                          : "0");
        render_to(s, &o, dir ? p : NULL);
    }
    for (pag_format_t fm = PAG_FMT_JSON; fm < PAG_FMT__COUNT; fm++) {
        o = sb_opts(fm);
        render_to(s, &o, NULL);
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int n = 60;
    if (argc >= 3 && strcmp(argv[1], "--dump") == 0) {
        dir = argv[2];
        if (argc >= 4) n = atoi(argv[3]);
        mkdir(dir, 0755);
    }
    int k = 0;
    for (int w = 0; w < 3; w++, k++) {
        pag_snapshot_t s;
        fixed_snapshot(&s, w);
        sb_finish(&s);
        one(&s, dir, k);
        sb_free(&s);
    }
    for (int i = 0; i < n; i++, k++) {
        pag_snapshot_t s;
        random_snapshot(&s);
        sb_finish(&s);
        if (s.n_cycles) {
            printf("FAIL random DAG %d has a cycle\n", k);
            sb_failures++;
        }
        one(&s, dir, k);
        sb_free(&s);
    }
    printf("%d scenario(s), %d failure(s)\n", k, sb_failures);
    return sb_failures ? 1 : 0;
}
