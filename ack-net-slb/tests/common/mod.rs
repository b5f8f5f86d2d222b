//! Shared setup for the tests against ack-net-mock.

#![allow(dead_code)]

use std::time::Duration;

use ack_net_core::{CallStats, RetryPolicy};
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_mock::{NewVSwitch, NewVpc};
use ack_net_slb::{AddressType, InstanceSpec, LoadBalancerId, ServerCertificateId, SlbClient, VSwitchId, WaitPolicy};

/// A mock cloud and a client pointed at it.
pub struct Env {
    pub mock: MockCloud,
    pub slb: SlbClient,
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
    let mock = MockCloud::builder().seed(1).start().await.expect("mock starts");
    let stats = CallStats::new();
    let rpc = mock.client_builder().retry_policy(fast_retries()).observer(stats.clone()).build().expect("client");
    Env { mock, slb: SlbClient::new(rpc), stats }
}

/// A waiter policy for tests: 5 s, looking every 10-50 ms.
pub fn quick_wait() -> WaitPolicy {
    WaitPolicy::new(Duration::from_secs(5)).with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

/// A VPC `10.0.0.0/8` with a VSwitch `10.1.0.0/16` in cn-hangzhou-h, made in the mock state.
pub fn vswitch(mock: &MockCloud) -> VSwitchId {
    let vpc = mock
        .create_vpc(NewVpc {
            region_id: "cn-hangzhou".into(),
            cidr_block: Some("10.0.0.0/8".into()),
            ..Default::default()
        })
        .expect("vpc");
    let vsw = mock
        .create_vswitch(NewVSwitch {
            vpc_id: vpc,
            zone_id: "cn-hangzhou-h".into(),
            cidr_block: "10.1.0.0/16".into(),
            ..Default::default()
        })
        .expect("vswitch");
    vsw.parse().expect("VSwitch id")
}

/// An ECS instance on `vsw`: its id, its primary ENI and that ENI's address.
pub fn instance(mock: &MockCloud, vsw: &VSwitchId) -> (String, String, std::net::IpAddr) {
    let v = mock
        .create_instance(InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: vsw.to_string(),
            security_group_ids: vec![],
            instance_id: None,
        })
        .expect("instance");
    let s = |k: &str| v[k].as_str().expect(k).to_owned();
    (s("InstanceId"), s("NetworkInterfaceId"), s("PrivateIpAddress").parse().expect("ip"))
}

/// An internet load balancer with a spec (so it takes `eni` backends).
pub async fn internet_lb(slb: &SlbClient) -> LoadBalancerId {
    slb.load_balancers()
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S2Small)
        .send()
        .await
        .expect("load balancer")
        .load_balancer_id
}

/// A real certificate and key (the mock checks both).
pub async fn certificate(slb: &SlbClient) -> ServerCertificateId {
    slb.certificates()
        .upload("web", ack_net_mock::SAMPLES[0].certificate, ack_net_mock::SAMPLES[0].private_key)
        .send()
        .await
        .expect("certificate")
        .id
}
