#!/usr/bin/env bash
# The demo: start a hung asyncio service (fixtures/demo_service.py) under real
# CPython 3.14 and look at it from outside -- CPython's own `python -m asyncio
# pstree` next to py-async-graph (live, then from a core made with gcore, then
# inside gdb and lldb when those frontends are built).  Everything this script
# starts is killed on exit, also on Ctrl-C or errors.
#
# Then ten thousand tasks at a glance (issue 16): a larger demo service
# (fixtures/big_service.py) as a grouped tree, a summary, and an HTML file.
#
# Environment: PAG_BUILD_DIR (default build/), PAG_DEMO_VERSION (default 3.14),
#              PAG_DEMO_SKIP_SETUP=1 to skip scripts/setup.sh,
#              PAG_DEMO_TASKS (the larger service's tasks, default 35013),
#              PAG_DEMO_HTML (default build/demo-tasks.html).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${PAG_BUILD_DIR:-$SRC/build}
VER=${PAG_DEMO_VERSION:-3.14}
CACHE=${PAG_CACHE:-$HOME/.cache/py-async-graph}
PY=$CACHE/bin/python$VER
CLI=$BUILD/py-async-graph

if [ "${PAG_DEMO_SKIP_SETUP:-0}" != 1 ]; then
  bash "$SRC/scripts/setup.sh"
fi
[ -x "$PY" ] || { echo "demo: ERROR: $PY missing (run fixtures/fetch-pythons.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/pag-demo.XXXXXX)
SVC_PID=""
BIG_PID=""
cleanup() {
  for p in $SVC_PID $BIG_PID; do
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

banner() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }
run_capped() {  # run_capped SECONDS CMD...: never let one step hang the demo
  local t=$1; shift
  timeout --kill-after=5 "$t" "$@" || echo "[exit status $?]"
}

banner "starting fixtures/demo_service.py under $("$PY" -c 'import sys; print(sys.version.split()[0])')"
# setsid: the service leads its own process group, so cleanup kills all of it.
setsid "$PY" "$SRC/fixtures/demo_service.py" --ready "$WORK/oracle.json" \
  >"$WORK/service.log" 2>&1 &
SVC_PID=$!
for _ in $(seq 600); do
  [ -e "$WORK/oracle.json" ] && break
  kill -0 "$SVC_PID" 2>/dev/null || { cat "$WORK/service.log" >&2; echo "demo: ERROR: service died" >&2; exit 1; }
  sleep 0.1
done
[ -e "$WORK/oracle.json" ] || { echo "demo: ERROR: service not ready after 60s" >&2; exit 1; }
python3 - "$WORK/oracle.json" <<'PYEOF'
import json, sys
o = json.load(open(sys.argv[1]))
e = o["expect"]
print("pid %d, %d pending tasks on %d threads; TCP server on 127.0.0.1:%d, %d clients, "
      "%d workers stuck in the backend, %d requests queued;" % (
      o["pid"], o["task_count"], len(o["threads"]), e["port"], e["clients"], e["workers"],
      e["queued_jobs"]))
print("%s and %s await each other; thread 'legacy' is blocked in %s() (line %d)." % (
      e["deadlock"][0], e["deadlock"][1], e["blocking_function"], e["blocking_line"]))
PYEOF

banner "CPython: python$VER -m asyncio pstree $SVC_PID"
run_capped 60 "$PY" -m asyncio pstree "$SVC_PID" 2>&1 | cut -c1-160 || true

banner "CPython: python$VER -m asyncio ps $SVC_PID"
run_capped 60 "$PY" -m asyncio ps "$SVC_PID" 2>&1 | cut -c1-160 || true

if [ -x "$CLI" ]; then
  banner "py-async-graph $SVC_PID   (tree)"
  run_capped 60 "$CLI" "$SVC_PID" 2>&1 || true
  banner "py-async-graph --running $SVC_PID   (what is each thread running right now?)"
  run_capped 60 "$CLI" --running -f graph "$SVC_PID" 2>&1 || true
  banner "py-async-graph --running --native $SVC_PID   (down to the C function that blocks)"
  run_capped 60 "$CLI" --running --native -f graph "$SVC_PID" 2>&1 || true
  banner "py-async-graph -f table $SVC_PID"
  run_capped 60 "$CLI" -f table "$SVC_PID" 2>&1 | cut -c1-160 || true
  if command -v gcore >/dev/null; then
    banner "gcore $SVC_PID, then py-async-graph --core (the same graph from the core file)"
    if run_capped 120 gcore -o "$WORK/core" "$SVC_PID" >"$WORK/gcore.log" 2>&1 \
       && [ -e "$WORK/core.$SVC_PID" ]; then
      run_capped 60 "$CLI" --core "$WORK/core.$SVC_PID" --exe "$(readlink -f /proc/$SVC_PID/exe)" \
        >"$WORK/core-tree.txt" 2>&1 || true
      cat "$WORK/core-tree.txt"
      run_capped 60 "$CLI" "$SVC_PID" >"$WORK/live-tree.txt" 2>&1 || true
      if cmp -s "$WORK/core-tree.txt" "$WORK/live-tree.txt"; then
        echo "(identical to the live tree above)"
      else
        echo "(differs from the live tree:)"; diff "$WORK/live-tree.txt" "$WORK/core-tree.txt" || true
      fi
    else
      echo "(gcore failed: $(tail -1 "$WORK/gcore.log"))"
    fi
  fi
  banner "py-async-graph -f dot $SVC_PID | dot -Tsvg   (the await graph as a picture)"
  SVG=${PAG_DEMO_SVG:-$BUILD/demo-graph.svg}
  if ! command -v dot >/dev/null; then
    echo "(Graphviz 'dot' is not installed: apt-get install graphviz)"
  elif run_capped 60 "$CLI" -f dot -o "$WORK/graph.dot" "$SVC_PID" \
       && run_capped 60 dot -Tsvg "$WORK/graph.dot" -o "$SVG"; then
    echo "wrote $SVG ($(grep -c -- '->' "$WORK/graph.dot") await edges; the deadlock's edges are red)"
  else
    echo "(rendering the DOT output failed)"
  fi
else
  banner "py-async-graph not built ($CLI missing) -- CLI part skipped"
fi

GDB_SCRIPT=$BUILD/gdb/py-async-graph.py
if [ -e "$GDB_SCRIPT" ] && command -v gdb >/dev/null; then
  banner "inside gdb: gdb -p $SVC_PID, then py-async-graph and py-async-tasks --running"
  # gdb embeds its own Python: never hand it the target's PYTHONHOME.
  # The sid tree's libthread_db matches the target's libc: let gdb load it.
  run_capped 120 env -u PYTHONHOME -u PYTHONPATH gdb -q -nx -batch \
    -iex "add-auto-load-safe-path $CACHE" -iex "source $GDB_SCRIPT" -p "$SVC_PID" \
    -ex "py-async-graph" -ex "py-async-tasks --running" -ex "py-async-tasks --running --native" \
    -ex "detach" 2>&1 \
    | grep -v -E '^\[(New|Thread debugging|Inferior)|^Using host libthread_db|^0x[0-9a-f]+ in ' || true
fi

LLDB_PLUGIN=$(ls "$BUILD"/lldb/*.so 2>/dev/null | head -1 || true)
if [ -n "$LLDB_PLUGIN" ] && command -v lldb-16 >/dev/null; then
  banner "inside lldb: py-async-graph $SVC_PID"
  run_capped 120 env -u PYTHONHOME -u PYTHONPATH lldb-16 --batch \
    -o "plugin load $LLDB_PLUGIN" -o "process attach --pid $SVC_PID" -o "py-async-graph" \
    -o "process detach" 2>&1 || true
  if [ -e "$WORK/core.$SVC_PID" ]; then
    banner "inside lldb on the core: lldb EXE -c CORE, then py-async-graph"
    run_capped 120 env -u PYTHONHOME -u PYTHONPATH lldb-16 --batch \
      "$(readlink -f /proc/$SVC_PID/exe)" -c "$WORK/core.$SVC_PID" \
      -o "plugin load $LLDB_PLUGIN" -o "py-async-graph" 2>&1 || true
  fi
fi

if [ -x "$CLI" ]; then
  TASKS=${PAG_DEMO_TASKS:-35013}
  banner "ten thousand tasks at a glance: fixtures/big_service.py --tasks $TASKS"
  setsid "$PY" "$SRC/fixtures/big_service.py" --tasks "$TASKS" --ready "$WORK/big.json" \
    >"$WORK/big.log" 2>&1 &
  BIG_PID=$!
  for _ in $(seq 1200); do
    [ -e "$WORK/big.json" ] && break
    kill -0 "$BIG_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -e "$WORK/big.json" ]; then
    run_capped 60 "$CLI" "$BIG_PID" >"$WORK/big-tree.txt" 2>&1 || true
    echo "the plain tree of pid $BIG_PID is $(wc -l <"$WORK/big-tree.txt") lines; grouped:"
    banner "py-async-graph --group $BIG_PID"
    run_capped 60 "$CLI" --group "$BIG_PID" 2>&1 || true
    banner "py-async-graph -f summary $BIG_PID   (the table for the incident channel)"
    run_capped 60 "$CLI" -f summary "$BIG_PID" 2>&1 | cut -c1-200 || true
    HTML=${PAG_DEMO_HTML:-$BUILD/demo-tasks.html}
    banner "py-async-graph -f html -o $HTML $BIG_PID"
    if run_capped 60 "$CLI" -f html -o "$HTML" "$BIG_PID"; then
      echo "wrote $HTML ($(du -k "$HTML" | cut -f1) KiB, one self-contained page: open it in a browser)"
    fi
    if [ -e "$GDB_SCRIPT" ] && command -v gdb >/dev/null; then
      banner "inside gdb: py-async-graph -f summary --top 3"
      run_capped 120 env -u PYTHONHOME -u PYTHONPATH gdb -q -nx -batch \
        -iex "add-auto-load-safe-path $CACHE" -iex "source $GDB_SCRIPT" -p "$BIG_PID" \
        -ex "py-async-graph -f summary --top 3" -ex "detach" 2>&1 \
        | grep -v -E '^\[(New|Thread debugging|Inferior)|^Using host libthread_db|^0x[0-9a-f]+ in ' | cut -c1-200 || true
    fi
  else
    echo "(fixtures/big_service.py did not get ready: $(tail -1 "$WORK/big.log"))"
  fi
fi

banner "done (the services are killed now)"
