//! The IO-bound workload: an HTTP request that spends its time waiting.
//!
//! The experiments need a task that keeps almost no core busy: the caller sends a
//! request and then waits while a server sleeps. Such a task is **concurrent** without
//! being **parallel**: a thousand of them can wait at the same time on one thread,
//! because waiting costs no CPU. Threads speed IO-bound work up even where they cannot
//! speed up CPU-bound work (see the `fib` crate for the opposite case).
//!
//! The claim this crate backs with a benchmark: one `current_thread` Tokio runtime,
//! a single OS thread, answers 1,000 concurrent requests that each sleep 1,000 ms in
//! about 1 s, not 1,000 s (`cargo bench -p http-wait --bench concurrent`).
//!
//! Public delay services come and go, so the crate ships its own:
//! `GET /{status}?sleep={ms}` waits `ms` milliseconds, then answers with that status.
//! The tests and the other crates never need the internet.
//!
//! # Layout
//! - [`server`]: the delay server. [`server::parse_request`] turns a path and query
//!   into a [`server::Delay`] (or a 400 reason), [`server::bind`] opens a listener with
//!   a large backlog, and [`server::serve`] answers on it until told to stop.
//! - [`client`]: [`Client::fetch`] and [`http_fetch`], a blocking GET that expands a
//!   URL template and returns a [`Fetched`] record with wall-clock start and end
//!   times. Errors are [`FetchError`] and always name the URL. [`check_template`]
//!   checks a user's URL template before any connection is made.
//! - [`embedded`]: [`DelayServer`], a running server owned by a handle whose `Drop`
//!   stops it. [`DelayServer::start`] runs it on a background thread;
//!   [`DelayServer::start_in_child`] runs it in a forked child process so that the
//!   caller stays single-threaded and can safely fork workers of its own.
//! - `src/bin/http-wait.rs`: the `http-wait serve` and `http-wait fetch` commands.
//!
//! # Platform
//! Linux only, gated with `#[cfg(target_os = "linux")]`: the child server counts
//! threads in `/proc` before it forks and arms `PR_SET_PDEATHSIG` (both from
//! `procutil`). On any other system the crate does not compile, and says why.
//!
//! ```
//! let server = http_wait::DelayServer::start()?;
//! let fetched = http_wait::http_fetch(&server.url_template(), 50)?;
//! assert_eq!(fetched.status, 200);
//! assert_eq!(fetched.body, "200 OK");
//! assert!(fetched.elapsed() >= 0.05);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(not(target_os = "linux"))]
compile_error!("the http-wait crate uses fork, prctl and /proc, and runs on Linux only");

pub mod client;
pub mod embedded;
pub mod server;

pub use client::{
    Client, DEFAULT_TIMEOUT, FetchError, Fetched, UrlProblem, check_template, expand_template,
    http_fetch,
};
pub use embedded::DelayServer;
pub use server::MAX_SLEEP_MS;
