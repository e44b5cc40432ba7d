//! What an event loop costs: one computation among the waits blocks every task.
//!
//! ```text
//! cargo run --release --example 03-event-loop-blocked
//! cargo run --release --example 03-event-loop-blocked -- --quick   # fib(27), 50 ms waits
//! ```
//!
//! Six GETs of 300 ms and one `fib(42)` share the async pool's one thread, all seven
//! allowed in flight at once. The three GETs ahead of the computation start: each
//! begins to connect and yields while the connection is made. Then the computation
//! takes the thread and keeps it until it ends: the loop cannot even finish those
//! connections and send the three requests. Expect, in the table this prints: no
//! task starts or ends while `fib(42)` computes (about half a second in a release
//! build); the three GETs ahead of it take about that plus their 300 ms; the three
//! behind it start only when it ends. The run takes the computation plus the wait,
//! where a thread pool would take the longer of the two. That is why asyncio code
//! hands CPU work to an executor (`loop.run_in_executor`; tokio has
//! `spawn_blocking`). `--quick` uses `fib(27)` and 50 ms waits, to show that it runs:
//! still nothing starts or ends during the computation, which is then short.

use pools::{AsyncPool, Context, Executor, Fibonacci, HttpFetch, Task, TaskFailure};
use serde::{Deserialize, Serialize};

/// One task of the mixed run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Job {
    /// A GET that the delay server answers after this many milliseconds.
    Wait(u64),
    /// `fib(n)`, computed on the loop's thread.
    Compute(u32),
}

/// The experiment's two tasks behind one input type.
#[derive(Debug, Serialize, Deserialize)]
struct Mixed(HttpFetch);

impl Task for Mixed {
    type Input = Job;
    type Output = ();
    const NAME: &'static str = "mixed";

    fn run(&self, job: &Job, cx: &mut impl Context) -> Result<(), TaskFailure> {
        match *job {
            Job::Wait(ms) => self.0.run(&ms, cx).map(drop),
            Job::Compute(n) => Fibonacci.run(&n, cx).map(drop),
        }
    }

    // The GET awaits; the computation is `Fibonacci`'s default `run_async`, which
    // computes in one poll of its future.
    async fn run_async(&self, job: &Job) -> Result<(), TaskFailure> {
        match *job {
            Job::Wait(ms) => self.0.run_async(&ms).await.map(drop),
            Job::Compute(n) => Fibonacci.run_async(&n).await.map(drop),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (ms, n) = if quick { (50, 27) } else { (300, 42) };
    let jobs = [
        Job::Wait(ms),
        Job::Wait(ms),
        Job::Wait(ms),
        Job::Compute(n),
        Job::Wait(ms),
        Job::Wait(ms),
        Job::Wait(ms),
    ];
    let server = http_wait::DelayServer::start()?;
    let mut pool = AsyncPool::new(jobs.len())?;
    let records = pool
        .map(&Mixed(HttpFetch::new(server.url_template())), &jobs)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let origin = records
        .iter()
        .map(|r| r.start)
        .fold(f64::INFINITY, f64::min);

    println!("task        started  ended    took     thread");
    for (job, r) in jobs.iter().zip(&records) {
        let name = match job {
            Job::Wait(ms) => format!("GET {ms} ms"),
            Job::Compute(n) => format!("fib({n})"),
        };
        println!(
            "{name:<11} {:.3} s  {:.3} s  {:.3} s  tid {}",
            r.start - origin,
            r.end - origin,
            r.elapsed(),
            r.tid
        );
    }

    // What the table shows, from its own numbers.
    let fib = &records[3];
    let (from, to) = (fib.start - origin, fib.end - origin);
    let inside = |t: f64| fib.start < t && t < fib.end;
    let others = records.iter().enumerate().filter(|(i, _)| *i != 3);
    let touched = others
        .clone()
        .filter(|(_, r)| inside(r.start) || inside(r.end))
        .count();
    println!(
        "\nfib({n}) computed from {from:.3} s to {to:.3} s; meanwhile {touched} other tasks \
         started or ended."
    );
    let shortest = records[..3]
        .iter()
        .map(|r| r.elapsed())
        .fold(f64::INFINITY, f64::min);
    println!(
        "The three {ms} ms GETs ahead of it took at least {shortest:.3} s each, {:.3} s more \
         than their wait.",
        shortest - ms as f64 / 1000.0
    );
    let after = records[4..]
        .iter()
        .map(|r| r.start - origin)
        .fold(f64::INFINITY, f64::min);
    println!("The three GETs behind it started at {after:.3} s, once it had ended.");
    let end = records.iter().map(|r| r.end).fold(0.0, f64::max);
    println!(
        "The run took {:.3} s: the computation took {:.3} s, and each wait is {:.3} s.",
        end - origin,
        fib.elapsed(),
        ms as f64 / 1000.0
    );
    let tids: std::collections::BTreeSet<i32> = records.iter().map(|r| r.tid).collect();
    println!(
        "Threads that ran the {} tasks: {}.",
        records.len(),
        tids.len()
    );
    Ok(())
}
