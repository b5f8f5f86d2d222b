//! Retry policy (attempts, time limit, exponential backoff with full jitter) and a retry
//! budget that keeps a storm of failures from multiplying load.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::ErrorClass;

/// When and how long to wait before retrying a call. A value: compose it and pass it to the
/// client builder.
///
/// ```
/// use std::time::Duration;
/// use ack_net_core::RetryPolicy;
/// let p = RetryPolicy::default()
///     .with_attempt_limit(3)
///     .with_time_limit(Duration::from_secs(10))
///     .with_backoff(Duration::from_millis(50), Duration::from_secs(2));
/// assert_eq!(p.max_attempts(), 3);
/// assert!(p.backoff(2, ack_net_core::ErrorClass::Retryable) <= Duration::from_millis(100));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    time_limit: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    throttle_initial_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts within 60 s, backoff from 100 ms (500 ms when throttled) up to 10 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            time_limit: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            throttle_initial_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn no_retry() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// At most `n` attempts in all (at least 1).
    pub fn with_attempt_limit(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// No retry starts after `limit` has passed since the first attempt.
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Backoff bounds: attempt `n` waits a random time in `[0, min(max, initial * 2^(n-1))]`.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The initial backoff used after a throttling error (longer: the window must pass).
    pub fn with_throttle_backoff(mut self, initial: Duration) -> Self {
        self.throttle_initial_backoff = initial;
        self
    }

    /// The attempt limit.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time limit.
    pub fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed with
    /// `class`: full jitter over an exponentially growing ceiling.
    pub fn backoff(&self, attempt: u32, class: ErrorClass) -> Duration {
        let ceiling = self.backoff_ceiling(attempt, class);
        if class == ErrorClass::NonceReused {
            return Duration::ZERO;
        }
        ceiling.mul_f64(fastrand::f64())
    }

    /// The upper bound of [`RetryPolicy::backoff`].
    pub fn backoff_ceiling(&self, attempt: u32, class: ErrorClass) -> Duration {
        let base = if class == ErrorClass::Throttled { self.throttle_initial_backoff } else { self.initial_backoff };
        let exp = attempt.saturating_sub(1).min(20);
        base.saturating_mul(1u32 << exp).min(self.max_backoff.max(base))
    }
}

/// A shared budget of retries (a token bucket, as in the AWS SDKs' standard mode): each
/// retry spends tokens, each success returns one. When the budget is empty, failures are
/// returned at once instead of retried, so an outage does not multiply load.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    retry_cost: u32,
    timeout_cost: u32,
    tokens: Mutex<u32>,
}

impl Default for RetryBudget {
    /// 500 tokens, 5 per retry, 10 per retry after a timeout, 1 back per success.
    fn default() -> Self {
        Self::new(500, 5, 10)
    }
}

impl RetryBudget {
    /// A budget of `capacity` tokens, `retry_cost` per retry and `timeout_cost` per retry after
    /// a timeout or transport error.
    pub fn new(capacity: u32, retry_cost: u32, timeout_cost: u32) -> Self {
        Self { capacity, retry_cost, timeout_cost, tokens: Mutex::new(capacity) }
    }

    /// A budget that never runs out.
    pub fn unlimited() -> Self {
        Self::new(u32::MAX, 0, 0)
    }

    /// Takes the cost of one retry after an error of `class`; `false` when the budget cannot
    /// pay it (then do not retry).
    pub fn try_acquire(&self, class: ErrorClass) -> bool {
        let cost = match class {
            ErrorClass::Timeout | ErrorClass::Transport => self.timeout_cost,
            ErrorClass::NonceReused => 0,
            _ => self.retry_cost,
        };
        let mut t = crate::lock(&self.tokens);
        if *t >= cost {
            *t -= cost;
            true
        } else {
            false
        }
    }

    /// Returns one token after a success. Saturating: a full budget (the unlimited one is
    /// full at `u32::MAX`) stays full instead of wrapping to empty.
    pub fn on_success(&self) {
        let mut t = crate::lock(&self.tokens);
        *t = t.saturating_add(1).min(self.capacity);
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *crate::lock(&self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(1, ErrorClass::Retryable), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2, ErrorClass::Retryable), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(5, ErrorClass::Retryable), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(100, ErrorClass::Retryable), Duration::from_secs(1));
        for attempt in 1..10 {
            let b = p.backoff(attempt, ErrorClass::Retryable);
            assert!(b <= p.backoff_ceiling(attempt, ErrorClass::Retryable));
        }
        assert_eq!(p.backoff(3, ErrorClass::NonceReused), Duration::ZERO);
        assert!(p.backoff_ceiling(1, ErrorClass::Throttled) > p.backoff_ceiling(1, ErrorClass::Retryable));
    }

    #[test]
    fn budget_drains_and_refills() {
        let b = RetryBudget::new(10, 5, 10);
        assert!(b.try_acquire(ErrorClass::Retryable));
        assert!(b.try_acquire(ErrorClass::Throttled));
        assert!(!b.try_acquire(ErrorClass::Retryable));
        assert!(b.try_acquire(ErrorClass::NonceReused));
        for _ in 0..5 {
            b.on_success();
        }
        assert!(b.try_acquire(ErrorClass::Retryable));
        for _ in 0..100 {
            b.on_success();
        }
        assert_eq!(b.available(), 10);
        assert!(RetryBudget::unlimited().try_acquire(ErrorClass::Timeout));
    }

    #[test]
    fn an_unlimited_budget_stays_full_after_successes() {
        // `u32::MAX + 1` panicked in debug builds and wrapped to an empty budget in release.
        let b = RetryBudget::unlimited();
        b.on_success();
        b.on_success();
        assert_eq!(b.available(), u32::MAX);
        assert!(b.try_acquire(ErrorClass::Retryable));
        assert_eq!(b.available(), u32::MAX);
    }
}
