//! How many one-second requests can one server thread keep waiting at once?
//!
//! ```text
//! cargo bench -p http-wait --bench concurrent              # N = 1000
//! cargo bench -p http-wait --bench concurrent -- 10000     # or HTTP_WAIT_BENCH_N=10000
//! cargo bench -p http-wait --bench concurrent -- 1000 --thread
//! cargo bench -p http-wait --bench concurrent -- --addr 127.0.0.1:8081 --cap-secs 60 1000
//! ```
//!
//! The claim: the delay server runs on one `current_thread` runtime, a single OS
//! thread, yet N concurrent requests that each sleep 1,000 ms all finish in a little
//! over 1 s, for N = 1,000 and for N = 10,000. Waiting costs no CPU; the only work is
//! accepting connections and writing tiny answers. Expect about 1.0x s for 1,000 and
//! well under 2 s for 10,000 on a 2-core machine.
//!
//! By default the server runs in a forked child process
//! ([`DelayServer::start_in_child`]), so that server and client each have their own
//! file-descriptor table: 10,000 connections need 10,000 sockets on each side, and
//! one process holding both would hit a 20,000 `ulimit -n`. `--thread` runs it on a
//! thread of this process instead ([`DelayServer::start`]), which is fine for 1,000.
//!
//! The client is a separate multi-threaded Tokio runtime that writes a raw
//! `GET /200?sleep=1000` on each connection and reads the answer to the end. A
//! blocking client would need N threads; this one needs two.
//!
//! `--addr ADDR` aims the same client at a server that is already running instead,
//! such as Python's `ThreadingHTTPServer` from `scripts/bench_peers.py serve`, which
//! is how `scripts/bench.sh` compares the two. `--cap-secs S` (default 60) gives up on
//! a burst after S seconds, so that a server that cannot keep up costs a known time.

use std::env;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_wait::DelayServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const SLEEP_MS: u64 = 1000;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut counts = Vec::new();
    let mut in_thread = false;
    let mut addr: Option<SocketAddr> = None;
    let mut cap_secs = 60.0;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench target.
            "--bench" => {}
            "--thread" => in_thread = true,
            "--addr" => {
                let value = args.next().context("--addr needs an address")?;
                addr = Some(
                    value
                        .parse()
                        .with_context(|| format!("bad --addr {value:?}"))?,
                );
            }
            "--cap-secs" => {
                let value = args.next().context("--cap-secs needs a number")?;
                cap_secs = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .with_context(|| format!("bad --cap-secs {value:?}"))?;
            }
            n => counts.push(
                n.parse::<usize>()
                    .with_context(|| format!("bad request count {n:?}"))?,
            ),
        }
    }
    if counts.is_empty() {
        let n = env::var("HTTP_WAIT_BENCH_N").unwrap_or_else(|_| "1000".to_owned());
        counts.push(
            n.parse()
                .with_context(|| format!("bad HTTP_WAIT_BENCH_N {n:?}"))?,
        );
    }

    // Fork first, while this process still has one thread: the client runtime
    // below starts worker threads.
    let (server, where_) = match addr {
        Some(addr) => (None, format!("server at {addr}")),
        None if in_thread => (Some(DelayServer::start()?), "server in a thread".to_owned()),
        None => (
            Some(DelayServer::start_in_child()?),
            "server in a child process".to_owned(),
        ),
    };
    let target = addr
        .or(server.as_ref().map(DelayServer::addr))
        .context("no server")?;

    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let cap = Duration::from_secs_f64(cap_secs);
    for n in counts {
        match client.block_on(async { tokio::time::timeout(cap, burst(target, n)).await }) {
            Ok(result) => {
                let (elapsed, ok) = result?;
                let verdict = if ok == n {
                    "all 200".to_owned()
                } else {
                    format!("only {ok} of {n} were 200")
                };
                println!(
                    "{n} concurrent {SLEEP_MS} ms requests: {:.3} s ({verdict}; {where_})",
                    elapsed.as_secs_f64()
                );
            }
            Err(_) => println!(
                "{n} concurrent {SLEEP_MS} ms requests: did not finish within the {cap_secs} s cap ({where_})"
            ),
        }
    }
    // Requests cut off by the cap are still running: do not wait for them.
    client.shutdown_background();
    Ok(())
}

/// Opens `n` connections at once, each asking for a 1 s wait; returns the time until
/// the last answer and how many answers were 200.
async fn burst(addr: SocketAddr, n: usize) -> anyhow::Result<(Duration, usize)> {
    // Every task is spawned before any connects, held at this gate, so that the
    // clock starts when all of them are ready to go.
    let gate = Arc::new(Semaphore::new(0));
    let request =
        format!("GET /200?sleep={SLEEP_MS} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
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
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .context("no answer within 30 s")?
        .context("read")?;
    // Python's `http.server` answers in HTTP/1.0.
    Ok(response.starts_with(b"HTTP/1.1 200 ") || response.starts_with(b"HTTP/1.0 200 "))
}
