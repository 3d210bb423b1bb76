#!/usr/bin/env bash
# Renders d2h's three HTML reports for the bundled examples and checks them in
# headless Chromium, as a person would (scripts/html-report-check.cjs): no
# console error, no request but the page itself, filters that change what is
# visible, and a screenshot of each.
#
#   scripts/html-report-check.sh [--update-docs]
#
# The pages and screenshots go to target/html-report/ (D2H_HTML_OUT to change
# it); --update-docs also copies the three screenshots to docs/html/, where
# the README shows them.
#
#   audit.html           d2h audit examples/legacy-pipeline
#   audit-baseline.html  the resident example audited against a baseline of the
#                        legacy one (the migration's progress: new / known / fixed)
#   pipeline.html        d2h pipeline run --device cpu --mode legacy (60 frames of 128x128)
#   compare.html         the pipeline's static audit against that run
#
# Not part of CI (.ci/run): it needs Chromium (Debian: `apt-get install -y
# chromium`, or CHROMIUM=/path/to/chrome) and playwright-core from npm
# (installed here into target/html-check/). CI checks the pages' structure,
# escaping and determinism with `cargo test` (reports/tests/it/html.rs,
# tests/it/html.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

update_docs=0
case "${1:-}" in
  --update-docs) update_docs=1 ;;
  "") ;;
  *) echo "usage: $0 [--update-docs]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-target}"
out="${D2H_HTML_OUT:-$target/html-report}"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "no Chromium found: apt-get install -y chromium, or set CHROMIUM" >&2
  exit 2
fi
node_dir="$target/html-check"
if [ ! -f "$node_dir/node_modules/playwright-core/package.json" ]; then
  echo "== installing playwright-core into $node_dir"
  npm install --no-audit --no-fund --silent --prefix "$node_dir" playwright-core@1.65.2
fi

echo "== building d2h"
cargo build --locked --workspace --quiet

mkdir -p "$out"
out="$(cd "$out" && pwd)"
d2h="$(cd "$target" && pwd)/debug/d2h"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The gate fails on the legacy example (exit 1): the report is written all the same.
gated() { "$@" || [ $? -eq 1 ]; }

echo "== rendering the reports into $out"
gated "$d2h" audit examples/legacy-pipeline --quiet --format html --output "$out/audit.html"

mkdir "$work/pipeline"
cp examples/legacy-pipeline/*.py "$work/pipeline/"
(cd "$work" && "$d2h" audit pipeline --quiet --write-baseline baseline.json)
cp examples/resident-pipeline/*.py "$work/pipeline/"
(cd "$work" && gated "$d2h" audit pipeline --quiet --baseline baseline.json --format html --output "$out/audit-baseline.html")

run=(pipeline run --device cpu --frames 60 --size 128 --mode legacy)
"$d2h" "${run[@]}" --format html --output "$out/pipeline.html"
"$d2h" "${run[@]}" --format json --output "$work/runtime.json"
"$d2h" audit pipeline --quiet --format json --output "$work/static.json"
"$d2h" compare "$work/static.json" "$work/runtime.json" --format html --output "$out/compare.html"
ls -l "$out"/*.html

echo "== checking them in headless Chromium ($("$chromium" --version 2>/dev/null | head -n 1))"
PLAYWRIGHT_CORE="$(cd "$node_dir" && pwd)/node_modules/playwright-core" CHROMIUM="$chromium" \
  node scripts/html-report-check.cjs "$out" \
  "$out/audit.html:severity=critical,rule=D2H007,file=predictor.py" \
  "$out/audit-baseline.html:severity=low,rule=D2H001" \
  "$out/pipeline.html:severity=critical,phase=setup,rule=D2H002" \
  "$out/compare.html:kind=static-only,kind=confirmed,rule=D2H001"

if [ "$update_docs" = 1 ]; then
  mkdir -p docs/html
  for name in audit pipeline compare; do
    cp "$out/$name.png" "docs/html/$name.png"
  done
  echo "== screenshots copied to docs/html/"
fi
echo "== HTML reports checked"
