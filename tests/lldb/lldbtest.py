# Helpers for the lldb frontend tests: run real lldb-16 in batch mode on a
# real fixture process (lldb -p PID) or its gcore core (lldb EXE -c CORE),
# with build/lldb/libpy-async-graph-lldb.so loaded by "plugin load", and cut
# each command's output out of lldb's chatter with `script print` markers.
#
# Two ways to run a command:
#   direct  -o 'py-async-graph ...': what a user sees; lldb -b stops the whole
#           batch at the first failed command, so only commands expected to
#           succeed run this way;
#   probe   -o 'script lldbprobe.run(...)': the command runs through
#           SBCommandInterpreter.HandleCommand inside the same session, and its
#           output, error text and return status come back as one JSON line,
#           so failures (and that the session goes on) can be asserted.
#
# lldb never gets PYTHONHOME/PYTHONPATH: it embeds its own Python, and a
# target's PYTHONHOME would break it.  Only pagtest's target wrappers set one.

import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gdb"))

import pagtest  # noqa: E402  (tests/lib/pagtest.py)
from gdbtest import (Checker, cli_outputs, diff, exe_of, run_main, same_as_cli,  # noqa: E402,F401
                     strip_json, targets, timed, version_and_mode)

FORMATS = ["tree", "table", "graph", "json", "dot", "tasks"]


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def build_dir():
    return os.environ.get("PAG_BUILD_DIR") or str(pagtest.BUILD_DIR)


def plugin_path():
    p = os.path.join(build_dir(), "lldb", "libpy-async-graph-lldb.so")
    if not os.path.exists(p):
        fail("the lldb plugin is not built: " + p)
    return p


def lldb_exe():
    # Never a silent skip: the LLDB tests must run wherever the plugin is
    # built.  The one exception is a PAG_SANITIZE build, said out loud.
    if os.environ.get("PAG_LLDB_SANITIZED"):
        print("SKIP: PAG_SANITIZE build: an ASan-instrumented plugin cannot be loaded "
              "into lldb-16", flush=True)
        sys.exit(77)
    g = shutil.which("lldb-16")
    if not g:
        fail("lldb-16 is not installed (Debian: apt-get install lldb-16)")
    return g


def lldb_env():
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PAG_CORE_LIB"):
        env.pop(k, None)
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def direct(label, cmd):
    return ("direct", label, cmd)


def probe(label, cmd):
    return ("probe", label, cmd)


def run_lldb(target_args, commands, timeout=300, load=True):
    """Run lldb-16 -b TARGET_ARGS with the plugin loaded and each command
    (direct(...) or probe(...)) between '@@BEGIN label' / '@@END label'.
    Returns (sections, full_text): sections maps label -> the text a direct
    command printed, or the probe's dict {ok, status, out, err}."""
    argv = [lldb_exe(), "-b", "--no-lldbinit"] + list(target_args)
    if load:
        argv += ["-o", "plugin load " + plugin_path()]
    argv += ["-o", "command script import " + os.path.join(HERE, "lldbprobe.py")]
    for kind, label, cmd in commands:
        if kind == "probe":
            argv += ["-o", "script lldbprobe.run(%r, %r)" % (label, cmd)]
            continue
        argv += ["-o", "script print('@@BEGIN %s')" % label, "-o", cmd,
                 "-o", "script print('@@END %s')" % label]
    rc, out, err = pagtest.run(argv, timeout=timeout, env=lldb_env())
    # stdout holds the command output; stderr lldb's own errors.
    text = out + ("\n--- stderr ---\n" + err if err.strip() else "")
    if "Operation not permitted" in text and "attach" in text:
        fail("lldb may not attach here (ptrace: Operation not permitted): needs root or "
             "CAP_SYS_PTRACE and kernel.yama.ptrace_scope <= 1")
    sections = {}
    pos = 0
    for kind, label, cmd in commands:
        begin = "@@BEGIN %s\n" % label
        i = out.find(begin, pos)
        if i < 0:
            continue
        i += len(begin)
        if kind == "probe":
            j = out.find("\n@@END %s\n" % label, i)
            if j < 0:
                continue
            try:
                sections[label] = json.loads(out[i:j])
            except ValueError:
                pass
            pos = j
            continue
        echo = "(lldb) %s\n" % cmd
        if out.startswith(echo, i):
            i += len(echo)
        j = out.find("(lldb) script print('@@END %s')\n" % label, i)
        if j < 0:
            continue
        sections[label] = out[i:j]
        pos = j
    return sections, text


def run_cli(args, timeout=300):
    """The standalone CLI on the same target: (rc, stdout, stderr)."""
    cli = os.path.join(build_dir(), "py-async-graph")
    if not os.path.exists(cli):
        fail("the CLI is not built: " + cli)
    return pagtest.run([cli] + list(args), timeout=timeout)


def error_line(p):
    """The one error line of a failed probe, without lldb's "error: "
    prefix, or None when the command did not fail with exactly one line."""
    if not isinstance(p, dict) or p.get("ok") or p.get("out", "").strip():
        return None
    lines = [l for l in p.get("err", "").splitlines() if l.strip()]
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return None
    return lines[0][len("error: "):]


def is_stats_line(line):
    return re.match(r"^(py-async-graph: )?stats: |^lldb: \d+ ReadMemory calls", line) is not None
