//! Reads the two CSVs that `isolation-demo` writes: `queue.csv` (one row per item
//! put on the queue and got from it) and `barrier.csv` (one row per process and
//! round at the barrier). Times are ns of CLOCK_MONOTONIC since the run's first
//! event. The figures drawn from them are not written yet.

use std::path::Path;

use serde::Deserialize;

use crate::error::ReportError;
use crate::load::read_rows;

/// The columns of `queue.csv`, in order.
pub const QUEUE_COLUMNS: [&str; 5] = ["item", "put_start_ns", "put_end_ns", "put_waited", "got_ns"];

/// The columns of `barrier.csv`, in order.
pub const BARRIER_COLUMNS: [&str; 4] = ["round", "process", "arrive_ns", "depart_ns"];

/// One item of `queue.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueueRow {
    /// The item's index, from 0.
    pub item: u64,
    /// When the producer began to put it, ns since the first put.
    pub put_start_ns: u64,
    /// When the put returned, ns since the first put.
    pub put_end_ns: u64,
    /// 1 if the put blocked because the queue was full, else 0.
    pub put_waited: u8,
    /// When the consumer got it, ns since the first put.
    pub got_ns: u64,
}

/// One process's visit to the barrier in one round, from `barrier.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BarrierRow {
    /// The round, from 0.
    pub round: u64,
    /// The process's index, from 0.
    pub process: u64,
    /// When it reached the barrier, ns since the first arrival.
    pub arrive_ns: u64,
    /// When it left the barrier, ns since the first arrival.
    pub depart_ns: u64,
}

fn row_error(path: &Path, line: u64, message: String) -> ReportError {
    ReportError::Row {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Reads `queue.csv` text; refuses a put that ends before it starts, a
/// `put_waited` other than 0 or 1, and a get before its put began.
pub fn read_queue(path: &Path, input: impl std::io::Read) -> Result<Vec<QueueRow>, ReportError> {
    let rows = read_rows::<QueueRow>(path, input, &QUEUE_COLUMNS)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        if row.put_end_ns < row.put_start_ns {
            return Err(row_error(
                path,
                line,
                "the put ends before it starts (put_end_ns < put_start_ns)".into(),
            ));
        }
        if row.put_waited > 1 {
            return Err(row_error(
                path,
                line,
                format!("put_waited = {} is not 0 or 1", row.put_waited),
            ));
        }
        if row.got_ns < row.put_start_ns {
            return Err(row_error(
                path,
                line,
                "the item is got before its put starts (got_ns < put_start_ns)".into(),
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// Reads `barrier.csv` text; refuses a departure before its arrival.
pub fn read_barrier(
    path: &Path,
    input: impl std::io::Read,
) -> Result<Vec<BarrierRow>, ReportError> {
    let rows = read_rows::<BarrierRow>(path, input, &BARRIER_COLUMNS)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        if row.depart_ns < row.arrive_ns {
            return Err(row_error(
                path,
                line,
                "the process leaves before it arrives (depart_ns < arrive_ns)".into(),
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// Each round's last arrival (the meeting line), by round in increasing order.
pub fn meeting_lines(rows: &[BarrierRow]) -> Vec<(u64, u64)> {
    let mut lines = std::collections::BTreeMap::new();
    for row in rows {
        let last = lines.entry(row.round).or_insert(row.arrive_ns);
        *last = (*last).max(row.arrive_ns);
    }
    lines.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_rows_are_read_and_checked() {
        let text = "item,put_start_ns,put_end_ns,put_waited,got_ns\n0,0,10,0,20\n1,15,90,1,95\n";
        let rows = read_queue(Path::new("q.csv"), text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].put_waited, 1);
        let bad = "item,put_start_ns,put_end_ns,put_waited,got_ns\n0,0,10,2,20\n";
        let err = read_queue(Path::new("q.csv"), bad.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "q.csv:2: put_waited = 2 is not 0 or 1");
        let bad = "item,put_start_ns,put_end_ns,put_waited,got_ns\n0,0,x,0,20\n";
        let err = read_queue(Path::new("q.csv"), bad.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("q.csv:2:"), "{err}");
        assert!(err.to_string().contains("put_end_ns"), "{err}");
        assert_eq!(err.to_string().lines().count(), 1);
    }

    #[test]
    fn barrier_rows_give_each_rounds_meeting_line() {
        let text = "round,process,arrive_ns,depart_ns\n0,0,0,50\n0,1,40,51\n1,0,60,99\n1,1,98,99\n";
        let rows = read_barrier(Path::new("b.csv"), text.as_bytes()).unwrap();
        assert_eq!(meeting_lines(&rows), [(0, 40), (1, 98)]);
        let bad = "round,process,arrive_ns,depart_ns\n0,0,50,40\n";
        let err = read_barrier(Path::new("b.csv"), bad.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.csv:2: the process leaves before it arrives (depart_ns < arrive_ns)"
        );
    }
}
