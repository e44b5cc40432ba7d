//! Reads the CSVs that `isolation-demo` writes, and draws their figures:
//! - `race-processes.csv` and `race-threads.csv` (one row per method of one run of
//!   `race`, without and with `--threads`): [`crate::chart::race`], `race.png`;
//! - `queue.csv` (one row per item put on the queue and got from it):
//!   [`crate::chart::queue`], `queue-timeline.png`;
//! - `barrier.csv` (one row per process and round at the barrier):
//!   [`crate::chart::barrier`], `barrier-lanes.png`.
//!
//! Times in the queue and barrier files are ns of CLOCK_MONOTONIC since the run's
//! first event. Every row is checked before anything is drawn; a bad one is refused
//! in one line that names the file, the line and the column.

use std::path::Path;

use serde::Deserialize;

use crate::error::ReportError;
use crate::load::read_rows;

/// The columns of `queue.csv`, in order.
pub const QUEUE_COLUMNS: [&str; 5] = ["item", "put_start_ns", "put_end_ns", "put_waited", "got_ns"];

/// The columns of `barrier.csv`, in order.
pub const BARRIER_COLUMNS: [&str; 4] = ["round", "process", "arrive_ns", "depart_ns"];

/// The columns of `race-processes.csv` and `race-threads.csv`, in order (the
/// writer's are `isolation_demo::race::CSV_COLUMNS`; the round trip is tested by
/// `tests/isolation.rs` on the real binary).
pub const RACE_COLUMNS: [&str; 10] = [
    "mode",
    "start_method",
    "method",
    "participants",
    "increments_each",
    "expected",
    "reached",
    "lost",
    "seconds",
    "ns_per_increment",
];

/// The three ways `race` adds 1, in the order the figure shows them.
pub const RACE_METHODS: [&str; 3] = ["none", "atomic", "lock"];

/// Who raced in a race file: its `mode`, and the file it is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaceMode {
    /// `race-processes.csv`: child processes, forked or spawned.
    Processes,
    /// `race-threads.csv`: threads of one process (`race --threads`).
    Threads,
}

impl RaceMode {
    /// Both, in the order the figure pairs their bars.
    pub const ALL: [RaceMode; 2] = [RaceMode::Processes, RaceMode::Threads];

    /// The `mode` column's value.
    pub fn name(self) -> &'static str {
        match self {
            RaceMode::Processes => "processes",
            RaceMode::Threads => "threads",
        }
    }

    /// The file `isolation-demo race --out DIR` writes for this mode.
    pub fn file_name(self) -> &'static str {
        match self {
            RaceMode::Processes => "race-processes.csv",
            RaceMode::Threads => "race-threads.csv",
        }
    }
}

/// One method's run, from a race file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RaceRow {
    /// `processes` or `threads`; must match the file's name.
    pub mode: String,
    /// `fork` or `spawn` for processes; empty for threads.
    pub start_method: String,
    /// `none`, `atomic` or `lock`.
    pub method: String,
    /// How many processes or threads raced.
    pub participants: u64,
    /// How many times each added 1.
    pub increments_each: u64,
    /// participants × increments_each: what an exact count reaches.
    pub expected: u64,
    /// What the counter reached (never more than expected).
    pub reached: u64,
    /// expected − reached: the updates lost.
    pub lost: u64,
    /// The timed part of the run, in seconds.
    pub seconds: f64,
    /// Wall-clock nanoseconds per increment, over all participants.
    pub ns_per_increment: f64,
}

impl RaceRow {
    /// The count reached as a share of the expected count, 0 to 1.
    pub fn share(&self) -> f64 {
        self.reached as f64 / self.expected.max(1) as f64
    }
}

/// Reads a race file written for `mode`; refuses a row of another mode or an
/// unknown method, a method twice (so at most three rows), counts that do not add
/// up, and a time that is negative or not a number. A file with a header only is
/// refused too: it has nothing to draw.
pub fn read_race(
    path: &Path,
    mode: RaceMode,
    input: impl std::io::Read,
) -> Result<Vec<RaceRow>, ReportError> {
    let rows = read_rows::<RaceRow>(path, input, &RACE_COLUMNS)?;
    let mut out: Vec<RaceRow> = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        let bad = |message: String| Err(row_error(path, line, message));
        if row.mode != mode.name() {
            return bad(format!(
                "mode = {:?}, but {} holds only {} rows",
                row.mode,
                mode.file_name(),
                mode.name()
            ));
        }
        let start_methods: &[&str] = match mode {
            RaceMode::Processes => &["fork", "spawn"],
            RaceMode::Threads => &[""],
        };
        if !start_methods.contains(&row.start_method.as_str()) {
            return bad(format!(
                "start_method = {:?} is not {} for {}",
                row.start_method,
                match mode {
                    RaceMode::Processes => "fork or spawn",
                    RaceMode::Threads => "empty",
                },
                mode.name()
            ));
        }
        if !RACE_METHODS.contains(&row.method.as_str()) {
            return bad(format!(
                "method = {:?} is not none, atomic or lock",
                row.method
            ));
        }
        if out.iter().any(|r| r.method == row.method) {
            return bad(format!(
                "method = {} a second time: a run has one row per method",
                row.method
            ));
        }
        if row.participants == 0 || row.increments_each == 0 {
            return bad("participants and increments_each must be at least 1".into());
        }
        if row.participants.checked_mul(row.increments_each) != Some(row.expected) {
            return bad(format!(
                "expected = {} is not participants × increments_each ({} × {})",
                row.expected, row.participants, row.increments_each
            ));
        }
        if row.reached > row.expected {
            return bad(format!(
                "reached = {} is more than expected = {}: a race loses updates, it never \
                 invents one",
                row.reached, row.expected
            ));
        }
        if row.lost != row.expected - row.reached {
            return bad(format!(
                "lost = {} is not expected − reached ({} − {})",
                row.lost, row.expected, row.reached
            ));
        }
        for (column, value) in [
            ("seconds", row.seconds),
            ("ns_per_increment", row.ns_per_increment),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(format!("{column} = {value} is not a time of 0 or more"));
            }
        }
        out.push(row);
    }
    if out.is_empty() {
        return Err(row_error(
            path,
            1,
            "a header and no rows: nothing to draw".into(),
        ));
    }
    Ok(out)
}

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

/// Reads `queue.csv` text; refuses items out of order, a put that ends before it
/// starts, a `put_waited` other than 0 or 1, a get before its put began, and a file
/// with no rows.
pub fn read_queue(path: &Path, input: impl std::io::Read) -> Result<Vec<QueueRow>, ReportError> {
    let rows = read_rows::<QueueRow>(path, input, &QUEUE_COLUMNS)?;
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        if row.item != out.len() as u64 {
            return Err(row_error(
                path,
                line,
                format!(
                    "item = {}, but items are listed in order from 0, so this one should be {}",
                    row.item,
                    out.len()
                ),
            ));
        }
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
    if out.is_empty() {
        return Err(row_error(
            path,
            1,
            "a header and no rows: nothing to draw".into(),
        ));
    }
    Ok(out)
}

/// Reads `barrier.csv` text; refuses a departure before its arrival, and a file
/// with no rows.
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
    if out.is_empty() {
        return Err(row_error(
            path,
            1,
            "a header and no rows: nothing to draw".into(),
        ));
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

/// The CSV files of `isolation-demo`, each with the figure drawn from it.
pub const FILES: [&str; 4] = [
    "race-processes.csv",
    "race-threads.csv",
    "queue.csv",
    "barrier.csv",
];

/// If `input` holds any of [`FILES`] and no other CSV (no `pools` files), reads and
/// checks every one of them, then draws `race.png`, `queue-timeline.png` and
/// `barrier-lanes.png` for those present into `out`, and returns one line per file
/// written; otherwise `None`, and the folder is read as `pools` results.
pub fn draw_folder(input: &Path, out: &Path) -> Result<Option<Vec<String>>, ReportError> {
    use crate::chart::{barrier, queue, race};

    let Ok(entries) = std::fs::read_dir(input) else {
        return Ok(None);
    };
    let csvs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    if csvs.is_empty() || !csvs.iter().all(|name| FILES.contains(&name.as_str())) {
        return Ok(None);
    }
    let open = |name: &str| -> Result<Option<(std::path::PathBuf, std::fs::File)>, ReportError> {
        let path = input.join(name);
        if !csvs.iter().any(|c| c == name) {
            return Ok(None);
        }
        if !path.is_file() {
            return Err(ReportError::NotAFile(path));
        }
        let file = std::fs::File::open(&path).map_err(|source| ReportError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Some((path, file)))
    };

    // Read and check every file before drawing anything.
    let mut figure = race::RaceFigure::default();
    let mut race_rows = Vec::new();
    for mode in RaceMode::ALL {
        if let Some((path, file)) = open(mode.file_name())? {
            let rows = read_race(&path, mode, file)?;
            race_rows.push(format!("{} {}", rows.len(), mode.name()));
            match mode {
                RaceMode::Processes => figure.processes = Some(rows),
                RaceMode::Threads => figure.threads = Some(rows),
            }
        }
    }
    let queue = match open("queue.csv")? {
        Some((path, file)) => Some(queue::QueueFigure {
            rows: read_queue(&path, file)?,
        }),
        None => None,
    };
    let barrier = match open("barrier.csv")? {
        Some((path, file)) => Some(read_barrier(&path, file)?),
        None => None,
    };

    let mut figures: Vec<(&str, Vec<u8>, String)> = Vec::new();
    if !race_rows.is_empty() {
        let png = crate::chart::render_png_with(race::SIZE, race::FILE, |root| {
            figure.draw(root).map_err(|err| err.to_string())
        })?;
        figures.push((race::FILE, png, format!("{} rows", race_rows.join(" + "))));
    }
    if let Some(queue_figure) = &queue {
        let png = crate::chart::render_png_with(queue::SIZE, queue::FILE, |root| {
            queue_figure.draw(root).map_err(|err| err.to_string())
        })?;
        figures.push((
            queue::FILE,
            png,
            format!("{} items", queue_figure.rows.len()),
        ));
    }
    if let Some(rows) = &barrier {
        let png = crate::chart::render_png(&barrier::barrier_lanes(rows), barrier::FILE)?;
        figures.push((barrier::FILE, png, format!("{} visits", rows.len())));
    }
    let mut lines = vec![format!(
        "{} holds only isolation-demo files: drawing just their figures",
        input.display()
    )];
    // `--out` is created if missing, as for the pools figures.
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    for (name, png, what) in figures {
        let path = crate::files::write_atomically(out, name, &png)?;
        lines.push(format!("wrote {} ({what})", path.display()));
    }
    Ok(Some(lines))
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
        let bad = "item,put_start_ns,put_end_ns,put_waited,got_ns\n1,0,10,0,20\n";
        let err = read_queue(Path::new("q.csv"), bad.as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("q.csv:2: item = 1, but"),
            "{err}"
        );
        let empty = "item,put_start_ns,put_end_ns,put_waited,got_ns\n";
        let err = read_queue(Path::new("q.csv"), empty.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "q.csv:1: a header and no rows: nothing to draw"
        );
    }

    const RACE_HEADER: &str = "mode,start_method,method,participants,increments_each,\
                               expected,reached,lost,seconds,ns_per_increment\n";

    /// A good race file reads; each broken rule is refused in one line naming the
    /// file, the line and the column.
    #[test]
    fn race_rows_are_read_and_checked() {
        let read = |mode, rows: &str| {
            read_race(
                Path::new("r.csv"),
                mode,
                format!("{RACE_HEADER}{rows}").as_bytes(),
            )
            .map_err(|err| err.to_string())
        };
        let good = "processes,fork,none,2,10,20,15,5,0.000001,50\n\
                    processes,fork,atomic,2,10,20,20,0,0.000001,50\n";
        let rows = read(RaceMode::Processes, good).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].share(), 0.75);
        assert!(read(RaceMode::Threads, "threads,,lock,1,1,1,1,0,0,0\n").is_ok());
        for (mode, row, says) in [
            (
                RaceMode::Threads,
                "processes,fork,none,2,10,20,15,5,0,0",
                "r.csv:2: mode = \"processes\"",
            ),
            (
                RaceMode::Threads,
                "threads,fork,none,2,10,20,15,5,0,0",
                "r.csv:2: start_method = \"fork\"",
            ),
            (
                RaceMode::Processes,
                "processes,fork,some,2,10,20,15,5,0,0",
                "r.csv:2: method = \"some\"",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,10,21,15,6,0,0",
                "r.csv:2: expected = 21",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,10,20,25,0,0,0",
                "r.csv:2: reached = 25",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,10,20,15,4,0,0",
                "r.csv:2: lost = 4",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,10,20,15,5,-1,0",
                "r.csv:2: seconds = -1",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,10,20,15,5,0,NaN",
                "r.csv:2: ns_per_increment = NaN",
            ),
            (
                RaceMode::Processes,
                "processes,fork,none,2,ten,20,15,5,0,0",
                "r.csv:2:",
            ),
        ] {
            let err = read(mode, &format!("{row}\n")).unwrap_err();
            assert!(err.starts_with(says), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let twice = "processes,fork,none,2,10,20,15,5,0,0\nprocesses,spawn,none,2,10,20,15,5,0,0\n";
        let err = read(RaceMode::Processes, twice).unwrap_err();
        assert!(
            err.starts_with("r.csv:3: method = none a second time"),
            "{err}"
        );
        assert_eq!(
            read(RaceMode::Processes, "").unwrap_err(),
            "r.csv:1: a header and no rows: nothing to draw"
        );
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
