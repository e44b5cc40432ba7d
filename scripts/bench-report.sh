#!/usr/bin/env bash
# How long `report` takes to draw a million tasks, and how much memory it needs.
#
# The claim: 1,000,000 tasks (an 82 MB CSV from 2 workers) are drawn, and written
# to a complete trace.json, in under 5 s with a peak RSS under 1 GB on a 2-core
# machine. Before the fix, 100,000 tasks took 9 s and a million did not finish in
# 300 s (3.9 GB).
#
# Runs `pools --experiment fib --pools thread --fib-inputs 5..9 --repeat 250000
# --workers 2 --out results/bench-report` once, then `report --in
# results/bench-report --out results/bench-report` K times under /usr/bin/time, and
# prints each run and the medians. See scripts/README.md.
set -euo pipefail

# Work from the repository root, so that target/ and results/ resolve.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/bench-report.sh [--repeat K] [--runs FILE]

Times `report` on a million tasks written by `pools`, K times, and prints the median
wall time and peak RSS against the targets (< 5 s, < 1024 MB).

Options:
  --repeat K   runs of report, of which the median is kept (default 5)
  --runs FILE  also write each run to FILE as "seconds kilobytes", one per line
  -h, --help   print this help and exit

Writes results/bench-report/ (the CSVs, the figures and trace.json of the last run).
USAGE
}

repeat=5
runs_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat)
      repeat=${2:?--repeat needs a number}
      shift
      ;;
    --runs)
      runs_file=${2:?--runs needs a file}
      shift
      ;;
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
if ! [[ $repeat =~ ^[1-9][0-9]*$ ]]; then
  echo "error: --repeat must be a positive whole number, not '$repeat'" >&2
  exit 2
fi
# GNU time reports the peak RSS; bash's `time` keyword cannot.
if ! [[ -x /usr/bin/time ]]; then
  echo "error: /usr/bin/time (GNU time) is needed for the peak RSS; install the 'time' package" >&2
  exit 1
fi

cargo build -q --release -p pools -p report
bin="${CARGO_TARGET_DIR:-target}/release"
dir=results/bench-report
mkdir -p "$dir"

echo "== pools: 1,000,000 Fibonacci tasks (5..8, 250,000 times each) on 2 threads"
"$bin/pools" --experiment fib --pools thread --fib-inputs 5..9 --repeat 250000 \
  --workers 2 --out "$dir"

echo "== report, $repeat runs: seconds, peak RSS in KB"
runs=$(for _ in $(seq "$repeat"); do
  /usr/bin/time -f "%e %M" "$bin/report" --in "$dir" --out "$dir" 2>&1 >/dev/null | tail -1
done)
echo "$runs"
[[ -z $runs_file ]] || echo "$runs" >"$runs_file"

# The median of the numbers in column $1 of the runs.
median() {
  awk -v c="$1" '{ print $c }' <<<"$runs" | sort -g |
    awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}
# The largest number in column $1 of the runs.
largest() {
  awk -v c="$1" 'NR == 1 || $c > m { m = $c } END { print m }' <<<"$runs"
}
seconds=$(median 1)
megabytes=$(awk -v kb="$(median 2)" 'BEGIN { printf "%.0f", kb / 1024 }')
worst_seconds=$(largest 1)
worst_megabytes=$(awk -v kb="$(largest 2)" 'BEGIN { printf "%.0f", kb / 1024 }')
# A target is met only if every run meets it: the worst run is judged, not the median.
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { print (x < t) ? "met" : "MISSED" }'; }
echo "median: $seconds s, peak RSS $megabytes MB; worst run: $worst_seconds s (target < 5 s: $(verdict "$worst_seconds" 5)), $worst_megabytes MB (target < 1024 MB: $(verdict "$worst_megabytes" 1024))"
