//! The `forkserver` start method: a small single-threaded process that forks workers
//! on request.
//!
//! `fork` is only safe in a single-threaded process, but a real program soon has
//! threads (here: a thread pool, a progress bar, an embedded HTTP server). Python
//! 3.14 therefore made `forkserver` its Linux default: at start-up, while the program
//! is still single-threaded and small, it forks one server process. Later, whenever
//! the pool needs a worker, it asks the server, and the server, still single-threaded,
//! forks one. Forking from a small process is also fast: fork time grows with the
//! memory a process has touched.
//!
//! The pool passes each new worker its two pipe ends over a Unix socket (`SCM_RIGHTS`).
//! The server forks twice (server, then a short-lived middle process, then the worker)
//! so that the worker is re-parented to the pool's process, which has made itself a
//! *child subreaper*. The pool can then reap its workers with `waitpid` and read their
//! exit status, exactly as under `fork`.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use super::sys::{die_with_parent, thread_count};
use super::worker::{Lookup, worker_main, write_all};
use crate::executor::PoolError;
use crate::task::Registered;

/// The pool's end of the connection to the running forkserver.
static SERVER: OnceLock<Mutex<UnixStream>> = OnceLock::new();

/// Starts the forkserver. Call it at the top of `main`, before any thread exists.
///
/// Workers forked by the server can run the tasks in `registry` (and only those: the
/// server is a copy of the program as it was at this call, so it knows nothing of
/// values the program creates later). Calling it twice is an error.
pub fn start(registry: &[Registered]) -> io::Result<()> {
    if SERVER.get().is_some() {
        return Err(io::Error::other("the forkserver is already running"));
    }
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "the forkserver must be started while the program is single-threaded \
             (it runs {threads} threads)"
        )));
    }
    // Orphaned descendants (our workers, once their middle process exits) become our
    // children instead of init's, so that we can reap them.
    nix::sys::prctl::set_child_subreaper(true)?;
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let main = getpid();
    // Safety: we checked above that this process has a single thread, so the child
    // gets a consistent copy of all memory and locks and may run ordinary Rust code.
    match unsafe { fork() }? {
        ForkResult::Parent { .. } => {
            drop(theirs);
            let _ = SERVER.set(Mutex::new(UnixStream::from(ours)));
            Ok(())
        }
        ForkResult::Child => {
            drop(ours);
            die_with_parent(main);
            serve(theirs, main, registry)
        }
    }
}

/// Asks the forkserver for a worker that reads tasks from `task_read` and writes
/// results to `result_write`. Returns the worker's pid; the worker is our child.
pub(crate) fn request_worker(
    task_read: &OwnedFd,
    result_write: &OwnedFd,
) -> Result<Pid, PoolError> {
    let server = SERVER.get().ok_or(PoolError::NoForkserver)?;
    let mut stream = server.lock().unwrap_or_else(PoisonError::into_inner);
    let start_error = |reason: String| PoolError::Start { worker: 0, reason };
    let fds = [task_read.as_raw_fd(), result_write.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[io::IoSlice::new(b"w")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| start_error(format!("cannot reach the forkserver: {e}")))?;
    let mut pid = [0u8; 4];
    stream
        .read_exact(&mut pid)
        .map_err(|e| start_error(format!("the forkserver did not answer: {e}")))?;
    Ok(Pid::from_raw(i32::from_le_bytes(pid)))
}

/// The server's loop: one request, one worker, until the pool's process goes away.
fn serve(socket: OwnedFd, main: Pid, registry: &[Registered]) -> ! {
    let sock = socket.as_raw_fd();
    close_all_but(sock);
    loop {
        let Some((task_read, result_write)) = receive_fds(sock) else {
            // End-of-file: the program closed its end or died. Nothing left to serve.
            // Safety: `_exit` ends the server without running the program's exit code.
            unsafe { libc::_exit(0) }
        };
        // Safety: the server is single-threaded (it was forked from a single-threaded
        // program and starts no threads), so the child may run ordinary Rust code.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { child }) => {
                drop((task_read, result_write));
                let _ = nix::sys::wait::waitpid(child, None);
            }
            Ok(ForkResult::Child) => fork_worker_and_exit(
                sock,
                task_read.as_raw_fd(),
                result_write.as_raw_fd(),
                main,
                registry,
            ),
            Err(_) => {
                // Tell the pool that no worker came: a pid of 0.
                let _ = write_all(sock, &0i32.to_le_bytes());
            }
        }
    }
}

/// In the middle process: fork the worker, report its pid, and exit, so that the
/// worker is re-parented to `main`.
fn fork_worker_and_exit(
    sock: RawFd,
    task_read: RawFd,
    result_write: RawFd,
    main: Pid,
    registry: &[Registered],
) -> ! {
    let middle = getpid();
    // Safety: the middle process is a copy of the single-threaded server.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            let _ = write_all(sock, &child.as_raw().to_le_bytes());
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
            let _ = write_all(sock, &0i32.to_le_bytes());
            // Safety: as above.
            unsafe { libc::_exit(1) }
        }
    }
}

/// Receives one request: a byte and two descriptors. `None` at end-of-file.
fn receive_fds(sock: RawFd) -> Option<(OwnedFd, OwnedFd)> {
    loop {
        let mut byte = [0u8; 1];
        let mut iov = [io::IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; 2]);
        let msg = match recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        {
            Ok(msg) => msg,
            Err(nix::errno::Errno::EINTR) => continue,
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
            // Safety: SCM_RIGHTS installed these descriptors in this process just now,
            // and nothing else refers to them.
            return Some(unsafe { (owned(a), owned(b)) });
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
