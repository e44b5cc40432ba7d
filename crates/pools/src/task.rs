//! What a pool runs: the [`Task`] trait, the [`Context`] a task runs in, and the two
//! built-in tasks of the experiment.
//!
//! A task is a small serialisable value (its configuration) plus a `run` method. The
//! value is what crosses a process boundary: under `spawn` and `forkserver` the worker
//! receives the task's [`Task::NAME`] and its serialised state, looks the name up in
//! the program's registry (see [`serve_if_worker`](crate::serve_if_worker)), and
//! rebuilds the task. This is the Rust counterpart of Python pickling a function by
//! its qualified name.
//!
//! Every pool runs one task the same way, with `run_one`: timed, and with a panic
//! turned into a failed task (`panic_message`).

use std::fmt;

pub(crate) use fib::Timed;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::record::TaskError;

/// What a running task may ask of the pool that runs it.
///
/// Real threads and processes need nothing, so [`NoGil`] does nothing. The GIL pool
/// passes a guard whose [`checkpoint`](Context::checkpoint) may hand the lock to a
/// waiting thread, and whose [`allow_threads`](Context::allow_threads) releases the
/// lock around blocking work, like CPython around a socket call (and like PyO3's
/// `Python::detach`, called `allow_threads` before PyO3 0.26).
pub trait Context {
    /// Called often by CPU-bound code. Under the GIL, this is where a thread gives up
    /// the lock when another thread has asked for it.
    fn checkpoint(&mut self);

    /// Runs blocking work (IO, sleeping) with the GIL released, if there is one.
    fn allow_threads<R>(&mut self, blocking: impl FnOnce() -> R) -> R;
}

/// The context of real threads and processes: no lock, nothing to do.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGil;

impl Context for NoGil {
    #[inline(always)]
    fn checkpoint(&mut self) {}

    #[inline(always)]
    fn allow_threads<R>(&mut self, blocking: impl FnOnce() -> R) -> R {
        blocking()
    }
}

/// A function that every pool can run.
///
/// The value itself carries the function's configuration (for example the URL of
/// the server to fetch from), and must be serialisable so that process workers can
/// receive it. A task reports failure with an `Err` of any error type (`?` converts
/// it into a [`TaskFailure`]), or of a plain message (`Err("…".into())`); the pool
/// reports it as [`TaskError::Failed`] with its whole chain of causes. A panic is
/// caught and reported the same way.
///
/// ```
/// use pools::{Context, Executor, Task, ThreadPool};
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Square;
///
/// impl Task for Square {
///     type Input = u64;
///     type Output = u64;
///     const NAME: &'static str = "square";
///     fn run(&self, x: &u64, _cx: &mut impl Context) -> Result<u64, pools::TaskFailure> {
///         Ok(x * x)
///     }
/// }
///
/// let mut pool = ThreadPool::new(2).unwrap();
/// let squares: Vec<u64> = pool
///     .map(&Square, &[1, 2, 3])
///     .into_iter()
///     .map(|r| r.unwrap().output)
///     .collect();
/// assert_eq!(squares, [1, 4, 9]);
/// ```
pub trait Task: Serialize + DeserializeOwned + Sync + 'static {
    /// One input, as passed to `map`.
    type Input: Serialize + DeserializeOwned + Sync + fmt::Debug;
    /// What one call produces.
    type Output: Serialize + DeserializeOwned + Send;
    /// The name under which `spawn` and `forkserver` workers find this task in their
    /// registry. It must be unique within a program.
    const NAME: &'static str;

    /// Runs the task on one input.
    fn run(&self, input: &Self::Input, cx: &mut impl Context) -> Result<Self::Output, TaskFailure>;

    /// Runs the task on one input as a future, for the [`AsyncPool`](crate::AsyncPool).
    ///
    /// The default calls [`run`](Task::run) inside the future: the whole task happens
    /// in one poll, and the event loop's thread runs nothing else until it ends. That
    /// is right for a computation, which has nothing to wait for. A task that waits
    /// overrides it, and awaits ([`HttpFetch`] does).
    fn run_async(
        &self,
        input: &Self::Input,
    ) -> impl Future<Output = Result<Self::Output, TaskFailure>> {
        async move { self.run(input, &mut NoGil) }
    }
}

/// Why a task failed: any error, boxed, as `?` makes it.
///
/// It stays an error, with its sources, until the pool turns it into text for
/// [`TaskError::Failed`]: a process worker must send it down a pipe, and text is what
/// crosses (as a Python exception crosses pickled).
pub type TaskFailure = Box<dyn std::error::Error + Send + Sync>;

/// The error and its chain of causes on one line, as anyhow's `{:#}` prints them:
/// "GET … failed: io: Connection reset by peer", not just "GET … failed".
pub(crate) fn describe(failure: &TaskFailure) -> String {
    let mut text = failure.to_string();
    let mut source = failure.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The CPU-bound task: `fib::fibonacci(n)`, checking in with the context every
/// hundred or so recursive calls, so that the GIL pool can switch threads
/// mid-computation. Under the async pool it keeps the default
/// [`Task::run_async`]: it never yields, and blocks the loop until it ends.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Fibonacci;

impl Task for Fibonacci {
    type Input = u32;
    type Output = u64;
    const NAME: &'static str = "fibonacci";

    fn run(&self, n: &u32, cx: &mut impl Context) -> Result<u64, TaskFailure> {
        // Checks in at every call above n = CHECKPOINT_GRAIN, about once per hundred
        // calls: a check at every call makes the recursion over a quarter slower, and
        // the GIL pool with it (chapter 2). The closure captures a single pointer
        // (`cx`): small enough to inline, so with `NoGil` it compiles away entirely.
        Ok(fib::fibonacci_with_grain(
            *n,
            fib::CHECKPOINT_GRAIN,
            &mut || cx.checkpoint(),
        )?)
    }
}

/// The IO-bound task: one HTTP GET that the server answers after `ms` milliseconds.
///
/// The GET runs inside [`Context::allow_threads`], so under the GIL pool the lock is
/// free while this thread waits, and other threads can start their own requests.
/// Under the async pool it is awaited instead ([`Task::run_async`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HttpFetch {
    /// A URL with `{ms}` where the wait goes, e.g. `http://127.0.0.1:8080/200?sleep={ms}`.
    pub url_template: String,
    /// How long one request may take, in seconds.
    pub timeout_secs: f64,
}

impl HttpFetch {
    /// A fetch task against `url_template`, with the client's default timeout.
    pub fn new(url_template: impl Into<String>) -> Self {
        HttpFetch {
            url_template: url_template.into(),
            timeout_secs: http_wait::DEFAULT_TIMEOUT.as_secs_f64(),
        }
    }
}

impl Task for HttpFetch {
    type Input = u64;
    type Output = String;
    const NAME: &'static str = "http_fetch";

    fn run(&self, ms: &u64, cx: &mut impl Context) -> Result<String, TaskFailure> {
        let timeout = std::time::Duration::from_secs_f64(self.timeout_secs);
        let client = http_wait::Client::new(timeout);
        let fetched = cx.allow_threads(|| client.fetch(&self.url_template, *ms));
        // The error keeps its causes: the pool prints the whole chain (`describe`).
        Ok(fetched?.body)
    }

    /// The same GET, awaited, so that the async pool's thread serves other tasks
    /// while this one waits.
    async fn run_async(&self, ms: &u64) -> Result<String, TaskFailure> {
        let timeout = std::time::Duration::from_secs_f64(self.timeout_secs);
        Ok(crate::async_fetch::fetch(&self.url_template, *ms, timeout).await?)
    }
}

/// A task with its type erased: bytes in, bytes out. This is how a process worker
/// runs whatever task the parent sent it.
pub(crate) trait ErasedTask {
    /// Decodes one input, runs the task without a GIL, and appends the encoded output.
    fn run_encoded(&self, input: &[u8], output: &mut Vec<u8>) -> Result<(), EncodedFailure>;
}

/// Why a process worker produced no output for one input. It crosses the pipe as its
/// message, because the parent only prints it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodedFailure {
    #[error("cannot decode input: {0}")]
    Decode(#[source] postcard::Error),
    /// The task itself failed; the text is its whole cause chain ([`describe`]).
    #[error("{0}")]
    Task(String),
    #[error("cannot encode output: {0}")]
    Encode(#[source] postcard::Error),
}

impl<T: Task> ErasedTask for T {
    fn run_encoded(&self, input: &[u8], output: &mut Vec<u8>) -> Result<(), EncodedFailure> {
        let input: T::Input = postcard::from_bytes(input).map_err(EncodedFailure::Decode)?;
        let value = self
            .run(&input, &mut NoGil)
            .map_err(|e| EncodedFailure::Task(describe(&e)))?;
        let encoded =
            postcard::to_extend(&value, std::mem::take(output)).map_err(EncodedFailure::Encode)?;
        *output = encoded;
        Ok(())
    }
}

/// Rebuilds a task from its serialised state.
pub(crate) type Decoder = fn(&[u8]) -> Result<Box<dyn ErasedTask>, postcard::Error>;

/// The [`Decoder`] for task type `T`.
pub(crate) fn decoder<T: Task>() -> Decoder {
    |state| postcard::from_bytes::<T>(state).map(|task| Box::new(task) as Box<dyn ErasedTask>)
}

/// One entry of a registry (a slice of these): a task's name and how to rebuild it.
#[derive(Clone, Copy)]
pub struct Registered {
    pub(crate) name: &'static str,
    pub(crate) decode: Decoder,
}

impl Registered {
    /// Registers task type `T` under [`Task::NAME`].
    pub fn task<T: Task>() -> Self {
        Registered {
            name: T::NAME,
            decode: decoder::<T>(),
        }
    }
}

impl fmt::Debug for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Registered").field(&self.name).finish()
    }
}

/// Finds `name` in `registry`.
pub(crate) fn lookup(registry: &[Registered], name: &str) -> Option<Decoder> {
    registry.iter().find(|r| r.name == name).map(|r| r.decode)
}

/// Runs one task, timing it and turning a panic into a failed task. The thread pools
/// call it for every input; a process worker does the same, on encoded bytes.
pub(crate) fn run_one<T: Task>(
    task: &T,
    input: &T::Input,
    cx: &mut impl Context,
) -> Result<Timed<T::Output>, TaskError> {
    let timed = Timed::measure(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run(input, cx)))
    });
    match timed.value {
        Ok(Ok(value)) => Ok(Timed {
            start: timed.start,
            end: timed.end,
            value,
        }),
        Ok(Err(failure)) => Err(TaskError::Failed(describe(&failure))),
        Err(panic) => Err(TaskError::Failed(panic_message(&*panic))),
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("panicked: {text}")
}
