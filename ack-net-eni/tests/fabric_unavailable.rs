//! A fabric that cannot start: the mock names what is missing and its API serves on.
//! (This test process never enters the namespace sandbox; `tests/fabric.rs` does.)

#![cfg(target_os = "linux")]

use ack_net_mock::fabric::{FabricConfig, FabricError};
use ack_net_mock::MockCloud;
use ack_net_vpc::VpcClient;

#[tokio::test]
async fn without_the_sandbox_the_fabric_names_it_and_the_api_serves() {
    let mock = MockCloud::builder().fabric(FabricConfig::default()).start().await.expect("the mock starts");
    let e = mock.fabric_error().expect("no fabric outside the sandbox");
    assert!(matches!(e, FabricError::NoSandbox), "{e:?}");
    assert!(e.to_string().contains("enter_sandbox"), "{e}");
    assert!(mock.fabric().is_none());
    let rpc = mock.client_builder().build().expect("a client");
    let vpc = VpcClient::new(rpc).vpcs().create().cidr_block("10.0.0.0/16").send().await.expect("the API serves");
    assert!(vpc.vpc_id.as_str().starts_with("vpc-"));
    assert!(mock.dump().get("fabric").is_none(), "no fabric report");
    mock.shutdown().await;
}
