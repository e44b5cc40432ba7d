#!/usr/bin/env python3
"""Python's side of chapter 7: multiprocessing.Value loses updates without its lock.

    python3 scripts/value_race.py                       # 4 processes x 100000, under a second
    python3 scripts/value_race.py --processes 2 --increments 1000000 --method raw

The claim: N processes each add 1, M times, to one shared 64-bit integer.
  raw       a RawValue('q') (the same as Value('q', lock=False)), `v.value += 1`:
            a read, then a write; updates are lost, the count comes out short.
  value     a Value('q') with its default lock, still `v.value += 1`: the lock is
            taken for the read and again for the write, never across both, so
            updates are lost all the same.
  get_lock  the same Value, `with v.get_lock(): v.value += 1`: the lock is held
            across the read and the write, so the count is exact, at a price.

It prints, for each method, the expected count, the count reached, the updates lost
and the nanoseconds per increment: the time from the moment the last process got
past a start gate (a multiprocessing.Barrier) to the last one's finish, divided by
all N x M increments, as `isolation-demo race` times it. Starting the processes is
not timed. A closed stdout (`| head -3`) ends the run quietly, with status 0.

Only the standard library is used; it needs Python 3.8 or later.
"""

import argparse
import multiprocessing
import os
import sys
import time

# Every size a user can type has a bound, checked before anything starts.
MAX_PROCESSES = 64
MAX_INCREMENTS = 10_000_000
# All increments of one method: with the lock, CPython takes about a microsecond
# each on this machine, so this keeps a run of all three under a minute.
MAX_TOTAL = 10_000_000

METHODS = ("raw", "value", "get_lock")


def bounded_int(low, high):
    """An argparse type: an integer from low to high, refused otherwise."""

    def parse(text):
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} is not between {low} and {high}")
        return n

    return parse


def add(method, counter, increments):
    """Adds 1 to counter, increments times, the way method says."""
    if method == "get_lock":
        lock = counter.get_lock()
        for _ in range(increments):
            # The fix: one lock held across the read and the write.
            with lock:
                counter.value += 1
    else:
        for _ in range(increments):
            # The problem: a read, then a write. Another process may write between
            # them, and this write then overwrites its increment.
            counter.value += 1


def participant(method, counter, increments, gate, started, finished, index):
    gate.wait()
    started[index] = time.monotonic()
    add(method, counter, increments)
    finished[index] = time.monotonic()


def race(method, processes, increments, ctx):
    """Runs one method; returns (reached, seconds)."""
    if method == "raw":
        counter = ctx.RawValue("q", 0)
    else:
        counter = ctx.Value("q", 0)
    # One slot per participant for the time it passed the gate, one for its finish.
    # time.monotonic() is CLOCK_MONOTONIC, one clock for every process on the machine.
    started = ctx.RawArray("d", processes)
    finished = ctx.RawArray("d", processes)
    gate = ctx.Barrier(processes + 1)
    workers = [
        ctx.Process(target=participant, args=(method, counter, increments, gate, started, finished, i))
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    try:
        # The parent passes the gate too, so that nobody starts before all are there.
        gate.wait(timeout=60)
    except BaseException:
        for w in workers:
            w.kill()
        raise
    for w in workers:
        w.join()
    dead = [w for w in workers if w.exitcode != 0]
    if dead:
        raise RuntimeError(f"participant pid {dead[0].pid} ended with exit code {dead[0].exitcode}")
    # From the moment the last participant passed the gate to the last finish.
    return counter.value, max(finished) - max(started)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="N processes add 1 to one multiprocessing.Value, M times each: "
        "without its lock held across the read and the write, updates are lost."
    )
    parser.add_argument(
        "--processes",
        type=bounded_int(1, MAX_PROCESSES),
        default=4,
        help=f"how many processes race (1 to {MAX_PROCESSES}; default 4)",
    )
    parser.add_argument(
        "--increments",
        type=bounded_int(1, MAX_INCREMENTS),
        default=100_000,
        help=f"how many times each adds 1 (1 to {MAX_INCREMENTS}; default 100000; "
        f"processes x increments at most {MAX_TOTAL})",
    )
    parser.add_argument(
        "--method",
        choices=METHODS + ("all",),
        default="all",
        help="raw: RawValue, v.value += 1; value: Value with its lock, v.value += 1; "
        "get_lock: with v.get_lock(): v.value += 1; all: the three in turn (default)",
    )
    parser.add_argument(
        "--start-method",
        choices=("fork", "spawn", "forkserver"),
        default="fork",
        help="how multiprocessing starts each process (default fork)",
    )
    args = parser.parse_args(argv)
    total = args.processes * args.increments
    if total > MAX_TOTAL:
        parser.error(f"--processes x --increments is {total}, more than {MAX_TOTAL}")

    ctx = multiprocessing.get_context(args.start_method)
    methods = METHODS if args.method == "all" else (args.method,)
    print(
        f"Value race: {args.processes} processes (started by {args.start_method}) each add 1 "
        f"to one shared 64-bit integer {args.increments} times; an exact count is {total}."
    )
    print(f"{'method':<10}{'expected':>12}{'reached':>12}{'lost':>12}{'ns/increment':>16}")
    results = {}
    for method in methods:
        reached, seconds = race(method, args.processes, args.increments, ctx)
        results[method] = reached
        print(
            f"{method:<10}{total:>12}{reached:>12}{total - reached:>12}"
            f"{seconds * 1e9 / total:>16.1f}"
        )
    explain = {
        "raw": "RawValue, v.value += 1: a read, then a write, with nothing in between "
        "to stop another process; ",
        "value": "Value with its lock, v.value += 1: the lock guards the read and the "
        "write one at a time, not the two together; ",
        "get_lock": "with v.get_lock(): v.value += 1: the lock is held across the read "
        "and the write, one process at a time; ",
    }
    for method in methods:
        lost = total - results[method]
        outcome = "exact." if lost == 0 else f"{lost} updates lost."
        print(f"{method}: {explain[method]}{outcome}")
    if any(total - results[m] == 0 for m in ("raw", "value") if m in results):
        print(
            "An unlocked method can come out exact when the processes happen not to "
            "overlap (few increments, or a busy machine); run it again or with more."
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from
        # reporting the failed flush of stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except (RuntimeError, OSError) as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)
