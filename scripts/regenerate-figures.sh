#!/usr/bin/env bash
# Run every experiment and draw every figure: the project's main job.
#
# Builds `pools` and `report` in release mode, runs both experiments (Fibonacci and
# HTTP waits) on the process, thread and GIL pools, and draws the charts and the
# Perfetto trace from the CSVs. See scripts/README.md for every file it reads and
# writes. Once built, a run takes about as long as the experiments (~7 s).
set -euo pipefail

# Work from the repository root, wherever the script is called from, so that the
# relative paths below (target/, results/, docs/img/) always mean the same thing.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/regenerate-figures.sh [--docs] [--svg]

Runs every experiment and draws every figure into results/.

Options:
  --docs      also copy the PNG figures into docs/img/, where the tutorial embeds them
  --svg       also draw an SVG of every chart (next to the PNGs in results/)
  -h, --help  print this help and exit

Writes results/: the CSVs from `pools`, the PNG (and SVG) charts and trace.json
from `report`. Open trace.json in https://ui.perfetto.dev
USAGE
}

docs=false
formats=png
while [[ $# -gt 0 ]]; do
  case "$1" in
    --docs) docs=true ;;
    --svg) formats=png,svg ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "error: unknown option '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

out=results

echo "== cargo build --release -p pools -p report"
cargo build --release -p pools -p report
# Where cargo put them: target/ unless the user moved it with CARGO_TARGET_DIR.
bin="${CARGO_TARGET_DIR:-target}/release"

echo "== pools: every experiment into $out/"
"$bin/pools" --experiment all --out "$out"

echo "== report: every chart into $out/"
# Keep report's output to find the PNGs it wrote (one `wrote PATH` line each):
# exactly those are copied for --docs, never a stale file from an older run.
drawn=$("$bin/report" --in "$out" --out "$out" --format "$formats")
echo "$drawn"

if $docs; then
  echo "== docs/img: the figures the tutorial embeds"
  mkdir -p docs/img
  sed -n 's/^wrote \(.*\.png\)$/\1/p' <<<"$drawn" | while read -r png; do
    # Copy to a temporary name, then rename, so docs/img never holds half a file.
    name=$(basename "$png")
    cp "$png" "docs/img/.$name.tmp"
    mv "docs/img/.$name.tmp" "docs/img/$name"
    echo "copied docs/img/$name"
  done
fi

echo
echo "Figures and data are in $out/ (charts: $out/*.png, trace: $out/trace.json)."
if $docs; then
  echo "The tutorial's copies are in docs/img/."
fi
