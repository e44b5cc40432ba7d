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

use crate::chart::lanes::{Bar, Group, Lane, Lanes};
use plotters::style::RGBColor;

/// A put that did not block.
const PUT: RGBColor = RGBColor(70, 130, 180);
/// A put that blocked because the queue was full.
const BLOCKED: RGBColor = RGBColor(214, 39, 40);
/// A get, and a process waiting at the barrier.
const GET: RGBColor = RGBColor(44, 160, 44);
/// The meeting line of a barrier round.
const MEET: RGBColor = RGBColor(90, 90, 90);

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// The producer/consumer timeline: one lane of puts (blocked ones in their own
/// colour, from the put's start to its end) and one lane of gets.
pub fn queue_lanes(rows: &[QueueRow]) -> Lanes {
    let end = rows
        .iter()
        .map(|r| r.got_ns.max(r.put_end_ns))
        .max()
        .unwrap_or(0);
    // A get is an instant; it is drawn as a thin bar, 0.4 % of the axis wide.
    let tick = (ms(end) * 0.004).max(1e-6);
    let puts = rows
        .iter()
        .map(|r| Bar {
            start: ms(r.put_start_ns),
            end: ms(r.put_end_ns).max(ms(r.put_start_ns) + tick),
            color: if r.put_waited == 1 { BLOCKED } else { PUT },
            text: None,
        })
        .collect();
    let gets = rows
        .iter()
        .map(|r| Bar {
            start: ms(r.got_ns),
            end: ms(r.got_ns) + tick,
            color: GET,
            text: None,
        })
        .collect();
    Lanes {
        title: "Queue: the producer's puts wait while the queue is full".into(),
        x_desc: "time since the first put (ms)".into(),
        y_desc: String::new(),
        x_range: 0.0..ms(end) + tick,
        legend: vec![
            ("put".into(), PUT),
            ("put blocked: queue full".into(), BLOCKED),
            ("get".into(), GET),
        ],
        lanes: vec![
            Lane {
                label: "producer".into(),
                bars: puts,
            },
            Lane {
                label: "consumer".into(),
                bars: gets,
            },
        ],
        groups: Vec::new(),
        note: None,
    }
}

/// One lane per process; per round a bar from its arrival to its departure, and a
/// line at each round's last arrival, where every process meets.
pub fn barrier_lanes(rows: &[BarrierRow]) -> Lanes {
    let processes = rows.iter().map(|r| r.process).max().map_or(0, |p| p + 1);
    let end = rows.iter().map(|r| r.depart_ns).max().unwrap_or(0);
    let tick = (ms(end) * 0.004).max(1e-6);
    let lanes = (0..processes)
        .map(|process| Lane {
            label: format!("process {process}"),
            bars: rows
                .iter()
                .filter(|r| r.process == process)
                .map(|r| Bar {
                    start: ms(r.arrive_ns),
                    end: ms(r.depart_ns).max(ms(r.arrive_ns) + tick),
                    color: GET,
                    text: None,
                })
                .collect(),
        })
        .collect();
    let groups = meeting_lines(rows)
        .into_iter()
        .map(|(round, at)| Group {
            lanes: 0..processes as usize,
            at: Some(ms(at)),
            note: format!("round {round}"),
            color: MEET,
        })
        .collect();
    Lanes {
        title: "Barrier: each process waits from its arrival until the last one arrives".into(),
        x_desc: "time since the first arrival (ms)".into(),
        y_desc: String::new(),
        x_range: 0.0..ms(end) + tick,
        legend: vec![
            ("waiting at the barrier".into(), GET),
            ("last arrival of the round".into(), MEET),
        ],
        lanes,
        groups,
        note: None,
    }
}

#[cfg(test)]
mod figure_tests {
    use super::*;

    #[test]
    fn both_figures_render_as_png() {
        let q = [
            QueueRow {
                item: 0,
                put_start_ns: 0,
                put_end_ns: 1_000,
                put_waited: 0,
                got_ns: 2_000_000,
            },
            QueueRow {
                item: 1,
                put_start_ns: 2_000,
                put_end_ns: 1_900_000,
                put_waited: 1,
                got_ns: 3_000_000,
            },
        ];
        let lanes = queue_lanes(&q);
        assert_eq!(lanes.lanes[0].bars[1].color, BLOCKED);
        let png = crate::chart::render_png(&lanes, "queue-timeline.png").unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let b = [
            BarrierRow {
                round: 0,
                process: 0,
                arrive_ns: 0,
                depart_ns: 5_000_000,
            },
            BarrierRow {
                round: 0,
                process: 1,
                arrive_ns: 4_900_000,
                depart_ns: 5_000_000,
            },
        ];
        let lanes = barrier_lanes(&b);
        assert_eq!(lanes.lanes.len(), 2);
        assert_eq!(lanes.groups[0].at, Some(4.9));
        let png = crate::chart::render_png(&lanes, "barrier-lanes.png").unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        if let Ok(dir) = std::env::var("ISOLATION_PNG_DIR") {
            std::fs::write(format!("{dir}/barrier.png"), &png).unwrap();
            let png = crate::chart::render_png(&queue_lanes(&q), "q").unwrap();
            std::fs::write(format!("{dir}/queue.png"), &png).unwrap();
        }
    }
}

/// If `input` holds `queue.csv` or `barrier.csv` and no other CSV (no `pools`
/// files), draws `queue-timeline.png` and `barrier-lanes.png` for those present
/// into `out` and returns one line per file written; otherwise `None`, and the
/// folder is read as `pools` results.
pub fn draw_folder(input: &Path, out: &Path) -> Result<Option<Vec<String>>, ReportError> {
    let Ok(entries) = std::fs::read_dir(input) else {
        return Ok(None);
    };
    let csvs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    let ours = |name: &String| name == "queue.csv" || name == "barrier.csv";
    if csvs.is_empty() || !csvs.iter().all(ours) {
        return Ok(None);
    }
    let open = |path: &Path| {
        std::fs::File::open(path).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut figures = Vec::new();
    let queue = input.join("queue.csv");
    if queue.is_file() {
        let rows = read_queue(&queue, open(&queue)?)?;
        figures.push((
            "queue-timeline.png",
            queue_lanes(&rows),
            rows.len(),
            "items",
        ));
    }
    let barrier = input.join("barrier.csv");
    if barrier.is_file() {
        let rows = read_barrier(&barrier, open(&barrier)?)?;
        figures.push((
            "barrier-lanes.png",
            barrier_lanes(&rows),
            rows.len(),
            "visits",
        ));
    }
    let mut lines = vec![format!(
        "{} holds only isolation-demo files: drawing just their figures",
        input.display()
    )];
    for (name, lanes, count, what) in figures {
        let png = crate::chart::render_png(&lanes, name)?;
        let path = crate::files::write_atomically(out, name, &png)?;
        lines.push(format!("wrote {} ({count} {what})", path.display()));
    }
    Ok(Some(lines))
}
