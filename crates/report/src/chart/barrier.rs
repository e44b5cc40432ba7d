//! `barrier-lanes.png`: the processes of `isolation-demo barrier` meeting, round
//! after round.
//!
//! What it should show: one lane per process, and in it a bar per round from the
//! moment the process arrived at the barrier to the moment it left. A grey line
//! marks each round's last arrival; every bar of that round ends just after it,
//! because nobody leaves before the last one arrives. The first to arrive waits
//! longest.
//!
//! The rounds are not labelled one by one: at 20 rounds or more their names would
//! run into each other. The legend says what the lines are instead, and how many.

use plotters::style::RGBColor;

use super::lanes::{Bar, Group, Lane, Lanes};
use crate::isolation::{BarrierRow, meeting_lines};

/// The figure's file name.
pub const FILE: &str = "barrier-lanes.png";

/// A process waiting at the barrier, in even rounds.
const WAIT: RGBColor = RGBColor(44, 160, 44);
/// The same in odd rounds, darker: a process that leaves one round and arrives at
/// the next almost at once would otherwise show one bar across the meeting line.
const WAIT_ODD: RGBColor = RGBColor(20, 100, 20);
/// The meeting line of a barrier round.
const MEET: RGBColor = RGBColor(90, 90, 90);

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// One lane per process; per round a bar from its arrival to its departure, and a
/// line at each round's last arrival, where every process meets.
pub fn barrier_lanes(rows: &[BarrierRow]) -> Lanes {
    let processes = rows.iter().map(|r| r.process).max().map_or(0, |p| p + 1);
    let end = rows.iter().map(|r| r.depart_ns).max().unwrap_or(0);
    // A bar shorter than this (0.4 % of the axis) is drawn this wide, so that a
    // process that arrived last, and left at once, still shows.
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
                    color: if r.round % 2 == 0 { WAIT } else { WAIT_ODD },
                    text: None,
                })
                .collect(),
        })
        .collect();
    let meetings = meeting_lines(rows);
    let rounds = meetings.len();
    let groups = meetings
        .into_iter()
        .map(|(_, at)| Group {
            lanes: 0..processes as usize,
            at: Some(ms(at)),
            // No text: the legend says what the lines are.
            note: String::new(),
            color: MEET,
        })
        .collect();
    let rounds = match rounds {
        1 => "1 round".to_owned(),
        n => format!("{n} rounds, one line each, in order"),
    };
    Lanes {
        title: "Barrier: each process waits from its arrival until the last one arrives".into(),
        x_desc: "time since the first arrival (ms)".into(),
        y_desc: String::new(),
        x_range: 0.0..ms(end) + tick,
        legend: vec![
            ("waiting at the barrier (even rounds)".into(), WAIT),
            ("(odd rounds)".into(), WAIT_ODD),
            (
                format!("last arrival of a round: all go on ({rounds})"),
                MEET,
            ),
        ],
        lanes,
        groups,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_round_and_no_round_labels() {
        let row = |round, process, arrive_ns, depart_ns| BarrierRow {
            round,
            process,
            arrive_ns,
            depart_ns,
        };
        let rows = [
            row(0, 0, 0, 5_000_000),
            row(0, 1, 4_900_000, 5_000_000),
            row(1, 0, 6_000_000, 9_000_000),
            row(1, 1, 8_000_000, 9_000_000),
        ];
        let lanes = barrier_lanes(&rows);
        assert_eq!(lanes.lanes.len(), 2);
        assert_eq!(lanes.groups.len(), 2);
        assert_eq!(lanes.groups[0].at, Some(4.9));
        assert!(lanes.groups.iter().all(|g| g.note.is_empty()));
        assert!(lanes.legend[2].0.contains("2 rounds"));
        let png = crate::chart::render_png(&lanes, FILE).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }
}
