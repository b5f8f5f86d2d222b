//! # ack-net-mock
//!
//! A stateful, signature-checking simulator of the Alibaba Cloud VPC, ECS and SLB RPC APIs:
//! one process, one port, in-memory state, the real wire format.

pub mod catalog;
pub mod ecs;
pub mod error;
pub mod handler;
pub mod ids;
pub mod slb;
pub mod state;
pub mod vpc;

pub use error::{HandlerResult, MockError};
pub use handler::Req;
pub use state::State;
