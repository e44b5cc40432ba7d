//! The delay server, spoken to over raw TCP so that the client is not under test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use http_wait::DelayServer;

/// One parsed answer: the status code, the header block (status line included) and
/// the body.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), if the answer has it.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then_some(value.trim())
        })
    }
}

/// Sends `{method} {target}` on a fresh connection that the server closes after its
/// answer, and reads the whole answer. Bounded by a 5 s read timeout, so a server bug
/// (or a sleep that should not happen) cannot hang the test.
fn send(server: &DelayServer, method: &str, target: &str) -> Answer {
    let mut stream = TcpStream::connect(server.addr()).expect("connect to the test server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("a complete response within 5 s");
    let (head, body) = response.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line in {head:?}"));
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// Sends `GET {target}` and returns the status code and body.
fn get(server: &DelayServer, target: &str) -> (u16, String) {
    let answer = send(server, "GET", target);
    (answer.status, answer.body)
}

/// Each kind of bad input gets a 400 with a one-line reason, without any wait.
#[test]
fn bad_input_is_a_400_with_a_reason() {
    let server = DelayServer::start().unwrap();
    let cases = [
        (
            "/200?sleep=abc",
            "sleep must be a whole, non-negative number",
        ),
        (
            "/200?sleep=-5",
            "sleep must be a whole, non-negative number",
        ),
        ("/200?sleep=30001", "over the limit of 30000 ms"),
        ("/99?sleep=0", "status 99 is outside 200..=599"),
        ("/600", "status 600 is outside 200..=599"),
        ("/abc?sleep=10", "status must be a number in 200..=599"),
        (
            "/100",
            "informational (1xx) and cannot be a final answer; use 200..=599",
        ),
    ];
    for (target, reason) in cases {
        let (status, body) = get(&server, target);
        assert_eq!(status, 400, "{target}: {body}");
        assert!(body.contains(reason), "{target}: {body:?}");
        assert_eq!(body.lines().count(), 1, "{target}: {body:?}");
    }
}

/// Good requests get the status they ask for, with `"{code} {reason}"` as the body;
/// `/` and an empty sleep mean 200 at once.
#[test]
fn answers_the_requested_status() {
    let server = DelayServer::start().unwrap();
    let cases = [
        ("/503", 503, "503 Service Unavailable"),
        ("/200?sleep=0", 200, "200 OK"),
        ("/?sleep=", 200, "200 OK"),
        ("/", 200, "200 OK"),
        ("/404?sleep=1&x=y", 404, "404 Not Found"),
    ];
    for (target, want_status, want_body) in cases {
        assert_eq!(
            get(&server, target),
            (want_status, want_body.to_owned()),
            "{target}"
        );
    }
}

/// Methods other than GET and HEAD, a lowercase `get` among them, get a 405 with
/// `Allow: GET, HEAD` and a one-line reason, at once: the 30 s sleep they ask for
/// would overrun the 5 s read timeout of `send`.
#[test]
fn other_methods_get_405_with_allow() {
    let server = DelayServer::start().unwrap();
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "Get", "head",
    ] {
        let answer = send(&server, method, "/200?sleep=30000");
        assert_eq!(answer.status, 405, "{method}: {answer:?}");
        assert_eq!(
            answer.header("allow"),
            Some("GET, HEAD"),
            "{method}: {answer:?}"
        );
        assert_eq!(
            answer.body,
            format!("method {method} is not allowed; use GET or HEAD"),
            "{method}"
        );
    }
}

/// HEAD gets the status and headers a GET would get, and no body.
#[test]
fn head_answers_without_a_body() {
    let server = DelayServer::start().unwrap();
    for (target, status, length) in [("/503?sleep=10", 503, "23"), ("/", 200, "6")] {
        let answer = send(&server, "HEAD", target);
        assert_eq!(answer.status, status, "{target}: {answer:?}");
        assert_eq!(answer.header("content-length"), Some(length), "{answer:?}");
        assert_eq!(answer.body, "", "{target}");
        // And the GET it mirrors.
        let get = send(&server, "GET", target);
        assert_eq!(get.status, status);
        assert_eq!(get.body.len().to_string(), length);
    }
    // Bad input gets the same 400 as a GET, again without the body.
    assert_eq!(send(&server, "HEAD", "/600").status, 400);
}

/// One keep-alive connection can carry several requests in turn.
#[test]
fn keeps_connections_alive() {
    let server = DelayServer::start().unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for _ in 0..3 {
        write!(stream, "GET /201?sleep=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        // Small answers arrive in one segment on loopback; read until the body.
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with("201 Created") {
            let n = stream
                .read(&mut buf)
                .expect("the answer arrives within 5 s");
            assert!(n > 0, "connection closed early after {seen:?}");
            seen.push_str(std::str::from_utf8(&buf[..n]).unwrap());
        }
        assert!(seen.starts_with("HTTP/1.1 201 Created\r\n"), "{seen:?}");
    }
}

/// After the handle is dropped, the port refuses connections.
#[test]
fn drop_stops_the_server() {
    let server = DelayServer::start().unwrap();
    let addr = server.addr();
    assert_eq!(get(&server, "/").0, 200);
    drop(server);
    let err = TcpStream::connect(addr).expect_err("nothing listens any more");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// A busy address is reported by `start_on` itself, not lost in the server thread.
#[test]
fn busy_port_is_an_error() {
    let first = DelayServer::start().unwrap();
    let err = DelayServer::start_on(first.addr()).expect_err("the port is taken");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}
