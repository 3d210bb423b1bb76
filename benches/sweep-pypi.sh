#!/usr/bin/env bash
# Real-repository sweep (issue 8; not run in CI): downloads the newest wheels of a
# dozen popular ML packages from the package index with pip, unpacks them under
# benches/corpus/sweep/ (git-ignored), audits each with the release d2h, and compares
# the files d2h fails to parse with those CPython's ast.parse fails on.
#
#   benches/sweep-pypi.sh                      # the default list
#   benches/sweep-pypi.sh timm kornia          # some packages
#   PYTHON=python3.13 benches/sweep-pypi.sh    # which CPython parses (default: the newest found)
#
# Prints a Markdown table (docs/hardening.md records one run). Exit 1 when the
# parse-failure sets differ for some package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 "$HOME/.pyenv/versions/3.13.0/bin/python3" python3; do
    # Run it, not just look it up: a pyenv shim exists for versions that are not selected.
    if "$candidate" -c 'import ast' >/dev/null 2>&1; then python=$candidate; break; fi
  done
fi
"$python" -m pip --version >/dev/null
if [ "${D2H:-}" = "" ]; then
  (cd "$root" && cargo build --release --locked --quiet --bin d2h)
  D2H="$root/target/release/d2h"
fi
exec "$python" "$here/sweep_pypi.py" --d2h "$D2H" "$@"
