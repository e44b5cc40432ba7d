//! The async pool's GET: the same request as [`http_wait::Client::fetch`], written as
//! a future, so that the one thread can wait for many of them at once.
//!
//! The blocking client parks its thread until the answer comes. This one returns to
//! the event loop at every `.await` that cannot go on yet (connecting, waiting for the
//! answer, reading the body), and the loop polls another task meanwhile. That is all
//! "async" adds: the same socket calls, with the waiting handed to the loop.
//!
//! It keeps the blocking client's rules: one connection per request, closed after it
//! (`Connection: close`, no pool), one timeout, and errors that name the URL. Failures
//! both clients share are the same [`FetchError`] variants (refused, timed out, a
//! non-2xx status, a bad URL), so a dead server reads the same under every pool.
//!
//! Plain `http://` only: the delay server speaks nothing else, and TLS would add a
//! crate and nothing to the lesson.

use std::io;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use http_wait::FetchError;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why an async GET failed.
#[derive(Debug, thiserror::Error)]
pub enum AsyncFetchError {
    /// A failure the blocking client reports the same way: a bad template or URL, a
    /// refused connection, a timeout, or a status that is not 2xx.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The URL is `https://`: the async pool's client speaks plain HTTP only.
    #[error("GET {url}: the async pool speaks plain http:// only")]
    NotHttp {
        /// The expanded URL.
        url: String,
    },
    /// The connection could not be opened, for a reason other than a refusal (the host
    /// name did not resolve, the network is unreachable...).
    #[error("cannot connect to {url}")]
    Connect {
        /// The expanded URL.
        url: String,
        /// What the OS reported.
        #[source]
        source: io::Error,
    },
    /// The connection broke, or the answer was not HTTP.
    #[error("GET {url} failed")]
    Http {
        /// The expanded URL.
        url: String,
        /// What hyper reported.
        #[source]
        source: hyper::Error,
    },
    /// The answer's body is not UTF-8 text.
    #[error("GET {url}: the body is not UTF-8 text")]
    NotText {
        /// The expanded URL.
        url: String,
    },
}

/// GETs `url_template` with `{ms}` replaced by `ms`, giving the whole request at most
/// `timeout`, and returns the body.
pub async fn fetch(
    url_template: &str,
    ms: u64,
    timeout: Duration,
) -> Result<String, AsyncFetchError> {
    let url = http_wait::expand_template(url_template, ms)?;
    // The same checks as the blocking client, before any connection.
    http_wait::check_template(url_template)?;
    let uri: hyper::Uri = url.parse().map_err(|e| FetchError::InvalidUrl {
        url: url.clone(),
        problem: http_wait::UrlProblem::Malformed(format!("{e}")),
    })?;
    if uri.scheme_str() != Some("http") {
        return Err(AsyncFetchError::NotHttp { url });
    }
    match tokio::time::timeout(timeout, get(&uri, &url)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(FetchError::Timeout {
            url,
            timeout,
            phase: "the whole request".to_owned(),
        }
        .into()),
    }
}

/// One request on a connection of its own: connect, send, await the answer and the
/// body. Every `.await` here is a point where the event loop may run other tasks.
async fn get(uri: &hyper::Uri, url: &str) -> Result<String, AsyncFetchError> {
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    // An IP address such as the delay server's 127.0.0.1 connects at once; a host
    // name is resolved by tokio on a helper thread (`getaddrinfo` blocks).
    let stream = TcpStream::connect((host, port)).await.map_err(|source| {
        if source.kind() == io::ErrorKind::ConnectionRefused {
            AsyncFetchError::Fetch(FetchError::Refused {
                url: url.to_owned(),
                source,
            })
        } else {
            AsyncFetchError::Connect {
                url: url.to_owned(),
                source,
            }
        }
    })?;
    let http = |source| AsyncFetchError::Http {
        url: url.to_owned(),
        source,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| FetchError::InvalidUrl {
            url: url.to_owned(),
            problem: http_wait::UrlProblem::Malformed(e.to_string()),
        })?;
    let exchange = async move {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    // `connection` is the future that moves the bytes; it must be polled alongside
    // the request. With `Connection: close` it ends once the answer is read.
    let (exchange, connection) = tokio::join!(exchange, connection);
    let (status, body) = exchange.map_err(http)?;
    connection.map_err(http)?;
    let body = String::from_utf8(body.to_vec()).map_err(|_| AsyncFetchError::NotText {
        url: url.to_owned(),
    })?;
    if !(200..300).contains(&status) {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
            body,
        }
        .into());
    }
    Ok(body)
}
