#!/usr/bin/env python3
# The installed lldb plugin: install the build tree into a fresh prefix
# (cmake --install), check the plugin lands in <libdir>/py-async-graph/, and
# load that copy (not the build tree's) into lldb-16 on a live fixture:
# "py-async-graph --format tasks" == the CLI's output.
#
# usage: test_install.py [--version 3.14]

import argparse
import glob
import os
import shutil
import tempfile

import lldbtest
from lldbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="3.14")
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb install")
    cmake = shutil.which("cmake")
    if not cmake:
        lldbtest.fail("cmake not found")
    with tempfile.TemporaryDirectory() as prefix:
        rc, out, err = pagtest.run([cmake, "--install", lldbtest.build_dir(), "--prefix", prefix],
                                   timeout=120)
        if rc != 0:
            lldbtest.fail("cmake --install failed:\n" + out + err)
        plugins = glob.glob(os.path.join(prefix, "lib*", "**", "py-async-graph",
                                         "libpy-async-graph-lldb.so"), recursive=True)
        chk.true("plugin installed in <libdir>/py-async-graph/", len(plugins) == 1,
                 str(plugins))
        if not plugins:
            chk.finish()
        with pagtest.Fixture("basic", a.version) as fx:
            rc, cli_tasks, err = lldbtest.run_cli(["--format", "tasks", str(fx.pid)])
            if rc != 0:
                lldbtest.fail("CLI exited %d: %s" % (rc, err))
            argv = [lldbtest.lldb_exe(), "-b", "--no-lldbinit", "-p", str(fx.pid),
                    "-o", "plugin load " + plugins[0],
                    "-o", "script print('@@BEGIN')", "-o", "py-async-graph --format tasks",
                    "-o", "script print('@@END')"]
            rc, out, err = pagtest.run(argv, timeout=120, env=lldbtest.lldb_env())
            got = out.partition("@@BEGIN\n")[2].partition("(lldb) script print('@@END')")[0]
            got = got.partition("(lldb) py-async-graph --format tasks\n")[2]
            chk.eq("installed plugin: py-async-graph --format tasks == CLI", cli_tasks, got)
            chk.eq("lldb -b exits 0", 0, rc)
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
