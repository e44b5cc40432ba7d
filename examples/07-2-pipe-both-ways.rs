//! A duplex channel between a parent and a child: each end both sends and receives.
//!
//! ```text
//! cargo run --release --example 07-2-pipe-both-ways
//! ```
//!
//! Python's `multiprocessing.Pipe()` is duplex by default, and on Linux it is a pair
//! of connected Unix sockets, which is what `UnixStream::pair` makes here. The parent
//! keeps one end, a forked child the other. The parent sends the numbers 1 to 5,
//! one per line, then shuts down its sending side; the child answers each with its
//! square and its own pid, and on end of input sends a last line with how many it
//! got. Expect every answer to be the square, from a pid other than the parent's,
//! and the child's count to be 5.

use std::io::{BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// The child's side: read numbers until the parent shuts down its sending side,
/// answer each, then report how many came.
fn child(end: UnixStream) -> std::io::Result<()> {
    let mut answers = end.try_clone()?;
    let mut got = 0;
    for line in BufReader::new(end).lines() {
        let n: u64 = line?.trim().parse().unwrap_or(0);
        writeln!(answers, "{} {}", n * n, std::process::id())?;
        got += 1;
    }
    writeln!(answers, "done {got}")
}

fn main() -> anyhow::Result<()> {
    let (parent_end, child_end) = UnixStream::pair()?;
    // Anything buffered now would be written twice, once by each process.
    std::io::stdout().flush()?;

    // Safety: this program starts no threads, so the child is a consistent copy of
    // the only thread there is and may run ordinary Rust code (allocate, do I/O). It
    // leaves with `_exit` and never returns into `main`.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // Each process closes the end it does not use: otherwise the child
            // would hold the parent's end open, and never see end of input.
            drop(parent_end);
            let code = if child(child_end).is_ok() { 0 } else { 1 };
            // Safety: ends the child at once, without running the parent's exit code.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(child_end);
            let mut requests = parent_end.try_clone()?;
            let mut replies = BufReader::new(parent_end).lines();
            let me = std::process::id();
            for n in 1..=5u64 {
                // Parent to child...
                writeln!(requests, "{n}")?;
                // ...and child to parent, on the same channel.
                let reply = replies.next().transpose()?.unwrap_or_default();
                let (square, pid) = reply.split_once(' ').unwrap_or(("?", "?"));
                println!("sent {n} from pid {me}, got {square} from pid {pid}");
            }
            // A half-close: the child reads end of input, and can still answer.
            requests.shutdown(Shutdown::Write)?;
            let last = replies.next().transpose()?.unwrap_or_default();
            println!("child says: {last}");
            let status = waitpid(child, None)?;
            anyhow::ensure!(
                matches!(status, WaitStatus::Exited(_, 0)),
                "child {child} ended badly: {status:?}"
            );
        }
    }
    Ok(())
}
