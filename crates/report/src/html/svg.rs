//! A chart's [`Lanes`] as inline SVG, written by hand so that each bar is one
//! `<rect>` carrying its task's attributes (plotters' SVG backend writes anonymous
//! shapes, and draws a bar as runs of pixel columns).
//!
//! The lanes are the very value the PNG is drawn from ([`crate::chart::gantt`]), so
//! labels, colours, the makespan markers and the legend cannot differ; only the
//! layout is this module's: one row of [`LANE_PX`] per lane in a [`WIDTH`]-wide
//! view box that the page scales to its width.
//!
//! Every text goes through [`escape`]: lane labels can be tags from a CSV file.

use std::fmt::Write;

use plotters::style::RGBColor;

use super::escape;
use crate::chart::lanes::{Lanes, ink_on, tick_decimals};

/// Width of the view box, in SVG units (pixels at 100 %).
pub const WIDTH: f64 = 1200.0;
/// Height of one lane.
const LANE_PX: f64 = 24.0;
/// Height of a bar inside its lane.
const BAR_PX: f64 = 16.0;
/// Height of the legend row, and of the note row under it when there is one.
const ROW_PX: f64 = 28.0;
/// Room under the lanes for the tick labels and the x axis' description.
const AXIS_PX: f64 = 58.0;
/// Room left of the lane labels for the rotated y axis' description.
const Y_DESC_PX: f64 = 30.0;
/// Right margin.
const RIGHT_PX: f64 = 16.0;
/// Font sizes: lane labels and ticks, and the legend, notes and axis descriptions.
const SMALL: f64 = 12.0;
const NORMAL: f64 = 14.0;

/// What a bar carries besides its geometry: the attributes the page's script and
/// the browser check read, and the tooltip text.
#[derive(Debug, Clone, PartialEq)]
pub struct BarInfo {
    /// A value unique on the page (`data-task`).
    pub id: String,
    /// The task's tag (`data-tag`).
    pub tag: String,
    /// The tooltip, one fact per line; also the bar's `<title>`.
    pub tip: String,
}

/// The SVG of `lanes`; the first bar of lane `i` carries `bars[i]` (a Gantt chart
/// has one bar per lane). `label` names the chart for screen readers.
pub fn chart(lanes: &Lanes, bars: &[BarInfo], label: &str) -> String {
    let x_range = lanes.visible_x_range();
    let span = x_range.end - x_range.start;
    let label_px = lanes
        .lanes
        .iter()
        .map(|lane| text_px(&lane.label, SMALL))
        .fold(60.0, f64::max)
        .min(360.0);
    let left = Y_DESC_PX + label_px + 14.0;
    let plot_w = WIDTH - left - RIGHT_PX;
    let top = ROW_PX * if lanes.note.is_some() { 2.0 } else { 1.0 } + 10.0;
    let plot_h = LANE_PX * lanes.lanes.len() as f64;
    let height = top + plot_h + AXIS_PX;
    let x = |v: f64| left + (v - x_range.start) / span * plot_w;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}">"#,
        escape(label)
    );

    // The legend, in a row above the lanes, and the note under it.
    let mut at = left;
    for (name, color) in &lanes.legend {
        let _ = write!(
            svg,
            r#"<rect x="{at}" y="6" width="16" height="16" fill="{}"/><text x="{}" y="19" font-size="{NORMAL}">{}</text>"#,
            hex(*color),
            at + 22.0,
            escape(name)
        );
        at += 22.0 + text_px(name, NORMAL) + 28.0;
    }
    if let Some(note) = &lanes.note {
        let _ = write!(
            svg,
            r##"<text x="{left}" y="{}" font-size="{NORMAL}" fill="#404040">{}</text>"##,
            ROW_PX + 19.0,
            escape(note)
        );
    }

    // Grid lines and tick labels: steps of 1, 2 or 5 times a power of ten.
    let step = tick_step(span);
    let decimals = tick_decimals(span);
    let first = (x_range.start / step).ceil() as i64;
    let last = (x_range.end / step).floor() as i64;
    svg.push_str(r#"<g class="axis">"#);
    for k in first..=last {
        let v = k as f64 * step;
        let px = x(v);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" y1="{top}" x2="{px:.1}" y2="{}" stroke="#000" stroke-opacity="0.08"/><text x="{px:.1}" y="{}" font-size="{SMALL}" text-anchor="middle">{v:.decimals$}</text>"##,
            top + plot_h,
            top + plot_h + 16.0
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#000" stroke-opacity="0.5"/><line x1="{left}" y1="{top}" x2="{left}" y2="{0}" stroke="#000" stroke-opacity="0.5"/>"##,
        top + plot_h,
        left + plot_w
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" font-size="{NORMAL}" text-anchor="middle">{}</text>"#,
        left + plot_w / 2.0,
        top + plot_h + 44.0,
        escape(&lanes.x_desc)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate(18 {}) rotate(-90)" font-size="{NORMAL}" text-anchor="middle">{}</text></g>"#,
        top + plot_h / 2.0,
        escape(&lanes.y_desc)
    );

    // The lanes: label, bar (with its task), and the bar's text where it fits.
    for (i, lane) in lanes.lanes.iter().enumerate() {
        let row = top + i as f64 * LANE_PX;
        let middle = row + LANE_PX / 2.0;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" font-size="{SMALL}" text-anchor="end">{}</text>"#,
            left - 8.0,
            middle + 4.0,
            escape(&lane.label)
        );
        let marker = lanes
            .groups
            .iter()
            .find(|g| g.lanes.contains(&i))
            .and_then(|g| g.at)
            .unwrap_or(x_range.end);
        for (k, bar) in lane.bars.iter().enumerate() {
            let from = x(bar.start.max(x_range.start));
            let to = x(bar.end.min(x_range.end));
            // A bar of no measurable time still gets 2 units, to be seen and hovered.
            let width = (to - from).max(2.0);
            let y = row + (LANE_PX - BAR_PX) / 2.0;
            let fill = hex(bar.color);
            match bars.get(i).filter(|_| k == 0) {
                Some(info) => {
                    let _ = write!(
                        svg,
                        r#"<rect class="bar" tabindex="0" data-task="{}" data-tag="{}" x="{from:.2}" y="{y}" width="{width:.2}" height="{BAR_PX}" fill="{fill}"><title>{}</title></rect>"#,
                        escape(&info.id),
                        escape(&info.tag),
                        escape(&info.tip)
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<rect x="{from:.2}" y="{y}" width="{width:.2}" height="{BAR_PX}" fill="{fill}"/>"#
                    );
                }
            }
            let Some(text) = &bar.text else { continue };
            let need = text_px(text, SMALL) + 10.0;
            if need <= width {
                let _ = write!(
                    svg,
                    r#"<text x="{:.2}" y="{}" font-size="{SMALL}" text-anchor="middle" fill="{}">{}</text>"#,
                    from + width / 2.0,
                    middle + 4.0,
                    hex(ink_on(bar.color)),
                    escape(text)
                );
            } else if from + width + need <= x(marker) {
                let _ = write!(
                    svg,
                    r#"<text x="{:.2}" y="{}" font-size="{SMALL}">{}</text>"#,
                    from + width + 4.0,
                    middle + 4.0,
                    escape(text)
                );
            }
        }
    }

    // Each group: a rule under it, and its marker with the note to the right.
    for group in &lanes.groups {
        let upper = top + group.lanes.start as f64 * LANE_PX;
        let lower = top + group.lanes.end as f64 * LANE_PX;
        if group.lanes.end < lanes.lanes.len() {
            let _ = write!(
                svg,
                r##"<line x1="{left}" y1="{lower}" x2="{}" y2="{lower}" stroke="#000" stroke-opacity="0.25"/>"##,
                left + plot_w
            );
        }
        let Some(at) = group.at else { continue };
        let px = x(at);
        let color = hex(group.color);
        let _ = write!(
            svg,
            r#"<line x1="{px:.2}" y1="{}" x2="{px:.2}" y2="{}" stroke="{color}" stroke-width="2"/><text x="{:.2}" y="{}" font-size="{NORMAL}" fill="{color}">{}</text>"#,
            upper + 2.0,
            lower - 2.0,
            px + 6.0,
            (upper + lower) / 2.0 + 5.0,
            escape(&group.note)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `#rrggbb`, the colour as CSS and SVG spell it.
pub fn hex(RGBColor(r, g, b): RGBColor) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A rough width of `text` in a sans-serif font of `size`: enough to decide
/// whether a label fits, without a font at hand (the browser picks the font).
fn text_px(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

/// The distance between ticks: about ten ticks across `span`, at 1, 2 or 5 times a
/// power of ten.
fn tick_step(span: f64) -> f64 {
    let raw = span / 10.0;
    let power = 10f64.powf(raw.log10().floor());
    // A little slack, so that 1.0000000000000002 still counts as 1.
    let mantissa = raw / power - 1e-9;
    let nice = if mantissa <= 1.0 {
        1.0
    } else if mantissa <= 2.0 {
        2.0
    } else if mantissa <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ticks fall on round numbers, about ten to an axis.
    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(1.0), 0.1);
        assert_eq!(tick_step(2.2), 0.5);
        assert_eq!(tick_step(15.0), 2.0);
    }

    /// Colours are spelled as CSS hex.
    #[test]
    fn hex_is_css() {
        assert_eq!(hex(RGBColor(0, 114, 178)), "#0072b2");
    }
}
