//! A lock that works across processes: a futex word that lives in shared memory.
//!
//! A `std::sync::Mutex` is a futex too, but std asks the kernel for a *private* one
//! (`FUTEX_PRIVATE_FLAG`): the kernel then finds sleepers by the word's virtual address
//! in one process, and a sleeper in another process is never woken. Without the flag
//! the kernel keys its wait queue by the physical page and offset, so every process
//! that maps the page shares one queue. That one flag is the whole difference between
//! a thread lock and a process lock (what Python's `multiprocessing.Lock` provides
//! with a POSIX semaphore).
//!
//! [`SharedLock`] is the three-state lock of *Rust Atomics and Locks*, chapter 9:
//! - `0`: unlocked;
//! - `1`: locked, nobody waiting;
//! - `2`: locked, and someone may be asleep in [`wait`], so unlocking must [`wake`].
//!
//! Keeping "nobody waiting" apart means an uncontended lock and unlock are one atomic
//! operation each, and never a system call.

use std::sync::atomic::{AtomicU32, Ordering};

/// Sleeps while `word` holds `expected`: `FUTEX_WAIT`, shared between processes.
///
/// Returns at once if the word already differs (the kernel checks it atomically with
/// going to sleep, so a wake between our check and our sleep is never missed), and
/// may return spuriously: callers check the word again in a loop.
pub fn wait(word: &AtomicU32, expected: u32) {
    // Safety: `word` is a live, aligned 32-bit atomic for the whole call. FUTEX_WAIT
    // only reads it, and no timeout or second address is passed (null, as allowed).
    // An error (EAGAIN: the value differed; EINTR: a signal) needs no handling: the
    // caller's loop checks the word again.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// Wakes up to `count` sleepers in [`wait`] on `word`, in any process that maps it.
pub fn wake(word: &AtomicU32, count: i32) {
    // Safety: FUTEX_WAKE uses the address only as a key to find sleepers; it neither
    // reads nor writes the memory.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count);
    }
}

/// A lock in one 32-bit word, for shared memory: all zero bytes are an unlocked lock.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct SharedLock {
    /// 0 unlocked, 1 locked, 2 locked with possible sleepers.
    state: AtomicU32,
}

impl SharedLock {
    /// Takes the lock, sleeping in the kernel while another holder has it.
    pub fn lock(&self) {
        // Acquire: what the last holder wrote before unlocking is visible from here.
        if self
            .state
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
    }

    /// The slow path: mark the lock "2" (so the holder will wake us) and sleep.
    #[cold]
    fn lock_contended(&self) {
        // A short spin first: the holder keeps the lock for a few instructions, and
        // sleeping costs two system calls.
        for _ in 0..100 {
            if self.state.load(Ordering::Relaxed) == 0
                && self
                    .state
                    .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            std::hint::spin_loop();
        }
        // Swapping in 2 takes the lock if it was free (we then hold it as "2", which
        // costs one needless wake at unlock but is never wrong) and otherwise tells
        // the holder that someone sleeps.
        while self.state.swap(2, Ordering::Acquire) != 0 {
            wait(&self.state, 2);
        }
    }

    /// Releases the lock, waking one sleeper if there may be one.
    ///
    /// Call it only while holding the lock.
    pub fn unlock(&self) {
        // Release: our writes inside the lock happen before the next holder's reads.
        if self.state.swap(0, Ordering::Release) == 2 {
            wake(&self.state, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::UnsafeCell;

    /// Four threads adding under the lock to a plain, non-atomic number lose nothing:
    /// the lock alone makes the load and the store one step.
    #[test]
    fn lock_excludes() {
        struct Guarded {
            lock: SharedLock,
            value: UnsafeCell<u64>,
        }
        // Safety: `value` is only touched while `lock` is held.
        unsafe impl Sync for Guarded {}
        let guarded = Guarded {
            lock: SharedLock::default(),
            value: UnsafeCell::new(0),
        };
        // Borrow the whole struct, so that the closures capture `&Guarded` (which is
        // Sync) rather than its two fields one by one.
        let shared = &guarded;
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(move || {
                    let guarded = shared;
                    for _ in 0..20_000 {
                        guarded.lock.lock();
                        // Safety: we hold the lock, so nobody else touches `value`.
                        unsafe { *guarded.value.get() += 1 };
                        guarded.lock.unlock();
                    }
                });
            }
        });
        assert_eq!(guarded.value.into_inner(), 80_000);
        assert_eq!(guarded.lock.state.load(Ordering::Relaxed), 0);
    }

    /// `wait` returns at once when the word does not hold the expected value.
    #[test]
    fn wait_returns_when_the_value_differs() {
        let word = AtomicU32::new(1);
        wait(&word, 0);
    }
}
