//! Shared setup for the tests against ack-net-mock.

#![allow(dead_code)]

use std::time::Duration;

use ack_net_core::{CallStats, RetryPolicy};
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_mock::{NewVSwitch, NewVpc};
use ack_net_vpc::{VpcClient, WaitPolicy};

/// A mock cloud and a client pointed at it.
pub struct Env {
    pub mock: MockCloud,
    pub client: VpcClient,
    pub stats: CallStats,
}

/// Retries quick enough for tests (real time: the mock is behind a real socket).
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_attempt_limit(6)
        .with_backoff(Duration::from_millis(2), Duration::from_millis(20))
        .with_throttle_backoff(Duration::from_millis(5))
}

pub async fn env() -> Env {
    env_with(MockCloud::builder().seed(1), fast_retries()).await
}

pub async fn env_with(builder: ack_net_mock::MockCloudBuilder, retry: RetryPolicy) -> Env {
    let mock = builder.start().await.expect("mock starts");
    let stats = CallStats::new();
    let rpc = mock.client_builder().retry_policy(retry).observer(stats.clone()).build().expect("client");
    Env { mock, client: VpcClient::new(rpc), stats }
}

/// A typed id (or zone) from its text; ids are checked when made.
pub fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("a valid id")
}

/// A waiter policy for tests: 5 s, looking every 10-50 ms.
pub fn quick_wait() -> WaitPolicy {
    WaitPolicy::new(Duration::from_secs(5)).with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

/// Creates a VPC directly in the mock state.
pub fn seed_vpc(mock: &MockCloud, cidr: &str) -> String {
    mock.create_vpc(NewVpc { region_id: "cn-hangzhou".into(), cidr_block: Some(cidr.into()), ..Default::default() })
        .expect("vpc")
}

/// Creates a VSwitch directly in the mock state.
pub fn seed_vswitch(mock: &MockCloud, vpc: &str, zone: &str, cidr: &str) -> String {
    mock.create_vswitch(NewVSwitch {
        vpc_id: vpc.into(),
        zone_id: zone.into(),
        cidr_block: cidr.into(),
        ..Default::default()
    })
    .expect("vswitch")
}

/// Creates an ECS instance (with its primary ENI, which takes an address) in `vswitch`.
pub fn seed_instance(mock: &MockCloud, vswitch: &str) -> String {
    let v = mock
        .create_instance(InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: vswitch.into(),
            security_group_ids: Vec::new(),
            instance_id: None,
        })
        .expect("instance");
    v["InstanceId"].as_str().expect("id").to_owned()
}

/// The route table of a VPC created in the mock.
pub fn route_table_of(mock: &MockCloud, vpc: &str) -> String {
    mock.with_state(|s| s.vpc.vpcs[vpc].route_table_id.clone())
}
