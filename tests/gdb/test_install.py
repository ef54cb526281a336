#!/usr/bin/env python3
# The installed gdb script finds the installed core library: install the
# build tree into a fresh prefix, source PREFIX/share/py-async-graph/gdb/
# py-async-graph.py in gdb (no PAG_CORE_LIB, no build tree beside it) and run
# "py-async-graph --version" (== the CLI's) and the auto-load hook.
#
# usage: test_install.py

import os
import shutil
import subprocess
import tempfile

import gdbtest


def main():
    chk = gdbtest.Checker("gdb install")
    cmake = shutil.which("cmake")
    if not cmake:
        gdbtest.skip("cmake not found")
    with tempfile.TemporaryDirectory() as prefix:
        p = subprocess.run([cmake, "--install", gdbtest.build_dir(), "--prefix", prefix],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            gdbtest.fail("cmake --install failed:\n" + p.stdout.decode(errors="replace"))
        script = os.path.join(prefix, "share", "py-async-graph", "gdb", "py-async-graph.py")
        hook = os.path.join(prefix, "share", "py-async-graph", "gdb", "python3-gdb-autoload.py")
        chk.true("script installed", os.path.exists(script), script)
        chk.true("auto-load hook installed", os.path.exists(hook), hook)
        libs = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs
                if f == "libpy-async-graph-core.so"]
        chk.true("core library installed", len(libs) == 1, str(libs))
        rc, cli_version, _ = gdbtest.run_cli(["--version"])
        # Relocated: the configured libdir points at the real prefix, so only the
        # search relative to the script can find the library here.
        sec, text = gdbtest.run_gdb([], [("v", "py-async-graph --version"),
                                         ("h", "help py-async-bt")], script=script)
        chk.eq("installed script: --version == CLI", cli_version, sec.get("v"))
        chk.true("installed script: commands registered", "running" in (sec.get("h") or ""), text[-2000:])
        # The auto-load hook sources the installed script when its path matches.
        with open(hook, encoding="utf-8") as f:
            body = f.read()
        local_hook = os.path.join(prefix, "hook-gdb.py")
        with open(local_hook, "w", encoding="utf-8") as f:
            import re
            f.write(re.sub(r'_pag_script = ".*"', '_pag_script = %r' % script, body))
        argv_hook = [("src", "source " + local_hook), ("v", "py-async-graph --version")]
        sec, text = gdbtest.run_gdb([], argv_hook, source=False)
        chk.eq("auto-load hook: --version == CLI", cli_version, sec.get("v"))
        # And through gdb's own auto-load: DIR/<real path of the binary>-gdb.py.
        binary = os.path.realpath(shutil.which("sleep"))
        adir = os.path.join(prefix, "auto-load")
        dest = adir + binary + "-gdb.py"
        os.makedirs(os.path.dirname(dest))
        shutil.copy(local_hook, dest)
        sec, text = gdbtest.run_gdb(["-iex", "set auto-load safe-path " + adir,
                                     "-iex", "set auto-load scripts-directory " + adir, binary],
                                    [("v", "py-async-graph --version")], source=False)
        chk.eq("gdb auto-load of %s: --version == CLI" % dest, cli_version, sec.get("v") or text[-1500:])
    chk.finish()


if __name__ == "__main__":
    main()
