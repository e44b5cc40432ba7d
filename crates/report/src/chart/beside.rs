//! CPython beside Rust: the same Fibonacci experiment in both languages, on one
//! scale.
//!
//! The two languages compute at very different speeds (CPython's naive `fib` is
//! about 50 times slower), so their makespans cannot share an axis. Each run is
//! divided by its own language's **serial time** instead: the same inputs run one
//! after another on one thread (`serial-fibo.csv`). On that scale 1.0 means "no
//! faster than serial", and 1/cores is perfect parallelism.
//!
//! What to expect on a 2-core machine: CPython's thread pool sits at about 1.0,
//! because its GIL lets one thread compute at a time; Rust's simulated GIL sits at
//! or above 1.0 for the same reason (above it by what its checkpoints cost); both
//! process pools sit near 0.5. The gap between the two GIL bars is how far the
//! simulation is from the real thing, and the two speed-ups (the article's
//! `(threads − processes) / threads × 100 %`) say the same in the article's terms.
//!
//! The figure is drawn from two results folders: Rust's (`pools --experiment fib
//! --pools process,gil --serial`) and CPython's (`scripts/cpython_experiment.py`,
//! which writes its thread pool as `gil`). [`Comparison::new`] checks that each has
//! what the figure needs before anything is drawn or written.

use std::path::PathBuf;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::text::GlyphText;
use super::{ImageFormat, draw_error, pool_color, tint};
use crate::model::{Pool, Results, Workload};
use crate::{Exporter, ReportError};

/// The figure's file name, without extension.
pub const STEM: &str = "cpython-vs-rust";

/// The figure's size in pixels: as wide as the other figures.
const SIZE: (u32, u32) = (super::lanes::WIDTH, 900);

const FONT: &str = "sans-serif";

/// Which language a run is in, for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// CPython's `concurrent.futures`: its thread pool computes under the real GIL.
    CPython,
    /// `pools`: its GIL pool computes under the simulated one.
    Rust,
}

impl Language {
    /// The language's name.
    pub fn name(self) -> &'static str {
        match self {
            Language::CPython => "CPython",
            Language::Rust => "Rust",
        }
    }

    /// What its GIL-bound thread pool is called in the figure: CPython's threads
    /// are just threads; Rust's are the simulated GIL.
    pub fn threads(self) -> &'static str {
        match self {
            Language::CPython => "threads",
            Language::Rust => "simulated GIL",
        }
    }

    /// The flag that names this language's folder, for messages.
    fn flag(self) -> &'static str {
        match self {
            Language::CPython => "--beside",
            Language::Rust => "--in",
        }
    }

    /// The command that writes a folder with everything the figure needs.
    fn how_to_make(self) -> &'static str {
        match self {
            Language::CPython => "python3 scripts/cpython_experiment.py --out DIR",
            Language::Rust => "pools --experiment fib --pools process,gil --serial --out DIR",
        }
    }
}

/// One language's Fibonacci run: its serial time and its two pools' makespans, in
/// seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    /// Which language it is.
    pub language: Language,
    /// The serial pass, first start to last end, in seconds.
    pub serial: f64,
    /// The process pool's makespan, in seconds.
    pub processes: f64,
    /// The GIL-bound thread pool's makespan (CPython's threads, Rust's simulated
    /// GIL), in seconds.
    pub threads: f64,
}

impl Side {
    /// The side of `language` from its results, or what the figure needs that they
    /// lack.
    pub fn new(language: Language, results: &Results) -> Result<Side, NotComparable> {
        let missing = |file: String| NotComparable {
            flag: language.flag(),
            dir: results.dir.clone(),
            needs: format!(
                "has no {file}; {} writes every file the figure needs",
                language.how_to_make()
            ),
        };
        let workload = Workload::Fibo;
        // `pools` records who held its simulated GIL; CPython's script cannot, and
        // writes no such file. A folder with one given as CPython's is Rust's.
        if language == Language::CPython && results.held(workload).is_some() {
            return Err(NotComparable {
                flag: language.flag(),
                dir: results.dir.clone(),
                needs: format!(
                    "has {}, which only pools writes: this is a Rust run; give CPython's \
                     folder, which {} writes",
                    results::layout::held_file_name(workload),
                    language.how_to_make()
                ),
            });
        }
        let makespan = |pool: Pool| {
            results
                .experiment(pool, workload)
                .map(|e| e.makespan())
                .ok_or_else(|| {
                    missing(results::layout::task_file_name(&results::layout::tag(
                        pool, workload,
                    )))
                })
        };
        let processes = makespan(Pool::Process)?;
        let threads = makespan(Pool::Gil)?;
        let serial = results
            .serial_time(workload)
            .ok_or_else(|| missing(results::layout::serial_file_name(workload)))?;
        // A ratio needs times the clock could measure; tiny inputs can run in under
        // a microsecond, and the files keep six decimals. (The speed-up divides by
        // the threads' makespan.)
        for (what, secs) in [("serial pass", serial), ("gil-fibo run", threads)] {
            if secs <= 0.0 || !secs.is_finite() {
                return Err(NotComparable {
                    flag: language.flag(),
                    dir: results.dir.clone(),
                    needs: format!(
                        "says its {what} took {secs} s, too little to divide by; run it \
                         with larger Fibonacci inputs"
                    ),
                });
            }
        }
        Ok(Side {
            language,
            serial,
            processes,
            threads,
        })
    }

    /// The process pool's makespan as a share of the serial time.
    pub fn process_ratio(&self) -> f64 {
        self.processes / self.serial
    }

    /// The GIL-bound thread pool's makespan as a share of the serial time.
    pub fn thread_ratio(&self) -> f64 {
        self.threads / self.serial
    }

    /// The article's speed-up of processes over threads, in percent:
    /// `(threads − processes) / threads × 100`.
    pub fn speed_up(&self) -> f64 {
        results::speedup::percent(self.processes, self.threads)
    }

    /// The line `report` prints for this side: the serial time, both ratios, and the
    /// speed-up in the words `pools` and the script print it with.
    pub fn summary_line(&self) -> String {
        let name = match self.language {
            Language::CPython => "Threads",
            Language::Rust => "GIL-threads",
        };
        format!(
            "{}: serial {:.3} s; processes {:.2}x, {} {:.2}x of it; \
             Process vs {name} Fibonacci tasks speed-up = {:.2}%",
            self.language.name(),
            self.serial,
            self.process_ratio(),
            self.language.threads(),
            self.thread_ratio(),
            self.speed_up()
        )
    }
}

/// A results folder that lacks what the figure needs: one line, naming the flag
/// and the folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {}: cannot draw CPython beside Rust: it {needs}", .dir.display())]
pub struct NotComparable {
    /// `--in` or `--beside`.
    pub flag: &'static str,
    /// The folder.
    pub dir: PathBuf,
    /// What it lacks, and how to make it.
    pub needs: String,
}

/// Both languages' runs, ready to draw: the figure's data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// CPython's run.
    pub cpython: Side,
    /// Rust's run.
    pub rust: Side,
    /// The cores perfect parallelism is drawn for (the line at 1/cores).
    pub cores: usize,
}

impl Comparison {
    /// Rust's run from `rust`, CPython's from `cpython`, and the line of perfect
    /// parallelism for `cores`; or the first thing either folder lacks.
    pub fn new(rust: &Results, cpython: &Results, cores: usize) -> Result<Self, NotComparable> {
        Ok(Comparison {
            rust: Side::new(Language::Rust, rust)?,
            cpython: Side::new(Language::CPython, cpython)?,
            cores: cores.max(1),
        })
    }

    /// The lines `report` prints when it draws the figure: one per language, then
    /// how far apart they are.
    pub fn lines(&self) -> Vec<String> {
        vec![
            self.cpython.summary_line(),
            self.rust.summary_line(),
            self.gap(),
        ]
    }

    /// How far the simulated GIL is from CPython's, in both measures.
    fn gap(&self) -> String {
        format!(
            "Simulated GIL vs CPython threads: {:.2}x vs {:.2}x of serial; speed-ups {:.2}% vs \
             {:.2}%, {:.2} points apart",
            self.rust.thread_ratio(),
            self.cpython.thread_ratio(),
            self.rust.speed_up(),
            self.cpython.speed_up(),
            self.rust.speed_up() - self.cpython.speed_up()
        )
    }

    /// Draws the figure onto `root`, which must be [`SIZE`] pixels.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(150);
        let margin = 24;
        header.draw_text(
            "CPython beside Rust: Fibonacci, each run as a share of its own serial time",
            &TextStyle::from((FONT, 30, FontStyle::Bold).into_font()),
            (margin, 16),
        )?;
        header.draw_text(
            &format!(
                "serial time = the same inputs one after another on one thread: CPython \
                 {:.3} s, Rust {:.3} s. Lower is faster; 1.0 is no faster than serial.",
                self.cpython.serial, self.rust.serial
            ),
            &TextStyle::from((FONT, 19).into_font()).color(&RGBColor(64, 64, 64)),
            (margin, 62),
        )?;
        header.draw_text(
            &self.gap(),
            &TextStyle::from((FONT, 19).into_font()).color(&RGBColor(64, 64, 64)),
            (margin, 92),
        )?;
        // The legend: one colour per kind of pool, in both languages.
        let entry = TextStyle::from((FONT, 19).into_font());
        let mut x = margin;
        for (label, color) in [
            ("process pool", pool_color(Pool::Process)),
            (
                "threads under a GIL (CPython's own; Rust's simulated GIL)",
                pool_color(Pool::Gil),
            ),
        ] {
            header.draw(&Rectangle::new([(x, 118), (x + 20, 138)], color.filled()))?;
            header.draw(&Text::new(
                label,
                (x + 28, 128),
                entry.pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += 28 + header.estimate_text_size(label, &entry)?.0 as i32 + 40;
        }

        // Four bars in two groups, CPython left, Rust right, a gap between.
        let bars = [
            (0.6, self.cpython, Pool::Process),
            (1.6, self.cpython, Pool::Gil),
            (3.2, self.rust, Pool::Process),
            (4.2, self.rust, Pool::Gil),
        ];
        // Room right of the bars for the reference lines' names.
        let x_range = 0.0..6.3;
        let perfect = 1.0 / self.cores as f64;
        let tallest = bars
            .iter()
            .map(|(_, side, pool)| ratio(side, *pool))
            .fold(1.0, f64::max);
        // Room above the tallest bar for its label.
        let y_max = tallest * 1.2;

        let mut chart = ChartBuilder::on(&body)
            .margin_left(margin)
            .margin_right(margin)
            .margin_top(10)
            .x_label_area_size(110)
            .y_label_area_size(90)
            .build_cartesian_2d(x_range.clone(), 0.0..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(10)
            .y_label_formatter(&|v: &f64| format!("{v:.1}"))
            .y_desc("makespan ÷ own serial time")
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 20))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;

        let half = 0.36;
        for &(at, side, pool) in &bars {
            let value = ratio(&side, pool);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(at - half, 0.0), (at + half, value)],
                pool_color(pool).filled(),
            )))?;
            let makespan = match pool {
                Pool::Gil => side.threads,
                _ => side.processes,
            };
            chart.draw_series(std::iter::once(Text::new(
                format!("{value:.2}x  ({makespan:.3} s)"),
                // A little above the bar, clear of a reference line at its top.
                (at, value + y_max * 0.012),
                TextStyle::from((FONT, 20, FontStyle::Bold).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )))?;
            // The bar's name under the axis.
            let name = match pool {
                Pool::Gil => side.language.threads(),
                _ => "processes",
            };
            let (x, y) = chart.backend_coord(&(at, 0.0));
            root.draw(&Text::new(
                name,
                (x, y + 10),
                TextStyle::from((FONT, 19).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }

        // The two reference lines, across every bar, each named right of the bars:
        // serial above its line, perfect parallelism below its own.
        for (y, label, color, vpos) in [
            (
                1.0,
                "1.0: serial".to_owned(),
                RGBColor(60, 60, 60),
                VPos::Bottom,
            ),
            (
                perfect,
                format!(
                    "1/{}: perfect parallelism on {} cores",
                    self.cores, self.cores
                ),
                tint(RGBColor(60, 60, 60), 0.35),
                VPos::Top,
            ),
        ] {
            chart.draw_series(std::iter::once(PathElement::new(
                [(x_range.start, y), (x_range.end, y)],
                color.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                label,
                (4.75, y),
                TextStyle::from((FONT, 18).into_font())
                    .color(&color)
                    .pos(Pos::new(HPos::Left, vpos)),
            )))?;
        }

        // Each language's name and its speed-up under its pair of bars.
        for (center, side) in [(1.1, self.cpython), (3.7, self.rust)] {
            let (x, y) = chart.backend_coord(&(center, 0.0));
            root.draw(&Text::new(
                side.language.name(),
                (x, y + 42),
                TextStyle::from((FONT, 22, FontStyle::Bold).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
            root.draw(&Text::new(
                format!(
                    "processes vs {}: speed-up {:.1} %",
                    side.language.threads(),
                    side.speed_up()
                ),
                (x, y + 72),
                TextStyle::from((FONT, 19).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        Ok(())
    }
}

/// One bar's height: the pool's makespan over its language's serial time.
fn ratio(side: &Side, pool: Pool) -> f64 {
    match pool {
        Pool::Gil => side.thread_ratio(),
        _ => side.process_ratio(),
    }
}

/// The figure in one format: the exporter `report --beside` writes.
///
/// It draws from the [`Comparison`] it holds, which was made from both folders,
/// not from the one [`Results`] an [`Exporter`] is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BesideFile {
    /// The data.
    pub comparison: Comparison,
    /// How to encode it.
    pub format: ImageFormat,
}

impl Exporter for BesideFile {
    fn file_name(&self) -> String {
        format!("{STEM}.{}", self.format.extension())
    }

    fn render(&self, _results: &Results) -> Result<Vec<u8>, ReportError> {
        let file = self.file_name();
        let (width, height) = SIZE;
        match self.format {
            ImageFormat::Png => {
                let mut rgb = vec![0; width as usize * height as usize * 3];
                {
                    let bitmap = BitMapBackend::with_buffer(&mut rgb, SIZE);
                    let root = GlyphText::raster(bitmap).into_drawing_area();
                    self.comparison
                        .draw(&root)
                        .map_err(|err| draw_error(&file, err))?;
                    root.present().map_err(|err| draw_error(&file, err))?;
                }
                super::encode_png(&rgb, width, height).map_err(|err| draw_error(&file, err))
            }
            ImageFormat::Svg => {
                let mut svg = String::new();
                {
                    let root = GlyphText::vector(SVGBackend::with_string(&mut svg, SIZE))
                        .into_drawing_area();
                    self.comparison
                        .draw(&root)
                        .map_err(|err| draw_error(&file, err))?;
                    root.present().map_err(|err| draw_error(&file, err))?;
                }
                Ok(svg.into_bytes())
            }
        }
    }
}

/// The exporters for the figure in each of `formats`.
pub fn exporters(comparison: Comparison, formats: &[ImageFormat]) -> Vec<Box<dyn Exporter>> {
    formats
        .iter()
        .map(|&format| Box::new(BesideFile { comparison, format }) as Box<dyn Exporter>)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Experiment, TaskRow};

    fn task(tag: &str, start: f64, end: f64) -> TaskRow {
        TaskRow {
            tag: tag.into(),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "1".into(),
            input: 1,
            worker: 0,
            pid: 1,
            tid: 1,
        }
    }

    /// Results with a process run of `processes` s, a GIL run of `threads` s and a
    /// serial pass of `serial` s (no `experiments.csv`: makespans from the tasks).
    fn results(dir: &str, processes: f64, threads: f64, serial: Option<f64>) -> Results {
        let run = |pool, secs| Experiment {
            pool,
            workload: Workload::Fibo,
            path: PathBuf::from("x.csv"),
            tasks: vec![task("x-0", 100.0, 100.0 + secs)],
            summary: None,
        };
        let mut results = Results {
            dir: PathBuf::from(dir),
            experiments: vec![run(Pool::Process, processes), run(Pool::Gil, threads)],
            ..Results::default()
        };
        if let Some(serial) = serial {
            results.serial.insert(
                Workload::Fibo,
                vec![
                    task("serial-fibo-0", 50.0, 50.0 + serial / 4.0),
                    task("serial-fibo-1", 50.0 + serial / 4.0, 50.0 + serial),
                ],
            );
        }
        results
    }

    /// The ratios and speed-ups are the article's formulas, on each side's own
    /// serial time.
    #[test]
    fn ratios_and_speed_ups_follow_the_formulas() {
        let rust = results("rust", 0.5, 1.25, Some(1.0));
        let cpython = results("cpython", 6.0, 10.0, Some(10.0));
        let c = Comparison::new(&rust, &cpython, 2).unwrap();
        assert_eq!(c.rust.process_ratio(), 0.5);
        assert_eq!(c.rust.thread_ratio(), 1.25);
        assert_eq!(c.rust.speed_up(), 60.0);
        assert_eq!(c.cpython.thread_ratio(), 1.0);
        assert_eq!(c.cpython.speed_up(), 40.0);
        assert_eq!(
            c.lines(),
            [
                "CPython: serial 10.000 s; processes 0.60x, threads 1.00x of it; \
                 Process vs Threads Fibonacci tasks speed-up = 40.00%",
                "Rust: serial 1.000 s; processes 0.50x, simulated GIL 1.25x of it; \
                 Process vs GIL-threads Fibonacci tasks speed-up = 60.00%",
                "Simulated GIL vs CPython threads: 1.25x vs 1.00x of serial; speed-ups 60.00% \
                 vs 40.00%, 20.00 points apart",
            ]
        );
    }

    /// A folder without its serial file, or without a pool, is refused with one line
    /// that names the flag, the folder, the file and the command that writes it.
    #[test]
    fn a_folder_lacking_a_file_is_refused_by_name() {
        let rust = results("r", 0.5, 1.0, Some(1.0));
        let err = Comparison::new(&rust, &results("c", 6.0, 10.0, None), 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--beside c: cannot draw CPython beside Rust: it has no serial-fibo.csv; \
             python3 scripts/cpython_experiment.py --out DIR writes every file the figure needs"
        );
        let mut no_gil = results("r", 0.5, 1.0, Some(1.0));
        no_gil.experiments.retain(|e| e.pool != Pool::Gil);
        let err = Comparison::new(&no_gil, &rust, 2).unwrap_err().to_string();
        assert!(
            err.starts_with("--in r: cannot draw CPython beside Rust: it has no gil-fibo.csv"),
            "{err}"
        );
        let err = Comparison::new(&results("r", 0.5, 1.0, Some(0.0)), &rust, 2).unwrap_err();
        assert!(err.to_string().contains("too little to divide by"), "{err}");
    }

    /// Both formats render: a PNG, and an SVG whose text names CPython and the
    /// simulated GIL.
    #[test]
    fn the_figure_renders_in_both_formats() {
        let c = Comparison::new(
            &results("r", 0.57, 1.33, Some(1.0)),
            &results("c", 6.0, 10.4, Some(10.0)),
            2,
        )
        .unwrap();
        let png = BesideFile {
            comparison: c,
            format: ImageFormat::Png,
        }
        .render(&Results::default())
        .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let svg = BesideFile {
            comparison: c,
            format: ImageFormat::Svg,
        }
        .render(&Results::default())
        .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        for text in [
            "CPython",
            "simulated GIL",
            "1/2: perfect parallelism",
            "1.0: serial",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
