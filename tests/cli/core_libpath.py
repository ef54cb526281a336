"""A core whose files were moved away after the crash: without help the
CLI names the missing file and the option that supplies it; with
--lib-search-path DIR / --sysroot DIR / --exe FILE the output equals the
live run.

usage: core_libpath.py VERSION

Library part: the fixture runs with a private copy of a library that matters
to the graph (the _asyncio extension, which holds the .AsyncioDebug section,
found via PYTHONPATH; or else libpython via LD_LIBRARY_PATH).  Executable
part: the fixture runs from a private copy of the interpreter binary (which
holds .PyRuntime).  Moving those copies away touches nothing shared.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

from clitest import Checker, json_without_source, pagtest, run

FORMATS = ["tree", "table", "graph", "json"]


def maps_files(pid):
    files = set()
    for line in open("/proc/%d/maps" % pid):
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            files.add(parts[5].strip())
    return files


def exe_part(c, version, d):
    """Run the fixture from a private copy of the interpreter, core it, move
    the copy away: the error names it and --exe; with --exe it works."""
    with pagtest.Fixture("basic", version) as fx:
        real = os.path.realpath("/proc/%d/exe" % fx.pid)
        # The interpreter wrapper's settings (PYTHONHOME, LD_LIBRARY_PATH...),
        # as the running fixture actually got them.
        fenv = dict(kv.split("=", 1) for kv in
                    open("/proc/%d/environ" % fx.pid, "rb").read().decode("utf-8", "replace").split("\0")
                    if "=" in kv)
    xdir, xmoved = os.path.join(d, "xbin"), os.path.join(d, "xmoved")
    os.mkdir(xdir)
    os.mkdir(xmoved)
    exe = os.path.join(xdir, os.path.basename(real))
    shutil.copy2(real, exe)
    ready = os.path.join(d, "x-oracle.json")
    env = dict(os.environ)
    for k in ("PYTHONHOME", "LD_LIBRARY_PATH"):
        if k in fenv:
            env[k] = fenv[k]
    p = subprocess.Popen([exe, os.path.join(pagtest.SOURCE_DIR, "fixtures", "basic.py"), "--ready", ready],
                         env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(1200):
            if os.path.exists(ready) or p.poll() is not None:
                break
            time.sleep(0.1)
        if not c.check(os.path.exists(ready), "fixture runs from the private interpreter copy"):
            return
        live = {f: run(["--format", f, p.pid]) for f in FORMATS}
        genv = dict(os.environ)
        genv.pop("PYTHONHOME", None)
        subprocess.run(["gcore", "-o", os.path.join(d, "xcore"), str(p.pid)], capture_output=True,
                       timeout=300, env=genv)
        core = os.path.join(d, "xcore.%d" % p.pid)
    finally:
        p.kill()
        p.wait()
    if not c.check(os.path.exists(core), "gcore of the private-interpreter fixture"):
        return
    shutil.move(exe, os.path.join(xmoved, os.path.basename(exe)))
    rc, out, err = run(["--core", core], timeout=120)
    c.one_error_line(rc, err, 5, "executable moved away, no option", exe)
    c.check("--exe" in err, "the error names --exe", err)
    for f in FORMATS:
        lrc, lout, lerr = live[f]
        crc, cout, cerr = run(["--format", f, "--core", core, "--exe",
                               os.path.join(xmoved, os.path.basename(exe))], timeout=300)
        c.check(lrc == crc == 0, "--exe %s: exit live %s core %s" % (f, lrc, crc), lerr + cerr)
        if f == "json":
            if lrc == crc == 0:
                c.check(json_without_source(lout) == json_without_source(cout), "--exe json equal",
                        lout + "\n---\n" + cout)
        else:
            c.check(lout == cout, "%s identical with --exe" % f, lout + "\n---\n" + cout)
    # The wrong executable is refused (no build-id in a gcore core for a
    # non-PIE binary: the load layout check catches it).
    rc, out, err = run(["--core", core, "--exe", "/bin/true"], timeout=120)
    c.one_error_line(rc, err, 5, "--exe of another program", "does not match the core")
    os.unlink(core)


def main():
    version = sys.argv[1]
    c = Checker("core libpath %s" % version)
    py = pagtest.python_for(version)
    p = subprocess.run([py, "-c", "import _asyncio; print(getattr(_asyncio, '__file__', '') or '')"],
                       capture_output=True, text=True, timeout=60)
    asyncio_so = p.stdout.strip()
    d = tempfile.mkdtemp(prefix="pag-libpath-")
    priv = os.path.join(d, "priv")
    moved = os.path.join(d, "moved")
    os.mkdir(priv)
    os.mkdir(moved)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    try:
        if asyncio_so:
            copy = os.path.join(priv, os.path.basename(asyncio_so))
            shutil.copy2(asyncio_so, copy)
            os.environ["PYTHONPATH"] = priv + (":" + saved["PYTHONPATH"] if saved["PYTHONPATH"] else "")
            how = "the _asyncio extension (%s)" % os.path.basename(copy)
        else:
            with pagtest.Fixture("basic", version) as fx:
                libs = [f for f in maps_files(fx.pid) if "/libpython3" in f]
            if not libs:
                print("NOTE: _asyncio is built in and there is no libpython: no separate library "
                      "holds the graph's sections; only the --exe part runs")
                exe_part(c, version, d)
                c.finish()
            copy = os.path.join(priv, os.path.basename(libs[0]))
            shutil.copy2(libs[0], copy)
            os.environ["LD_LIBRARY_PATH"] = priv
            how = "libpython (%s)" % os.path.basename(copy)
        print("moving away: " + how)
        with pagtest.Fixture("basic", version) as fx:
            c.check(copy in maps_files(fx.pid), "the fixture maps the private copy %s" % copy)
            live = {f: run(["--format", f, fx.pid]) for f in FORMATS}
            core = fx.gcore(path=os.path.join(d, "core"))  # outside fx.dir, which stop() removes
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.move(copy, os.path.join(moved, os.path.basename(copy)))

        rc, out, err = run(["--core", core], timeout=120)
        c.one_error_line(rc, err, 13, "library moved away, no option", os.path.basename(copy))
        c.check("--lib-search-path" in err, "the error names --lib-search-path", err)

        for f in FORMATS:
            lrc, lout, lerr = live[f]
            crc, cout, cerr = run(["--format", f, "--core", core, "--lib-search-path",
                                   "/nonexistent:" + moved], timeout=300)
            c.check(lrc == crc == 0, "%s: exit live %s core %s" % (f, lrc, crc), lerr + cerr)
            if f == "json":
                if lrc == crc == 0:
                    c.check(json_without_source(lout) == json_without_source(cout), "json equal",
                            lout + "\n---\n" + cout)
            else:
                c.check(lout == cout, "%s identical with --lib-search-path" % f, lout + "\n---\n" + cout)

        # --sysroot: the same file under SYSROOT + its recorded path.
        sysroot = os.path.join(d, "sysroot")
        os.makedirs(sysroot + os.path.dirname(copy))
        shutil.copy2(os.path.join(moved, os.path.basename(copy)), sysroot + copy)
        rc, out, err = run(["--format", "tree", "--core", core, "--sysroot", sysroot], timeout=300)
        c.check(rc == 0 and out == live["tree"][1], "tree identical with --sysroot", out + err)

        # A file that is not the one the core used (another build) is refused by build-id.
        other = [x for x in glob.glob("/usr/lib/x86_64-linux-gnu/*.so*") if os.path.isfile(x)][:1]
        if other:
            wrong = os.path.join(d, "wrong")
            os.mkdir(wrong)
            shutil.copy2(other[0], os.path.join(wrong, os.path.basename(copy)))
            rc, out, err = run(["--core", core, "--lib-search-path", wrong], timeout=120)
            c.one_error_line(rc, err, 13, "wrong library of the same name", "does not match the core")
        os.unlink(core)
        exe_part(c, version, d)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(d, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
