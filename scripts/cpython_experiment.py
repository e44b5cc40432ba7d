#!/usr/bin/env python3
"""The article's experiment on CPython itself, written in our CSV contract.

    python3 scripts/cpython_experiment.py                  # about 15 s on 2 cores
    python3 scripts/cpython_experiment.py --article        # the article's own inputs
    python3 scripts/cpython_experiment.py --fib-inputs 15..21 --get-inputs 50,50 --workers 2

The claim: under CPython, a ThreadPoolExecutor running naive Fibonacci takes as long
as running the same inputs one after another (the GIL lets one thread compute at a
time), while a ProcessPoolExecutor takes about half that on 2 cores; for HTTP GETs
that only wait, both pools finish when the slowest wait ends, and so does asyncio's
event loop, on one thread.

It runs, in this order:
  1. one serial pass of the Fibonacci inputs on the main thread: the common scale;
  2. fibonacci(n) on a ProcessPoolExecutor, then on a ThreadPoolExecutor;
  3. one GET per wait on each pool, against our delay server (`http-wait serve`,
     started on 127.0.0.1 with a free port, stopped by pid at the end);
  4. the same GETs on asyncio: one thread, one event loop, at most --workers
     requests in flight (an asyncio.Semaphore), each on asyncio.open_connection.

It writes, into --out (default results/cpython/), the files `pools` writes, with the
same columns and number formats, so that `report --in` reads them unchanged:
  {process,gil}-{fibo,get}.csv  one row per task (tag,...,input,worker,pid,tid)
  async-get.csv                 the asyncio run, in the same columns: one pid, one
                                tid, worker 0 on every row
  experiments.csv               one row per pool run (makespan, context switches)
  serial-fibo.csv               the serial pass, one row per input, in the per-task
                                columns: the contract's serial file, as `pools
                                --serial` writes it. Its last end minus its first
                                start is the serial time, which `report --beside`
                                divides each pool's makespan by.

Only the standard library is used; it needs Python 3.9 or later, and Linux.
"""

import argparse
import asyncio
import csv
import fcntl
import functools
import multiprocessing
import os
import random
import re
import resource
import selectors
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- Limits: every size a user can type has one, checked before anything starts.

# CPython's naive fib(30) takes 0.1-0.2 s on one core here; each step multiplies
# that by 1.6, so fib(45) takes minutes. (Rust's `fib` allows 50: it is 50x faster.)
MAX_FIB_N = 45
# The delay server refuses longer waits (http_wait::MAX_SLEEP_MS).
MAX_WAIT_MS = 30_000
# Each CPython worker process costs about 10 MB and a start-up; 64 is far more than
# the experiment's 8, and far less than a machine's process limit.
MAX_WORKERS = 64
# More tasks than this is no longer the article's experiment, and report draws at
# most 600 lanes anyway.
MAX_TASKS = 10_000

# The article's inputs: range(34, 42), range(1000, 1800, 100), 8 workers.
ARTICLE_FIB = "34..42"
ARTICLE_GET = "1000..1800:100"
ARTICLE_WORKERS = 8
# Default Fibonacci inputs: the whole run (serial pass, two fib runs, two GET runs)
# takes about 15 s on a quiet 2-core machine. Measured: the serial pass of 29..36
# takes ~4.5 s with fib(30) at 0.1 s.
DEFAULT_FIB = "29..37"

# Our CSV contract, as `pools` writes it (crates/results/src/layout.rs): the article's
# five columns first, so that a pandas notebook written for the article reads it.
# The serial file has these columns too (SERIAL_COLUMNS there).
TASK_HEADER = ["tag", "start_time", "end_time", "elapsed", "result", "input", "worker", "pid", "tid"]
EXPERIMENT_HEADER = [
    "tag", "pool", "function", "inputs", "workers", "start_method", "switch_interval_ms",
    "started_at", "finished_at", "makespan", "voluntary_switches", "involuntary_switches",
    "gil_switches",
]

# The pool names. CPython's ThreadPoolExecutor is written as `gil`, not `thread`: in
# the contract `thread` means threads that compute in parallel (Rust's plain pool),
# and `gil` means threads that must hold one interpreter lock to compute, which is
# exactly what CPython's threads are. So report draws it in the GIL pool's colour,
# with its switch interval, and a comparison with Rust pairs it with Rust's `gil`.
PROCESS, GIL = "process", "gil"
# asyncio's event loop is the contract's `async` pool: one thread, tasks that take
# turns at their awaits.
ASYNC = "async"
# The serial pass' tag, as results::layout::serial_tag spells it: its file is
# f"{SERIAL_TAG}.csv", its rows are tagged f"{SERIAL_TAG}-{i}", all on worker 0 (the
# main thread is the only one that runs them).
SERIAL_TAG = "serial-fibo"


class UsageError(Exception):
    """Bad input: printed as one `error:` line, exit status 2."""


class RunError(Exception):
    """The run cannot go on: printed as one `error:` line, exit status 1."""


class Interrupted(BaseException):
    """SIGTERM, handled like Ctrl-C."""


# --- The tasks. Module-level functions, so that spawn and forkserver workers can
# --- import them by name.


def fibonacci(n):
    """Naive recursion, numbered like the Rust `fib` crate: fibonacci(1) = 0."""
    if n <= 2:
        return n - 1
    return fibonacci(n - 1) + fibonacci(n - 2)


def http_fetch(url_template, ms):
    """One GET that the delay server answers after `ms` milliseconds; the body text."""
    url = url_template.replace("{ms}", str(ms))
    # Never wait forever: the longest wait plus a generous margin for a busy machine.
    with urllib.request.urlopen(url, timeout=ms / 1000 + 30) as response:
        return response.read().decode("utf-8", "replace")


async def http_fetch_async(host, port, ms):
    """The same GET as http_fetch, on asyncio's streams: each wait (connecting,
    the answer) is an `await`, where the event loop runs the other fetches. HTTP/1.1
    by hand is enough for our delay server, which closes after its answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET /200?sleep={ms} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await reader.read()  # everything, up to the server's close
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split(b" ")
    if len(status) < 2 or not status[1].isdigit():
        raise RuntimeError(f"GET /200?sleep={ms}: the answer is not HTTP: {head[:80]!r}")
    if not 200 <= int(status[1]) < 300:
        raise RuntimeError(f"GET /200?sleep={ms} answered {int(status[1])}: {body[:100]!r}")
    return body.decode("utf-8", "replace")


def timed(task, arg):
    """Runs one task where it is scheduled and says when, where and what it returned:
    (start, end, result text, pid, native thread id)."""
    start = time.time()
    result = task(arg)
    end = time.time()
    return start, end, str(result), os.getpid(), threading.get_native_id()


def quiet_worker():
    """A process worker's first act: leave Ctrl-C to the parent, which ends the
    workers by pid (a traceback from each of 8 workers would hide the message), and
    let SIGTERM kill it, rather than the parent's handler that it inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


# --- Input.


def parse_spec(flag, spec, low, high):
    """A SPEC as `pools` reads it: START..END[:STEP] (END excluded) or a comma list.
    A range is counted before it is expanded, so 0..10**18 allocates nothing."""
    text = spec.strip()

    def number(word):
        word = word.strip()
        # ASCII digits only (str.isdigit would take `²`), and few enough that no
        # number typed can be large enough to be slow to read.
        if not re.fullmatch(r"[0-9]{1,18}", word):
            raise UsageError(
                f"{flag}: `{word[:40]}` in `{text[:40]}` is not an integer from 0 to 10^18 "
                "(expected START..END[:STEP] or a comma list such as 34,35,36)"
            )
        return int(word)

    if ".." in text:
        start, rest = text.split("..", 1)
        end, _, step = rest.partition(":")
        start, end, step = number(start), number(end), number(step) if step else 1
        if step == 0:
            raise UsageError(f"{flag}: the step of `{text}` must be at least 1")
        if start >= end:
            raise UsageError(f"{flag}: `{text}` is empty (END is excluded, so it must be above START)")
        count = -(-(end - start) // step)
        if count > MAX_TASKS:
            raise UsageError(f"{flag}: `{text}` is {count} values, more than {MAX_TASKS}")
        values = list(range(start, end, step))
    else:
        if text.count(",") + 1 > MAX_TASKS:
            raise UsageError(f"{flag}: more than {MAX_TASKS} values")
        values = [number(word) for word in text.split(",")]
    for value in values:
        if not low <= value <= high:
            raise UsageError(f"{flag}: {value} is outside {low}..={high}")
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[2].replace("\n", " "),
        epilog=f"Limits: Fibonacci inputs 1..={MAX_FIB_N}, waits 0..={MAX_WAIT_MS} ms, "
        f"at most {MAX_TASKS} inputs per experiment, 1..={MAX_WORKERS} workers.",
    )
    parser.add_argument(
        "--fib-inputs", metavar="SPEC",
        help=f"Fibonacci inputs: START..END[:STEP] (END excluded) or a comma list "
        f"[default: {DEFAULT_FIB}]",
    )
    parser.add_argument(
        "--get-inputs", metavar="SPEC",
        help=f"HTTP waits in milliseconds, same forms [default: {ARTICLE_GET}]",
    )
    parser.add_argument(
        "--workers", metavar="N", type=int,
        help=f"workers per pool [default: {ARTICLE_WORKERS}]",
    )
    parser.add_argument(
        "--article", action="store_true",
        help=f"the article's exact inputs: --fib-inputs {ARTICLE_FIB} --get-inputs "
        f"{ARTICLE_GET} --workers {ARTICLE_WORKERS} (about a minute of Fibonacci per pool)",
    )
    parser.add_argument(
        "--start-method", choices=["fork", "spawn", "forkserver"], default="fork",
        help="how the process pool starts its workers [default: fork, as pools and "
        "Python 3.11 on Linux]",
    )
    parser.add_argument(
        "--out", metavar="DIR", default=os.path.join("results", "cpython"),
        help="where to write the CSV files [default: results/cpython]",
    )
    parser.add_argument(
        "--http-wait", metavar="PATH",
        help="the http-wait binary [default: target/release/http-wait, else "
        "target/debug/http-wait, under CARGO_TARGET_DIR if set]",
    )
    args = parser.parse_args(argv)
    if args.article and (args.fib_inputs or args.get_inputs or args.workers is not None):
        raise UsageError("--article sets --fib-inputs, --get-inputs and --workers: give one or the other")
    fib = args.fib_inputs or (ARTICLE_FIB if args.article else DEFAULT_FIB)
    args.fib = parse_spec("--fib-inputs", fib, 1, MAX_FIB_N)
    args.get = parse_spec("--get-inputs", args.get_inputs or ARTICLE_GET, 0, MAX_WAIT_MS)
    args.workers = ARTICLE_WORKERS if args.workers is None else args.workers
    if not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be from 1 to {MAX_WORKERS}, not {args.workers}")
    return args


# --- The delay server.


def find_http_wait(path):
    if path:
        candidates = [path]
    else:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
        candidates = [os.path.join(target, profile, "http-wait") for profile in ("release", "debug")]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    if path:
        raise UsageError(f"--http-wait {path}: not an executable file")
    raise UsageError(
        f"no http-wait binary in {' or '.join(os.path.dirname(c) for c in candidates)}: "
        "build it with `cargo build --release -p http-wait`, or pass --http-wait PATH"
    )


def die_with_parent():
    """In the server's child process, before exec: have the kernel send it SIGTERM if
    this script dies, even by SIGKILL, so that no server outlives its run. Linux
    only (PR_SET_PDEATHSIG = 1); elsewhere the `finally` in main is the only stop."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


class DelayServer:
    """`http-wait serve --addr 127.0.0.1:0`, which prints `listening on http://ADDR`
    first; stopped by its pid."""

    START_TIMEOUT_S = 10

    def __init__(self, binary):
        # Started before any thread of this script exists: `preexec_fn` is only safe
        # in a single-threaded parent.
        try:
            self.process = subprocess.Popen(
                [binary, "serve", "--addr", "127.0.0.1:0"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                preexec_fn=die_with_parent,
            )
        except OSError as err:
            raise RunError(f"cannot start {binary}: {err.strerror}") from None
        try:
            line = self._first_line()
        except BaseException:
            self.stop()  # Ctrl-C while it starts: no stray server either
            raise
        # The server writes stdout once, at start, and never again: closing our end
        # now cannot break it later.
        self.process.stdout.close()
        match = re.match(r"listening on (http://127\.0\.0\.1:\d+)\s*$", line)
        if not match:
            self.stop()
            raise RunError(f"{binary} serve did not print its address first (it printed {line!r})")
        self.base_url = match.group(1)
        self.url_template = self.base_url + "/200?sleep={ms}"

    def _first_line(self):
        deadline = time.monotonic() + self.START_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                if time.monotonic() >= deadline:
                    self.stop()
                    raise RunError(f"the delay server printed no address within {self.START_TIMEOUT_S} s")
        line = self.process.stdout.readline().decode("utf-8", "replace")
        if not line:
            code = self.process.wait()
            raise RunError(f"the delay server exited with status {code} before printing its address")
        return line

    def stop(self):
        """SIGTERM to its pid, then SIGKILL if it has not gone within 5 s; reaped."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- Running and recording.


def rusage_switches():
    """(voluntary, involuntary) context switches of this process and its reaped
    children, as pools counts them."""
    total = [0, 0]
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total[0] += usage.ru_nvcsw
        total[1] += usage.ru_nivcsw
    return total


class Progress:
    """A line on stderr at most every few seconds, so a long run shows it is alive;
    short runs print nothing but their summary line."""

    EVERY_S = 5.0

    def __init__(self, tag, total):
        self.tag, self.total, self.done = tag, total, 0
        self.started = self.last = time.monotonic()

    def tick(self):
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.EVERY_S and self.done < self.total:
            self.last = now
            print(f"  {self.tag}: {self.done}/{self.total} tasks done after {now - self.started:.0f} s",
                  file=sys.stderr, flush=True)


def run_pool(pool, function, task, inputs, args):
    """One pool over every input, timed as the article times it: from creating the
    executor to having shut it down. Returns (experiment row, task rows)."""
    tag = f"{pool}-{'fibo' if function == 'fibonacci' else 'get'}"
    progress = Progress(tag, len(inputs))
    before = rusage_switches()
    started_at = time.time()
    if pool == PROCESS:
        executor = ProcessPoolExecutor(
            max_workers=args.workers,
            mp_context=multiprocessing.get_context(args.start_method),
            initializer=quiet_worker,
        )
    else:
        executor = ThreadPoolExecutor(max_workers=args.workers)
    try:
        futures = {executor.submit(timed, task, value): i for i, value in enumerate(inputs)}
        outcomes = [None] * len(inputs)
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcomes[i] = future.result()
            except Exception as err:
                raise RunError(f"task {tag}-{i} (input {inputs[i]}) failed: {err}") from None
            progress.tick()
    except BaseException:
        # Not `with executor`, whose exit would wait for every pending task: on
        # Ctrl-C or a failed task, end the worker processes now, and drop the tasks
        # not yet started.
        stop_children()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    # Inside the timed region, as in the article: stop the workers (and reap them).
    executor.shutdown(wait=True)
    finished_at = time.time()
    row = experiment_row(tag, pool, function, inputs, args, started_at, finished_at, before)
    print(f"{tag}: {function} over {abbreviate(inputs)} among {args.workers} workers ... "
          f"{finished_at - started_at:.3f} s", flush=True)
    return row, task_rows(tag, inputs, outcomes), finished_at - started_at


def run_asyncio(host, port, inputs, args):
    """The GETs on one event loop, timed like a pool: from starting the loop to
    having closed it. At most --workers in flight, as asyncio.Semaphore allows.
    Returns (experiment row, task rows, makespan)."""
    tag = f"{ASYNC}-get"
    progress = Progress(tag, len(inputs))

    async def all_gets():
        in_flight = asyncio.Semaphore(args.workers)

        async def one(i, ms):
            async with in_flight:
                start = time.time()
                try:
                    result = await asyncio.wait_for(http_fetch_async(host, port, ms), timeout=ms / 1000 + 30)
                except Exception as err:
                    raise RunError(f"task {tag}-{i} (input {ms}) failed: {err}") from None
                end = time.time()
            progress.tick()
            return start, end, result, os.getpid(), threading.get_native_id()

        return await asyncio.gather(*(one(i, ms) for i, ms in enumerate(inputs)))

    before = rusage_switches()
    started_at = time.time()
    outcomes = asyncio.run(all_gets())
    finished_at = time.time()
    row = experiment_row(tag, ASYNC, "http_fetch", inputs, args, started_at, finished_at, before)
    print(f"{tag}: http_fetch over {abbreviate(inputs)} with up to {args.workers} in flight on one "
          f"thread ... {finished_at - started_at:.3f} s", flush=True)
    return row, task_rows(tag, inputs, outcomes), finished_at - started_at


def experiment_row(tag, pool, function, inputs, args, started_at, finished_at, before):
    """One row of experiments.csv, as pools writes it."""
    after = rusage_switches()
    return {
        "tag": tag,
        "pool": pool,
        "function": function,
        "inputs": len(inputs),
        # For asyncio: how many requests may be in flight on its one thread.
        "workers": args.workers,
        "start_method": args.start_method if pool == PROCESS else "",
        # CPython's own switch interval, the one its GIL really uses (5 ms unless a
        # program changes it), where pools writes its simulated GIL's.
        "switch_interval_ms": f"{sys.getswitchinterval() * 1000:g}" if pool == GIL else "",
        "started_at": secs(started_at),
        "finished_at": secs(finished_at),
        "makespan": secs(finished_at - started_at),
        "voluntary_switches": after[0] - before[0],
        "involuntary_switches": after[1] - before[1],
        # CPython does not count how often its GIL changes hands.
        "gil_switches": 0,
    }


def task_rows(tag, inputs, outcomes):
    """The per-task rows, in input order, as `pools` writes them.

    Python has no worker index: a ThreadPoolExecutor or ProcessPoolExecutor does not
    number its workers. The index written here is derived: each distinct (pid, tid)
    gets the next number in the order it was first seen starting a task (by start
    time, ties by input order). It is stable for a given file, runs 0..workers, and
    two tasks share it exactly when the same thread of the same process ran them.
    """
    order = sorted(range(len(outcomes)), key=lambda i: (outcomes[i][0], i))
    worker_of = {}
    for i in order:
        start, end, result, pid, tid = outcomes[i]
        worker_of.setdefault((pid, tid), len(worker_of))
    rows = []
    for i, (start, end, result, pid, tid) in enumerate(outcomes):
        rows.append([f"{tag}-{i}", secs(start), secs(end), secs(end - start), result,
                     inputs[i], worker_of[(pid, tid)], pid, tid])
    return rows


def serial_pass(inputs):
    """fibonacci over every input on this thread, no executor: the serial time that
    both languages' runs can be divided by. Returns (task rows, seconds)."""
    progress = Progress(SERIAL_TAG, len(inputs))
    outcomes = []
    started_at = time.time()
    for n in inputs:
        outcomes.append(timed(fibonacci, n))
        progress.tick()
    seconds = time.time() - started_at
    print(f"{SERIAL_TAG}: fibonacci over {abbreviate(inputs)} on one thread ... {seconds:.3f} s", flush=True)
    return task_rows(SERIAL_TAG, inputs, outcomes), seconds


def secs(t):
    """Unix times and durations with microsecond precision, as pools writes them."""
    return f"{t:.6f}"


def abbreviate(values):
    if len(values) <= 2:
        return str(values)
    return f"[{values[0]}, …, {values[-1]}]"


# --- The output folder.


class OutDir:
    """--out, locked for this run with an exclusive `flock` on the folder itself, as
    `pools` locks its own: `report` (which takes a shared lock to read) refuses to
    read a run half-done, and a second run into the same folder is refused."""

    def __init__(self, path):
        try:
            os.makedirs(path, exist_ok=True)
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise RunError(f"cannot use --out folder {path}: {err.strerror}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"--out folder {path} is in use by another run (or a report reading it)") from None
        self.path = path

    def write_csv(self, name, header, rows):
        """Writes `name` atomically: a temporary file in the same folder, synced, then
        renamed over the final name, so a reader sees the old file or the new one.
        The temporary name is the one `pools` gives its own (`.pools-{pid}-XXXXXX.tmp`),
        so that if this run is killed, the next `pools` or `report` run there can
        tell the file belongs to no live process and remove it."""
        final = os.path.join(self.path, name)
        while True:
            suffix = "".join(random.choices(string.ascii_letters + string.digits, k=6))
            temp = os.path.join(self.path, f".pools-{os.getpid()}-{suffix}.tmp")
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
                file.flush()
                os.fdatasync(file.fileno())
            os.replace(temp, final)
        except BaseException:
            # Ctrl-C or a full disk: leave no half-written file behind.
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise


# --- The run.


def run(args):
    binary = find_http_wait(args.http_wait)
    # The server first, while this process has no thread (see DelayServer).
    server = DelayServer(binary)
    try:
        out = OutDir(args.out)
        print(f"GETs go to our delay server at {server.base_url} (pid {server.process.pid})", file=sys.stderr)
        experiments = []
        makespans = {}

        serial_rows, serial_s = serial_pass(args.fib)
        out.write_csv(f"{SERIAL_TAG}.csv", TASK_HEADER, serial_rows)
        work = [
            ("fibonacci", fibonacci, args.fib),
            ("http_fetch", functools.partial(http_fetch, server.url_template), args.get),
        ]
        for function, task, inputs in work:
            for pool in (PROCESS, GIL):
                row, rows, makespan = run_pool(pool, function, task, inputs, args)
                out.write_csv(f"{row['tag']}.csv", TASK_HEADER, rows)
                # Rewritten after each run, so experiments.csv always describes the
                # per-task CSV files beside it.
                experiments = [r for r in experiments if r["tag"] != row["tag"]] + [row]
                out.write_csv("experiments.csv", EXPERIMENT_HEADER,
                              [[r[c] for c in EXPERIMENT_HEADER] for r in experiments])
                makespans[row["tag"]] = makespan
        # The third answer: the same GETs on one thread's event loop.
        host, port = server.base_url.rsplit("//", 1)[1].split(":")
        row, rows, makespan = run_asyncio(host, int(port), args.get, args)
        out.write_csv(f"{row['tag']}.csv", TASK_HEADER, rows)
        experiments.append(row)
        out.write_csv("experiments.csv", EXPERIMENT_HEADER,
                      [[r[c] for c in EXPERIMENT_HEADER] for r in experiments])
        makespans[row["tag"]] = makespan
    finally:
        server.stop()
    conclude(makespans, serial_s, args.out)


def conclude(makespans, serial_s, out):
    """The article's speed-up lines, and each run as a share of the serial time."""
    for short, title in (("fibo", "Fibonacci"), ("get", "HTTP Get")):
        process, threads = makespans[f"process-{short}"], makespans[f"gil-{short}"]
        if threads > 0:
            print(f"Process vs Threads {title} tasks speed-up = {(threads - process) / threads * 100:.2f}%")
        event_loop = makespans.get(f"{ASYNC}-{short}")
        if event_loop:
            print(f"Process vs Async {title} tasks speed-up = {(event_loop - process) / event_loop * 100:.2f}%")
    if serial_s > 0:  # fib(1) alone can take less than the clock's resolution
        print(f"Serial Fibonacci: {serial_s:.3f} s; threads took {makespans['gil-fibo'] / serial_s:.2f}x "
              f"of it, processes {makespans['process-fibo'] / serial_s:.2f}x")
    print(f"CSV files are in {out}/")


def stop_children():
    """Ends the pool's worker processes, each by its pid (they ignore SIGINT)."""
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(timeout=5)


def main(argv=None):
    def on_sigterm(signum, frame):
        raise Interrupted()

    if sys.version_info < (3, 9):  # for shutdown(cancel_futures=...)
        print(f"error: this script needs Python 3.9 or later, not {sys.version.split()[0]}", file=sys.stderr)
        return 2
    try:
        args = parse_args(argv)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        run(args)
    except (UsageError, RunError, OSError) as err:
        stop_children()
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, UsageError) else 1
    except (KeyboardInterrupt, Interrupted):
        # The server was stopped by run's `finally`, the files are whole (each is
        # renamed into place, or its temporary file removed).
        stop_children()
        print("\ninterrupted: the delay server and the workers are stopped; no file was left "
              "half-written", file=sys.stderr, flush=True)
        # At once: a thread pool's threads cannot be stopped, and a normal exit would
        # wait for them to finish their Fibonacci.
        os._exit(130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
