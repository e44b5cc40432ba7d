//! The figures: which ones exist, how each is built, and how it becomes PNG or SVG
//! bytes.
//!
//! # Layout
//! - [`lanes`]: the single drawing routine every figure uses (labelled lanes of bars
//!   on a time axis).
//! - [`gantt`], [`workers`], [`gil`]: build the lanes of each figure from the
//!   results. Each module's header says what the figure should show.
//! - [`beside`]: CPython beside Rust, each run as a share of its own serial time;
//!   drawn from two folders by `report --beside`, so not in the [`Chart`] list.
//! - [`cores`]: the article's first figure, concurrency vs parallelism, from two
//!   `pools --cpus N` runs (its own exporter, drawn only when both runs are there).
//! - [`race`], [`queue`], [`barrier`]: the figures of `isolation-demo race`, `queue`
//!   and `barrier`, from the rows [`crate::isolation`] reads (drawn by
//!   `report --in DIR` on a folder of those CSVs only, so not in the [`Chart`] list).
//! - [`text`]: text from the embedded DejaVu Sans font, for every backend.
//! - This file: the [`Chart`] list, colours, and the [`ChartFile`] exporter that
//!   renders a chart in one [`ImageFormat`].
//!
//! Everything is drawn into memory, never onto a path, so that the caller can write
//! the finished bytes atomically.

pub mod barrier;
pub mod beside;
pub mod beside_async;
pub mod chunks;
pub mod cores;
pub mod gantt;
pub mod gil;
pub mod lanes;
pub mod queue;
pub mod race;
pub mod text;
pub mod workers;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::model::{Experiment, Pool, Results, Workload};
use crate::{Exporter, ReportError};
use lanes::Lanes;
use text::GlyphText;

/// An image file format for the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageFormat {
    /// A bitmap, for the tutorial and for quick viewing.
    Png,
    /// Vector graphics with real `<text>` elements, for zooming and searching.
    Svg,
}

impl ImageFormat {
    /// The file extension, without the dot; also the `--format` value.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// `report --format` parses straight into this type. Written out rather than
/// derived, so that a value is spelled as its extension and the variants' doc
/// comments do not become `--help` text.
impl clap::ValueEnum for ImageFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[ImageFormat::Png, ImageFormat::Svg]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.extension()))
    }
}

/// The most lanes (bars or workers) a chart may have; see [`Chart::missing_input`].
pub const MAX_LANES: usize = 600;

/// Every figure `report` knows how to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// The article's Gantt chart of one workload: a bar per task, grouped by pool.
    Gantt(Workload),
    /// One lane per worker of each pool, showing which worker ran which task.
    Workers(Workload),
    /// One lane per GIL-pool thread, marking when it held the lock.
    GilTimeline(Workload),
    /// The same, zoomed to the first few switch intervals.
    GilZoom(Workload),
}

impl Chart {
    /// Every chart, in the order they are written.
    ///
    /// The zoomed GIL view is only drawn for Fibonacci: under HTTP fetches the lock
    /// is held for microseconds at the start and end of each wait, and a zoom on
    /// the first 100 ms shows nothing the full view does not.
    pub const ALL: [Chart; 7] = [
        Chart::Gantt(Workload::Fibo),
        Chart::Gantt(Workload::Get),
        Chart::Workers(Workload::Fibo),
        Chart::Workers(Workload::Get),
        Chart::GilTimeline(Workload::Fibo),
        Chart::GilZoom(Workload::Fibo),
        Chart::GilTimeline(Workload::Get),
    ];

    /// The file name without extension. The Gantt names are the article's.
    pub fn stem(self) -> &'static str {
        match self {
            Chart::Gantt(Workload::Fibo) => "process-thread-fibonacci-gantt",
            Chart::Gantt(Workload::Get) => "process-thread-fetch-gantt",
            Chart::Workers(Workload::Fibo) => "fibo-workers",
            Chart::Workers(Workload::Get) => "get-workers",
            Chart::GilTimeline(Workload::Fibo) => "gil-timeline",
            Chart::GilTimeline(Workload::Get) => "gil-get-timeline",
            Chart::GilZoom(Workload::Fibo) => "gil-timeline-zoom",
            Chart::GilZoom(Workload::Get) => "gil-get-timeline-zoom",
        }
    }

    /// The chart's lanes, or `None` if the results lack the data it needs.
    pub fn lanes(self, results: &Results) -> Option<Lanes> {
        match self {
            Chart::Gantt(workload) => gantt::gantt(results, workload),
            Chart::Workers(workload) => workers::workers(results, workload),
            Chart::GilTimeline(workload) => gil::gil_timeline(results, workload, false),
            Chart::GilZoom(workload) => gil::gil_timeline(results, workload, true),
        }
    }

    /// The workload the chart shows.
    pub fn workload(self) -> Workload {
        match self {
            Chart::Gantt(workload)
            | Chart::Workers(workload)
            | Chart::GilTimeline(workload)
            | Chart::GilZoom(workload) => workload,
        }
    }

    /// Why the chart cannot be drawn from `results`, or `None` if it can.
    ///
    /// From the article's own files ([`Results::has_task_ids`] is false) only the
    /// Gantt charts can be drawn: the others need columns or files those lack.
    ///
    /// A chart with more than [`MAX_LANES`] lanes is not drawn: each lane is a row of
    /// pixels, so a run with `--repeat 1000` would ask for an image of gigabytes.
    /// `trace.json` still holds every task; Perfetto zooms where a PNG cannot.
    pub fn missing_input(self, results: &Results) -> Option<String> {
        let workload = self.workload();
        let too_many = |what: &str, lanes: usize| {
            Some(format!(
                "{lanes} {what} are too many to draw as lanes (at most {MAX_LANES}); \
                 open trace.json in Perfetto instead"
            ))
        };
        if !results.has_task_ids() {
            // The article's own files: one row per task, and nothing about who ran it.
            match self {
                Chart::Gantt(_) => {}
                Chart::Workers(_) => {
                    return Some(
                        "needs the worker, pid and tid columns, which the article's files \
                         do not have"
                            .to_owned(),
                    );
                }
                Chart::GilTimeline(_) | Chart::GilZoom(_) => {
                    return Some(format!(
                        "needs gil-{workload}-held.csv, which the article's program does not \
                         write (it has no simulated GIL to record)"
                    ));
                }
            }
        }
        match self {
            Chart::Gantt(_) | Chart::Workers(_) if results.for_workload(workload).count() == 0 => {
                Some(format!("no *-{workload}.csv"))
            }
            Chart::Gantt(_) => {
                let tasks: usize = results.for_workload(workload).map(|e| e.tasks.len()).sum();
                (tasks > MAX_LANES)
                    .then(|| too_many("tasks", tasks))
                    .flatten()
            }
            Chart::Workers(_) => {
                let workers: usize = results
                    .for_workload(workload)
                    .map(|e| {
                        let mut ids: Vec<(i32, i32)> =
                            e.tasks.iter().map(|t| (t.pid, t.tid)).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids.len()
                    })
                    .sum();
                // The async pool's one worker has a lane per task in flight.
                let lanes: usize = results
                    .for_workload(workload)
                    .map(workers::lane_count)
                    .sum();
                if workers > MAX_LANES {
                    too_many("workers", workers)
                } else {
                    (lanes > MAX_LANES)
                        .then(|| too_many("rows of tasks in flight", lanes))
                        .flatten()
                }
            }
            Chart::GilTimeline(_) | Chart::GilZoom(_)
                if results.held(workload).is_none_or(<[_]>::is_empty) =>
            {
                Some(format!("no rows in gil-{workload}-held.csv"))
            }
            Chart::GilTimeline(_) | Chart::GilZoom(_) => {
                // One lane per GIL worker, from the held file and the task file.
                let mut workers: Vec<usize> = results
                    .held(workload)
                    .unwrap_or_default()
                    .iter()
                    .map(|h| h.worker)
                    .chain(
                        results
                            .experiment(Pool::Gil, workload)
                            .into_iter()
                            .flat_map(|e| e.tasks.iter().map(|t| t.worker)),
                    )
                    .collect();
                workers.sort_unstable();
                workers.dedup();
                (workers.len() > MAX_LANES)
                    .then(|| too_many("workers", workers.len()))
                    .flatten()
            }
        }
    }
}

/// One chart in one format: the exporter for image files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartFile {
    /// What to draw.
    pub chart: Chart,
    /// How to encode it.
    pub format: ImageFormat,
}

impl Exporter for ChartFile {
    fn file_name(&self) -> String {
        format!("{}.{}", self.chart.stem(), self.format.extension())
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError> {
        let file = self.file_name();
        let lanes = self.chart.lanes(results).ok_or_else(|| ReportError::Draw {
            file: file.clone(),
            message: self.chart.missing_input(results).unwrap_or_default(),
        })?;
        match self.format {
            ImageFormat::Png => render_png(&lanes, &file),
            ImageFormat::Svg => render_svg(&lanes, &file),
        }
    }
}

/// Draws into an RGB buffer and encodes it as PNG.
pub fn render_png(lanes: &Lanes, file: &str) -> Result<Vec<u8>, ReportError> {
    let (width, height) = lanes.size();
    let mut rgb = vec![0; width as usize * height as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, (width, height));
        let root = GlyphText::raster(bitmap).into_drawing_area();
        draw(lanes, &root, file)?;
    }
    encode_png(&rgb, width, height).map_err(|err| draw_error(file, err))
}

/// Draws a figure of `size` pixels with `draw` (which reports a failure as text)
/// into an RGB buffer and encodes it as PNG: for the figures that are not lanes.
pub fn render_png_with(
    size: (u32, u32),
    file: &str,
    draw: impl FnOnce(&DrawingArea<GlyphText<BitMapBackend<'_>>, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, ReportError> {
    let (width, height) = size;
    let mut rgb = vec![0; width as usize * height as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, size);
        let root = GlyphText::raster(bitmap).into_drawing_area();
        draw(&root).map_err(|err| draw_error(file, err))?;
        root.present().map_err(|err| draw_error(file, err))?;
    }
    encode_png(&rgb, width, height).map_err(|err| draw_error(file, err))
}

/// Encodes an RGB buffer of `width` × `height` pixels as PNG: the one encoder
/// setting of every figure.
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colours compress well, and at the default level encoding stays a small
    // part of the run time (all figures of a run take well under a second).
    encoder.set_compression(png::Compression::Default);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(rgb))?;
    Ok(png_bytes)
}

/// Draws into an SVG document.
pub fn render_svg(lanes: &Lanes, file: &str) -> Result<Vec<u8>, ReportError> {
    let mut svg = String::new();
    {
        let root =
            GlyphText::vector(SVGBackend::with_string(&mut svg, lanes.size())).into_drawing_area();
        draw(lanes, &root, file)?;
    }
    Ok(svg.into_bytes())
}

fn draw<DB: DrawingBackend>(
    lanes: &Lanes,
    root: &DrawingArea<DB, Shift>,
    file: &str,
) -> Result<(), ReportError> {
    lanes.draw(root).map_err(|err| draw_error(file, err))?;
    root.present().map_err(|err| draw_error(file, err))
}

fn draw_error(file: &str, err: impl std::fmt::Display) -> ReportError {
    ReportError::Draw {
        file: file.to_owned(),
        message: err.to_string(),
    }
}

/// Each pool's colour, the same in every chart (Okabe-Ito colours, which stay
/// distinct for colour-blind readers).
pub fn pool_color(pool: Pool) -> RGBColor {
    match pool {
        Pool::Process => RGBColor(0, 114, 178),
        Pool::Thread => RGBColor(230, 159, 0),
        Pool::Gil => RGBColor(0, 158, 115),
        Pool::Async => RGBColor(204, 121, 167),
    }
}

/// A darker shade of the pool's colour, for text such as the makespan note, which
/// must read on white.
pub fn note_color(pool: Pool) -> RGBColor {
    let RGBColor(r, g, b) = pool_color(pool);
    let dark = |c: u8| (f64::from(c) * 0.7) as u8;
    RGBColor(dark(r), dark(g), dark(b))
}

/// `color` mixed with white: `amount` 0 is the colour itself, 1 is white.
pub fn tint(color: RGBColor, amount: f64) -> RGBColor {
    let RGBColor(r, g, b) = color;
    let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * amount).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// The frame shared by the per-pool charts (Gantt and workers): one group of lanes
/// per pool that ran `workload`, each closed by a makespan line, with a legend entry
/// per pool and room on the right for the makespan notes. `lanes_of` turns one
/// experiment into its lanes, given that experiment's time zero. `None` if no pool
/// ran the workload.
fn per_pool_chart(
    results: &Results,
    workload: Workload,
    title: &str,
    y_desc: &str,
    lanes_of: impl Fn(&Experiment, f64) -> Vec<lanes::Lane>,
) -> Option<Lanes> {
    let mut lanes = Vec::new();
    let mut groups = Vec::new();
    let mut legend = Vec::new();
    let mut x_max: f64 = 0.0;
    for experiment in results.for_workload(workload) {
        let origin = experiment.origin();
        let first = lanes.len();
        lanes.extend(lanes_of(experiment, origin));
        let makespan = experiment.makespan();
        x_max = x_max.max(makespan).max(experiment.last_end() - origin);
        groups.push(lanes::Group {
            lanes: first..lanes.len(),
            at: Some(makespan),
            note: format!("makespan {makespan:.2} s"),
            color: note_color(experiment.pool),
        });
        legend.push(legend_entry(experiment));
    }
    if lanes.is_empty() {
        return None;
    }
    Some(Lanes {
        title: title.to_owned(),
        x_desc: "seconds since the pool's experiment began".to_owned(),
        y_desc: y_desc.to_owned(),
        // Room right of the longest group for its makespan note.
        x_range: 0.0..x_max * 1.18,
        legend,
        lanes,
        groups,
        note: None,
    })
}

/// The legend entry of one pool: its name and, when `experiments.csv` says, its
/// worker count and start method or switch interval.
fn legend_entry(experiment: &Experiment) -> (String, RGBColor) {
    let mut label = experiment.pool.description().to_owned();
    if let Some(summary) = &experiment.summary {
        let mut details = vec![match experiment.pool {
            // One thread; `workers` is how many tasks it may keep in flight.
            Pool::Async => format!("up to {} tasks in flight", summary.workers),
            _ => format!("{} workers", summary.workers),
        }];
        if let Some(method) = &summary.start_method {
            details.push(method.clone());
        }
        if let Some(ms) = summary.switch_interval_ms {
            details.push(format!("{ms} ms switch"));
        }
        label = format!("{label} ({})", details.join(", "));
    }
    (label, pool_color(experiment.pool))
}

#[cfg(test)]
mod tests {
    use super::lanes::{Bar, Group, Lane};
    use super::*;

    fn one_lane(x_range: std::ops::Range<f64>) -> Lanes {
        Lanes {
            title: "t".into(),
            x_desc: "x".into(),
            y_desc: "y".into(),
            x_range,
            legend: vec![("thread pool".into(), pool_color(Pool::Thread))],
            lanes: vec![Lane {
                label: "thread fib(1)".into(),
                bars: vec![Bar {
                    start: 0.0,
                    end: 0.0,
                    color: pool_color(Pool::Thread),
                    text: Some("0.00 s".into()),
                }],
            }],
            groups: vec![Group {
                lanes: 0..1,
                at: Some(0.0),
                note: "makespan 0.00 s".into(),
                color: note_color(Pool::Thread),
            }],
            note: None,
        }
    }

    /// Tasks that took no measurable time give an empty axis; the chart is still
    /// drawn (with a one-second axis) instead of failing or panicking.
    #[test]
    fn empty_axis_still_draws() {
        let svg = render_svg(&one_lane(0.0..0.0), "t.svg").unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("thread fib(1)"));
        let png = render_png(&one_lane(0.0..0.0), "t.png").unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }

    /// A tint of 0 is the colour, 1 is white.
    #[test]
    fn tint_runs_from_colour_to_white() {
        let c = RGBColor(0, 100, 200);
        assert_eq!(tint(c, 0.0), c);
        assert_eq!(tint(c, 1.0), RGBColor(255, 255, 255));
    }
}
