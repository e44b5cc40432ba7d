//! What a thread sees and what a process sees of one global variable, and how to
//! share it with a process on purpose.
//!
//! # The claim
//! A global `X` starts at 0. Main increments it three times, one second apart. A
//! thread and a child process each print what they think X is, once a second.
//!
//! - The **thread** reports main's pid and sees X go up with main's increments: it
//!   is inside main's process and reads the same memory.
//! - The **process** reports a pid of its own and sees 0, 0, 0. Nothing fails and
//!   nothing warns: it reads a variable with the same name at the same address, in
//!   *its own* memory, and nobody ever changes it.
//! - With `--shared`, X lives in a memory mapping that both processes map on
//!   purpose, and the process sees the updates too.
//!
//! ```text
//! $ cargo run --release -p isolation-demo
//! Main-17812 sets X to 1
//! Thread-17812 thinks X is 1
//! Process-17813 thinks X is 0
//! Main-17812 sets X to 2
//! Thread-17812 thinks X is 2
//! Process-17813 thinks X is 0
//! Main-17812 sets X to 3
//! Process-17813 thinks X is 0
//! Thread-17812 thinks X is 3
//! Summary: the thread shared main's pid (17812) and memory, so it saw X change (last read: 3); the process (pid 17813) got its own copy of X at the fork, which nobody changed, so it saw only 0.
//! Next: run with --shared to put X in memory that both processes map on purpose.
//! ```
//!
//! Each line comes out whole, but the order of lines from different actors is not
//! fixed: steps that are due at the same instant may print either way round, and a
//! thread due at the same moment as an increment may read the old or the new value.
//!
//! # `fork` and `spawn`
//! Python's `multiprocessing` has several ways to start a child process; this demo
//! offers the two that matter here (`--start-method`):
//! - `fork` (the default) makes the child a copy of the parent *at the instant of
//!   the fork*: all of its memory, copy-on-write (pages are shared until one side
//!   writes, then that side gets its own copy), its open files, and **only the thread
//!   that called `fork`**. X is copied while it is still 0, and main's later
//!   increments write main's page, not the child's.
//! - `spawn` starts the program afresh: re-executed from its file, with a fresh
//!   address space in which every static has its initial value. X is 0 by
//!   construction. This is what Python's `spawn` does (a fresh interpreter that
//!   imports the main module again); here the binary re-runs itself with a hidden
//!   `--spawned-reader PARENT_PID` flag.
//!
//! # Sharing on purpose
//! `--shared` moves X into a [`SharedCounter`](shared::SharedCounter): an
//! `AtomicU64` in a `MAP_SHARED` mapping, made *before* the child exists. Under
//! `fork` it is an anonymous mapping, which the child inherits as the same physical
//! page. An anonymous mapping does not survive `exec`, so under `spawn` the page
//! belongs to a `memfd` instead, whose descriptor number is passed to the child
//! (`--shared-fd`) so it can map the page again. This is the first of the tools the
//! article promises for its next parts, Python's `Value` (which also carries a lock
//! by default); `Queue`s, `Pipe`s, `Lock`s and `Barrier`s are the others.
//!
//! # Rust's own twist: you cannot share by accident
//! In Python, the thread reads the global and the compiler says nothing. In Rust the
//! global has to be an atomic (or behind a lock), and the compiler refuses every
//! simpler version. Each example below is rejected for the reason given, and only
//! for that: each was compiled on its own to check that the error shown is the only
//! one. (Stable rustdoc does not check the error codes after `compile_fail`; they are
//! there for the reader.)
//!
//! A plain `static` is immutable; there is nothing to increment:
//!
//! ```compile_fail,E0594
//! static X: u64 = 0;
//! std::thread::spawn(|| X += 1); // error: cannot assign to immutable static item `X`
//! ```
//!
//! A `static mut` can be changed, but any use of it is `unsafe`, because the compiler
//! can no longer check that two threads don't race on it:
//!
//! ```compile_fail,E0133
//! static mut X: u64 = 0;
//! std::thread::spawn(|| X += 1); // error: use of mutable static is unsafe
//! ```
//!
//! Writing `unsafe` does not make the race go away. Since edition 2024 the compiler
//! even rejects (with the deny-by-default `static_mut_refs` lint) taking a reference to
//! a `static mut`, which `println!` does:
//!
//! ```compile_fail
//! static mut X: u64 = 0;
//! std::thread::spawn(|| unsafe { X += 1 });
//! unsafe { println!("{}", X) }; // error: creating a shared reference to mutable static
//! ```
//!
//! (Reading it by value, `let x = unsafe { X };`, compiles, and is then a data race:
//! undefined behaviour, which is exactly what the `unsafe` promised would not happen.)
//!
//! A `static` with interior mutability must be `Sync`, safe to use from several
//! threads at once, and `Cell` is not:
//!
//! ```compile_fail,E0277
//! use std::cell::Cell;
//! static X: Cell<u64> = Cell::new(0); // error: `Cell<u64>` cannot be shared between threads safely
//! std::thread::spawn(|| X.set(X.get() + 1));
//! ```
//!
//! Nor can a thread borrow a local: `thread::spawn` needs a closure that owns what
//! it uses, since the thread may outlive the function:
//!
//! ```compile_fail,E0373
//! let mut x = 0;
//! std::thread::spawn(|| x += 1); // error: closure may outlive the current function
//! ```
//!
//! Adding `move` compiles, but then the thread owns a **copy** of `x`, much as a
//! forked process owns a copy of X, and main's `x` never changes:
//!
//! ```
//! let mut x = 0;
//! let thread = std::thread::spawn(move || {
//!     x += 1;
//!     x
//! });
//! assert_eq!(thread.join().unwrap(), 1); // the thread's copy
//! assert_eq!(x, 0); // main's own
//! ```
//!
//! The way that compiles and shares: an atomic, which is `Sync`, so a plain `static`
//! of it can be changed through `&self` by any thread. That is what [`X`] is.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! static X: AtomicU64 = AtomicU64::new(0);
//! std::thread::spawn(|| X.fetch_add(1, Ordering::Relaxed)).join().unwrap();
//! assert_eq!(X.load(Ordering::Relaxed), 1); // main sees the thread's update
//! ```
//!
//! The compiler guards threads only. It knows nothing of processes: the forked
//! child's copy of `X` is the same `static` in the same source, and no type tells you
//! it has stopped being shared. That part you have to know.
//!
//! # Layout
//! - [`line`](mod@line): the three output formats (`Main-{pid} sets X to {x}`,
//!   `Thread-{pid} thinks X is {x}`, `Process-{pid} thinks X is {x}`), their parser,
//!   and why each line is written whole (`procutil::stdout::write_line`).
//! - [`schedule`]: [`Schedule`] (the checked `--iterations` and `--interval-ms`), the
//!   readers' loop [`watch`] and main's loop [`increment`], and why a reader's last
//!   read always comes an interval after main's last increment.
//! - [`shared`]: [`SharedCounter`](shared::SharedCounter), the counter in a
//!   [`SharedMapping`](shared::SharedMapping): `MAP_SHARED`, anonymous (for `fork`)
//!   or backed by a memfd (for `spawn`).
//! - [`launch`]: starting the reader process by `fork` or `spawn`
//!   ([`procutil::StartMethod`]), the child's `PR_SET_PDEATHSIG`, and reaping it;
//!   and the one way every demo spawns, which hands a child exactly its descriptors.
//! - [`demo`]: the experiment in order: memory, process, thread, main's loop, reap,
//!   summary.
//! - [`error`]: the one error type, [`DemoError`], for bad input and failed calls.
//! - [`race`]: `isolation-demo race`, the lost-update race: N processes (or threads)
//!   add to one counter in a shared page without synchronisation, with `fetch_add`,
//!   or under a lock in the page itself.
//! - [`futex`]: that lock, [`SharedLock`](futex::SharedLock), a futex word without
//!   `FUTEX_PRIVATE_FLAG`, so that it works across processes.
//! - [`queue`]: `isolation-demo queue`, a producer and a consumer process joined by
//!   a bounded queue over a pipe (a futex semaphore of free slots), and its timestamps.
//! - [`barrier`]: `isolation-demo barrier`, N processes meeting at a futex
//!   generation barrier, and their arrivals and departures.
//! - [`talk`]: what those two share: a table of cells in a `MAP_SHARED` mapping,
//!   workers (forked or spawned) that die with the parent, reaping, and an atomic
//!   CSV write.
//! - `src/main.rs`: the command line.
//!
//! # Platform
//! Linux only (`memfd_create`, `PR_SET_PDEATHSIG`, `/proc/self/task`), gated with
//! `#[cfg(target_os = "linux")]`: on any other system the crate does not compile,
//! and says why.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "the isolation-demo crate uses fork, memfd_create, prctl and /proc, and runs on Linux only"
);

use std::sync::atomic::AtomicU64;

pub mod barrier;
pub mod demo;
pub mod error;
pub mod futex;
pub mod launch;
pub mod line;
pub mod queue;
pub mod race;
pub mod schedule;
pub mod shared;
pub mod talk;

pub use error::DemoError;
pub use schedule::{Schedule, increment, watch};

/// The global X, at 0 when the program starts.
///
/// Atomic so that the reader thread may read it while main changes it (see
/// "Rust's own twist" above for everything simpler that the compiler rejects). In a
/// forked child it is the child's own copy; in a spawned child, a fresh 0.
pub static X: AtomicU64 = AtomicU64::new(0);
