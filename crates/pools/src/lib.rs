//! Four executors side by side (real threads, threads under a simulated GIL,
//! processes, and an event loop on one thread) and the article's experiment that
//! compares them.
//!
//! **The claim.** For CPU-bound work, CPython threads do not speed anything up,
//! because only the thread holding the global interpreter lock computes; processes
//! do, because each has its own interpreter and its own core. For work that waits,
//! threads do as well as processes, because waiting releases the lock. Rust threads
//! have no GIL, so here real threads are as fast as processes for both kinds of work;
//! the [`GilThreadPool`] puts the GIL back to show what Python programmers see.
//! The [`AsyncPool`] is Python's third answer, `asyncio`: one thread whose waits
//! overlap, and whose computations run one after another.
//!
//! All four pools implement [`Executor`]: `map(task, inputs)` runs a [`Task`] on every
//! input, each idle worker taking the next one, and returns results in input order.
//!
//! # Layout
//!
//! - [`task`]: the [`Task`] trait, the [`Context`] a task runs in, the two tasks of
//!   the experiment, [`Fibonacci`] (CPU-bound) and [`HttpFetch`] (IO-bound), and how
//!   every pool runs one task (timed, with a panic caught).
//! - [`executor`]: the [`Executor`] trait.
//! - [`chunk`]: [`Chunksize`], how many inputs a worker takes at once, and how
//!   `auto` sizes chunks from measured task times.
//! - [`cores`]: `--cpus N`: restrict the program to N CPUs, and record which core ran
//!   each Fibonacci task, and when (the article's concurrency-vs-parallelism figure).
//! - [`thread_pool`]: [`ThreadPool`], real parallel threads.
//! - [`gil`]: the simulated [`Gil`] and the [`GilThreadPool`] that runs under it.
//! - [`async_pool`]: [`AsyncPool`], an event loop on one thread, and
//!   [`async_fetch`], the GET it awaits.
//! - [`process`]: [`ProcessPool`] and its start methods `fork`, `spawn`, `forkserver`;
//!   its `# Layout` gives the order to read its files in, along chapter 3's six steps.
//! - [`timeout`]: the task timeout: a worker process past it is killed; a thread
//!   cannot be, so the program ends.
//! - [`experiment`]: run one pool over one set of inputs and record what happened.
//! - [`explain`]: the sentences `pools` prints after its timings, each derived from
//!   the run's own measurements.
//! - [`output`]: write the CSV files, atomically, in the format the `results` crate
//!   defines (and `report` reads with).
//! - [`spec`]: parse input SPECs such as `34..42` or `1000..1800:100`.
//! - [`limits`]: how many tasks and workers a run may have, and why.
//!
//! # Platform
//!
//! Linux only: the process pool uses `fork`, `prctl` and `/proc`, and the experiment
//! reads context switches with `getrusage`.

#[cfg(not(target_os = "linux"))]
compile_error!("the pools crate uses fork, prctl and /proc, and runs on Linux only");

pub mod async_fetch;
pub mod async_pool;
pub mod chunk;
pub mod cores;
pub mod executor;
pub mod experiment;
pub mod explain;
pub mod gil;
pub mod limits;
pub mod output;
pub mod process;
pub mod record;
pub mod spec;
pub mod task;
pub mod thread_pool;
pub mod timeout;

pub use async_pool::AsyncPool;
pub use chunk::Chunksize;
pub use executor::{Executor, PoolError, TaskResult};
pub use gil::{DEFAULT_SWITCH_INTERVAL, Gil, GilGuard, GilThreadPool, HeldInterval};
pub use process::worker::serve_if_worker;
pub use process::{ForkserverError, ProcessPool, StartError, StartMethod, forkserver};
pub use record::{PoolKind, TaskError, TaskRecord, WorkerDeath};
pub use task::{Context, Fibonacci, HttpFetch, NoGil, Registered, Task, TaskFailure};
pub use thread_pool::ThreadPool;
pub use timeout::{TaskTimeout, TimedOut};
