//! What happens to a child when its parent is killed, checked on real processes.
//!
//! Each check builds a family of three: this test (made a *child subreaper*, so that
//! orphans are re-parented to it and it can reap them and read how they died), a
//! parent it forks, and a child of that parent. Then it kills the parent with SIGKILL.
//!
//! The file has its own `main` (`harness = false`): `fork` is only safe in a
//! single-threaded process, and libtest runs tests on threads.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid, pipe};
use procutil::parent_death::{ParentDeathError, die_with_parent};

/// Generous: every wait below ends in milliseconds unless the claim is false.
const PATIENCE: Duration = Duration::from_secs(10);

fn main() {
    nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
    let checks: [(&str, fn()); 3] = [
        (
            "a stopped child of a SIGKILLed parent is killed",
            a_stopped_child_dies_with_its_parent,
        ),
        (
            "with SIGTERM instead, the stopped child lives on (the old bug)",
            with_sigterm_a_stopped_child_lives_on,
        ),
        (
            "a child whose parent died before the call is told so",
            a_parent_already_gone_is_reported,
        ),
    ];
    for (name, check) in checks {
        check();
        println!("ok: {name}");
    }
    println!("all {} parent-death checks passed", checks.len());
}

/// How the child arms its parent-death signal.
#[derive(Clone, Copy)]
enum Arm {
    /// With this crate's helper.
    Helper,
    /// With a bare `PR_SET_PDEATHSIG(SIGTERM)`, as `isolation-demo` used to.
    Sigterm,
}

/// Forks a parent that forks a child; the child arms its death signal and stops
/// itself. Returns `(parent, child)` once the child is stopped.
fn stopped_family(arm: Arm) -> (Pid, Pid) {
    let (read, write) = pipe().unwrap();
    // Safety: this test's `main` runs on the process's only thread, so each child is
    // a copy with one thread and consistent locks and may run ordinary Rust code.
    // Every child ends in `_exit` (or is killed), never returning into `main`.
    match unsafe { fork() }.unwrap() {
        ForkResult::Parent { child: parent } => {
            drop(write);
            let child = read_pid(read).expect("the child reports its pid");
            wait_until(|| state(child) == Some('T'), "the child to stop");
            (parent, child)
        }
        ForkResult::Child => {
            drop(read);
            let parent = getpid();
            // Safety: as above; this process is still single-threaded.
            match unsafe { fork() }.unwrap() {
                ForkResult::Parent { .. } => {
                    drop(write);
                    loop {
                        std::thread::sleep(Duration::from_secs(60));
                    }
                }
                ForkResult::Child => {
                    let armed = match arm {
                        Arm::Helper => die_with_parent(parent).is_ok(),
                        Arm::Sigterm => nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).is_ok(),
                    };
                    if armed {
                        let me = getpid().as_raw().to_le_bytes();
                        let _ = nix::unistd::write(&write, &me);
                        drop(write);
                        let _ = kill(getpid(), Signal::SIGSTOP);
                    }
                    // Safety: `_exit` ends the child without running `main`'s code.
                    unsafe { libc::_exit(1) }
                }
            }
        }
    }
}

/// The helper arms SIGKILL, which ends even a stopped process: once the parent is
/// killed, the child is reaped by us (its new parent) as killed by SIGKILL.
fn a_stopped_child_dies_with_its_parent() {
    let (parent, child) = stopped_family(Arm::Helper);
    kill_and_reap(parent);
    let status = wait_bounded(child);
    assert_eq!(status, WaitStatus::Signaled(child, Signal::SIGKILL, false));
}

/// The contrast: a SIGTERM death signal reaches the stopped child but stays pending,
/// and the child lives on, stopped, now a child of whoever adopted it.
fn with_sigterm_a_stopped_child_lives_on() {
    let (parent, child) = stopped_family(Arm::Sigterm);
    kill_and_reap(parent);
    // The death signal is sent while the parent exits, before it can be reaped: by
    // now it is pending, not lost and not yet acted on.
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    assert!(field("State:").starts_with('T'), "{status}");
    let pending = u64::from_str_radix(&field("ShdPnd:"), 16).unwrap();
    assert_ne!(pending & (1 << (libc::SIGTERM - 1)), 0, "{status}");
    assert_eq!(field("PPid:"), getpid().to_string(), "adopted by us");
    kill(child, Signal::SIGKILL).unwrap();
    wait_bounded(child);
}

/// If the parent dies before the child asks, no signal will ever come: the helper
/// says so instead of returning as if all were well.
fn a_parent_already_gone_is_reported() {
    // Safety: as in `stopped_family`.
    match unsafe { fork() }.unwrap() {
        ForkResult::Parent { child: parent } => {
            assert_eq!(wait_bounded(parent), WaitStatus::Exited(parent, 0));
            // The child is now ours; its exit status carries the helper's verdict.
            let child = wait_any_bounded();
            assert_eq!(child.1, 3, "exit status of child {}", child.0);
        }
        ForkResult::Child => {
            let parent = getpid();
            // Safety: as above.
            match unsafe { fork() }.unwrap() {
                // Safety: `_exit` ends the parent at once.
                ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
                ForkResult::Child => {
                    let deadline = Instant::now() + PATIENCE;
                    while getppid() == parent && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let code = match die_with_parent(parent) {
                        Err(ParentDeathError::ParentGone { expected, .. })
                            if expected == parent.as_raw() =>
                        {
                            3
                        }
                        _ => 4,
                    };
                    // Safety: `_exit` ends the child at once.
                    unsafe { libc::_exit(code) }
                }
            }
        }
    }
}

fn kill_and_reap(pid: Pid) {
    kill(pid, Signal::SIGKILL).unwrap();
    assert_eq!(
        waitpid(pid, None).unwrap(),
        WaitStatus::Signaled(pid, Signal::SIGKILL, false)
    );
}

/// Waits for `pid` to end, for at most [`PATIENCE`].
fn wait_bounded(pid: Pid) -> WaitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)).unwrap() {
            WaitStatus::StillAlive if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            WaitStatus::StillAlive => panic!("process {pid} is still alive after {PATIENCE:?}"),
            status => return status,
        }
    }
}

/// Waits for any child to exit, for at most [`PATIENCE`]: its pid and exit status.
fn wait_any_bounded() -> (Pid, i32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => return (pid, code),
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD)
                if Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(1))
            }
            other => panic!("expected a child to exit, got {other:?}"),
        }
    }
}

/// A process's state letter from `/proc/PID/stat` (`R`, `S`, `T`, `Z`, ...).
fn state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: look after the last ')'.
    stat.rsplit_once(") ")?.1.chars().next()
}

fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn read_pid(read: OwnedFd) -> Option<Pid> {
    let mut bytes = [0u8; 4];
    std::fs::File::from(read).read_exact(&mut bytes).ok()?;
    Some(Pid::from_raw(i32::from_le_bytes(bytes)))
}
