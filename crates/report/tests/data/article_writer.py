"""Writes the four CSV files the article's program writes, the way it writes them.

Our own program, stdlib only, for `tests/article_files.rs`. Like the article's, it
runs each experiment on a `concurrent.futures` pool with one worker per input,
times every task with `time.time()` inside the worker, and writes one row per task
with `csv.writer` (so `\r\n` line ends and Python's `repr` of each float):

    tag,start_time,end_time,elapsed,result

The work is made small for a test: Fibonacci of 15 to 22 instead of 34 to 41, and
a short sleep returning bytes instead of an HTTP GET (the article notes a sleep
shows the same thing). A bytes result prints as `b'...'`, as the GET's does.

    python3 article_writer.py INPUT_DIR EXPECTED_FILE

INPUT_DIR gets the four CSVs. EXPECTED_FILE gets what `report` should derive from
them, worked out here rather than in Rust: per file, the tag, the makespan (last end
minus first start, to the microsecond) and the task tags in order of start time.
"""

import csv
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def fibonacci(n):
    if n <= 1:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)


def timed_fibonacci(n):
    t = time.time()
    result = fibonacci(n)
    return t, time.time(), result


def timed_wait(ms):
    t = time.time()
    time.sleep(ms / 1000)
    # A comma, so that the writer has to quote the field.
    return t, time.time(), f"200 OK, waited {ms} ms".encode()


def run_experiment(executor_class, fn, inputs, folder, tag):
    rows = []
    with open(os.path.join(folder, tag + ".csv"), "w") as fp:
        writer = csv.writer(fp, delimiter=",", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["tag", "start_time", "end_time", "elapsed", "result"])
        with executor_class(max_workers=len(inputs)) as executor:
            for i, (start, end, result) in enumerate(executor.map(fn, inputs)):
                writer.writerow([f"{tag}-{i}", start, end, end - start, result])
                rows.append((f"{tag}-{i}", start, end))
    makespan = max(r[2] for r in rows) - min(r[1] for r in rows)
    # `sorted` is stable, like the sort in report: tasks that started at the same
    # instant keep the order of the file.
    order = [r[0] for r in sorted(rows, key=lambda r: r[1])]
    return f"{tag} {makespan:.6f} {' '.join(order)}"


def main():
    folder, expected = sys.argv[1], sys.argv[2]
    fib_inputs = list(range(15, 23))
    wait_inputs = list(range(10, 90, 10))
    lines = [
        run_experiment(ProcessPoolExecutor, timed_fibonacci, fib_inputs, folder, "process-fibo"),
        run_experiment(ThreadPoolExecutor, timed_fibonacci, fib_inputs, folder, "thread-fibo"),
        run_experiment(ProcessPoolExecutor, timed_wait, wait_inputs, folder, "process-get"),
        run_experiment(ThreadPoolExecutor, timed_wait, wait_inputs, folder, "thread-get"),
    ]
    with open(expected, "w") as fp:
        fp.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
