//! A simulated global interpreter lock, and the thread pool that runs under it.
//!
//! Rust threads run in parallel, so to reproduce what the article saw with CPython
//! threads we put them under a lock of the same design as CPython's GIL
//! (`Python/ceval_gil.c`, "forced switching"):
//!
//! 1. A thread must hold the lock to compute. Only one thread holds it at a time, so
//!    threads take turns: they run *concurrently*, never in *parallel*.
//! 2. A thread that wants the lock waits on a condition variable for at most the
//!    *switch interval* (5 ms by default, `sys.getswitchinterval()` in Python). If the
//!    interval passes and no other thread has taken the lock meanwhile, it sets the
//!    *drop request* flag.
//! 3. The holder checks that flag at every [`checkpoint`](Context::checkpoint) (CPython
//!    checks its "eval breaker" when a function starts, `RESUME`, and on a loop's
//!    backward jump, `JUMP_BACKWARD`). When it is set, the holder releases the lock,
//!    wakes one waiter, and then waits until some other thread has taken it, so that
//!    it cannot grab the lock straight back. That wait is what makes the switch
//!    *forced*. It guarantees only that *another* thread gets the lock: whichever
//!    waiter gets there first (the one the release woke, or one whose own timed wait
//!    has just ended), not the one that asked. There is no queue, as in CPython. A
//!    release without a drop request (at the end of a task, or on entering
//!    `allow_threads`) does not wait; at the end of a task the same thread, already
//!    running, often takes the lock back for its next one.
//! 4. Blocking work runs inside [`allow_threads`](Context::allow_threads), which
//!    releases the lock for its duration, like CPython around a socket call (PyO3's
//!    `Python::detach`, called `allow_threads` before PyO3 0.26). Waits therefore
//!    overlap even under the GIL.
//!
//! Every interval during which a thread held the lock is recorded, so tests can prove
//! that no two intervals overlap and `report` can draw who held the lock when.
//!
//! How often a task checks is the task's choice, and it sets what the GIL costs. The
//! check itself is one load and a branch, as in CPython, where it is lost in the
//! cost of interpreting a call (tens of nanoseconds). A Rust Fibonacci call takes
//! about a nanosecond, and a check in every one makes the recursion over a quarter
//! slower (`cargo bench -p fib --bench checkpoint`). So the Fibonacci task checks only
//! at calls above `n = fib::CHECKPOINT_GRAIN`: once per hundred or so calls, a
//! fraction of a microsecond apart, still thousands of times per switch interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::chunk::Chunksize;
use crate::executor::{Executor, PoolError, TaskResult};
use crate::record::PoolKind;
use crate::task::run_one;
use crate::task::{Context, Task};
use crate::thread_pool::{claim_loop, run_workers};
use crate::timeout::{TaskTimeout, Watchdog};

/// CPython's default switch interval, `sys.getswitchinterval()`.
pub const DEFAULT_SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// One stretch of time during which one worker thread held the lock: a row of
/// `gil-{workload}-held.csv`, so its type is the results contract's.
pub use results::HeldInterval;

/// The state behind the lock's mutex (CPython keeps the same three fields).
#[derive(Debug, Default)]
struct State {
    /// Is the GIL held right now?
    locked: bool,
    /// Who took it last. A forced drop waits until this is someone else.
    last_holder: Option<usize>,
    /// How many times the GIL has been taken. A waiter that times out only sets the
    /// drop request if this has not moved, i.e. nobody else got the lock meanwhile.
    switch_number: u64,
    /// How many times the GIL passed from one thread to a different one (the very
    /// first take is not a hand-over).
    switches: u64,
}

/// The simulated global interpreter lock.
#[derive(Debug)]
pub struct Gil {
    state: Mutex<State>,
    /// Signalled when the GIL is released: a waiter may take it.
    released: Condvar,
    /// Signalled when the GIL is taken: a thread that was forced to drop it may go on.
    taken: Condvar,
    /// Set by a waiter that has waited a whole interval; read by the holder at every
    /// checkpoint. Atomic so that the check costs one relaxed load.
    drop_request: AtomicBool,
    interval: Duration,
}

impl Gil {
    /// A free GIL with the given switch interval.
    pub fn new(interval: Duration) -> Self {
        Gil {
            state: Mutex::default(),
            released: Condvar::new(),
            taken: Condvar::new(),
            drop_request: AtomicBool::new(false),
            interval: interval.max(Duration::from_micros(1)),
        }
    }

    /// How many times the GIL has passed from one thread to another.
    pub fn switches(&self) -> u64 {
        self.lock_state().switches
    }

    /// Blocks until `worker` holds the GIL (CPython's `take_gil`).
    fn take(&self, worker: usize) {
        let mut state = self.lock_state();
        while state.locked {
            let seen = state.switch_number;
            let (next, timeout) = self
                .released
                .wait_timeout(state, self.interval)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            // A whole interval passed and nobody else took the GIL meanwhile: ask the
            // holder to let go at its next checkpoint.
            if timeout.timed_out() && state.locked && state.switch_number == seen {
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        state.locked = true;
        state.switch_number += 1;
        if state.last_holder.is_some_and(|last| last != worker) {
            state.switches += 1;
        }
        state.last_holder = Some(worker);
        // Our request, if we made one, has been granted.
        self.drop_request.store(false, Ordering::Relaxed);
        // Wake the thread that was forced out, if one is waiting for this moment.
        self.taken.notify_all();
    }

    /// Releases the GIL (CPython's `drop_gil`). With `forced`, also waits until
    /// another thread has taken it, so that the releasing thread cannot take it back
    /// at once and starve the thread that asked.
    fn drop_gil(&self, worker: usize, forced: bool) {
        let mut state = self.lock_state();
        state.locked = false;
        self.released.notify_one();
        if forced {
            while state.last_holder == Some(worker) && !state.locked {
                state = self
                    .taken
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this mutex cannot leave `State` inconsistent: each
        // critical section writes plain fields with no early exit.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One worker's hold on the GIL: the [`Context`] that tasks in the GIL pool see.
///
/// Created holding the lock. Records every interval it held the lock. If the guard is
/// dropped while holding the lock (a panic unwinding through a worker), it releases
/// the lock, so that the other threads are not left waiting forever.
#[derive(Debug)]
pub struct GilGuard<'a> {
    gil: &'a Gil,
    worker: usize,
    tid: i32,
    /// When this guard last took the lock, in Unix seconds.
    acquired_at: f64,
    /// The same moment on the monotonic clock.
    acquired_instant: Instant,
    /// Whether this guard holds the lock right now.
    holding: bool,
    held: Vec<HeldInterval>,
}

impl<'a> GilGuard<'a> {
    /// Blocks until `worker` holds `gil`.
    pub fn acquire(gil: &'a Gil, worker: usize) -> Self {
        gil.take(worker);
        GilGuard {
            gil,
            worker,
            tid: nix::unistd::gettid().as_raw(),
            acquired_at: procutil::unix_now(),
            acquired_instant: Instant::now(),
            holding: true,
            held: Vec::new(),
        }
    }

    /// Releases the lock for good and returns every interval this guard held it.
    pub fn release(mut self) -> Vec<HeldInterval> {
        self.let_go(false);
        std::mem::take(&mut self.held)
    }

    /// Records the end of the current hold and releases the lock; `forced` as in
    /// `Gil::drop_gil`.
    fn let_go(&mut self, forced: bool) {
        if !self.holding {
            return;
        }
        self.held.push(HeldInterval {
            worker: self.worker,
            tid: self.tid,
            acquired_at: self.acquired_at,
            released_at: procutil::unix_now(),
            acquired_instant: self.acquired_instant,
            released_instant: Instant::now(),
        });
        self.holding = false;
        self.gil.drop_gil(self.worker, forced);
    }

    fn reacquire(&mut self) {
        self.gil.take(self.worker);
        self.acquired_at = procutil::unix_now();
        self.acquired_instant = Instant::now();
        self.holding = true;
    }

    /// The slow path of [`checkpoint`](Context::checkpoint), kept out of line so
    /// that the check inlined into the recursion is a single load and branch.
    #[cold]
    #[inline(never)]
    fn yield_gil(&mut self) {
        self.let_go(true);
        self.reacquire();
    }
}

impl Drop for GilGuard<'_> {
    fn drop(&mut self) {
        self.let_go(false);
    }
}

impl Context for GilGuard<'_> {
    #[inline(always)]
    fn checkpoint(&mut self) {
        if self.gil.drop_request.load(Ordering::Relaxed) {
            self.yield_gil();
        }
    }

    fn allow_threads<R>(&mut self, blocking: impl FnOnce() -> R) -> R {
        /// Takes the lock back when dropped: after `blocking` returns, and also if it
        /// panics, so that a caught panic never leaves a worker believing it holds a
        /// lock it gave away (PyO3's `Python::detach` does the same).
        struct Retake<'g, 'a>(&'g mut GilGuard<'a>);
        impl Drop for Retake<'_, '_> {
            fn drop(&mut self) {
                self.0.reacquire();
            }
        }

        self.let_go(false);
        let _retake = Retake(self);
        blocking()
    }
}

/// A thread pool whose workers must hold one [`Gil`] to run: CPython's threads.
#[derive(Debug)]
pub struct GilThreadPool {
    workers: usize,
    gil: Gil,
    held: Mutex<Vec<HeldInterval>>,
    timeout: Option<TaskTimeout>,
}

impl GilThreadPool {
    /// A pool of `workers` threads sharing one GIL with the given switch interval.
    pub fn new(workers: usize, switch_interval: Duration) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        Ok(GilThreadPool {
            workers,
            gil: Gil::new(switch_interval),
            held: Mutex::default(),
            timeout: None,
        })
    }

    /// Sets (or, with `None`, removes) the task timeout, as for
    /// [`ThreadPool::set_task_timeout`](crate::ThreadPool::set_task_timeout): a task
    /// past it ends the process. A task's time includes its waits for the GIL.
    pub fn set_task_timeout(&mut self, timeout: Option<TaskTimeout>) {
        self.timeout = timeout;
    }

    /// How many times the GIL passed from one thread to another so far.
    pub fn switches(&self) -> u64 {
        self.gil.switches()
    }

    /// Every interval during which a worker held the GIL so far, in the order they
    /// were taken (sorted on the monotonic clock).
    pub fn held_intervals(&self) -> Vec<HeldInterval> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        held.sort_by_key(|h| h.acquired_instant);
        held
    }
}

impl Executor for GilThreadPool {
    fn kind(&self) -> PoolKind {
        PoolKind::Gil
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn map_chunked_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        let (gil, held) = (&self.gil, &self.held);
        let watchdog = self
            .timeout
            .map(|t| Watchdog::new(t, PoolKind::Gil, self.workers));
        run_workers(
            self.workers,
            inputs.len(),
            watchdog.as_ref(),
            |worker, claim| {
                // Like a new CPython thread, a worker needs the GIL before it runs anything.
                let mut guard = GilGuard::acquire(gil, worker);
                let finished = claim_loop(worker, claim, chunksize, watchdog.as_ref(), |index| {
                    let result = run_one(task, &inputs[index], &mut guard);
                    on_done();
                    result
                });
                let intervals = guard.release();
                held.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(intervals);
                finished
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step 3 of the header: a forced drop returns only once another worker has
    /// taken the GIL, so the thread that was asked to let go cannot take it straight
    /// back. (Without the wait, it would return at once, with the GIL still free.)
    #[test]
    fn a_forced_drop_waits_until_another_worker_has_the_gil() {
        let gil = Gil::new(Duration::from_millis(1));
        gil.take(0);
        let seen_on_return = Mutex::new(None);
        std::thread::scope(|s| {
            s.spawn(|| {
                gil.drop_gil(0, true);
                let state = gil.lock_state();
                *seen_on_return.lock().unwrap() = Some((state.locked, state.last_holder));
            });
            // Once the GIL is free, the drop has begun...
            let deadline = Instant::now() + Duration::from_secs(10);
            while gil.lock_state().locked {
                assert!(Instant::now() < deadline, "the GIL was never dropped");
                std::thread::sleep(Duration::from_millis(1));
            }
            // ...and a drop that does not wait returns within moments. Half a second
            // lets it do so however loaded the machine; a correct drop cannot return
            // before `take(1)` below, so this pause never makes the check fail.
            let deadline = Instant::now() + Duration::from_millis(500);
            while seen_on_return.lock().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            gil.take(1);
        });
        assert_eq!(
            seen_on_return.into_inner().unwrap(),
            Some((true, Some(1))),
            "(locked, last holder) when the forced drop returned: it did not wait for \
             worker 1 to take the GIL"
        );
    }
}
