#!/usr/bin/env python3
"""README command 1, bounded: run scripts/demo.sh (setup skipped, this build
tree, every step under a timeout) and check that what a new user reads names
the deadlock and the blocked loop.

Oracles: the demo service's source (the line marked BLOCKING-LINE is the
synchronous call that blocks the 'legacy' loop; lock-a and lock-b are the
tasks that await each other), and the tool's own live tree for the core and
gdb sections.  Checks, per section of the demo's output:
  * the CLI tree names the cycle "lock-a → lock-b → lock-a";
  * the --running graph shows legacy-sync-call in legacy_blocking_io() at
    that line, and with --native clock_nanosleep (libc) above it; gdb's
    py-async-tasks --running --native shows it inside libc;
  * the core section prints the same tree ("identical to the live tree");
  * the DOT output was rendered to an SVG with the cycle's red edges;
  * gdb (gdb -p) names the cycle and the running task with file:line;
  * with the lldb plugin built (PAG_BUILD_LLDB=ON: required), lldb names
    the cycle too;
  * the service is gone afterwards.

usage: demo.py --lldb ON|OFF
"""
import argparse
import os
import re
import tempfile

import docstest as dt

pagtest = dt.pagtest
CYCLE = "possible deadlock: await cycle: lock-a → lock-b → lock-a"


def sections(text):
    """{banner title: body} from the demo's '==== title' banners."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    out = {}
    parts = re.split(r"^==== (.*)$", text, flags=re.M)
    for i in range(1, len(parts) - 1, 2):
        out[parts[i].strip()] = parts[i + 1]
    return out


def pick(secs, prefix):
    for k, v in secs.items():
        if k.startswith(prefix):
            return k, v
    return None, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lldb", required=True, choices=["ON", "OFF"])
    a = ap.parse_args()
    c = dt.Checker("docs.demo")
    src = os.path.join(dt.SOURCE_DIR, "fixtures", "demo_service.py")
    with open(src, encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocking = [i + 1 for i, l in enumerate(lines) if l.rstrip().endswith("# BLOCKING-LINE")]
    if len(blocking) != 1:
        pagtest.fail("cannot find the BLOCKING-LINE marker in %s" % src)
    bline = blocking[0]

    with tempfile.TemporaryDirectory(prefix="pag-demo-test-") as tmp:
        svg = os.path.join(tmp, "demo.svg")
        env = pagtest.clean_env({"PAG_DEMO_SKIP_SETUP": "1", "PAG_BUILD_DIR": dt.BUILD_DIR,
                                 "PAG_DEMO_SVG": svg})
        rc, out, err = pagtest.run(["bash", os.path.join(dt.SOURCE_DIR, "scripts", "demo.sh")],
                                   env=env, timeout=900)
        text = out + err
        c.check(rc == 0, "demo.sh exits 0 (rc=%s)\n%s" % (rc, text[-3000:]))
        secs = sections(out)
        m = re.search(r"^pid (\d+), ", out, re.M)
        c.check(m is not None, "demo prints the service's pid")

        k, tree = pick(secs, "py-async-graph %s" % (m.group(1) if m else ""))
        c.check(k is not None and CYCLE in tree, "CLI tree names the deadlock (%s):\n%s" % (k, tree[-1500:]))
        c.check("(T) lock-a [cycle]" in tree and "(T) lock-b [cycle]" in tree,
                "CLI tree marks both deadlocked tasks")
        k, run = pick(secs, "py-async-graph --running")
        c.check(re.search(r"\* Task\(name='legacy-sync-call', id=0x[0-9a-f]+\)\n  \+ Call stack:\n"
                          r"  \|   File '[^']*demo_service\.py', line %d, in legacy_blocking_io\(\)\n"
                          % bline, run) is not None,
                "--running graph: legacy-sync-call blocked in legacy_blocking_io() line %d:\n%s"
                % (bline, run[:1500]))
        k, nat = pick(secs, "py-async-graph --running --native")
        c.check(re.search(r"\* Task\(name='legacy-sync-call', id=0x[0-9a-f]+\)\n  \+ Call stack:\n"
                          r"(  \|   \[native\] libc\.so\.6\+0x[0-9a-f]+\n)*"
                          r"  \|   \[native\] \w*clock_nanosleep\w*\+0x[0-9a-f]+ \(libc\.so\.6\)\n"
                          r"(  \|   \[native\] .*\n)*"
                          r"  \|   File '[^']*demo_service\.py', line %d, in legacy_blocking_io\(\)\n"
                          % bline, nat) is not None,
                "--running --native: clock_nanosleep on top of legacy_blocking_io() line %d:\n%s"
                % (bline, nat[:1500]))
        k, core = pick(secs, "gcore")
        c.check(CYCLE in core and "(identical to the live tree above)" in core,
                "core section: same tree as live, with the deadlock:\n%s" % core[-800:])
        k, dot = pick(secs, "py-async-graph -f dot")
        c.check(os.path.exists(svg) and "wrote " + svg in dot, "SVG written: %s" % dot[:300])
        if os.path.exists(svg):
            with open(svg, encoding="utf-8") as f:
                body = f.read()
            c.check("<svg" in body and body.count('stroke="red"') >= 2
                    and "lock&#45;a" in body and "lock&#45;b" in body,
                    "SVG has both deadlocked tasks and the red cycle edges")
        k, gdbsec = pick(secs, "inside gdb")
        c.check(k is not None and CYCLE in gdbsec, "gdb section names the deadlock:\n%s" % gdbsec[-1500:])
        c.check(re.search(r"^0x[0-9a-f]+ +\d+ +pending +\* legacy-sync-call +legacy_blocking_io "
                          r"\S*demo_service\.py:%d$" % bline, gdbsec, re.M) is not None,
                "gdb py-async-tasks --running: legacy-sync-call at demo_service.py:%d" % bline)
        # WHERE is the innermost native frame: inside libc's sleep, which
        # Debian's libc may leave unnamed (libc.so.6+0x...)
        c.check(re.search(r"^0x[0-9a-f]+ +\d+ +pending +\* legacy-sync-call +\[native\] "
                          r"(\w*clock_nanosleep\w*\+0x[0-9a-f]+ \(libc\.so\.6\)|"
                          r"libc\.so\.6\+0x[0-9a-f]+)$", gdbsec, re.M) is not None,
                "gdb py-async-tasks --running --native: the task is inside libc's sleep")
        k, lldbsec = pick(secs, "inside lldb")
        if a.lldb == "ON":
            c.check(k is not None and CYCLE in lldbsec,
                    "PAG_BUILD_LLDB=ON: lldb section names the deadlock:\n%s" % lldbsec[-1500:])
        else:
            print("note: PAG_BUILD_LLDB=OFF, no lldb section expected")
        if m:
            c.check(not os.path.exists("/proc/%s" % m.group(1)), "the service was stopped")
    c.finish()


if __name__ == "__main__":
    main()
