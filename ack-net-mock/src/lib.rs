//! # ack-net-mock
//!
//! A stateful, signature-checking simulator of the Alibaba Cloud VPC (2016-04-28), ECS
//! (2014-05-26) and SLB (2014-05-15) RPC APIs: one process, one port, in-memory state, the real
//! wire format. Every test, example and benchmark of ack-net runs against it; any client of the
//! real API (an official SDK, the aliyun CLI) can be pointed at it too.
//!
//! - [`MockCloud`]: start it on a loopback port ([`MockCloud::builder`]: seed, AccessKeys,
//!   delays, faults, preloaded state), point a client at it ([`MockCloud::client_builder`], or
//!   [`client_builder_at`] for a standalone one), look inside ([`MockCloud::with_state`] and
//!   [`State`], [`MockCloud::calls`], [`MockCloud::counters`], [`MockCloud::dump`]), answer a
//!   request without a socket ([`MockCloud::answer`]), stop it.
//! - [`MockCloud::scenario`]: a VPC, VSwitches, a security group and ECS instances made in one
//!   call ([`ScenarioBuilder`]), with their ids ([`Scenario`]); [`Preload`] does the same from JSON.
//! - Faults ([`FaultSpec`]): throttling, 5xx, latency, dropped and hung connections, lost replies,
//!   per action or for every action, seeded.
//! - [`fabric`] (feature `fabric`, Linux): the state as Linux networking in a namespace sandbox,
//!   so that packets prove what the API promised.
//! - The standalone server `ack-net-mock` (feature `cli`, on by default): the same mock on a port
//!   of your choice, with an admin API under `/__mock/`. Its flags and the behaviour of each
//!   product are in the crate's README.
//!
//! ```
//! use ack_net_core::RpcRequest;
//! use ack_net_vpc::VPC;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = ack_net_mock::MockCloud::builder().seed(7).start().await?;
//! // Region cn-hangzhou, the AccessKey testid/testsecret, no rate limits, no retries.
//! let rpc = mock.client_builder().build()?;
//! let vpc: serde_json::Value =
//!     rpc.call(RpcRequest::write(VPC, "CreateVpc").param("CidrBlock", "10.0.0.0/8")).await?;
//! assert!(vpc["VpcId"].as_str().is_some_and(|id| id.starts_with("vpc-")));
//! assert_eq!(mock.count("CreateVpc"), 1);
//! mock.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod calls;
mod catalog;
mod client;
mod cloud;
mod dispatch;
mod ecs;
mod error;
pub mod fabric;
mod faults;
mod handler;
mod ids;
mod scenario;
mod server;
mod slb;
mod state;
mod vpc;

pub use auth::Incoming;
pub use calls::{ActionCount, CallRecord};
pub use client::{client_builder_at, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, TEST_REGION};
pub use cloud::{Error, MockCloud, MockCloudBuilder, Preload};
pub use ecs::InstanceSeed;
pub use error::{HandlerResult, MockError};
pub use faults::{parse_duration, FaultSpec, Latency};
pub use scenario::{
    Scenario, ScenarioBuilder, ScenarioInstance, DEFAULT_INSTANCE_TYPE, NODES_VPC_NAME, NODE_INSTANCE_TYPE,
};
// The layer-7 test helpers at the crate root (issue #20).
pub use slb::{renewed_sample_certificate, sample_certificate, Routed, SampleCertificate, SAMPLES};
pub use state::State;
pub use vpc::{NewVSwitch, NewVpc};
