//! Shared setup of the integration tests: a mock cloud with a VPC, two VSwitches (one with
//! IPv6), a security group and an instance, and an ECS client that counts its calls.

#![allow(dead_code)]

use std::time::Duration;

use ack_net_core::CallStats;
use ack_net_eni::{EcsClient, InstanceId, SecurityGroupId, WaitPolicy};
use ack_net_mock::{InstanceSeed, MockCloud};

pub const REGION: &str = "cn-hangzhou";
pub const ZONE: &str = "cn-hangzhou-h";

pub struct Env {
    pub mock: MockCloud,
    pub ecs: EcsClient,
    pub stats: CallStats,
    pub vpc: String,
    pub vsw: String,
    pub vsw6: String,
    pub sg: SecurityGroupId,
    pub instance: InstanceId,
}

/// Short waits: the mock settles attach and detach after `ECS_DELAY`.
pub const ECS_DELAY: Duration = Duration::from_millis(150);

pub fn wait() -> WaitPolicy {
    WaitPolicy::new(Duration::from_secs(5)).with_backoff(Duration::from_millis(20), Duration::from_millis(100))
}

pub fn client_for(mock: &MockCloud, stats: &CallStats) -> EcsClient {
    let rpc = mock.client_builder().observer(stats.clone()).build().expect("client");
    EcsClient::new(rpc)
}

pub async fn env(instance_type: &str) -> Env {
    let mock = MockCloud::builder().seed(11).ecs_delays(ECS_DELAY, ECS_DELAY).start().await.expect("mock");
    let stats = CallStats::new();
    let ecs = client_for(&mock, &stats);
    let world = mock
        .scenario()
        .region(REGION)
        .vpc("192.168.0.0/16")
        .vswitch(ZONE, "192.168.1.0/24")
        .vswitch_ipv6(ZONE, "192.168.2.0/24", 1)
        .security_group("pods")
        .instances(1, instance_type)
        .build()
        .expect("the scenario");
    let (vpc, [vsw, vsw6]) = (world.vpc_id, world.vswitch_ids.try_into().expect("two VSwitches"));
    let sg = world.security_group_id.expect("a group").parse().expect("security group id");
    let instance = world.instances[0].instance_id.clone();
    stats.reset();
    Env { mock, ecs, stats, vpc, vsw, vsw6, sg, instance }
}

impl Env {
    /// Another instance of `instance_type` in the same VSwitch.
    pub fn another_instance(&self, instance_type: &str) -> InstanceId {
        let created = self
            .mock
            .create_instance(InstanceSeed {
                region_id: REGION.into(),
                zone_id: ZONE.into(),
                instance_type: instance_type.into(),
                vswitch_id: self.vsw.clone(),
                security_group_ids: vec![self.sg.to_string()],
                instance_id: None,
            })
            .expect("instance");
        InstanceId::new(created["InstanceId"].as_str().expect("id")).expect("instance id")
    }

    /// A create request in the plain VSwitch with the test security group.
    pub fn create(&self) -> ack_net_eni::eni::CreateNetworkInterface {
        self.ecs.network_interfaces().create(&self.vsw.parse().expect("VSwitch id")).security_group(&self.sg)
    }
}
