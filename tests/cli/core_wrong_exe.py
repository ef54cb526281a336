"""--exe that is another CPython is refused: exit 5, "does not match the
core" (issue 18, defect 4).

usage: core_wrong_exe.py

A 3.14 core with --exe python3.15 (and a 3.15 core with --exe python3.14)
used to pass: both interpreters are non-PIE at 0x400000, so the load layout
agreed, and an --exe that failed the build-id check was quietly replaced by
the recorded path (exit 0, the JSON source naming the wrong executable) or,
with the recorded file gone, left a core that could not be read (exit 13).
Now --exe alone is the executable, and it must match: by build-id where the
core holds one, else by its ELF header and program headers (the core's copy
of the file's first page) and by its load layout and size against the
core's NT_FILE record.  Each way is exercised on a copy of the real core:

  intact     the build-id note is in the core
  no-bid     the build-id note in the core's copy of the first page is
             disabled (its type changed): the ELF header decides
  no-page    the executable's first page is left out of the core (as a
             coredump_filter without ELF headers does): only the layout
             and size are left

In each the right --exe gives the output of the intact core without
--exe, and the wrong one exit 5 with one line naming it.  --exe naming no
file is exit 3.
"""
import os
import struct
import tempfile

from clitest import PT_LOAD, Checker, core_files, core_phdrs, pagtest, run

EXIT_NO_PROCESS, EXIT_NOT_PYTHON = 3, 5
GNU_BUILD_ID = struct.pack("<III", 4, 20, 3) + b"GNU\0"


def build_id_note(exe):
    """The 36 bytes of the executable's NT_GNU_BUILD_ID note."""
    with open(exe, "rb") as f:
        data = f.read()
    at = data.find(GNU_BUILD_ID)
    return data[at:at + len(GNU_BUILD_ID) + 20] if at >= 0 else None


def exe_base(data, exe):
    """Lowest address at which the core maps the executable from offset 0."""
    real = os.path.realpath(exe)
    starts = [st for st, _en, off, path, _p in core_files(data)
              if off == 0 and os.path.realpath(path) == real]
    return min(starts) if starts else None


def craft(core, exe, d):
    """{variant: path} of the damaged copies, and what went wrong making them."""
    with open(core, "rb") as f:
        data = bytearray(f.read())
    out, problems = {"intact": core}, []
    note = build_id_note(exe)
    base = exe_base(data, exe)
    if note is None or base is None:
        return out, ["no build-id note in %s or no mapping of it in the core" % exe]
    def keep(name, damaged, changed, problem):
        if not changed:
            problems.append(problem)
            return
        out[name] = os.path.join(d, "%s.%s" % (os.path.basename(core), name))
        with open(out[name], "wb") as f:
            f.write(damaged)
    nobid = bytearray(data)
    hits = 0
    at = nobid.find(note)
    while at >= 0:
        struct.pack_into("<I", nobid, at + 8, 0x7E)  # no longer NT_GNU_BUILD_ID
        hits += 1
        at = nobid.find(note, at + 1)
    keep("no-bid", nobid, hits, "the core holds no copy of the build-id note")
    nopage = bytearray(data)
    segs = [h for h, p_type, _off, va, filesz, _ms in core_phdrs(data)
            if p_type == PT_LOAD and va == base and filesz]
    for h in segs:
        struct.pack_into("<Q", nopage, h + 32, 0)  # p_filesz: left out of the core
    keep("no-page", nopage, segs, "the core holds no first page of the executable")
    return out, problems


def main():
    c = Checker("core --exe of another CPython")
    exes = {v: pagtest.python_tree(v)[0] for v in pagtest.VERSIONS}
    if not c.check(len(exes) >= 2, "two CPython versions to swap (%s)" % " ".join(exes)):
        c.finish()
    with tempfile.TemporaryDirectory() as d:
        cores = {}
        for v in exes:
            with pagtest.Fixture("basic", v) as fx:
                cores[v] = fx.gcore(path=os.path.join(d, "core-" + v))
        for v, core in cores.items():
            rc, want, err = run(["--core", core], timeout=120)
            c.check(rc == 0 and want, "%s core without --exe: exit 0" % v, err)
            variants, problems = craft(core, exes[v], d)
            for p in problems:
                c.check(False, "%s core: %s" % (v, p))
            for name, path in variants.items():
                tag = "%s core (%s)" % (v, name)
                rc, out, err = run(["--core", path, "--exe", exes[v]], timeout=120)
                c.check(rc == 0 and out == want, "%s, its own --exe: exit 0, same output" % tag,
                        "rc=%s\n%s" % (rc, err))
                for other in exes:
                    if other == v:
                        continue
                    what = "%s, --exe python%s" % (tag, other)
                    rc, out, err = run(["--core", path, "--exe", exes[other]], timeout=120)
                    c.one_error_line(rc, err, EXIT_NOT_PYTHON, what,
                                     "--exe %s does not match the core" % exes[other])
                    c.check(out == "", "%s: no output" % what, out[:2000])
                    if name != "intact":
                        c.check("build-id" not in err, "%s: refused without a build-id" % what, err)
            missing = os.path.join(d, "no-such-python")
            rc, out, err = run(["--core", core, "--exe", missing], timeout=120)
            c.one_error_line(rc, err, EXIT_NO_PROCESS, "%s core, --exe of no file" % v, missing)
    c.finish()


if __name__ == "__main__":
    main()
