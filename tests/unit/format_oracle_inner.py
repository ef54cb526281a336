# Run by a real CPython 3.14 / 3.15 (see format_oracle.py): feeds each
# scenario dumped by test_format_oracle to CPython's own asyncio.tools
# (display_awaited_by_tasks_table / _tree, with the remote read replaced by
# the scenario data) and asyncio.graph.format_call_graph (its own
# _build_graph_for_future walking stand-in tasks, coroutines and frames),
# and writes what they print next to our renderings as NNN.<kind>.cpython.
# Where CPython's ps/pstree text breaks its own lines (a tab or newline in a
# name), the names and frames it prints go through the user guide's rule
# first (tests/lib/textrule.py): graph.py's repr needs no such rule.
import contextlib
import glob
import io
import json
import os
import sys
import types
from collections import namedtuple

import asyncio
import asyncio.graph as graph
import asyncio.tools as tools

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from textrule import text_rule  # noqa: E402

NS = types.SimpleNamespace
AwaitedInfo = namedtuple("AwaitedInfo", "thread_id awaited_by")
TaskInfo = namedtuple("TaskInfo", "task_id task_name coroutine_stack awaited_by")
CoroInfo = namedtuple("CoroInfo", "call_stack task_name")
if sys.version_info >= (3, 15):
    LocationInfo = namedtuple("LocationInfo", "lineno end_lineno col_offset end_col_offset")
    FrameInfo = namedtuple("FrameInfo", "filename location funcname opcode")

    def frame_info(fr):
        filename, lineno, func, _kind = fr
        loc = None if lineno is None else LocationInfo(lineno, lineno, 0, 0)
        return FrameInfo(text_rule(filename), loc, text_rule(func), 0)
else:
    FrameInfo = namedtuple("FrameInfo", "filename lineno funcname")

    def frame_info(fr):
        filename, lineno, func, _kind = fr
        return FrameInfo(text_rule(filename), lineno, text_rule(func))


def build_result(d):
    by_id = {n["id"]: n for n in d["nodes"]}

    def coro(n):
        return CoroInfo([frame_info(f) for f in n["stack"]], n["id"])

    def coro_of(aid):
        n = by_id[aid]
        return coro(n) if n["is_task"] else CoroInfo([], aid)

    result = []
    for ti, tid in enumerate(d["threads"]):
        tasks = [TaskInfo(n["id"], n["name"] and text_rule(n["name"]), [coro(n)],
                          [coro_of(a) for a in n["awaited_by"]])
                 for n in d["nodes"] if n["thread"] == ti]
        result.append(AwaitedInfo(tid, tasks))
    return result


def run_display(fn, result):
    tools._get_awaited_by_tasks = lambda *a, **k: result
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            fn(0)
        except SystemExit as e:
            code = e.code
    return out.getvalue(), err.getvalue(), code


def fake_frame(fr):
    filename, lineno, func, kind = fr
    code = NS(co_filename=filename, co_qualname=func)
    f = NS(f_code=code, f_lineno=lineno, f_generator=None)
    if kind == 1:
        f.f_generator = NS(cr_frame=f, cr_code=code)
    elif kind == 2:
        f.f_generator = NS(ag_frame=f, ag_code=code)
    elif kind == 3:
        f.f_generator = NS(gi_frame=f, gi_code=code)
    return f


class FakeBase:
    pass


class FakeTask(FakeBase):
    def __init__(self, name):
        self._name = name
        self._coro = None
        self._asyncio_awaited_by = ()

    def get_name(self):
        return self._name

    def get_coro(self):
        return self._coro


class FakeFuture(FakeBase):
    _asyncio_awaited_by = ()


graph.tasks = NS(Task=FakeTask)        # render_level: isinstance(fut, tasks.Task)
graph.futures = NS(Future=FakeBase)    # _build_graph_for_future's type check


def fake_coro(stack):
    """The object chain graph.py walks: coroutines linked by cr_await.
    In a real process graph.py stops at an async_generator_asend (it has no
    cr_await), although the async generator's frame and what it awaits are
    still readable; py-async-graph shows them (its documented "shows more"
    case).  The stand-ins therefore link every frame of the decoded chain by
    cr_await, so graph.py's own rendering gives the text we must print,
    tags ("async generator", "generator") included."""
    obj = NS()  # what the innermost coroutine awaits (a future, ...)
    for fr in stack:  # innermost first
        obj = NS(cr_frame=fake_frame(fr), cr_await=obj)
    return obj


def graphs(d, limit):
    """format_call_graph(task, limit=limit) for every listed task, run by
    CPython's own graph.py (_build_graph_for_future and render_level) on
    stand-in futures, coroutines and frames."""
    objs = {n["id"]: (FakeTask(n["name"]) if n["is_task"] else FakeFuture()) for n in d["nodes"]}
    for n in d["nodes"]:
        o = objs[n["id"]]
        o._asyncio_awaited_by = tuple(objs[a] for a in n["awaited_by"])
        if n["is_task"]:
            o._coro = fake_coro(n["stack"])
    graph.capture_call_graph = (
        lambda fut=None, *, depth=1, limit=None: graph._build_graph_for_future(fut, limit=limit))
    blocks = []
    for n in d["nodes"]:
        if not (n["is_task"] and n["thread"] >= 0):
            continue
        text = graph.format_call_graph(objs[n["id"]], limit=limit)
        for k, o in objs.items():
            text = text.replace(f"id={id(o):#x})", f"id={k:#x})")
        blocks.append(text + "\n")
    return "\n".join(blocks)


def main():
    d_dir = sys.argv[1]
    for path in sorted(glob.glob(os.path.join(d_dir, "*.json"))):
        base = path[:-5]
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        result = build_result(d)
        out, err, code = run_display(tools.display_awaited_by_tasks_table, result)
        with open(base + ".table.cpython", "w", encoding="utf-8", newline="") as f:
            f.write(out)
        out, err, code = run_display(tools.display_awaited_by_tasks_tree, result)
        if code or err:
            out = f"<pstree failed: exit {code}: {err}>"
        with open(base + ".tree.cpython", "w", encoding="utf-8", newline="") as f:
            f.write(out)
        for name, limit in (("none", None), ("2", 2), ("-2", -2), ("0", 0)):
            with open(f"{base}.graph.{name}.cpython", "w", encoding="utf-8", newline="") as f:
                f.write(graphs(d, limit))


main()
