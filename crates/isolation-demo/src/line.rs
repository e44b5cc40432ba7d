//! The three kinds of output line, and how each is written whole.
//!
//! ```text
//! Main-4242 sets X to 1
//! Thread-4242 thinks X is 1
//! Process-4243 thinks X is 0
//! ```
//!
//! The formats are fixed so that tests (and readers) can parse them: [`Line`] prints
//! them and [`Line::parse`] reads them back. Any other line the binary prints (the
//! closing summary) starts with a word that is none of these tags.
//!
//! # Why one `write(2)` per line
//! Three actors print at about the same moments, and two of them are in different
//! processes writing to the same file descriptor. Each line goes out through
//! [`procutil::stdout::write_line`], which builds the whole line first and hands it
//! to the kernel in one `write(2)`, so lines never mix:
//! - between threads, the stdout lock keeps one line's bytes together;
//! - between processes, a single `write(2)` of at most `PIPE_BUF` bytes (4096 on
//!   Linux) to a pipe is atomic (`pipe(7)`). To a terminal or a file, one short write
//!   per line has the same effect in practice, but POSIX promises it only for pipes.
//!
//! It also flushes. That matters for `fork`: a child gets a copy of this process's
//! memory, including any bytes still sitting in stdout's buffer, and would print
//! them a second time. After `write_line` returns, the buffer is empty.
//!
//! What is *not* fixed is the order of lines from different actors: two that are due at
//! the same instant may come out either way round, from one run to the next.

use std::fmt;

/// Who printed a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The main thread, which increments X.
    Main,
    /// The reader thread, inside main's process.
    Thread,
    /// The reader process, with its own pid.
    Process,
}

impl Actor {
    /// The tag that starts the actor's lines: `Main`, `Thread` or `Process`.
    pub fn tag(self) -> &'static str {
        match self {
            Actor::Main => "Main",
            Actor::Thread => "Thread",
            Actor::Process => "Process",
        }
    }
}

/// One line of the demo's output: who, in which process, and the value of X.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Who printed it.
    pub actor: Actor,
    /// The process id of the printer, as `getpid(2)` returned it at that moment.
    pub pid: u32,
    /// The value of X: the one main just set, or the one a reader just read.
    pub x: u64,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Line { actor, pid, x } = *self;
        let tag = actor.tag();
        match actor {
            Actor::Main => write!(f, "{tag}-{pid} sets X to {x}"),
            Actor::Thread | Actor::Process => write!(f, "{tag}-{pid} thinks X is {x}"),
        }
    }
}

impl Line {
    /// A line stamped with the calling process's pid.
    ///
    /// The pid is looked up on every call rather than cached: after a `fork` the
    /// child is running the same code, and must report its own pid.
    pub fn now(actor: Actor, x: u64) -> Line {
        Line {
            actor,
            pid: std::process::id(),
            x,
        }
    }

    /// Parses a line printed by [`Line`]'s `Display`; `None` for anything else.
    ///
    /// ```
    /// use isolation_demo::line::{Actor, Line};
    ///
    /// let line = Line::parse("Process-77 thinks X is 0").unwrap();
    /// assert_eq!(line, Line { actor: Actor::Process, pid: 77, x: 0 });
    /// assert_eq!(Line::parse("Summary: ..."), None);
    /// ```
    pub fn parse(text: &str) -> Option<Line> {
        let (tag, rest) = text.split_once('-')?;
        let (actor, verb) = match tag {
            "Main" => (Actor::Main, " sets X to "),
            "Thread" => (Actor::Thread, " thinks X is "),
            "Process" => (Actor::Process, " thinks X is "),
            _ => return None,
        };
        let (pid, x) = rest.split_once(verb)?;
        Some(Line {
            actor,
            pid: pid.parse().ok()?,
            x: x.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three formats are exactly the article's.
    #[test]
    fn formats_are_exact() {
        let line = |actor| {
            Line {
                actor,
                pid: 42,
                x: 3,
            }
            .to_string()
        };
        assert_eq!(line(Actor::Main), "Main-42 sets X to 3");
        assert_eq!(line(Actor::Thread), "Thread-42 thinks X is 3");
        assert_eq!(line(Actor::Process), "Process-42 thinks X is 3");
    }

    /// Whatever `Display` prints, `parse` reads back unchanged.
    #[test]
    fn parse_round_trips() {
        for actor in [Actor::Main, Actor::Thread, Actor::Process] {
            let line = Line {
                actor,
                pid: 123_456,
                x: u64::MAX,
            };
            assert_eq!(Line::parse(&line.to_string()), Some(line));
        }
    }

    /// Lines that are not one of the three formats are rejected, not misread.
    #[test]
    fn parse_rejects_other_lines() {
        for text in [
            "",
            "Summary: the thread shared main's pid",
            "Main-42 thinks X is 3",
            "Thread-42 sets X to 3",
            "Process-x thinks X is 0",
            "Process-42 thinks X is -1",
            "Worker-42 thinks X is 0",
        ] {
            assert_eq!(Line::parse(text), None, "{text:?}");
        }
    }
}
