//! The results contract end to end: what `pools` writes, `report` reads back.
//!
//! Real runs of the thread and GIL pools (no process pool: a test harness has
//! threads, and a fork from a threaded process is what the process pool avoids),
//! written by `pools::output`'s real writers, loaded by `report::load`, and compared
//! value by value.

use std::path::Path;
use std::time::Duration;

use pools::experiment::{Outcome, PoolConfig, run};
use pools::{Fibonacci, PoolKind, StartMethod, TaskRecord, output};
use report::model::ExperimentRecord;
use report::{Pool, Workload};

/// Times are written to the microsecond: a value read back may differ by half of one.
const WRITTEN_PRECISION_S: f64 = 0.5e-6;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= WRITTEN_PRECISION_S + f64::EPSILON * a.abs()
}

/// Runs `fibonacci` over `inputs` on `pool` and writes its files into `dir`, the way
/// the `pools` binary does; returns what was written.
fn run_and_write(
    dir: &Path,
    pool: PoolKind,
    inputs: &[u32],
) -> (Outcome<u64>, Vec<TaskRecord<u64>>) {
    let config = PoolConfig {
        kind: pool,
        workers: 2,
        start_method: StartMethod::Fork,
        switch_interval: Duration::from_millis(1),
        task_timeout: None,
    };
    let mut outcome = run(&config, "fibo", &Fibonacci, inputs, &|| {}).unwrap();
    let tasks: Vec<_> = std::mem::take(&mut outcome.tasks)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let tag = &outcome.record.tag;
    output::write_tasks(
        &results::layout::task_file(dir, pool, Workload::Fibo),
        tag,
        inputs,
        &tasks,
    )
    .unwrap();
    if pool == PoolKind::Gil {
        output::write_held(
            &results::layout::held_file(dir, Workload::Fibo),
            &outcome.held,
        )
        .unwrap();
    }
    (outcome, tasks)
}

/// Every task, experiment row and GIL interval that `pools` writes comes back from
/// `report::load` with the same values (times to the microsecond they are written
/// with).
#[test]
fn what_pools_writes_report_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [18, 20, 19, 21, 17];
    let written = [
        run_and_write(dir.path(), PoolKind::Thread, &inputs),
        run_and_write(dir.path(), PoolKind::Gil, &inputs),
    ];
    let records: Vec<ExperimentRecord> = written.iter().map(|(o, _)| o.record.clone()).collect();
    output::write_experiments(&results::layout::experiments_file(dir.path()), &records).unwrap();

    let loaded = report::load(dir.path()).unwrap();
    assert_eq!(loaded.experiments.len(), 2);
    for (outcome, tasks) in &written {
        let pool: Pool = outcome.record.pool;
        let experiment = loaded.experiment(pool, Workload::Fibo).unwrap();

        // The summary row: every field, times to the microsecond.
        let read = experiment.summary.as_ref().unwrap();
        let sent = &outcome.record;
        assert_eq!(
            (
                &read.tag,
                read.pool,
                &read.function,
                read.inputs,
                read.workers
            ),
            (
                &sent.tag,
                sent.pool,
                &sent.function,
                sent.inputs,
                sent.workers
            )
        );
        assert_eq!(read.start_method, sent.start_method);
        assert_eq!(read.switch_interval_ms, sent.switch_interval_ms);
        assert!(close(read.started_at, sent.started_at));
        assert!(close(read.finished_at, sent.finished_at));
        assert!(close(read.makespan, sent.makespan));
        assert_eq!(
            (
                read.voluntary_switches,
                read.involuntary_switches,
                read.gil_switches
            ),
            (
                sent.voluntary_switches,
                sent.involuntary_switches,
                sent.gil_switches
            )
        );

        // The tasks: `report` sorts them by start time, so match them by tag.
        assert_eq!(experiment.tasks.len(), tasks.len());
        for task in tasks {
            let tag = format!("{}-{}", sent.tag, task.index);
            let row = experiment.tasks.iter().find(|r| r.tag == tag).unwrap();
            assert!(close(row.start_time, task.start), "{tag}");
            assert!(close(row.end_time, task.end), "{tag}");
            assert!(close(row.elapsed, task.elapsed()), "{tag}");
            assert_eq!(row.result, task.output.to_string());
            assert_eq!(row.input, u64::from(inputs[task.index]));
            assert_eq!(
                (row.worker, row.pid, row.tid),
                (task.worker, task.pid, task.tid)
            );
        }
    }

    // The GIL's intervals, in the order `report` sorts them (by acquisition).
    let sent = &written[1].0.held;
    let read = loaded.held(Workload::Fibo).unwrap();
    assert!(!sent.is_empty());
    assert_eq!(read.len(), sent.len());
    let mut sent = sent.clone();
    sent.sort_by(|a, b| a.acquired_at.total_cmp(&b.acquired_at));
    for (read, sent) in read.iter().zip(&sent) {
        assert_eq!((read.worker, read.tid), (sent.worker, sent.tid));
        assert!(close(read.acquired_at, sent.acquired_at));
        assert!(close(read.released_at, sent.released_at));
    }
}

/// The header line of each file `pools` writes, exactly: the columns the reader
/// checks, in the order the article's pandas code and `report` expect.
#[test]
fn the_writer_writes_the_columns_the_reader_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, _) = run_and_write(dir.path(), PoolKind::Gil, &[10, 11]);
    output::write_experiments(
        &results::layout::experiments_file(dir.path()),
        &[outcome.record],
    )
    .unwrap();
    let header = |name: &str| {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        text.lines().next().unwrap().to_owned()
    };
    let expected = [
        (
            "gil-fibo.csv",
            "tag,start_time,end_time,elapsed,result,input,worker,pid,tid",
            &results::layout::TASK_COLUMNS[..],
        ),
        (
            "experiments.csv",
            "tag,pool,function,inputs,workers,start_method,switch_interval_ms,started_at,\
             finished_at,makespan,voluntary_switches,involuntary_switches,gil_switches",
            &results::layout::EXPERIMENT_COLUMNS[..],
        ),
        (
            "gil-fibo-held.csv",
            "worker,tid,acquired_at,released_at",
            &results::layout::HELD_COLUMNS[..],
        ),
    ];
    for (name, text, columns) in expected {
        assert_eq!(header(name), text, "{name}");
        assert_eq!(columns.join(","), text, "{name}");
    }
}
