//! The delay server, spoken to over raw TCP so that the client is not under test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use http_wait::DelayServer;

/// Sends `GET {target}` and returns the status code and body. Bounded by a 5 s read
/// timeout, so a server bug cannot hang the test.
fn get(server: &DelayServer, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr()).expect("connect to the test server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("a complete response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line in {head:?}"));
    (status, body.to_owned())
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
        ("/99?sleep=0", "status 99 is outside 100..=599"),
        ("/600", "status 600 is outside 100..=599"),
        ("/abc?sleep=10", "status must be a number"),
        ("/100", "informational"),
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
