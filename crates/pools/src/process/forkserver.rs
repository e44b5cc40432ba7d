//! The `forkserver` start method: a small single-threaded process that forks workers
//! on request.
//!
//! A `fork` child that goes on running the program is only safe if the process was
//! single-threaded (in a multi-threaded one, the child may call only async-signal-safe
//! functions until `exec`), but a real program soon has threads (here: a thread pool,
//! a progress bar, an embedded HTTP server). Python 3.14 therefore made `forkserver`
//! its Linux default. Here, [`start`] forks one server process at the top of `main`,
//! while the program is still single-threaded and small. Later, whenever the pool
//! needs a worker, it asks the server, and the server, still single-threaded, forks
//! one. Forking from a small process is also fast: fork time grows with the memory a
//! process has touched.
//!
//! Python gets the same single-threaded starting point another way: on first use it
//! *spawns* its server, a fresh interpreter (`fork` + `exec` of `python -c ...`) that
//! imports the program's `__main__` module and then forks workers on request
//! (`Lib/multiprocessing/forkserver.py`, `ensure_running`). That costs an interpreter
//! start; a Rust program can simply fork itself early.
//!
//! The pool passes each new worker its two pipe ends over a Unix socket (`SCM_RIGHTS`).
//! The server forks twice (server, then a short-lived middle process, then the worker)
//! so that the worker is re-parented to the pool's process, which has made itself a
//! *child subreaper*. The pool can then reap its workers with `waitpid` and read their
//! exit status, exactly as under `fork`.
//!
//! A pool asks for all its workers at once, and the server does not wait for one
//! middle process to finish before it forks the next: the forks overlap, and eight
//! workers start in about the time of three or four one-at-a-time round trips. The
//! answers (a request number and a pid, written by whichever middle process is done
//! first) may then arrive in any order, so the socket is a `SOCK_SEQPACKET` one: every
//! answer is one message, never interleaved with another.
//!
//! This is the last file of the process pool in reading order (see the
//! [module docs](super)): `start.rs` calls `request_workers` in step 1.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use super::sys::die_with_parent;
use super::worker::{Lookup, worker_main, write_all};
use crate::task::Registered;
use procutil::thread_count;

/// Why the forkserver could not be started, or could not start a worker.
#[derive(Debug, thiserror::Error)]
pub enum ForkserverError {
    /// [`start`] was called a second time.
    #[error("the forkserver is already running")]
    AlreadyRunning,
    /// `/proc/self/task` could not be read.
    #[error("cannot count this process's threads")]
    CountThreads(#[source] io::Error),
    /// [`start`] was called after the program started other threads.
    #[error(
        "the forkserver must be started while the program is single-threaded \
         (it runs {0} threads)"
    )]
    NotSingleThreaded(usize),
    /// `PR_SET_CHILD_SUBREAPER` failed.
    #[error("cannot make this process a child subreaper")]
    Subreaper(#[source] Errno),
    /// The socket to the server could not be made.
    #[error("cannot create the forkserver's socket")]
    Socket(#[source] Errno),
    /// The server itself could not be forked.
    #[error("cannot fork the forkserver")]
    Fork(#[source] Errno),
    /// A pool asked for workers, but [`start`] was never called.
    #[error("no forkserver is running")]
    NotRunning,
    /// An earlier request failed, which retired the forkserver for good.
    #[error(
        "the forkserver stopped answering earlier; the fork and spawn start methods \
         still work"
    )]
    Retired,
    /// A request could not be sent.
    #[error("cannot reach the forkserver")]
    Send(#[source] Errno),
    /// An answer could not be read.
    #[error("the forkserver did not answer")]
    Receive(#[source] Errno),
    /// The server closed the socket, or sent a short answer.
    #[error("the forkserver has stopped")]
    Stopped,
    /// The server (or its middle process) could not fork this worker.
    #[error("the forkserver could not fork")]
    CouldNotFork,
    /// No answer came for this worker.
    #[error("the forkserver sent no answer for this worker")]
    NoAnswer,
}

/// Set once the forkserver has failed to answer (see [`request_workers`]).
static FAILED: AtomicBool = AtomicBool::new(false);

/// The pool's end of the connection to the running forkserver. The lock is held for
/// a whole batch of requests, so that two pools never read each other's answers.
static SERVER: OnceLock<Mutex<OwnedFd>> = OnceLock::new();

/// The running forkserver's pid, once [`start`] has forked it.
static SERVER_PID: OnceLock<Pid> = OnceLock::new();

/// One answer: the request's number and the new worker's pid (0 if none could be
/// forked), both little-endian.
type Answer = [u8; 8];

/// Starts the forkserver. Call it at the top of `main`, before any thread exists.
///
/// Workers forked by the server can run the tasks in `registry` (and only those: the
/// server is a copy of the program as it was at this call, so it knows nothing of
/// values the program creates later). Calling it twice is an error.
pub fn start(registry: &[Registered]) -> Result<(), ForkserverError> {
    if SERVER.get().is_some() {
        return Err(ForkserverError::AlreadyRunning);
    }
    let threads = thread_count().map_err(ForkserverError::CountThreads)?;
    if threads != 1 {
        return Err(ForkserverError::NotSingleThreaded(threads));
    }
    // Orphaned descendants (our workers, once their middle process exits) become our
    // children instead of init's, so that we can reap them.
    nix::sys::prctl::set_child_subreaper(true).map_err(ForkserverError::Subreaper)?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(ForkserverError::Socket)?;
    let main = getpid();
    // Safety: we checked above that this process has a single thread, so the child
    // gets a consistent copy of all memory and locks and may run ordinary Rust code.
    match unsafe { fork() }.map_err(ForkserverError::Fork)? {
        ForkResult::Parent { child } => {
            drop(theirs);
            let _ = SERVER.set(Mutex::new(ours));
            let _ = SERVER_PID.set(child);
            Ok(())
        }
        ForkResult::Child => {
            drop(ours);
            die_with_parent(main);
            serve(theirs, main, registry)
        }
    }
}

/// The forkserver's process id, if [`start`] has started it.
pub fn pid() -> Option<i32> {
    SERVER_PID.get().map(|pid| pid.as_raw())
}

/// Asks the forkserver for one worker per pair of pipe ends: the worker reads tasks
/// from the first and writes results to the second. Returns, in the same order, each
/// worker's pid (the worker is our child) or why it could not be started.
///
/// Every request is sent before any answer is read, so that the server can fork the
/// next worker while the previous one is still starting.
pub(crate) fn request_workers(
    ends: &[(&OwnedFd, &OwnedFd)],
) -> Result<Vec<Result<Pid, ForkserverError>>, ForkserverError> {
    let server = SERVER.get().ok_or(ForkserverError::NotRunning)?;
    let socket = server.lock().unwrap_or_else(PoisonError::into_inner);
    if FAILED.load(Ordering::Relaxed) {
        return Err(ForkserverError::Retired);
    }
    // Any failure below may leave answers unread on the socket, which a later request
    // would take for its own: so a failure retires the forkserver for good.
    let fail = |error: ForkserverError| {
        FAILED.store(true, Ordering::Relaxed);
        error
    };
    let mut pids: Vec<Result<Pid, ForkserverError>> = ends
        .iter()
        .map(|_| Err(ForkserverError::NoAnswer))
        .collect();
    for (number, (task_read, result_write)) in ends.iter().enumerate() {
        let fds = [task_read.as_raw_fd(), result_write.as_raw_fd()];
        let request = (number as u32).to_le_bytes();
        loop {
            // MSG_NOSIGNAL: a dead server must give an error, not a SIGPIPE.
            match sendmsg::<()>(
                socket.as_raw_fd(),
                &[io::IoSlice::new(&request)],
                &[ControlMessage::ScmRights(&fds)],
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(fail(ForkserverError::Send(e))),
            }
        }
    }
    // Exactly one answer per request, in whatever order the forks finish.
    for _ in 0..ends.len() {
        let mut answer: Answer = [0; 8];
        match nix::unistd::read(socket.as_fd(), &mut answer) {
            Ok(8) => {}
            Err(Errno::EINTR) => continue,
            Ok(_) => return Err(fail(ForkserverError::Stopped)),
            Err(e) => return Err(fail(ForkserverError::Receive(e))),
        }
        let number = u32::from_le_bytes([answer[0], answer[1], answer[2], answer[3]]) as usize;
        let pid = i32::from_le_bytes([answer[4], answer[5], answer[6], answer[7]]);
        if let Some(slot) = pids.get_mut(number) {
            *slot = if pid > 0 {
                Ok(Pid::from_raw(pid))
            } else {
                Err(ForkserverError::CouldNotFork)
            };
        }
    }
    Ok(pids)
}

/// Encodes the answer to request `number`: a pid, or 0 for "no worker".
fn answer(number: u32, pid: i32) -> Answer {
    let mut bytes = [0; 8];
    bytes[..4].copy_from_slice(&number.to_le_bytes());
    bytes[4..].copy_from_slice(&pid.to_le_bytes());
    bytes
}

/// The server's loop: one request, one worker, until the pool's process goes away.
fn serve(socket: OwnedFd, main: Pid, registry: &[Registered]) -> ! {
    close_all_but(socket.as_raw_fd());
    reap_children_automatically();
    let sock = socket.as_fd();
    loop {
        let Some((number, task_read, result_write)) = receive_fds(sock) else {
            // End-of-file: the program closed its end or died. Nothing left to serve.
            // Safety: `_exit` ends the server without running the program's exit code.
            unsafe { libc::_exit(0) }
        };
        // Safety: the server is single-threaded (it was forked from a single-threaded
        // program and starts no threads), so the child may run ordinary Rust code.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { .. }) => {
                // Not waiting for the middle process to exit: the pool has its
                // worker's pid as soon as the middle writes it, and its next request
                // should not wait for the middle's teardown. The kernel reaps it
                // (see `reap_children_automatically`).
                drop((task_read, result_write));
            }
            Ok(ForkResult::Child) => {
                // The worker must get the ordinary SIGCHLD behaviour back, or a task
                // that starts a program could never wait for it.
                restore_sigchld();
                fork_worker_and_exit(
                    sock,
                    number,
                    task_read.as_raw_fd(),
                    result_write.as_raw_fd(),
                    main,
                    registry,
                )
            }
            Err(_) => {
                // Tell the pool that no worker came: a pid of 0.
                let _ = write_all(sock, &answer(number, 0));
            }
        }
    }
}

/// Makes the kernel reap the server's children (the middle processes) the moment
/// they exit, so that the server never holds zombies.
///
/// The server spends its life blocked in `recvmsg`, waiting for the next request. A
/// `waitpid(WNOHANG)` pass before each wait (what this once did) leaves the middles of
/// the last batch as zombies until the next request: 18 of them after a 20-worker
/// pool, for as long as the program runs. A SIGCHLD handler, or a `poll` on the socket
/// plus a `signalfd`, would wake the server to reap them. Ignoring SIGCHLD asks the
/// kernel to do it instead, with no code in the loop: POSIX says the children of a
/// process that ignores SIGCHLD do not become zombies. The server never needs an exit
/// status (a middle that fails reports it on the socket), so nothing is lost.
fn reap_children_automatically() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // Safety: installing SIG_IGN runs no code of ours in a signal handler.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigIgn) };
}

/// Undoes [`reap_children_automatically`] in a middle process, before it forks the
/// worker, which inherits its signal dispositions.
fn restore_sigchld() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // Safety: restoring the default disposition installs no handler.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
}

/// In the middle process: fork the worker, report its pid, and exit, so that the
/// worker is re-parented to `main`.
fn fork_worker_and_exit(
    sock: BorrowedFd<'_>,
    number: u32,
    task_read: RawFd,
    result_write: RawFd,
    main: Pid,
    registry: &[Registered],
) -> ! {
    let middle = getpid();
    // Safety: the middle process is a copy of the single-threaded server.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            // One write, so one message on the SOCK_SEQPACKET socket.
            let _ = write_all(sock, &answer(number, child.as_raw()));
            // Safety: `_exit` ends the middle process at once.
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Child) => {
            // Wait until the middle process has exited and we belong to `main`. Only
            // then is a parent-death signal tied to the right parent.
            let deadline = Instant::now() + Duration::from_secs(5);
            while getppid() == middle && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(50));
            }
            worker_main(task_read, result_write, main, Lookup::Registry(registry))
        }
        Err(_) => {
            let _ = write_all(sock, &answer(number, 0));
            // Safety: as above.
            unsafe { libc::_exit(1) }
        }
    }
}

/// Receives one request: its number and two descriptors. `None` at end-of-file.
fn receive_fds(sock: BorrowedFd<'_>) -> Option<(u32, OwnedFd, OwnedFd)> {
    loop {
        let mut number = [0u8; 4];
        let mut iov = [io::IoSliceMut::new(&mut number)];
        let mut space = nix::cmsg_space!([RawFd; 2]);
        let flags = MsgFlags::MSG_CMSG_CLOEXEC;
        let msg = match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), flags) {
            Ok(msg) => msg,
            Err(Errno::EINTR) => continue,
            Err(_) => return None,
        };
        if msg.bytes == 0 {
            return None;
        }
        let mut fds = Vec::new();
        for cmsg in msg.cmsgs().ok()? {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                fds.extend(received);
            }
        }
        if let [a, b] = fds[..] {
            let number = u32::from_le_bytes(number);
            // Safety: SCM_RIGHTS installed these descriptors in this process just now,
            // and nothing else refers to them.
            return Some(unsafe { (number, owned(a), owned(b)) });
        }
    }
}

/// # Safety
/// `fd` must be open and owned by nobody else.
unsafe fn owned(fd: RawFd) -> OwnedFd {
    // Safety: forwarded from the caller.
    unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) }
}

/// Closes every descriptor above stderr except `keep`, so that the server does not
/// hold on to pipes and sockets the program opens before or after it.
fn close_all_but(keep: RawFd) {
    let keep = keep as libc::c_uint;
    // Safety: closing descriptors touches no memory. Anything above stderr other than
    // `keep` was inherited from the program and is not used by the server.
    unsafe {
        if keep > 3 {
            libc::close_range(3, keep - 1, 0);
        }
        libc::close_range(keep + 1, libc::c_uint::MAX, 0);
    }
}
