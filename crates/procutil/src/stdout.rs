//! The one closed-stdout policy, for every binary in the workspace.
//!
//! **The policy.** When whoever reads our stdout closes it early, as `| head -3`
//! does, that is not an error: the program prints no `Error:` line and exits with
//! status 0, like any Unix filter. Every other failure to write stdout (a full disk,
//! a vanished terminal) is an error like any other.
//!
//! What the program does next depends on what it is for:
//! - **Its stdout is the product** (`fib`, `http-wait fetch`, `isolation-demo`):
//!   nobody is reading any more, so it stops. Write with [`say!`](crate::say) and
//!   `?`, and end `main` with [`exit_code`], which turns the closed stdout into a
//!   quiet success.
//! - **Its product is elsewhere** (files for `pools` and `report`, a listening socket
//!   for `http-wait serve`): it carries on without stdout. Write with
//!   [`say_unless_closed!`](crate::say_unless_closed) and `?`.
//!
//! # Why a type of its own
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `EPIPE`
//! ([`io::ErrorKind::BrokenPipe`]) instead of killing the program. But a socket
//! whose peer has gone fails the same way. Checking "is there a broken pipe anywhere
//! in the error" would let a failed HTTP request pass for a closed stdout and exit 0.
//! So every write to stdout goes through [`write_line`], which wraps its failure in
//! a [`StdoutError`], and only a `StdoutError` counts.
//!
//! # Why one write per line
//! [`write_line`] builds the whole line, newline included, and hands it to the
//! kernel in one `write(2)`, then flushes. Between threads the stdout lock keeps a
//! line's bytes together; between processes (a forked child shares our stdout), one
//! `write(2)` of fewer than `PIPE_BUF` (4096) bytes to a pipe is atomic. And after
//! it returns, std's buffer is empty, so a `fork` cannot copy half a line into the
//! child, to be printed twice.

use std::error::Error;
use std::io::{self, Write};
use std::process::ExitCode;

/// Writing to stdout failed. [`is_closed`](StdoutError::is_closed) tells whether the
/// reader simply went away.
#[derive(Debug, thiserror::Error)]
#[error("could not write to stdout")]
pub struct StdoutError(#[source] pub io::Error);

impl StdoutError {
    /// Whether the reader closed its end (`EPIPE`): the policy's quiet case.
    pub fn is_closed(&self) -> bool {
        self.0.kind() == io::ErrorKind::BrokenPipe
    }
}

/// Writes `text` and a newline to stdout in one piece, then flushes.
///
/// See the module docs for why one piece. [`say!`](crate::say) is this with
/// `format!`'s syntax.
pub fn write_line(text: &str) -> Result<(), StdoutError> {
    let mut whole = String::with_capacity(text.len() + 1);
    whole.push_str(text);
    whole.push('\n');
    let mut out = io::stdout().lock();
    out.write_all(whole.as_bytes())
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}

/// Empties std's stdout buffer. Call it before `fork`: the child gets a copy of the
/// buffer, and would print whatever is in it a second time.
pub fn flush() -> Result<(), StdoutError> {
    io::stdout().flush().map_err(StdoutError)
}

/// Whether `err`, or any error in its chain of sources, is a [`StdoutError`] whose
/// reader closed stdout.
///
/// Takes any error: an `anyhow::Error` (`is_closed(&*err)`), or a library's own
/// error type that keeps the `StdoutError` as its `#[source]`.
pub fn is_closed(err: &(dyn Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err
            .downcast_ref::<StdoutError>()
            .is_some_and(StdoutError::is_closed)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// For programs that carry on without stdout: a closed stdout becomes `Ok`, any
/// other failure stays an error.
pub fn unless_closed(result: Result<(), StdoutError>) -> Result<(), StdoutError> {
    match result {
        Err(err) if err.is_closed() => Ok(()),
        other => other,
    }
}

/// The end of every binary's `main`: success, a closed stdout (also success, and
/// silent), or one `Error: {:#}` line on stderr and a failure status.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     procutil::stdout::exit_code(run())
/// }
///
/// fn run() -> anyhow::Result<()> {
///     for n in 1.. {
///         procutil::say!("line {n}")?; // `| head -3` ends this loop, with status 0
///     }
///     Ok(())
/// }
/// ```
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_closed(&*err) => ExitCode::SUCCESS,
        Err(err) => {
            // Not `eprintln!`, which panics when stderr is closed too.
            let _ = writeln!(io::stderr(), "Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `println!` under the policy: one whole line, flushed, and a
/// `Result<(), StdoutError>` to pass on with `?`.
///
/// ```no_run
/// # fn main() -> Result<(), procutil::stdout::StdoutError> {
/// let n = 30;
/// procutil::say!("fibonacci({n}) = {}", 514_229)?;
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::stdout::write_line(&::std::format!($($arg)*))
    };
}

/// [`say!`] for programs whose product is elsewhere: if the reader has closed
/// stdout, the line is dropped and the program carries on; any other failure is
/// still an error.
///
/// ```no_run
/// # fn main() -> Result<(), procutil::stdout::StdoutError> {
/// # let path = "results/trace.json";
/// // Under `report | head -1`, every file is still written.
/// procutil::say_unless_closed!("wrote {path}")?;
/// # Ok(())
/// # }
/// ```
#[macro_export]
macro_rules! say_unless_closed {
    ($($arg:tt)*) => {
        $crate::stdout::unless_closed($crate::say!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed() -> StdoutError {
        StdoutError(io::ErrorKind::BrokenPipe.into())
    }

    /// Only a closed stdout is quiet: a broken pipe that is not stdout's (a socket
    /// whose peer left) is an ordinary error.
    #[test]
    fn only_a_closed_stdout_counts() {
        let err = anyhow::Error::new(closed()).context("printing the result");
        assert!(is_closed(&*err));

        let socket = io::Error::from(io::ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(socket).context("sending the request");
        assert!(!is_closed(&*err));

        let full = StdoutError(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(!is_closed(&full));
    }

    /// `unless_closed` drops the closed case only.
    #[test]
    fn unless_closed_keeps_other_errors() {
        assert!(unless_closed(Err(closed())).is_ok());
        assert!(unless_closed(Ok(())).is_ok());
        let full = StdoutError(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(unless_closed(Err(full)).is_err());
    }

    /// The whole chain is printed on one line, as anyhow's `{:#}` does.
    #[test]
    fn message_names_stdout_and_the_cause() {
        let err = anyhow::Error::new(StdoutError(io::Error::from_raw_os_error(libc::ENOSPC)));
        let text = format!("{err:#}");
        assert!(text.starts_with("could not write to stdout: "), "{text}");
    }
}
