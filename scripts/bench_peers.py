#!/usr/bin/env python3
"""The Python peers of the pools benchmarks: concurrent.futures on the same work.

    python3 scripts/bench_peers.py all --csv results/bench-python.csv
    python3 scripts/bench_peers.py tiny --tasks 20000 --workers 8 --repeat 3
    python3 scripts/bench_peers.py io --url-template 'http://127.0.0.1:8080/200?sleep={ms}'
    python3 scripts/bench_peers.py serve --port 8081    # ThreadingHTTPServer peer
    python3 scripts/bench_peers.py gil --fib-inputs 26..34 --repeat 5
    python3 scripts/bench_peers.py chunk --tasks 200000 --repeat 5 --runs results/bench-raw/chunk-runs.csv

The claim these figures stand for: what a Python programmer pays per task, per
worker started and per wait with ThreadPoolExecutor and ProcessPoolExecutor, so
that `scripts/bench.sh` can put the Rust pools' figures next to them. Each
benchmark mirrors one section of `cargo bench -p pools --bench pools` (see its
header for what is timed) and writes rows with the same CSV columns:
benchmark, subject, value (the median of the runs), unit, min, max, runs, target,
met, note. Python's rows carry no target: they are the yardstick.

`gil` is the exception: it has no section in the pools benchmark. It measures what
the GIL costs CPython, for `scripts/bench.sh` to set beside the Rust GIL pool: the
same Fibonacci inputs one after another on this thread (the serial time), then on a
ThreadPoolExecutor and a fork ProcessPoolExecutor of --workers workers, each timed
from creating the executor to having shut it down, as the `pools` binary times its
pools. Its rows are each pool's makespan over the serial time of the same round,
and the process-vs-threads speed-up, 1 - process makespan / thread makespan.

`chunk` mirrors the pools benchmark's `chunk` section: fibonacci(10) on a fork
ProcessPoolExecutor with 1 and with 2 workers, at each chunksize of
`Executor.map(..., chunksize=N)`, each run timing the 1-worker executor and then the
2-worker one. At chunksizes under 10 it runs at most 20,000 tasks per map (CPython
dispatches about 10,000 single tasks a second: 200,000 would take minutes); the note
says how many. `--runs FILE` appends every run to the same CSV as the pools
benchmark's `--chunk-runs` (pool,chunksize,workers,run,tasks_per_s).

Only the standard library is used, so any python3 (3.8 or later) runs it.
"""

import argparse
import csv
import multiprocessing as mp
import os
import signal
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

COLUMNS = ["benchmark", "subject", "value", "unit", "min", "max", "runs", "target", "met", "note"]
START_METHODS = ["fork", "spawn", "forkserver"]


# --- The tasks. Module-level functions, so that spawn and forkserver workers can
# --- import them by name (the rule the Rust registry imitates).


def fibonacci(n):
    """Naive recursion, numbered like the Rust `fib` crate: fibonacci(1) = 0."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if n <= 2:
        return n - 1
    return fibonacci(n - 1) + fibonacci(n - 2)


def noop(x):
    """The trivial task that proves a worker is up."""
    return x


def nap(seconds):
    """Something for a worker to be busy with when it is killed."""
    time.sleep(seconds)


def fetch(url):
    """One GET that the delay server answers after the wait in the URL."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


# --- Recording.


class Rows:
    """Collects figures and writes them as CSV rows."""

    def __init__(self):
        self.rows = []

    def add(self, benchmark, subject, unit, runs, note):
        self.rows.append(
            {
                "benchmark": benchmark,
                "subject": subject,
                "value": statistics.median(runs),
                "unit": unit,
                "min": min(runs),
                "max": max(runs),
                "runs": ";".join(f"{r:.6f}" for r in runs),
                "target": "",
                "met": "",
                "note": note,
            }
        )
        print(f"{benchmark:<10} {subject:<26} {statistics.median(runs):>12.3f} {unit}", file=sys.stderr)

    def write(self, out):
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)


def executors(workers, methods):
    """(subject, factory) for ThreadPoolExecutor and each ProcessPoolExecutor context."""
    pairs = [("python-thread", lambda: ThreadPoolExecutor(max_workers=workers))]
    for method in methods:
        context = mp.get_context(method)
        pairs.append(
            (
                f"python-process-{method}",
                lambda context=context: ProcessPoolExecutor(max_workers=workers, mp_context=context),
            )
        )
    return pairs


# --- The benchmarks.


def tiny(args, rows):
    """fibonacci(10) x TASKS: dispatch throughput on a warmed-up executor.

    First the same tasks one after another on this thread, with no executor: what the
    interpreter alone pays per task, so that the page can tell interpreter speed from
    dispatch cost.
    """
    inputs = [10] * args.tasks
    expected = fibonacci(10)
    rates = []
    for run in range(args.repeat + 1):  # run 0 is a warm-up, as for the executors
        started = time.perf_counter()
        results = [fibonacci(n) for n in inputs]
        elapsed = time.perf_counter() - started
        assert all(r == expected for r in results)
        if run > 0:
            rates.append(args.tasks / elapsed)
    rows.add(
        "tiny",
        "python-serial",
        "tasks/s",
        rates,
        f"fibonacci(10) x {args.tasks} one after another on one thread, no executor; "
        "after one warm-up run",
    )
    note = f"fibonacci(10) x {args.tasks} on {args.workers} workers, chunksize 1; after one warm-up map"
    for subject, make in executors(args.workers, START_METHODS):
        rates = []
        with make() as executor:
            # Warm-up: start every worker (lazily started under spawn and forkserver).
            list(executor.map(fibonacci, inputs[: 50 * args.workers]))
            for _ in range(args.repeat):
                started = time.perf_counter()
                results = list(executor.map(fibonacci, inputs))
                elapsed = time.perf_counter() - started
                assert all(r == expected for r in results)
                rates.append(args.tasks / elapsed)
        rows.add("tiny", subject, "tasks/s", rates, note)


# The fewest start-up runs per start method, as on the Rust side: each run is short,
# so one stray interruption is a large share of it.
MIN_STARTUP_RUNS = 20


def startup(args, rows):
    """Create an executor, map one trivial task per worker, shut down (joins all)."""
    for method in START_METHODS:
        context = mp.get_context(method)
        totals, short = [], []
        # Run 0 is a warm-up, as on the Rust side.
        for run in range(max(args.repeat, MIN_STARTUP_RUNS) + 1):
            started = time.perf_counter()
            executor = ProcessPoolExecutor(max_workers=args.workers, mp_context=context)
            list(executor.map(noop, range(args.workers)))
            processes = len(executor._processes)
            executor.shutdown(wait=True)
            elapsed = time.perf_counter() - started
            if run > 0 and processes != args.workers:
                short.append(processes)
            if run > 0:
                totals.append(elapsed * 1000)
        rows.add(
            "startup",
            f"python-process-{method}",
            "ms",
            totals,
            "create + map one trivial task per worker + shutdown(wait=True); after one warm-up run"
            # Spawn and forkserver start workers on demand: say when fewer started,
            # since the Rust side always starts them all.
            + (f"; {len(short)} runs started only {min(short)}..{max(short)} processes" if short else ""),
        )


def kill(args, rows):
    """SIGKILL one napping worker; time until map raises BrokenProcessPool."""
    context = mp.get_context("fork")
    latencies = []
    for _ in range(args.repeat):
        executor = ProcessPoolExecutor(max_workers=args.workers, mp_context=context)
        list(executor.map(noop, range(args.workers)))  # every worker up
        victim = next(iter(executor._processes))
        sent = []

        def killer():
            time.sleep(0.2)
            sent.append(time.perf_counter())
            os.kill(victim, signal.SIGKILL)

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            list(executor.map(nap, [10] * args.workers))
            raise SystemExit("the killed worker was not noticed")
        except BrokenProcessPool:
            noticed = time.perf_counter()
        thread.join()
        latencies.append((noticed - sent[0]) * 1000)
        executor.shutdown(wait=True)
    rows.add(
        "kill",
        "python-process-fork",
        "ms",
        latencies,
        f"{args.workers} workers napping, one killed; until BrokenProcessPool",
    )


def io(args, rows):
    """The article's GET experiment: makespan minus the longest wait."""
    waits = list(range(1000, 1800, 100))
    urls = [args.url_template.replace("{ms}", str(ms)) for ms in waits]
    longest = max(waits)
    note = f"{len(waits)} waits, longest {longest} ms"
    for subject, make in executors(args.workers, ["fork"]):
        map_only, total = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            executor = make()
            t1 = time.perf_counter()
            list(executor.map(fetch, urls))
            t2 = time.perf_counter()
            executor.shutdown(wait=True)
            t3 = time.perf_counter()
            map_only.append((t2 - t1) * 1000 - longest)
            total.append((t3 - t0) * 1000 - longest)
        # Python starts its workers lazily, inside the first map.
        rows.add("io-map", subject, "ms", map_only, note + "; workers start inside map")
        rows.add("io-total", subject, "ms", total, note + "; with pool start and stop")


def chunk(args, rows):
    """fibonacci(10) on a fork ProcessPoolExecutor of 1 and of 2 workers, per chunksize."""
    expected = fibonacci(10)
    context = mp.get_context("fork")
    runs = []
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as one, ProcessPoolExecutor(
        max_workers=2, mp_context=context
    ) as two:
        for size in [int(c) for c in args.chunksizes.split(",")]:
            tasks = args.tasks if size >= 10 else min(args.tasks, 20_000)
            inputs = [10] * tasks
            for executor in (one, two):  # warm-up: every worker started
                list(executor.map(fibonacci, inputs[:1000], chunksize=size))
            rates = {1: [], 2: []}
            for run in range(args.repeat):
                for workers, executor in ((1, one), (2, two)):
                    started = time.perf_counter()
                    results = list(executor.map(fibonacci, inputs, chunksize=size))
                    elapsed = time.perf_counter() - started
                    assert all(r == expected for r in results)
                    rates[workers].append(tasks / elapsed)
                    runs.append(("python-process-fork", size, workers, run, tasks / elapsed))
            shares = [b / (2 * a) for a, b in zip(rates[1], rates[2])]
            rows.add(
                "chunk",
                f"python-process-fork-{size}",
                "tasks/s",
                rates[2],
                f"ProcessPoolExecutor (fork), fibonacci(10) x {tasks} on 2 workers, chunksize {size}; "
                f"share of 2 x the 1-worker rate: median {statistics.median(shares):.3f}, "
                f"worst {min(shares):.3f}",
            )
    if args.runs:
        new = not os.path.exists(args.runs)
        with open(args.runs, "a", newline="") as out:
            if new:
                out.write("pool,chunksize,workers,run,tasks_per_s\n")
            for pool, size, workers, run, rate in runs:
                out.write(f"{pool},{size},{workers},{run},{rate:.1f}\n")


def fib_inputs(spec):
    """START..END (END excluded) or a comma list, as the `pools` binary reads them."""
    if ".." in spec:
        start, end = spec.split("..", 1)
        return list(range(int(start), int(end)))
    return [int(n) for n in spec.split(",")]


def gil(args, rows):
    """What the GIL costs: thread and process makespans over the serial time."""
    inputs = fib_inputs(args.fib_inputs)
    expected = [fibonacci(n) for n in inputs]  # also a warm-up
    serial, thread, process, speedup = [], [], [], []
    for _ in range(args.repeat):
        # One round: the serial baseline and both pools back to back, so that a slow
        # spell of the machine moves a ratio's two sides together.
        started = time.perf_counter()
        results = [fibonacci(n) for n in inputs]
        base = time.perf_counter() - started
        assert results == expected
        spans = []
        for make in (
            lambda: ThreadPoolExecutor(max_workers=args.workers),
            lambda: ProcessPoolExecutor(max_workers=args.workers, mp_context=mp.get_context("fork")),
        ):
            started = time.perf_counter()
            with make() as executor:
                results = list(executor.map(fibonacci, inputs))
            spans.append(time.perf_counter() - started)
            assert results == expected
        serial.append(base)
        thread.append(spans[0] / base)
        process.append(spans[1] / base)
        speedup.append(100 * (1 - spans[1] / spans[0]))
    what = f"fibonacci over {args.fib_inputs} ({len(inputs)} inputs)"
    rows.add("gil-cost", "python-serial", "s", serial, f"{what} one after another on one thread")
    note = f"{what} on {args.workers} workers, from creating the executor to shutdown, over the serial time of the same round"
    rows.add("gil-cost", "python-thread-vs-serial", "x", thread, "ThreadPoolExecutor: " + note)
    rows.add("gil-cost", "python-process-vs-serial", "x", process, "ProcessPoolExecutor (fork): " + note)
    rows.add(
        "gil-cost",
        "python-speedup",
        "%",
        speedup,
        "1 - process makespan / thread makespan, per round",
    )


# --- The delay-server peer.


class SleepHandler(BaseHTTPRequestHandler):
    """GET /200?sleep=MS: sleep MS milliseconds on this connection's thread, then 200."""

    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query)
        try:
            ms = int(query.get("sleep", ["0"])[0])
        except ValueError:
            ms = 0
        time.sleep(min(max(ms, 0), 30_000) / 1000)
        body = b"200 OK"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # one line per request would swamp the terminal


def serve(args):
    """Python's own answer to the delay server: one thread per connection."""
    # The same listen backlog as the Rust delay server asks for (the kernel caps it at
    # net.core.somaxconn): with socketserver's default of 5, a burst of connections
    # would mostly wait for SYN retransmits, and we would be measuring that instead.
    ThreadingHTTPServer.request_queue_size = args.backlog
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", args.port), SleepHandler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    host, port = server.server_address
    print(f"listening on http://{host}:{port}", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("all", "tiny, startup and kill, and io if --url-template is given"),
        ("tiny", "fibonacci(10) x --tasks on --workers workers"),
        ("startup", "start and stop --workers processes, per start method"),
        ("kill", "time from SIGKILL to BrokenProcessPool"),
        ("io", "the GET experiment against --url-template"),
        ("gil", "thread and process makespans over the serial time of --fib-inputs"),
        ("chunk", "fibonacci(10) x --tasks on 1 and 2 fork workers, per --chunksizes"),
    ]:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--workers", type=int, default=8, help="workers per executor")
        command.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
        command.add_argument("--tasks", type=int, default=20_000, help="tasks per tiny map")
        command.add_argument("--url-template", help="delay-server URL with {ms}, for io")
        command.add_argument("--csv", help="write the rows here instead of to stdout")
        command.add_argument(
            "--fib-inputs",
            default="26..34",
            help="Fibonacci inputs for gil: START..END (END excluded) or a comma list",
        )
        command.add_argument(
            "--chunksizes", default="1,10,100,1000,10000", help="chunksizes for chunk, a comma list"
        )
        command.add_argument("--runs", help="chunk: append every run to this CSV file")
    command = commands.add_parser("serve", help="run a ThreadingHTTPServer delay server")
    command.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1; 0 picks one")
    command.add_argument("--backlog", type=int, default=8192, help="listen backlog")
    args = parser.parse_args()

    if args.command == "serve":
        return serve(args)
    if args.command == "io" and not args.url_template:
        parser.error("io needs --url-template")
    rows = Rows()
    benchmarks = {"tiny": [tiny], "startup": [startup], "kill": [kill], "io": [io], "gil": [gil], "chunk": [chunk]}.get(
        args.command, [tiny, startup, kill] + ([io] if args.url_template else [])
    )
    for benchmark in benchmarks:
        benchmark(args, rows)
    if args.csv:
        os.makedirs(os.path.dirname(args.csv) or ".", exist_ok=True)
        with open(args.csv, "w", newline="") as out:
            rows.write(out)
    else:
        rows.write(sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, AssertionError) as error:
        # A failed request or a wrong result: one line, as the Rust tools print it.
        sys.exit(f"Error: {error!r}")
