//! `race.png`: the lost-update race of `isolation-demo race`, and what fixing it
//! costs.
//!
//! What it should show. Left: for each way of adding 1 (`none`, `atomic`, `lock`),
//! the count the counter reached as a share of the exact count, a bar for processes
//! and one for threads. `none` falls far short of the line at 100 % (updates lost,
//! on processes and on threads alike); `atomic` and `lock` reach it exactly. Each bar
//! says how many updates it lost. Right: what each costs, in nanoseconds per
//! increment. `none` and `atomic` cost about the same (the cache line bounces between
//! cores either way); `lock` costs several times more, since a waiter may sleep in
//! the kernel.
//!
//! Drawn from `race-processes.csv`, `race-threads.csv` or both; a mode that is
//! missing just has no bars.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{note_color, pool_color};
use crate::isolation::{RACE_METHODS, RaceMode, RaceRow};
use crate::model::Pool;

/// The figure's file name.
pub const FILE: &str = "race.png";

/// The figure's size in pixels: as wide as the other figures.
pub const SIZE: (u32, u32) = (super::lanes::WIDTH, 900);

const FONT: &str = "sans-serif";

/// The runs to draw: each mode's rows, if its file was there.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RaceFigure {
    /// The rows of `race-processes.csv`.
    pub processes: Option<Vec<RaceRow>>,
    /// The rows of `race-threads.csv`.
    pub threads: Option<Vec<RaceRow>>,
}

/// Each mode's colour: the pools' colours, so that processes and threads look the
/// same as in every other figure.
fn color(mode: RaceMode) -> RGBColor {
    match mode {
        RaceMode::Processes => pool_color(Pool::Process),
        RaceMode::Threads => pool_color(Pool::Thread),
    }
}

/// What each method does, under its name on the x axis.
fn how(method: &str) -> &'static str {
    match method {
        "none" => "load, then store",
        "atomic" => "fetch_add",
        _ => "futex lock",
    }
}

/// `n` with a comma between each group of three digits: `50,161,586`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The label over a bar of the left panel.
pub fn lost_label(row: &RaceRow) -> String {
    match row.lost {
        0 => "exact".to_owned(),
        lost => format!("lost {}", thousands(lost)),
    }
}

impl RaceFigure {
    /// The modes whose file was read, in drawing order, with their rows.
    fn modes(&self) -> Vec<(RaceMode, &[RaceRow])> {
        RaceMode::ALL
            .into_iter()
            .zip([&self.processes, &self.threads])
            .filter_map(|(mode, rows)| rows.as_deref().map(|rows| (mode, rows)))
            .collect()
    }

    /// Who raced, for the header: `4 processes (fork) × 2,000,000 increments each;
    /// 4 threads × 2,000,000 increments each`.
    fn who(&self) -> String {
        self.modes()
            .iter()
            .map(|(mode, rows)| {
                let row = &rows[0];
                let how = match row.start_method.as_str() {
                    "" => String::new(),
                    start => format!(" ({start})"),
                };
                format!(
                    "{} {}{how} × {} increments each",
                    row.participants,
                    mode.name(),
                    thousands(row.increments_each)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Draws the figure onto `root`, which must be [`SIZE`] pixels.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let margin = 24;
        let (header, body) = root.split_vertically(150);
        header.draw_text(
            "Lost updates without synchronisation, and what exactness costs",
            &TextStyle::from((FONT, 30, FontStyle::Bold).into_font()),
            (margin, 16),
        )?;
        let grey = RGBColor(64, 64, 64);
        header.draw_text(
            &format!("One shared counter: {}.", self.who()),
            &TextStyle::from((FONT, 19).into_font()).color(&grey),
            (margin, 62),
        )?;
        let entry = TextStyle::from((FONT, 19).into_font());
        let mut x = margin;
        for (mode, _) in self.modes() {
            header.draw(&Rectangle::new(
                [(x, 106), (x + 20, 126)],
                color(mode).filled(),
            ))?;
            header.draw(&Text::new(
                mode.name(),
                (x + 28, 116),
                entry.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += 28 + header.estimate_text_size(mode.name(), &entry)?.0 as i32 + 40;
        }

        // The left panel is wider: its labels are longer.
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 * 57 / 100);
        self.draw_panel(root, &left, Panel::Share)?;
        self.draw_panel(root, &right, Panel::Cost)?;
        Ok(())
    }

    /// One panel in `area`: a group of bars per method, a bar per mode. Text placed
    /// in pixels is drawn on `root`, whose coordinates are the backend's.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: Panel,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let modes = self.modes();
        let value = |row: &RaceRow| match panel {
            Panel::Share => row.share(),
            Panel::Cost => row.ns_per_increment,
        };
        let highest = modes
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(value))
            .fold(0.0, f64::max);
        let y_max = match panel {
            // Room above 100 % for the labels of the exact bars.
            Panel::Share => 1.22,
            Panel::Cost => (highest * 1.25).max(1e-9),
        };
        // Three groups at 0.5, 1.5 and 2.5; on the left, room right of them for
        // the name of the 100 % line.
        let x_end = match panel {
            Panel::Share => 3.45,
            Panel::Cost => 3.0,
        };
        let (caption, y_desc) = match panel {
            Panel::Share => (
                "Count reached, as a share of the exact count",
                "reached ÷ expected",
            ),
            Panel::Cost => ("Cost: wall-clock time per increment", "ns per increment"),
        };
        let y_format = |v: &f64| match panel {
            Panel::Share => format!("{:.0} %", v * 100.0),
            Panel::Cost => format!("{v:.0}"),
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 22, FontStyle::Bold))
            .margin_left(24)
            .margin_right(24)
            .margin_top(6)
            .x_label_area_size(80)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_end, 0.0..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(8)
            .y_label_formatter(&y_format)
            .y_desc(y_desc)
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 20))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;

        if panel == Panel::Share {
            let line = RGBColor(60, 60, 60);
            chart.draw_series(std::iter::once(DashedPathElement::new(
                [(0.0, 1.0), (3.0, 1.0)],
                8,
                6,
                line.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                "expected",
                (3.05, 1.0),
                TextStyle::from((FONT, 19).into_font())
                    .color(&line)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )))?;
        }

        // Bars 0.4 wide, side by side and centred on their group.
        let width = 0.4;
        let count = modes.len() as f64;
        for (g, method) in RACE_METHODS.iter().enumerate() {
            let center = g as f64 + 0.5;
            // Each label drawn so far in this group: its right edge and its top.
            let mut placed: Vec<(i32, i32)> = Vec::new();
            for (k, (mode, rows)) in modes.iter().enumerate() {
                let Some(row) = rows.iter().find(|r| r.method == *method) else {
                    continue;
                };
                let left = center - width * count / 2.0 + width * k as f64 + 0.01;
                let right = left + width - 0.02;
                let v = value(row);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(left, 0.0), (right, v)],
                    color(*mode).filled(),
                )))?;
                let label = match panel {
                    Panel::Share => lost_label(row),
                    Panel::Cost => format!("{v:.1} ns"),
                };
                let ink = note_color(match mode {
                    RaceMode::Processes => Pool::Process,
                    RaceMode::Threads => Pool::Thread,
                });
                let style = TextStyle::from((FONT, 16, FontStyle::Bold).into_font())
                    .color(&ink)
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                // "lost" over the number, so that two labels side by side fit.
                let lines: Vec<&str> = match label.split_once(' ') {
                    Some(("lost", n)) => vec!["lost", n],
                    _ => vec![label.as_str()],
                };
                let mut half_width = 0;
                for text in &lines {
                    half_width =
                        half_width.max(root.estimate_text_size(text, &style)?.0 as i32 / 2);
                }
                let (x, y) = chart.backend_coord(&((left + right) / 2.0, v));
                // The bottom of the label, in pixels: just over the bar, or over
                // the label of the bar to the left if the two would touch.
                let mut bottom = y - 6;
                let height = 19 * lines.len() as i32;
                if let Some(&(right_edge, top)) = placed.last() {
                    if x - half_width < right_edge + 6 && bottom > top - 2 {
                        bottom = bottom.min(top - 2);
                    }
                }
                for (i, text) in lines.iter().rev().enumerate() {
                    root.draw(&Text::new(
                        *text,
                        (x, bottom - 19 * i as i32),
                        style.clone(),
                    ))?;
                }
                placed.push((x + half_width, bottom - height));
            }
            // The method's name and what it does, under its group.
            let (x, y) = chart.backend_coord(&(center, 0.0));
            root.draw(&Text::new(
                *method,
                (x, y + 10),
                TextStyle::from((FONT, 20, FontStyle::Bold).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
            root.draw(&Text::new(
                how(method),
                (x, y + 38),
                TextStyle::from((FONT, 17).into_font())
                    .color(&RGBColor(64, 64, 64))
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        Ok(())
    }
}

/// Which of the two panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    /// Left: reached ÷ expected.
    Share,
    /// Right: ns per increment.
    Cost,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mode: RaceMode, method: &str, lost: u64) -> RaceRow {
        RaceRow {
            mode: mode.name().into(),
            start_method: match mode {
                RaceMode::Processes => "fork".into(),
                RaceMode::Threads => String::new(),
            },
            method: method.into(),
            participants: 4,
            increments_each: 25_000_000,
            expected: 100_000_000,
            reached: 100_000_000 - lost,
            lost,
            seconds: 1.0,
            ns_per_increment: 10.0,
        }
    }

    #[test]
    fn labels_say_lost_or_exact() {
        assert_eq!(thousands(50_161_586), "50,161,586");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(
            lost_label(&row(RaceMode::Threads, "none", 50_161_586)),
            "lost 50,161,586"
        );
        assert_eq!(lost_label(&row(RaceMode::Threads, "lock", 0)), "exact");
    }

    /// The figure renders with both modes, with one, and with a method missing.
    #[test]
    fn renders_with_either_mode_or_both() {
        let processes = Some(vec![
            row(RaceMode::Processes, "none", 60_000_000),
            row(RaceMode::Processes, "atomic", 0),
            row(RaceMode::Processes, "lock", 0),
        ]);
        let threads = Some(vec![row(RaceMode::Threads, "none", 1_000)]);
        for figure in [
            RaceFigure {
                processes: processes.clone(),
                threads: threads.clone(),
            },
            RaceFigure {
                processes,
                threads: None,
            },
            RaceFigure {
                processes: None,
                threads,
            },
        ] {
            let png = crate::chart::render_png_with(SIZE, FILE, |root| {
                figure.draw(root).map_err(|err| err.to_string())
            })
            .unwrap();
            assert!(png.starts_with(b"\x89PNG"));
        }
    }
}
