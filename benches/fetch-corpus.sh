#!/usr/bin/env bash
# Downloads the benchmark corpus: the Python sources of four real ML packages,
# unpacked under benches/corpus/ (git-ignored). Needs pip and network access to PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/corpus"
mkdir -p "$corpus/wheels" "$corpus/tree"
python3 -m pip download --quiet --no-deps -d "$corpus/wheels" \
  transformers==5.24.0 ultralytics==8.4.190 timm==1.0.31 segment-anything==1.0
for archive in "$corpus"/wheels/*; do
  name=$(basename "$archive")
  dest="$corpus/tree/${name%%-*}"
  [ -d "$dest" ] && continue
  mkdir -p "$dest"
  case "$archive" in
    *.whl|*.zip) python3 -m zipfile -e "$archive" "$dest" ;;
    *.tar.gz) tar -xzf "$archive" -C "$dest" ;;
    *) echo "skipping $name" ;;
  esac
done
files=$(find "$corpus/tree" -name '*.py' | wc -l)
lines=$(find "$corpus/tree" -name '*.py' -print0 | xargs -0 cat | wc -l)
echo "corpus: $corpus/tree ($files Python files, $lines lines)"
