//! N concurrent one-second requests against a server that is already running: the
//! client of `http-wait`'s `concurrent` benchmark, aimed at any address.
//!
//! ```text
//! python3 scripts/bench_peers.py serve --port 8081 &      # Python's ThreadingHTTPServer
//! cargo bench -p pools --bench burst -- --addr 127.0.0.1:8081 1000
//! cargo bench -p pools --bench burst -- --addr 127.0.0.1:8080 1000 10000 --cap-secs 20
//! ```
//!
//! The claim it checks for a peer: a server that spends a thread per connection
//! (Python's `http.server.ThreadingHTTPServer`) also keeps 1,000 sleeping requests
//! waiting at once, but pays for every thread, so it falls behind the delay server's
//! single-threaded event loop as N grows (`cargo bench -p http-wait --bench
//! concurrent -- 10000` measures that one). `scripts/bench.sh` runs both.
//!
//! Each connection sends a raw `GET /200?sleep=1000` and reads the answer to the end,
//! exactly as the `concurrent` benchmark does, from a two-thread Tokio runtime. The
//! whole burst is cut off after `--cap-secs`, so that a server that cannot keep up
//! costs the caller a known amount of time, not an unknown one.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Time N concurrent `GET /200?sleep=MS` requests against a running server.
#[derive(Debug, Parser)]
struct Cli {
    /// The server's address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    addr: SocketAddr,
    /// How many concurrent requests per burst; one burst per number, in order.
    #[arg(value_name = "N", default_values_t = [1000])]
    counts: Vec<usize>,
    /// How long each request asks the server to wait, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    sleep_ms: u64,
    /// Give up on a burst after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    cap_secs: f64,
    /// Ignored: `cargo bench` passes it to every benchmark program.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if !(cli.cap_secs > 0.0 && cli.cap_secs.is_finite()) {
        bail!("--cap-secs must be a positive number");
    }
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cap = Duration::from_secs_f64(cli.cap_secs);
    for &n in &cli.counts {
        let burst = burst(cli.addr, n, cli.sleep_ms);
        match client.block_on(async { tokio::time::timeout(cap, burst).await }) {
            Ok(result) => {
                let (elapsed, ok) = result?;
                let verdict = if ok == n {
                    "all 200".to_owned()
                } else {
                    format!("only {ok} of {n} were 200")
                };
                println!(
                    "{n} concurrent {} ms requests: {:.3} s ({verdict}; server at {})",
                    cli.sleep_ms,
                    elapsed.as_secs_f64(),
                    cli.addr
                );
            }
            Err(_) => println!(
                "{n} concurrent {} ms requests: did not finish within the {} s cap",
                cli.sleep_ms, cli.cap_secs
            ),
        }
    }
    // Requests cut off by the cap are still running: do not wait for them.
    client.shutdown_background();
    Ok(())
}

/// Opens `n` connections at once, each asking for a wait of `sleep_ms`; returns the
/// time until the last answer and how many answers were 200.
async fn burst(addr: SocketAddr, n: usize, sleep_ms: u64) -> anyhow::Result<(Duration, usize)> {
    // Every task is spawned before any connects, held at this gate, so that the
    // clock starts when all of them are ready to go.
    let gate = Arc::new(Semaphore::new(0));
    let request =
        format!("GET /200?sleep={sleep_ms} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let request: Arc<str> = request.into();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (gate, request) = (gate.clone(), request.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await?;
                one_request(addr, &request).await
            })
        })
        .collect();

    let started = Instant::now();
    gate.add_permits(n);
    let mut ok = 0;
    let mut first_error = None;
    for task in tasks {
        match task.await? {
            Ok(true) => ok += 1,
            Ok(false) => {}
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    let elapsed = started.elapsed();
    if let Some(err) = first_error {
        bail!("{} of {n} requests failed; the first: {err:#}", n - ok);
    }
    Ok((elapsed, ok))
}

/// One request on a fresh connection; true if the answer was a 200.
async fn one_request(addr: SocketAddr, request: &str) -> anyhow::Result<bool> {
    let mut stream = TcpStream::connect(addr).await.context("connect")?;
    stream.write_all(request.as_bytes()).await.context("send")?;
    let mut response = Vec::with_capacity(256);
    // `Connection: close`: the server closes after the answer, so read to the end.
    stream.read_to_end(&mut response).await.context("read")?;
    Ok(response.starts_with(b"HTTP/1.1 200 ") || response.starts_with(b"HTTP/1.0 200 "))
}
