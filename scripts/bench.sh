#!/usr/bin/env bash
# Benchmark the pools and the delay server against their peers (Python's
# concurrent.futures and http.server, and rayon), on this machine, in one go.
#
# Runs, in order: the pools benchmarks (`cargo bench -p pools --bench pools`, which
# also runs rayon), the delay-server benchmark (`cargo bench -p http-wait --bench
# concurrent`), the Python peers (scripts/bench_peers.py, skipped with a note when
# python3 is missing), Python's ThreadingHTTPServer driven by the same client
# (`cargo bench -p http-wait --bench concurrent -- --addr ADDR`), the end-to-end
# figure script, and report on a million tasks (scripts/bench-report.sh), and the
# cost of the GIL on both sides: the Rust GIL pool against CPython's threads, each
# against the serial time of the same inputs (`pools` and `scripts/bench_peers.py
# gil`, in turns). Then it joins every figure with its peer's and prints one table.
# See docs/src/benchmarks.md.
#
# Writes results/bench.csv (the table) and results/bench-raw/*.csv (every figure with
# its individual runs); with --docs, also docs/src/benchmarks.md (the table, the machine,
# the load it ran under and how to reproduce it). A run that fails, or a burst that
# is capped or not all answered 200, aborts the script, except against Python's
# server, where each one is counted and the page says how many.
set -euo pipefail
# A failure inside $(...) fails the substitution, not only a failure in its last command.
shopt -s inherit_errexit

# Work from the repository root, so that target/, results/ and scripts/ resolve.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/bench.sh [--repeat K] [--quiet-wait S] [--quick] [--no-e2e] [--docs]
       scripts/bench.sh --gil-only [--repeat K] [--quiet-wait S]
       scripts/bench.sh --chunk-only [--repeat K] [--quiet-wait S]

Runs every benchmark of the pools and the delay server next to its peer (Python's
concurrent.futures and ThreadingHTTPServer, rayon) and prints one table with the
ratio of ours to each peer (above 1: ours is better).

Options:
  --repeat K  runs per figure, of which the median is kept (default 3); start-up
              figures take at least 20 runs and CPU-bound ones at least 7
  --quiet-wait S  longest wait, in seconds, for other programs to leave the CPU
              alone before a pools section or CPU-bound run (default 30)
  --quick     one run per figure, no 10,000-request burst against Python, no e2e
  --no-e2e    skip timing scripts/regenerate-figures.sh
  --docs      also write docs/src/benchmarks.md: the table, the machine, how to reproduce
  --gil-only  only the GIL-cost section (Rust's GIL pool and CPython's threads, each
              against its serial time; at least 5 rounds), then its summary
  --chunk-only  only the chunksize section (fibonacci(10) x 200,000 on 1 and 2
              workers at chunksizes 1 to 10,000 and auto, ours and Python's; at
              least 5 runs), then its summary
  -h, --help  print this help and exit

Writes results/bench.csv (benchmark,subject,value,unit,runs,peer,peer_value,
peer_runs,ratio,target,met) and results/bench-raw/ (every figure, with each run).
USAGE
}

repeat=3
quiet_wait=30
quick=false
e2e=true
docs=false
gil_only=false
chunk_only=false
args="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat)
      repeat=${2:?--repeat needs a number}
      shift
      ;;
    --quiet-wait)
      quiet_wait=${2:?--quiet-wait needs a number of seconds}
      shift
      ;;
    --quick)
      quick=true
      repeat=1
      e2e=false
      ;;
    --no-e2e) e2e=false ;;
    --docs) docs=true ;;
    --gil-only) gil_only=true ;;
    --chunk-only) chunk_only=true ;;
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
if { $gil_only || $chunk_only; } && $docs; then
  echo "error: --docs needs the whole run, not --gil-only or --chunk-only" >&2
  exit 2
fi
if $gil_only && $chunk_only; then
  echo "error: choose one of --gil-only and --chunk-only" >&2
  exit 2
fi

raw=results/bench-raw
mkdir -p "$raw"
# --gil-only and --chunk-only leave the other sections' last figures alone.
$gil_only || $chunk_only || rm -f "$raw"/*.csv "$raw"/*.runs
header=benchmark,subject,value,unit,min,max,runs,target,met,note
notes=()
started_at=$(date +%s)

die() {
  echo "error: $*" >&2
  exit 1
}

# The load each section ran under: only the pools benchmark waits for a quiet
# machine, so the page shows the load average before and after every section.
# One "| section | start | seconds | load before | load after |" line per section.
load_rows=""
section_name=""
section_start=0
section_load=""
load1() { cut -d' ' -f1 /proc/loadavg; }
begin_section() {
  section_name=$1 section_start=$(date +%s) section_load=$(load1)
  echo "== $section_name (1-minute load average $section_load)"
}
end_section() {
  load_rows+="| ${section_name} | $(date -u -d "@$section_start" +%H:%M:%S) | $(($(date +%s) - section_start)) | ${section_load} | $(load1) |"$'\n'
}

# Servers started below are stopped however the script ends.
servers=()
cleanup() {
  for pid in "${servers[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Prints the median of the numbers on stdin, one per line.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = int((NR + 1) / 2);
    print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'
}

# Appends one row to a raw CSV from the runs on stdin (one number per line).
# Usage: add_row FILE BENCHMARK SUBJECT UNIT TARGET NOTE
add_row() {
  local file=$1 benchmark=$2 subject=$3 unit=$4 target=$5 note=$6 runs
  runs=$(cat)
  [[ -n $runs ]] || return 0
  [[ -f $file ]] || echo "$header" >"$file"
  awk -v b="$benchmark" -v s="$subject" -v u="$unit" -v t="$target" -v n="$note" \
    -v med="$(median <<<"$runs")" '
    { v[NR] = $1; if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1
      runs = runs (NR > 1 ? ";" : "") $1 }
    END {
      # A target is met only if every run meets it: the worst run is judged (the
      # highest for "<" and "<=", the lowest for ">="), not the median.
      met = ""
      if (t != "") {
        split(t, p, " ")
        if (p[1] == "<") met = (hi < p[2]) ? "yes" : "no"
        if (p[1] == "<=") met = (hi <= p[2]) ? "yes" : "no"
        if (p[1] == ">=") met = (lo >= p[2]) ? "yes" : "no"
      }
      printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,\"%s\"\n", b, s, med, u, lo, hi, runs, t, met, n
    }' <<<"$runs" >>"$file"
}

# Waits for a server started in the background to print "listening on http://ADDR"
# into FILE, and prints ADDR.
listening_addr() {
  local file=$1
  for _ in $(seq 100); do
    if grep -q 'listening on http://' "$file" 2>/dev/null; then
      sed -n 's|.*listening on http://\([^ /]*\).*|\1|p' "$file" | head -1
      return 0
    fi
    sleep 0.1
  done
  echo "error: the server did not start; its output:" >&2
  cat "$file" >&2
  return 1
}

# ---------------------------------------------------------------------------------
# The cost of the GIL, on both sides. Each round times, back to back, the same
# Fibonacci inputs one after another on one thread (the serial time), on the GIL pool
# and on the process pool (8 workers each, timed by `pools` from creating the pool to
# having stopped it), then the same three on CPython (`scripts/bench_peers.py gil`:
# a plain loop, ThreadPoolExecutor, ProcessPoolExecutor). Each side's inputs are sized
# to take about a second serially. A pool's figure is its makespan over the serial
# time of its own round, so a slow spell of the machine moves both sides of a ratio.
# The targets: the GIL pool within 1.10x of serial, and Rust's process-vs-GIL
# speed-up (1 - process makespan / GIL makespan, median over the rounds) within 6
# points of CPython's process-vs-threads speed-up (the same, on CPython's side).
gil_rust_inputs=34..42
gil_python_inputs=26..34
gil_rounds=$((repeat > 5 ? repeat : 5))

# The share of the CPU, in percent, that was busy over half a second (all cores).
cpu_busy() {
  local before after
  before=$(head -1 /proc/stat)
  sleep 0.5
  after=$(head -1 /proc/stat)
  awk -v a="$before" -v b="$after" 'BEGIN {
    split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= 9; i++) total += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.0f\n", (total > 0) ? 100 * (total - idle) / total : 0 }'
}

# Waits (up to --quiet-wait seconds) until the CPU is at most 10 % busy, and prints
# the last share seen.
wait_quiet() {
  local deadline=$(($(date +%s) + quiet_wait)) busy
  busy=$(cpu_busy)
  while ((busy > 10 && $(date +%s) < deadline)); do
    busy=$(cpu_busy)
  done
  echo "$busy"
}

# Prints the makespan column of the one row of an experiments.csv.
makespan_of() {
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "makespan") c = i; next }
    c && NR == 2 { print $c; found = 1 } END { if (!found) exit 1 }' "$1"
}

gil_section() {
  local pools_bin="${CARGO_TARGET_DIR:-target}/release/pools" dir="$raw/gil" r pool
  local python=false busy s g p
  command -v python3 >/dev/null && python=true
  rm -rf "$dir" "$raw"/gil*.runs "$raw/gil.csv"
  mkdir -p "$dir"
  begin_section "GIL cost: the GIL pool and CPython's threads against their serial time ($gil_rounds rounds)"
  for r in $(seq "$gil_rounds"); do
    busy=$(wait_quiet)
    echo "$busy" >>"$raw/gil-busy.runs"
    for pool in "thread 1" "gil 8" "process 8"; do
      # The serial time is the thread pool with one worker: the call every worker
      # makes, one input after another, on one thread.
      read -r name workers <<<"$pool"
      "$pools_bin" --experiment fib --pools "$name" --workers "$workers" \
        --fib-inputs "$gil_rust_inputs" --out "$dir/$r-$name" >>"$dir/pools.log" 2>&1 ||
        die "pools --pools $name failed in round $r; see $dir/pools.log"
    done
    s=$(makespan_of "$dir/$r-thread/experiments.csv") || die "no makespan in $dir/$r-thread"
    g=$(makespan_of "$dir/$r-gil/experiments.csv") || die "no makespan in $dir/$r-gil"
    p=$(makespan_of "$dir/$r-process/experiments.csv") || die "no makespan in $dir/$r-process"
    echo "$s $g $p" >>"$raw/gil-rust.runs"
    if $python; then
      python3 scripts/bench_peers.py gil --repeat 1 --workers 8 \
        --fib-inputs "$gil_python_inputs" --csv "$dir/$r-python.csv" 2>/dev/null ||
        die "scripts/bench_peers.py gil failed in round $r"
      # serial, thread/serial, process/serial, speed-up: the value column of each row.
      awk -F, 'NR > 1 { v[$2] = $3 } END { print v["python-serial"], v["python-thread-vs-serial"],
        v["python-process-vs-serial"], v["python-speedup"] }' "$dir/$r-python.csv" >>"$raw/gil-python.runs"
    fi
  done
  local what="fibonacci over $gil_rust_inputs on 8 workers; each round's makespan (pool start to stop) over its serial time"
  local load
  load="the CPU was $(sort -g "$raw/gil-busy.runs" | head -1)-$(sort -g "$raw/gil-busy.runs" | tail -1) % busy just before the rounds"
  awk '{ print $1 }' "$raw/gil-rust.runs" |
    add_row "$raw/gil.csv" gil-cost serial s "" "fibonacci over $gil_rust_inputs one after another on one thread (the thread pool, 1 worker)"
  awk '{ printf "%.4f\n", $2 / $1 }' "$raw/gil-rust.runs" |
    add_row "$raw/gil.csv" gil-cost gil-vs-serial x "<= 1.10" "GilThreadPool: $what; $load"
  awk '{ printf "%.4f\n", $3 / $1 }' "$raw/gil-rust.runs" |
    add_row "$raw/gil.csv" gil-cost process-vs-serial x "" "ProcessPool (fork): $what; $load"
  awk '{ printf "%.2f\n", 100 * (1 - $3 / $2) }' "$raw/gil-rust.runs" |
    add_row "$raw/gil.csv" gil-cost speedup % "" "1 - process makespan / GIL makespan, per round"
  if $python; then
    awk '{ print $1 }' "$raw/gil-python.runs" |
      add_row "$raw/gil.csv" gil-cost python-serial s "" "fibonacci over $gil_python_inputs one after another on one thread"
    awk '{ print $2 }' "$raw/gil-python.runs" |
      add_row "$raw/gil.csv" gil-cost python-thread-vs-serial x "" "ThreadPoolExecutor, fibonacci over $gil_python_inputs on 8 workers, over its round's serial time"
    awk '{ print $3 }' "$raw/gil-python.runs" |
      add_row "$raw/gil.csv" gil-cost python-process-vs-serial x "" "ProcessPoolExecutor (fork), the same"
    awk '{ print $4 }' "$raw/gil-python.runs" |
      add_row "$raw/gil.csv" gil-cost python-speedup % "" "1 - process makespan / thread makespan, per round"
    # The gap between the two medians: one figure, from every round of both sides.
    awk -F, '$2 == "speedup" { r = $3 } $2 == "python-speedup" { p = $3 }
      END { d = r - p; printf "%.2f\n", (d < 0) ? -d : d }' "$raw/gil.csv" |
      add_row "$raw/gil.csv" gil-cost speedup-gap points "<= 6" \
        "|Rust's median speed-up - CPython's median speed-up|, over the same rounds"
  else
    notes+=("python3 is missing: CPython's side of the GIL cost, and the speed-up gap, were not measured.")
  fi
  end_section
  gil_summary
}

# The GIL-cost figures side by side, with each target met or missed.
gil_summary() {
  [[ -f $raw/gil.csv ]] || return 0
  echo
  echo "== The cost of the GIL (medians of $gil_rounds rounds; $raw/gil.csv)"
  awk -F, -v ri="$gil_rust_inputs" -v pi="$gil_python_inputs" '
    NR > 1 { v[$2] = $3; t[$2] = $8; m[$2] = $9 }
    function show(x, unit) { return (x == "") ? "not measured" : sprintf(unit == "%" ? "%.1f %%" : "%.3f" unit, x) }
    function target(k) { return (t[k] == "") ? "" : sprintf("target %s: %s", t[k], m[k] == "yes" ? "met" : "MISSED") }
    END {
      printf "%-34s %-16s %-16s %s\n", "", "Rust (" ri ")", "CPython (" pi ")", ""
      printf "%-34s %-16s %-16s\n", "serial time", show(v["serial"], " s"), show(v["python-serial"], " s")
      printf "%-34s %-16s %-16s %s\n", "GIL pool / threads over serial", show(v["gil-vs-serial"], "x"),
        show(v["python-thread-vs-serial"], "x"), target("gil-vs-serial")
      printf "%-34s %-16s %-16s\n", "processes over serial", show(v["process-vs-serial"], "x"),
        show(v["python-process-vs-serial"], "x")
      printf "%-34s %-16s %-16s %s\n", "process-vs-GIL speed-up", show(v["speedup"], "%"),
        show(v["python-speedup"], "%"), ("speedup-gap" in v) ? sprintf("gap %.1f points, ", v["speedup-gap"]) target("speedup-gap") : "gap: not measured (no python3)"
      # On 2 idle cores the process pools take about 0.6 of the serial time.
      if (v["process-vs-serial"] > 0.8 || v["python-process-vs-serial"] > 0.8)
        print "warning: the process pools barely beat serial: other programs held the second core, so the speed-ups (and their gap) say little about the GIL"
    }' "$raw/gil.csv"
}

# ---------------------------------------------------------------------------------
# Chunksize: fibonacci(10) x 200,000 on the thread pool and the process pool (fork),
# with 1 and with 2 workers, at chunksizes 1 to 10,000 and auto (`cargo bench -p
# pools --bench pools -- --only chunk`), then Python's fork ProcessPoolExecutor at the
# same chunksizes (`scripts/bench_peers.py chunk`). Each run times the 1-worker pool
# and then the 2-worker one at the same chunksize. Targets, each judged on the worst
# run: 2 thread workers >= 0.9 x 2 x the 1-worker rate at the best fixed chunksize,
# 2 process workers >= 0.7 x, and auto within 10 % of the best fixed chunksize
# (auto's rate over the best's >= 0.9). Every run goes to $raw/chunk-runs.csv, which
# `report --chunks` draws.
chunk_rounds=$((repeat > 5 ? repeat : 5))

chunk_section() {
  rm -f "$raw/chunk.csv" "$raw/chunk-python.csv" "$raw/chunk-runs.csv"
  begin_section "chunksize: fibonacci(10) x 200,000 on 1 and 2 workers ($chunk_rounds runs)"
  # Absolute: cargo runs a benchmark in its package's directory.
  cargo bench -q -p pools --bench pools -- --only chunk --repeat "$chunk_rounds" \
    --quiet-wait "$quiet_wait" --csv "$PWD/$raw/chunk.csv" --chunk-runs "$PWD/$raw/chunk-runs.csv"
  if command -v python3 >/dev/null; then
    python3 scripts/bench_peers.py chunk --repeat "$chunk_rounds" --tasks 200000 \
      --runs "$raw/chunk-runs.csv" --csv "$raw/chunk-python.csv" ||
      notes+=("scripts/bench_peers.py chunk failed: Python's chunksize figures are missing.")
  else
    notes+=("python3 is missing: Python's chunksize figures were not measured.")
  fi
  end_section
  # The figure: throughput against chunksize, from every run.
  cargo run -q --release -p report -- --chunks "$raw/chunk-runs.csv" --out "$raw" ||
    die "report --chunks $raw/chunk-runs.csv failed"
  if $docs; then
    cp "$raw/throughput-vs-chunksize.png" docs/src/img/
  fi
  chunk_summary
}

# The chunksize figures: each pool's 2-worker rate per chunksize, and the targets.
chunk_summary() {
  [[ -f $raw/chunk.csv ]] || return 0
  echo
  echo "== Throughput against chunksize (medians of $chunk_rounds runs; $raw/chunk.csv, every run in $raw/chunk-runs.csv)"
  cat "$raw/chunk.csv" "$raw/chunk-python.csv" 2>/dev/null | awk -F, '
    $1 == "chunk" {
      t = ($8 == "") ? "" : sprintf("target %s: %s", $8, ($9 == "yes") ? "met" : "MISSED")
      printf "%-28s %12.3f %-8s %s\n", $2, $3, $4, t
    }'
}

echo "== building (release)"
cargo build -q --release -p pools
if $chunk_only; then
  chunk_section
  for note in "${notes[@]}"; do
    echo "note: $note"
  done
  missed=$(awk -F, 'NR > 1 && $9 == "no"' "$raw/chunk.csv" | wc -l)
  echo "$missed figure(s) missed their target. Raw runs: $raw/"
  exit 0
fi
if $gil_only; then
  gil_section
  for note in "${notes[@]}"; do
    echo "note: $note"
  done
  missed=$(awk -F, 'NR > 1 && $9 == "no"' "$raw/gil.csv" | wc -l)
  echo "$missed figure(s) missed their target. Raw runs: $raw/"
  exit 0
fi
cargo bench -q -p pools --bench pools --no-run
cargo bench -q -p http-wait --bench concurrent --no-run
cargo build -q --release -p http-wait

begin_section "1-4. pools: start-up, killed worker, CPU-bound, IO-bound, tiny tasks (and rayon)"
# Absolute: cargo runs a benchmark in its package's directory.
cargo bench -q -p pools --bench pools -- --repeat "$repeat" --quiet-wait "$quiet_wait" \
  --csv "$PWD/$raw/pools.csv"
end_section

# One burst of N concurrent 1 s requests per run, each run its own invocation, so
# that a failed run is seen as such. Prints one line per run: "ok SECONDS", "capped",
# "partial" (not every answer was 200) or "failed REASON" (the client gave up with an
# error, REASON being its "Error:" line).
# Usage: bursts N [--addr ADDR --cap-secs S]
bursts() {
  local n=$1 out line
  shift
  for _ in $(seq "$repeat"); do
    if ! out=$(cargo bench -q -p http-wait --bench concurrent -- "$@" "$n" 2>&1); then
      echo "$out" >&2
      echo "failed $(grep -m1 '^Error:' <<<"$out" || true)"
      continue
    fi
    echo "$out" >&2
    line=$(grep "^$n concurrent " <<<"$out" || true)
    case $line in
      *"(all 200"*) sed -n 's/^[0-9]* concurrent [0-9]* ms requests: \([0-9.]*\) s (all 200.*/ok \1/p' <<<"$line" ;;
      *"did not finish within"*) echo capped ;;
      *" were 200"*) echo partial ;;
      *) echo failed ;;
    esac
  done
}

# How many runs of a bursts list ended other than "ok", in words ("" when none).
# Usage: spoiled RUNS-FILE
spoiled() {
  awk '$1 != "ok" { c[$1]++ } END {
    sep = ""
    if (c["capped"]) { printf "%s%d capped", sep, c["capped"]; sep = ", " }
    if (c["partial"]) { printf "%s%d not all 200", sep, c["partial"]; sep = ", " }
    if (c["failed"]) { printf "%s%d failed", sep, c["failed"]; sep = ", " }
  }' "$1"
}

begin_section "5. the delay server: 1,000 and 10,000 concurrent 1 s requests"
for n in 1000 10000; do
  bursts "$n" >"$raw/server-$n.runs"
  bad=$(spoiled "$raw/server-$n.runs")
  [[ -z $bad ]] || die "the delay server, $n requests: $bad of $repeat runs (output above)"
  target=""
  [[ $n == 10000 ]] && target="< 2"
  awk '{ print $2 }' "$raw/server-$n.runs" |
    add_row "$raw/server.csv" server "delay-server-$n" s "$target" \
      "$n concurrent 1 s sleeps, one server thread; each run a fresh server"
done
end_section

if command -v python3 >/dev/null; then
  begin_section "1-4. Python's concurrent.futures on the same work ($(python3 --version 2>&1))"
  # The Python IO peer waits on our delay server, so both wait on the same thing.
  "${CARGO_TARGET_DIR:-target}/release/http-wait" serve --addr 127.0.0.1:0 >"$raw/http-wait.log" 2>&1 &
  servers+=($!)
  addr=$(listening_addr "$raw/http-wait.log")
  if ! python3 scripts/bench_peers.py all --repeat "$repeat" \
    --url-template "http://$addr/200?sleep={ms}" --csv "$raw/python.csv"; then
    notes+=("scripts/bench_peers.py failed: the concurrent.futures peers are missing.")
  fi
  end_section

  begin_section "5. Python's ThreadingHTTPServer, driven by the same client"
  python3 scripts/bench_peers.py serve --port 0 >"$raw/python-server.log" 2>&1 &
  servers+=($!)
  addr=$(listening_addr "$raw/python-server.log")
  counts=(1000 10000)
  $quick && counts=(1000)
  # A thread per connection: 10,000 of them take Python several seconds, so each
  # burst is capped at 60 s rather than trusted to finish. A run that is capped or
  # fails is counted, and the figure is the median of the runs that finished.
  for n in "${counts[@]}"; do
    bursts "$n" --addr "$addr" --cap-secs 60 >"$raw/python-server-$n.runs"
    bad=$(spoiled "$raw/python-server-$n.runs")
    finished=$(grep -c '^ok ' "$raw/python-server-$n.runs" || true)
    note="$n concurrent 1 s sleeps, a thread per connection; one server for every run"
    if [[ -n $bad ]]; then
      note+="; median of the $finished of $repeat runs that finished ($bad)"
      why=$(sed -n 's/^failed Error: *//p' "$raw/python-server-$n.runs" | head -1)
      notes+=("Python's ThreadingHTTPServer, $n requests: of $repeat runs, $bad${why:+ (the first failure: $why)}. A run is capped at 60 s. Its figure is the median of the $finished runs that answered all 200.")
    fi
    awk '$1 == "ok" { print $2 }' "$raw/python-server-$n.runs" |
      add_row "$raw/server.csv" server "python-threading-server-$n" s "" "$note"
  done
  $quick && notes+=("--quick: Python's ThreadingHTTPServer was not asked for 10,000 requests.")
  end_section
else
  notes+=("python3 is missing: the Python peers were skipped.")
fi

gil_section
chunk_section

if $e2e && [[ -x scripts/regenerate-figures.sh ]]; then
  begin_section "6. end to end: scripts/regenerate-figures.sh"
  # Built once first, so that the timed runs measure the work, not the compiler.
  scripts/regenerate-figures.sh >"$raw/regenerate-figures.log" 2>&1 ||
    die "scripts/regenerate-figures.sh failed; see $raw/regenerate-figures.log"
  for run in $(seq "$repeat"); do
    start=$(date +%s.%N)
    scripts/regenerate-figures.sh >"$raw/regenerate-figures.log" 2>&1 ||
      die "scripts/regenerate-figures.sh failed in timed run $run; see $raw/regenerate-figures.log"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
  done >"$raw/e2e.runs"
  add_row "$raw/e2e.csv" e2e regenerate-figures s "" \
    "every experiment and every chart into results/; after one untimed run" <"$raw/e2e.runs"
  end_section
elif $e2e; then
  notes+=("scripts/regenerate-figures.sh is missing: the end-to-end figure was skipped.")
else
  notes+=("The end-to-end figure was skipped (--no-e2e or --quick).")
fi

begin_section "7. report: a million tasks drawn (scripts/bench-report.sh)"
# A failed run of ours stops the script, as everywhere above: no figure is quietly
# taken over the runs that happened to work.
scripts/bench-report.sh --repeat "$repeat" --runs "$raw/report-runs.txt" ||
  die "scripts/bench-report.sh failed"
awk '{ print $1 }' "$raw/report-runs.txt" |
  add_row "$raw/report.csv" report report-1m-time s "< 5" \
    "report on 1,000,000 tasks from 2 workers: every chart and a complete trace.json"
awk '{ printf "%.0f\n", $2 / 1024 }' "$raw/report-runs.txt" |
  add_row "$raw/report.csv" report report-1m-rss MB "< 1024" \
    "peak RSS of the same runs"
end_section

# ---------------------------------------------------------------------------------
# The table: every figure of ours, once on its own (with its absolute target) and
# once per peer. ratio = how many times better ours is: ours/peer for a rate,
# peer/ours for a time. A target on the ratio is written "ratio >= X". runs is how
# many runs each median was taken over. io-map has no Python peer: Python's pools
# start their workers inside the first map, so only io-total is like for like.
#
# benchmark subject peer ratio-target ("-" for none)
pairs=$(
  cat <<'PAIRS'
tiny     thread              python-thread                  20
tiny     thread              rayon-scope                    1
tiny     thread              rayon-par-iter                 -
tiny     gil                 python-thread                  -
tiny     process-fork        python-process-fork            20
tiny     process-spawn       python-process-spawn           -
tiny     process-forkserver  python-process-forkserver      -
startup  process-fork        python-process-fork            -
startup  process-spawn       python-process-spawn           -
startup  process-forkserver  python-process-forkserver      -
kill     process-fork        python-process-fork            -
io-total thread              python-thread                  -
io-total process-fork        python-process-fork            -
server   delay-server-1000   python-threading-server-1000   -
server   delay-server-10000  python-threading-server-10000  -
gil-cost gil-vs-serial       python-thread-vs-serial        -
gil-cost process-vs-serial   python-process-vs-serial       -
chunk    process-fork-1      python-process-fork-1          -
chunk    process-fork-10     python-process-fork-10         -
chunk    process-fork-100    python-process-fork-100        -
chunk    process-fork-1000   python-process-fork-1000       -
chunk    process-fork-10000  python-process-fork-10000      -
PAIRS
)

# Our subjects; everything else in the raw files is a peer.
is_peer='^(python-|rayon-)'
# In the order the benchmarks ran; a file that is missing was skipped (see the notes).
for file in pools server gil chunk e2e report python chunk-python; do
  [[ -f $raw/$file.csv ]] && cat "$raw/$file.csv"
done | grep -v "^benchmark," | awk -F, -v pairs="$pairs" -v peers="$is_peer" '
  function better(unit, ours, theirs) {
    if (ours == 0 || theirs == 0) return ""
    return (unit == "tasks/s") ? ours / theirs : theirs / ours
  }
  function check(target, x,   p) {
    split(target, p, " ")
    if (p[1] == "<") return (x < p[2]) ? "yes" : "no"
    if (p[1] == "<=") return (x <= p[2]) ? "yes" : "no"
    if (p[1] == ">=") return (x >= p[2]) ? "yes" : "no"
    return ""
  }
  {
    key = $1 SUBSEP $2
    value[key] = $3; unit[key] = $4; target[key] = $8; met[key] = $9
    # Our worst run: the lowest rate, or the longest time.
    worst[key] = ($4 == "tasks/s") ? $5 : $6
    runs[key] = split($7, ignored, ";")
    if ($2 !~ peers) order[++n] = key
  }
  END {
    print "benchmark,subject,value,unit,runs,peer,peer_value,peer_runs,ratio,target,met"
    count = split(pairs, lines, "\n")
    for (i = 1; i <= n; i++) {
      key = order[i]; split(key, k, SUBSEP)
      printf "%s,%s,%s,%s,%s,,,,,%s,%s\n", k[1], k[2], value[key], unit[key], runs[key],
        target[key], met[key]
      for (j = 1; j <= count; j++) {
        split(lines[j], f, " ")
        if (f[1] != k[1] || f[2] != k[2]) continue
        peer = k[1] SUBSEP f[3]
        if (!(peer in value)) continue
        ratio = better(unit[key], value[key], value[peer])
        t = (f[4] == "-") ? "" : "ratio >= " f[4]
        # Judged like an absolute target: our worst run against the median of the peer.
        worst_ratio = better(unit[key], worst[key], value[peer])
        m = (t == "" || worst_ratio == "") ? "" : check(">= " f[4], worst_ratio)
        printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", k[1], k[2], value[key], unit[key],
          runs[key], f[3], value[peer], runs[peer],
          (ratio == "") ? "" : sprintf("%.2f", ratio), t, m
      }
    }
  }' >results/bench.csv

echo
echo "== results/bench.csv (ratio: how many times better ours is than the peer)"
awk -F, '
  function num(x) {
    if (x == "") return ""
    if (x + 0 >= 1000) return sprintf("%.0f", x)
    if (x + 0 >= 10) return sprintf("%.1f", x)
    return sprintf("%.3f", x)
  }
  NR == 1 { printf "%-10s %-20s %12s %-8s %4s %-30s %12s %4s %8s %-14s %s\n", "benchmark",
    "subject", "value", "unit", "runs", "peer", "peer value", "runs", "ratio", "target", "met"; next }
  { printf "%-10s %-20s %12s %-8s %4s %-30s %12s %4s %8s %-14s %s\n",
    $1, $2, num($3), $4, $5, $6, num($7), $8, ($9 == "" ? "" : $9 "x"), $10, $11 }
' results/bench.csv
gil_summary
for note in "${notes[@]}"; do
  echo "note: $note"
done
missed=$(awk -F, 'NR > 1 && $11 == "no"' results/bench.csv | wc -l)
echo "$missed figure(s) missed their target. Raw runs: $raw/"

$docs || exit 0

# ---------------------------------------------------------------------------------
# docs/src/benchmarks.md: the table above, how each figure was obtained, the machine and
# the load it ran under, and how to get it again. Every figure comes from this run.
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
python_version=$(python3 --version 2>&1 || echo "none")
num_awk='
  function num(x) {
    if (x == "") return ""
    if (x + 0 >= 1000) return sprintf("%.0f", x)
    if (x + 0 >= 10) return sprintf("%.1f", x)
    return sprintf("%.3f", x)
  }'
markdown_table=$(awk -F, "$num_awk"'
  NR == 1 { print "| benchmark | subject | value | unit | runs | peer | peer value | peer runs | ratio | target | met |"
            print "|---|---|--:|---|--:|---|--:|--:|--:|---|---|"; next }
  { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, num($3), $4, $5,
      $6, num($7), $8, ($9 == "" ? "" : $9 "x"), $10, ($11 == "no" ? "**no**" : $11) }
' results/bench.csv)
# Every figure of every raw file, with its runs and its note (the last column, which
# may be quoted and hold commas).
how_table=$(for file in pools server gil chunk e2e python chunk-python; do
  [[ -f $raw/$file.csv ]] && tail -n +2 "$raw/$file.csv"
done | awk -F, "$num_awk"'
  BEGIN { print "| benchmark | subject | runs | min | max | unit | how |"
          print "|---|---|--:|--:|--:|---|---|" }
  {
    line = $0
    for (i = 1; i <= 9; i++) line = substr(line, index(line, ",") + 1)
    if (line ~ /^".*"$/) line = substr(line, 2, length(line) - 2)
    gsub(/""/, "\"", line); gsub(/\|/, "\\|", line)
    printf "| %s | %s | %d | %s | %s | %s | %s |\n", $1, $2, split($7, r, ";"), num($5),
      num($6), $4, line
  }')
# Python's tiny-task figure is interpreter speed plus dispatch: under the GIL only one
# thread computes at a time, so python-thread pays at least python-serial's time per
# task. Splits the ratio to our thread pool into those two parts.
tiny_split=$(cat "$raw"/pools.csv "$raw"/python.csv 2>/dev/null | awk -F, '
  $1 == "tiny" { rate[$2] = $3 }
  END {
    o = rate["thread"]; p = rate["python-thread"]; s = rate["python-serial"]
    if (o == 0 || p == 0 || s == 0) { print "(The tiny-task figures of this run are missing: no split.)"; exit }
    to = 1e6 / o; tp = 1e6 / p; ts = 1e6 / s; d = tp - ts
    printf "In this run Python computed `fibonacci(10)` on one thread, with no executor, at "
    printf "%.0f tasks/s: %.2f µs per task (`python-serial`). `python-thread` took %.2f µs ", s, ts, tp
    printf "per task, so %.0f %% of its time per task is the interpreter computing the task ", 100 * ts / tp
    printf "(under the GIL one thread computes at a time, so no number of threads shrinks it) "
    printf "and %.2f µs is dispatch. Our thread pool took %.3f µs per task, work included. ", d, to
    printf "Of the %.0fx between them, %.0fx is interpreter speed (%.2f µs / %.3f µs) and ", tp / to, ts / to, ts, to
    printf "%.0fx is dispatch (%.2f µs / %.3f µs): the two parts add up to the ratio.\n", d / to, d, to
  }')
note_lines="Notes:"$'\n\n'
for note in "${notes[@]}"; do
  note_lines+="- ${note}"$'\n'
done
[[ ${#notes[@]} -gt 0 ]] || note_lines="Every benchmark ran; none was skipped, and no run failed or was capped."$'\n'
took=$(($(date +%s) - started_at))
nproc_count=$(nproc)

cat >docs/src/benchmarks.md <<DOC
# Benchmarks: the pools against Python and rayon

<!-- Written by scripts/bench.sh --docs. Edit the script, not this page. -->

Measured $(date -u -d "@$started_at" '+%Y-%m-%d %H:%M UTC') with \`scripts/bench.sh ${args}\`;
the whole run took ${took} s. Each figure is the median of the runs counted in its
\`runs\` column; [how each figure was obtained](#how-each-figure-was-obtained) gives
every row's runs, spread and method. Every run is in \`results/bench-raw/\`.

## The machine

| | |
|---|---|
| cores (\`nproc\`) | $(nproc) |
| CPU (\`lscpu\` model name) | ${model:-unknown} |
| kernel | $(uname -sr) |
| rustc | $(rustc --version) |
| python3 | ${python_version} |

A small shared virtual machine: other programs' threads can take a core away at any
moment, invisibly to \`top\`. So the pools benchmark watches \`/proc/stat\`: it waits
(up to ${quiet_wait} s) until others leave the CPU alone before each section and each
CPU-bound run, and runs a CPU-bound measurement, the serial baseline included, again
(up to 3 times, unless the wait before it gave up) when they took more than 5 % of
the CPU meanwhile. Each CPU row's
note below says how much they took and whether a disturbed run had to be kept; a
row whose section began before the machine was quiet says so too. The Python peers,
the servers and the end-to-end run have no such guard: the load each section ran
under is below.

### The load during this run

| section | began (UTC) | seconds | 1-minute load average before | after |
|---|---|--:|--:|--:|
${load_rows}
The load average counts runnable threads, ours included, averaged over about a
minute: on ${nproc_count} cores, a load above ${nproc_count} means threads were waiting for a core. Python's
\`ThreadingHTTPServer\` starts a thread per connection: whenever thousands of them are
runnable at once during its 10,000-request bursts, the load average counts every
one, and the sections after it inherit a high figure for a few minutes.

## The table

\`ratio\` is how many times better ours is than the peer: ours / peer for a
throughput (tasks/s), peer / ours for a time. A target on a ratio reads
\`ratio >= X\`; any other target is on the value itself. \`runs\` and \`peer runs\`
count the runs each median was taken over. \`met\` says whether the target held in
*every* run, not only for the median: a time target is judged on our slowest run, a
rate target on our lowest, and a ratio target on our worst run against the peer's
median. **io-total** is compared with Python's
and **io-map** is not: Python's pools start their workers inside the first \`map\`,
so only the timing that includes starting and stopping the pool is like for like.

${markdown_table}

${note_lines}
### How each figure was obtained

\`runs\` timed runs per figure, after one untimed warm-up where the note says so.
\`scripts/bench.sh --repeat ${repeat}\` asks for ${repeat} runs per figure; start-up
figures take at least 20, on both sides, and CPU-bound ones at least 7 rounds (each
round times the serial baseline and then every pool once). \`cpu-serial\` is the sum
of one round's serial times.

${how_table}

## What each row measures

- **tiny**: \`fibonacci(10)\` × 20,000 over 8 workers, on a pool that has already
  run once; tasks per second. Ours: the \`ThreadPool\`, \`GilThreadPool\` and
  \`ProcessPool\` under each start method. Peers: Python's \`ThreadPoolExecutor\` and
  \`ProcessPoolExecutor\` (\`chunksize=1\`, the default) under the same start method,
  and rayon on the same work, one \`scope\` + \`spawn\` per task (\`rayon-scope\`, the
  fair peer) or \`par_iter\` (\`rayon-par-iter\`, which splits the list into a few
  big chunks instead of dispatching tasks, shown as the floor of what the work
  costs). \`python-serial\` is the same 20,000 calls on one thread with no executor.
- **startup**: create a pool of 8 worker processes, map one trivial task per worker
  (each worker gets exactly one, so every one has really started), and drop the
  pool, which waits until every worker has exited and been reaped. Python: the same
  with \`shutdown(wait=True)\`, which joins every process.
- **kill**: 8 workers sleep inside a \`map\`; another thread sends SIGKILL to one.
  The figure is the time from the signal to \`map\` returning the broken-pool error
  (Python: to \`BrokenProcessPool\` being raised).
- **cpu-serial**: \`fibonacci(34..41)\` one after another on one thread. It is timed
  again before every round of runs, and each run is measured against the limits of
  its own round, so that a drift in the machine's speed moves both sides together.
- **cpu-cores**: one worker per core, inputs longest first. The value is the
  efficiency \`max(longest, sum/cores) / makespan\` over the serial times: 1.0 is the
  physical limit. Its "CPU time" (in the note) is the CPU the run used over the
  serial sum: above 1.0, the same work ran slower with both cores busy (a shared
  host, turbo clocks), which no pool can help. The GIL pool is shown against the sum
  of the serial times, its limit, since only one thread computes at a time. It has
  no target here: its target is in **gil-cost**, on the article's 8 workers.
- **cpu-shared**: the article's 8 workers on the machine's cores, against the
  makespan of ideal *processor sharing* simulated from the serial times (every
  running task gets an equal share of the cores). Above 1 means the scheduler did
  better than equal shares. \`std-threads\` (one plain thread per input, no pool)
  shows what the kernel's scheduler alone makes of the same work.
- **io-total**: the article's GET experiment, waits of 1,000 to 1,700 ms over 8
  workers against the project's delay server, timed from creating the pool to
  having stopped it, as the article's timing does: how much longer than the longest
  wait it took. **io-map** times the \`map\` alone, on a pool already started; it has
  a target but no Python peer, since Python's pools start their workers inside the
  first \`map\`.
- **server**: N concurrent requests that each sleep 1 s, against the delay server
  (one thread, \`cargo bench -p http-wait --bench concurrent\`) and against Python's
  \`http.server.ThreadingHTTPServer\` (a thread per connection, with the same listen
  backlog), driven by the same Tokio client (\`cargo bench -p http-wait --bench concurrent -- --addr ADDR\`).
  Each run is one invocation. A run of ours that fails, is capped or gets an answer
  other than 200 stops the script; against Python each such run is counted in the
  notes above, and capped at 60 s.
- **report**: \`report\` on 1,000,000 tasks (\`pools --experiment fib --pools thread
  --fib-inputs 5..9 --repeat 250000 --workers 2\`): its wall time and peak RSS
  (\`scripts/bench-report.sh\`), drawing every chart and writing all of trace.json.
- **gil-cost**: what the GIL costs, on both sides, in turns: each round times the
  Fibonacci inputs one after another on one thread (\`serial\`), then on the GIL pool
  and the process pool with 8 workers (\`pools --experiment fib\`, timed from creating
  the pool to having stopped it), then the same on CPython (\`scripts/bench_peers.py
  gil\`: a plain loop, \`ThreadPoolExecutor\`, \`ProcessPoolExecutor\`), each side's
  inputs sized to take about a second serially (${gil_rust_inputs} and ${gil_python_inputs}).
  A pool's figure is its makespan over the serial time of its own round; the
  speed-up is 1 - process makespan / GIL (or thread) makespan, and
  \`speedup-gap\` is how far Rust's median is from CPython's. Targets: the GIL
  pool within 1.10x of serial in every round, the gap within 6 points.
  \`scripts/bench.sh --gil-only\` runs this section alone.
- **chunk**: \`fibonacci(10)\` × 200,000 on the thread pool and the process pool
  (fork) with 2 workers, at chunksizes 1 to 10,000 and \`auto\`, in tasks per second;
  each run times the same pool with 1 worker and then with 2, at the same chunksize,
  and the note gives the 2-worker rate as a share of twice the 1-worker one. The
  1-worker rate includes the cost of recording every task, so the share is what the
  second worker adds. \`serial\` is the same tasks in a plain loop on one thread,
  each timed and recorded. Targets, on the worst run: \`thread-share\` ≥ 0.9 and
  \`process-fork-share\` ≥ 0.7 at the fixed chunksize with the highest median rate,
  and \`auto\` within 10 % of it (\`*-auto-vs-best\` ≥ 0.9). Before and after each
  run the bench measures how much of two whole cores the machine gives (the same
  recorded loop on two threads at once against one); a run with less than 0.95 on
  either side is run again, up to 20 times, and \`two-cores\` gives what the kept runs
  had: a virtual machine's two CPUs are not always two cores. The peer is Python's fork
  \`ProcessPoolExecutor.map(chunksize=…)\`, at chunksizes under 10 on 20,000 tasks
  (\`scripts/bench_peers.py chunk\`). \`scripts/bench.sh --chunk-only\` runs this
  section alone; the figure below is drawn from its runs.
- **e2e**: the wall time of \`scripts/regenerate-figures.sh\` once built: every
  experiment and every chart.

## Throughput against chunksize

![Throughput against chunksize](img/throughput-vs-chunksize.png)

Drawn by \`report --chunks results/bench-raw/chunk-runs.csv\` from this run's
**chunk** section: the median 2-worker rate at each chunksize; the dashed line is
twice the \`serial\` rate, the limit for a pool that records every task on 2 cores.
[Chapter 3](03-pool-experiment.md#chunksize-what-one-task-boundary-costs) explains
what one crossing of the process boundary costs.

## Where the differences come from

- ${tiny_split}
- A process-pool worker that finishes tasks in under 0.5 ms is sent up to 16 inputs
  at a time and answers them in one write, and inputs are a few bytes of postcard
  rather than a pickle, so a tiny task costs a fraction of a pipe round trip.
  Python sends one pickled call per task through a feeder thread and a queue.
- The thread pool hands out inputs with one atomic counter; rayon's \`spawn\`
  allocates a job per task and pushes it on a work-stealing deque. The table says
  which of the two was faster in this run.
- Python starts every worker as a fresh interpreter (\`spawn\`) or forks one and
  imports the main module (\`forkserver\`); ours fork a small process or \`exec\` a
  compiled program, and the forkserver is asked for all workers at once.
- Dropping a pool waits for every worker's result pipe to hang up, which happens
  the moment the worker exits, instead of polling each pid in turn.

## Reproduce

\`\`\`text
scripts/bench.sh                       # everything, 3 runs per figure
scripts/bench.sh --repeat 5 --docs     # at least five runs per figure, and rewrite this page
scripts/bench.sh --quick               # one run each, no e2e: a smoke test
scripts/bench.sh --gil-only --repeat 7 # only the GIL cost, Rust and CPython in turns
scripts/bench.sh --chunk-only --repeat 5 # only throughput against chunksize, ours and Python's
cargo bench -p pools --bench pools -- --only tiny,startup --repeat 5
cargo bench -p http-wait --bench concurrent -- 1000 10000
python3 scripts/bench_peers.py tiny --repeat 5
scripts/bench-report.sh --repeat 5
\`\`\`

This run took ${took} s with the arguments above, its build step included; a busy machine makes
the pools benchmark wait longer (see \`--quiet-wait\`). Before taking figures, check
that the machine is otherwise idle (\`uptime\`).
DOC
echo "wrote docs/src/benchmarks.md"
