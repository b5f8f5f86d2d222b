//! Waiting for a resource to reach a state: core's loop ([`ack_net_core::wait::wait_until`]),
//! with its timeout as this crate's [`Error::WaitTimeout`] (`From<WaitTimeout>`).

pub(crate) use ack_net_core::wait::{wait_until, Look};
pub use ack_net_core::wait::{WaitPolicy, WaitTimeout};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::time::Duration;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn times_out_with_last_status() {
        let policy =
            WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_secs(3), Duration::from_secs(3));
        let t0 = Instant::now();
        let err = wait_until(&policy, "VSwitch", "vsw-1", "Available", || async {
            Ok::<_, Error>(Look::<()>::NotYet("Pending".into()))
        })
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
