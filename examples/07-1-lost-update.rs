//! Two processes add 1 to one counter in a shared page: a load then a store loses
//! updates, `fetch_add` loses none.
//!
//! ```text
//! cargo run --release --example 07-1-lost-update
//! ```
//!
//! Two forked children each add 1 to an `AtomicU64` in a `MAP_SHARED` page, 10
//! million times. With an atomic load, then an atomic store, expect the count to come
//! out short of 20 million, by a different amount each run (and never over it).
//! Every access is atomic, so nothing here is undefined behaviour: it is a race
//! condition, not a data race, and the compiler has nothing to reject. With one
//! `fetch_add` per increment the count is exact. `isolation-demo race` is the full
//! demo: timed, with a lock as the third way, and on threads for comparison.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

const CHILDREN: u64 = 2;
const INCREMENTS: u64 = 10_000_000;

/// The problem: two steps. The other process may store between them, and this store
/// then overwrites its increment. (`black_box` keeps the compiler from fusing them.)
fn load_then_store(counter: &AtomicU64) {
    let value = counter.load(Ordering::Relaxed);
    counter.store(std::hint::black_box(value) + 1, Ordering::Relaxed);
}

/// New: one indivisible read-modify-write.
fn fetch_add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn main() -> anyhow::Result<()> {
    // Safety: with no address hint the kernel picks fresh pages that no Rust value
    // uses, so the mapping overlaps nothing.
    let page = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(4096).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )?
    };
    // Safety: the page is aligned, zero-filled (a valid `AtomicU64` holding 0) and
    // never unmapped, so the reference is valid for the whole run; every access to
    // it, in any process, goes through the atomic.
    let counter: &AtomicU64 = unsafe { page.cast::<AtomicU64>().as_ref() };

    let expected = CHILDREN * INCREMENTS;
    println!("{CHILDREN} processes each add 1 to one shared counter {INCREMENTS} times");
    let ways = [
        ("load+store", load_then_store as fn(&AtomicU64)),
        ("fetch_add", fetch_add),
    ];
    for (name, add_one) in ways {
        counter.store(0, Ordering::Relaxed);
        let mut children = Vec::new();
        for _ in 0..CHILDREN {
            // Safety: this program starts no threads, so the child is a consistent
            // copy of the only thread there is and may run ordinary Rust code. It
            // touches only the shared page and leaves with `_exit`.
            match unsafe { fork() }? {
                ForkResult::Child => {
                    for _ in 0..INCREMENTS {
                        add_one(counter);
                    }
                    // Safety: ends the child at once, without the parent's exit code.
                    unsafe { nix::libc::_exit(0) }
                }
                ForkResult::Parent { child } => children.push(child),
            }
        }
        for child in children {
            let status = waitpid(child, None)?;
            anyhow::ensure!(
                matches!(status, WaitStatus::Exited(_, 0)),
                "child {child} ended badly: {status:?}"
            );
        }
        // Both children have exited and been reaped: their stores are all done.
        let reached = counter.load(Ordering::Relaxed);
        println!(
            "{name:<10}  expected {expected}  reached {reached}  lost {}",
            expected - reached
        );
    }
    Ok(())
}
