#!/usr/bin/env bash
# Builds the d2h wheel from a checkout: the `d2h` binary without the default features (the
# auditor alone: no candle, no CUDA), the `d2h` Python package (sync budgets, the pytest
# plugin, `python -m d2h`) and the runtime probe `d2h_probe` (pyproject.toml says how).
#
#   scripts/build-wheel.sh               # release wheel in dist/, tagged for this machine's
#                                        # glibc by maturin's auditwheel check (manylinux_2_34 here)
#   scripts/build-wheel.sh --zig         # links with zig: manylinux_2_17 (pip install ziglang)
#   scripts/build-wheel.sh --profile dev # the quick build CI smoke-tests (no optimisation)
#
# Other arguments go to `maturin build`. maturin comes from PATH, else from a virtualenv
# that this script creates in target/wheel-venv (from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${D2H_WHEEL_DIR:-dist}"
maturin="$(command -v maturin || true)"
if [ -z "$maturin" ]; then
  venv="${CARGO_TARGET_DIR:-target}/wheel-venv"
  [ -x "$venv/bin/maturin" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet "maturin>=1.9,<2"; }
  maturin="$venv/bin/maturin"
fi
args=()
profile_given=0
for arg in "$@"; do
  case "$arg" in
    --zig) args+=(--zig --compatibility manylinux_2_17) ;;
    --profile|--profile=*|--release|-r) profile_given=1; args+=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
[ "$profile_given" = 1 ] || args+=(--release)
"$maturin" build --locked --out "$out" "${args[@]}"
