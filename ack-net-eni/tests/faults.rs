//! Faults: the waiters and compound operations ride out throttling and 5xx answers to their
//! reads (the client here does not retry, so every fault reaches them).

mod common;

use ack_net_core::ErrorInfo;

use ack_net_mock::FaultSpec;
use common::{env, wait};

#[tokio::test]
async fn compound_operations_survive_throttled_and_failing_reads() {
    let e = env("ecs.g7.large").await;
    let mut spec = FaultSpec::throttle(0.3);
    spec.server_error = 0.2;
    e.mock.set_fault("DescribeNetworkInterfaceAttribute", spec).unwrap();
    let eni = e.create().client_token("faulty-1").send_and_attach(&e.instance, &wait()).await.unwrap();
    assert!(eni.is_in_use_on(&e.instance));
    let done = e.ecs.network_interfaces().detach_and_delete(&eni.id, &wait()).await;
    // The first read of detach_and_delete is not a waiter: a fault there is returned, and
    // running it again carries on.
    let done = match done {
        Ok(d) => d,
        Err(err) => {
            assert!(err.is_retryable(), "{err}");
            e.mock.clear_faults();
            e.ecs.network_interfaces().detach_and_delete(&eni.id, &wait()).await.unwrap()
        }
    };
    assert_eq!(done.eni_id, eni.id);
    e.mock.clear_faults();
    assert!(e.ecs.network_interfaces().get(&eni.id).await.unwrap_err().is_not_found());
}
