#!/usr/bin/env python3
"""macOS only (the CI job): the native plugin in the native lldb on a real
macOS CPython, live and on a core that lldb itself saved.

A fixture (fixtures/basic.py) runs under Homebrew's python3.X and writes its
own asyncio.format_call_graph() oracle.  Then one `lldb -p PID` session loads
build/lldb/libpy-async-graph-lldb.dylib, prints --info and --format graph,
and saves a Mach-O core (`process save-core`); a second session on that
core (`lldb -c CORE`) prints the graph again.  Every task's oracle graph
must be in the live graph, the core's graph must equal the live one, and
--info must name the interpreter's version.

Environment: PAG_MACOS_PYTHON_<3_14> (else python3.14 on PATH), PAG_LLDB
(else lldb on PATH: Xcode's or Homebrew's).  Attaching needs the rights
macOS gives a debugger (see docs/user-guide.md, macOS): CI runs it with sudo.
usage: test_live.py --version 3.14
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PAG_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
BUILD = os.environ.get("PAG_BUILD_DIR") or os.path.join(SRC, "build")
failures = []


def check(what, ok, detail=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", what, "" if ok else "\n" + str(detail)[-3000:]),
          flush=True)
    if not ok:
        failures.append(what)


def lldb(args, cmds):
    argv = [os.environ.get("PAG_LLDB") or shutil.which("lldb") or "lldb", "-b", "--no-lldbinit"]
    argv += args + ["-o", "plugin load " + os.path.join(BUILD, "lldb",
                                                        "libpy-async-graph-lldb.dylib")]
    for label, cmd in cmds:
        argv += ["-o", "script print('@@BEGIN %s')" % label, "-o", cmd,
                 "-o", "script print('@@END %s')" % label]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300, env=env)
    out, sec = p.stdout, {}
    for label, cmd in cmds:
        i = out.find("@@BEGIN %s\n" % label)
        j = out.find("(lldb) script print('@@END %s')" % label, i)
        if i >= 0 and j >= 0:
            body = out[i + len("@@BEGIN %s\n" % label):j]
            echo = "(lldb) %s\n" % cmd
            sec[label] = body[len(echo):] if body.startswith(echo) else body
    return sec, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    py = os.environ.get("PAG_MACOS_PYTHON_" + a.version.replace(".", "_")) or \
        shutil.which("python" + a.version)
    if not py:
        print("SKIP: no python%s on PATH (brew install python@%s)" % (a.version, a.version))
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        oracle_path = os.path.join(tmp, "oracle.json")
        proc = subprocess.Popen([py, os.path.join(SRC, "fixtures", "basic.py"), "--ready",
                                 oracle_path], stdin=subprocess.DEVNULL, cwd=tmp,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(oracle_path):
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit("FAIL: the fixture did not become ready (rc %s)" % proc.poll())
                time.sleep(0.1)
            oracle = json.load(open(oracle_path, encoding="utf-8"))
            core = os.path.join(tmp, "python.core")
            live, text = lldb(["-p", str(proc.pid)],
                              [("info", "py-async-graph --info"),
                               ("graph", "py-async-graph --format graph"),
                               ("save", "process save-core %s" % core)])
            info = live.get("info", "")
            check("--info names CPython %s" % oracle.get("python", "").split()[0],
                  info.startswith("python: CPython %s " % oracle.get("python", "").split()[0]),
                  text)
            check("--info found the AsyncioDebug table", "AsyncioDebug: 0x" in info, info)
            graph = live.get("graph", "")
            for t in oracle.get("tasks", []):
                g = t.get("graph")
                if g and not t.get("running") and not t.get("error"):
                    check("live graph holds format_call_graph of %s" % t.get("name"),
                          g.rstrip("\n") in graph, graph)
            check("lldb saved a core", os.path.exists(core), text)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if os.path.exists(core):
            dead, text = lldb(["-c", core], [("graph", "py-async-graph --format graph")])
            check("the saved core's graph == the live graph", graph == dead.get("graph"), text)
    if failures:
        sys.exit("FAIL: %d check(s): %s" % (len(failures), ", ".join(failures)))
    print("macos live %s: all checks passed" % a.version)


if __name__ == "__main__":
    main()
