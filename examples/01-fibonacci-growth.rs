//! Why naive Fibonacci is a good CPU-bound workload: each step of n costs about
//! 1.6 times the one before, and nothing in it ever waits.
//!
//! ```text
//! cargo run --release --example 01-fibonacci-growth
//! cargo run --release --example 01-fibonacci-growth -- --quick   # n = 15..=24, instant
//! ```
//!
//! Expect the ratio column to settle near 1.618, the golden ratio: the call tree of
//! fibonacci(n) has about φⁿ nodes. The value column is the sequence itself, each
//! number the sum of the two before it. With `--quick` the inputs are too small for
//! the ratios to mean much: it is there so that the tests can run this in a moment.

fn main() -> anyhow::Result<()> {
    let mut previous: Option<f64> = None;
    println!(
        "{:>3}  {:>12}  {:>9}  {:>6}",
        "n", "value", "seconds", "ratio"
    );
    // `--quick`: small inputs, for the docs-honesty test.
    let inputs = if quick() { 15..=24 } else { 25..=36 };
    for n in inputs {
        let timed = fib::timed_fibonacci(n)?;
        let seconds = timed.elapsed();
        let ratio = previous.map_or(String::from("-"), |p| format!("{:.3}", seconds / p));
        println!("{n:>3}  {:>12}  {seconds:>9.4}  {ratio:>6}", timed.value);
        previous = Some(seconds);
    }
    Ok(())
}

fn quick() -> bool {
    std::env::args().any(|arg| arg == "--quick")
}
