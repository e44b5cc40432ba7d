//! The blocking client: one GET, timed with wall-clock start and end.
//!
//! A call to [`Client::fetch`] blocks its thread for as long as the server waits.
//! That is the IO-bound task of the experiments: a pool of threads (or processes)
//! runs many of these at once, and since a blocked thread uses no CPU, the waits
//! overlap even on a machine with fewer cores than requests.
//!
//! # Layout
//! - [`expand_template`]: `{ms}` in a URL template becomes the number of milliseconds.
//! - [`check_template`]: a user's template checked before any connection: the
//!   placeholder, the scheme, the host and the port ([`UrlProblem`]).
//! - [`Client`]: a timeout and a `ureq` agent. [`Client::fetch`] makes one request.
//! - [`http_fetch`]: the same with a default client, for one-off calls.
//! - [`Fetched`]: what a request returns. Its times are Unix seconds, so records from
//!   different threads and processes can be put on one timeline.
//! - [`FetchError`]: every failure, each naming the expanded URL.
//!
//! # Threads and `fork`
//! A [`Client`] is `Send + Sync` and may be shared by any number of threads. It keeps
//! no global state and starts no threads, so it also works in a child process forked
//! after the client was made. Two settings make that true:
//! - Connection pooling is off: every fetch opens and closes its own connection. A
//!   pooled socket made before a `fork` would be shared by parent and child, and
//!   their requests would interleave on it. (It also makes each fetch pay for its own
//!   connect, like a plain `requests.get` in Python.)
//! - The timeout is set per phase (connect, send, wait for the answer, read the body)
//!   rather than as one overall deadline. With an overall deadline, ureq resolves the
//!   host name on a helper thread so that it can give up on a slow DNS lookup; a
//!   library used by code that forks should not leave stray threads behind.

use std::io;
use std::time::Duration;

use procutil::unix_now;
use ureq::http::Uri;

/// How long [`Client::default`] and [`http_fetch`] wait in each phase of a request.
///
/// 35 s rather than a round 30 s: the server accepts sleeps of up to 30 s
/// ([`MAX_SLEEP_MS`](crate::MAX_SLEEP_MS)), and the longest allowed request should
/// not time out just as its answer arrives.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(35);

/// The placeholder that [`expand_template`] replaces.
pub const PLACEHOLDER: &str = "{ms}";

/// One finished request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The URL that was requested (the template with `{ms}` filled in).
    pub url: String,
    /// When the request started, in Unix seconds ([`procutil::unix_now`]).
    pub start: f64,
    /// When the whole body had arrived, in Unix seconds.
    pub end: f64,
    /// The HTTP status code (always 2xx: anything else is a [`FetchError::Status`]).
    pub status: u16,
    /// The response body as text, e.g. `"200 OK"`.
    pub body: String,
}

impl Fetched {
    /// Seconds from start to end.
    pub fn elapsed(&self) -> f64 {
        self.end - self.start
    }
}

/// Why a fetch failed. Every variant that got as far as a URL names it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The template has nothing to put the wait into.
    #[error(
        "URL template {template:?} has no {{ms}} placeholder \
         (for example http://127.0.0.1:8080/200?sleep={{ms}})"
    )]
    NoPlaceholder {
        /// The template as given.
        template: String,
    },
    /// The URL is not one a request can be sent to: see [`UrlProblem`]. Found
    /// before any connection is made.
    #[error("invalid URL {url:?}: {problem}")]
    InvalidUrl {
        /// The expanded URL (or, from [`check_template`], the template).
        url: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// Nothing listens at the URL's address and port.
    #[error("connection to {url} refused (is the delay server running?)")]
    Refused {
        /// The expanded URL.
        url: String,
        /// The refusal as the OS reported it.
        #[source]
        source: io::Error,
    },
    /// One phase of the request took longer than the client's timeout.
    #[error("GET {url} timed out ({phase} took over {} s)", timeout.as_secs_f64())]
    Timeout {
        /// The expanded URL.
        url: String,
        /// The client's per-phase timeout.
        timeout: Duration,
        /// Which phase ran out of time, as ureq names it.
        phase: String,
    },
    /// The server answered, but not with a 2xx status.
    #[error("GET {url} answered {status}: {}", first_line(body))]
    Status {
        /// The expanded URL.
        url: String,
        /// The status code.
        status: u16,
        /// The response body (for this crate's server, the reason for a 400).
        body: String,
    },
    /// Any other failure: the host name did not resolve, the connection broke, the
    /// body was not UTF-8...
    #[error("GET {url} failed")]
    Request {
        /// The expanded URL.
        url: String,
        /// What ureq reported.
        #[source]
        source: ureq::Error,
    },
}

/// What makes a URL unusable, each with a message that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// No `scheme://` in front, as in `localhost:8080/200`.
    #[error("it needs to start with http:// or https://")]
    NoScheme,
    /// A scheme other than `http` or `https`.
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    /// Nothing between `://` and the port or path.
    #[error("it has no host")]
    NoHost,
    /// A port that no connection can go to: not a number, over 65535, or 0. (Left
    /// unchecked, the client would quietly use port 80 instead.)
    #[error("port {0:?} is not a number in 1..=65535")]
    Port(String),
    /// Anything else the URL parser refused, in its words (a space, a bracket...).
    #[error("{0}")]
    Malformed(String),
}

/// The first line of `body`, cut to 100 characters: enough to show a reason without
/// pasting a whole HTML error page into a one-line message.
fn first_line(body: &str) -> String {
    let line = body.lines().next().unwrap_or("");
    match line.char_indices().nth(100) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Fills `{ms}` in `url_template` with `ms`.
///
/// ```
/// let url = http_wait::expand_template("http://127.0.0.1:8080/200?sleep={ms}", 250).unwrap();
/// assert_eq!(url, "http://127.0.0.1:8080/200?sleep=250");
/// assert!(http_wait::expand_template("http://127.0.0.1:8080/200", 250).is_err());
/// ```
pub fn expand_template(url_template: &str, ms: u64) -> Result<String, FetchError> {
    if !url_template.contains(PLACEHOLDER) {
        return Err(FetchError::NoPlaceholder {
            template: url_template.to_owned(),
        });
    }
    Ok(url_template.replace(PLACEHOLDER, &ms.to_string()))
}

/// Checks a URL template without any network traffic: it must hold `{ms}`, and
/// with a wait filled in it must be a URL that a request can be sent to.
///
/// [`Client::fetch`] makes the same checks on every call. Callers that take a
/// template from a user (`http-wait fetch --url`, `pools --url`) call this first, so
/// that a typo is one clear error before anything starts. The error names the
/// template as the user typed it.
///
/// ```
/// use http_wait::{FetchError, UrlProblem, check_template};
///
/// assert!(check_template("http://127.0.0.1:8080/200?sleep={ms}").is_ok());
/// let err = check_template("http://127.0.0.1:99999/200?sleep={ms}").unwrap_err();
/// assert!(matches!(err, FetchError::InvalidUrl { problem: UrlProblem::Port(_), .. }));
/// let err = check_template("http://127.0.0.1:8080/200").unwrap_err();
/// assert!(matches!(err, FetchError::NoPlaceholder { .. }));
/// ```
pub fn check_template(url_template: &str) -> Result<(), FetchError> {
    let url = expand_template(url_template, 0)?;
    url_problem(&url).map_err(|problem| FetchError::InvalidUrl {
        url: url_template.to_owned(),
        problem,
    })
}

/// Checks `url` before any network traffic, so a typo gets a precise message.
fn check_url(url: &str) -> Result<(), FetchError> {
    url_problem(url).map_err(|problem| FetchError::InvalidUrl {
        url: url.to_owned(),
        problem,
    })
}

/// What is wrong with `url`, if anything.
fn url_problem(url: &str) -> Result<(), UrlProblem> {
    if !url.contains("://") {
        return Err(UrlProblem::NoScheme);
    }
    let uri: Uri = url
        .parse()
        .map_err(|err| UrlProblem::Malformed(format!("{err}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(UrlProblem::Scheme(other.to_owned())),
        None => return Err(UrlProblem::NoScheme),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    // The parser accepts any text after the host's colon, and reports no port at
    // all when that text is not a `u16`; ureq then uses the scheme's default port,
    // so `:99999` would quietly connect to port 80. Port 0 cannot be connected to.
    let authority = uri.authority().map_or("", |authority| authority.as_str());
    match port_text(authority) {
        Some(port) if !is_port_number(port) => Err(UrlProblem::Port(port.to_owned())),
        _ => Ok(()),
    }
}

/// Whether `text` is a port a connection can go to: digits only, in 1..=65535.
fn is_port_number(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok_and(|port| port > 0)
}

/// The text after the host's colon, if there is one: `"99999"` in `user@h:99999`,
/// `"8080"` in `[::1]:8080`, `None` in `[::1]`.
fn port_text(authority: &str) -> Option<&str> {
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    let after_host = match host_port.strip_prefix('[') {
        // An IPv6 address holds colons of its own: look after its closing bracket.
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => host_port,
    };
    after_host.rfind(':').map(|colon| &after_host[colon + 1..])
}

/// A blocking HTTP client with a per-phase timeout. Cheap to clone; clones share
/// nothing that matters (there is no connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Client {
    /// A client that gives each phase of a request (connect, send, wait for the
    /// answer, read the body) at most `timeout`.
    pub fn new(timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            // We want the status and body of a 503 too, to put both in the error.
            .http_status_as_error(false)
            // A 3xx is an answer to report, not a hop to follow.
            .max_redirects(0)
            // A proxy from the environment would distort every timing, and the
            // usual server is on loopback anyway.
            .proxy(None)
            // No pool: see "Threads and fork" in the module docs.
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            // Per phase, not global: see "Threads and fork" in the module docs.
            .timeout_connect(Some(timeout))
            .timeout_send_request(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build();
        Client {
            agent: config.new_agent(),
            timeout,
        }
    }

    /// The per-phase timeout this client was made with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `url_template` with `{ms}` replaced by `ms`, and reads the whole body.
    ///
    /// Blocks the calling thread until the answer has arrived. A non-2xx answer is a
    /// [`FetchError::Status`]; the times in the returned [`Fetched`] cover connect,
    /// wait and body.
    pub fn fetch(&self, url_template: &str, ms: u64) -> Result<Fetched, FetchError> {
        let url = expand_template(url_template, ms)?;
        check_url(&url)?;

        let start = unix_now();
        let outcome = self.agent.get(&url).call().and_then(|response| {
            let status = response.status().as_u16();
            let body = response.into_body().read_to_string()?;
            Ok((status, body))
        });
        let end = unix_now();

        match outcome {
            Ok((status, body)) if (200..300).contains(&status) => Ok(Fetched {
                url,
                start,
                end,
                status,
                body,
            }),
            Ok((status, body)) => Err(FetchError::Status { url, status, body }),
            Err(err) => Err(self.classify(url, err)),
        }
    }

    /// Sorts a ureq error into the [`FetchError`] variant a reader can act on.
    fn classify(&self, url: String, err: ureq::Error) -> FetchError {
        match err {
            ureq::Error::Io(source) if source.kind() == io::ErrorKind::ConnectionRefused => {
                FetchError::Refused { url, source }
            }
            ureq::Error::Timeout(phase) => FetchError::Timeout {
                url,
                timeout: self.timeout,
                phase: phase.to_string(),
            },
            ureq::Error::BadUri(reason) => FetchError::InvalidUrl {
                url,
                problem: UrlProblem::Malformed(reason),
            },
            source => FetchError::Request { url, source },
        }
    }
}

impl Default for Client {
    /// A client with [`DEFAULT_TIMEOUT`].
    fn default() -> Client {
        Client::new(DEFAULT_TIMEOUT)
    }
}

/// [`Client::fetch`] with a fresh default client ([`DEFAULT_TIMEOUT`]).
///
/// Making a client is cheap (no connection is opened until the request), so a
/// one-off call costs nothing extra. A loop may as well keep one [`Client`].
pub fn http_fetch(url_template: &str, ms: u64) -> Result<Fetched, FetchError> {
    Client::default().fetch(url_template, ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{ms}` is filled in, and a template without one is refused.
    #[test]
    fn expands_every_placeholder() {
        assert_eq!(
            expand_template("http://h/{ms}?sleep={ms}", 7).unwrap(),
            "http://h/7?sleep=7"
        );
        let err = expand_template("http://h/200", 7).unwrap_err();
        assert!(err.to_string().contains("no {ms} placeholder"), "{err}");
    }

    /// Malformed URLs are caught before any connection, with the URL in the message.
    #[test]
    fn checks_urls() {
        for (url, reason) in [
            ("not a url", "invalid URL \"not a url\""),
            ("ftp://h/1", "is not http or https"),
            ("/200?sleep=1", "needs to start with http://"),
            ("http://:8080/1", "has no host"),
            ("http://a b/1", "invalid URL \"http://a b/1\""),
        ] {
            let err = check_url(url).unwrap_err();
            assert!(err.to_string().contains(reason), "{url}: {err}");
        }
        for url in [
            "http://127.0.0.1:8080/200?sleep=5",
            "https://example.org/200",
            "http://localhost/",
            "http://[::1]:8080/200",
            "http://[::1]/200",
            "http://user@127.0.0.1:8080/200",
        ] {
            assert_eq!(url_problem(url), Ok(()), "{url}");
        }
    }

    /// A port that is not in 1..=65535 is refused; without the check, ureq would
    /// connect to port 80 instead.
    #[test]
    fn checks_ports() {
        for (url, port) in [
            ("http://127.0.0.1:99999/1", "99999"),
            ("http://127.0.0.1:65536/1", "65536"),
            ("http://127.0.0.1:0/1", "0"),
            ("http://127.0.0.1:8o/1", "8o"),
            ("http://127.0.0.1:/1", ""),
            ("http://[::1]:70000/1", "70000"),
            ("http://user:pw@localhost:99999/1", "99999"),
        ] {
            assert_eq!(
                url_problem(url),
                Err(UrlProblem::Port(port.to_owned())),
                "{url}"
            );
        }
        let err = check_url("http://127.0.0.1:99999/1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid URL \"http://127.0.0.1:99999/1\": port \"99999\" is not a number in 1..=65535"
        );
    }

    /// A template's error names the template as typed, not an expanded URL.
    #[test]
    fn template_errors_name_the_template() {
        let err = check_template("http://127.0.0.1:0/{ms}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid URL \"http://127.0.0.1:0/{ms}\": port \"0\""),
            "{err}"
        );
        assert!(matches!(
            check_template("http://127.0.0.1:8080/200"),
            Err(FetchError::NoPlaceholder { .. })
        ));
        assert!(check_template("http://127.0.0.1:8080/200?sleep={ms}").is_ok());
    }

    /// Long bodies are cut in error messages.
    #[test]
    fn first_line_is_short() {
        assert_eq!(
            first_line("503 Service Unavailable\nmore"),
            "503 Service Unavailable"
        );
        assert_eq!(first_line(&"x".repeat(300)).len(), 103);
    }
}
