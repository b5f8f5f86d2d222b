//! # ack-net-eni
//!
//! Pod networking on Alibaba Cloud ECS, in two layers on top of [`ack_net_core`]: the typed
//! ECS API (version 2014-05-26, the product [`ECS`]), and the engines built on it, the
//! node's IP pool [`pool::IpPool`] (warm ENI addresses, crash-safe, restart-safe) and
//! [`pod_network::PodNetwork`] (a pod's address, ENI and routes), with the node `agent`,
//! the `cni` plugin and, with the `datapath` feature, the pod `datapath` that wire them
//! into pods.
//!
//! The typed API:
//!
//! - [`EcsClient::network_interfaces`]: ENIs as one typed [`NetworkInterface`] value; every
//!   ENI call (create, attach, detach, delete, describe with every filter and as a `Stream`,
//!   secondary IPv4 and IPv6 addresses); waiters on the tokio clock; and two compound
//!   operations that leave no garbage and survive a crash:
//!   [`create_and_attach`](NetworkInterfaces::create_and_attach) and
//!   [`detach_and_delete`](NetworkInterfaces::detach_and_delete);
//! - [`EcsClient::instance_types`]: DescribeInstanceTypes and [`InstanceTypeLimits`] (ENIs,
//!   addresses per ENI, trunk member ENIs, pods per node), cached with one request per type
//!   however many callers ask at once;
//! - [`EcsClient::security_groups`]: security groups and their rules, and the
//!   [`RuleConverger`], which keeps the rules a tool owns (recognized by a description
//!   prefix) equal to the rules it wants and leaves every other rule alone.
//!
//! Bad input (malformed ids, more than 10 addresses in one assign, a port range like
//! `80/70`, IPv6 on a VSwitch known to have none) is a typed error before any call. Removals
//! of what is already gone succeed. Quota and address exhaustion is recognizable with
//! [`Error::is_capacity`].
//!
//! Against the embedded mock cloud of `ack-net-mock` (`RpcClient::from_env()` reaches Alibaba
//! Cloud instead), with a node and its VSwitch made beforehand:
//!
//! ```
//! use ack_net_core::RpcClient;
//! use ack_net_eni::{EcsClient, WaitPolicy};
//!
//! # type BoxError = Box<dyn std::error::Error>;
//! # /// A VPC, a VSwitch, a security group and the node `i-bp1abc` in them.
//! # async fn node(mock: &ack_net_mock::MockCloud, rpc: &RpcClient) -> Result<(ack_net_eni::VSwitchId, ack_net_eni::SecurityGroupId), BoxError> {
//! #     let vpcs = ack_net_vpc::VpcClient::new(rpc.clone());
//! #     let wait = WaitPolicy::default();
//! #     let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").send_and_wait(&wait).await?;
//! #     let vsw = vpcs.vswitches().create(&vpc.vpc_id, &"cn-hangzhou-h".parse()?, "192.168.0.0/24").send_and_wait(&wait).await?;
//! #     let group = EcsClient::new(rpc.clone()).security_groups().create(&vpc.vpc_id).send().await?;
//! #     mock.create_instance(ack_net_mock::InstanceSeed {
//! #         region_id: "cn-hangzhou".into(),
//! #         zone_id: "cn-hangzhou-h".into(),
//! #         instance_type: "ecs.g7.large".into(),
//! #         vswitch_id: vsw.vswitch_id.to_string(),
//! #         security_group_ids: vec![group.to_string()],
//! #         instance_id: Some("i-bp1abc".into()),
//! #     })?;
//! #     Ok((vsw.vswitch_id, group))
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let mock = ack_net_mock::MockCloud::start().await?;
//! let rpc = mock.client_builder().build()?; // or RpcClient::from_env()?
//! # let (vswitch, group) = node(&mock, &rpc).await?;
//! let ecs = EcsClient::new(rpc);
//! let wait = WaitPolicy::default();
//!
//! // How many pod addresses can this node hold?
//! let limits = ecs.instance_types().limits(&"ecs.g7.large".parse()?).await?;
//! println!("{} pods per node", limits.max_pods_multi_ip());
//!
//! // A second ENI with five pod addresses, attached to the node. Re-run after a crash with
//! // the same client token, this finds the same ENI instead of creating another.
//! let eni = ecs
//!     .network_interfaces()
//!     .create(&vswitch)
//!     .security_group(&group)
//!     .secondary_ip_count(5)
//!     .client_token("node-i-bp1abc-eni-1")
//!     .send_and_attach(&"i-bp1abc".parse()?, &wait)
//!     .await?;
//! println!("{} on {:?}: {:?}", eni.id, eni.instance_id, eni.secondary_ips);
//!
//! // And away again.
//! ecs.network_interfaces().detach_and_delete(&eni.id, &wait).await?;
//! # Ok(()) }
//! ```

#[cfg(unix)]
pub mod agent;
mod client;
#[cfg(all(feature = "datapath", target_os = "linux"))]
pub mod cni;
mod common;
#[cfg(all(feature = "datapath", target_os = "linux"))]
pub mod datapath;
pub mod eni;
mod error;
mod ids;
pub mod instance_type;
pub mod pod_network;
pub mod pool;
pub mod security_group;
mod wait;

/// The ECS API (`2014-05-26`): ENIs, security groups, instance types. Its hosts are
/// regional (`ecs.<region>.aliyuncs.com`) but for Hangzhou's `ecs-cn-hangzhou.aliyuncs.com`;
/// its recommended rates are a little under the cloud's published per-account throttles (ECS
/// throttles per region, account and API in one-minute windows): ENI writes 500/min, IP
/// assignment 600/min, `DescribeNetworkInterfaces` 800/min, `DescribeInstanceTypes` 60/min.
///
/// ```
/// use ack_net_core::{rate_limit::Rate, Network, RateLimits, RegionId};
/// use ack_net_eni::ECS;
/// let region = |r| RegionId::new(r).unwrap();
/// assert_eq!(ECS.host(&region("cn-hangzhou"), Network::Public), "ecs-cn-hangzhou.aliyuncs.com");
/// assert_eq!(ECS.host(&region("cn-shanghai"), Network::Public), "ecs.cn-shanghai.aliyuncs.com");
/// assert_eq!(ECS.host(&region("cn-beijing"), Network::Vpc), "ecs-vpc.cn-beijing.aliyuncs.com");
/// assert_eq!(ECS.version(), "2014-05-26");
/// let limits = RateLimits::recommended();
/// assert_eq!(limits.rate_for(&ECS, "AttachNetworkInterface"), Some(Rate::per_minute(500)));
/// assert_eq!(limits.rate_for(&ECS, "DescribeInstanceTypes"), Some(Rate::per_minute(60)));
/// ```
pub const ECS: ack_net_core::Product = ack_net_core::Product::new("ecs", "2014-05-26")
    .with_public_hosts(&[("cn-hangzhou", "ecs-cn-hangzhou.aliyuncs.com")])
    .with_rate_limits(&[
        ("CreateNetworkInterface", 500),
        ("AttachNetworkInterface", 500),
        ("DetachNetworkInterface", 500),
        ("DeleteNetworkInterface", 500),
        ("AssignPrivateIpAddresses", 600),
        ("UnassignPrivateIpAddresses", 600),
        ("AssignIpv6Addresses", 600),
        ("UnassignIpv6Addresses", 600),
        ("DescribeNetworkInterfaces", 800),
        ("DescribeInstanceTypes", 60),
    ]);

pub use ack_net_core::{EniId, ErrorInfo, InstanceId, RegionId, ZoneId};
pub use ack_net_vpc::{Tag, VSwitchId, VpcId, WaitPolicy, WaitTimeout};
pub use client::EcsClient;
pub use common::{Removed, MAX_ADDRESSES_PER_CALL, MAX_TAGS};
pub use eni::{DetachAndDelete, EniStatus, EniType, NetworkInterface, NetworkInterfaces, INTENT_TAG_KEY};
pub use error::{Cleanup, Error};
pub use ids::{InstanceTypeId, Mac, SecurityGroupId};
pub use instance_type::{InstanceType, InstanceTypeLimits, InstanceTypes};
pub use pod_network::PodNetwork;
pub use pool::{IpPool, PoolConfig, PoolError};
pub use security_group::{
    ConvergeReport, Direction, IpProtocol, Peer, Permission, Policy, PortRange, RuleConverger, RulePlan,
    SecurityGroupRule, SecurityGroups,
};

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
