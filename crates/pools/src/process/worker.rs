//! The loop a worker process runs, and the entry point of `spawn` workers.
//!
//! A worker reads `ToWorker` messages from `TASK_FD` (3), runs each input through the
//! current task, and writes a `FromWorker` for each to `RESULT_FD` (4). This is the
//! other end of steps 2 to 4 of chapter 3 (see the [module docs](super)): `serve`
//! rebuilds the task it is sent (step 2), runs each input (step 3) and writes each
//! result back (step 4). It exits when the task pipe reaches end-of-file, which is how
//! the pool says "stop" (step 6).
//!
//! Optimisation (skip on a first read): a worker handles every message that one
//! `read` delivered before it writes the results back in one `write`: when tasks are
//! tiny, this batching halves the number of system calls. Results that have waited
//! half a millisecond or more go out at once, so that the pool hears of every long
//! task as it ends, and of a long chunk every half millisecond (the task timeout
//! relies on it). `SHORT_TASK`, that half
//! millisecond, is defined beside the pool's side of the batching, in `dispatch.rs`.

use std::os::fd::{BorrowedFd, RawFd};

use nix::errno::Errno;

use super::dispatch::SHORT_TASK;
use super::sys::{RESULT_FD, TASK_FD, die_with_parent, install_worker_fds};
use super::wire::{Frames, FromWorker, Read, ToWorker, encode};
use crate::task::{Decoder, ErasedTask, Registered, panic_message};

/// The environment variable that turns a program into a `spawn` worker. Its value is
/// the parent's pid.
pub(crate) const WORKER_ENV: &str = "POOLS_SPAWN_WORKER_OF";

/// Why a worker gives up. It says so on stderr and exits with status 1; the pool
/// then sees its result pipe close and reports the exit.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("cannot read tasks")]
    ReadTasks(#[source] Errno),
    #[error("cannot write results")]
    WriteResults(#[source] Errno),
    #[error("the pool sent a corrupt frame")]
    Corrupt(#[source] postcard::Error),
    #[error("an input arrived before its task")]
    InputBeforeTask,
    #[error("task `{name}` arrived without its address")]
    NoAddress { name: String },
    #[error(
        "task `{name}` is not registered in this program; pass it to \
         pools::serve_if_worker (and pools::forkserver::start) so that spawn and \
         forkserver workers can find it by name"
    )]
    NotRegistered { name: String },
    #[error("cannot decode task `{name}`")]
    DecodeTask {
        name: String,
        #[source]
        source: postcard::Error,
    },
}

/// How a worker finds the task the pool sends it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    /// Forked directly from the pool's process: trust the decoder address it sends.
    Fork,
    /// Started from a fresh program image: find the task by name.
    Registry(&'a [Registered]),
}

/// Makes this program a `spawn` worker if its parent started it as one, and never
/// returns in that case. Otherwise returns at once.
///
/// Call it at the top of `main`, before anything else. A `spawn` worker is a fresh
/// copy of the program: it knows nothing of the parent's memory, so it can only run
/// tasks that `registry` lists. This is the Rust counterpart of Python's rule that a
/// function sent to a `spawn` pool must be importable by name.
pub fn serve_if_worker(registry: &[Registered]) {
    let Some(parent) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let parent = parent
        .to_str()
        .and_then(|p| p.parse::<i32>().ok())
        .filter(|&p| p > 0);
    if procutil::thread_count().ok() != Some(1) {
        eprintln!("pools: {WORKER_ENV} is set, but serve_if_worker was not called first in main");
        std::process::exit(2);
    }
    if !started_by_a_pool(parent) {
        eprintln!(
            "Error: {WORKER_ENV} is an internal variable: a process pool sets it in the spawn \
             workers it starts. Unset it to run this program."
        );
        std::process::exit(2);
    }
    // Safety: we just checked that this process runs a single thread, so no other
    // thread can read the environment while we change it.
    unsafe { std::env::remove_var(WORKER_ENV) };
    if let Some(parent) = parent {
        die_with_parent(nix::unistd::Pid::from_raw(parent));
    }
    run(Lookup::Registry(registry))
}

/// Whether this process looks like a spawn worker that a pool in process `parent`
/// started: the pool installs pipes at [`TASK_FD`] and [`RESULT_FD`] and is its parent.
///
/// A parent that has died since is not a user's mistake but a pool that went away
/// (the caller then exits quietly), so only a live parent that is not ours counts
/// against it.
fn started_by_a_pool(parent: Option<i32>) -> bool {
    let Some(parent) = parent else {
        return false;
    };
    let is_pipe = |fd: RawFd| {
        // Safety: `fstat` only writes into the buffer it is given; on a descriptor
        // that is not open it fails with EBADF.
        unsafe {
            let mut stat: libc::stat = std::mem::zeroed();
            libc::fstat(fd, &mut stat) == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFIFO
        }
    };
    let pid = nix::unistd::Pid::from_raw(parent);
    let parent_is_ours = nix::unistd::getppid() == pid;
    let parent_is_gone = nix::sys::signal::kill(pid, None) == Err(nix::errno::Errno::ESRCH);
    is_pipe(TASK_FD) && is_pipe(RESULT_FD) && (parent_is_ours || parent_is_gone)
}

/// Runs the worker loop on the inherited descriptors and exits the process.
pub(crate) fn run(lookup: Lookup<'_>) -> ! {
    quiet_panics();
    default_signals();
    // Programs that a task starts must not inherit the worker's pipes: they would keep
    // the pipes open after the worker died, and the pool would not notice the death.
    for fd in [TASK_FD, RESULT_FD] {
        // Safety: setting a descriptor flag touches no memory.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    let code = match serve(lookup) {
        Ok(()) => 0,
        Err(error) => {
            // The whole chain of causes, as `{:#}` prints it.
            let message = format!("{:#}", anyhow::Error::new(error));
            eprintln!("pools worker {}: {message}", std::process::id());
            1
        }
    };
    // Safety: `_exit` ends the process without running atexit handlers or flushing
    // stdio buffers that may hold copies of the parent's unwritten output.
    unsafe { libc::_exit(code) }
}

/// A forked worker inherits the parent's signal handlers: the `pools` binary's
/// "interrupted" message would be printed once per worker on Ctrl-C. Workers just
/// die, quietly, as a signal's default action has them do.
///
/// Only then are these signals unblocked: a `fork` worker starts with them blocked
/// (see `fork_worker` in `start.rs`), so that one sent before this point waits, and
/// then kills it.
fn default_signals() {
    use nix::sys::signal::{SigHandler, signal};
    for sig in interrupt_signals().iter() {
        // Safety: restoring the default disposition installs no Rust code as a handler.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    let _ = interrupt_signals().thread_unblock();
}

/// The signals that interrupt a run: SIGINT (Ctrl-C) and SIGTERM.
pub(crate) fn interrupt_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// Panics inside tasks are caught and reported to the pool as task errors, so the
/// default hook's message on stderr would only repeat them.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

fn serve(lookup: Lookup<'_>) -> Result<(), ServeError> {
    // Safety: the pool installed the task pipe at TASK_FD and the result pipe at
    // RESULT_FD for this worker, and nothing in the worker closes them.
    let (tasks, results) = unsafe {
        (
            BorrowedFd::borrow_raw(TASK_FD),
            BorrowedFd::borrow_raw(RESULT_FD),
        )
    };
    let tid = nix::unistd::gettid().as_raw();
    let mut frames = Frames::default();
    let mut task: Option<Box<dyn ErasedTask>> = None;
    let mut out = Vec::new();
    let mut output = Vec::new();
    // When the task of the oldest result in `out` started.
    let mut unsent_since = 0.0;
    loop {
        match frames.read_from(tasks).map_err(ServeError::ReadTasks)? {
            Read::EndOfFile => return Ok(()), // Step 6: the pool is done with us
            Read::Bytes => {}
        }
        while let Some(message) = frames.next::<ToWorker>() {
            match message.map_err(ServeError::Corrupt)? {
                // Step 2: rebuild the task, by address under fork, by name otherwise.
                ToWorker::Task {
                    name,
                    fork_decoder,
                    state,
                } => {
                    let decode = find_decoder(lookup, &name, fork_decoder)?;
                    let decoded =
                        decode(&state).map_err(|source| ServeError::DecodeTask { name, source })?;
                    task = Some(decoded);
                }
                // Step 3: run each input of the chunk; a panic fails that task only.
                ToWorker::Chunk { first, inputs } => {
                    let task = task.as_deref().ok_or(ServeError::InputBeforeTask)?;
                    for (index, input) in (first..).zip(&inputs) {
                        output.clear();
                        let start = procutil::unix_now();
                        if out.is_empty() {
                            unsent_since = start;
                        }
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                task.run_encoded(input, &mut output)
                                    .map_err(|failure| failure.to_string())
                            }))
                            .unwrap_or_else(|panic| Err(panic_message(&*panic)));
                        let end = procutil::unix_now();
                        // Step 4: the result goes back with its index and its times.
                        encode(
                            &FromWorker {
                                index,
                                start,
                                end,
                                tid,
                                outcome: match &outcome {
                                    Ok(()) => Ok(&output),
                                    Err(message) => Err(message),
                                },
                            },
                            &mut out,
                        );
                        // Optimisation (skip on a first read): results wait to be sent
                        // together only while they are young. The pool then hears
                        // from a busy worker at least every SHORT_TASK, and never
                        // mistakes a batch of tasks for one long one (the task
                        // timeout counts from the last result it saw).
                        if end - unsent_since >= SHORT_TASK {
                            write_all(results, &out).map_err(ServeError::WriteResults)?;
                            out.clear();
                        }
                    }
                }
            }
        }
        write_all(results, &out).map_err(ServeError::WriteResults)?;
        out.clear();
    }
}

fn find_decoder(
    lookup: Lookup<'_>,
    name: &str,
    fork_decoder: Option<usize>,
) -> Result<Decoder, ServeError> {
    match (lookup, fork_decoder) {
        (Lookup::Fork, Some(address)) => {
            // Safety: under fork this process is a copy of the pool's process, with the
            // same program mapped at the same addresses, and the pool sent the address
            // of a `Decoder` it took from a live function item. The same number would be
            // meaningless in a spawned program (address-space layout randomisation puts
            // the code elsewhere), which is why spawn workers look tasks up by name.
            Ok(unsafe { std::mem::transmute::<usize, Decoder>(address) })
        }
        (Lookup::Registry(registry), _) => {
            crate::task::lookup(registry, name).ok_or_else(|| ServeError::NotRegistered {
                name: name.to_owned(),
            })
        }
        (Lookup::Fork, None) => Err(ServeError::NoAddress {
            name: name.to_owned(),
        }),
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and interruptions.
pub(crate) fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The life of a worker started by `fork` or by the forkserver: die with `parent`,
/// take the two pipe ends, serve, exit.
pub(crate) fn worker_main(
    task_read: RawFd,
    result_write: RawFd,
    parent: nix::unistd::Pid,
    lookup: Lookup<'_>,
) -> ! {
    die_with_parent(parent);
    if let Err(e) = install_worker_fds(task_read, result_write, true) {
        eprintln!("pools worker: cannot set up its pipes: {e}");
        // Safety: ends the child without returning into the parent's code.
        unsafe { libc::_exit(1) }
    }
    run(lookup)
}
