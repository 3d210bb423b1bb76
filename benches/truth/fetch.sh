#!/usr/bin/env bash
# Downloads the pinned wheels of the runtime-truth benchmark and unpacks the audited packages.
#
#   bash benches/truth/fetch.sh
#
# - .whl/ (repository root, git-ignored): the wheels that travel to the GPU machine, which has
#   no network (installed there with `pip install --no-deps --target`); cp312 manylinux x86-64.
# - benches/truth/.cache/src/<pkg>/ (git-ignored): each audited package's sources, unpacked
#   from the same wheel; the scorer audits these (`score.py` needs them).
set -euo pipefail
cd "$(dirname "$0")/../.."

# The audited packages (their files are the truth's and the audit's subject) ...
AUDITED=(transformers==5.17.0 timm==1.0.31 torchmetrics==1.9.0 diffusers==0.42.1)
# ... and what they need that the GPU machine lacks (COCO evaluation for torchmetrics' mAP).
EXTRA=(pycocotools==2.0.11)

PY=${PYTHON:-python3}
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
mkdir -p .whl benches/truth/.cache/src
# (the .cache folder is ignored by benches/truth/.gitignore)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${AUDITED[@]}" "${EXTRA[@]}"

for spec in "${AUDITED[@]}"; do
  name=${spec%%==*} version=${spec##*==}
  wheel=$(ls .whl/"$name"-"$version"-*.whl 2>/dev/null | head -1)
  [ -n "$wheel" ] || { echo "fetch.sh: no wheel for $spec in .whl/" >&2; exit 1; }
  dest=benches/truth/.cache/src/$name
  if [ ! -f "$dest/.version" ] || [ "$(cat "$dest/.version")" != "$version" ]; then
    rm -rf "$dest" && mkdir -p "$dest"
    "$PY" -m zipfile -e "$wheel" "$dest"
    rm -rf "$dest"/*.dist-info
    echo "$version" >"$dest/.version"
  fi
  echo "$name $version: $(find "$dest/$name" -name '*.py' | wc -l) Python files in $dest/$name"
done
du -sh .whl
