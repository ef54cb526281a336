"""CPython's own `ps`/`pstree` text for the oddnames fixture, and the rule
py-async-graph applies where that text is wrong.

Run under the fixture's own interpreter (python3.14 / python3.15):

        oddnames_oracle.py PID FIXES.json

    reads the process with CPython's reader (asyncio.tools, the code behind
    `python -m asyncio ps/pstree`) and prints one ASCII JSON object:
      "cpython": {"ps", "pstree"}  what CPython's display functions print
                 for what it read (str, surrogates kept; never encoded, so
                 names it could not print are still there);
      "fixed":   {"ps", "pstree"}  the same display functions on the same
                 reading, with what CPython reads wrong replaced from FIXES
                 ({"names": {"0x..": name}, "frames": {function: [file,
                 line]}}: 3.14 garbles non-ASCII names and file names and
                 drops the line of a code object whose location table is over
                 4 KiB; both cut names at 255 characters) and every name
                 and file name passed through text_rule() -- the expected
                 output of `--format table` / `--format tree`, to be encoded
                 with surrogateescape;
      "read":    {"names": {"0x..": name}, "frames": [[function, file,
                 line], ...]}  what CPython read, for the checks of where it
                 is wrong.
"""
import copy
import contextlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from textrule import text_rule  # noqa: E402


def _frames(stack, fixes, rule):
    out = []
    for f in stack:
        fn, line = fixes["frames"].get(f.funcname, (f.filename, None))
        kw = {"filename": rule(fn), "funcname": rule(f.funcname)}
        if hasattr(f, "lineno") and f.lineno is None and line is not None:
            kw["lineno"] = line  # 3.14
        out.append(copy.replace(f, **kw))
    return out


def fix(result, fixes, rule):
    """CPython's reading with FIXES applied and rule() on every string."""
    out = []
    for ai in result:
        tasks = []
        for ti in ai.awaited_by:
            name = fixes["names"].get(hex(ti.task_id), ti.task_name)
            coros = [copy.replace(ci, call_stack=_frames(ci.call_stack, fixes, rule))
                     for ci in ti.coroutine_stack]
            waits = [copy.replace(ci, call_stack=_frames(ci.call_stack, fixes, rule))
                     for ci in ti.awaited_by]
            tasks.append(copy.replace(ti, task_name=rule(name), coroutine_stack=coros,
                                      awaited_by=waits))
        out.append(copy.replace(ai, awaited_by=tasks))
    return out


def display(tools, pid, result):
    """CPython's own display functions on `result`, captured as str."""
    real = tools._get_awaited_by_tasks
    tools._get_awaited_by_tasks = lambda *a, **k: result
    try:
        texts = {}
        for key, fn in (("ps", tools.display_awaited_by_tasks_table),
                        ("pstree", tools.display_awaited_by_tasks_tree)):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                fn(pid)
            texts[key] = buf.getvalue()
        return texts
    finally:
        tools._get_awaited_by_tasks = real


def main():
    from asyncio import tools
    pid = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        fixes = json.load(f)
    result = tools._get_awaited_by_tasks(pid)
    read = {"names": {}, "frames": []}
    for ai in result:
        for ti in ai.awaited_by:
            read["names"][hex(ti.task_id)] = ti.task_name
            for ci in ti.coroutine_stack:
                for f in ci.call_stack:
                    line = f.lineno if hasattr(f, "lineno") else (
                        f.location.lineno if f.location else None)
                    read["frames"].append([f.funcname, f.filename, line])
    print(json.dumps({"cpython": display(tools, pid, result),
                      "fixed": display(tools, pid, fix(result, fixes, text_rule)),
                      "read": read}, ensure_ascii=True))


if __name__ == "__main__":
    main()
