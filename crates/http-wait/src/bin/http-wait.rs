//! `http-wait`: run the delay server, or time requests against one.
//!
//! In one terminal, the server (one thread, any number of waiting requests):
//!
//! ```text
//! cargo run -p http-wait -- serve --addr 127.0.0.1:8080
//! ```
//!
//! In another, three requests at once, one thread each:
//!
//! ```text
//! cargo run -p http-wait -- fetch 1000 1000 1000 --url 'http://127.0.0.1:8080/200?sleep={ms}'
//! ```
//!
//! Without `--url`, `fetch` starts a server of its own for the duration of the run.
//! Either way the three one-second waits overlap, and the total is about 1 s, not 3 s:
//! waiting threads need no CPU, so they do not queue for the cores.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use http_wait::{Client, DelayServer, Fetched, MAX_SLEEP_MS, server};
use procutil::unix_now;

/// A delay server and a client for it: the IO-bound half of "concurrency vs parallelism".
///
/// `serve` answers `GET /{status}?sleep={ms}` after sleeping ms milliseconds, on a
/// single thread that keeps every sleeping request waiting at once. `fetch` sends
/// requests from one thread each and shows that their waits overlap: the total time
/// is the longest wait, not the sum.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\n  http-wait serve --addr 127.0.0.1:8080\n  http-wait fetch 1000 500 250\n  http-wait fetch 1000 --url 'http://127.0.0.1:8080/503?sleep={ms}'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the delay server until Ctrl-C.
    ///
    /// `GET /{status}?sleep={ms}` waits ms milliseconds (0..=30000) and answers with
    /// that status (200..=599) and a body such as "200 OK". `GET /` means 200, a
    /// missing sleep means 0, and bad input gets a 400 with the reason. HEAD gets the
    /// same answer without the body; any other method gets a 405.
    Serve {
        /// The address to listen on; port 0 picks a free port. Any address but
        /// loopback (such as 0.0.0.0) lets other machines reach the server: it warns.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Send one GET per MS, all at once (a thread each), and time them.
    Fetch {
        /// How long each request asks the server to wait, in milliseconds (0..=30000).
        #[arg(required = true, value_name = "MS", allow_negative_numbers = true)]
        waits: Vec<String>,
        /// URL template, with {ms} where the wait goes. Without it, a delay server is
        /// started on a free loopback port for the duration of the run.
        #[arg(long, value_name = "TEMPLATE")]
        url: Option<String>,
        /// Give up on a request whose connect, send, wait or body read takes longer
        /// than this many seconds.
        #[arg(long, value_name = "S", default_value_t = http_wait::DEFAULT_TIMEOUT.as_secs_f64())]
        timeout_secs: f64,
    },
}

/// The most waits one `fetch` runs: each needs a thread and a socket.
const MAX_FETCHES: usize = 1000;

fn main() -> ExitCode {
    // A closed stdout (`http-wait fetch 100 200 | head -1`) ends the run quietly, with
    // status 0: the policy every binary here shares (`procutil::stdout`).
    procutil::stdout::exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { addr } => serve(addr),
        Command::Fetch {
            waits,
            url,
            timeout_secs,
        } => fetch(&waits, url, timeout_secs),
    }
}

fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = server::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    // Scripts and tests wait for the first line to learn the port (`say!` flushes
    // it). If nobody reads even that, there is nobody to serve: stop quietly.
    procutil::say!("listening on http://{addr}")?;
    // From here on the server's product is its socket, not stdout. A reader that took
    // the address and closed the pipe (as a script or test does) has what it needs:
    // a closed stdout on the hint below must not stop the server.
    if let Some(warning) = exposure_warning(addr) {
        let _ = writeln!(std::io::stderr(), "{warning}");
    }
    procutil::say_unless_closed!(
        "try: curl '{}/200?sleep=1000'   (Ctrl-C stops the server)",
        local_base_url(addr)
    )?;

    let runtime = server::current_thread_runtime().context("cannot start the Tokio runtime")?;
    runtime.block_on(server::serve(listener, async {
        // If the handler cannot be installed, stopping at once is better than a
        // server that ignores Ctrl-C.
        let _ = tokio::signal::ctrl_c().await;
    }))?;
    // Not `eprintln!`: it panics if stderr has gone away.
    let _ = writeln!(std::io::stderr(), "stopped");
    Ok(())
}

/// A one-line warning when a server on `addr` can be reached from other machines:
/// any address but loopback. The server has no authentication, and every request
/// may hold a connection for up to 30 s.
fn exposure_warning(addr: SocketAddr) -> Option<String> {
    let ip = addr.ip();
    if ip.is_loopback() {
        return None;
    }
    let which = if ip.is_unspecified() {
        "every network interface"
    } else {
        "a non-loopback address"
    };
    Some(format!(
        "warning: listening on {which} ({ip}): other machines can reach this server; \
         use --addr 127.0.0.1:PORT to keep it local"
    ))
}

/// The base URL a client on this machine should use for a server bound to `addr`.
/// `0.0.0.0` and `::` mean "every interface" to `bind`, but are not addresses to
/// connect to: the loopback address of the same family is.
fn local_base_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    // `SocketAddr`'s `Display` puts an IPv6 address in brackets, as a URL needs.
    format!("http://{addr}")
}

fn fetch(waits: &[String], url: Option<String>, timeout_secs: f64) -> anyhow::Result<()> {
    // Check every input before sending anything.
    if waits.len() > MAX_FETCHES {
        anyhow::bail!(
            "{} waits are too many for one run: at most {MAX_FETCHES} (each takes a thread \
             and a connection)",
            waits.len()
        );
    }
    let waits: Vec<u64> = waits
        .iter()
        .map(|text| parse_wait(text))
        .collect::<Result<_, _>>()?;
    let timeout = Duration::try_from_secs_f64(timeout_secs)
        .ok()
        .filter(|timeout| !timeout.is_zero())
        .with_context(|| {
            format!("--timeout-secs must be a positive number of seconds, got {timeout_secs}")
        })?;

    // Keep the embedded server alive until the end of this function.
    let (template, _server) = match url {
        Some(template) => {
            // A typo (no `{ms}`, port 99999) is one clear error before any thread
            // starts or any connection is made.
            http_wait::check_template(&template)?;
            (template, None)
        }
        None => {
            // In a child process: it gets its own descriptor table, so each request
            // costs this process one socket, not two. No thread exists yet, so the
            // fork this needs is safe.
            let server =
                DelayServer::start_in_child().context("cannot start the embedded delay server")?;
            eprintln!(
                "no --url given: started a delay server on {}",
                server.base_url()
            );
            (server.url_template(), Some(server))
        }
    };

    let client = Client::new(timeout);
    let started = unix_now();
    // One thread per request: each spends its life blocked on a socket, so there is
    // no point limiting them to the number of cores.
    let (client, template) = (&client, template.as_str());
    let results: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = waits
            .iter()
            .map(|&ms| {
                thread::Builder::new()
                    .spawn_scoped(scope, move || client.fetch(template, ms))
                    .context("the OS refused to start another thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle?
                    .join()
                    .map_err(|_| anyhow::anyhow!("a fetch thread panicked"))?
                    .map_err(anyhow::Error::from)
            })
            .collect()
    });
    let total = unix_now() - started;

    let failed = results.iter().filter(|result| result.is_err()).count();
    let mut fetched: Vec<Fetched> = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(record) => fetched.push(record),
            Err(err) if failed == 1 => return Err(err),
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("{failed} of {} requests failed; the first", waits.len())
                });
            }
        }
    }

    for record in &fetched {
        procutil::say!(
            "GET {} -> {} {:?} ({:.3} s)",
            record.url,
            record.status,
            record.body,
            record.elapsed()
        )?;
    }
    let sum: f64 = fetched.iter().map(Fetched::elapsed).sum();
    procutil::say!(
        "total: {total:.3} s wall time for {} requests (their times add up to {sum:.3} s)",
        fetched.len()
    )?;
    Ok(())
}

/// One MS argument: a whole number of milliseconds the server will accept.
fn parse_wait(text: &str) -> anyhow::Result<u64> {
    let Ok(ms) = text.parse::<u64>() else {
        bail!(
            "invalid wait {text:?}: expected a whole number of milliseconds in 0..={MAX_SLEEP_MS}"
        );
    };
    if ms > MAX_SLEEP_MS {
        bail!("wait {ms} ms is over the server's limit of {MAX_SLEEP_MS} ms");
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// Only loopback stays quiet; every other address, the unspecified ones first,
    /// gets a one-line warning that names it. (The tests never bind such an address:
    /// the decision is a pure function of it.)
    #[test]
    fn warns_unless_loopback() {
        for local in ["127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080"] {
            assert_eq!(exposure_warning(addr(local)), None, "{local}");
        }
        for (exposed, shown) in [
            ("0.0.0.0:41234", "every network interface (0.0.0.0)"),
            ("[::]:41234", "every network interface (::)"),
            ("192.168.1.5:8080", "a non-loopback address (192.168.1.5)"),
        ] {
            let warning = exposure_warning(addr(exposed)).expect(exposed);
            assert!(warning.starts_with("warning: "), "{warning}");
            assert!(warning.contains(shown), "{exposed}: {warning}");
            assert!(
                warning.contains("other machines can reach this server"),
                "{warning}"
            );
            assert!(!warning.contains('\n'), "{warning}");
        }
    }

    /// The curl hint uses an address a client can connect to, with the real port.
    #[test]
    fn hint_uses_a_loopback_url() {
        for (bound, url) in [
            ("0.0.0.0:41234", "http://127.0.0.1:41234"),
            ("[::]:41234", "http://[::1]:41234"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("[::1]:8080", "http://[::1]:8080"),
            ("192.168.1.5:8080", "http://192.168.1.5:8080"),
        ] {
            assert_eq!(local_base_url(addr(bound)), url, "{bound}");
        }
    }
}
