//! The warm pool of pod addresses (work in progress).

mod cloud;
mod config;
mod error;
mod policy;

pub use cloud::{CreateEniSpec, EcsPoolCloud, EniInfo, PoolCloud, VSwitchInfo};
pub use config::{IpStack, PoolConfig, PoolMode, MAX_PER_CALL};
pub use error::{ExhaustedReason, PoolError, StoreError};
pub use policy::{plan, Delta, EniPhase, EniView, Plan, PolicyConfig, PoolView};
