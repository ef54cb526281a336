"""Failure modes of the live CLI: each gives exactly one stderr line and its
own documented exit code (target.h PAG_EXIT_*).

usage: errors.py VERSION     (VERSION: the CPython used for the tracer test)
"""
import os
import re
import signal
import subprocess
import sys
import time

from clitest import Checker, pagtest, run, same_text

EXIT_USAGE, EXIT_NO_PROCESS, EXIT_PERMISSION, EXIT_NOT_PYTHON, EXIT_TOO_OLD = 2, 3, 4, 5, 6
EXIT_NO_TASK = 9


def gdb_env():
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)  # gdb embeds its own Python
    return env


PF_KTHREAD = 0x00200000


def stat_fields(pid):
    """(state, flags) from /proc/PID/stat (the name may hold spaces and parentheses)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return rest[0], int(rest[6])


def kernel_thread():
    """A kernel thread this PID namespace shows: kthreadd (2) if visible."""
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in sorted(pids, key=lambda p: p != 2):
        try:
            if stat_fields(pid)[1] & PF_KTHREAD:
                return pid
        except (OSError, IndexError, ValueError):
            continue
    return None


def dead_targets(c):
    """A zombie (exited, not reaped) has nothing to read: exit 3.  A kernel
    thread has no user memory: exit 5.  Both used to say "ptrace refused
    ... run with CAP_SYS_PTRACE" (exit 4), even as root (issue 18, defect 5)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        for _ in range(200):
            if stat_fields(pid)[0] == "Z":
                break
            time.sleep(0.01)
        c.check(stat_fields(pid)[0] == "Z", "the child %d is a zombie" % pid)
        for extra in ([], ["--no-stop"]):
            rc, out, err = run(extra + [pid])
            c.one_error_line(rc, err, EXIT_NO_PROCESS, "zombie %s" % extra,
                             "process %d has exited" % pid)
            c.check("CAP_SYS_PTRACE" not in err, "zombie: no word of ptrace rights", err)
    finally:
        os.waitpid(pid, 0)
    kt = kernel_thread()
    if not c.check(kt is not None, "a kernel thread is visible in /proc"):
        return
    comm = open("/proc/%d/comm" % kt).read().strip()
    for extra in ([], ["--no-stop"]):
        rc, out, err = run(extra + [kt])
        c.one_error_line(rc, err, EXIT_NOT_PYTHON, "kernel thread %d (%s) %s" % (kt, comm, extra),
                         "process %d (%s) is a kernel thread, not a CPython process" % (kt, comm))


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.14"
    c = Checker("cli errors")

    # A PID that cannot exist (above pid_max) and one that just exited.
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    rc, out, err = run([pid_max + 1])
    c.one_error_line(rc, err, EXIT_NO_PROCESS, "pid above pid_max", "no such process %d" % (pid_max + 1))
    p = subprocess.Popen(["true"])
    p.wait()
    rc, out, err = run([p.pid])
    c.one_error_line(rc, err, EXIT_NO_PROCESS, "exited pid", "no such process %d" % p.pid)
    c.check(out == "", "no output for a missing process")
    dead_targets(c)

    # Bad option.
    rc, out, err = run(["--format", "nonsense", "1"])
    c.one_error_line(rc, err, EXIT_USAGE, "bad --format")

    # Not a Python process.
    sl = subprocess.Popen(["sleep", "100"])
    try:
        time.sleep(0.2)
        rc, out, err = run([sl.pid])
        c.one_error_line(rc, err, EXIT_NOT_PYTHON, "sleep process", "not a CPython process")
        # Left running: not stopped (T/t) and not traced.  Right after the
        # detach a loaded machine may show it R, on its way back into its
        # sleep: wait for S a moment, but never accept a stop.
        for _ in range(40):
            st = open("/proc/%d/status" % sl.pid).read()
            if "\nState:\tS" in st:
                break
            time.sleep(0.05)
        c.check(re.search(r"\nState:\t[SR]", st) is not None and "TracerPid:\t0" in st,
                "sleep left running and detached", st)
    finally:
        sl.kill()
        sl.wait()

    # Another user (nobody) may not trace root's process: the line says so
    # and names the fix.  Needs root and setpriv; the CLI is copied where
    # nobody can run it.
    import shutil
    import tempfile
    if os.geteuid() == 0 and shutil.which("setpriv"):
        d = tempfile.mkdtemp(prefix="pag-nobody-")
        try:
            os.chmod(d, 0o755)
            exe = os.path.join(d, "py-async-graph")
            shutil.copy2(pagtest.cli_path(), exe)
            os.chmod(exe, 0o755)
            sl = subprocess.Popen(["sleep", "100"])
            try:
                time.sleep(0.2)
                p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe,
                                    str(sl.pid)], capture_output=True, text=True, timeout=60)
                c.one_error_line(p.returncode, p.stderr, EXIT_PERMISSION, "run as nobody",
                                 "process %d belongs to uid 0 and we run as uid 65534" % sl.pid)
            finally:
                sl.kill()
                sl.wait()
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        c.note("not root or no setpriv: the other-user case is not exercised")

    # CPython 3.13: too old.
    try:
        py313 = pagtest.python_for("3.13")
    except Exception as e:  # noqa: BLE001
        py313 = None
        c.check(False, "CPython 3.13 available: %s" % e)
    if py313:
        old = subprocess.Popen([py313, "-c", "import time; print('ready', flush=True); time.sleep(100)"],
                               stdout=subprocess.PIPE)
        try:
            old.stdout.readline()
            rc, out, err = run([old.pid])
            c.one_error_line(rc, err, EXIT_TOO_OLD, "3.13 target", "3.13")
        finally:
            old.kill()
            old.wait()

    # Another tracer (gdb) attached: ptrace refused, the message names the
    # tracer and the way out; --no-stop still reads (process_vm_readv needs
    # no ptrace stop and gdb keeps the process stopped anyway).
    with pagtest.Fixture("basic", version) as fx:
        gdb = subprocess.Popen(["gdb", "-nx", "-q", "-batch", "-p", str(fx.pid), "-ex", "shell sleep 30"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=gdb_env())
        try:
            tracer = 0
            for _ in range(300):
                for line in open("/proc/%d/status" % fx.pid):
                    if line.startswith("TracerPid:"):
                        tracer = int(line.split()[1])
                if tracer:
                    break
                time.sleep(0.1)
            c.check(tracer == gdb.pid, "gdb is attached (TracerPid %d, gdb %d)" % (tracer, gdb.pid))
            rc, out, err = run([fx.pid])
            c.one_error_line(rc, err, EXIT_PERMISSION, "traced by gdb",
                             "process %d is already traced by PID %d (gdb); detach it or use --no-stop"
                             % (fx.pid, gdb.pid))
            t = fx.oracle["tasks"][0]
            rc, out, err = run(["--no-stop", "--format", "graph", "--task", t["id"], fx.pid])
            c.check(rc == 0 and same_text(out, t["graph"]),
                    "--no-stop reads the gdb-traced process (rc=%s)" % rc, out + err)
        finally:
            gdb.send_signal(signal.SIGKILL)
            gdb.wait()
        # After gdb is gone the process must be readable normally again,
        # and after our run it must be neither stopped nor traced.
        time.sleep(0.3)
        rc, out, err = run(["--format", "graph", "--task", t["id"], fx.pid])
        c.check(rc == 0 and same_text(out, t["graph"]), "reads again after gdb left", out + err)
        st = open("/proc/%d/status" % fx.pid).read()
        c.check("TracerPid:\t0" in st and "\nState:\tt" not in st and "\nState:\tT" not in st,
                "left running and untraced", st)
        # An unknown task or thread: one line that repeats the selection.
        rc, out, err = run(["--task", "0x10", fx.pid])
        c.one_error_line(rc, err, EXIT_NO_TASK, "unknown task", "no task matches --task 0x10")
        rc, out, err = run(["--thread", "4242", "--format", "table", fx.pid])
        c.one_error_line(rc, err, EXIT_NO_TASK, "unknown thread", "no task matches --thread 4242")
        c.check(out == "", "no output for an unknown task or thread", out)
    c.finish()


if __name__ == "__main__":
    main()
