//! Waiting for a resource to reach a state: core's loop ([`ack_net_core::wait`]), with its
//! timeout as this crate's [`Error::WaitTimeout`].

use std::future::Future;

pub(crate) use ack_net_core::wait::Look;
pub use ack_net_core::wait::{WaitPolicy, WaitTimeout};

use crate::Error;

/// Looks with `look` until it returns `Ready`, the policy's deadline passes (then
/// [`Error::WaitTimeout`]) or a look fails with an error that is neither retryable nor
/// "not found". A look in flight at the deadline is abandoned.
pub(crate) async fn wait_for<T, F, Fut>(
    policy: &WaitPolicy,
    resource: &'static str,
    id: &str,
    look: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>, Error>>,
{
    ack_net_core::wait::wait_for(policy, resource, id, "Available", look)
        .await
        .map_err(|end| end.or_timeout(Error::WaitTimeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

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
            Error::WaitTimeout(WaitTimeout { resource, id, last_seen, waited, .. }) => {
                assert_eq!((resource, id.as_str(), last_seen.as_str()), ("VSwitch", "vsw-1", "Pending"));
                assert_eq!(waited, Duration::from_secs(10));
            }
            other => panic!("{other:?}"),
        }
    }
}
