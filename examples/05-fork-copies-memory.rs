//! `fork` gives the child a copy of the parent's memory, as it was at the fork.
//!
//! ```text
//! cargo run --release --example 05-fork-copies-memory
//! ```
//!
//! The parent fills a vector, forks, then overwrites the vector. The child, reading
//! its own copy a moment later, still sees the old values. Nothing is shared unless
//! asked for: that is what `isolation-demo --shared` does with a `MAP_SHARED` mapping.

use std::io::Write;
use std::time::Duration;

use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

fn main() -> anyhow::Result<()> {
    let mut numbers = vec![1u64; 1_000_000];
    println!(
        "parent {}: before the fork, numbers[0] = {}",
        std::process::id(),
        numbers[0]
    );
    // Anything buffered now would be written twice, once by each process.
    std::io::stdout().flush()?;

    // Safety: this program starts no threads, so the child is a consistent copy of
    // the only thread there is, and it may run ordinary Rust code. It leaves with
    // `_exit` and never returns into `main`.
    match unsafe { fork() }? {
        ForkResult::Child => {
            std::thread::sleep(Duration::from_millis(200));
            println!(
                "child  {}: after the parent's change, numbers[0] = {} (its own copy)",
                std::process::id(),
                numbers[0]
            );
            let _ = std::io::stdout().flush();
            // Safety: ends the child at once, without running the parent's exit code.
            unsafe { nix::libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            numbers.iter_mut().for_each(|n| *n = 42);
            println!(
                "parent {}: changed every number to {}",
                std::process::id(),
                numbers[0]
            );
            waitpid(child, None)?;
        }
    }
    Ok(())
}
