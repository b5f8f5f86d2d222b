//! [`Backoff`]: the delays between retries of an object whose reconcile keeps failing.

use std::time::Duration;

/// Delays between retries of a failing object: `min`, doubling up to `max`. Errors in the
/// object itself (an invalid annotation) wait `max`: a change to the object triggers a new
/// reconcile anyway.
///
/// ```
/// use std::time::Duration;
/// use ack_net_k8s::Backoff;
///
/// let b = Backoff { min: Duration::from_secs(1), max: Duration::from_secs(10) };
/// assert_eq!(b.delay(1), Duration::from_secs(1));
/// assert_eq!(b.delay(3), Duration::from_secs(4));
/// assert_eq!(b.delay(40), Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { min: Duration::from_secs(5), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The delay after `failures` failures in a row (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }
}
