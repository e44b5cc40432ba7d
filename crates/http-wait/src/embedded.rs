//! A delay server that lives exactly as long as a handle.
//!
//! Code that needs a server but was given no URL starts one on a free loopback port,
//! uses it, and drops the handle, which stops it. There are two ways to run it:
//!
//! - [`DelayServer::start`]: on a background thread of this process, with its own
//!   `current_thread` runtime. Simple, portable, and enough for most callers.
//! - [`DelayServer::start_in_child`]: in a forked child process. The
//!   caller stays single-threaded. That matters to the `pools` crate, which forks
//!   worker processes: `fork` copies only the calling thread, so a parent that runs
//!   a server thread would hand each worker a copy of whatever locks that thread held
//!   at that instant (the allocator's, the runtime's), possibly locked forever.
//!
//! # Layout
//! - [`DelayServer`] and its constructors; `Drop` stops the server.
//! - `Runner`: the private part that differs between the thread and the child.
//! - `child_main`: everything the forked child runs; it never returns.

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::{self, JoinHandle};

use tokio::sync::oneshot;

use crate::server::{bind, current_thread_runtime, serve};

/// A running delay server, stopped when the handle is dropped.
///
/// ```
/// let server = http_wait::DelayServer::start()?;
/// let template = server.url_template(); // "http://127.0.0.1:PORT/200?sleep={ms}"
/// assert_eq!(http_wait::http_fetch(&template, 0)?.body, "200 OK");
/// drop(server); // stops it; the port now refuses connections
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DelayServer {
    addr: SocketAddr,
    /// The process that started the server, the only one allowed to stop it. A
    /// process forked while the handle is alive has a copy of it, and must not kill
    /// the server (or join a thread that does not exist in the copy) when that copy
    /// is dropped.
    owner: u32,
    runner: Runner,
}

#[derive(Debug)]
enum Runner {
    Thread {
        /// Sending (or dropping) this stops the accept loop.
        shutdown: Option<oneshot::Sender<()>>,
        thread: Option<JoinHandle<io::Result<()>>>,
    },
    Child {
        pid: nix::unistd::Pid,
    },
}

impl DelayServer {
    /// Starts a server on a free port of 127.0.0.1, on a background thread.
    pub fn start() -> io::Result<DelayServer> {
        DelayServer::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// Starts a server on `addr` (port 0 picks a free one), on a background thread
    /// that runs its own `current_thread` runtime.
    ///
    /// The socket is bound and the runtime built before the thread starts, so a busy
    /// port or any other setup error is returned here rather than lost in the thread.
    /// Drop signals the accept loop to stop and joins the thread; requests still
    /// sleeping are cut off.
    pub fn start_on(addr: SocketAddr) -> io::Result<DelayServer> {
        let listener = bind(addr)?;
        let addr = listener.local_addr()?;
        let runtime = current_thread_runtime()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("http-wait-server".to_owned())
            .spawn(move || {
                // `stop` resolves when the handle sends, or when it drops the sender.
                runtime.block_on(serve(listener, async {
                    let _ = stop.await;
                }))
            })?;
        Ok(DelayServer {
            addr,
            owner: std::process::id(),
            runner: Runner::Thread {
                shutdown: Some(shutdown),
                thread: Some(thread),
            },
        })
    }

    /// Starts a server on a free port of 127.0.0.1, in a forked child process.
    ///
    /// Refuses (with an error, before forking) if this process has more than one
    /// thread: only a single-threaded process can be forked safely. Call it early,
    /// before any thread or Tokio runtime exists, or use [`DelayServer::start`].
    ///
    /// The socket is bound in the parent before the fork, so the port is known
    /// without any message from the child, and connections made right after this
    /// returns wait in the listen queue until the child accepts them. The child dies
    /// with the thread that forked it (`PR_SET_PDEATHSIG`), so a crashed parent
    /// leaves no server behind. Drop kills the child with `SIGKILL` and reaps it.
    ///
    /// One caveat for callers that fork workers of their own: if they reap with
    /// "wait for any child" (`waitpid(-1)`), they may collect the server's exit
    /// status instead of a worker's. Wait for specific pids.
    pub fn start_in_child() -> io::Result<DelayServer> {
        use nix::unistd::{ForkResult, fork, getpid};

        let threads = procutil::thread_count()?;
        if threads != 1 {
            return Err(io::Error::other(format!(
                "DelayServer::start_in_child can only fork a single-threaded process, but \
                 this one has {threads} threads; call it before starting any thread or \
                 runtime, or use DelayServer::start"
            )));
        }
        let listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let addr = listener.local_addr()?;
        let parent = getpid();
        // The child gets a copy of stdout's buffer. Empty it first, or the child
        // could print the parent's half-written line a second time.
        let _ = io::stdout().flush();

        // Safety: we checked just above that this process has exactly one thread,
        // and nothing between that check and here starts one. So the child inherits
        // one thread (this one) and no lock that some other thread was holding: it
        // may allocate, build a runtime and do IO like any fresh process. What it
        // must not do is return into the caller's code, which would then run twice;
        // `child_main` ends in `_exit` on every path, panics included.
        match unsafe { fork() }.map_err(io::Error::from)? {
            ForkResult::Parent { child } => {
                // The child has its own copy of the listening socket. Closing ours
                // means the port is released as soon as the child dies.
                drop(listener);
                Ok(DelayServer {
                    addr,
                    owner: std::process::id(),
                    runner: Runner::Child { pid: child },
                })
            }
            ForkResult::Child => child_main(listener, parent),
        }
    }

    /// The address the server listens on, with the real port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A template for [`http_fetch`](crate::http_fetch): `http://IP:PORT/200?sleep={ms}`.
    pub fn url_template(&self) -> String {
        format!("{}/200?sleep={{ms}}", self.base_url())
    }

    /// The id of the process that runs the server: this process for
    /// [`DelayServer::start`], the child for [`DelayServer::start_in_child`].
    pub fn pid(&self) -> u32 {
        match &self.runner {
            Runner::Thread { .. } => self.owner,
            Runner::Child { pid } => pid.as_raw().unsigned_abs(),
        }
    }
}

impl Drop for DelayServer {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            // A copy inherited through `fork`: the server belongs to the parent. Even
            // dropping the channel or the thread handle would touch the parent's
            // runtime state (its wake-up descriptor, its locks), so leak them instead.
            if let Runner::Thread { shutdown, thread } = &mut self.runner {
                std::mem::forget(shutdown.take());
                std::mem::forget(thread.take());
            }
            return;
        }
        match &mut self.runner {
            Runner::Thread { shutdown, thread } => {
                if let Some(shutdown) = shutdown.take() {
                    let _ = shutdown.send(());
                }
                if let Some(thread) = thread.take() {
                    // The server's own errors have nowhere to go from a Drop; the
                    // thread has already stopped either way.
                    let _ = thread.join();
                }
            }
            Runner::Child { pid } => {
                use nix::errno::Errno;
                use nix::sys::signal::{Signal, kill};
                use nix::sys::wait::waitpid;

                // SIGKILL, not SIGTERM: the child has nothing to clean up (the kernel
                // closes its sockets), and it inherited the parent's signal
                // dispositions, so a SIGTERM might be ignored or caught by a handler
                // meant for the parent.
                let _ = kill(*pid, Signal::SIGKILL);
                // Reap it, so that it does not linger as a zombie.
                while let Err(Errno::EINTR) = waitpid(*pid, None) {}
            }
        }
    }
}

/// The forked child: serve on the inherited listener until killed, then exit.
fn child_main(listener: std::net::TcpListener, parent: nix::unistd::Pid) -> ! {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    let result = catch_unwind(AssertUnwindSafe(|| -> io::Result<()> {
        // SIGKILL when the parent dies, even if we are stopped; and if the parent
        // died before we asked, no signal will come: then stop serving at once.
        if let Err(err) = procutil::parent_death::die_with_parent(parent) {
            return match err {
                procutil::parent_death::ParentDeathError::ParentGone { .. } => Ok(()),
                err => Err(io::Error::other(err)),
            };
        }
        let runtime = current_thread_runtime()?;
        // No shutdown future: the parent ends this process with SIGKILL.
        runtime.block_on(serve(listener, std::future::pending()))
    }));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            eprintln!("http-wait: delay server child failed: {err}");
            1
        }
        // The panic message has already been printed by the panic hook.
        Err(_) => 101,
    };
    // Safety: `_exit` ends the process at once. Unlike `std::process::exit`, it runs
    // no `atexit` handlers and flushes no stdio buffers, all of which belong to the
    // parent's program and must not run twice. It cannot return, so the caller's
    // code after `fork` never runs in the child.
    unsafe { libc::_exit(code) }
}
