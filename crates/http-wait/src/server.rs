//! The delay server: `GET /{status}?sleep={ms}` waits, then answers `{status}`.
//!
//! This is the offline stand-in for the public "status code with a delay" services
//! that the original experiments called. Each request sleeps with
//! [`tokio::time::sleep`], which parks the request's task and hands the thread back
//! to the runtime. So one thread keeps any number of requests waiting at once: the
//! server is concurrent without being parallel. That is why [`serve`] is meant to run
//! on a `current_thread` runtime ([`current_thread_runtime`]); a multi-threaded one
//! would hide the lesson.
//!
//! # Layout
//! - [`parse_request`]: the pure part. Path and query in, a [`Delay`] or a
//!   [`BadRequest`] out. No IO, so the rules are unit-tested below.
//! - [`status_text`]: the body of a good answer, `"{code} {reason}"`.
//! - [`bind`]: a listener with a backlog large enough for a burst of connections.
//! - [`serve`]: the accept loop; one spawned task per connection.
//!
//! # The rules
//! - The method is `GET` or `HEAD` (which gets the same status and headers, without
//!   the body). Any other method, a lowercase `get` included (methods are
//!   case-sensitive), gets a 405 at once with `Allow: GET, HEAD`.
//! - The path is `/` (meaning 200) or `/{status}`, with the status in 200..=599
//!   ([`STATUSES`]). A 1xx is a real status, but only an interim one: it cannot end
//!   an exchange (see [`BadRequest::Informational`]).
//! - The query may hold `sleep={ms}`, a whole number of milliseconds in
//!   `0..=MAX_SLEEP_MS`. A missing or empty `sleep` means 0. Other query keys are
//!   ignored; if `sleep` appears twice, the first one counts.
//! - A bad path or sleep gets a 400 at once, with a one-line reason as the body.

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};

/// The longest sleep a request may ask for, in milliseconds (30 s).
///
/// The cap keeps a typo (`sleep=100000000`) from holding a connection for a day.
pub const MAX_SLEEP_MS: u64 = 30_000;

/// How long a connection may take to send its request headers.
///
/// Without it, a client that connects and then says nothing holds a socket (and a
/// file descriptor) forever. Ten seconds is far longer than any honest client needs
/// on loopback.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The listen backlog [`bind`] asks for: how many finished TCP handshakes the kernel
/// queues before the server calls `accept`.
///
/// `std::net::TcpListener::bind` asks for 128. When 1,000 clients connect at the
/// same instant, the queue overflows, the kernel drops the extra handshakes, and
/// those clients retry only after the 1 s initial retransmission timeout. The
/// benchmark (`benches/concurrent.rs`) measured 2.1 s to 2.4 s for 1,000 one-second
/// requests with a backlog of 128, against 1.05 s to 1.08 s with this one, on a
/// 2-core machine; nothing in the code hints at the reason. The kernel silently caps
/// this number at `net.core.somaxconn` (4096 on current Linux).
pub const LISTEN_BACKLOG: i32 = 8192;

/// The statuses the server answers with. Below 200 are the 1xx codes, which
/// cannot end an exchange; above 599 is not HTTP.
pub const STATUSES: std::ops::RangeInclusive<u16> = 200..=599;

/// The methods the server answers, as its 405 lists them in the `Allow` header.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// What a well-formed request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    /// The HTTP status code to answer with, in [`STATUSES`] (200..=599).
    pub status: u16,
    /// How long to wait before answering (at most [`MAX_SLEEP_MS`]).
    pub sleep: Duration,
}

/// Why a request gets a 400. The `Display` text is the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    /// The path is not `/` or `/{digits}`.
    #[error("status must be a number in 200..=599, got {0:?}")]
    StatusNotANumber(String),
    /// The status is a number, but not a valid HTTP status code.
    #[error("status {0} is outside 200..=599")]
    StatusOutOfRange(String),
    /// A 1xx code is an interim answer: HTTP/1.1 requires a final one after it, so a
    /// server cannot end an exchange with it (hyper would quietly send a 500 instead).
    #[error("status {0} is informational (1xx) and cannot be a final answer; use 200..=599")]
    Informational(u16),
    /// `sleep` holds something other than ASCII digits (a sign, a fraction, a word).
    #[error("sleep must be a whole, non-negative number of milliseconds, got {0:?}")]
    SleepNotANumber(String),
    /// `sleep` is a number above [`MAX_SLEEP_MS`] (or too large for a `u64`).
    #[error("sleep {0} ms is over the limit of {MAX_SLEEP_MS} ms")]
    SleepTooLong(String),
}

/// Reads the status from `path` and the sleep from `query`.
///
/// ```
/// use http_wait::server::{parse_request, BadRequest, Delay};
/// use std::time::Duration;
///
/// let delay = parse_request("/503", Some("sleep=250")).unwrap();
/// assert_eq!(delay, Delay { status: 503, sleep: Duration::from_millis(250) });
/// assert_eq!(parse_request("/", None).unwrap().status, 200);
/// let err = parse_request("/200", Some("sleep=-5")).unwrap_err();
/// assert!(matches!(err, BadRequest::SleepNotANumber(_)));
/// ```
pub fn parse_request(path: &str, query: Option<&str>) -> Result<Delay, BadRequest> {
    let status = parse_status(path.strip_prefix('/').unwrap_or(path))?;
    let sleep = query.and_then(sleep_param).unwrap_or("");
    let sleep_ms = parse_sleep(sleep)?;
    Ok(Delay {
        status,
        sleep: Duration::from_millis(sleep_ms),
    })
}

fn parse_status(text: &str) -> Result<u16, BadRequest> {
    if text.is_empty() {
        return Ok(200);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadRequest::StatusNotANumber(text.to_owned()));
    }
    // All digits, so the only way `parse` fails is overflow: out of range either way.
    match text.parse::<u16>() {
        Ok(code) if STATUSES.contains(&code) => Ok(code),
        Ok(code @ 100..=199) => Err(BadRequest::Informational(code)),
        _ => Err(BadRequest::StatusOutOfRange(text.to_owned())),
    }
}

/// The value of the first `sleep` key in a query string (`""` for a bare `sleep`).
fn sleep_param(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some(("sleep", value)) => Some(value),
            None if pair == "sleep" => Some(""),
            _ => None,
        })
}

fn parse_sleep(text: &str) -> Result<u64, BadRequest> {
    if text.is_empty() {
        return Ok(0);
    }
    // Checking the bytes first rejects `+5` and `-5`, which `u64::from_str` would
    // accept or report with a less useful message.
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadRequest::SleepNotANumber(text.to_owned()));
    }
    match text.parse::<u64>() {
        Ok(ms) if ms <= MAX_SLEEP_MS => Ok(ms),
        _ => Err(BadRequest::SleepTooLong(text.to_owned())),
    }
}

/// The body of a good answer: the code and its canonical reason, e.g. `"503 Service
/// Unavailable"`. A code without a registered reason (say 299) is just the number.
///
/// ```
/// assert_eq!(http_wait::server::status_text(200), "200 OK");
/// assert_eq!(http_wait::server::status_text(299), "299");
/// ```
pub fn status_text(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason());
    match reason {
        Some(reason) => format!("{code} {reason}"),
        None => code.to_string(),
    }
}

/// Opens a TCP listener on `addr` with a backlog of [`LISTEN_BACKLOG`].
///
/// Port 0 picks a free port; read it back with `local_addr()`. `SO_REUSEADDR` is set
/// so that `serve` can be restarted on the same port at once, while the previous
/// run's connections are still in `TIME_WAIT`.
///
/// The listener is plain `std`, so it can be opened before a runtime exists, or
/// before a `fork` (see
/// [`DelayServer::start_in_child`](crate::DelayServer::start_in_child)).
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// A single-threaded Tokio runtime with IO and timers: everything [`serve`] needs.
pub fn current_thread_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Answers requests on `listener` until `shutdown` completes.
///
/// Must be called inside a Tokio runtime (it converts the listener to a Tokio one).
/// When `shutdown` fires, the accept loop stops and this returns; requests still
/// sleeping are dropped along with the runtime that runs them.
///
/// Errors from single connections (a client hanging up mid-request, a header read
/// timeout) are ignored: they concern that client only. A failed `accept` (for
/// example, out of file descriptors) is reported on stderr and retried after a
/// pause, since it usually clears once some connections close.
pub async fn serve(
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut http = http1::Builder::new();
    // The header read timeout only works with a timer; without one hyper panics
    // when it tries to arm it.
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);

    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Not `eprintln!`, which panics when stderr is closed: the
                    // server must outlive whoever watched it start.
                    let _ = writeln!(
                        std::io::stderr(),
                        "http-wait: accept failed: {err}; retrying in 100 ms"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Answers are tiny; don't let Nagle's algorithm hold them back.
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), service_fn(answer));
        // Each connection is a task on this same thread. While its request sleeps,
        // the task is parked and the thread runs the other connections.
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

/// Handles one request: check it, wait, answer.
async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // `Method` compares case-sensitively, as HTTP does: `get` is not `GET`.
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let body = format!(
            "method {} is not allowed; use GET or HEAD",
            request.method()
        );
        let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, body);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        return Ok(response);
    }
    // For HEAD, hyper sends the status and headers (Content-Length included) and
    // leaves out the body, so one code path serves both methods.
    let parsed = parse_request(request.uri().path(), request.uri().query());
    drop(request);
    let response = match parsed {
        Ok(delay) => {
            // The whole lesson in one line: this await gives the thread back to the
            // runtime for `delay.sleep`, so other requests run in the meantime.
            tokio::time::sleep(delay.sleep).await;
            // `parse_request` only lets `STATUSES` through, all valid codes.
            let status = StatusCode::from_u16(delay.status).unwrap_or(StatusCode::OK);
            text_response(status, status_text(delay.status))
        }
        Err(bad) => text_response(StatusCode::BAD_REQUEST, bad.to_string()),
    };
    Ok(response)
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The root path means 200; a missing, bare or empty sleep means no wait.
    #[test]
    fn defaults() {
        for query in [
            None,
            Some(""),
            Some("sleep="),
            Some("sleep"),
            Some("other=1"),
        ] {
            assert_eq!(
                parse_request("/", query),
                Ok(Delay {
                    status: 200,
                    sleep: ms(0)
                }),
                "{query:?}"
            );
        }
    }

    /// Status and sleep are read from their places, other keys are ignored, and the
    /// first `sleep` wins.
    #[test]
    fn reads_status_and_sleep() {
        assert_eq!(
            parse_request("/503", Some("a=b&sleep=1000&sleep=5")),
            Ok(Delay {
                status: 503,
                sleep: ms(1000)
            })
        );
        assert_eq!(
            parse_request("/204", Some("sleep=30000")),
            Ok(Delay {
                status: 204,
                sleep: ms(MAX_SLEEP_MS)
            })
        );
    }

    /// Each kind of bad input maps to its own reason.
    #[test]
    fn refuses_bad_input() {
        use BadRequest::*;
        let cases = [
            ("/abc", "", StatusNotANumber("abc".into())),
            ("/200/x", "", StatusNotANumber("200/x".into())),
            ("/-200", "", StatusNotANumber("-200".into())),
            ("/99", "", StatusOutOfRange("99".into())),
            ("/600", "", StatusOutOfRange("600".into())),
            ("/99999999", "", StatusOutOfRange("99999999".into())),
            ("/100", "", Informational(100)),
            ("/200", "sleep=abc", SleepNotANumber("abc".into())),
            ("/200", "sleep=-5", SleepNotANumber("-5".into())),
            ("/200", "sleep=+5", SleepNotANumber("+5".into())),
            ("/200", "sleep=1.5", SleepNotANumber("1.5".into())),
            ("/200", "sleep=30001", SleepTooLong("30001".into())),
            (
                "/",
                "sleep=99999999999999999999999",
                SleepTooLong("99999999999999999999999".into()),
            ),
        ];
        for (path, query, expected) in cases {
            assert_eq!(
                parse_request(path, Some(query)),
                Err(expected),
                "{path}?{query}"
            );
        }
    }

    /// The rule and every message about it agree: 200..=599, ends included, and a
    /// 1xx is refused with the same range in its message.
    #[test]
    fn status_rule_and_messages_agree() {
        assert_eq!(STATUSES, 200..=599);
        for good in ["/200", "/599"] {
            assert!(parse_request(good, None).is_ok(), "{good}");
        }
        for bad in ["/abc", "/0", "/100", "/199", "/600", "/65536"] {
            let reason = parse_request(bad, None).unwrap_err().to_string();
            assert!(reason.contains("200..=599"), "{bad}: {reason}");
        }
    }

    /// The reason is one line, so it reads well as a response body or in a log.
    #[test]
    fn reasons_are_one_line() {
        let bad = parse_request("/200", Some("sleep=30001")).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "sleep 30001 ms is over the limit of 30000 ms"
        );
        assert!(!bad.to_string().contains('\n'));
    }

    /// Bodies carry the canonical reason phrase.
    #[test]
    fn status_texts() {
        assert_eq!(status_text(200), "200 OK");
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(418), "418 I'm a teapot");
    }
}
