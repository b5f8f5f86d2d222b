//! Waiting for a resource to reach a state: core's loop ([`ack_net_core::wait::wait_until`]),
//! with its timeout as this crate's [`Error::WaitTimeout`] (`From<WaitTimeout>`). The policy is ack-net-vpc's
//! [`WaitPolicy`] (core's), so one value configures every waiter of the family.

pub(crate) use ack_net_core::wait::{wait_until, Look};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, WaitPolicy};
    use ack_net_core::ErrorInfo;
    use std::cell::Cell;
    use std::time::Duration;
    use tokio::time::Instant;

    fn api(code: &str, status: u16) -> Error {
        Error::Api(ack_net_core::Error::Api {
            action: "DescribeLoadBalancerAttribute".into(),
            error: Box::new(ack_net_core::ApiError { code: code.into(), status, ..Default::default() }),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_and_stops_on_permanent_errors() {
        let policy =
            WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_secs(3), Duration::from_secs(3));
        let t0 = Instant::now();
        let err = wait_until(&policy, "listener", "lb-1:80/tcp", "running", || async {
            Ok::<_, Error>(Look::<()>::NotYet("stopped".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
        match err {
            Error::WaitTimeout(crate::WaitTimeout { resource, id, last_seen, wanted, .. }) => {
                assert_eq!(
                    (resource, id.as_str(), last_seen.as_str(), wanted.as_str()),
                    ("listener", "lb-1:80/tcp", "stopped", "running")
                );
            }
            other => panic!("{other:?}"),
        }
        let looks = Cell::new(0);
        let err = wait_until(&policy, "listener", "x", "running", || {
            looks.set(looks.get() + 1);
            async { Err::<Look<()>, _>(api("InvalidParameter", 400)) }
        })
        .await
        .unwrap_err();
        assert!(err.is_invalid_input());
        assert_eq!(looks.get(), 1);
    }
}
