//! The data plane: the mock's state as Linux networking, so that packets can prove what the
//! API promised (Linux only, the `fabric` feature, off unless asked for).
//!
//! - A VPC is a router namespace (the vRouter); a VSwitch is a bridge on it holding the
//!   VSwitch's gateway address ([`gateway`]: the third-from-last address, as the real VPC
//!   answers), and for a VSwitch with an IPv6 block its IPv6 gateway ([`gateway6`], likewise
//!   the block's third-from-last address). The bridge's ports are isolated and the vRouter
//!   answers ARP for the whole VSwitch, so every packet passes the vRouter, as in the real SDN;
//!   it forwards IPv4 and IPv6 between the VSwitches and never redirects.
//! - An ECS instance is a namespace (the node); its primary ENI is `eth0` there, with the
//!   instance's address, MAC and a default route via the gateway, and, once the ENI holds IPv6
//!   addresses, the first of them (a /128, as DHCPv6 gives it) with an IPv6 default route
//!   on-link via the IPv6 gateway.
//! - `CreateNetworkInterface` makes the ENI's link (a veth whose far end is on the VSwitch's
//!   bridge) with the MAC the API reported, parked on the vRouter; when the ENI becomes `InUse`
//!   the link moves into the instance as `eth<DeviceIndex>`, down and bare, as a hot-plugged
//!   NIC appears; detaching takes it back; deleting removes it.
//! - Every private address an ENI holds (primary and secondary, IPv4 and IPv6) is a permanent
//!   neighbour on the vRouter: delivered without ARP or neighbour solicitation from the node,
//!   and only while the ENI holds it (the vRouter never asks who has an address).
//! - Custom route entries are vRouter routes to the next hop's primary address.
//! - Security groups are one nftables table per vRouter ([`security`]), stateful, for IPv4 and
//!   IPv6 alike.
//! - A load balancer in a VPC (an intranet one) is a namespace on the vRouter holding its
//!   address (the vRouter routes the address there), with a TCP proxy that serves each
//!   running TCP listener: a new connection goes to a backend of the listener's VServer group
//!   picked by weight ([`WeightedRoundRobin`]) from the state as it is then; weight 0 (or a
//!   failing health check) takes no new connection and keeps its own; a backend removed from
//!   the group has its connections reset, as CLB does. The proxy connects from the load
//!   balancer's address, so the backends' security groups must let it in.
//!
//! The fabric follows the state on a thread of its own (it reads the state every few
//! milliseconds and applies the difference, [`model::plan`]): the API never waits for it. A
//! step that fails is logged and reported under `fabric.errors` in the state dump; the API
//! answer stays what the real cloud would answer. Stopping the mock removes everything the
//! fabric made. The process must have entered its sandbox first (`enter_sandbox`).
//!
//! ```no_run
//! # #[cfg(all(feature = "fabric", target_os = "linux"))]
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     ack_net_mock::fabric::enter_sandbox()?; // first, while single-threaded
//!     let rt = tokio::runtime::Runtime::new()?;
//!     rt.block_on(async {
//!         let mock = ack_net_mock::MockCloud::builder()
//!             .fabric(ack_net_mock::fabric::FabricConfig::default())
//!             .start()
//!             .await?;
//!         let fabric = mock.fabric().expect("the fabric started");
//!         // ... create a VPC, VSwitches and instances through the API, then:
//!         if let Some(node) = fabric.node("i-example") {
//!             let out = node.output(std::process::Command::new("ping").args(["-c1", "-W1", "10.0.0.2"]))?;
//!             println!("{}", String::from_utf8_lossy(&out.stdout));
//!         }
//!         mock.shutdown().await;
//!         Ok::<_, Box<dyn std::error::Error>>(())
//!     })
//! }
//! # #[cfg(not(all(feature = "fabric", target_os = "linux")))]
//! # fn main() {}
//! ```

pub mod balance;
pub mod model;
pub mod security;

pub use balance::WeightedRoundRobin;
pub use model::{gateway, gateway6, plan, topology, LbBackend, LbNet, Op, Placement, Topology};

#[cfg(all(feature = "fabric", target_os = "linux"))]
mod exec;
#[cfg(all(feature = "fabric", target_os = "linux"))]
mod proxy;
#[cfg(all(feature = "fabric", target_os = "linux"))]
mod running;
#[cfg(all(feature = "fabric", target_os = "linux"))]
mod sandbox;

#[cfg(all(feature = "fabric", target_os = "linux"))]
pub use running::{Fabric, FabricConfig, FabricError};
#[cfg(all(feature = "fabric", target_os = "linux"))]
pub use sandbox::{enter_sandbox, in_sandbox, Link, Netns, SandboxError};
