//! # ack-net-vpc
//!
//! Typed Alibaba Cloud VPC APIs (version 2016-04-28) on top of [`ack_net_core`], and the
//! VPC-level primitives that ACK networking tools build on:
//!
//! - [`VpcClient`] with [`vpcs`](VpcClient::vpcs), [`vswitches`](VpcClient::vswitches) and
//!   [`route_tables`](VpcClient::route_tables): request builders that check their input before
//!   any call, typed responses, list calls as `Stream`s over all pages, waiters;
//! - [`cidr`]: plan VSwitch CIDR blocks inside a VPC (pure functions);
//! - [`capacity`]: a view of the free addresses of a set of VSwitches that picks one by policy
//!   (what an IP pool or a load-balancer binder uses to choose where to allocate);
//! - [`pod_routes`]: keep a route table's node pod-CIDR routes (the Flannel-compatible mode)
//!   equal to a wanted set.
//!
//! Against the embedded mock cloud of `ack-net-mock` (`RpcClient::from_env()` reaches Alibaba
//! Cloud instead):
//!
//! ```
//! use ack_net_vpc::{cidr, VpcClient, WaitPolicy, ZoneId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = ack_net_mock::MockCloud::start().await?;
//! let rpc = mock.client_builder().build()?; // or RpcClient::from_env()?
//! let client = VpcClient::new(rpc);
//! let wait = WaitPolicy::default();
//!
//! // A VPC, ready to use.
//! let vpc = client.vpcs().create().cidr_block("10.0.0.0/8").name("demo").send_and_wait(&wait).await?;
//!
//! // Two VSwitches in two zones, their blocks planned to be free and aligned.
//! let zones: [(ZoneId, u8); 2] = [("cn-hangzhou-h".parse()?, 20), ("cn-hangzhou-i".parse()?, 20)];
//! for planned in cidr::plan_vswitches(vpc.cidr_block, &[], &zones)? {
//!     let vsw = client
//!         .vswitches()
//!         .create(&vpc.vpc_id, &planned.zone_id, planned.cidr)
//!         .send_and_wait(&wait)
//!         .await?;
//!     println!("{} {} {} free", vsw.vswitch_id, vsw.cidr_block, vsw.available_ip_address_count);
//! }
//! # Ok(()) }
//! ```

pub mod capacity;
pub mod cidr;
mod client;
mod common;
mod error;
mod ids;
pub mod pod_routes;
pub mod route_entry;
pub mod route_table;
pub mod vpc;
pub mod vswitch;
mod wait;

/// The VPC API (`2016-04-28`): VPCs, VSwitches, route tables. Every operation of this crate
/// calls it; hand it to [`RpcRequest`](ack_net_core::RpcRequest) for an action the crate does
/// not wrap.
///
/// ```
/// use ack_net_core::{Network, RegionId};
/// use ack_net_vpc::VPC;
/// let (bj, sh) = (RegionId::new("cn-beijing").unwrap(), RegionId::new("cn-shanghai").unwrap());
/// assert_eq!(VPC.host(&bj, Network::Public), "vpc.cn-beijing.aliyuncs.com");
/// assert_eq!(VPC.host(&sh, Network::Vpc), "vpc-vpc.cn-shanghai.aliyuncs.com");
/// assert_eq!(VPC.version(), "2016-04-28");
/// ```
pub const VPC: ack_net_core::Product = ack_net_core::Product::new("vpc", "2016-04-28");

pub use ack_net_core::{ErrorInfo, RegionId, VSwitchId, VpcId, ZoneId};
pub use capacity::{SelectPolicy, VSwitchCapacity, VSwitchCapacityView, VSwitchSource};
pub use client::VpcClient;
pub use common::{ResourceStatus, Tag, MAX_TAGS};
pub use error::Error;
pub use ids::{RouteEntryId, RouteTableId, RouterId, VRouterId};
pub use pod_routes::{PodRouteConverger, RouteDelta};
pub use route_entry::{NextHop, NextHopType, RouteEntry, RouteEntryStatus, RouteEntryType};
pub use route_table::{RouteTable, RouteTableType};
pub use vpc::Vpc;
pub use vswitch::VSwitch;
pub use wait::{WaitPolicy, WaitTimeout};

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
