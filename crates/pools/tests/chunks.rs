//! `chunksize` on the thread and GIL pools: results stay in input order, a chunk is
//! claimed whole, a failing task fails alone, and every task keeps its own row and
//! times. (The process pool's checks are in `process_pool.rs`, which may fork.)

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use pools::{
    Chunksize, Context, Executor, Fibonacci, GilThreadPool, TaskError, TaskRecord, ThreadPool,
};
use serde::{Deserialize, Serialize};

/// The chunksizes every check runs with.
fn chunksizes() -> Vec<Chunksize> {
    let mut sizes: Vec<Chunksize> = ["1", "3", "7", "64"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    sizes.push(Chunksize::Auto);
    sizes
}

/// Runs `check` on a thread pool and a GIL pool of `workers`.
fn on_both_pools(
    workers: usize,
    mut check: impl FnMut(&str, &mut dyn FnMut(Chunksize) -> Vec<pools::TaskResult<u64>>),
) {
    let inputs: Vec<u32> = (0..300).map(|i| (1 + i * 7 % 20) as u32).collect();
    let mut thread = ThreadPool::new(workers).unwrap();
    check("thread", &mut |c| {
        thread.map_chunked(&Fibonacci, &inputs, c)
    });
    let mut gil = GilThreadPool::new(workers, pools::DEFAULT_SWITCH_INTERVAL).unwrap();
    check("gil", &mut |c| gil.map_chunked(&Fibonacci, &inputs, c));
}

fn unwrap_all<O: std::fmt::Debug>(results: Vec<pools::TaskResult<O>>) -> Vec<TaskRecord<O>> {
    results.into_iter().map(|r| r.unwrap()).collect()
}

/// Every chunksize gives every result, at its input's index.
#[test]
fn results_are_in_input_order_for_every_chunksize() {
    let expected: Vec<u64> = (0..300)
        .map(|i| fib::fibonacci((1 + i * 7 % 20) as u32).unwrap())
        .collect();
    on_both_pools(3, |pool, map| {
        for chunksize in chunksizes() {
            let records = unwrap_all(map(chunksize));
            let indices: Vec<usize> = records.iter().map(|r| r.index).collect();
            assert_eq!(indices, (0..300).collect::<Vec<_>>(), "{pool} {chunksize}");
            let values: Vec<u64> = records.iter().map(|r| r.output).collect();
            assert_eq!(values, expected, "{pool} {chunksize}");
        }
    });
}

/// A chunk is claimed as a unit: with chunksize 7, the inputs 7k to 7k+6 all ran on
/// one worker, one after another on its thread, in order; and each has its own times.
#[test]
fn a_chunk_is_claimed_whole_and_each_task_keeps_its_own_times() {
    on_both_pools(2, |pool, map| {
        let records = unwrap_all(map("7".parse().unwrap()));
        for chunk in records.chunks(7) {
            let worker = chunk[0].worker;
            assert!(
                chunk
                    .iter()
                    .all(|r| r.worker == worker && r.tid == chunk[0].tid),
                "{pool}: chunk from {} ran on several workers",
                chunk[0].index
            );
            for pair in chunk.windows(2) {
                assert!(pair[0].start <= pair[0].end, "{pool}: {}", pair[0].index);
                assert!(
                    pair[0].end <= pair[1].start,
                    "{pool}: tasks {} and {} of one chunk overlap",
                    pair[0].index,
                    pair[1].index
                );
            }
        }
    });
}

/// A task that fails or panics on some inputs.
#[derive(Debug, Serialize, Deserialize)]
struct FailOn;

impl pools::Task for FailOn {
    type Input = u32;
    type Output = u32;
    const NAME: &'static str = "fail_on";

    fn run(&self, n: &u32, _cx: &mut impl Context) -> Result<u32, pools::TaskFailure> {
        match n {
            5 => Err("told to fail".into()),
            6 => panic!("told to panic"),
            n => Ok(*n),
        }
    }
}

/// A failing and a panicking task in the middle of a chunk fail alone: the rest of
/// their chunk, and the other chunks, succeed.
#[test]
fn a_failing_task_inside_a_chunk_fails_alone() {
    let inputs: Vec<u32> = (0..20).collect();
    for chunksize in chunksizes() {
        let mut thread = ThreadPool::new(2).unwrap();
        let mut gil = GilThreadPool::new(2, pools::DEFAULT_SWITCH_INTERVAL).unwrap();
        for (pool, results) in [
            ("thread", thread.map_chunked(&FailOn, &inputs, chunksize)),
            ("gil", gil.map_chunked(&FailOn, &inputs, chunksize)),
        ] {
            for (i, result) in results.iter().enumerate() {
                match (i, result) {
                    (5, Err(TaskError::Failed(m))) => assert_eq!(m, "told to fail"),
                    (6, Err(TaskError::Failed(m))) => assert!(m.contains("told to panic")),
                    (5 | 6, other) => panic!("{pool} {chunksize}: task {i}: {other:?}"),
                    (_, Ok(r)) => assert_eq!(r.output, i as u32, "{pool} {chunksize}"),
                    (_, Err(e)) => panic!("{pool} {chunksize}: task {i} failed: {e}"),
                }
            }
        }
    }
}

/// `pools --chunksize 8` writes one CSV row per task, with its own times, and the
/// worker column shows the chunks: inputs 8k to 8k+7 ran on one worker.
#[test]
fn the_csv_has_one_row_per_task_under_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("pools")
        .unwrap()
        .args([
            "--experiment",
            "fib",
            "--fib-inputs",
            "5..15",
            "--repeat",
            "20",
        ])
        .args(["--pools", "process,thread,gil", "--workers", "2"])
        .args(["--chunksize", "8", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("among 2 workers, in chunks of 8"),
        "{stdout}"
    );
    for pool in ["process", "thread", "gil"] {
        let mut reader =
            csv::Reader::from_path(dir.path().join(format!("{pool}-fibo.csv"))).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 200, "{pool}");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(&row[0], format!("{pool}-fibo-{i}"), "{pool}");
            let (start, end): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
            assert!(start <= end, "{pool} row {i}");
        }
        for chunk in rows.chunks(8) {
            assert!(
                chunk
                    .iter()
                    .all(|r| r[6] == chunk[0][6] && r[7] == chunk[0][7]),
                "{pool}: a chunk from {} ran on several workers",
                &chunk[0][0]
            );
        }
    }
}
