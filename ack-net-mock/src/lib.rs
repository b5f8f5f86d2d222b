//! # ack-net-mock
//!
//! A stateful, signature-checking simulator of the Alibaba Cloud VPC, ECS and SLB RPC APIs:
//! one process, one port, in-memory state, the real wire format.
//!
//! Status (kept current for the other helpers):
//! - READY: `vpc::VpcState` contract (`vswitch`, `allocate_ipv4`, `release_ipv4`, `allocate_ipv6`,
//!   `release_ipv6`), plus `vpc::create_vpc(state, now, NewVpc{..})` and
//!   `vpc::create_vswitch(state, now, NewVSwitch{..})` to set up VPCs/VSwitches in unit tests.
//! - READY: the server. `MockCloud::builder().seed(1).start().await?` (or `MockCloud::start()`),
//!   `url()`, `with_state(|s| ..)`, `calls()`, `calls_of(action)`, `counters()`, `count(action)`,
//!   `create_instance(InstanceSeed)`, `create_vpc(NewVpc)`, `create_vswitch(NewVSwitch)`,
//!   `set_fault(target, FaultSpec)`, `set_pending_delay`, `set_ecs_delays`, `dump()`, `shutdown()`.
//!   V1 (GET/POST) and V3 signatures, timestamps, nonces, routing by Version, ClientToken
//!   idempotency (generic, in the dispatcher), DescribeRegions/DescribeZones for all products.
//! - READY: VPC actions: CreateVpc, DescribeVpcs, DeleteVpc, CreateVSwitch, DescribeVSwitches,
//!   DescribeVSwitchAttributes, ModifyVSwitchAttribute, DeleteVSwitch, DescribeRouteTableList, CreateRouteEntry,
//!   DeleteRouteEntry, DescribeRouteEntryList, TagResources, UntagResources, ListTagResources.
//! - READY: the binary (`ack-net-mock --listen 127.0.0.1:0 --credential ID:SECRET --seed N
//!   --preload FILE --fault 'ACTION_OR_*=throttle:0.2,5xx:0.05,latency:100ms'`), the admin API
//!   under `/__mock/` (see README.md), integration tests in `tests/`, the `mock_throughput` bench.
//! - READY: the lost-reply fault (`lost:RATE[/HANG]`, [`MockCloud::lose_next_replies`]) and the data
//!   plane, [`fabric`] (feature `fabric`, Linux): VPCs, VSwitches, instances, ENIs, addresses, routes
//!   and security groups as namespaces, links, neighbours, routes and nftables in a sandbox.
//!
//! Modules: [`cloud`] (the [`MockCloud`] handle), [`dispatch`]
//! (routing, idempotency, call log), [`auth`] (V1/V3 verification), [`faults`], [`calls`],
//! [`fabric`] (the data plane, Linux, feature `fabric`),
//! [`catalog`] (regions, zones), [`vpc`], [`ecs`], [`slb`].
//!
//! ```
//! use ack_net_core::{Credentials, Product, RpcClient, RpcRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = ack_net_mock::MockCloud::builder().seed(7).start().await?;
//! let rpc = RpcClient::builder()
//!     .region("cn-hangzhou")
//!     .credentials(Credentials::new("testid", "testsecret"))
//!     .endpoint(&mock.url())
//!     .build()?;
//! let vpc: serde_json::Value =
//!     rpc.call(RpcRequest::write(Product::Vpc, "CreateVpc").param("CidrBlock", "10.0.0.0/8")).await?;
//! assert!(vpc["VpcId"].as_str().is_some_and(|id| id.starts_with("vpc-")));
//! assert_eq!(mock.count("CreateVpc"), 1);
//! mock.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod calls;
pub mod catalog;
pub mod cloud;
pub mod dispatch;
pub mod ecs;
pub mod error;
pub mod fabric;
pub mod faults;
pub mod handler;
pub mod ids;
mod server;
pub mod slb;
pub mod state;
pub mod vpc;

pub use calls::{ActionCount, CallRecord};
pub use cloud::{Error, MockCloud, MockCloudBuilder, Preload};
pub use dispatch::Product;
pub use ecs::InstanceSeed;
pub use error::{HandlerResult, MockError};
pub use faults::FaultSpec;
pub use handler::Req;
// The layer-7 test helpers at the crate root (issue #20), so they stay reachable whatever
// the modules' privacy.
pub use slb::{renewed_sample_certificate, sample_certificate, Routed, SampleCertificate, SAMPLES};
pub use state::State;
