//! X in memory that is shared on purpose: an [`AtomicU64`] in a `MAP_SHARED` mapping.
//!
//! A normal global lives in pages that `fork` copies (lazily, copy-on-write): after
//! the fork, parent and child each write their own page. A `MAP_SHARED` mapping is
//! the exception: `fork` gives the child the *same* physical page, so a store by one
//! process is a store the other can load.
//!
//! Two ways in, one per start method:
//! - [`SharedCounter::anonymous`]: an anonymous shared mapping, made before the fork.
//!   It has no name and no file descriptor, so only `fork` can hand it on; `exec`
//!   replaces the whole address space and it is gone.
//! - [`SharedCounter::memfd`]: the page belongs to a `memfd`, an anonymous in-memory
//!   file. A file descriptor *does* survive `exec` (when it is not close-on-exec in
//!   that child), so a re-executed child can map the same page again with
//!   [`SharedCounter::from_inherited_fd`].
//!
//! Both ways are [`SharedMapping`]s, of any length: the queue's and the barrier's
//! tables are made the same way.
//!
//! The atomics work across processes because `AtomicU64`'s operations on this target
//! are single lock-free instructions on the memory itself; there is no hidden lock
//! living in one process's private memory.
//!
//! This cell is the first of the article's "share on purpose" tools; Python's
//! `multiprocessing.Value` is the same idea, plus a lock by default (`RawValue`, or
//! `lock=False`, is the bare cell). Queues, Pipes, Locks and Barriers build on shared
//! memory and file descriptors in the same way.

use std::num::NonZeroUsize;
use std::ops::Deref;
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, mmap_anonymous, munmap};
use nix::sys::stat::fstat;
use nix::unistd::ftruncate;

use crate::error::DemoError;

/// The size of the counter's mapping: one page. The counter is its first eight
/// bytes; the race keeps its lock and start gate after it ([`SharedCounter::page`]).
pub const LEN: NonZeroUsize = NonZeroUsize::new(4096).unwrap();

/// A `MAP_SHARED`, readable and writable mapping of `len` bytes, zero-filled when
/// made, that other processes can map too: the one home of `mmap` and `memfd` for the
/// counter here and for the queue's and barrier's tables (`talk::SharedTable`).
#[derive(Debug)]
pub struct SharedMapping {
    /// The start of the mapping, page-aligned. Valid until `drop`.
    ptr: NonNull<u8>,
    /// Its length in bytes.
    len: NonZeroUsize,
}

impl SharedMapping {
    /// An anonymous mapping, for `fork`: it has no descriptor, so only a forked child
    /// can reach it.
    pub fn anonymous(len: NonZeroUsize) -> Result<SharedMapping, DemoError> {
        // Safety: with no address hint the kernel picks fresh pages, so the mapping
        // cannot overlap any memory Rust already uses. Anonymous mappings are
        // zero-filled.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|source| DemoError::SharedMemory {
            step: "mmap",
            source,
        })?;
        Ok(SharedMapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// A mapping of a new memfd of `len` bytes, plus that memfd, for `spawn`.
    ///
    /// The descriptor is close-on-exec, like every descriptor std opens: a program we
    /// start inherits it only if we ask, by clearing the flag in that one child
    /// between its fork and its exec (`launch::spawn_self`). Pass its number to the
    /// child, then drop it: the mapping keeps the memory alive.
    pub fn memfd(len: NonZeroUsize) -> Result<(SharedMapping, OwnedFd), DemoError> {
        let fd = memfd_create(c"isolation-demo", MFdFlags::MFD_CLOEXEC).map_err(|source| {
            DemoError::SharedMemory {
                step: "memfd_create",
                source,
            }
        })?;
        // A new memfd is empty; give it its length. New file bytes read as zero.
        ftruncate(&fd, len.get() as libc::off_t).map_err(|source| DemoError::SharedMemory {
            step: "ftruncate",
            source,
        })?;
        let mapping = SharedMapping::map(&fd, len)?;
        Ok((mapping, fd))
    }

    /// Maps `len` bytes of a memfd that the parent left open across `exec`.
    ///
    /// Checks that `raw` is an open descriptor for a file of at least `len` bytes,
    /// takes ownership of it, maps it, and closes it (the mapping stays).
    pub fn from_inherited_fd(raw: RawFd, len: NonZeroUsize) -> Result<SharedMapping, DemoError> {
        let bad = |why| DemoError::BadSharedFd { fd: raw, why };
        if raw < 0 {
            return Err(bad("is not a file descriptor"));
        }
        // 0, 1 and 2 are stdin, stdout and stderr: taking ownership of one would
        // close it when the mapping is dropped.
        if raw <= 2 {
            return Err(bad("is a standard stream, not the shared memory"));
        }
        // Safety: `F_GETFD` only reads the descriptor's flags. On a number that is
        // not an open descriptor it fails with EBADF and changes nothing.
        if unsafe { libc::fcntl(raw, libc::F_GETFD) } == -1 {
            return Err(bad("is not an open file descriptor"));
        }
        // Safety: `raw` is open (checked just above), is not a standard stream, and
        // nothing else in this process owns it: the parent passed it to this program
        // only to be used here, and a fresh process opens its own descriptors at other
        // numbers.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let stat = fstat(&fd).map_err(|source| DemoError::SharedMemory {
            step: "fstat",
            source,
        })?;
        if (stat.st_mode & libc::S_IFMT) != libc::S_IFREG
            || (stat.st_size as u64) < len.get() as u64
        {
            return Err(bad("is not a memfd as big as the shared memory"));
        }
        SharedMapping::map(&fd, len)
    }

    /// Maps the first `len` bytes of `fd` shared, readable and writable.
    fn map(fd: impl AsFd, len: NonZeroUsize) -> Result<SharedMapping, DemoError> {
        // Safety: with no address hint the kernel picks fresh pages, so the mapping
        // cannot overlap any memory Rust already uses. The file is at least `len`
        // bytes long (both callers make sure), so every byte mapped is backed.
        let ptr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .map_err(|source| DemoError::SharedMemory {
            step: "mmap",
            source,
        })?;
        Ok(SharedMapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The start of the mapping: page-aligned, `len` bytes, valid while `self` lives.
    pub fn start(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Its length in bytes.
    pub fn len(&self) -> NonZeroUsize {
        self.len
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // Safety: the pointer and length are those of our own mapping, and no
        // reference into it outlives `self`. Unmapping here leaves the pages alive for
        // any other process that still maps them. A failure would only leak them, so
        // it is ignored.
        let _ = unsafe { munmap(self.ptr.cast(), self.len.get()) };
    }
}

/// An [`AtomicU64`] in a shared memory mapping of [`LEN`] bytes; dereferences to the
/// atomic.
///
/// Made before the reader process exists, so that the reader can reach it: inherited
/// through `fork`, or mapped again from an inherited memfd after `exec`.
#[derive(Debug)]
pub struct SharedCounter {
    /// The mapping; the counter is its first eight bytes.
    mapping: SharedMapping,
}

impl SharedCounter {
    /// A counter at 0 in an anonymous `MAP_SHARED` mapping, for `fork`.
    pub fn anonymous() -> Result<SharedCounter, DemoError> {
        let mapping = SharedMapping::anonymous(LEN)?;
        Ok(SharedCounter { mapping })
    }

    /// A counter at 0 in a new memfd, plus that memfd, for `spawn`
    /// (see [`SharedMapping::memfd`]).
    pub fn memfd() -> Result<(SharedCounter, OwnedFd), DemoError> {
        let (mapping, fd) = SharedMapping::memfd(LEN)?;
        Ok((SharedCounter { mapping }, fd))
    }

    /// Maps the counter from a memfd that the parent left open across `exec`.
    pub fn from_inherited_fd(raw: RawFd) -> Result<SharedCounter, DemoError> {
        let mapping = SharedMapping::from_inherited_fd(raw, LEN)?;
        Ok(SharedCounter { mapping })
    }

    /// The start of the whole mapping, [`LEN`] bytes, page-aligned and zero-filled
    /// when made, for a demo that keeps more than the counter in it.
    pub fn page(&self) -> NonNull<u8> {
        self.mapping.start()
    }
}

impl Deref for SharedCounter {
    type Target = AtomicU64;

    fn deref(&self) -> &AtomicU64 {
        // Safety: the mapping is `LEN` bytes and stays mapped until `drop`, which
        // cannot run while this borrow of `self` exists. It is page-aligned, so
        // aligned for `AtomicU64`, and any eight bytes are a valid `AtomicU64`. Other
        // processes may write the same bytes at any time, but only with atomic
        // operations, which is exactly the access that `&AtomicU64` allows.
        unsafe { self.mapping.start().cast::<AtomicU64>().as_ref() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::Ordering;

    /// A fresh anonymous counter starts at 0 and counts.
    #[test]
    fn anonymous_starts_at_zero() {
        let counter = SharedCounter::anonymous().unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 0);
        counter.fetch_add(2, Ordering::Relaxed);
        assert_eq!(counter.load(Ordering::Relaxed), 2);
    }

    /// Two mappings of one memfd are one counter: what one stores, the other loads.
    /// (This is what the spawned reader relies on, minus the `exec`.)
    #[test]
    fn two_mappings_of_a_memfd_share_the_value() {
        let (first, fd) = SharedCounter::memfd().unwrap();
        // `from_inherited_fd` takes ownership, so give it a duplicate.
        let dup = fd.try_clone().unwrap();
        let raw = dup.as_raw_fd();
        std::mem::forget(dup);
        let second = SharedCounter::from_inherited_fd(raw).unwrap();
        first.store(41, Ordering::Relaxed);
        second.fetch_add(1, Ordering::Relaxed);
        assert_eq!(first.load(Ordering::Relaxed), 42);
    }

    /// A descriptor number that is not open is refused before it is used.
    #[test]
    fn rejects_a_closed_fd() {
        let err = SharedCounter::from_inherited_fd(987_654).unwrap_err();
        assert!(
            err.to_string().contains("not an open file descriptor"),
            "{err}"
        );
        assert!(SharedCounter::from_inherited_fd(-1).is_err());
    }
}
