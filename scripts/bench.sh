#!/usr/bin/env bash
# Benchmark the pools and the delay server against their peers (Python's
# concurrent.futures and http.server, and rayon), on this machine, in one go.
#
# Runs, in order: the pools benchmarks (`cargo bench -p pools --bench pools`, which
# also runs rayon), the delay-server benchmark (`cargo bench -p http-wait --bench
# concurrent`), the Python peers (scripts/bench_peers.py, skipped with a note when
# python3 is missing), Python's ThreadingHTTPServer driven by the same client
# (`cargo bench -p http-wait --bench concurrent -- --addr ADDR`), the end-to-end
# figure script, and report on a million tasks (scripts/bench-report.sh). Then it
# joins every figure with its peer's and prints one table.
# See docs/benchmarks.md.
#
# Writes results/bench.csv (the table) and results/bench-raw/*.csv (every figure with
# its individual runs); with --docs, also docs/benchmarks.md (the table, the machine
# and how to reproduce it). Takes about three minutes once built.
set -euo pipefail

# Work from the repository root, so that target/, results/ and scripts/ resolve.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/bench.sh [--repeat K] [--quick] [--no-e2e] [--docs]

Runs every benchmark of the pools and the delay server next to its peer (Python's
concurrent.futures and ThreadingHTTPServer, rayon) and prints one table with the
ratio of ours to each peer (above 1: ours is better).

Options:
  --repeat K  runs per figure, of which the median is kept (default 3)
  --quick     one run per figure, no 10,000-request burst against Python, no e2e
  --no-e2e    skip timing scripts/regenerate-figures.sh
  --docs      also write docs/benchmarks.md: the table, the machine, how to reproduce
  -h, --help  print this help and exit

Writes results/bench.csv (benchmark,subject,value,unit,peer,peer_value,ratio,
target,met) and results/bench-raw/ (every figure, with each run).
USAGE
}

repeat=3
quick=false
e2e=true
docs=false
args="$*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat)
      repeat=${2:?--repeat needs a number}
      shift
      ;;
    --quick)
      quick=true
      repeat=1
      e2e=false
      ;;
    --no-e2e) e2e=false ;;
    --docs) docs=true ;;
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

raw=results/bench-raw
mkdir -p "$raw"
rm -f "$raw"/*.csv
header=benchmark,subject,value,unit,min,max,runs,target,met,note
notes=()

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
      met = ""
      if (t != "") {
        split(t, p, " ")
        if (p[1] == "<") met = (med < p[2]) ? "yes" : "no"
        if (p[1] == "<=") met = (med <= p[2]) ? "yes" : "no"
        if (p[1] == ">=") met = (med >= p[2]) ? "yes" : "no"
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

echo "== building (release)"
cargo bench -q -p pools --bench pools --no-run
cargo bench -q -p http-wait --bench concurrent --no-run
cargo build -q --release -p http-wait

echo "== 1-4. pools: tiny tasks, start-up, killed worker, CPU-bound, IO-bound (and rayon)"
# Absolute: cargo runs a benchmark in its package's directory.
cargo bench -q -p pools --bench pools -- --repeat "$repeat" --csv "$PWD/$raw/pools.csv"

echo "== 5. the delay server: 1,000 and 10,000 concurrent 1 s requests"
server_runs=$(for _ in $(seq "$repeat"); do
  cargo bench -q -p http-wait --bench concurrent -- 1000 10000
done)
echo "$server_runs"
for n in 1000 10000; do
  target=""
  [[ $n == 10000 ]] && target="< 2"
  sed -n "s/^$n concurrent [0-9]* ms requests: \([0-9.]*\) s (all 200.*/\1/p" <<<"$server_runs" |
    add_row "$raw/server.csv" server "delay-server-$n" s "$target" \
      "$n concurrent 1 s sleeps, one server thread"
done

if command -v python3 >/dev/null; then
  echo "== 1-4. Python's concurrent.futures on the same work ($(python3 --version 2>&1))"
  # The Python IO peer waits on our delay server, so both wait on the same thing.
  "${CARGO_TARGET_DIR:-target}/release/http-wait" serve --addr 127.0.0.1:0 >"$raw/http-wait.log" 2>&1 &
  servers+=($!)
  addr=$(listening_addr "$raw/http-wait.log")
  if ! python3 scripts/bench_peers.py all --repeat "$repeat" \
    --url-template "http://$addr/200?sleep={ms}" --csv "$raw/python.csv"; then
    notes+=("scripts/bench_peers.py failed: the concurrent.futures peers are missing.")
  fi

  echo "== 5. Python's ThreadingHTTPServer, driven by the same client"
  python3 scripts/bench_peers.py serve --port 0 >"$raw/python-server.log" 2>&1 &
  servers+=($!)
  addr=$(listening_addr "$raw/python-server.log")
  counts=(1000 10000)
  $quick && counts=(1000)
  # A thread per connection: 10,000 of them take Python several seconds, so each
  # burst is capped at 60 s rather than trusted to finish.
  python_runs=$(for _ in $(seq "$repeat"); do
    cargo bench -q -p http-wait --bench concurrent -- --addr "$addr" --cap-secs 60 "${counts[@]}"
  done)
  echo "$python_runs"
  for n in "${counts[@]}"; do
    sed -n "s/^$n concurrent [0-9]* ms requests: \([0-9.]*\) s (all 200.*/\1/p" <<<"$python_runs" |
      add_row "$raw/server.csv" server "python-threading-server-$n" s "" \
        "$n concurrent 1 s sleeps, a thread per connection"
  done
  for n in "${counts[@]}"; do
    grep -q "^$n concurrent .*(all 200" <<<"$python_runs" ||
      notes+=("Python's ThreadingHTTPServer did not answer all of $n requests within 60 s.")
  done
  $quick && notes+=("--quick: Python's ThreadingHTTPServer was not asked for 10,000 requests.")
else
  notes+=("python3 is missing: the Python peers were skipped.")
fi

if $e2e && [[ -x scripts/regenerate-figures.sh ]]; then
  echo "== 6. end to end: scripts/regenerate-figures.sh"
  # Built once first, so that the timed runs measure the work, not the compiler.
  if scripts/regenerate-figures.sh >"$raw/regenerate-figures.log" 2>&1; then
    e2e_runs=$(for _ in $(seq "$repeat"); do
      start=$(date +%s.%N)
      scripts/regenerate-figures.sh >"$raw/regenerate-figures.log" 2>&1
      end=$(date +%s.%N)
      awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
    done)
    add_row "$raw/e2e.csv" e2e regenerate-figures s "" \
      "every experiment and every chart into results/" <<<"$e2e_runs"
  else
    notes+=("scripts/regenerate-figures.sh failed (see $raw/regenerate-figures.log): no end-to-end figure.")
  fi
elif $e2e; then
  notes+=("scripts/regenerate-figures.sh is missing: the end-to-end figure was skipped.")
else
  notes+=("The end-to-end figure was skipped (--no-e2e or --quick).")
fi

echo "== 7. report: a million tasks drawn (scripts/bench-report.sh)"
if scripts/bench-report.sh --repeat "$repeat" --runs "$raw/report-runs.txt"; then
  awk '{ print $1 }' "$raw/report-runs.txt" |
    add_row "$raw/report.csv" report report-1m-time s "< 5" \
      "report on 1,000,000 tasks from 2 workers: every chart and a complete trace.json"
  awk '{ printf "%.0f\n", $2 / 1024 }' "$raw/report-runs.txt" |
    add_row "$raw/report.csv" report report-1m-rss MB "< 1024" \
      "peak RSS of the same runs"
else
  notes+=("scripts/bench-report.sh failed: no figure for report on a million tasks.")
fi

# ---------------------------------------------------------------------------------
# The table: every figure of ours, once on its own (with its absolute target) and
# once per peer. ratio = how many times better ours is: ours/peer for a rate,
# peer/ours for a time. A target on the ratio is written "ratio >= X".
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
io-map   thread              python-thread                  -
io-map   process-fork        python-process-fork            -
io-total thread              python-thread                  -
io-total process-fork        python-process-fork            -
server   delay-server-1000   python-threading-server-1000   -
server   delay-server-10000  python-threading-server-10000  -
PAIRS
)

# Our subjects; everything else in the raw files is a peer.
is_peer='^(python-|rayon-)'
# In the order the benchmarks ran; a file that is missing was skipped (see the notes).
for file in pools server e2e report python; do
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
    if ($2 !~ peers) order[++n] = key
  }
  END {
    print "benchmark,subject,value,unit,peer,peer_value,ratio,target,met"
    count = split(pairs, lines, "\n")
    for (i = 1; i <= n; i++) {
      key = order[i]; split(key, k, SUBSEP)
      printf "%s,%s,%s,%s,,,,%s,%s\n", k[1], k[2], value[key], unit[key], target[key], met[key]
      for (j = 1; j <= count; j++) {
        split(lines[j], f, " ")
        if (f[1] != k[1] || f[2] != k[2]) continue
        peer = k[1] SUBSEP f[3]
        if (!(peer in value)) continue
        ratio = better(unit[key], value[key], value[peer])
        t = (f[4] == "-") ? "" : "ratio >= " f[4]
        m = (t == "" || ratio == "") ? "" : check(">= " f[4], ratio)
        printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", k[1], k[2], value[key], unit[key], f[3],
          value[peer], (ratio == "") ? "" : sprintf("%.2f", ratio), t, m
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
  NR == 1 { printf "%-10s %-20s %12s %-8s %-30s %12s %8s %-14s %s\n",
    "benchmark", "subject", "value", "unit", "peer", "peer value", "ratio", "target", "met"; next }
  { printf "%-10s %-20s %12s %-8s %-30s %12s %8s %-14s %s\n",
    $1, $2, num($3), $4, $5, num($6), ($7 == "" ? "" : $7 "x"), $8, $9 }
' results/bench.csv
for note in "${notes[@]}"; do
  echo "note: $note"
done
missed=$(awk -F, 'NR > 1 && $9 == "no"' results/bench.csv | wc -l)
echo "$missed figure(s) missed their target. Raw runs: $raw/"

$docs || exit 0

# ---------------------------------------------------------------------------------
# docs/benchmarks.md: the table above, the machine, and how to get it again.
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
python_version=$(python3 --version 2>&1 || echo "none")
markdown_table=$(awk -F, '
  function num(x) {
    if (x == "") return ""
    if (x + 0 >= 1000) return sprintf("%.0f", x)
    if (x + 0 >= 10) return sprintf("%.1f", x)
    return sprintf("%.3f", x)
  }
  NR == 1 { print "| benchmark | subject | value | unit | peer | peer value | ratio | target | met |"
            print "|---|---|--:|---|---|--:|--:|---|---|"; next }
  { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, num($3), $4, $5,
      num($6), ($7 == "" ? "" : $7 "x"), $8, ($9 == "no" ? "**no**" : $9) }
' results/bench.csv)
note_lines="Notes:"$'\n\n'
for note in "${notes[@]}"; do
  note_lines+="- ${note}"$'\n'
done
[[ ${#notes[@]} -gt 0 ]] || note_lines="Every benchmark ran; none was skipped."$'\n'

cat >docs/benchmarks.md <<DOC
# Benchmarks: the pools against Python and rayon

<!-- Written by scripts/bench.sh --docs. Edit the script, not this page. -->

Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`scripts/bench.sh ${args}\`: every
figure is the median of ${repeat} runs. Every run is in \`results/bench-raw/\`.

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
until others leave the CPU alone, and runs a CPU-bound measurement again when they
took more than 5 % of the CPU meanwhile (its own table says how much they took).
On an idle desktop the figures are steadier.

## The table

\`ratio\` is how many times better ours is than the peer: ours / peer for a
throughput (tasks/s), peer / ours for a time. A target on a ratio reads
\`ratio >= X\`; any other target is on the value itself.

${markdown_table}

${note_lines}
## What each row measures

- **tiny**: \`fibonacci(10)\` × 20,000 over 8 workers, on a pool that has already
  run once; tasks per second. Ours: the \`ThreadPool\`, \`GilThreadPool\` and
  \`ProcessPool\` under each start method. Peers: Python's \`ThreadPoolExecutor\` and
  \`ProcessPoolExecutor\` (\`chunksize=1\`, the default) under the same start method,
  and rayon on the same work, one \`scope\` + \`spawn\` per task (\`rayon-scope\`, the
  fair peer) or \`par_iter\` (\`rayon-par-iter\`, which splits the list into a few
  big chunks instead of dispatching tasks, shown as the floor of what the work
  costs).
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
  physical limit. Its "CPU time" (in the benchmark's own output) is the CPU the run
  used over the serial sum: above 1.0, the same work ran slower with both cores busy
  (a shared host, turbo clocks), which no pool can help. The GIL pool is shown against the sum of the serial times, its
  limit, since only one thread computes at a time; it pays a load and a branch per
  recursive call for its checkpoint, and its figure moves with where the linker
  places that loop (the \`pools\` binary and the benchmark, whose loops are the same
  instructions at different addresses, ran the 8 inputs in 0.76 s and 0.94 s).
- **cpu-shared**: the article's 8 workers on the machine's cores, against the
  makespan of ideal *processor sharing* simulated from the serial times (every
  running task gets an equal share of the cores). Above 1 means the scheduler did
  better than equal shares. \`std-threads\` (one plain thread per input, no pool)
  shows what the kernel's scheduler alone makes of the same work.
- **io-map**: the article's GET experiment, waits of 1,000 to 1,700 ms over 8
  workers against the project's delay server: how much longer than the longest wait
  \`map\` took. **io-total** also counts starting and stopping the pool, as the
  article's timing does. Python's pools start their workers inside the first
  \`map\`, so its io-map already includes that.
- **server**: N concurrent requests that each sleep 1 s, against the delay server
  (one thread, \`cargo bench -p http-wait --bench concurrent\`) and against Python's
  \`http.server.ThreadingHTTPServer\` (a thread per connection, with the same listen
  backlog), driven by the same Tokio client (\`cargo bench -p http-wait --bench concurrent -- --addr ADDR\`).
- **report**: \`report\` on 1,000,000 tasks (\`pools --experiment fib --pools thread
  --fib-inputs 5..9 --repeat 250000 --workers 2\`): its wall time and peak RSS
  (\`scripts/bench-report.sh\`), drawing every chart and writing all of trace.json.
- **e2e**: the wall time of \`scripts/regenerate-figures.sh\` once built: every
  experiment and every chart.

## Why ours is faster, where it is

- A process-pool worker that finishes tasks in under 0.5 ms is sent up to 16 inputs
  at a time and answers them in one write, and inputs are a few bytes of postcard
  rather than a pickle, so a tiny task costs a fraction of a pipe round trip.
  Python sends one pickled call per task through a feeder thread and a queue.
- The thread pool hands out inputs with one atomic counter; rayon's \`spawn\`
  allocates a job per task and pushes it on a work-stealing deque.
- Python starts every worker as a fresh interpreter (\`spawn\`) or forks one and
  imports the main module (\`forkserver\`); ours fork a small process or \`exec\` a
  compiled program, and the forkserver is asked for all workers at once.
- Dropping a pool waits for every worker's result pipe to hang up, which happens
  the moment the worker exits, instead of polling each pid in turn.

## Reproduce

\`\`\`text
scripts/bench.sh                       # everything, about three minutes once built
scripts/bench.sh --repeat 5 --docs     # five runs per figure, and rewrite this page
scripts/bench.sh --quick               # one run each, no e2e: a smoke test
cargo bench -p pools --bench pools -- --only tiny,startup --repeat 5
cargo bench -p http-wait --bench concurrent -- 1000 10000
python3 scripts/bench_peers.py tiny --repeat 5
scripts/bench-report.sh --repeat 5
\`\`\`

Before taking figures, check that the machine is otherwise idle (\`uptime\`); the
pools benchmark waits for other programs to leave the CPU alone, the others do not.
DOC
echo "wrote docs/benchmarks.md"
