//! Draw your own chart: run a custom experiment with the `pools` library, write its
//! CSVs, and draw them with the `report` library.
//!
//! ```text
//! cargo run --release --example 04-draw-your-own-chart
//! cargo run --release --example 04-draw-your-own-chart -- --quick   # fibonacci(20..28)
//! ```
//!
//! The experiment gives 2 workers 8 Fibonacci tasks, longest first, on the process
//! and GIL pools. Expect `results/own-chart/fibo-workers.png` to show each process
//! worker running several tasks back to back (an idle worker takes the next input),
//! and the GIL pool's two threads taking turns, in `results/own-chart/gil-timeline.png`.
//! `--quick` draws the same two charts from much smaller tasks.

use std::path::Path;
use std::time::Duration;

use pools::experiment::{PoolConfig, run};
use pools::{Fibonacci, PoolKind, StartMethod, output};
use report::{Chart, ChartFile, Exporter, ImageFormat, Workload};

fn main() -> anyhow::Result<()> {
    let dir = Path::new("results/own-chart");
    std::fs::create_dir_all(dir)?;
    let inputs: Vec<u32> = if std::env::args().any(|arg| arg == "--quick") {
        (20..28).rev().collect()
    } else {
        (34..42).rev().collect()
    };

    let mut experiments = Vec::new();
    // The process pool first: fork needs this program to be single-threaded.
    for kind in [PoolKind::Process, PoolKind::Gil] {
        let config = PoolConfig {
            kind,
            workers: 2,
            start_method: StartMethod::Fork,
            switch_interval: Duration::from_millis(5),
            task_timeout: None,
        };
        let outcome = run(&config, "fibo", &Fibonacci, &inputs, &|| {})?;
        let tag = &outcome.record.tag;
        let tasks = outcome.tasks.into_iter().collect::<Result<Vec<_>, _>>()?;
        output::write_tasks(&dir.join(format!("{tag}.csv")), tag, &inputs, &tasks)?;
        if kind == PoolKind::Gil {
            output::write_held(&dir.join("gil-fibo-held.csv"), &outcome.held)?;
        }
        println!("{tag}: {:.3} s", outcome.record.makespan);
        experiments.push(outcome.record);
    }
    output::write_experiments(&dir.join("experiments.csv"), &experiments)?;

    // Now the drawing side: load the folder and render two of report's charts.
    let results = report::load(dir)?;
    for chart in [
        Chart::Workers(Workload::Fibo),
        Chart::GilTimeline(Workload::Fibo),
    ] {
        let file = ChartFile {
            chart,
            format: ImageFormat::Png,
        };
        let bytes = file.render(&results)?;
        let path = report::write_atomically(dir, &file.file_name(), &bytes)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
