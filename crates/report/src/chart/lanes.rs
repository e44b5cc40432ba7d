//! The one drawing routine behind every figure: labelled horizontal lanes on a time
//! axis, with coloured bars in them.
//!
//! A Gantt chart has one lane per task, the worker chart one lane per worker, the
//! GIL timeline one lane per thread; only what goes into the lanes differs. So the
//! chart modules build a [`Lanes`] value (plain data, easy to unit-test) and this
//! module turns it into pixels or SVG for any plotters backend.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every figure, in pixels.
pub const WIDTH: u32 = 1600;
/// Height of a figure with few lanes, in pixels; more lanes make it taller.
pub const MIN_HEIGHT: u32 = 900;
/// Height given to each lane once a figure outgrows [`MIN_HEIGHT`], in pixels.
const LANE_PX: u32 = 28;
/// Room taken by the title, legend, x axis and margins, in pixels.
const CHROME_PX: u32 = 200;
/// Height of the title and legend strip, in pixels.
const HEADER_PX: u32 = 100;
/// Extra header height for a [`Lanes::note`], in pixels.
const NOTE_PX: u32 = 32;
/// Left and right margin, in pixels.
const MARGIN_PX: i32 = 24;

const FONT: &str = "sans-serif";

/// A figure: lanes from top to bottom, each with bars on a shared x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Lanes {
    /// Shown at the top left.
    pub title: String,
    /// The x axis' description, with its unit.
    pub x_desc: String,
    /// The y axis' description.
    pub y_desc: String,
    /// The visible x range, in the same unit as the bars. Bars are clipped to it.
    pub x_range: Range<f64>,
    /// Legend entries, drawn in a row under the title so they never cover a bar.
    pub legend: Vec<(String, RGBColor)>,
    /// The lanes, top first.
    pub lanes: Vec<Lane>,
    /// Runs of adjacent lanes that belong together (one pool), with a note.
    pub groups: Vec<Group>,
    /// A line under the legend that says how to read the figure when it does not
    /// show what its title promises bar by bar (for example, tasks merged because
    /// they are too many to tell apart). `None` for most figures.
    pub note: Option<String>,
}

/// One labelled lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Drawn left of the axis, e.g. `process fib(41)`.
    pub label: String,
    /// The bars, drawn in this order (later ones on top).
    pub bars: Vec<Bar>,
}

/// A filled bar from `start` to `end` on the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Where it starts, in x axis units.
    pub start: f64,
    /// Where it ends, in x axis units.
    pub end: f64,
    /// Fill colour.
    pub color: RGBColor,
    /// Text written inside the bar, if it fits.
    pub text: Option<String>,
}

/// Adjacent lanes drawn as one block: a thin rule under it, and a marker line at
/// `at` with `note` written to its right (the pool's makespan).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Indices into [`Lanes::lanes`].
    pub lanes: Range<usize>,
    /// Where the marker goes, in x axis units; `None` for no marker or note.
    pub at: Option<f64>,
    /// Text right of the marker.
    pub note: String,
    /// Colour of the marker and note.
    pub color: RGBColor,
}

impl Lanes {
    /// The figure's size in pixels: fixed width, and tall enough for every lane.
    pub fn size(&self) -> (u32, u32) {
        let lanes = self.lanes.len() as u32;
        (
            WIDTH,
            (CHROME_PX + lanes * LANE_PX).max(MIN_HEIGHT) + self.header_px() - HEADER_PX,
        )
    }

    /// The x range the axis shows: [`Lanes::x_range`], unless that is empty. A run
    /// whose tasks all took no measurable time would give an empty axis, which
    /// cannot be drawn: it shows one unit instead.
    pub fn visible_x_range(&self) -> Range<f64> {
        match self.x_range.end - self.x_range.start {
            span if span.is_finite() && span > 0.0 => self.x_range.clone(),
            _ => self.x_range.start..self.x_range.start + 1.0,
        }
    }

    /// Height of the title, legend and note strip, in pixels.
    fn header_px(&self) -> u32 {
        HEADER_PX + if self.note.is_some() { NOTE_PX } else { 0 }
    }

    /// Draws the figure onto `root`, which must be [`Lanes::size`] pixels.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(self.header_px());
        self.draw_header(&header)?;

        let label_style = TextStyle::from((FONT, 17).into_font()).color(&BLACK);
        let mut label_px = 0;
        for lane in &self.lanes {
            label_px = label_px.max(body.estimate_text_size(&lane.label, &label_style)?.0);
        }

        let n = self.lanes.len() as f64;
        let x_range = self.visible_x_range();
        let span = x_range.end - x_range.start;
        let decimals = tick_decimals(span);
        let x_format = |v: &f64| format!("{v:.decimals$}");
        let mut chart = ChartBuilder::on(&body)
            .margin_left(MARGIN_PX)
            .margin_right(MARGIN_PX)
            .margin_bottom(12)
            .x_label_area_size(64)
            // Room for the lane labels, which are drawn by hand below, plus the
            // rotated y description left of them.
            .y_label_area_size(label_px + 52)
            .build_cartesian_2d(x_range.clone(), 0.0..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(12)
            .x_label_formatter(&x_format)
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 20))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;

        let plot_px = chart.plotting_area().dim_in_pixel();
        let columns = plot_px.0.max(1) as usize;
        // One pixel column, in x axis units.
        let px = span / columns as f64;
        let x_at = |column: usize| x_range.start + column as f64 * px;
        let row_px = f64::from(plot_px.1) / n.max(1.0);
        // Bars fill 70% of their lane, leaving a gap between neighbouring lanes.
        let pad = 0.15;

        for (k, lane) in self.lanes.iter().enumerate() {
            let bottom = n - 1.0 - k as f64;
            // Each colour is one layer, drawn in order of first appearance, as runs
            // of pixel columns with the same coverage.
            let mut layers: Vec<(RGBColor, Vec<Range<f64>>)> = Vec::new();
            for bar in &lane.bars {
                match layers.iter_mut().find(|(color, _)| *color == bar.color) {
                    Some((_, spans)) => spans.push(bar.start..bar.end),
                    None => layers.push((bar.color, vec![bar.start..bar.end])),
                }
            }
            for (color, spans) in &layers {
                let runs = runs(&coverage(spans, &x_range, columns));
                chart.draw_series(runs.into_iter().map(|(from, to, alpha)| {
                    Rectangle::new(
                        [(x_at(from), bottom + pad), (x_at(to), bottom + 1.0 - pad)],
                        color.mix(alpha).filled(),
                    )
                }))?;
            }

            // Lane label, right-aligned against the plot's left edge.
            let (x, y) = chart.backend_coord(&(x_range.start, bottom + 0.5));
            root.draw(&Text::new(
                lane.label.as_str(),
                (x - 10, y),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;

            // Text inside each bar that has room for it; otherwise just right of
            // the bar, if that space is free up to the next bar or the group's
            // marker (so it never runs into a bar or the makespan note).
            let text_size = (row_px * 0.55).clamp(10.0, 18.0);
            let marker = self
                .groups
                .iter()
                .find(|g| g.lanes.contains(&k))
                .and_then(|g| g.at)
                .unwrap_or(x_range.end);
            let next_starts = next_starts(&lane.bars);
            for (bar, next) in lane.bars.iter().zip(next_starts) {
                let Some(text) = &bar.text else { continue };
                let (start, end) = (bar.start.max(x_range.start), bar.end.min(x_range.end));
                let next = next.unwrap_or(marker).min(marker);
                // Skippable on a first read: text needs 12 px beyond its own width,
                // so a bar with less than that inside it and after it gets none.
                // With a million tasks nearly every bar is such a speck, and this
                // saves measuring a million labels that could never be drawn.
                if (end - start) / px < 12.0 && (next - end) / px < 12.0 {
                    continue;
                }
                let ink = ink_on(bar.color);
                let inside = TextStyle::from((FONT, text_size).into_font()).color(&ink);
                let text_px = f64::from(body.estimate_text_size(text, &inside)?.0);
                let (at, style) = if text_px + 12.0 <= (end - start) / px {
                    (
                        (start + end) / 2.0,
                        inside.pos(Pos::new(HPos::Center, VPos::Center)),
                    )
                } else {
                    if end + (text_px + 12.0) * px > next {
                        continue;
                    }
                    let outside = TextStyle::from((FONT, text_size).into_font()).color(&BLACK);
                    (
                        end + 4.0 * px,
                        outside.pos(Pos::new(HPos::Left, VPos::Center)),
                    )
                };
                chart.draw_series(std::iter::once(Text::new(
                    text.clone(),
                    (at, bottom + 0.5),
                    style,
                )))?;
            }
        }

        let note_style = TextStyle::from((FONT, 18).into_font());
        for group in &self.groups {
            let top = n - group.lanes.start as f64;
            let bottom = n - group.lanes.end as f64;
            if group.lanes.end < self.lanes.len() {
                chart.draw_series(std::iter::once(PathElement::new(
                    [(x_range.start, bottom), (x_range.end, bottom)],
                    BLACK.mix(0.25),
                )))?;
            }
            let Some(at) = group.at else { continue };
            chart.draw_series(std::iter::once(PathElement::new(
                [(at, bottom + pad / 2.0), (at, top - pad / 2.0)],
                group.color.stroke_width(2),
            )))?;
            let style = note_style.color(&group.color);
            chart.draw_series(std::iter::once(
                EmptyElement::at((at, (top + bottom) / 2.0))
                    + Text::new(
                        group.note.clone(),
                        (8, 0),
                        style.pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    }

    /// The title, and under it the legend as a row of swatches.
    fn draw_header<DB: DrawingBackend>(
        &self,
        header: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let title = TextStyle::from((FONT, 30, FontStyle::Bold).into_font());
        header.draw_text(&self.title, &title, (MARGIN_PX, 16))?;
        let entry = TextStyle::from((FONT, 19).into_font());
        let mut x = MARGIN_PX;
        for (label, color) in &self.legend {
            header.draw(&Rectangle::new([(x, 64), (x + 20, 84)], color.filled()))?;
            header.draw(&Text::new(
                label.as_str(),
                (x + 28, 74),
                entry.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += 28 + header.estimate_text_size(label, &entry)?.0 as i32 + 40;
        }
        if let Some(note) = &self.note {
            let style = TextStyle::from((FONT, 18).into_font()).color(&RGBColor(64, 64, 64));
            header.draw(&Text::new(
                note.as_str(),
                (MARGIN_PX, 108),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    }
}

/// How many decimals the x axis labels need so that neighbouring ticks never print
/// the same number. About 12 ticks share `span`, at steps of 1, 2 or 5 times a
/// power of ten, so a span under 2 needs two decimals, under 0.2 three, and so on.
pub(crate) fn tick_decimals(span: f64) -> usize {
    if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else {
        // Spans of 0.2 to 2 get 2; each tenfold smaller span one more (up to 9,
        // well past the microsecond resolution of the files).
        (2.0 + (0.2 / span).log10().ceil().max(0.0)).min(9.0) as usize
    }
}

/// For each bar with text, where the nearest later bar (later in `bars`, so drawn
/// on top of it) that starts at or after its end begins: the room the bar has for
/// a label on its right. `None` when no later bar starts after it, and for bars
/// without text, which need no room.
///
/// Skippable on a first read; the obvious way, scanning the rest of the lane for
/// each bar, is quadratic, and took minutes for a lane of 500,000 tasks. The bars
/// of a lane are usually in order of start, and then the answer is the first later
/// start at or past the bar's end, found by binary search. Otherwise the lane is
/// swept from its last bar to its first, keeping the starts seen so far in a
/// sorted set.
fn next_starts(bars: &[Bar]) -> Vec<Option<f64>> {
    if bars.is_sorted_by(|a, b| a.start <= b.start) {
        return bars
            .iter()
            .enumerate()
            .map(|(i, bar)| {
                bar.text.as_ref()?;
                let later = &bars[i + 1..];
                let first = later.partition_point(|b| b.start < bar.end);
                later.get(first).map(|b| b.start)
            })
            .collect();
    }

    /// A start, ordered as `f64::total_cmp` orders it.
    #[derive(PartialEq)]
    struct Start(f64);
    impl Eq for Start {}
    impl PartialOrd for Start {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Start {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }

    let mut later = std::collections::BTreeSet::new();
    let mut next = vec![None; bars.len()];
    for (i, bar) in bars.iter().enumerate().rev() {
        if bar.text.is_some() {
            next[i] = later.range(Start(bar.end)..).next().map(|s: &Start| s.0);
        }
        later.insert(Start(bar.start));
    }
    next
}

/// Black or white, whichever reads better on `fill`.
pub(crate) fn ink_on(fill: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = fill;
    let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    if luma > 150.0 { BLACK } else { WHITE }
}

/// The fraction of each of `columns` equal columns across `range` that `spans`
/// cover, each in `0.0..=1.0`.
///
/// This is how a 10 s GIL timeline stays both honest and fast. Its 5 ms holds are
/// narrower than a pixel, so drawing each as a rectangle would either lose them or
/// round every one up to a whole pixel (and a thread holding the lock a third of
/// the time would look like it held it always). Coverage per column is what an
/// ideal renderer would show, and it costs one pass over the spans.
pub fn coverage(spans: &[Range<f64>], range: &Range<f64>, columns: usize) -> Vec<f64> {
    let width = (range.end - range.start) / columns as f64;
    let mut covered = vec![0.0; columns];
    for span in spans {
        // Both ends in column units, clipped to the visible range.
        let from = ((span.start - range.start) / width).clamp(0.0, columns as f64);
        let to = ((span.end - range.start) / width).clamp(0.0, columns as f64);
        let mut column = from.floor() as usize;
        while (column as f64) < to && column < columns {
            let left = from.max(column as f64);
            let right = to.min(column as f64 + 1.0);
            covered[column] += right - left;
            column += 1;
        }
    }
    for c in &mut covered {
        *c = c.min(1.0);
    }
    covered
}

/// The least opacity a touched column gets: a 40 µs hold in a column 8 ms wide
/// covers 0.5% of it, and must still be visible.
const MIN_ALPHA: f64 = 0.5;
/// Coverage is rounded to this many levels, so that neighbouring columns with
/// nearly the same coverage become one rectangle.
const LEVELS: f64 = 16.0;

/// Turns column coverage into runs `(first column, end column, opacity)` of equal
/// rounded opacity, skipping empty columns.
pub fn runs(coverage: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut out: Vec<(usize, usize, f64)> = Vec::new();
    for (column, &c) in coverage.iter().enumerate() {
        if c <= 0.0 {
            continue;
        }
        let alpha = ((c * LEVELS).round() / LEVELS).max(MIN_ALPHA);
        match out.last_mut() {
            Some((_, end, a)) if *end == column && *a == alpha => *end = column + 1,
            _ => out.push((column, column + 1, alpha)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span covering whole columns fills them; partial columns get the fraction.
    #[test]
    fn coverage_is_exact_per_column() {
        let c = coverage(&[1.0..3.5], &(0.0..5.0), 5);
        assert_eq!(c, [0.0, 1.0, 1.0, 0.5, 0.0]);
    }

    /// Spans are clipped to the range; spans outside it add nothing.
    #[test]
    fn coverage_clips_to_the_range() {
        let c = coverage(&[-5.0..0.5, 4.5..9.0, 20.0..30.0], &(0.0..5.0), 5);
        assert_eq!(c, [0.5, 0.0, 0.0, 0.0, 0.5]);
    }

    /// Many thin spans in one column add up: three 5 ms holds in a 30 ms column
    /// are half of it.
    #[test]
    fn thin_spans_add_up() {
        let holds = [0.0..5.0, 10.0..15.0, 20.0..25.0];
        let c = coverage(&holds, &(0.0..30.0), 1);
        assert!((c[0] - 0.5).abs() < 1e-12, "{c:?}");
    }

    /// Equal neighbours merge into one run; a speck still gets the minimum opacity.
    #[test]
    fn runs_merge_and_keep_specks_visible() {
        let r = runs(&[1.0, 1.0, 0.0, 0.001, 0.75]);
        assert_eq!(r, [(0, 2, 1.0), (3, 4, MIN_ALPHA), (4, 5, 0.75)]);
    }

    /// Lanes beyond what fits in the minimum height make the figure taller.
    #[test]
    fn many_lanes_make_a_taller_figure() {
        let lanes = |n| Lanes {
            title: String::new(),
            x_desc: String::new(),
            y_desc: String::new(),
            x_range: 0.0..1.0,
            legend: vec![],
            lanes: vec![
                Lane {
                    label: String::new(),
                    bars: vec![]
                };
                n
            ],
            groups: vec![],
            note: None,
        };
        assert_eq!(lanes(24).size(), (WIDTH, MIN_HEIGHT));
        assert_eq!(lanes(100).size(), (WIDTH, CHROME_PX + 100 * LANE_PX));
    }

    fn bar(start: f64, end: f64) -> Bar {
        Bar {
            start,
            end,
            color: BLACK,
            text: Some("label".into()),
        }
    }

    /// The room right of each bar ends at the first later bar that starts at or
    /// after its end, in a lane in order of start and in one that is not.
    #[test]
    fn next_start_is_the_first_later_bar_past_the_end() {
        let sorted = [bar(0.0, 1.0), bar(0.5, 2.0), bar(2.0, 3.0), bar(5.0, 6.0)];
        assert_eq!(
            next_starts(&sorted),
            [Some(2.0), Some(2.0), Some(5.0), None]
        );
        // Out of order: only bars later in the list count, as they are drawn on top.
        let shuffled = [bar(5.0, 6.0), bar(0.0, 1.0), bar(3.0, 4.0), bar(2.0, 2.5)];
        assert_eq!(next_starts(&shuffled), [None, Some(2.0), None, None]);
    }

    /// Neighbouring ticks never print the same number, down to tiny spans; the
    /// figures of a default run (spans of about 1 to 10 s) keep their labels.
    #[test]
    fn tick_labels_have_enough_decimals() {
        assert_eq!(tick_decimals(30.0), 0);
        assert_eq!(tick_decimals(6.0), 1);
        assert_eq!(tick_decimals(1.5), 2);
        assert_eq!(tick_decimals(0.2), 2);
        // A 0.035 s axis has ticks 0.005 apart.
        assert_eq!(tick_decimals(0.035), 3);
        assert_eq!(tick_decimals(0.0035), 4);
        assert_eq!(tick_decimals(1e-300), 9);
    }
}
