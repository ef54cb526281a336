/* Formatter unit tests with hand-derived expectations: the documented
 * format_call_graph example, Python repr escaping, ps padding in code
 * points, pstree drawing of Futures and cycles, JSON validity (parsed by
 * python3 -m json.tool), DOT validity (dot -Tsvg), odd names (lone
 * surrogates, control characters, ""), filters and option parsing.  The
 * byte-for-byte comparison with CPython's own tools.py is in
 * test_format_oracle.c / format_oracle.py.
 * pag-test-formats: tree table graph json dot tasks */
#define _GNU_SOURCE
#include "snapbuild.h"

#include <unistd.h>

/* The example of the asyncio call-graph documentation: 'test' in a
 * TaskGroup of main(). */
static void doc_example(pag_snapshot_t *s)
{
    sb_init(s);
    size_t th = sb_thread(s, 1234, 1);
    size_t test = sb_task(s, th, 0x1039f0fe0ull, "test");
    sb_frame(s, test, "test", "t2.py", 4);
    size_t main_ = sb_task(s, th, 0x103a5e060ull, "Task-1");
    sb_frame(s, main_, "TaskGroup.__aexit__", "taskgroups.py", 107);
    sb_frame(s, main_, "main", "t2.py", 7);
    sb_await(s, test, main_);
    sb_finish(s);
}

static void test_graph(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    doc_example(&s);
    pag_options_t o = sb_opts(PAG_FMT_GRAPH);
    o.task = "test";
    char *out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK);
    sb_expect_text("graph: doc example", out,
                   "* Task(name='test', id=0x1039f0fe0)\n"
                   "  + Call stack:\n"
                   "  |   File 't2.py', line 4, in async test()\n"
                   "  + Awaited by:\n"
                   "    * Task(name='Task-1', id=0x103a5e060)\n"
                   "      + Call stack:\n"
                   "      |   File 'taskgroups.py', line 107, in async TaskGroup.__aexit__()\n"
                   "      |   File 't2.py', line 7, in async main()\n");
    free(out);

    /* limit 1 keeps the outermost entry at every level, -1 the innermost, 0 none */
    o.have_limit = 1;
    o.limit = 1;
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: --limit 1", out,
                   "* Task(name='test', id=0x1039f0fe0)\n"
                   "  + Call stack:\n"
                   "  |   File 't2.py', line 4, in async test()\n"
                   "  + Awaited by:\n"
                   "    * Task(name='Task-1', id=0x103a5e060)\n"
                   "      + Call stack:\n"
                   "      |   File 't2.py', line 7, in async main()\n");
    free(out);
    o.limit = -1;
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: --limit -1", out,
                   "* Task(name='test', id=0x1039f0fe0)\n"
                   "  + Call stack:\n"
                   "  |   File 't2.py', line 4, in async test()\n"
                   "  + Awaited by:\n"
                   "    * Task(name='Task-1', id=0x103a5e060)\n"
                   "      + Call stack:\n"
                   "      |   File 'taskgroups.py', line 107, in async TaskGroup.__aexit__()\n");
    free(out);
    o.limit = 0;
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: --limit 0", out,
                   "* Task(name='test', id=0x1039f0fe0)\n"
                   "  + Awaited by:\n"
                   "    * Task(name='Task-1', id=0x103a5e060)\n");
    free(out);

    /* no --task: every listed task, blocks separated by an empty line */
    o = sb_opts(PAG_FMT_GRAPH);
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: all tasks", out,
                   "* Task(name='test', id=0x1039f0fe0)\n"
                   "  + Call stack:\n"
                   "  |   File 't2.py', line 4, in async test()\n"
                   "  + Awaited by:\n"
                   "    * Task(name='Task-1', id=0x103a5e060)\n"
                   "      + Call stack:\n"
                   "      |   File 'taskgroups.py', line 107, in async TaskGroup.__aexit__()\n"
                   "      |   File 't2.py', line 7, in async main()\n"
                   "\n"
                   "* Task(name='Task-1', id=0x103a5e060)\n"
                   "  + Call stack:\n"
                   "  |   File 'taskgroups.py', line 107, in async TaskGroup.__aexit__()\n"
                   "  |   File 't2.py', line 7, in async main()\n");
    free(out);

    /* --task by id; unknown task */
    o.task = "0x103a5e060";
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK && out && strncmp(out, "* Task(name='Task-1'", 20) == 0);
    free(out);
    o.task = "nope";
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_ERR_NO_TASK);
    free(out);
    o.task = NULL;
    o.have_thread = 1;
    o.thread = 999;
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_ERR_NO_TASK);
    free(out);
    sb_free(&s);
}

/* The running task: real frames, sync ones included, --depth and --limit. */
static void test_graph_running(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 7, 1);
    size_t t = sb_task(&s, th, 0x10, "runner");
    sb_frame(&s, t, "work", "w.py", 9);
    sb_push(&s.tasks[t].running_stack, "time.sleep_wrapper", "w.py", 3, PAG_FRAME_SYNC);
    sb_push(&s.tasks[t].running_stack, "gen", "w.py", 5, PAG_FRAME_GEN);
    sb_push(&s.tasks[t].running_stack, "agen", "w.py", 7, PAG_FRAME_ASYNC_GEN);
    sb_push(&s.tasks[t].running_stack, "work", "w.py", 9, PAG_FRAME_ASYNC);
    sb_running(&s, t);
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_GRAPH);
    o.running = 1;
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("graph: running task", out,
                   "* Task(name='runner', id=0x10)\n"
                   "  + Call stack:\n"
                   "  |   File 'w.py', line 3, in time.sleep_wrapper()\n"
                   "  |   File 'w.py', line 5, in generator gen()\n"
                   "  |   File 'w.py', line 7, in async generator agen()\n"
                   "  |   File 'w.py', line 9, in async work()\n");
    free(out);
    o.depth = 1;
    o.have_limit = 1;
    o.limit = 2; /* after dropping one: gen, agen, work -> outermost 2 */
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: running task --depth 1 --limit 2", out,
                   "* Task(name='runner', id=0x10)\n"
                   "  + Call stack:\n"
                   "  |   File 'w.py', line 7, in async generator agen()\n"
                   "  |   File 'w.py', line 9, in async work()\n");
    free(out);
    sb_free(&s);
}

static void test_repr(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 1, 1);
    sb_task(&s, th, 0x1, "a'b");
    sb_task(&s, th, 0x2, "a\"b");
    sb_task(&s, th, 0x3, "a'\"b");
    sb_task(&s, th, 0x4,
            "x\\y\n\t\r\x01\x7f\xc2\x85\xc2\xa0\xc3\xa9\xe2\x80\x8b\xe2\x80\xa8\xf3\xb0\x80\x80"
            "\xc5\xbc\xf0\x9f\x98\x80\xef\xbb\xbf");
    sb_task(&s, th, 0x5, "bad\xff\xc3");
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_GRAPH);
    char *out = sb_render(&s, &o, &err);
    /* expectations from python3: repr() of the same strings */
    sb_expect_text("graph: Python repr of names", out,
                   "* Task(name=\"a'b\", id=0x1)\n\n"
                   "* Task(name='a\"b', id=0x2)\n\n"
                   "* Task(name='a\\'\"b', id=0x3)\n\n"
                   "* Task(name='x\\\\y\\n\\t\\r\\x01\\x7f\\x85\\xa0\xc3\xa9\\u200b\\u2028"
                   "\\U000f0000\xc5\xbc\xf0\x9f\x98\x80\\ufeff', id=0x4)\n\n"
                   "* Task(name='bad\xef\xbf\xbd\xef\xbf\xbd', id=0x5)\n");
    free(out);
    sb_free(&s);
}

static void test_table(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 1234, 1);
    size_t a = sb_task(&s, th, 0x1000, "zadanie-\xc5\xbc\xc3\xb3\xc5\x82w");
    sb_frame(&s, a, "sleep", "/usr/lib/python3.14/asyncio/tasks.py", 702);
    sb_frame(&s, a, "worker", "x.py", 3);
    size_t b = sb_task(&s, th, 0x2000, "Task-1");
    sb_frame(&s, b, "main", "x.py", 9);
    sb_await(&s, a, b);
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_TABLE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("table: padding in code points", out,
                   "tid        task id              task name            coroutine stack           "
                   "                         awaiter chain                                      "
                   "awaiter name    awaiter id     \n"
                   "-------------------------------------------------------------------------------"
                   "-------------------------------------------------------------------------------"
                   "----------------------\n"
                   "1234       0x1000               zadanie-żółw         sleep -> worker           "
                   "                         main                                               "
                   "Task-1          0x2000         \n"
                   "1234       0x2000               Task-1               main                      "
                   "                                                                               "
                   "             0x0            \n");
    free(out);
    sb_free(&s);
}

/* pstree with a Future awaiter (CPython drops that subtree; we draw it) */
static void test_tree_future(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    doc_example(&s);
    sb_free(&s);
    sb_init(&s);
    size_t th = sb_thread(&s, 1, 1);
    size_t w = sb_task(&s, th, 0x10, "waiter");
    sb_frame(&s, w, "wait_fut", "f.py", 5);
    size_t orph = sb_thread(&s, 0, 0);
    (void)orph;
    size_t fut = sb_node(&s, SIZE_MAX, 0x99, NULL, 0);
    sb_await(&s, w, fut);
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("tree: Future awaiter", out,
                   "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (F) Future 0x99\n"
                   "    \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) waiter\n"
                   "        \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  wait_fut f.py:5\n");
    free(out);
    sb_free(&s);

    doc_example(&s);
    out = sb_render(&s, &o, &err);
    sb_expect_text("tree: doc example", out,
                   "└── (T) Task-1\n"
                   "    └──  main t2.py:7\n"
                   "        └──  TaskGroup.__aexit__ taskgroups.py:107\n"
                   "            └── (T) test\n"
                   "                └──  test t2.py:4\n");
    free(out);
    sb_free(&s);
}

/* a awaits b awaits a, and c awaits a */
static void cycle_snap(pag_snapshot_t *s)
{
    sb_init(s);
    size_t th = sb_thread(s, 1, 1);
    size_t a = sb_task(s, th, 0xa0, "alpha");
    sb_frame(s, a, "alpha_fn", "d.py", 10);
    size_t b = sb_task(s, th, 0xb0, "beta");
    sb_frame(s, b, "beta_fn", "d.py", 20);
    size_t c = sb_task(s, th, 0xc0, "gamma");
    sb_frame(s, c, "gamma_fn", "d.py", 30);
    sb_await(s, b, a); /* b awaited by a */
    sb_await(s, a, b);
    sb_await(s, a, c);
    sb_finish(s);
}

static int run_ok(const char *cmd)
{
    int rc = system(cmd);
    printf("     (%s -> %d)\n", cmd, rc);
    return rc == 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) exit(2);
    fputs(text, f);
    fclose(f);
}

static void test_cycles(const char *tmpdir)
{
    pag_snapshot_t s;
    pag_err_t err;
    cycle_snap(&s);
    CHECK(s.n_cycles == 1);
    CHECK(s.n_cycles == 1 && s.cycles[0].n == 3 && s.cycles[0].nodes[0] == 0 &&
          s.cycles[0].nodes[1] == 1 && s.cycles[0].nodes[2] == 0);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("tree: cycle", out,
                   "└── (T) gamma\n"
                   "    └──  gamma_fn d.py:30\n"
                   "        └── (T) alpha\n"
                   "            └──  alpha_fn d.py:10\n"
                   "                └── (T) beta\n"
                   "                    └──  beta_fn d.py:20\n"
                   "                        └── (T) alpha [cycle]\n"
                   "\n"
                   "possible deadlock: await cycle: alpha → beta → alpha\n");
    free(out);

    o = sb_opts(PAG_FMT_GRAPH);
    o.task = "beta";
    out = sb_render(&s, &o, &err);
    sb_expect_text("graph: cycle", out,
                   "* Task(name='beta', id=0xb0)\n"
                   "  + Call stack:\n"
                   "  |   File 'd.py', line 20, in async beta_fn()\n"
                   "  + Awaited by:\n"
                   "    * Task(name='alpha', id=0xa0)\n"
                   "      + Call stack:\n"
                   "      |   File 'd.py', line 10, in async alpha_fn()\n"
                   "      + Awaited by:\n"
                   "        * Task(name='beta', id=0xb0)\n"
                   "          + (cycle: awaits itself through this chain — possible deadlock)\n"
                   "        * Task(name='gamma', id=0xc0)\n"
                   "          + Call stack:\n"
                   "          |   File 'd.py', line 30, in async gamma_fn()\n");
    free(out);

    o = sb_opts(PAG_FMT_DOT);
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK);
    CHECK(out && strstr(out, "\"t0xb0\" -> \"t0xa0\" [color=red, penwidth=2];"));
    CHECK(out && strstr(out, "\"t0xa0\" -> \"t0xb0\" [color=red, penwidth=2];"));
    CHECK(out && strstr(out, "\"t0xa0\" -> \"t0xc0\";"));
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/cycle.dot", tmpdir);
    write_file(path, out ? out : "");
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s.svg'", path, path);
    CHECK(run_ok(cmd));
    free(out);

    o = sb_opts(PAG_FMT_JSON);
    o.stats = 1;
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK);
    snprintf(path, sizeof path, "%s/cycle.json", tmpdir);
    write_file(path, out ? out : "");
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
             "assert d[\"schema\"]==\"py-async-graph/1\"; assert "
             "d[\"cycles\"]==[[\"0xa0\",\"0xb0\",\"0xa0\"]];"
             "assert len(d[\"tasks\"])==3 and d[\"tasks\"][0][\"awaited_by\"]==[\"0xb0\",\"0xc0\"];"
             "assert d[\"python\"][\"version\"]==\"3.14.10\"; assert \"stats\" in d' '%s'",
             path);
    CHECK(run_ok(cmd));
    free(out);
    sb_free(&s);
}

/* JSON and DOT stay valid with hostile strings from the target */
static void test_escaping(const char *tmpdir)
{
    pag_snapshot_t s;
    pag_err_t err;
    static const char *evil = "q\"uo\\te\n\x01\x1f\x7f\xff\xc3 \xe2\x82 \xed\xa0\x80 z\xc5\xbc";
    sb_init(&s);
    size_t th = sb_thread(&s, 42, 1);
    size_t t = sb_task(&s, th, 0x1, evil);
    sb_frame(&s, t, evil, evil, 1);
    size_t u = sb_task(&s, th, 0x2, "plain");
    sb_await(&s, t, u);
    s.tasks[u].error = PAG_ERR_READ;
    s.tasks[u].error_detail = evil;
    static const char *warns[] = {"truncated: \"x\"\n"};
    s.warnings = warns;
    s.n_warnings = 1;
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_JSON);
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    err = pag_render(&s, &o, "{\"kind\": \"pid\", \"pid\": 1}", m);
    fclose(m);
    CHECK(err == PAG_OK);
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/evil.json", tmpdir);
    write_file(path, out);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys; b=open(sys.argv[1],\"rb\").read(); b.decode(\"utf-8\");"
             "d=json.loads(b); assert d[\"source\"]=={\"kind\":\"pid\",\"pid\":1};"
             "assert d[\"tasks\"][0][\"name\"].startswith(\"q\\\"uo\\\\te\\n\\x01\");"
             "assert d[\"tasks\"][1][\"error\"][\"detail\"]==d[\"tasks\"][0][\"name\"]' '%s'",
             path);
    CHECK(run_ok(cmd));
    free(out);
    o = sb_opts(PAG_FMT_DOT);
    out = sb_render(&s, &o, &err);
    snprintf(path, sizeof path, "%s/evil.dot", tmpdir);
    write_file(path, out);
    snprintf(cmd, sizeof cmd,
             "dot -Tsvg '%s' -o '%s.svg' 2>&1 | tee /dev/stderr | grep -q . && exit 1 || exit 0",
             path, path);
    CHECK(run_ok(cmd));
    free(out);
    o = sb_opts(PAG_FMT_TASKS);
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK && out && strstr(out, "ID                 THREAD     STATE     R NAME"));
    CHECK(out && strstr(out, "[error: "));
    free(out);
    sb_free(&s);
}

/* alpha awaits beta awaits gamma awaits alpha: no roots at all */
static void test_cycle3(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 1, 1);
    size_t a = sb_task(&s, th, 0xa0, "alpha");
    size_t b = sb_task(&s, th, 0xb0, "beta");
    size_t c = sb_task(&s, th, 0xc0, "gamma");
    sb_frame(&s, a, "fa", "d.py", 1);
    sb_frame(&s, b, "fb", "d.py", 2);
    sb_frame(&s, c, "fc", "d.py", 3);
    sb_await(&s, b, a);
    sb_await(&s, c, b);
    sb_await(&s, a, c);
    sb_finish(&s);
    CHECK(s.n_cycles == 1 && s.cycles[0].n == 4);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("tree: 3-cycle, entered at its first task", out,
                   "└── (T) alpha\n"
                   "    └──  fa d.py:1\n"
                   "        └── (T) beta\n"
                   "            └──  fb d.py:2\n"
                   "                └── (T) gamma\n"
                   "                    └──  fc d.py:3\n"
                   "                        └── (T) alpha [cycle]\n"
                   "\n"
                   "possible deadlock: await cycle: alpha → beta → gamma → alpha\n");
    free(out);
    o = sb_opts(PAG_FMT_JSON);
    out = sb_render(&s, &o, &err);
    CHECK(out && strstr(out, "\"cycles\": [\n    [\"0xa0\", \"0xb0\", \"0xc0\", \"0xa0\"]\n  ]"));
    free(out);
    sb_free(&s);
}

/* an awaiter that is not in any task list: CPython drops the subtree and
 * names it "Unknown"; we draw it and use its name */
static void test_unlisted(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 5, 1);
    size_t c = sb_task(&s, th, 0x100, "child");
    sb_frame(&s, c, "work", "w.py", 4);
    sb_thread(&s, 0, 0);
    size_t p = sb_task(&s, SIZE_MAX, 0x200, "elsewhere");
    sb_frame(&s, p, "outer", "o.py", 8);
    sb_await(&s, c, p);
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("tree: unlisted awaiter", out,
                   "└── (T) elsewhere\n"
                   "    └──  outer o.py:8\n"
                   "        └── (T) child\n"
                   "            └──  work w.py:4\n");
    free(out);
    o = sb_opts(PAG_FMT_TABLE);
    out = sb_render(&s, &o, &err);
    CHECK(out && strstr(out, "\n5          0x100                child                work          "
                             "                                     outer                           "
                             "                   elsewhere       0x200          \n"));
    CHECK(out && !strstr(out, "0x200                elsewhere")); /* no row of its own */
    free(out);
    sb_free(&s);
}

/* a sink keeping only the tail of what is written */
typedef struct {
    char tail[256];
    size_t total;
} tail_sink_t;

static ssize_t tail_write(void *c, const char *buf, size_t n)
{
    tail_sink_t *t = c;
    const size_t cap = sizeof t->tail - 1;
    if (n >= cap) {
        memcpy(t->tail, buf + n - cap, cap);
    } else {
        memmove(t->tail, t->tail + n, cap - n);
        memcpy(t->tail + cap - n, buf, n);
    }
    t->total += n;
    return (ssize_t)n;
}

static pag_err_t render_tail(const pag_snapshot_t *s, const pag_options_t *o, tail_sink_t *t)
{
    memset(t, 0, sizeof *t);
    cookie_io_functions_t io = {NULL, tail_write, NULL, NULL};
    FILE *f = fopencookie(t, "w", io);
    pag_err_t err = pag_render(s, o, NULL, f);
    fclose(f);
    return err;
}

/* many tasks under one parent, and a diamond ladder whose tree doubles at
 * every level: bounded time and output */
static void test_scale(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 1, 1);
    size_t root = sb_task(&s, th, 0x10, "main");
    sb_frame(&s, root, "main", "m.py", 1);
    for (size_t i = 0; i < 20000; i++) {
        size_t t = sb_task(&s, th, 0x100000 + i * 0x100, "w");
        sb_frame(&s, t, "sleep", "s.py", 2);
        sb_await(&s, t, root);
    }
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK && out && strlen(out) > 20000 * 20);
    free(out);
    sb_free(&s);

    sb_init(&s);
    th = sb_thread(&s, 1, 1);
    size_t prev[2];
    prev[0] = sb_task(&s, th, 0x10, "top0");
    prev[1] = sb_task(&s, th, 0x20, "top1");
    for (int lvl = 0; lvl < 22; lvl++) {
        size_t cur[2];
        for (int k = 0; k < 2; k++) {
            cur[k] = sb_task(&s, th, 0x1000 + (uint64_t)lvl * 0x100 + (uint64_t)k * 0x10, "d");
            sb_await(&s, cur[k], prev[0]);
            sb_await(&s, cur[k], prev[1]);
        }
        prev[0] = cur[0];
        prev[1] = cur[1];
    }
    sb_finish(&s);
    tail_sink_t tail;
    CHECK(render_tail(&s, &o, &tail) == PAG_OK &&
          strstr(tail.tail, "... (output truncated after 2000000 lines)\n"));
    o = sb_opts(PAG_FMT_GRAPH);
    o.task = "d";
    CHECK(render_tail(&s, &o, &tail) == PAG_OK &&
          strstr(tail.tail, "... (output truncated after 2000000 lines)\n"));
    sb_free(&s);

    /* a chain of 3,000 tasks each awaiting the next: graph for every task
     * is O(n^3) bytes of indentation (about 21 GB); it stops near 1 GiB */
    sb_init(&s);
    th = sb_thread(&s, 1, 1);
    size_t below = sb_task(&s, th, 0x10, "L0");
    sb_frame(&s, below, "level", "deep.py", 3);
    for (size_t i = 1; i < 3000; i++) {
        size_t up = sb_task(&s, th, 0x10 + i * 0x100, "L");
        sb_frame(&s, up, "level", "deep.py", 6);
        sb_await(&s, below, up);
        below = up;
    }
    sb_finish(&s);
    o = sb_opts(PAG_FMT_GRAPH);
    CHECK(render_tail(&s, &o, &tail) == PAG_OK &&
          strstr(tail.tail, "... (output truncated after about 1024 MiB)\n") &&
          tail.total > (900ull << 20) && tail.total < (1100ull << 20));
    sb_free(&s);
}

/* garbage from the target: a self-await and an out-of-range awaiter index */
static void test_garbage(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    sb_init(&s);
    size_t th = sb_thread(&s, 3, 1);
    size_t a = sb_task(&s, th, 0x10, "self");
    sb_frame(&s, a, "f", "g.py", 1);
    sb_await(&s, a, a);
    sb_await(&s, a, 12345);
    sb_finish(&s);
    CHECK(s.n_cycles == 1 && s.cycles[0].n == 2);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text("tree: self-await", out,
                   "└── (T) self\n"
                   "    └──  f g.py:1\n"
                   "        └── (T) self [cycle]\n"
                   "\n"
                   "possible deadlock: await cycle: self → self\n");
    free(out);
    for (pag_format_t f = PAG_FMT_TREE; f < PAG_FMT__COUNT; f++) {
        o = sb_opts(f);
        out = sb_render(&s, &o, &err);
        CHECK(err == PAG_OK && out != NULL);
        free(out);
    }
    sb_free(&s);
}

/* tree/json/dot keep what is connected to the selection */
static void test_filters(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    doc_example(&s);
    size_t orph = sb_thread(&s, 0, 0);
    (void)orph;
    size_t o1 = sb_task(&s, orph, 0x5000, "orphan");
    sb_frame(&s, o1, "lost", "l.py", 3);
    sb_finish(&s);
    pag_options_t o = sb_opts(PAG_FMT_TREE);
    o.task = "test";
    char *out = sb_render(&s, &o, &err);
    CHECK(err == PAG_OK && out && strstr(out, "(T) Task-1") && !strstr(out, "orphan"));
    free(out);
    o.task = NULL;
    o.have_thread = 1;
    o.thread = 0;
    out = sb_render(&s, &o, &err);
    sb_expect_text("tree: --thread 0 (orphans)", out, "└── (T) orphan\n    └──  lost l.py:3\n");
    free(out);
    o = sb_opts(PAG_FMT_TABLE);
    o.task = "0x1039f0fe0";
    out = sb_render(&s, &o, &err);
    CHECK(out && strstr(out, "0x1039f0fe0") && !strstr(out, "\n1234       0x103a5e060"));
    free(out);
    sb_free(&s);
}

static void test_tasks_format(void)
{
    pag_snapshot_t s;
    pag_err_t err;
    doc_example(&s);
    sb_running(&s, 1);
    pag_options_t o = sb_opts(PAG_FMT_TASKS);
    char *out = sb_render(&s, &o, &err);
    sb_expect_text(
        "tasks format", out,
        "ID                 THREAD     STATE     R NAME                     WHERE\n"
        "0x1039f0fe0        1234       pending   - test                     test t2.py:4\n"
        "0x103a5e060        1234       pending   * Task-1                   "
        "TaskGroup.__aexit__ taskgroups.py:107\n");
    free(out);
    sb_free(&s);
}

/* Odd names (issue 18): U+DCFF U+DCFE as their bytes, other surrogates and
 * controls escaped in tasks/table/tree, \udXXX in JSON, repr in graph; one
 * line per task; --task by bytes, by repr and "". */
#define ODD_FS "report-\xed\xb3\xbf\xed\xb3\xbe.csv"     /* os.fsdecode(b"report-\xff\xfe.csv") */
#define ODD_HI "hi-\xed\xa0\x80"                         /* "hi-\ud800" */
#define ODD_CTL "a\tb\nc\rd\x1b\x7f\xc2\x85\xe2\x80\xa8" /* tab nl cr esc del nel ls */

static void odd_snapshot(pag_snapshot_t *s)
{
    sb_init(s);
    size_t th = sb_thread(s, 7, 1);
    size_t fs = sb_task(s, th, 0x10, ODD_FS);
    sb_frame(s, fs, "leaf", "/srv/odd-\xed\xb3\xbf/x.py", 3);
    size_t hi = sb_task(s, th, 0x20, ODD_HI);
    sb_frame(s, hi, "leaf", "x.py", 4);
    size_t ctl = sb_task(s, th, 0x30, ODD_CTL);
    sb_frame(s, ctl, "le\naf", "x.py", 5);
    size_t empty = sb_task(s, th, 0x40, "");
    sb_frame(s, empty, "leaf", "C:\\tmp\\n.py", 6);
    sb_await(s, ctl, fs);
    sb_finish(s);
}

static void expect_render(const pag_snapshot_t *s, pag_format_t f, const char *task,
                          const char *what, const char *want)
{
    pag_options_t o = sb_opts(f);
    o.task = task;
    pag_err_t err;
    char *out = sb_render(s, &o, &err);
    CHECK(err == PAG_OK);
    sb_expect_text(what, out, want);
    free(out);
}

/* --task arg lists just the task at address id (in the tasks format) */
static int selects_one(const pag_snapshot_t *s, const char *arg, uint64_t id)
{
    pag_options_t o = sb_opts(PAG_FMT_TASKS);
    o.task = arg;
    pag_err_t err;
    char *out = sb_render(s, &o, &err), head[24];
    snprintf(head, sizeof head, "\n0x%llx ", (unsigned long long)id);
    const char *at = out ? strstr(out, head) : NULL;
    int ok = err == PAG_OK && at && !strstr(at + 1, "\n0x");
    free(out);
    return ok;
}

static void test_odd_names(void)
{
    pag_snapshot_t s;
    odd_snapshot(&s);
    expect_render(&s, PAG_FMT_TASKS, NULL, "tasks: odd names",
                  "ID                 THREAD     STATE     R NAME                     WHERE\n"
                  "0x10               7          pending   - report-\xff\xfe.csv            "
                  "leaf /srv/odd-\xff/x.py:3\n"
                  "0x20               7          pending   - hi-\\ud800                "
                  "leaf x.py:4\n"
                  "0x30               7          pending   - a\\tb\\nc\\rd\\x1b\\x7f\\x85\\u2028 "
                  "le\\naf x.py:5\n"
                  "0x40               7          pending   -                          "
                  "leaf C:\\tmp\\n.py:6\n");
    expect_render(&s, PAG_FMT_TREE, "0x30", "tree: odd names",
                  "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) report-\xff\xfe.csv\n"
                  "    \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  leaf /srv/odd-\xff/x.py:3\n"
                  "        \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 (T) a\\tb\\nc\\rd\\x1b\\x7f"
                  "\\x85\\u2028\n"
                  "            \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80  le\\naf x.py:5\n");
    pag_options_t o = sb_opts(PAG_FMT_TABLE);
    pag_err_t err;
    char *out = sb_render(&s, &o, &err);
    CHECK(out &&
          strstr(out, "\n7          0x30                 a\\tb\\nc\\rd\\x1b\\x7f\\x85\\u2028 "
                      "le\\naf                                             "
                      "leaf                                               "
                      "report-\xff\xfe.csv   0x10           \n"));
    free(out);
    o = sb_opts(PAG_FMT_JSON);
    out = sb_render(&s, &o, &err);
    CHECK(out && strstr(out, "\"name\": \"report-\\udcff\\udcfe.csv\"") &&
          strstr(out, "\"name\": \"hi-\\ud800\"") &&
          strstr(out, "\"file\": \"/srv/odd-\\udcff/x.py\""));
    free(out);
    expect_render(&s, PAG_FMT_GRAPH, "0x20", "graph: repr of a lone surrogate",
                  "* Task(name='hi-\\ud800', id=0x20)\n"
                  "  + Call stack:\n"
                  "  |   File 'x.py', line 4, in async leaf()\n");
    /* --task: the argv bytes, the snapshot's own form, repr(name), "" */
    static const struct {
        const char *arg;
        uint64_t id;
    } sel[] = {{"report-\xff\xfe.csv", 0x10},
               {ODD_FS, 0x10},
               {ODD_HI, 0x20},
               {"'hi-\\ud800'", 0x20},
               {ODD_CTL, 0x30},
               {"", 0x40},
               {"''", 0x40}};
    for (size_t i = 0; i < sizeof sel / sizeof sel[0]; i++)
        CHECK(selects_one(&s, sel[i].arg, sel[i].id));
    o.task = "report-\xff.csv";
    out = sb_render(&s, &o, &err);
    CHECK(err == PAG_ERR_NO_TASK && out && !*out);
    free(out);
    char text[64];
    o.task = "a\nb\xff";
    pag_selection_text(&o, text, sizeof text);
    CHECK(strcmp(text, " --task a\\nb\xff") == 0);
    o.task = "";
    o.running = 1;
    pag_selection_text(&o, text, sizeof text);
    CHECK(strcmp(text, " --task '' --running") == 0);
    pag_selection_text(&o, text, 8);
    CHECK(strcmp(text, " --task") == 0);
    sb_free(&s);
}

static pag_err_t parse(unsigned accept, pag_options_t *o, char *err, const char *a0, const char *a1,
                       const char *a2, const char *a3)
{
    const char *argv[4] = {a0, a1, a2, a3};
    int argc = 0;
    while (argc < 4 && argv[argc])
        argc++;
    return pag_options_parse(argc, argv, accept, o, err, 256);
}

static void test_options(void)
{
    pag_options_t o;
    char e[256];
    CHECK(parse(0, &o, e, "--format", "json", NULL, NULL) == PAG_OK && o.format == PAG_FMT_JSON);
    CHECK(parse(0, &o, e, "-f", "graph", "--limit=-2", NULL) == PAG_OK &&
          o.format == PAG_FMT_GRAPH && o.have_limit && o.limit == -2);
    CHECK(parse(0, &o, e, "--format=dot", "--task", "0xdead", NULL) == PAG_OK &&
          o.format == PAG_FMT_DOT && strcmp(o.task, "0xdead") == 0);
    CHECK(parse(0, &o, e, "--task", "", NULL, NULL) == PAG_OK && o.task && !*o.task);
    CHECK(parse(0, &o, e, "--task=", NULL, NULL, NULL) == PAG_OK && o.task && !*o.task);
    CHECK(parse(0, &o, e, "--thread", "4242", "--running", "--stats") == PAG_OK && o.have_thread &&
          o.thread == 4242 && o.running && o.stats);
    CHECK(parse(0, &o, e, "--depth=3", "-o", "x.txt", NULL) == PAG_OK && o.depth == 3 &&
          strcmp(o.output, "x.txt") == 0);
    CHECK(parse(0, &o, e, NULL, NULL, NULL, NULL) == PAG_OK && o.format == PAG_FMT_TREE &&
          o.retries == 3);
    CHECK(parse(0, &o, e, "--frmat", "json", NULL, NULL) == PAG_ERR_INVALID_ARG &&
          strcmp(e, "unknown option '--frmat' (see --help)") == 0);
    CHECK(parse(0, &o, e, "--limit", "x", NULL, NULL) == PAG_ERR_INVALID_ARG &&
          strcmp(e, "--limit needs an integer") == 0);
    CHECK(parse(0, &o, e, "--limit", NULL, NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(0, &o, e, "--depth", "-1", NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(0, &o, e, "--format", "xml", NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(0, &o, e, "--core", "c", NULL, NULL) == PAG_ERR_INVALID_ARG &&
          strncmp(e, "--core is only for the standalone py-async-graph: ", 50) == 0 &&
          strstr(e, "decompress it first") != NULL);
    CHECK(parse(0, &o, e, "--exe", "x", NULL, NULL) == PAG_ERR_INVALID_ARG &&
          strcmp(e, "--exe is only for the standalone py-async-graph") == 0);
    CHECK(parse(0, &o, e, "123", NULL, NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(0, &o, e, "--running=1", NULL, NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "123", "-f", "table", NULL) == PAG_OK && o.pid == 123 &&
          o.format == PAG_FMT_TABLE);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "--core=c.core", "--exe", "/usr/bin/python3.14", NULL) ==
              PAG_OK &&
          strcmp(o.core, "c.core") == 0 && strcmp(o.exe, "/usr/bin/python3.14") == 0);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "--no-stop", "--retries", "5", "77") == PAG_OK &&
          o.no_stop && o.retries == 5 && o.pid == 77);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "-f", "tree", NULL, NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "12", "--core", "x", NULL) == PAG_ERR_INVALID_ARG);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "--help", NULL, NULL, NULL) == PAG_OK && o.help);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "-V", NULL, NULL, NULL) == PAG_OK && o.version);
    CHECK(parse(PAG_OPT_TARGET, &o, e, "--retries", "-1", "5", NULL) == PAG_ERR_INVALID_ARG);
    CHECK(strcmp(pag_version_text(), "py-async-graph 0.1.0 (reads CPython 3.14, 3.15)\n") == 0);
    /* the help text documents every option */
    static const char *const all[] = {
        "--format",  "--task", "--thread",          "--running", "--limit",
        "--depth",   "-o",     "--stats",           "--help",    "--version",
        "--core",    "--exe",  "--lib-search-path", "--sysroot", "--no-stop",
        "--retries", "PID"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!strstr(pag_usage(PAG_OPT_TARGET), all[i])) {
            sb_failures++;
            printf("FAIL usage lacks %s\n", all[i]);
        }
    }
    CHECK(strstr(pag_usage(0), "--core") == NULL && strstr(pag_usage(0), "--format"));
}

int main(void)
{
    char tmpdir[] = "/tmp/pag-unit-XXXXXX";
    if (!mkdtemp(tmpdir)) return 2;
    test_graph();
    test_graph_running();
    test_repr();
    test_table();
    test_tree_future();
    test_cycles(tmpdir);
    test_escaping(tmpdir);
    test_tasks_format();
    test_odd_names();
    test_cycle3();
    test_unlisted();
    test_scale();
    test_garbage();
    test_filters();
    test_options();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) return 2;
    printf("%s: %d failure(s)\n", sb_failures ? "FAILED" : "PASSED", sb_failures);
    return sb_failures ? 1 : 0;
}
