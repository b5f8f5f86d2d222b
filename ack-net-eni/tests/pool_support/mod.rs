//! Shared setup of the pool tests: a mock cloud with a VPC (IPv6 on), VSwitches in one
//! zone, a security group and an instance; pool configurations; what the cloud holds.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use ack_net_core::{CallStats, RetryPolicy, RpcClient};
use ack_net_eni::pool::{
    EcsPoolCloud, IpPool, PoolConfig, PoolError, PoolOwner, PoolStore, CLUSTER_TAG_KEY, OWNER_TAG_KEY,
};
use ack_net_eni::{InstanceId, SecurityGroupId, VSwitchId, WaitPolicy};
use ack_net_mock::MockCloud;
use serde_json::Value;

pub const REGION: &str = "cn-hangzhou";
pub const ZONE: &str = "cn-hangzhou-h";
pub const POOL: &str = "node-1";
pub const CLUSTER: &str = "c-test";

pub struct World {
    pub mock: MockCloud,
    pub rpc: RpcClient,
    pub stats: CallStats,
    pub vpc: String,
    /// VSwitches: 192.168.1.0/24 (IPv6), 192.168.2.0/24 (IPv6), 192.168.3.0/24.
    pub vswitches: Vec<VSwitchId>,
    pub sg: SecurityGroupId,
    pub instance: InstanceId,
    pub instance_type: String,
}

pub fn rpc_for(mock: &MockCloud, stats: &CallStats, retry: RetryPolicy) -> RpcClient {
    mock.client_builder().retry_policy(retry).observer(stats.clone()).build().expect("client")
}

/// Retries quickly (the mock's faults are seeded and short).
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_attempt_limit(6)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(100))
        .with_throttle_backoff(Duration::from_millis(10))
}

pub async fn world_with(instance_type: &str, seed: u64, attach: Duration, cidrs: &[(&str, bool)]) -> World {
    let mock = MockCloud::builder().seed(seed).ecs_delays(attach, attach).start().await.expect("mock");
    let stats = CallStats::new();
    let rpc = rpc_for(&mock, &stats, fast_retry());
    let mut scenario = mock.scenario().region(REGION).vpc("192.168.0.0/16").ipv6();
    for (i, (cidr, v6)) in cidrs.iter().enumerate() {
        scenario = if *v6 { scenario.vswitch_ipv6(ZONE, cidr, i as u8 + 1) } else { scenario.vswitch(ZONE, cidr) };
    }
    // The node in a VSwitch of its own, after the pods' ones.
    let world = scenario
        .vswitch(ZONE, "192.168.100.0/24")
        .security_group("pods")
        .instances_in(cidrs.len(), 1, instance_type)
        .build()
        .expect("the scenario");
    let mut vswitches: Vec<VSwitchId> = world.vswitch_ids.iter().map(|v| v.parse().expect("vswitch id")).collect();
    vswitches.pop();
    let (vpc, sg) = (world.vpc_id, world.security_group_id.expect("a group").parse().expect("security group id"));
    let instance = world.instances[0].instance_id.clone();
    stats.reset();
    mock.clear_calls();
    World { mock, rpc, stats, vpc, vswitches, sg, instance, instance_type: instance_type.into() }
}

pub async fn world(instance_type: &str) -> World {
    world_with(
        instance_type,
        7,
        Duration::from_millis(30),
        &[("192.168.1.0/24", true), ("192.168.2.0/24", true), ("192.168.3.0/24", false)],
    )
    .await
}

pub fn waits() -> WaitPolicy {
    WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_millis(10), Duration::from_millis(100))
}

impl World {
    /// A pool configuration on the first VSwitch, no cooldown, short waits and deadlines.
    pub fn config(&self) -> PoolConfig {
        PoolConfig::new(
            PoolOwner { cluster_id: CLUSTER.into(), pool_id: POOL.into() },
            self.instance.clone(),
            self.instance_type.parse().expect("type"),
        )
        .vswitch(self.vswitches[0].clone())
        .security_group(self.sg.clone())
        .cooldown(Duration::ZERO)
        .allocate_timeout(Duration::from_secs(10))
        .gc_grace(Duration::ZERO, Duration::ZERO)
        .wait_policy(waits())
    }

    pub fn cloud(&self) -> EcsPoolCloud {
        EcsPoolCloud::new(self.rpc.clone())
    }

    pub async fn start(&self, config: PoolConfig, store: Arc<dyn PoolStore>) -> Result<IpPool, PoolError> {
        let (cloud, capacity) = self.cloud().into_arcs();
        IpPool::builder(config).cloud(cloud).capacity(capacity).store(store).start().await
    }

    /// The ENIs as the mock holds them.
    pub fn enis(&self) -> Vec<Value> {
        self.mock.dump()["ecs"]["NetworkInterfaces"].as_array().cloned().unwrap_or_default()
    }

    /// The mock's ENIs carrying the pool's owner tags: (id, status, IPv4 and IPv6 addresses).
    pub fn pool_enis(&self, pool: &str) -> Vec<(String, String, BTreeSet<Ipv4Addr>, BTreeSet<Ipv6Addr>)> {
        self.enis()
            .into_iter()
            .filter(|e| {
                let tags = e["Tags"]["Tag"].as_array().cloned().unwrap_or_default();
                let has = |k: &str, v: &str| tags.iter().any(|t| t["TagKey"] == k && t["TagValue"] == v);
                has(OWNER_TAG_KEY, pool) && has(CLUSTER_TAG_KEY, CLUSTER)
            })
            .map(|e| {
                let v4 = e["PrivateIpSets"]["PrivateIpSet"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p["PrivateIpAddress"].as_str()?.parse().ok()).collect())
                    .unwrap_or_default();
                let v6 = e["Ipv6Sets"]["Ipv6Set"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p["Ipv6Address"].as_str()?.parse().ok()).collect())
                    .unwrap_or_default();
                (
                    e["NetworkInterfaceId"].as_str().unwrap_or_default().to_owned(),
                    e["Status"].as_str().unwrap_or_default().to_owned(),
                    v4,
                    v6,
                )
            })
            .collect()
    }

    /// Asserts the cloud holds exactly the pool's ENIs and addresses.
    pub fn assert_cloud_matches(&self, pool: &IpPool) {
        let cloud = self.pool_enis(POOL);
        let cloud_enis: BTreeSet<String> = cloud.iter().map(|e| e.0.clone()).collect();
        let pool_enis: BTreeSet<String> = pool.enis().iter().map(ToString::to_string).collect();
        assert_eq!(cloud_enis, pool_enis, "ENIs: cloud vs pool");
        for e in &cloud {
            assert_eq!(e.1, "InUse", "{} is {}", e.0, e.1);
        }
        let cloud_v4: BTreeSet<(String, Ipv4Addr)> =
            cloud.iter().flat_map(|e| e.2.iter().map(move |ip| (e.0.clone(), *ip))).collect();
        let pool_v4: BTreeSet<(String, Ipv4Addr)> =
            pool.addresses().into_iter().map(|(e, ip, _)| (e.to_string(), ip)).collect();
        if pool.policy().exclusive {
            assert!(pool_v4.is_subset(&cloud_v4));
        } else {
            assert_eq!(cloud_v4, pool_v4, "IPv4 addresses: cloud vs pool");
        }
        let cloud_v6: BTreeSet<Ipv6Addr> = cloud.iter().flat_map(|e| e.3.iter().copied()).collect();
        let pool_v6: BTreeSet<Ipv6Addr> = pool.addresses().into_iter().filter_map(|(_, _, v6)| v6).collect();
        assert_eq!(cloud_v6, pool_v6, "IPv6 addresses: cloud vs pool");
    }

    pub fn count(&self, action: &str) -> u64 {
        self.mock.count(action)
    }
}

/// Waits until `f` holds (polling every 10 ms), or panics after `secs`.
pub async fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the pool is quiet and its plan empty.
pub async fn settle(pool: &IpPool) {
    eventually(20, "a quiet pool", || pool.is_quiet() && pool.plan().is_empty()).await;
}
