//! `queue-timeline.png`: the producer and the consumer of `isolation-demo queue`,
//! and the queue between them.
//!
//! What it should show, with a consumer slower than the producer (the default run):
//! 1. The first puts return at once (blue) and the queue fills up to its capacity
//!    (the lower panel: a step line of the items put but not yet got).
//! 2. From then on every put finds the queue full and waits (red).
//! 3. Each get (a green tick in the consumer lane) frees a slot: the occupancy drops
//!    by one, the blocked put above it ends just after, and the queue is full again.
//!
//! Every put is its own bar, from its start to its end, with at least one blank
//! pixel column before the next one, so that a row of blocked puts reads as a row
//! of waits, one per get, and not as one long red bar.
//!
//! The capacity is not in `queue.csv`; the dashed line is the most items the queue
//! ever held, which is the capacity whenever the producer blocked at all.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::isolation::QueueRow;

/// The figure's file name.
pub const FILE: &str = "queue-timeline.png";

/// The figure's size in pixels: as wide as the other figures.
pub const SIZE: (u32, u32) = (super::lanes::WIDTH, 1150);

/// A put that did not block.
const PUT: RGBColor = RGBColor(70, 130, 180);
/// A put that blocked because the queue was full.
const BLOCKED: RGBColor = RGBColor(214, 39, 40);
/// A get.
const GET: RGBColor = RGBColor(44, 160, 44);
/// The occupancy line.
const LEVEL: RGBColor = RGBColor(30, 30, 30);
/// The capacity line.
const CAPACITY: RGBColor = RGBColor(120, 120, 120);

const FONT: &str = "sans-serif";
/// Room left of both panels for the lane names and the y axis, so that their time
/// axes line up.
const LEFT_PX: u32 = 190;
/// The fewest pixels per put on average for the puts to be told apart.
const MIN_PUT_PX: f64 = 3.0;

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// How many items were in the queue over time: `(ns, items)` from time 0, one
/// point per moment the count changes. An item is in the queue from its put's end
/// until it is got; if the consumer noted the get before the producer noted the
/// put's end (the bytes were in the pipe before `write` returned), from the get to
/// the get, which is no time at all.
pub fn occupancy(rows: &[QueueRow]) -> Vec<(u64, u32)> {
    let mut events: Vec<(u64, i64)> = rows
        .iter()
        .flat_map(|r| [(r.put_end_ns.min(r.got_ns), 1), (r.got_ns, -1)])
        .collect();
    // At one instant, the arrival before the departure: the count never goes
    // below zero.
    events.sort_by_key(|&(at, delta)| (at, -delta));
    let mut level: i64 = 0;
    let mut out: Vec<(u64, u32)> = vec![(0, 0)];
    for (at, delta) in events {
        level += delta;
        let items = level.max(0) as u32;
        match out.last_mut() {
            Some(last) if last.0 == at => last.1 = items,
            _ => out.push((at, items)),
        }
    }
    out
}

/// How long after a get the put it let through ended, for each blocked put: put
/// `i` waits for the slot of item `i - capacity`. In ns, in item order.
pub fn handovers(rows: &[QueueRow], capacity: u32) -> Vec<u64> {
    let capacity = capacity as usize;
    rows.iter()
        .enumerate()
        .filter(|(i, row)| row.put_waited == 1 && *i >= capacity)
        .map(|(i, row)| row.put_end_ns.saturating_sub(rows[i - capacity].got_ns))
        .collect()
}

/// The figure: the whole run above, a zoom on three gets below; each as lanes over
/// an occupancy panel, on one time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueFigure {
    /// The rows of `queue.csv`, in item order.
    pub rows: Vec<QueueRow>,
}

impl QueueFigure {
    /// The whole run, in ms: to the last event, plus a little room.
    fn whole(&self) -> Range<f64> {
        let end = self
            .rows
            .iter()
            .map(|r| r.got_ns.max(r.put_end_ns))
            .max()
            .unwrap_or(0);
        0.0..(ms(end) * 1.01).max(1e-3)
    }

    /// The zoom, in ms, and its first item: from a little before the get of the
    /// middle item to half way from the get two items later to the next, so that
    /// three gets and the puts they let through are in it. `None` with fewer than
    /// four items.
    fn zoom(&self) -> Option<(Range<f64>, usize)> {
        let n = self.rows.len();
        if n < 4 {
            return None;
        }
        let first = (n / 2).min(n - 4);
        let got = |i: usize| ms(self.rows[i].got_ns);
        let gap = ((got(first + 3) - got(first)) / 3.0).max(1e-4);
        Some((got(first) - gap * 0.3..got(first + 2) + gap * 0.5, first))
    }

    /// Draws the figure onto `root`, which must be [`SIZE`] pixels.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let margin = 24;
        let levels = occupancy(&self.rows);
        let capacity = levels.iter().map(|&(_, n)| n).max().unwrap_or(0);
        let blocked = self.rows.iter().filter(|r| r.put_waited == 1).count();

        let (header, body) = root.split_vertically(150);
        header.draw_text(
            "Queue: once it is full, each put waits until a get frees a slot",
            &TextStyle::from((FONT, 30, FontStyle::Bold).into_font()),
            (margin, 16),
        )?;
        let entry = TextStyle::from((FONT, 19).into_font());
        let mut x = margin;
        for (label, color, line) in [
            ("put", PUT, false),
            ("put blocked: queue full", BLOCKED, false),
            ("get", GET, false),
            ("items in the queue", LEVEL, true),
        ] {
            if line {
                header.draw(&Rectangle::new([(x, 73), (x + 20, 75)], color.filled()))?;
            } else {
                header.draw(&Rectangle::new([(x, 64), (x + 20, 84)], color.filled()))?;
            }
            header.draw(&Text::new(
                label,
                (x + 28, 74),
                entry.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += 28 + header.estimate_text_size(label, &entry)?.0 as i32 + 40;
        }
        let mut waits = handovers(&self.rows, capacity);
        waits.sort_unstable();
        let median = match waits.get(waits.len() / 2) {
            Some(&ns) => format!(
                " Each get frees a slot, and the blocked put waiting for it ends a median \
                 {:.0} µs later.",
                ns as f64 / 1e3
            ),
            None => String::new(),
        };
        header.draw_text(
            &format!(
                "{} items; {blocked} of the puts found the queue full.{median}",
                self.rows.len()
            ),
            &TextStyle::from((FONT, 18).into_font()).color(&RGBColor(64, 64, 64)),
            (margin, 104),
        )?;

        let (top, bottom) = body.split_vertically(body.dim_in_pixel().1 / 2);
        self.draw_view(root, &top, &levels, capacity, self.whole(), "The whole run")?;
        if let Some((zoom, first)) = self.zoom() {
            let title = format!(
                "Zoom: the gets of items {} to {}, and the puts they let through ({} to {})",
                first,
                first + 2,
                first + capacity as usize,
                first + 2 + capacity as usize,
            );
            self.draw_view(root, &bottom, &levels, capacity, zoom, &title)?;
        }
        Ok(())
    }

    /// One view of the run over `x_range`: its title, the lanes, then occupancy.
    fn draw_view<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        levels: &[(u64, u32)],
        capacity: u32,
        x_range: Range<f64>,
        title: &str,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (head, rest) = area.split_vertically(34);
        head.draw_text(
            title,
            &TextStyle::from((FONT, 21, FontStyle::Bold).into_font()),
            (24, 8),
        )?;
        let (lanes, occupancy) = rest.split_vertically(rest.dim_in_pixel().1 * 45 / 100);
        self.draw_lanes(root, &lanes, x_range.clone())?;
        draw_levels(root, &occupancy, levels, capacity, x_range)
    }

    /// The producer and consumer lanes in `area`; bars are placed in pixels on
    /// `root`, whose coordinates are the backend's, and clipped to the axis.
    fn draw_lanes<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        x_range: Range<f64>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut chart = ChartBuilder::on(area)
            .margin_left(24)
            .margin_right(24)
            .x_label_area_size(30)
            .y_label_area_size(LEFT_PX)
            .build_cartesian_2d(x_range.clone(), 0.0..2.0)?;
        let decimals = super::lanes::tick_decimals(x_range.end - x_range.start);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(12)
            .x_label_formatter(&|v: &f64| format!("{v:.decimals$}"))
            .label_style((FONT, 16))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        let label =
            TextStyle::from((FONT, 19).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (name, lane) in [("producer: puts", 1.0), ("consumer: gets", 0.0)] {
            let (x, y) = chart.backend_coord(&(x_range.start, lane + 0.5));
            root.draw(&Text::new(name, (x - 10, y), label.clone()))?;
        }

        let px = |ms_at: f64, lane: f64| chart.backend_coord(&(ms_at, lane));
        let (left, _) = px(x_range.start, 0.0);
        let (right, _) = px(x_range.end, 0.0);
        let clip = |x: i32| x.clamp(left, right);
        let item_style = TextStyle::from((FONT, 16).into_font());
        // Each put in pixels, ending at least one blank column before the next
        // one starts.
        for (i, row) in self.rows.iter().enumerate() {
            let (start, end) = (ms(row.put_start_ns), ms(row.put_end_ns));
            if end < x_range.start || start > x_range.end {
                continue;
            }
            let (x0, y_top) = px(start, 1.8);
            let (x1, y_bottom) = px(end, 1.2);
            let next = self
                .rows
                .get(i + 1)
                .map_or(i32::MAX, |next| px(ms(next.put_start_ns), 0.0).0);
            let x1 = x1.min(next - 2).max(x0);
            let color = if row.put_waited == 1 { BLOCKED } else { PUT };
            let (x0, x1) = (clip(x0), clip(x1));
            root.draw(&Rectangle::new(
                [(x0, y_top), (x1, y_bottom)],
                color.filled(),
            ))?;
            // In a zoom, the item's number, so that a get can be matched with the
            // put it let through.
            let text = format!("put {i}");
            if root.estimate_text_size(&text, &item_style)?.0 as i32 + 16 < x1 - x0 {
                root.draw(&Text::new(
                    text,
                    ((x0 + x1) / 2, (y_top + y_bottom) / 2),
                    item_style
                        .color(&WHITE)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        let mut gets = self.rows.iter().enumerate().peekable();
        while let Some((i, row)) = gets.next() {
            let at = ms(row.got_ns);
            if !x_range.contains(&at) {
                continue;
            }
            let (x, y_top) = px(at, 0.8);
            let (_, y_bottom) = px(at, 0.2);
            root.draw(&Rectangle::new(
                [(x, y_top), (x + 1, y_bottom)],
                GET.filled(),
            ))?;
            // The item's number right of the tick, if there is room before the next.
            let text = format!("get {i}");
            let next = gets
                .peek()
                .map_or(right, |(_, next)| px(ms(next.got_ns), 0.0).0);
            let room = next.min(right) - x;
            if root.estimate_text_size(&text, &item_style)?.0 as i32 + 16 < room {
                root.draw(&Text::new(
                    text,
                    (x + 6, (y_top + y_bottom) / 2),
                    item_style.pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
        }
        let shown = self
            .rows
            .iter()
            .filter(|r| ms(r.put_start_ns) < x_range.end && ms(r.put_end_ns) > x_range.start)
            .count();
        let per_put = f64::from((right - left).max(1)) / shown.max(1) as f64;
        if per_put < MIN_PUT_PX {
            let (x, y) = px(x_range.start, 2.0);
            root.draw(&Text::new(
                format!(
                    "{shown} puts in {} pixels: too many to tell apart here (the zoom \
                     below shows a few)",
                    right - left
                ),
                (x + 8, y),
                TextStyle::from((FONT, 16).into_font())
                    .color(&RGBColor(64, 64, 64))
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))?;
        }
        Ok(())
    }
}

/// The occupancy panel in `area`: the capacity, and a step line drawn in pixels
/// on `root` (2 px thick, clipped to the axis), so that a dip much shorter than a
/// pixel still shows as a notch.
fn draw_levels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    levels: &[(u64, u32)],
    capacity: u32,
    x_range: Range<f64>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let y_max = f64::from(capacity) + 1.0;
    let mut chart = ChartBuilder::on(area)
        .margin_left(24)
        .margin_right(24)
        .margin_top(8)
        .x_label_area_size(56)
        .y_label_area_size(LEFT_PX)
        .build_cartesian_2d(x_range.clone(), 0.0..y_max)?;
    let decimals = super::lanes::tick_decimals(x_range.end - x_range.start);
    chart
        .configure_mesh()
        .x_labels(12)
        .x_label_formatter(&|v: &f64| format!("{v:.decimals$}"))
        .y_labels((capacity as usize + 2).min(8))
        .y_label_formatter(&|v: &f64| format!("{v:.0}"))
        .x_desc("time since the first put (ms)")
        .y_desc("items in the queue")
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    chart.draw_series(std::iter::once(DashedPathElement::new(
        [
            (x_range.start, f64::from(capacity)),
            (x_range.end, f64::from(capacity)),
        ],
        8,
        6,
        CAPACITY.stroke_width(2),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("capacity {capacity} (the most items the queue held at once)"),
        (
            x_range.start + (x_range.end - x_range.start) * 0.01,
            f64::from(capacity) + 0.15,
        ),
        TextStyle::from((FONT, 17).into_font())
            .color(&RGBColor(64, 64, 64))
            .pos(Pos::new(HPos::Left, VPos::Bottom)),
    )))?;
    let (left, _) = chart.backend_coord(&(x_range.start, 0.0));
    let (right, _) = chart.backend_coord(&(x_range.end, 0.0));
    let at = |ns_or_ms: f64, items: u32| {
        let (x, y) = chart.backend_coord(&(ns_or_ms, f64::from(items)));
        (x.clamp(left, right), y)
    };
    // Flat from each change to the next, then straight up or down.
    let mut steps = levels.iter().peekable();
    while let Some(&(from, items)) = steps.next() {
        let to = steps.peek().map_or(x_range.end, |&&(next, _)| ms(next));
        if to < x_range.start || ms(from) > x_range.end {
            continue;
        }
        let (x0, y) = at(ms(from), items);
        let (x1, _) = at(to, items);
        root.draw(&Rectangle::new([(x0, y - 1), (x1, y)], LEVEL.filled()))?;
        if let Some(&&(_, next)) = steps.peek().filter(|_| to <= x_range.end) {
            let (_, y1) = at(to, next);
            root.draw(&Rectangle::new(
                [(x1 - 1, y.min(y1)), (x1, y.max(y1))],
                LEVEL.filled(),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: u64, put_start_ns: u64, put_end_ns: u64, waited: u8, got_ns: u64) -> QueueRow {
        QueueRow {
            item,
            put_start_ns,
            put_end_ns,
            put_waited: waited,
            got_ns,
        }
    }

    /// Two quick puts fill a queue of two; each get frees a slot, the next put
    /// fills it again; an item got before its put was noted never counts.
    #[test]
    fn occupancy_rises_to_capacity_and_steps_down() {
        let rows = [
            row(0, 0, 10, 0, 100),
            row(1, 20, 30, 0, 200),
            row(2, 40, 105, 1, 300),
            row(3, 110, 400, 1, 390),
        ];
        assert_eq!(
            occupancy(&rows),
            [
                (0, 0),
                (10, 1),
                (30, 2),
                (100, 1),
                (105, 2),
                (200, 1),
                (300, 0),
                (390, 0)
            ]
        );
        let png = crate::chart::render_png_with(SIZE, FILE, |root| {
            QueueFigure {
                rows: rows.to_vec(),
            }
            .draw(root)
            .map_err(|err| err.to_string())
        })
        .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }
}
