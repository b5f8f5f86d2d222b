//! Waiting for a resource to reach a state: poll with exponential backoff until a deadline,
//! on the tokio clock (so tests can pause it). One loop for the waiters of every product
//! crate; each wraps the one [`WaitTimeout`] in its own error.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::ErrorInfo;

/// How long a waiter waits and how often it looks. A value: build one and pass it in.
///
/// The first look is immediate; then the delay doubles from `initial_delay` up to
/// `max_delay`. Throttling, 5xx and other retryable errors, and "not found" (a resource just
/// created may not be listed yet), only mean "look again"; other errors end the wait.
///
/// ```
/// use std::time::Duration;
/// use ack_net_core::wait::WaitPolicy;
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Look<T> {
    /// Done.
    Ready(T),
    /// Not yet; the status seen.
    NotYet(String),
}

/// A waiter's deadline passed before the resource reached the state waited for: the one
/// shape that every product crate's `Error::WaitTimeout` variant wraps.
///
/// ```
/// use std::time::Duration;
/// use ack_net_core::wait::WaitTimeout;
/// let t = WaitTimeout {
///     resource: "VSwitch",
///     id: "vsw-1".into(),
///     wanted: "Available".into(),
///     waited: Duration::from_secs(10),
///     last_seen: "Pending".into(),
/// };
/// assert_eq!(t.to_string(), "VSwitch vsw-1 was not Available after 10s (last seen: Pending)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{resource} {id} was not {wanted} after {waited:?} (last seen: {last_seen})")]
pub struct WaitTimeout {
    /// What was waited for: `"VPC"`, `"VSwitch"`, `"ENI"`, `"load balancer"`, `"listener"`...
    pub resource: &'static str,
    /// The resource's id (`vsw-...`; `lb-...:port/protocol` for a listener).
    pub id: String,
    /// The state waited for (`Available`, `InUse on i-...`, `gone`, `active`...).
    pub wanted: String,
    /// How long the waiter waited.
    pub waited: Duration,
    /// The last status seen, or why it was not seen (`not found`, an error).
    pub last_seen: String,
}

/// How a wait ended without the resource being ready.
#[derive(Debug)]
pub enum WaitEnd<E> {
    /// A look failed with an error that is neither retryable nor "not found".
    Failed(E),
    /// The policy's deadline passed.
    TimedOut(WaitTimeout),
}

impl<E> WaitEnd<E> {
    /// The error for this end: a failed look's own, or the timeout wrapped by `timeout`
    /// (a product crate's `Error::WaitTimeout`).
    pub fn or_timeout(self, timeout: impl FnOnce(WaitTimeout) -> E) -> E {
        match self {
            WaitEnd::Failed(e) => e,
            WaitEnd::TimedOut(t) => timeout(t),
        }
    }
}

/// [`wait_for`] for a product crate, whose error has a variant for a timeout
/// (`From<WaitTimeout>`): the deadline passing is that variant, a failed look its own error.
pub async fn wait_until<T, E, F, Fut>(
    policy: &WaitPolicy,
    resource: &'static str,
    id: &str,
    wanted: &str,
    look: F,
) -> Result<T, E>
where
    E: std::fmt::Display + ErrorInfo + From<WaitTimeout>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, E>>,
{
    wait_for(policy, resource, id, wanted, look).await.map_err(|end| end.or_timeout(E::from))
}

/// Looks with `look` until it returns `Ready`, the policy's deadline passes (then
/// [`WaitEnd::TimedOut`]) or a look fails with an error whose class is neither
/// retryable nor [`NotFound`](crate::ErrorClass::NotFound) (a resource just created may
/// not be visible yet).
/// A look in flight at the deadline is abandoned. `resource`, `id` and `wanted` name the
/// wait in traces.
pub async fn wait_for<T, E, F, Fut>(
    policy: &WaitPolicy,
    resource: &'static str,
    id: &str,
    wanted: &str,
    mut look: F,
) -> Result<T, WaitEnd<E>>
where
    E: std::fmt::Display + ErrorInfo,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, E>>,
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
                tracing::debug!(
                    resource,
                    id,
                    wanted,
                    looks = n,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "ready"
                );
                return Ok(t);
            }
            Ok(Ok(Look::NotYet(status))) => last_seen = status,
            Ok(Err(e)) if e.is_not_found() => last_seen = "not found".to_owned(),
            Ok(Err(e)) if e.is_retryable() => {
                tracing::debug!(resource, id, error = %e, "retryable error while waiting");
                last_seen = format!("error: {e}");
            }
            Ok(Err(e)) => return Err(WaitEnd::Failed(e)),
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
    Err(WaitEnd::TimedOut(WaitTimeout {
        resource,
        id: id.to_owned(),
        wanted: wanted.to_owned(),
        waited: started.elapsed(),
        last_seen,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::cell::Cell;

    fn api(code: &str, status: u16) -> Error {
        Error::Api {
            action: "DescribeVpcs".into(),
            error: Box::new(crate::ApiError { code: code.into(), status, ..Default::default() }),
        }
    }

    async fn wait<T>(
        policy: &WaitPolicy,
        look: impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Result<Look<T>, Error>>>>,
    ) -> Result<T, WaitEnd<Error>> {
        wait_for(policy, "VPC", "vpc-1", "Available", look).await
    }

    #[tokio::test(start_paused = true)]
    async fn polls_with_backoff_until_ready() {
        let policy =
            WaitPolicy::new(Duration::from_secs(60)).with_backoff(Duration::from_secs(1), Duration::from_secs(4));
        let looks = Cell::new(0u32);
        let t0 = Instant::now();
        let got = wait(&policy, || {
            looks.set(looks.get() + 1);
            let n = looks.get();
            Box::pin(async move {
                match n {
                    1 => Ok(Look::NotYet("Pending".into())),
                    2 => Err(api("Throttling.User", 400)),
                    3 => Err(api("InvalidVpcId.NotFound", 404)),
                    4 => Ok(Look::NotYet("Pending".into())),
                    _ => Ok(Look::Ready(n)),
                }
            })
        })
        .await
        .unwrap();
        assert_eq!(got, 5);
        // Delays 1 + 2 + 4 + 4 (capped).
        assert_eq!(t0.elapsed(), Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn abandons_a_slow_look_at_the_deadline() {
        let policy = WaitPolicy::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let end = wait(&policy, || {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(Look::Ready(()))
            })
        })
        .await
        .unwrap_err();
        assert!(matches!(end, WaitEnd::TimedOut { .. }));
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_on_a_permanent_error() {
        let looks = Cell::new(0);
        let end = wait(&WaitPolicy::default(), || {
            looks.set(looks.get() + 1);
            Box::pin(async { Err::<Look<()>, _>(Error::invalid_input("VpcId", "bad")) })
        })
        .await
        .unwrap_err();
        assert!(matches!(end, WaitEnd::Failed(Error::InvalidInput { .. })));
        assert_eq!(looks.get(), 1);
    }
}
