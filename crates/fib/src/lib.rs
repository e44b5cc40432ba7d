//! The CPU-bound workload: naive recursive Fibonacci.
//!
//! The experiments need a task that keeps a core busy and never waits on anything
//! outside the CPU. Naive recursion does exactly that: `fibonacci(n)` makes about
//! 1.6ⁿ calls and touches almost no memory. The recursion is naive **on purpose**;
//! a loop or memoisation would finish in nanoseconds and teach nothing.
//!
//! The numbering follows the article: `fibonacci(1) = 0`, `fibonacci(2) = 1`, and
//! every later term is the sum of the two before it. So `fibonacci(30) = 514229`.
//!
//! # Layout
//! - [`fibonacci`] and [`fibonacci_with`]: the checked entry points. `n < 1` is the
//!   article's "incorrect input"; `n > MAX_N` is refused because it would run for
//!   minutes.
//! - [`timed_fibonacci`]: the same, wrapped in the wall-clock record ([`Timed`]) that
//!   every pool writes to its CSV.
//! - The checkpoint hook: [`fibonacci_with`] calls a closure at every step of the
//!   recursion, the way CPython's eval loop checks for a drop request at every call.
//!   [`fibonacci_with_grain`] calls it only in the upper part of the call tree, at
//!   calls above a given `n`, and runs the plain recursion below. The simulated GIL in
//!   the `pools` crate uses the second, with [`CHECKPOINT_GRAIN`], to make a thread
//!   give up the lock: a check at every call makes the Rust recursion over a quarter
//!   slower, while in CPython it is lost in the cost of the call (chapter 2 has the
//!   numbers).
//! - [`fibonacci`] runs the plain recursion, which has no hook at all: the code that
//!   checks and the code that does not are separate functions, so the hook cannot
//!   change how the plain one is compiled (`benches/checkpoint.rs` compares it with a
//!   hand-written naive version).
//!
//! ```
//! assert_eq!(fib::fibonacci(10).unwrap(), 34);
//! assert!(fib::fibonacci(0).is_err());
//! ```

// The clock `Timed` reads: wall-clock Unix seconds, from the shared `procutil` crate,
// which the pools stamp their own records with too.
use procutil::unix_now;

/// The largest `n` accepted.
///
/// Naive recursion costs about 1.6ⁿ calls: `fibonacci(41)` takes about a second on a
/// laptop core, so `fibonacci(50)` takes about a minute and every step beyond
/// multiplies that by 1.6. (The result itself would fit a `u64` up to n = 94.)
pub const MAX_N: u32 = 50;

/// The grain the GIL pool checks at: [`fibonacci_with_grain`] calls its checkpoint at
/// every call with `n` above this, and runs the subtrees at or below it unchecked.
///
/// A subtree of `fibonacci(10)` is 109 calls, well under a microsecond in Rust: about
/// what two Python-level calls cost CPython, which checks at every call. So a drop
/// request waits for the next check about as long as it would in CPython, and
/// thousands of times less than the 5 ms switch interval that raised it; yet only
/// about one call in a hundred checks, so the checks cost next to nothing.
pub const CHECKPOINT_GRAIN: u32 = 10;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FibError {
    /// The article's "incorrect input": the sequence starts at n = 1.
    #[error("incorrect input {0}: n must be at least 1 (fibonacci(1) = 0)")]
    TooSmall(i128),
    /// Valid mathematically, but naive recursion would take far too long.
    #[error(
        "n = {0} is too large: naive recursion above n = {MAX_N} would run for minutes or more"
    )]
    TooLarge(i128),
}

/// Checks that `n` is in `1..=MAX_N` and converts it.
///
/// Takes any integer up to 64 bits, signed or not, so that callers can pass whatever
/// the user typed, negative or huge, and get the right message back, with the number
/// as typed.
///
/// ```
/// assert_eq!(fib::check_input(10), Ok(10));
/// let err = fib::check_input(u64::MAX).unwrap_err();
/// assert!(err.to_string().starts_with("n = 18446744073709551615 is too large"));
/// ```
pub fn check_input(n: impl Into<i128>) -> Result<u32, FibError> {
    const MAX: i128 = MAX_N as i128;
    let n = n.into();
    match n {
        i128::MIN..=0 => Err(FibError::TooSmall(n)),
        1..=MAX => Ok(n as u32),
        _ => Err(FibError::TooLarge(n)),
    }
}

/// The n-th Fibonacci number, computed by naive recursion.
///
/// ```
/// assert_eq!(fib::fibonacci(1), Ok(0));
/// assert_eq!(fib::fibonacci(2), Ok(1));
/// assert_eq!(fib::fibonacci(30), Ok(514229));
/// ```
pub fn fibonacci(n: u32) -> Result<u64, FibError> {
    let n = check_input(n)?;
    Ok(naive(n))
}

/// [`fibonacci`], calling `checkpoint` once per recursive call.
///
/// This is the hook the GIL simulation uses. The closure is generic, so each caller
/// gets its own copy of the recursion with the closure inlined: an empty closure
/// costs nothing, and one that reads a flag costs a load and a branch.
///
/// Keep the closure small. A closure that captures a single reference inlines well;
/// one that captures several can make the recursion measurably slower.
///
/// ```
/// let mut calls = 0u64;
/// let value = fib::fibonacci_with(10, &mut || calls += 1).unwrap();
/// assert_eq!(value, 34);
/// assert_eq!(calls, 109); // one per node of the call tree
/// ```
pub fn fibonacci_with<C: FnMut()>(n: u32, checkpoint: &mut C) -> Result<u64, FibError> {
    let n = check_input(n)?;
    Ok(naive_with(n, checkpoint))
}

/// [`fibonacci`], calling `checkpoint` once per recursive call with `n > grain`.
///
/// The calls at or below `grain` run the plain recursion of [`fibonacci`], with no
/// hook: that is where almost all the calls are (a call tree has about 1.6 times as
/// many calls one level down), so the checks cost almost nothing, and between two
/// checks the recursion runs at most one subtree of `fibonacci(grain)`. With
/// `grain = 0` it checks at every call, like [`fibonacci_with`].
///
/// ```
/// let mut calls = 0u64;
/// let value = fib::fibonacci_with_grain(10, 7, &mut || calls += 1).unwrap();
/// assert_eq!(value, 34);
/// assert_eq!(calls, 4); // n = 10, 9, and 8 twice; the subtrees of n <= 7 run unchecked
/// ```
pub fn fibonacci_with_grain<C: FnMut()>(
    n: u32,
    grain: u32,
    checkpoint: &mut C,
) -> Result<u64, FibError> {
    let n = check_input(n)?;
    Ok(coarse(n, grain, checkpoint))
}

/// The recursion itself, on an input already checked to be in `1..=MAX_N`. Nothing
/// but the recursion: it must compile to what a hand-written version does.
///
/// Why `#[inline]`: the generic [`coarse`] is compiled in the crate that calls it, so
/// without the attribute this function is exported from `fib` and that build calls it,
/// its own recursive calls included, indirectly through the global offset table,
/// which made `fibonacci` 2 to 3 % slower than a hand-written recursion. With it, each
/// crate gets its own copy, whose recursive calls are direct (`objdump -d` on the
/// checkpoint bench shows the same instructions as the hand-written one).
#[inline]
fn naive(n: u32) -> u64 {
    match n {
        1 => 0,
        2 => 1,
        _ => naive(n - 1) + naive(n - 2),
    }
}

/// [`naive`] with a checkpoint at every call: a copy of its own, so that the hook
/// never touches the code of the plain one.
fn naive_with<C: FnMut()>(n: u32, checkpoint: &mut C) -> u64 {
    checkpoint();
    match n {
        1 => 0,
        2 => 1,
        _ => naive_with(n - 1, checkpoint) + naive_with(n - 2, checkpoint),
    }
}

/// The upper part of the call tree, checked; below `grain`, [`naive`] unchecked.
fn coarse<C: FnMut()>(n: u32, grain: u32, checkpoint: &mut C) -> u64 {
    if n <= grain {
        return naive(n);
    }
    checkpoint();
    match n {
        1 => 0,
        2 => 1,
        _ => coarse(n - 1, grain, checkpoint) + coarse(n - 2, grain, checkpoint),
    }
}

/// A value together with the wall-clock interval in which it was computed.
///
/// This is the record each pool writes as one CSV row. The times are Unix seconds as
/// `f64`, which keeps sub-microsecond resolution for present-day dates and matches the
/// article's `time.time()` values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timed<T> {
    /// When the work started, in Unix seconds.
    pub start: f64,
    /// When the work finished, in Unix seconds.
    pub end: f64,
    /// What the work produced.
    pub value: T,
}

impl<T> Timed<T> {
    /// Runs `work` and records when it started and ended.
    pub fn measure(work: impl FnOnce() -> T) -> Self {
        let start = unix_now();
        let value = work();
        let end = unix_now();
        Timed { start, end, value }
    }

    /// `end - start`, in seconds.
    pub fn elapsed(&self) -> f64 {
        self.end - self.start
    }
}

/// [`fibonacci`], timed: the record every pool writes.
///
/// An input error is returned before the clock starts.
pub fn timed_fibonacci(n: u32) -> Result<Timed<u64>, FibError> {
    let n = check_input(n)?;
    Ok(Timed::measure(|| naive(n)))
}

/// [`fibonacci_with`], timed.
pub fn timed_fibonacci_with<C: FnMut()>(
    n: u32,
    checkpoint: &mut C,
) -> Result<Timed<u64>, FibError> {
    let n = check_input(n)?;
    Ok(Timed::measure(|| naive_with(n, checkpoint)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_articles_numbering() {
        let expected = [(1, 0), (2, 1), (3, 1), (4, 2), (10, 34), (30, 514_229)];
        for (n, value) in expected {
            assert_eq!(fibonacci(n), Ok(value), "fibonacci({n})");
        }
    }

    #[test]
    fn refuses_zero_negative_and_too_large() {
        assert_eq!(check_input(0), Err(FibError::TooSmall(0)));
        assert_eq!(check_input(-3), Err(FibError::TooSmall(-3)));
        assert_eq!(check_input(99), Err(FibError::TooLarge(99)));
        assert_eq!(check_input(i64::from(MAX_N)), Ok(MAX_N));
        assert_eq!(fibonacci(0), Err(FibError::TooSmall(0)));
        assert_eq!(fibonacci(MAX_N + 1), Err(FibError::TooLarge(51)));
    }

    #[test]
    fn checkpoint_runs_once_per_call() {
        let mut calls = 0u64;
        assert_eq!(fibonacci_with(20, &mut || calls += 1), Ok(4181));
        // The call tree of fibonacci(n) has 2 * fibonacci(n + 1) - 1 nodes.
        assert_eq!(calls, 2 * fibonacci(21).unwrap() - 1);
    }

    /// The coarse hook checks exactly at the calls above the grain, and grain 0 is
    /// every call.
    #[test]
    fn coarse_checkpoint_runs_once_per_call_above_the_grain() {
        // How many calls of the tree of fibonacci(n) have an n above `grain`.
        fn above(n: u32, grain: u32) -> u64 {
            match n {
                _ if n <= grain => 0,
                1 | 2 => 1,
                _ => 1 + above(n - 1, grain) + above(n - 2, grain),
            }
        }
        for (n, grain) in [(20, 0), (20, 1), (20, 2), (20, 10), (25, 10), (5, 10)] {
            let mut calls = 0u64;
            let value = fibonacci_with_grain(n, grain, &mut || calls += 1);
            assert_eq!(value, fibonacci(n), "fibonacci({n}), grain {grain}");
            assert_eq!(calls, above(n, grain), "fibonacci({n}), grain {grain}");
        }
        let mut calls = 0u64;
        fibonacci_with_grain(20, 0, &mut || calls += 1).unwrap();
        assert_eq!(calls, 2 * fibonacci(21).unwrap() - 1);
        assert_eq!(
            fibonacci_with_grain(0, 10, &mut || {}),
            Err(FibError::TooSmall(0))
        );
    }

    /// `elapsed` is the time between the two readings, in seconds.
    #[test]
    fn elapsed_is_the_time_between_start_and_end() {
        let t = Timed {
            start: 1_700_000_000.25,
            end: 1_700_000_002.0,
            value: (),
        };
        assert_eq!(t.elapsed(), 1.75);
    }

    /// `measure` reads the clock before the work and after it: a reading taken in the
    /// middle of the work falls strictly between the two. The work pauses 1 ms on
    /// either side of its reading, far above the clock's resolution (a Unix time in
    /// an `f64` resolves about 0.24 µs). All three readings come from the system
    /// clock; only a step of that clock during those 2 ms could break the order.
    #[test]
    fn measure_brackets_the_work() {
        let t = Timed::measure(|| {
            std::thread::sleep(std::time::Duration::from_millis(1));
            let middle = unix_now();
            std::thread::sleep(std::time::Duration::from_millis(1));
            middle
        });
        assert!(t.start > 1.0e9, "start is a Unix time: {}", t.start);
        assert!(t.start < t.value && t.value < t.end, "{t:?}");

        let t = timed_fibonacci(25).unwrap();
        assert_eq!(t.value, 46_368);
    }
}
