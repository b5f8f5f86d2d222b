//! Waiting for an ENI to reach a state: core's loop ([`ack_net_core::wait::wait_until`]),
//! with its timeout as this crate's [`Error::WaitTimeout`] (`From<WaitTimeout>`). The policy is ack-net-vpc's
//! [`WaitPolicy`] (core's), so one value configures every waiter of the family.

pub(crate) use ack_net_core::wait::{wait_until, Look};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, WaitPolicy};
    use ack_net_core::ErrorInfo;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn waits_with_backoff_then_times_out() {
        let policy =
            WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_secs(1), Duration::from_secs(4));
        let looks = AtomicU32::new(0);
        let t0 = Instant::now();
        let r: Result<(), Error> = wait_until(&policy, "ENI", "eni-1", "Available", || {
            looks.fetch_add(1, Ordering::SeqCst);
            async { Ok(Look::NotYet("InUse".to_owned())) }
        })
        .await;
        match r {
            Err(Error::WaitTimeout(crate::WaitTimeout { last_seen, wanted, .. })) => {
                assert_eq!(last_seen, "InUse");
                assert_eq!(wanted, "Available");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
        // Looks at 0, 1, 3, 7 s (delays 1, 2, 4, then capped by the deadline).
        assert_eq!(looks.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn ready_after_some_looks_and_fatal_errors_stop() {
        let policy =
            WaitPolicy::new(Duration::from_secs(60)).with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        let looks = AtomicU32::new(0);
        let got: u32 = wait_until(&policy, "ENI", "eni-1", "InUse", || {
            let n = looks.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    Ok::<_, Error>(Look::NotYet("Attaching".into()))
                } else {
                    Ok(Look::Ready(n))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
        let r: Result<(), Error> =
            wait_until(&policy, "ENI", "eni-1", "InUse", || async { Err(Error::invalid_input("x", "y")) }).await;
        assert!(r.unwrap_err().is_invalid_input());
    }
}
