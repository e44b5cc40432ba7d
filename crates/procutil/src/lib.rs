//! Process helpers that every crate here needs, written once: die with the parent,
//! count threads before a fork, read the wall clock, name a start method, and treat
//! a closed stdout and a Ctrl-C the same way in every binary.
//!
//! Both `pools` and `isolation-demo` fork, and neither may depend on the other's fork
//! code; this crate holds what they share and nothing else: no pool, no wire format,
//! no worker loop.
//!
//! # Layout
//! - [`parent_death`]: [`die_with_parent`](parent_death::die_with_parent), a child
//!   that is killed with its parent even when stopped (`PR_SET_PDEATHSIG(SIGKILL)`),
//!   and the race that the call alone leaves open.
//! - [`thread_count`]: how many threads this process runs, the question to ask
//!   before every `fork` (from `/proc/self/task`).
//! - [`unix_now`]: wall-clock Unix seconds as `f64`, the timestamps of every record,
//!   comparable across processes.
//! - [`StartMethod`]: fork, spawn or forkserver, with the command-line values and
//!   help texts every binary shows.
//! - [`interrupt`]: [`exit_on_interrupt`](interrupt::exit_on_interrupt), the one
//!   Ctrl-C/SIGTERM policy of the programs that write files: one line, status 130.
//! - [`stdout`]: the one closed-stdout policy: [`say!`], [`say_unless_closed!`] and
//!   [`stdout::exit_code`].
//!
//! # Platform
//! Linux only (`prctl`, `/proc`), gated with `#[cfg(target_os = "linux")]`: on any
//! other system the crate does not compile, and says why.

#[cfg(not(target_os = "linux"))]
compile_error!("the procutil crate uses prctl and /proc, and runs on Linux only");

mod clock;
pub mod interrupt;
pub mod parent_death;
mod start_method;
pub mod stdout;
mod threads;

pub use clock::unix_now;
pub use start_method::{StartMethod, UnknownStartMethod};
pub use threads::thread_count;
