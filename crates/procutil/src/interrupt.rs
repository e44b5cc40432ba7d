//! Ctrl-C (SIGINT) and SIGTERM end a program at once: one line on stderr, status 130.
//!
//! Exiting from the handler needs no clean-up when a program is built for it, as
//! `pools` and `report` are: they write every file to a temporary name with both
//! signals held back and rename it into place whole (`results::HoldSignals`), and
//! every child they start dies with them (`PR_SET_PDEATHSIG`). So the handler only
//! says so and calls `_exit`.
//!
//! Two details matter:
//! - A signal that was ignored when the program started (`nohup`, a shell's
//!   background job without job control) stays ignored.
//! - A forked child inherits the handler until it resets its signals, a moment after
//!   the fork. A Ctrl-C in that moment reaches it too (the terminal signals the whole
//!   process group), so the handler prints only in the process that installed it;
//!   a child dies quietly, or the user would see the line twice.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The pid of the process that installed the handler: the only one that speaks.
static OWNER: AtomicI32 = AtomicI32::new(0);
/// The line to print, as a pointer and a length, since a signal handler can read only
/// what is already in memory: a `&'static str`, stored by [`exit_on_interrupt`].
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);

/// Installs the handler for SIGINT and SIGTERM: print `message` (its own line, after
/// a newline, so that it does not trail a `^C`) and exit with status 130.
pub fn exit_on_interrupt(message: &'static str) {
    OWNER.store(std::process::id() as i32, Ordering::Relaxed);
    MESSAGE_LEN.store(message.len(), Ordering::Relaxed);
    MESSAGE.store(message.as_ptr().cast_mut(), Ordering::Release);

    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // Safety: the handler only makes async-signal-safe calls. Installing it and
        // reading back the old disposition is a plain `sigaction`.
        unsafe {
            if let Ok(old) = sigaction(signal, &action) {
                if old.handler() == SigHandler::SigIgn {
                    let _ = sigaction(signal, &old);
                }
            }
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    // Safety: `getpid`, `write` and `_exit` are async-signal-safe; atomic loads take
    // no lock; MESSAGE points at a `&'static str` of MESSAGE_LEN bytes, stored before
    // the handler was installed (Release, read here with Acquire).
    unsafe {
        if libc::getpid() == OWNER.load(Ordering::Relaxed) {
            let text = MESSAGE.load(Ordering::Acquire);
            let len = MESSAGE_LEN.load(Ordering::Relaxed);
            libc::write(2, b"\n".as_ptr().cast(), 1);
            libc::write(2, text.cast(), len);
            libc::write(2, b"\n".as_ptr().cast(), 1);
        }
        libc::_exit(130);
    }
}
