//! Processes that wait for each other: a `PTHREAD_PROCESS_SHARED` barrier in a shared
//! page, and a count that proves nobody left early.
//!
//! ```text
//! cargo run --release --example 07-4-process-shared-barrier
//! ```
//!
//! Four forked children meet 5 times at a `pthread_barrier_t` that lives in a
//! `MAP_SHARED` page, like Python's `multiprocessing.Barrier(4)`. Before each wait a
//! child sleeps 0 to 3 ms, a different length per child and round, then counts
//! itself in; after the wait it notes how many had counted themselves in. Expect every
//! round to show 4 of 4: no child leaves before the last one arrives. Expect, too,
//! exactly one child per round to get `PTHREAD_BARRIER_SERIAL_THREAD` back, the
//! return value that picks one participant to do a round's follow-up work (Python's
//! `Barrier.wait()` returns an index for the same purpose).
//! `isolation-demo barrier` builds the barrier on a futex word instead, and times it.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::libc;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

const CHILDREN: u32 = 4;
const ROUNDS: usize = 5;

/// What lives in the shared page.
#[repr(C)]
struct Page {
    barrier: libc::pthread_barrier_t,
    /// Per round: how many have counted themselves in.
    arrived: [AtomicU32; ROUNDS],
    /// Per round: the smallest `arrived` any child saw once past the barrier.
    seen: [AtomicU32; ROUNDS],
    /// Per round: how many got `PTHREAD_BARRIER_SERIAL_THREAD`.
    serial: [AtomicU32; ROUNDS],
}

/// One child's life: meet the others `ROUNDS` times.
fn child(page: &Page, me: u32) {
    for round in 0..ROUNDS {
        // Arrivals spread out: 0 to 3 ms, different per child and round.
        std::thread::sleep(Duration::from_millis(u64::from((me + round as u32) % 4)));
        page.arrived[round].fetch_add(1, Ordering::SeqCst);
        // Safety: the barrier was initialised before any child existed, for
        // `CHILDREN` participants, and is not destroyed while children run.
        let code = unsafe { libc::pthread_barrier_wait((&raw const page.barrier).cast_mut()) };
        if code == libc::PTHREAD_BARRIER_SERIAL_THREAD {
            page.serial[round].fetch_add(1, Ordering::SeqCst);
        }
        let now = page.arrived[round].load(Ordering::SeqCst);
        page.seen[round].fetch_min(now, Ordering::SeqCst);
    }
}

fn main() -> anyhow::Result<()> {
    // Safety: with no address hint the kernel picks fresh pages that no Rust value
    // uses. The page is zero-filled and never unmapped.
    let ptr = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(4096).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )?
    }
    .cast::<Page>()
    .as_ptr();

    // Safety: `ptr` is valid, page-aligned and larger than `Page`; no child exists
    // yet. `attr` is initialised before use and destroyed after the barrier is made.
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_barrierattr_t>::uninit();
        anyhow::ensure!(libc::pthread_barrierattr_init(attr.as_mut_ptr()) == 0);
        // New: the attribute that lets every process that maps the barrier use it.
        anyhow::ensure!(
            libc::pthread_barrierattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED)
                == 0
        );
        let made = libc::pthread_barrier_init(&raw mut (*ptr).barrier, attr.as_ptr(), CHILDREN);
        libc::pthread_barrierattr_destroy(attr.as_mut_ptr());
        anyhow::ensure!(made == 0, "pthread_barrier_init failed: {made}");
    }
    // Safety: from here on the page is only touched through atomics and the barrier,
    // which are made to be shared; the zero bytes are valid `AtomicU32`s.
    let page: &Page = unsafe { &*ptr };
    for seen in &page.seen {
        seen.store(u32::MAX, Ordering::SeqCst);
    }

    let mut children = Vec::new();
    for me in 0..CHILDREN {
        // Safety: this program starts no threads, so the child is a consistent copy
        // of the only thread there is. It touches the shared page, sleeps, and
        // leaves with `_exit`.
        match unsafe { fork() }? {
            ForkResult::Child => {
                child(page, me);
                // Safety: ends the child at once, without the parent's exit code.
                unsafe { libc::_exit(0) }
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
    println!("{CHILDREN} processes meet {ROUNDS} times at a process-shared pthread barrier");
    for round in 0..ROUNDS {
        println!(
            "round {round}: {} of {CHILDREN} had arrived when the first left; {} got the serial return",
            page.seen[round].load(Ordering::SeqCst),
            page.serial[round].load(Ordering::SeqCst),
        );
    }
    Ok(())
}
