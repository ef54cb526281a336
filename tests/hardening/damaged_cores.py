"""Cores damaged on purpose: each gives a clean message, a documented exit
code, no crash, no hang and (with the sanitizer build) no sanitizer report.

usage: damaged_cores.py VERSION CLI
  CLI is the py-async-graph binary to run (the ASan/UBSan build in CTest).

Damage (on a gcore core of the `basic` fixture):
  - truncated at 10%, 50%, 90%          -> exit 12 (truncated), one line
  - a byte range zeroed (several seeds) -> any documented exit code, at most
                                           one stderr line, no crash
  - the main thread's task list made circular (a node's next points back into
    the middle)                         -> the tasks are printed, a warning
                                           names the loop, exit 10 (partial)
  - the AsyncioDebug table overwritten  -> exit 8 (corrupt), one line naming it
Damage that used to pass silently (exit 0, data missing; issue 18, defect 6):
  - gen_object.gi_iframe in the core's _Py_DebugOffsets moved by -8
                                        -> every task undecodable, exit 10
                                           (or 8 if the table checks refuse it)
  - one task's coroutine frame zeroed   -> that task fails, the others are
                                           intact, exit 10, one warning line
  - one task's coro aimed at another task object
                                        -> the same
  - runtime_state.interpreters_head aimed at a NULL word of _PyRuntime (the
    offset of runtime_state.finalizing)  -> exit 8, one line: no interpreter
"""
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pagtest  # noqa: E402
from elfcore import file_offset, load_segments  # noqa: E402

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def run_cli(cli, args, timeout=120):
    env = pagtest.clean_env()
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    try:
        p = subprocess.run([cli] + args, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "", "TIMEOUT"
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def sane(rc, err, what):
    check(rc is not None, "%s: finishes (no hang)" % what)
    if rc is None:
        return False
    check(rc in DOCUMENTED, "%s: exit code %s is a documented one" % (what, rc))
    check(not SANITIZER.search(err), "%s: no sanitizer report" % what)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    check(len(lines) <= 1, "%s: at most one stderr line (got %d: %r)" % (what, len(lines), err[:300]))
    return True


def patch(core, segs, addr, data):
    off = file_offset(segs, addr)
    if off is None:
        return False
    with open(core, "r+b") as f:
        f.seek(off)
        f.write(data)
    return True


def asyncio_table_address(pid):
    return section_address(pid, ".AsyncioDebug")


def section_address(pid, section):
    """Runtime address of a section (.AsyncioDebug, .PyRuntime) in a live
    process, from its maps and the mapped files' section headers (readelf,
    not our own code)."""
    maps = {}
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                start = int(parts[0].split("-")[0], 16)
                off = int(parts[2], 16)
                maps.setdefault(parts[5], []).append((start, off))
    for path, ranges in maps.items():
        out = subprocess.run(["readelf", "-hSW", path], capture_output=True, text=True).stdout
        m = re.search(r"\]\s+" + re.escape(section) + r"\s+\S+\s+([0-9a-f]+)", out)
        if not m:
            continue
        sh_addr = int(m.group(1), 16)
        if "EXEC (Executable file)" in out:
            return sh_addr
        base = min(s for s, o in ranges if o == 0)
        return base + sh_addr
    return None


# Byte offsets of fields inside _Py_DebugOffsets (the reference, section 1.3)
# and the value each has in Debian's builds, checked before patching.
TABLE = {
    "3.14": {"gi_iframe": (680, 72), "interpreters_head": (40, 808), "finalizing": (32, 784)},
    "3.15": {"gi_iframe": (808, 72), "interpreters_head": (40, 936), "finalizing": (32, 912)},
}
TASK_CORO = 40  # asyncio_task_object.task_coro inside the AsyncioDebug table


def read_core(core, segs, addr, n):
    off = file_offset(segs, addr)
    if off is None:
        return None
    with open(core, "rb") as f:
        f.seek(off)
        return f.read(n)


def one_task_fails(cli, path, victim, ids, what):
    """The damaged task alone is undecodable: exit 10, one warning line, the
    others intact."""
    rc, out, err = run_cli(cli, ["--core", path, "--format", "json"])
    if not sane(rc, err, what):
        return
    check(rc == 10 and "1 task(s) could not be fully decoded" in err,
          "%s: exit 10, one task not decoded (rc=%s, %r)" % (what, rc, err.strip()))
    if rc != 10:
        return
    import json
    tasks = {t["id"]: t for t in json.loads(out)["tasks"]}
    check(tasks.get(victim, {}).get("error") is not None,
          "%s: the damaged task carries its error (%s)" % (what, tasks.get(victim, {}).get("error")))
    others = [i for i in ids if i != victim]
    check(all(tasks[i]["error"] is None and tasks[i]["stack"] for i in others if i in tasks),
          "%s: the other tasks keep their stacks" % what)


def silent_damage(cli, version, core, segs, runtime_addr, main_list, d):
    """Issue 18, defect 6: damage that gave exit 0 with data missing."""
    import json
    fields = TABLE[version]
    for name, (off, want) in fields.items():
        got = read_core(core, segs, runtime_addr + off, 8)
        check(got is not None and struct.unpack("<Q", got)[0] == want,
              "_Py_DebugOffsets %s is %s in the core (reference layout)" % (name, want))
    # gi_iframe moved: no task yields a frame
    p = os.path.join(d, "gi_iframe")
    shutil.copyfile(core, p)
    patch(p, segs, runtime_addr + fields["gi_iframe"][0], struct.pack("<Q", 64))
    rc, out, err = run_cli(cli, ["--core", p, "--format", "json"])
    if sane(rc, err, "gi_iframe offset moved"):
        check(rc in (8, 10), "gi_iframe offset moved: not silent, exit 10 or 8 (rc=%s, %r)"
              % (rc, err.strip()))
        if rc == 10:
            doc = json.loads(out)
            listed = [t for t in doc["tasks"] if t["listed"]]
            check(listed and all(t["error"] for t in listed),
                  "gi_iframe offset moved: every task is undecodable")
            check("could not be fully decoded" in err, "gi_iframe offset moved: a warning line")
    # interpreters_head aimed at a NULL word: a runtime with no interpreter
    p = os.path.join(d, "interp_head")
    shutil.copyfile(core, p)
    patch(p, segs, runtime_addr + fields["interpreters_head"][0],
          struct.pack("<Q", fields["finalizing"][1]))
    rc, out, err = run_cli(cli, ["--core", p])
    if sane(rc, err, "interpreters_head aimed at NULL"):
        check(rc == 8 and "interpreter" in err and not out,
              "interpreters_head aimed at NULL: exit 8 naming it, no graph (rc=%s, %r)"
              % (rc, err.strip()))
    return json


def task_damage(cli, core, segs, table_addr, main_list, d):
    """A zeroed coroutine frame; a coro aimed at another task object."""
    coro_off = struct.unpack("<Q", read_core(core, segs, table_addr + TASK_CORO, 8))[0]
    victim = main_list[1]
    coro = struct.unpack("<Q", read_core(core, segs, int(victim, 16) + coro_off, 8))[0]
    p = os.path.join(d, "zero_frame")
    shutil.copyfile(core, p)
    # the embedded frame: gi_iframe (72) to the end of the generator (160)
    check(patch(p, segs, coro + 72, b"\0" * (160 - 72)), "the coroutine is in the core")
    one_task_fails(cli, p, victim, main_list, "coroutine frame zeroed")
    p = os.path.join(d, "coro_other")
    shutil.copyfile(core, p)
    patch(p, segs, int(victim, 16) + coro_off, struct.pack("<Q", int(main_list[0], 16)))
    one_task_fails(cli, p, victim, main_list, "coro aimed at another task")


def main():
    version, cli = sys.argv[1], sys.argv[2]
    with pagtest.Fixture("basic", version) as fx, tempfile.TemporaryDirectory() as d:
        table_addr = asyncio_table_address(fx.pid)
        runtime_addr = section_address(fx.pid, ".PyRuntime")
        with open("/proc/%d/mem" % fx.pid, "rb") as mem:
            mem.seek(table_addr)
            table = mem.read(104)
        node_off = struct.unpack_from("<Q", table, 48)[0]
        core = fx.gcore(os.path.join(d, "core"))
        rc, good_json, err = run_cli(cli, ["--core", core, "--format", "json"])
        check(rc == 0, "intact core reads (rc=%s, %s)" % (rc, err.strip()))
        import json
        doc = json.loads(good_json)
        main_list = [t for t in doc["threads"] if t["tasks"]][0]["tasks"]
        size = os.path.getsize(core)
        segs = load_segments(core)

        for pct in (10, 50, 90):
            cut = os.path.join(d, "cut%d" % pct)
            shutil.copyfile(core, cut)
            os.truncate(cut, size * pct // 100)
            rc, out, err = run_cli(cli, ["--core", cut])
            if sane(rc, err, "truncated at %d%%" % pct):
                check(rc == 12 and "truncated" in err, "truncated at %d%%: exit 12 naming it (rc=%s, %r)"
                      % (pct, rc, err.strip()))
            os.unlink(cut)

        data_segs = [s for s in segs if s[2] >= 1 << 16]
        rnd = random.Random(1234)
        for seed in range(6):
            z = os.path.join(d, "zero%d" % seed)
            shutil.copyfile(core, z)
            vaddr, off, filesz = rnd.choice(data_segs)
            start = off + rnd.randrange(0, filesz - 65536)
            with open(z, "r+b") as f:
                f.seek(start)
                f.write(b"\0" * 65536)
            for fmt in ("tree", "json", "graph"):
                rc, out, err = run_cli(cli, ["--core", z, "--format", fmt])
                sane(rc, err, "64 KiB zeroed at file offset %#x (%s)" % (start, fmt))
            os.unlink(z)

        # A circular task list: the third task's next points back at the second.
        circ = os.path.join(d, "circular")
        shutil.copyfile(core, circ)
        t1, t2 = int(main_list[1], 16), int(main_list[2], 16)
        ok = patch(circ, segs, t2 + node_off, struct.pack("<Q", t1 + node_off))
        check(ok, "task node is in the core")
        rc, out, err = run_cli(cli, ["--core", circ, "--format", "table"])
        if sane(rc, err, "circular task list"):
            check(rc == 10, "circular task list: exit 10, partial (rc=%s)" % rc)
            check("loops" in err, "circular task list: the warning names the loop (%r)" % err.strip())
            check(main_list[0] in out and main_list[2] in out,
                  "circular task list: the tasks before the loop are printed")

        # The asyncio table overwritten with garbage.
        over = os.path.join(d, "overwritten")
        shutil.copyfile(core, over)
        ok = patch(over, segs, table_addr, b"\xff" * 104)
        check(ok, "AsyncioDebug table is in the core")
        rc, out, err = run_cli(cli, ["--core", over])
        if sane(rc, err, "AsyncioDebug overwritten"):
            check(rc == 8 and "AsyncioDebug" in err,
                  "AsyncioDebug overwritten: exit 8 naming the table (rc=%s, %r)" % (rc, err.strip()))

        silent_damage(cli, version, core, segs, runtime_addr, main_list, d)
        task_damage(cli, core, segs, table_addr, main_list, d)
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)
    print("damaged cores: all checks passed")


if __name__ == "__main__":
    main()
