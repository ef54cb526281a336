#!/usr/bin/env bash
# One-time (and idempotent) setup: Debian packages, the real CPython interpreters
# the tests run (Debian sid builds, fetched into ~/.cache/py-async-graph), and the
# build in build/.  Re-running is cheap: nothing is installed or fetched twice.
#
# Environment: PAG_BUILD_DIR (default: build/ in the source tree),
#              PAG_JOBS (default: 2).
# Every failure ends with one line "setup: ERROR: <what, and why>" and exit 1;
# the full output of the failing step is in $PAG_BUILD_DIR/setup-logs/.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${PAG_BUILD_DIR:-$SRC/build}
JOBS=${PAG_JOBS:-2}
LOGDIR=$BUILD/setup-logs
mkdir -p "$LOGDIR"

die() { echo "setup: ERROR: $*" >&2; exit 1; }
# The first error line of a log, to put into the one ERROR line.
reason() { (grep -m1 -E "${2:-^E:}" "$1" || tail -1 "$1") 2>/dev/null | cut -c1-400; }
step() { echo "setup: $*"; }

# ---- Debian packages (only apt-get when something is missing) -----------------
PKGS="cmake make gcc g++ pkg-config gdb lldb-16 liblldb-16-dev libdw-dev libelf-dev
      elfutils patchelf graphviz clang-16 libclang-rt-16-dev clang-format man-db python3
      debian-archive-keyring"
missing=()
for p in $PKGS; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root; install them or run as root"
    SUDO=sudo
  fi
  $SUDO apt-get update >"$LOGDIR/apt-update.log" 2>&1 \
    || die "apt-get update failed: $(reason "$LOGDIR/apt-update.log") (see $LOGDIR/apt-update.log)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
    >"$LOGDIR/apt-install.log" 2>&1 \
    || die "apt-get install ${missing[*]} failed: $(reason "$LOGDIR/apt-install.log") (see $LOGDIR/apt-install.log)"
else
  step "Debian packages: all present"
fi

# ---- real CPython 3.13/3.14/3.15 from Debian sid (private cache) --------------
step "fetching CPython interpreters (fixtures/fetch-pythons.sh)"
bash "$SRC/fixtures/fetch-pythons.sh" >"$LOGDIR/fetch-pythons.log" 2>&1 \
  || die "fetching CPython failed: $(reason "$LOGDIR/fetch-pythons.log" 'ERROR:' | sed 's/^fetch-pythons: ERROR: //') (see $LOGDIR/fetch-pythons.log)"
grep -E '^python3\.[0-9]+(-dbg|-shared)? ' "$LOGDIR/fetch-pythons.log" | sed 's/^/setup:   /'

# ---- configure + build ---------------------------------------------------------
step "configuring $BUILD"
cmake -S "$SRC" -B "$BUILD" >"$LOGDIR/configure.log" 2>&1 \
  || die "cmake configure failed: $(awk '/CMake Error/ { f = 1; next } f && NF { sub(/^ +/, ""); print; exit }' "$LOGDIR/configure.log" | cut -c1-200) (see $LOGDIR/configure.log)"
step "building ($JOBS jobs)"
cmake --build "$BUILD" -j"$JOBS" >"$LOGDIR/build.log" 2>&1 \
  || die "build failed: $(reason "$LOGDIR/build.log" 'error|Error') (see $LOGDIR/build.log)"
step "ready: build in $BUILD"
