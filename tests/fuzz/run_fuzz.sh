#!/usr/bin/env bash
# Build the decoder fuzzer with clang's libFuzzer (ASan + UBSan) and run it
# for a bounded time over the committed corpus.  Usage: run_fuzz.sh SECONDS
set -euo pipefail
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=$(command -v clang-16 || command -v clang || true)
if [ -z "$cc" ]; then echo "run_fuzz: clang-16 is missing (apt-get install clang-16)"; exit 1; fi
# The supported versions, as common/CMakeLists.txt passes them to the core.
read -r -a vers <<<"$(sed -n 's/^supported:[[:space:]]*//p' "$top/fixtures/python-versions")"
text=$(IFS=,; echo "${vers[*]}" | sed 's/,/, /g')
prose=${vers[-1]}
[ ${#vers[@]} -gt 1 ] && prose="$(IFS=,; echo "${vers[*]:0:${#vers[@]}-1}" | sed 's/,/, /g') and ${vers[-1]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -DPAG_CACHE_SLOTS=16 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DPAG_PY_VERSIONS_TEXT="\"$text\"" -DPAG_PY_VERSIONS_PROSE="\"$prose\"" \
    -I"$top/common/include" -I"$top/common/src" "$top"/common/src/*.c "$here/fuzz_decode.c" \
    -o "$work/fuzz_decode"
mkdir -p "$work/corpus"
cp "$here"/corpus/* "$work/corpus/"
# Regression inputs: every crash ever found stays here and must now pass.
if ls "$here"/regressions/* >/dev/null 2>&1; then
    "$work/fuzz_decode" "$here"/regressions/*
fi
# Findings go to $PAG_FUZZ_ARTIFACTS (default: the current directory) so that
# a CI failure leaves the input behind; the whole sanitizer report is printed.
art=${PAG_FUZZ_ARTIFACTS:-$PWD}
mkdir -p "$art"
rc=0
"$work/fuzz_decode" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=1048576 -print_final_stats=1 -artifact_prefix="$art/" "$work/corpus" \
    >"$work/log" 2>&1 || rc=$?
if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|libFuzzer)|runtime error:' "$work/log"; then
    sed -n '/ERROR: \|runtime error:/,$p' "$work/log" | head -n 80
    echo "run_fuzz: FINDING (exit $rc); input saved under $art/"
    exit 1
fi
tail -n 8 "$work/log"
echo "run_fuzz: ${secs}s with no finding; corpus: $(ls "$work/corpus" | wc -l) inputs"
