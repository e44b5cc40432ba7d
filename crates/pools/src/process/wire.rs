//! The messages that cross the pipes between the pool and its workers.
//!
//! Each message is a 4-byte little-endian length followed by a postcard-encoded
//! [`ToWorker`] or [`FromWorker`]. Several messages may travel in one `write`, and a
//! `read` may end in the middle of one; [`Frames`] reassembles them. Both ends read
//! the same way: [`Frames::read_from`] once, then [`Frames::next`] until it has no
//! whole message left.

use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

/// From the pool to a worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    /// Run this task on the inputs that follow.
    Task {
        /// [`Task::NAME`](crate::Task::NAME), to look up in the worker's registry.
        name: String,
        /// Under `fork` only: the address of the task's decoder function, valid in
        /// the child because the child is a copy of the parent's address space.
        fork_decoder: Option<usize>,
        /// The task value, postcard-encoded.
        state: Vec<u8>,
    },
    /// Run the current task on each of these inputs, in order: one chunk.
    Chunk {
        /// The first input's position in the `map` call; the others follow it.
        first: u64,
        /// The inputs, each postcard-encoded.
        inputs: Vec<Vec<u8>>,
    },
}

/// From a worker to the pool: the result of one task.
///
/// It borrows its bytes: the worker encodes it from buffers it reuses, and the pool
/// decodes it in place in its read buffer ([`Frames::next`]). With tiny tasks a
/// result crosses for every task, even in chunks, and an allocation on each side for
/// every one of them was a large part of what a task cost.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FromWorker<'a> {
    /// The input's position in the `map` call.
    pub index: u64,
    /// When the worker started the task, in Unix seconds.
    pub start: f64,
    /// When the worker finished it, in Unix seconds.
    pub end: f64,
    /// The worker's kernel thread id.
    pub tid: i32,
    /// The encoded output, or the error message.
    #[serde(borrow)]
    pub outcome: Result<&'a [u8], &'a str>,
}

/// Appends one framed message to `buf`.
pub(crate) fn encode<M: Serialize>(message: &M, buf: &mut Vec<u8>) {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let mut body =
        postcard::to_extend(message, std::mem::take(buf)).expect("encoding to a Vec cannot fail");
    let len = u32::try_from(body.len() - at - 4).expect("a message is under 4 GiB");
    body[at..at + 4].copy_from_slice(&len.to_le_bytes());
    *buf = body;
}

/// A byte buffer that collects partial reads and yields whole messages.
///
/// Only `buf[pos..end]` holds unread bytes. The buffer keeps its length between
/// reads: it is zeroed once, when it grows, not before every read. With tiny tasks
/// there is a read for every batch of results, and zeroing 64 KiB each time cost
/// more than the tasks themselves.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    buf: Vec<u8>,
    /// Where the next unread message starts.
    pos: usize,
    /// Where the bytes read so far end.
    end: usize,
}

/// What one [`Frames::read_from`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Some bytes, or none if the read was interrupted or found the pipe empty.
    Bytes,
    /// End-of-file: nobody holds the write end any more.
    EndOfFile,
}

/// How much room each read asks for.
const READ_SIZE: usize = 64 * 1024;

impl Frames {
    /// Reads once from `fd` into the buffer. An interrupted read (`EINTR`) and an empty
    /// non-blocking one (`EAGAIN`) read nothing and are not errors: the caller polls
    /// or reads again.
    pub(crate) fn read_from(&mut self, fd: BorrowedFd<'_>) -> Result<Read, Errno> {
        let spare = self.spare(READ_SIZE);
        let spare_len = spare.len();
        let n = match nix::unistd::read(fd, spare) {
            Ok(0) => return Ok(Read::EndOfFile),
            Ok(n) => n,
            Err(Errno::EINTR | Errno::EAGAIN) => 0,
            Err(e) => return Err(e),
        };
        self.filled(spare_len, n);
        Ok(Read::Bytes)
    }

    /// Room to read into, at least `at_least` bytes: call [`Frames::filled`] with the
    /// number of bytes read.
    fn spare(&mut self, at_least: usize) -> &mut [u8] {
        if self.pos == self.end {
            // Everything has been read: start again at the front.
            (self.pos, self.end) = (0, 0);
        } else if self.buf.len() - self.end < at_least {
            // Move the unread start of a message to the front before growing.
            self.buf.copy_within(self.pos..self.end, 0);
            (self.pos, self.end) = (0, self.end - self.pos);
        }
        if self.buf.len() - self.end < at_least {
            self.buf.resize(self.end + at_least, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Keeps the first `n` of the `spare_len` bytes handed out by the last
    /// [`Frames::spare`].
    fn filled(&mut self, spare_len: usize, n: usize) {
        debug_assert!(n <= spare_len && self.end + n <= self.buf.len());
        self.end += n;
    }

    /// Decodes the next whole message, if one has arrived. A frame whose body is not
    /// a valid `M` is an error that keeps postcard's reason. The message may borrow
    /// from the buffer until the next call.
    pub(crate) fn next<'s, M: Deserialize<'s>>(&'s mut self) -> Option<Result<M, postcard::Error>> {
        let rest = &self.buf[self.pos..self.end];
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let body = rest.get(4..4 + len)?;
        self.pos += 4 + len;
        Some(postcard::from_bytes(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_being_split_anywhere() {
        let mut wire = Vec::new();
        for index in 0..3 {
            encode(
                &ToWorker::Chunk {
                    first: index,
                    inputs: vec![vec![index as u8; 5]],
                },
                &mut wire,
            );
        }
        // Feed the bytes one at a time: every split point must work.
        let mut frames = Frames::default();
        let mut seen = Vec::new();
        for byte in &wire {
            let spare = frames.spare(1);
            spare[0] = *byte;
            frames.filled(1, 1);
            while let Some(message) = frames.next::<ToWorker>() {
                match message.unwrap() {
                    ToWorker::Chunk { first, inputs } => seen.push((first, inputs[0].clone())),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(
            seen,
            (0..3).map(|i| (i, vec![i as u8; 5])).collect::<Vec<_>>()
        );
    }

    /// Reads that end mid-message after whole ones: the unread part moves to the
    /// front of the buffer, and nothing is lost or repeated.
    #[test]
    fn messages_survive_reads_of_any_size() {
        let mut wire = Vec::new();
        for index in 0..50 {
            let inputs = vec![vec![index as u8; index as usize % 9]; index as usize % 3];
            encode(
                &ToWorker::Chunk {
                    first: index,
                    inputs,
                },
                &mut wire,
            );
        }
        for chunk in 1..=wire.len() {
            let mut frames = Frames::default();
            let mut seen = Vec::new();
            for bytes in wire.chunks(chunk) {
                let spare = frames.spare(chunk);
                spare[..bytes.len()].copy_from_slice(bytes);
                let spare_len = spare.len();
                frames.filled(spare_len, bytes.len());
                while let Some(message) = frames.next::<ToWorker>() {
                    match message.unwrap() {
                        ToWorker::Chunk { first, .. } => seen.push(first),
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            assert_eq!(seen, (0..50).collect::<Vec<_>>(), "reads of {chunk} bytes");
        }
    }
}
