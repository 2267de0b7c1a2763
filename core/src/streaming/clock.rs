//! [`Clock`]: where a query's processing time comes from. Queries use the system clock;
//! tests give a [`ManualClock`] to a query so that processing-time triggers fire only when the
//! test advances it (Spark's `StreamManualClock`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of processing time, in milliseconds since the epoch.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now_ms(&self) -> i64;
    /// Waits until the time is at least `deadline_ms` or `max_wait` of real time has passed,
    /// whichever is first; returns the time then.
    fn wait_until(&self, deadline_ms: i64, max_wait: Duration) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }

    fn wait_until(&self, deadline_ms: i64, max_wait: Duration) -> i64 {
        let now = self.now_ms();
        if now < deadline_ms {
            let wait = Duration::from_millis((deadline_ms - now) as u64).min(max_wait);
            std::thread::sleep(wait);
        }
        self.now_ms()
    }
}

/// A clock that moves only when told to. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    inner: Arc<(Mutex<i64>, Condvar)>,
}

impl ManualClock {
    /// A clock at `start_ms`.
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock { inner: Arc::new((Mutex::new(start_ms), Condvar::new())) }
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: i64) {
        let (time, changed) = &*self.inner;
        *time.lock().unwrap_or_else(|e| e.into_inner()) += ms;
        changed.notify_all();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_until(&self, deadline_ms: i64, max_wait: Duration) -> i64 {
        let (time, changed) = &*self.inner;
        let guard = time.lock().unwrap_or_else(|e| e.into_inner());
        if *guard >= deadline_ms {
            return *guard;
        }
        let (guard, _) = changed
            .wait_timeout_while(guard, max_wait, |t| *t < deadline_ms)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}
