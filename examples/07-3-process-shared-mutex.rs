//! A lock that works across processes: a `PTHREAD_PROCESS_SHARED` mutex in a shared
//! page makes the load-then-store of `07-1-lost-update` exact.
//!
//! ```text
//! cargo run --release --example 07-3-process-shared-mutex
//! ```
//!
//! Python's `multiprocessing.Lock` is a semaphore in shared memory; C's answer is a
//! pthread mutex marked `PTHREAD_PROCESS_SHARED` and placed in memory that every
//! process maps. (`isolation-demo race --sync lock` builds its lock on a futex word
//! instead, to show the mechanism; glibc's mutex is built on a futex too.) Here
//! two forked children each add 1 to a plain `u64` next to the mutex, 1 million
//! times, with a load and a store while holding it. Expect the count to be exactly
//! 2 million: the lock keeps each load and its store together.

use std::mem::MaybeUninit;
use std::num::NonZeroUsize;

use nix::libc;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

const CHILDREN: u64 = 2;
const INCREMENTS: u64 = 1_000_000;

/// What lives in the shared page: the lock, and the plain number it guards.
#[repr(C)]
struct Page {
    mutex: libc::pthread_mutex_t,
    counter: u64,
}

/// Turns a pthread return code (0, or an error number) into a `Result`.
fn check(what: &str, code: libc::c_int) -> std::io::Result<()> {
    match code {
        0 => Ok(()),
        e => Err(std::io::Error::other(format!(
            "{what}: {}",
            std::io::Error::from_raw_os_error(e)
        ))),
    }
}

/// Adds 1 under the lock: the same load and store that lose updates without it.
fn add_one(page: *mut Page) -> std::io::Result<()> {
    // Safety: `page` points to the mapped page, whose mutex was initialised before
    // any child existed and is never destroyed while children run.
    check("lock", unsafe {
        libc::pthread_mutex_lock(&raw mut (*page).mutex)
    })?;
    // Safety: this process holds the mutex, so no other process reads or writes the
    // counter now; the lock and unlock order these accesses with theirs.
    unsafe {
        let value = (*page).counter;
        (*page).counter = std::hint::black_box(value) + 1;
    }
    // Safety: as for the lock; this process is the one holding it.
    check("unlock", unsafe {
        libc::pthread_mutex_unlock(&raw mut (*page).mutex)
    })
}

fn main() -> anyhow::Result<()> {
    // Safety: with no address hint the kernel picks fresh pages that no Rust value
    // uses. The page is zero-filled and never unmapped.
    let page = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(4096).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )?
    }
    .cast::<Page>()
    .as_ptr();

    // New: the attribute that lets a mutex be used by every process that maps it.
    // Without it, the mutex may keep state that only makes sense in one process.
    let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    // Safety: `attr` is initialised by `pthread_mutexattr_init` before any other
    // use and destroyed once the mutex is made; `page` is valid, aligned for `Page`
    // (page-aligned) and large enough; no child exists yet to use the mutex.
    unsafe {
        check(
            "mutexattr_init",
            libc::pthread_mutexattr_init(attr.as_mut_ptr()),
        )?;
        check(
            "mutexattr_setpshared",
            libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED),
        )?;
        check(
            "mutex_init",
            libc::pthread_mutex_init(&raw mut (*page).mutex, attr.as_ptr()),
        )?;
        libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
    }

    let mut children = Vec::new();
    for _ in 0..CHILDREN {
        // Safety: this program starts no threads, so the child is a consistent copy
        // of the only thread there is, and no lock is held at the fork. The child
        // touches only the shared page and leaves with `_exit`.
        match unsafe { fork() }? {
            ForkResult::Child => {
                let ok = (0..INCREMENTS).all(|_| add_one(page).is_ok());
                // Safety: ends the child at once, without the parent's exit code.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
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
    // Safety: every child has exited, so nobody else touches the counter.
    let reached = unsafe { (*page).counter };
    let expected = CHILDREN * INCREMENTS;
    println!(
        "{CHILDREN} processes each add 1 to a plain u64 {INCREMENTS} times, under a process-shared mutex"
    );
    println!(
        "mutex  expected {expected}  reached {reached}  lost {}",
        expected - reached
    );
    Ok(())
}
