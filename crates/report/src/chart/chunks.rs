//! `throughput-vs-chunksize.png`: what a task boundary costs, and what chunks win back.
//!
//! What it should show. `fibonacci(10)` on 2 workers, tasks per second against
//! chunksize (both axes log scale). Python's process pool climbs by more than an
//! order of magnitude as chunks grow: at chunksize 1 it spends its time pickling and
//! piping.
//! Our process pool climbs too, from a higher start, and our thread pool, whose
//! boundary is one atomic add, gains far less. The dashed line is the limit: twice
//! the rate of a plain loop on one thread that times and records every task as the
//! pools do. `auto` is drawn as a dotted line in each pool's colour.
//!
//! Drawn from the CSV that `scripts/bench.sh --chunk-only` writes
//! (`results/bench-raw/chunk-runs.csv`: `pool,chunksize,workers,run,tasks_per_s`),
//! with `report --chunks FILE`. Each point is the median of its runs.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::pool_color;
use crate::error::ReportError;
use crate::model::Pool;

/// The figure's file name.
pub const FILE: &str = "throughput-vs-chunksize.png";

/// The figure's size in pixels: as wide as the other figures.
pub const SIZE: (u32, u32) = (super::lanes::WIDTH, 800);

const FONT: &str = "sans-serif";
const HEADER: &str = "pool,chunksize,workers,run,tasks_per_s";

/// One run of the chunk benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRun {
    /// `serial`, `thread`, `process-fork` or `python-process-fork`.
    pub pool: String,
    /// A number, `auto`, or empty for the serial loop.
    pub chunksize: String,
    /// How many workers.
    pub workers: u32,
    /// Tasks per second.
    pub rate: f64,
}

/// Reads the runs CSV, checking its header and every row.
pub fn read_runs(path: &Path) -> Result<Vec<ChunkRun>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, message: String| ReportError::Row {
        path: path.to_owned(),
        line: line as u64,
        message,
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad(1, format!("the header must be {HEADER}")));
    }
    let mut runs = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let [pool, chunksize, workers, _run, rate] = fields[..] else {
            return Err(bad(
                i + 2,
                format!("expected 5 fields, found {}", fields.len()),
            ));
        };
        let workers = workers
            .parse()
            .map_err(|_| bad(i + 2, format!("workers: {workers:?} is not a count")))?;
        let rate = rate
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| bad(i + 2, format!("tasks_per_s: {rate:?} is not a rate")))?;
        runs.push(ChunkRun {
            pool: pool.to_owned(),
            chunksize: chunksize.to_owned(),
            workers,
            rate,
        });
    }
    Ok(runs)
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// One pool's line: `(label, colour, points (chunksize, rate), auto's rate)`.
pub type PoolLine = (String, RGBColor, Vec<(f64, f64)>, Option<f64>);

/// The figure: each pool's median 2-worker rate per chunksize.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkFigure {
    /// One line per pool that has runs.
    pub pools: Vec<PoolLine>,
    /// Twice the serial loop's median rate.
    pub limit: Option<f64>,
}

impl ChunkFigure {
    /// Medians of the 2-worker runs of each pool.
    pub fn new(runs: &[ChunkRun]) -> ChunkFigure {
        let python = RGBColor(120, 120, 120);
        let pools = [
            ("thread", "our thread pool", pool_color(Pool::Thread)),
            (
                "process-fork",
                "our process pool (fork)",
                pool_color(Pool::Process),
            ),
            (
                "python-process-fork",
                "Python's ProcessPoolExecutor (fork)",
                python,
            ),
        ];
        let rates = |pool: &str, chunksize: &str| {
            median(
                runs.iter()
                    .filter(|r| r.pool == pool && r.chunksize == chunksize && r.workers == 2)
                    .map(|r| r.rate)
                    .collect(),
            )
        };
        let mut figure_pools = Vec::new();
        for (pool, label, color) in pools {
            let mut sizes: Vec<f64> = runs
                .iter()
                .filter(|r| r.pool == pool)
                .filter_map(|r| r.chunksize.parse::<f64>().ok())
                .collect();
            sizes.sort_by(f64::total_cmp);
            sizes.dedup();
            let points: Vec<(f64, f64)> = sizes
                .iter()
                .filter_map(|&c| rates(pool, &format!("{c}")).map(|r| (c, r)))
                .collect();
            if !points.is_empty() {
                figure_pools.push((label.to_owned(), color, points, rates(pool, "auto")));
            }
        }
        let limit = median(
            runs.iter()
                .filter(|r| r.pool == "serial")
                .map(|r| r.rate)
                .collect(),
        )
        .map(|r| 2.0 * r);
        ChunkFigure {
            pools: figure_pools,
            limit,
        }
    }

    /// Draws the figure onto `root`, which must be [`SIZE`] pixels.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (x_max, mut y_min, mut y_max) = (1.0e4_f64, f64::INFINITY, 0.0_f64);
        let x_max = self
            .pools
            .iter()
            .flat_map(|p| p.2.iter().map(|q| q.0))
            .fold(x_max, f64::max);
        for rate in self
            .pools
            .iter()
            .flat_map(|p| p.2.iter().map(|q| q.1).chain(p.3))
            .chain(self.limit)
        {
            y_min = y_min.min(rate);
            y_max = y_max.max(rate);
        }
        if y_max <= 0.0 {
            (y_min, y_max) = (1.0, 10.0);
        }
        let mut chart = ChartBuilder::on(root)
            .caption(
                "fibonacci(10) on 2 workers: throughput against chunksize",
                (FONT, 28, FontStyle::Bold),
            )
            .margin(24)
            .x_label_area_size(60)
            .y_label_area_size(110)
            .build_cartesian_2d(
                (0.8..x_max * 1.25).log_scale(),
                (y_min / 2.0..y_max * 2.0).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("chunksize (inputs a worker takes at once), log scale")
            .y_desc("tasks per second, log scale")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| {
                if *y >= 1e6 {
                    format!("{:.0} M", y / 1e6)
                } else {
                    format!("{:.0} k", y / 1e3)
                }
            })
            .label_style((FONT, 18))
            .axis_desc_style((FONT, 20))
            .draw()?;
        if let Some(limit) = self.limit {
            let black = RGBColor(40, 40, 40);
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(0.8, limit), (x_max * 1.25, limit)],
                    10,
                    6,
                    black.stroke_width(2),
                )))?
                .label("limit: 2 x a plain loop that times and records each task")
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 30, y)], 6, 4, black.stroke_width(2))
                });
        }
        for (label, color, points, auto) in &self.pools {
            let color = *color;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points.clone(),
                    color.stroke_width(3),
                )))?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 30, y)], color.stroke_width(3))
                });
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))?;
            if let Some(auto) = *auto {
                chart
                    .draw_series(std::iter::once(DashedPathElement::new(
                        vec![(0.8, auto), (x_max * 1.25, auto)],
                        3,
                        5,
                        color.stroke_width(2),
                    )))?
                    .label(format!("{label}, chunksize auto"))
                    .legend(move |(x, y)| {
                        DashedPathElement::new(
                            vec![(x, y), (x + 30, y)],
                            3,
                            4,
                            color.stroke_width(2),
                        )
                    });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .legend_area_size(45)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 17))
            .draw()?;
        Ok(())
    }
}

/// `report --chunks FILE`: reads the runs and writes the figure into `out`. Returns
/// the line to print.
pub fn draw_file(input: &Path, out: &Path) -> Result<String, ReportError> {
    let runs = read_runs(input)?;
    let figure = ChunkFigure::new(&runs);
    if figure.pools.is_empty() {
        return Err(ReportError::Row {
            path: input.to_owned(),
            line: 1,
            message: "no 2-worker runs of thread, process-fork or python-process-fork".into(),
        });
    }
    let png = super::render_png_with(SIZE, FILE, |root| {
        figure.draw(root).map_err(|err| err.to_string())
    })?;
    let path = crate::files::write_atomically(out, FILE, &png)?;
    Ok(format!("wrote {} ({} runs)", path.display(), runs.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pool: &str, chunksize: &str, workers: u32, rate: f64) -> ChunkRun {
        ChunkRun {
            pool: pool.into(),
            chunksize: chunksize.into(),
            workers,
            rate,
        }
    }

    /// Medians of the 2-worker runs only, per chunksize in order; auto apart; the
    /// limit is twice the serial rate.
    #[test]
    fn the_figure_takes_medians_of_two_worker_runs() {
        let runs = vec![
            run("serial", "", 1, 100.0),
            run("thread", "10", 2, 30.0),
            run("thread", "10", 2, 10.0),
            run("thread", "10", 2, 20.0),
            run("thread", "10", 1, 1000.0),
            run("thread", "1", 2, 5.0),
            run("thread", "auto", 2, 25.0),
        ];
        let figure = ChunkFigure::new(&runs);
        assert_eq!(figure.limit, Some(200.0));
        assert_eq!(figure.pools.len(), 1);
        assert_eq!(figure.pools[0].2, [(1.0, 5.0), (10.0, 20.0)]);
        assert_eq!(figure.pools[0].3, Some(25.0));
        let png = crate::chart::render_png_with(SIZE, FILE, |root| {
            figure.draw(root).map_err(|e| e.to_string())
        });
        assert!(png.is_ok());
    }

    #[test]
    fn a_bad_row_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        std::fs::write(&path, format!("{HEADER}\nthread,1,2,0,fast\n")).unwrap();
        let err = read_runs(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("runs.csv:2: tasks_per_s: \"fast\" is not a rate"),
            "{err}"
        );
    }
}
