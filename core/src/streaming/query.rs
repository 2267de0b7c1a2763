//! [`StreamingQuery`]: the handle of a running query (Spark's `StreamingQuery`), and
//! [`StreamingQueryManager`], the session's list of active queries.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::progress::StreamingQueryProgress;
use crate::error::{EmberError, Result};

/// How many progress records a query keeps (Spark's `spark.sql.streaming.numRecentProgressUpdates`).
const RECENT_PROGRESS: usize = 100;

/// What a query is doing now (Spark's `StreamingQueryStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingQueryStatus {
    /// A human-readable description, e.g. `Waiting for data to arrive`.
    pub message: String,
    /// Whether the last trigger found new data.
    pub is_data_available: bool,
    /// Whether a trigger is running.
    pub is_trigger_active: bool,
}

#[derive(Default)]
struct State {
    terminated: bool,
    exception: Option<Arc<EmberError>>,
    recent: VecDeque<StreamingQueryProgress>,
    status: Option<StreamingQueryStatus>,
    /// Triggers that found no new data, so far.
    idle_triggers: u64,
}

/// What the query's thread and its handles share.
pub(crate) struct QueryShared {
    pub(crate) id: String,
    pub(crate) run_id: String,
    pub(crate) name: Option<String>,
    pub(crate) explain: String,
    stop: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl QueryShared {
    pub(crate) fn new(id: String, run_id: String, name: Option<String>, explain: String) -> Self {
        QueryShared {
            id,
            run_id,
            name,
            explain,
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                status: Some(StreamingQueryStatus {
                    message: "Initializing sources".to_owned(),
                    is_data_available: false,
                    is_trigger_active: false,
                }),
                ..State::default()
            }),
            changed: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub(crate) fn set_thread(&self, handle: JoinHandle<()>) {
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
    }

    pub(crate) fn set_status(&self, message: &str, data: bool, active: bool) {
        self.lock().status = Some(StreamingQueryStatus {
            message: message.to_owned(),
            is_data_available: data,
            is_trigger_active: active,
        });
    }

    /// Records a trigger that found no new data.
    pub(crate) fn idle(&self) {
        let mut state = self.lock();
        state.idle_triggers += 1;
        state.status = Some(StreamingQueryStatus {
            message: super::execution::WAITING_FOR_DATA.to_owned(),
            is_data_available: false,
            is_trigger_active: false,
        });
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn push_progress(&self, progress: StreamingQueryProgress) {
        let mut state = self.lock();
        if state.recent.len() == RECENT_PROGRESS {
            state.recent.pop_front();
        }
        state.recent.push_back(progress);
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn terminate(&self, error: Option<EmberError>) {
        let mut state = self.lock();
        state.terminated = true;
        state.exception = error.map(Arc::new);
        state.status = Some(StreamingQueryStatus {
            message: "Stopped".to_owned(),
            is_data_available: false,
            is_trigger_active: false,
        });
        drop(state);
        self.changed.notify_all();
    }

    /// Sleeps up to `d`, waking early when the query is asked to stop.
    pub(crate) fn sleep(&self, d: Duration) {
        let state = self.lock();
        if self.stop_requested() {
            return;
        }
        let _ = self.changed.wait_timeout(state, d);
    }
}

/// The handle of a started query. Clones refer to the same query.
#[derive(Clone)]
pub struct StreamingQuery {
    pub(crate) shared: Arc<QueryShared>,
}

impl std::fmt::Debug for StreamingQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingQuery")
            .field("id", &self.shared.id)
            .field("run_id", &self.shared.run_id)
            .field("name", &self.shared.name)
            .finish()
    }
}

impl StreamingQuery {
    /// The query id: the same after a restart from the same checkpoint.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// This run's id: new on every start.
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    /// The query name, if one was given.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether the query is still running.
    pub fn is_active(&self) -> bool {
        !self.shared.lock().terminated
    }

    /// Blocks until the query ends; the error that ended it, if one did.
    pub fn await_termination(&self) -> Result<()> {
        let mut state = self.shared.lock();
        while !state.terminated {
            state = self.shared.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.exception.clone().map_or(Ok(()), |e| Err(EmberError::Terminated(e)))
    }

    /// Blocks until the query ends or `timeout` passes; `Ok(true)` if it ended.
    pub fn await_termination_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !state.terminated {
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.exception.clone().map_or(Ok(true), |e| Err(EmberError::Terminated(e)))
    }

    /// Stops the query after the batch in progress, and waits for its thread.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.changed.notify_all();
        let handle = self.shared.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }

    /// The error that ended the query, if one did.
    pub fn exception(&self) -> Option<Arc<EmberError>> {
        self.shared.lock().exception.clone()
    }

    /// The progress of the last batch.
    pub fn last_progress(&self) -> Option<StreamingQueryProgress> {
        self.shared.lock().recent.back().cloned()
    }

    /// The progress of the recent batches, oldest first.
    pub fn recent_progress(&self) -> Vec<StreamingQueryProgress> {
        self.shared.lock().recent.iter().cloned().collect()
    }

    /// What the query is doing now.
    pub fn status(&self) -> StreamingQueryStatus {
        self.shared.lock().status.clone().unwrap_or(StreamingQueryStatus {
            message: String::new(),
            is_data_available: false,
            is_trigger_active: false,
        })
    }

    /// The logical and physical plans, as `explain()` prints them.
    pub fn explain_string(&self) -> String {
        self.shared.explain.clone()
    }

    /// Prints the logical and physical plans.
    pub fn explain(&self) {
        print!("{}", self.shared.explain);
    }

    /// Blocks until everything the source had when called has been processed, or the query
    /// ended: until two triggers that started after the call found no new data.
    pub fn process_all_available(&self) -> Result<()> {
        let mut state = self.shared.lock();
        let target = state.idle_triggers + 2;
        while !state.terminated && state.idle_triggers < target {
            state = self.shared.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.exception.clone().map_or(Ok(()), |e| Err(EmberError::Terminated(e)))
    }
}

/// The session's active queries (Spark's `StreamingQueryManager`).
#[derive(Clone, Default)]
pub struct StreamingQueryManager {
    queries: Arc<Mutex<Vec<StreamingQuery>>>,
}

impl StreamingQueryManager {
    /// The queries still running.
    pub fn active(&self) -> Vec<StreamingQuery> {
        let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
        queries.retain(StreamingQuery::is_active);
        queries.clone()
    }

    /// The active query with id `id`.
    pub fn get(&self, id: &str) -> Option<StreamingQuery> {
        self.active().into_iter().find(|q| q.id() == id)
    }

    pub(crate) fn add(&self, query: StreamingQuery) {
        self.queries.lock().unwrap_or_else(|e| e.into_inner()).push(query);
    }

    /// Blocks until any active query ends.
    pub fn await_any_termination(&self) -> Result<()> {
        loop {
            let active = self.active();
            if active.is_empty() {
                return Ok(());
            }
            for q in &active {
                if q.await_termination_timeout(Duration::from_millis(20))? {
                    return Ok(());
                }
            }
        }
    }
}
