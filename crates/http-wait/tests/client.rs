//! The blocking client against the embedded server (thread mode).
//!
//! Time bounds here are wide on purpose: the machine is shared, and only the
//! benchmark measures precisely. What the tests pin down is order and overlap.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use http_wait::{Client, DelayServer, FetchError, UrlProblem, check_template, http_fetch};
use socket2::{Domain, Socket, Type};

/// A 300 ms request takes at least 300 ms, as the record reports. (The upper bound
/// only rules out a wrong unit, say milliseconds read as seconds: a busy machine
/// can add a lot to a 300 ms wait, and the benchmark measures it precisely.)
#[test]
fn fetch_waits_as_asked() {
    let server = DelayServer::start().unwrap();
    let fetched = http_fetch(&server.url_template(), 300).unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, "200 OK");
    assert_eq!(fetched.url, format!("{}/200?sleep=300", server.base_url()));
    assert!(
        (0.3..30.0).contains(&fetched.elapsed()),
        "elapsed {:.3} s",
        fetched.elapsed()
    );
}

/// Eight 1 s requests from eight threads overlap: all are in flight at one moment,
/// so together they take far less than the 8 s they would take one after another.
///
/// Timed on the monotonic clock around each call, beside the wall-clock times that
/// `fetch` records: a step of the system clock during the test (NTP, a suspend)
/// could make the recorded times disagree with each other, but not these.
#[test]
fn concurrent_fetches_overlap() {
    let server = DelayServer::start().unwrap();
    let client = Client::default();
    let template = server.url_template();
    let spans: Vec<(Instant, Instant)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let start = Instant::now();
                    let fetched = client.fetch(&template, 1000).unwrap();
                    assert_eq!(fetched.status, 200);
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let first_start = spans.iter().map(|s| s.0).min().unwrap();
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    let last_end = spans.iter().map(|s| s.1).max().unwrap();
    // Overlap: the last request started before the first one finished.
    assert!(last_start < first_end, "{spans:#?}");
    assert!(
        spans
            .iter()
            .all(|(start, end)| *end - *start >= Duration::from_secs(1)),
        "{spans:#?}"
    );
    // Implied by the overlap, but it is the claim: one after another, these would
    // take at least 8 s (each took 1 s or more). About 1 s is typical; a machine
    // would have to stall for seconds to reach the 4 s bound.
    let total = last_end - first_start;
    assert!(
        total < Duration::from_secs(4),
        "8 concurrent 1 s fetches took {total:?}"
    );
}

/// A port with nothing behind it gives a `Refused` error that names the URL.
#[test]
fn refused_connection_names_the_url() {
    // A socket that is bound but not listening: connections to its port are
    // refused, and as long as it is open, no other test can take the port (as it
    // could one that was bound and released).
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let template = format!("http://127.0.0.1:{port}/200?sleep={{ms}}");
    let err = http_fetch(&template, 100).unwrap_err();
    assert!(matches!(err, FetchError::Refused { .. }), "{err:?}");
    let url = format!("http://127.0.0.1:{port}/200?sleep=100");
    assert!(err.to_string().contains(&url), "{err}");
}

/// A non-2xx answer is an error carrying the status, the URL and the body.
#[test]
fn non_2xx_is_an_error() {
    let server = DelayServer::start().unwrap();
    let template = format!("{}/503?sleep={{ms}}", server.base_url());
    let err = http_fetch(&template, 10).unwrap_err();
    match &err {
        FetchError::Status { url, status, body } => {
            assert_eq!(url, &format!("{}/503?sleep=10", server.base_url()));
            assert_eq!(*status, 503);
            assert_eq!(body, "503 Service Unavailable");
        }
        other => panic!("expected a Status error, got {other:?}"),
    }
    assert!(
        err.to_string().contains("/503?sleep=10 answered 503"),
        "{err}"
    );

    // The server's 400 reason comes through in the message.
    let err = http_fetch(&server.url_template(), 30_001).unwrap_err();
    assert!(
        err.to_string()
            .contains("answered 400: sleep 30001 ms is over"),
        "{err}"
    );

    // A 3xx is reported, not followed.
    let template = format!("{}/302?sleep={{ms}}", server.base_url());
    let err = http_fetch(&template, 0).unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 302, .. }),
        "{err:?}"
    );
}

/// A template without `{ms}` is refused before any request is sent.
#[test]
fn template_needs_the_placeholder() {
    let err = http_fetch("http://127.0.0.1:1/200?sleep=5", 5).unwrap_err();
    assert!(matches!(err, FetchError::NoPlaceholder { .. }), "{err:?}");
    assert!(err.to_string().contains("no {ms} placeholder"), "{err}");
}

/// A port outside 1..=65535 is an `InvalidUrl` that names the port, not a
/// connection to the default port 80; and a template with no `{ms}` never connects:
/// the listener it names sees no connection.
#[test]
fn bad_templates_fail_before_connecting() {
    for (template, port) in [
        ("http://127.0.0.1:99999/200?sleep={ms}", "99999"),
        ("http://127.0.0.1:0/200?sleep={ms}", "0"),
        ("http://127.0.0.1:80a/200?sleep={ms}", "80a"),
    ] {
        for err in [
            http_fetch(template, 5).unwrap_err(),
            check_template(template).unwrap_err(),
        ] {
            match &err {
                FetchError::InvalidUrl {
                    problem: UrlProblem::Port(found),
                    ..
                } => assert_eq!(found, port),
                other => panic!("{template}: expected a port error, got {other:?}"),
            }
            assert!(
                err.to_string().contains("is not a number in 1..=65535"),
                "{err}"
            );
        }
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let template = format!("http://{}/200", listener.local_addr().unwrap());
    let err = http_fetch(&template, 5).unwrap_err();
    assert!(matches!(err, FetchError::NoPlaceholder { .. }), "{err:?}");
    // A connect that had happened would be in the listen queue by now: the kernel
    // completes the handshake before `connect` returns.
    let accepted = listener.accept().map(|(_, peer)| peer);
    assert_eq!(
        accepted.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock)
    );
}

/// A request slower than the client's timeout fails with a `Timeout` naming the URL.
#[test]
fn slow_answer_times_out() {
    let server = DelayServer::start().unwrap();
    // 150 times the timeout: no stall of a busy machine lets the answer win.
    // Dropping the server at the end cuts the 30 s wait short.
    let client = Client::new(Duration::from_millis(200));
    let err = client.fetch(&server.url_template(), 30_000).unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("/200?sleep=30000"), "{err}");
}

/// The test harness runs tests on threads, so the fork-based server must refuse to
/// start here, with a message that says why (the fork itself is tested in
/// `tests/child.rs`, which has no harness).
#[test]
fn start_in_child_refuses_a_threaded_process() {
    // Make sure there is a second thread even if the harness ran this on `main`.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let helper = thread::spawn(move || wait.recv());
    let err = DelayServer::start_in_child().expect_err("several threads are running");
    assert!(err.to_string().contains("single-threaded"), "{err}");
    release.send(()).unwrap();
    helper.join().unwrap().unwrap();
}
