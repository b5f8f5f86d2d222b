//! Observing calls: a hook called after every attempt, and a ready counter of calls per
//! action and outcome that tests and benchmarks assert on.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::endpoint::Product;
use crate::error::ErrorClass;

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallOutcome {
    /// The API answered with success.
    Success,
    /// The attempt failed with an error of this class.
    Error(ErrorClass),
}

/// One attempt of one call, as observers see it.
#[derive(Clone, Debug)]
pub struct CallEvent<'a> {
    /// The product.
    pub product: Product,
    /// The action.
    pub action: &'a str,
    /// Whether the call changes state.
    pub write: bool,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// How the attempt ended.
    pub outcome: CallOutcome,
    /// How long the attempt took (rate-limit waits excluded).
    pub latency: Duration,
    /// The request id, when the API answered.
    pub request_id: Option<&'a str>,
    /// Whether this was the last attempt of the call (success, or an error returned).
    pub is_final: bool,
}

/// Receives every attempt the client makes. Must be cheap: it runs inline.
pub trait CallObserver: Send + Sync + fmt::Debug {
    /// Called after each attempt.
    fn on_attempt(&self, event: &CallEvent<'_>);
}

/// Counts per action, as [`CallStats::snapshot`] returns them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActionCounts {
    /// Attempts sent (each one an API call).
    pub attempts: u64,
    /// Attempts that succeeded.
    pub successes: u64,
    /// Attempts that failed.
    pub errors: u64,
    /// Attempts that were throttled.
    pub throttled: u64,
    /// Whether the action is a write.
    pub write: bool,
}

/// A [`CallObserver`] that counts attempts per action and outcome. Cheap to clone; clones
/// share their counts.
///
/// ```
/// use ack_net_core::CallStats;
/// let stats = CallStats::new();
/// assert_eq!(stats.total(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallStats(Arc<Mutex<BTreeMap<String, ActionCounts>>>);

impl CallStats {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts per action.
    pub fn snapshot(&self) -> BTreeMap<String, ActionCounts> {
        crate::lock(&self.0).clone()
    }

    /// All attempts.
    pub fn total(&self) -> u64 {
        crate::lock(&self.0).values().map(|c| c.attempts).sum()
    }

    /// Attempts of write actions.
    pub fn writes(&self) -> u64 {
        crate::lock(&self.0).values().filter(|c| c.write).map(|c| c.attempts).sum()
    }

    /// Attempts of read actions.
    pub fn reads(&self) -> u64 {
        self.total() - self.writes()
    }

    /// Attempts of one action.
    pub fn calls(&self, action: &str) -> u64 {
        crate::lock(&self.0).get(action).map_or(0, |c| c.attempts)
    }

    /// Forgets everything counted so far.
    pub fn reset(&self) {
        crate::lock(&self.0).clear();
    }
}

impl CallObserver for CallStats {
    fn on_attempt(&self, e: &CallEvent<'_>) {
        let mut m = crate::lock(&self.0);
        let c = m.entry(e.action.to_owned()).or_default();
        c.attempts += 1;
        c.write = e.write;
        match e.outcome {
            CallOutcome::Success => c.successes += 1,
            CallOutcome::Error(class) => {
                c.errors += 1;
                if class == ErrorClass::Throttled {
                    c.throttled += 1;
                }
            }
        }
    }
}

impl fmt::Display for CallStats {
    /// A table: action, attempts, successes, errors, throttled.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.snapshot();
        let w = snap.keys().map(String::len).max().unwrap_or(6).max(6);
        writeln!(f, "{:<w$}  {:>5}  {:>5}  {:>5}  {:>9}", "action", "calls", "ok", "error", "throttled")?;
        for (action, c) in &snap {
            writeln!(f, "{action:<w$}  {:>5}  {:>5}  {:>5}  {:>9}", c.attempts, c.successes, c.errors, c.throttled)?;
        }
        Ok(())
    }
}
