#!/usr/bin/env bash
# Set up (packages, interpreters, build), then run the whole CTest suite.
# Exit status is non-zero on any failure.  Extra arguments go to ctest
# (e.g. `bash scripts/test.sh -L fixtures`, `-LE slow`).
#
# Environment: PAG_BUILD_DIR (default build/), PAG_JOBS (default 2),
#              PAG_CTEST_TIMEOUT (per-test cap in seconds, default 1500).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${PAG_BUILD_DIR:-$SRC/build}
JOBS=${PAG_JOBS:-2}

bash "$SRC/scripts/setup.sh"

LOG=$BUILD/ctest.log
set +e
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" \
      --timeout "${PAG_CTEST_TIMEOUT:-1500}" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
echo
echo "test: $(grep -E '^[0-9]+% tests passed' "$LOG" | tail -1 || echo 'no CTest summary line')"
if [ "$rc" != 0 ]; then
  echo "test: FAILED (ctest exit $rc; full log in $LOG)" >&2
  exit "$rc"
fi
echo "test: OK"
