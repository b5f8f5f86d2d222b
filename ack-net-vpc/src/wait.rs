//! Waiting for a resource to reach a state: poll with exponential backoff until a deadline,
//! on the tokio clock (so tests can pause it).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// How long a waiter waits and how often it looks. A value: build one and pass it in.
///
/// The first look is immediate; then the delay doubles from `initial_delay` up to
/// `max_delay`. Throttling, 5xx and other retryable errors, and "not found" (a resource just
/// created may not be listed yet), only mean "look again"; other errors end the wait.
///
/// ```
/// use std::time::Duration;
/// use ack_net_vpc::WaitPolicy;
/// let p = WaitPolicy::new(Duration::from_secs(120)).with_backoff(Duration::from_millis(500), Duration::from_secs(5));
/// assert_eq!(p.delay(1), Duration::from_millis(500));
/// assert_eq!(p.delay(2), Duration::from_secs(1));
/// assert_eq!(p.delay(10), Duration::from_secs(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    timeout: Duration,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Default for WaitPolicy {
    /// 5 minutes, looking after 1 s, 2 s, 4 s... at most every 15 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15),
        }
    }
}

impl WaitPolicy {
    /// The default backoff with this timeout.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, ..Self::default() }
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the backoff: the first delay and the longest.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial.max(Duration::from_millis(1));
        self.max_delay = max.max(self.initial_delay);
        self
    }

    /// The timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The delay after look number `look` (1-based).
    pub fn delay(&self, look: u32) -> Duration {
        let exp = look.saturating_sub(1).min(20);
        self.initial_delay.saturating_mul(1u32 << exp).min(self.max_delay)
    }
}

/// What one look found.
pub(crate) enum Look<T> {
    /// Done.
    Ready(T),
    /// Not yet; the status seen.
    NotYet(String),
}

/// Looks with `look` until it returns `Ready`, the policy's deadline passes (then
/// [`Error::WaitTimeout`]) or a look fails with an error that is neither retryable nor
/// "not found". A look in flight at the deadline is abandoned.
pub(crate) async fn wait_for<T, F, Fut>(
    policy: &WaitPolicy,
    resource: &'static str,
    id: &str,
    mut look: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, Error>>,
{
    let started = Instant::now();
    let deadline = started + policy.timeout;
    let mut last_seen = String::from("nothing yet");
    let mut n = 0u32;
    loop {
        n += 1;
        match tokio::time::timeout_at(deadline, look()).await {
            Err(_) => break,
            Ok(Ok(Look::Ready(t))) => {
                tracing::debug!(resource, id, looks = n, waited_ms = started.elapsed().as_millis() as u64, "ready");
                return Ok(t);
            }
            Ok(Ok(Look::NotYet(status))) => last_seen = status,
            Ok(Err(e)) if e.is_not_found() => last_seen = "not found".to_owned(),
            Ok(Err(e)) if e.is_retryable() => {
                tracing::debug!(resource, id, error = %e, "retryable error while waiting");
                last_seen = format!("error: {e}");
            }
            Ok(Err(e)) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(policy.delay(n).min(deadline - now)).await;
        if Instant::now() >= deadline {
            // One last look at the deadline would race it; the timeout is honest.
            break;
        }
    }
    Err(Error::WaitTimeout { resource, id: id.to_owned(), waited: started.elapsed(), last_seen })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn throttled() -> Error {
        Error::Api(ack_net_core::Error::Api {
            action: "DescribeVpcs".into(),
            error: Box::new(ack_net_core::ApiError {
                code: "Throttling.User".into(),
                status: 400,
                ..Default::default()
            }),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn polls_with_backoff_until_ready() {
        let policy =
            WaitPolicy::new(Duration::from_secs(60)).with_backoff(Duration::from_secs(1), Duration::from_secs(4));
        let looks = Cell::new(0u32);
        let t0 = Instant::now();
        let got = wait_for(&policy, "VPC", "vpc-1", || {
            looks.set(looks.get() + 1);
            let n = looks.get();
            async move {
                match n {
                    1 => Ok(Look::NotYet("Pending".into())),
                    2 => Err(throttled()),
                    3 => Err(Error::Api(ack_net_core::Error::Api {
                        action: "DescribeVpcs".into(),
                        error: Box::new(ack_net_core::ApiError {
                            code: "InvalidVpcId.NotFound".into(),
                            status: 404,
                            ..Default::default()
                        }),
                    })),
                    4 => Ok(Look::NotYet("Pending".into())),
                    _ => Ok(Look::Ready(n)),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 5);
        // Delays 1 + 2 + 4 + 4 (capped).
        assert_eq!(t0.elapsed(), Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_with_last_status() {
        let policy =
            WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_secs(3), Duration::from_secs(3));
        let t0 = Instant::now();
        let err =
            wait_for(&policy, "VSwitch", "vsw-1", || async { Ok::<_, Error>(Look::<()>::NotYet("Pending".into())) })
                .await
                .unwrap_err();
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
        match err {
            Error::WaitTimeout { resource, id, last_seen, waited } => {
                assert_eq!((resource, id.as_str(), last_seen.as_str()), ("VSwitch", "vsw-1", "Pending"));
                assert_eq!(waited, Duration::from_secs(10));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn abandons_a_slow_look_at_the_deadline() {
        let policy = WaitPolicy::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let err = wait_for(&policy, "VPC", "vpc-1", || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Error>(Look::Ready(()))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::WaitTimeout { .. }));
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_on_a_permanent_error() {
        let policy = WaitPolicy::default();
        let err =
            wait_for(&policy, "VPC", "vpc-1", || async { Err::<Look<()>, _>(Error::invalid_input("VpcId", "bad")) })
                .await
                .unwrap_err();
        assert!(err.is_invalid_input());
    }
}
