/* py-async-graph: the output formats, one row each.
 *
 * This list is the only place a format is named.  It makes the pag_format_t
 * enum (with PAG_FMT__COUNT as the sentinel), the --format parser, the
 * --help lines, the renderer table in format_common.c and the lists the
 * tests and the fuzzer iterate.  Adding a format is a row here, its renderer
 * (common/src/format_<name>.c defining pag__render_<name>), its test and its
 * documentation: see "Recipes" in docs/developing.md.
 *
 * X(ID, name, closure, pad, help)
 *   closure: 1 if, with --task/--thread/--running, the format also shows
 *            everything connected to the selection (awaiters up to the
 *            roots, the tasks awaited), 0 if it shows just the selection;
 *   pad:     spaces after the name that line the help up in --help;
 *   help:    the one-line description in --help.
 */
#ifndef PAG_FORMATS_H
#define PAG_FORMATS_H

/* pad for a name too long for the column: the help goes on the next line */
#define PAG__FMT_WRAP "\n                              "

// clang-format off
#define PAG_FORMATS(X)                                                                    \
    X(TREE,  tree,  1, "   ", "like `python -m asyncio pstree` (default)")                \
    X(TABLE, table, 0, "  ",  "like `python -m asyncio ps`")                              \
    X(GRAPH, graph, 0, "  ",  "like asyncio.format_call_graph(task), per task")           \
    X(JSON,  json,  1, "   ", "the whole snapshot (schema py-async-graph/1)")             \
    X(DOT,   dot,   1, "    ", "the await graph for Graphviz")                            \
    X(TASKS, tasks, 0, "  ",  "one line per task")                                       \
    X(SUMMARY, summary, 1, PAG__FMT_WRAP, "task counts per suspension point (--top N)")   \
    X(COLLAPSED, collapsed, 1, PAG__FMT_WRAP, "folded stacks for flame graphs")         \
    X(HTML,  html,  1, "   ", "one self-contained page to explore the tasks (-o FILE)")
// clang-format on

#define PAG__FMT_ENUM(ID, name, closure, pad, help) PAG_FMT_##ID,
typedef enum pag_format { PAG_FORMATS(PAG__FMT_ENUM) PAG_FMT__COUNT } pag_format_t;
#undef PAG__FMT_ENUM

#endif
