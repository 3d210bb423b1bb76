#!/usr/bin/env bash
# Times a full `d2h audit --format json` of the benchmark corpus next to
# `ruff check --no-cache --select E711` on the same tree, in the same run.
# Prints the median wall time and peak RSS of RUNS runs of each, and the ratio.
#
#   benches/fetch-corpus.sh            # once: downloads the corpus
#   pip install ruff                   # once
#   benches/audit-corpus.sh [RUNS]
#
# D2H_BASELINE=/path/to/older/d2h also times that binary in the same run (an
# earlier commit's build), so a change is judged against its baseline under the
# same load. The auditor is built lean (`--no-default-features`: no candle).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
tree="$here/corpus/tree"
runs=${1:-5}
[ -d "$tree" ] || { echo "no corpus: run benches/fetch-corpus.sh first" >&2; exit 2; }
command -v ruff >/dev/null || { echo "ruff not found: pip install ruff" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 2; }
(cd "$repo" && cargo build --release --quiet --no-default-features)
d2h="${CARGO_TARGET_DIR:-$repo/target}/release/d2h"
baseline=${D2H_BASELINE:-}
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT

measure() { # name, command...: prints "median_seconds median_kb"
  local name=$1; shift
  local times=() mems=()
  for _ in $(seq "$runs"); do
    local out
    /usr/bin/time -o "$stats" -f "%e %M" "$@" >/dev/null 2>&1
    out=$(tail -n 1 "$stats")
    times+=("${out% *}"); mems+=("${out#* }")
  done
  local t m
  t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  m=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$t $m"
}

files=$(find "$tree" -name '*.py' | wc -l)
lines=$(find "$tree" -name '*.py' -print0 | xargs -0 cat | wc -l)
# Warm the page cache so both tools read from memory.
find "$tree" -name '*.py' -print0 | xargs -0 cat >/dev/null

# A gate nothing fails, so the exit code stays 0.
read -r d2h_s d2h_kb < <(measure d2h "$d2h" audit "$tree" --format json --output /dev/null --max-critical 1000000)
read -r ruff_s ruff_kb < <(measure ruff ruff check --no-cache --select E711 --exit-zero -q "$tree")
ratio=$(awk -v a="$d2h_s" -v b="$ruff_s" 'BEGIN { printf "%.2f", a / b }')
if [ -n "$baseline" ]; then
  read -r base_s base_kb < <(measure baseline "$baseline" audit "$tree" --format json --output /dev/null --max-critical 1000000)
  base_ratio=$(awk -v a="$base_s" -v b="$ruff_s" 'BEGIN { printf "%.2f", a / b }')
fi

echo "corpus: $files files, $lines lines; $(nproc) cores; median of $runs runs"
echo "$("$d2h" --version); $(ruff --version)"
printf '%-40s %8s %10s\n' "command" "wall s" "peak RSS"
printf '%-40s %8s %7d MB\n' "d2h audit --format json" "$d2h_s" "$((d2h_kb / 1024))"
printf '%-40s %8s %7d MB\n' "ruff check --no-cache --select E711" "$ruff_s" "$((ruff_kb / 1024))"
if [ -n "$baseline" ]; then
  printf '%-40s %8s %7d MB\n' "baseline d2h ($("$baseline" --version))" "$base_s" "$((base_kb / 1024))"
  echo "baseline d2h / ruff wall time: $base_ratio"
fi
echo "d2h / ruff wall time: $ratio"
