//! `DelayServer::start_in_child`: the server in a forked child process.
//!
//! This file has no test harness (`harness = false` in Cargo.toml): libtest runs each
//! test on a thread of its own, and `start_in_child` rightly refuses to fork a
//! process with more than one thread. Here `main` is the only thread, and it runs
//! the checks one after another. A failed check panics, which fails `cargo test`.

use std::net::TcpStream;
use std::path::Path;

use http_wait::{DelayServer, http_fetch};
use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

fn main() {
    let checks: [(&str, fn()); 4] = [
        ("serves_from_a_child_process", serves_from_a_child_process),
        (
            "drop_kills_and_reaps_the_child",
            drop_kills_and_reaps_the_child,
        ),
        ("two_children_at_once", two_children_at_once),
        ("client_works_after_fork", client_works_after_fork),
    ];
    for (name, check) in checks {
        check();
        println!("test {name} ... ok");
    }
    println!("{} passed, 0 failed", checks.len());
}

/// The server answers, from a process that is not this one and whose parent is this
/// one; and the parent is still single-threaded afterwards.
fn serves_from_a_child_process() {
    let server = DelayServer::start_in_child().expect("main is the only thread");
    let pid = server.pid();
    assert_ne!(pid, std::process::id());
    assert_eq!(parent_of(pid), std::process::id());

    let fetched = http_fetch(&server.url_template(), 50).expect("the child answers");
    assert_eq!((fetched.status, fetched.body.as_str()), (200, "200 OK"));
    assert!(fetched.elapsed() >= 0.05, "{fetched:?}");

    // Neither the fork nor the fetch left a thread behind in this process.
    assert_eq!(procutil::thread_count().unwrap(), 1);
}

/// After drop, the port refuses connections and the child is gone: killed and
/// reaped, not left as a zombie.
fn drop_kills_and_reaps_the_child() {
    let server = DelayServer::start_in_child().unwrap();
    let (addr, pid) = (server.addr(), server.pid());
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(server);

    let err = TcpStream::connect(addr).expect_err("nothing listens any more");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // A zombie would still have a /proc entry, and waitpid would report its status.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} lingers"
    );
    let raw = i32::try_from(pid).unwrap();
    assert_eq!(
        waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD)
    );
}

/// Two child servers can run side by side (the parent has no threads either way),
/// and each serves on its own port.
fn two_children_at_once() {
    let a = DelayServer::start_in_child().unwrap();
    let b = DelayServer::start_in_child().unwrap();
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.pid(), b.pid());
    for server in [&a, &b] {
        let template = format!("{}/201?sleep={{ms}}", server.base_url());
        assert_eq!(http_fetch(&template, 0).unwrap().status, 201);
    }
}

/// A `Client` made and used before a `fork` still works in the child, and the
/// handle copied into the child does not stop the parent's server when the child
/// drops it.
fn client_works_after_fork() {
    use nix::sys::wait::WaitStatus;
    use nix::unistd::{ForkResult, fork};

    let server = DelayServer::start_in_child().unwrap();
    let client = http_wait::Client::default();
    let template = server.url_template();
    assert_eq!(client.fetch(&template, 0).unwrap().status, 200);
    assert_eq!(procutil::thread_count().unwrap(), 1);

    // Safety: this process has one thread (`main`, checked just above), so the
    // child inherits no lock held by another thread and may allocate and do IO. It
    // runs the block below and leaves with `_exit`, never returning into this
    // function.
    let child = match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            let ok = client
                .fetch(&template, 20)
                .is_ok_and(|f| f.body == "200 OK");
            // The copy of the handle: dropping it here must not kill the server.
            drop(server);
            // Safety: `_exit` ends the child at once, skipping the stdio buffers
            // and exit handlers, which belong to the parent's program.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => child,
    };
    assert_eq!(waitpid(child, None), Ok(WaitStatus::Exited(child, 0)));
    // The server is still up for the parent.
    assert_eq!(client.fetch(&template, 0).unwrap().body, "200 OK");
}

/// The parent pid of `pid`, from the fourth field of `/proc/PID/stat`.
fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name in parentheses may contain spaces: split after it.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(1).unwrap().parse().unwrap()
}
