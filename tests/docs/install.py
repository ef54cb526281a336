#!/usr/bin/env python3
"""`cmake --install BUILD --prefix TMP`, then every installed entry point on a
live fixture prints the same tree as the build-tree CLI:

  * TMP/bin/py-async-graph PID;
  * gdb -p PID with `source TMP/share/py-async-graph/gdb/py-async-graph.py`
    (the line the user guide gives for ~/.gdbinit), which must load the
    installed core library, not the build tree's;
  * lldb-16 with `plugin load TMP/lib/py-async-graph/libpy-async-graph-lldb.so`
    (the ~/.lldbinit line).  With --lldb ON (PAG_BUILD_LLDB) a missing plugin
    is a failure, not a skip.

It also checks that the man page and the guides are installed (the man page
identical to docs/ and rendering without warnings), and that the paths in the
guide's ~/.gdbinit / ~/.lldbinit lines and in the README are the installed
ones.  tests/gdb/test_install.py covers the gdb script's --version and its
auto-load hook; this test covers the run against a real process.

usage: install.py --lldb ON|OFF [--version 3.14]
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import tempfile

import docstest as dt

pagtest = dt.pagtest
GDB_REL = "share/py-async-graph/gdb/py-async-graph.py"
HOOK_REL = "share/py-async-graph/gdb/python3-gdb-autoload.py"
LLDB_REL = "lib/py-async-graph/libpy-async-graph-lldb.so"
MAN_REL = "share/man/man1/py-async-graph.1"
DOC_REL = "share/doc/py-async-graph"


def find_under(root, name):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f == name)


def init_line(guide, title):
    """The single line in the code block after the heading `title`."""
    part = guide.split(title, 1)
    if len(part) < 2:
        return None
    m = re.search(r"```\n([^\n]+)\n```", part[1])
    return m.group(1).strip() if m else None


def gdb_tree(script, pid):
    argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set width 0",
            "-iex", "set height 0", "-iex", "set confirm off",
            "-iex", "set debuginfod enabled off", "-iex", "source " + script,
            "-p", str(pid),
            "-ex", "echo @@BEGIN\\n", "-ex", "py-async-graph", "-ex", "echo @@END\\n",
            "-ex", "python print('@@LIB ' + _lib._name)", "-ex", "detach"]
    env = pagtest.clean_env()
    env.pop("PAG_CORE_LIB", None)
    rc, out, err = pagtest.run(argv, env=env, timeout=240)
    text = out + err
    m = re.search(r"@@BEGIN\n(.*?)@@END\n", out, re.S)
    lib = re.search(r"^@@LIB (.*)$", out, re.M)
    return rc, (m.group(1) if m else None), (lib.group(1) if lib else None), text


def lldb_run(plugin, pid):
    argv = ["lldb-16", "--no-lldbinit", "--batch",
            "-o", "plugin load " + plugin,
            "-o", "process attach --pid %d" % pid,
            "-o", "py-async-graph",
            "-o", "process detach"]
    return pagtest.run(argv, env=pagtest.clean_env(), timeout=240)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lldb", required=True, choices=["ON", "OFF"])
    ap.add_argument("--version", default="3.14")
    a = ap.parse_args()
    c = dt.Checker("docs.install")
    cmake = shutil.which("cmake")
    if not cmake:
        pagtest.fail("cmake not found")
    guide = dt.read(dt.GUIDE)
    readme = dt.read(dt.README)
    with tempfile.TemporaryDirectory(prefix="pag-install-") as prefix:
        rc, out, err = pagtest.run([cmake, "--install", dt.BUILD_DIR, "--prefix", prefix],
                                   timeout=300)
        if rc != 0:
            pagtest.fail("cmake --install failed (rc=%s):\n%s\n%s" % (rc, out[-3000:], err[-3000:]))
        cli = os.path.join(prefix, "bin", "py-async-graph")
        script = os.path.join(prefix, GDB_REL)
        plugin = os.path.join(prefix, LLDB_REL)
        man = os.path.join(prefix, MAN_REL)
        c.check(os.access(cli, os.X_OK), "CLI installed: " + cli)
        cores = find_under(prefix, "libpy-async-graph-core.so")
        c.check(len(cores) == 1 and os.path.basename(os.path.dirname(cores[0])) == "py-async-graph",
                "core library installed once, in <libdir>/py-async-graph/: %r" % cores)
        c.check(os.path.exists(script), "gdb script installed: " + script)
        c.check(os.path.exists(os.path.join(prefix, HOOK_REL)), "gdb auto-load snippet installed")
        c.check(os.path.exists(man) and filecmp.cmp(man, dt.MAN, shallow=False),
                "man page installed, identical to docs/: " + man)
        for doc in ("user-guide.md", "architecture.md"):
            p = os.path.join(prefix, DOC_REL, doc)
            c.check(os.path.exists(p) and filecmp.cmp(p, os.path.join(dt.DOCS, doc), shallow=False),
                    "%s installed under %s" % (doc, DOC_REL))
        if os.path.exists(man):
            rc, text, merr = dt.render_man(man)
            c.check(rc == 0 and not merr.strip() and "SYNOPSIS" in text,
                    "installed man page renders without warnings: %r" % merr[:500])
        lldb_plugins = find_under(prefix, "libpy-async-graph-lldb.so")
        if a.lldb == "ON":
            c.check(os.path.exists(plugin),
                    "PAG_BUILD_LLDB=ON: lldb plugin installed at %s (found: %r)" % (LLDB_REL, lldb_plugins))

        # The lines the docs tell users to add are the installed paths.
        gdb_line = init_line(guide, "### The `~/.gdbinit` line")
        lldb_line = init_line(guide, "### The `~/.lldbinit` line")
        c.check(gdb_line == "source /usr/local/" + GDB_REL, "guide's ~/.gdbinit line: %r" % gdb_line)
        c.check(lldb_line == "plugin load /usr/local/" + LLDB_REL,
                "guide's ~/.lldbinit line: %r" % lldb_line)
        c.check(gdb_line is not None and gdb_line in readme, "README has the ~/.gdbinit line")
        c.check(lldb_line is not None and lldb_line in readme, "README has the ~/.lldbinit line")

        with pagtest.Fixture("deadlock", a.version) as fx:
            rc, ref, rerr = dt.cli([str(fx.pid)])
            names = [t["name"] for t in fx.oracle["tasks"]]
            c.check(rc == 0 and all("(T) %s" % n in ref for n in names)
                    and "possible deadlock: await cycle: a → b → a" in ref,
                    "build-tree CLI: tree with every oracle task and the cycle (rc=%s %r)" % (rc, rerr))
            rc, got, gerr = pagtest.run([cli, str(fx.pid)], timeout=60)
            c.check(rc == 0 and got == ref, "installed CLI prints the same tree (rc=%s %r)\n%s"
                    % (rc, gerr, got[:1500]))
            rc, v1, _ = pagtest.run([cli, "--version"])
            _, v2, _ = dt.cli(["--version"])
            c.check(v1 == v2, "installed --version == build-tree --version")

            if not shutil.which("gdb"):
                pagtest.fail("gdb not found")
            rc, tree, lib, text = gdb_tree(script, fx.pid)
            c.check(tree == ref, "gdb with the installed script prints the same tree:\n%s"
                    % (tree if tree is not None else text[-2500:]))
            c.check(lib is not None and os.path.realpath(lib) == os.path.realpath(cores[0] if cores else ""),
                    "gdb loaded the installed core library: %r" % lib)

            if a.lldb == "ON" and os.path.exists(plugin):
                if not shutil.which("lldb-16"):
                    pagtest.fail("PAG_BUILD_LLDB=ON but lldb-16 is not installed")
                rc, out, err = lldb_run(plugin, fx.pid)
                c.check(ref in out, "lldb-16 with the installed plugin prints the same tree "
                        "(rc=%s):\n%s\n%s" % (rc, out[-2500:], err[-1500:]))
            elif a.lldb == "OFF":
                print("note: PAG_BUILD_LLDB=OFF, the lldb plugin is not built; lldb part not run")
    c.finish()


if __name__ == "__main__":
    main()
