"""Ctrl-Z (SIGTSTP) while the CLI holds a large target stopped must not
leave the target stopped: the signal is held back until every thread is
detached, like SIGINT and SIGTERM (issue 18, defect 8a).

usage: live_tstp.py VERSION [TASKS]

The fixture `many` with TASKS tasks (200,000 by default) makes the read
window some tenths of a second long.  The CLI runs in a process group of
its own (not orphaned: its parent is in another group of the same
session), so the default action of SIGTSTP stops it.  The driver waits
until the CLI is the target's tracer (the window is open), sends SIGTSTP,
waits until the CLI is stopped, and then looks at the target: it must be
neither stopped nor traced while the CLI is.  SIGCONT then lets the CLI
finish, and its output must list every task.
"""
import os
import signal
import subprocess
import sys
import time

from clitest import Checker, cli_path, pagtest

ATTEMPTS = 10  # runs in which to catch the window; each one is ~0.3 s wide


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def wait_for(cond, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.0005)
    return cond()


def one_run(c, target, ntasks):
    """Returns False when the window was missed (the CLI finished first)."""
    cli = subprocess.Popen([cli_path(), "--format", "tasks", str(target)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, process_group=0)
    try:
        traced = wait_for(lambda: status(target).get("TracerPid") == str(cli.pid) or
                          cli.poll() is not None, 60)
        if not traced or cli.poll() is not None:
            cli.communicate(timeout=300)
            return False
        cli.send_signal(signal.SIGTSTP)
        stopped = wait_for(lambda: status(cli.pid)["State"].startswith("T"), 30)
        c.check(stopped, "the CLI stops on SIGTSTP (State %s)" % status(cli.pid)["State"])
        st = status(target)
        c.check(not st["State"].startswith(("t", "T")) and st["TracerPid"] == "0",
                "while the CLI is stopped the target runs, untraced (State %s, TracerPid %s)"
                % (st["State"], st["TracerPid"]))
        threads = os.listdir("/proc/%d/task" % target)
        held = [t for t in threads if status(int(t))["State"].startswith(("t", "T"))]
        c.check(not held, "no thread of the target is left stopped", " ".join(held))
        cli.send_signal(signal.SIGCONT)
        out, err = cli.communicate(timeout=300)
        lines = out.decode("utf-8", "surrogateescape").splitlines()
        c.check(cli.returncode == 0, "the CLI finishes after SIGCONT: exit %s" % cli.returncode,
                err.decode("utf-8", "replace")[-2000:])
        c.check(len(lines) == ntasks + 1, "all %d tasks listed (%d lines)" % (ntasks, len(lines)))
        return True
    finally:
        if cli.poll() is None:
            cli.send_signal(signal.SIGCONT)
            cli.kill()
            cli.wait()


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.14"
    ntasks = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    c = Checker("SIGTSTP during the read, %d tasks, %s" % (ntasks, version))
    with pagtest.Fixture("many", version, args=("--tasks", ntasks)) as fx:
        caught = 0
        for _ in range(ATTEMPTS):
            if one_run(c, fx.pid, ntasks):
                caught += 1
                break
        c.check(caught, "SIGTSTP landed inside the read window in one of %d runs" % ATTEMPTS)
        st = status(fx.pid)
        c.check(not st["State"].startswith(("t", "T")) and st["TracerPid"] == "0",
                "the target is left running and untraced (State %s)" % st["State"])
    c.finish()


if __name__ == "__main__":
    main()
