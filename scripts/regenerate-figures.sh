#!/usr/bin/env bash
# Run every experiment and draw every figure: the project's main job.
#
# Builds `pools` and `report` in release mode, runs both experiments (Fibonacci and
# HTTP waits) on the process, thread and GIL pools, runs two small Fibonacci tasks
# on one CPU and then on two (`pools --cpus N`, for the concurrency-vs-parallelism
# figure), and draws the charts and the Perfetto trace from the CSVs. Then chapter 7's
# three demos (`isolation-demo race` at its default size, `queue` and `barrier` smaller, ~2.5 s) into
# results/talk/, and their figures. See scripts/README.md for every file it reads and
# writes. Once built, a run takes about as long as the experiments (~8 s) plus the demos.
#
# With --cpython it then runs the same experiment on CPython itself
# (scripts/cpython_experiment.py, ~15 s more) and draws it into a folder of its own,
# with one more figure: CPython beside Rust, each run as a share of its own serial
# time (from a short Rust Fibonacci run with a serial pass, `pools --serial`).
# Without it, nothing here needs Python.
set -euo pipefail

# Work from the repository root, wherever the script is called from, so that the
# relative paths below (target/, results/, docs/src/img/) always mean the same thing.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/regenerate-figures.sh [--docs] [--svg] [--cpython]

Runs every experiment and draws every figure into results/.

Options:
  --docs      also copy the PNG figures into docs/src/img/, where the tutorial embeds them
              (chapter 7's race.png, queue-timeline.png and barrier-lanes.png among
              them; with --cpython, cpython-vs-rust.png too), and rewrite the generated
              regions of chapters 3 and 4 (sample output, tables) from the same run
              (scripts/docs-regions.sh)
  --svg       also draw an SVG of every chart (next to the PNGs in results/)
  --cpython   then run the same experiment on CPython (needs python3; ~15 s more):
              its CSVs into results/cpython/, its figures into results/cpython-figures/,
              with cpython-vs-rust.png, drawn beside a Rust Fibonacci run with a
              serial pass (pools --serial) in results/rust-serial/
  -h, --help  print this help and exit

Writes results/: the CSVs from `pools` (the --cpus 1 and --cpus 2 runs in
results/cpus-1/ and results/cpus-2/), the PNG (and SVG) charts and trace.json
from `report`; chapter 7's demos' CSVs and figures in results/talk/.
Open trace.json in https://ui.perfetto.dev
USAGE
}

docs=false
cpython=false
formats=png
while [[ $# -gt 0 ]]; do
  case "$1" in
    --docs) docs=true ;;
    --svg) formats=png,svg ;;
    --cpython) cpython=true ;;
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
# Chapter 7's demos write here: the folder isolation-demo uses when not told.
talk=$out/talk
# Two Fibonacci tasks of about 0.05 s each: long enough to take a dozen turns each on
# one core (the kernel switches every few milliseconds), short enough to keep the job fast.
cores_inputs=36,36
cpython_out=results/cpython
cpython_figures=results/cpython-figures
rust_serial=results/rust-serial
# Rust's side of the comparison: 8 Fibonacci inputs on 8 workers, like CPython's,
# sized so that the serial pass and each Rust pool run for about a second on 2 cores
# (the article's inputs, pools' default). CPython's inputs are the script's own
# default, 29..37, which its slower calls make take a few seconds.
rust_fib=34..42

# Checked before anything is built or run: asked for, CPython must be there.
if $cpython && ! command -v python3 >/dev/null 2>&1; then
  echo "error: --cpython runs scripts/cpython_experiment.py, but there is no python3 on the PATH" >&2
  exit 1
fi

echo "== cargo build --release -p pools -p report -p isolation-demo"
cargo build --release -p pools -p report -p isolation-demo
# Where cargo put them: target/ unless the user moved it with CARGO_TARGET_DIR.
bin="${CARGO_TARGET_DIR:-target}/release"

echo "== pools: every experiment into $out/"
# Kept, for --docs: chapter 3 shows this output, beside the figures of this same run.
pools_output=$(mktemp)
trap 'rm -f "$pools_output"' EXIT
"$bin/pools" --experiment all --out "$out" 2>&1 | tee "$pools_output"

echo "== pools --cpus 1, then --cpus 2: the same two tasks on one core, then on two"
for cpus in 1 2; do
  "$bin/pools" --experiment fib --pools process --fib-inputs "$cores_inputs" \
    --cpus "$cpus" --out "$out/cpus-$cpus"
done

echo "== report: every chart into $out/"
# Keep report's output to find the PNGs it wrote (one `wrote PATH` line each):
# exactly those are copied for --docs, never a stale file from an older run.
drawn=$("$bin/report" --in "$out" --out "$out" --format "$formats")
echo "$drawn"

# Copies one PNG into docs/src/img/: to a temporary name first, then renamed, so that
# docs/src/img never holds half a file.
copy_to_docs() {
  local name
  name=$(basename "$1")
  mkdir -p docs/src/img
  cp "$1" "docs/src/img/.$name.tmp"
  mv "docs/src/img/.$name.tmp" "docs/src/img/$name"
  echo "copied docs/src/img/$name"
}

echo "== isolation-demo: chapter 7's race, queue and barrier into $talk/ (~2.5 s)"
# The race's default size (about a second each), the queue and the barrier smaller
# than their defaults: enough for readable figures.
"$bin/isolation-demo" race --out "$talk"
"$bin/isolation-demo" race --threads --out "$talk"
"$bin/isolation-demo" queue --items 40 --out "$talk"
"$bin/isolation-demo" barrier --rounds 8 --out "$talk"
echo "== report: chapter 7's figures into $talk/"
drawn_talk=$("$bin/report" --in "$talk" --out "$talk" --format "$formats")
echo "$drawn_talk"

if $docs; then
  echo "== docs/src/img: the figures the tutorial embeds"
  sed -n 's/^wrote \(.*\.png\)\( .*\)\{0,1\}$/\1/p' <<<"$drawn"$'\n'"$drawn_talk" | while read -r png; do
    copy_to_docs "$png"
  done
  cp "$out/report.html" docs/src/.report.html.tmp && mv docs/src/.report.html.tmp docs/src/report.html && echo "copied docs/src/report.html"
  echo "== docs/src: chapters 3 and 4's sample output and tables, from the same run"
  scripts/docs-regions.sh "$out" "$pools_output" docs/src
fi

if $cpython; then
  # The script starts our delay server from the built http-wait binary, which the
  # main job's build does not make (pools embeds the server as a library).
  echo "== cargo build --release -p http-wait"
  cargo build --release -p http-wait
  echo "== cpython: the same experiment on concurrent.futures into $cpython_out/"
  python3 scripts/cpython_experiment.py --out "$cpython_out" --http-wait "$bin/http-wait"
  echo "== report: CPython's charts into $cpython_figures/"
  "$bin/report" --in "$cpython_out" --out "$cpython_figures" --format "$formats"
  echo "== pools --serial: Rust's Fibonacci run with a serial pass into $rust_serial/"
  "$bin/pools" --experiment fib --pools process,gil --serial --fib-inputs "$rust_fib" \
    --workers 8 --out "$rust_serial"
  echo "== pools --pools async: Rust's async GETs, beside CPython's asyncio run, into $rust_serial/"
  "$bin/pools" --experiment get --pools async --out "$rust_serial"
  echo "== report --beside: CPython beside Rust into $cpython_figures/"
  "$bin/report" --in "$rust_serial" --beside "$cpython_out" --out "$cpython_figures" \
    --format "$formats"
  if $docs; then
    # Chapter 2 shows this one; CPython's own Gantt charts stay in results/.
    copy_to_docs "$cpython_figures/cpython-vs-rust.png"
    # Section 3.1 shows this one.
    copy_to_docs "$cpython_figures/cpython-vs-rust-async.png"
  fi
fi

echo
echo "Figures and data are in $out/ (charts: $out/*.png, to hover over: $out/report.html, trace: $out/trace.json)."
if $docs; then
  echo "The tutorial's copies are in docs/src/img/."
fi
if $cpython; then
  echo "CPython's data is in $cpython_out/, its figures in $cpython_figures/"
  echo "(with CPython beside Rust: $cpython_figures/cpython-vs-rust.png)."
fi
