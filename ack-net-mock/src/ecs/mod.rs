//! ECS 2014-05-26: instance types, instances, ENIs (with asynchronous attach and detach),
//! secondary IPv4 and IPv6 addresses, security groups.
//!
//! CONTRACT used by the server/admin part and SLB (do not change the signatures):
//! `InstanceSeed`, `create_instance`, `EcsState::eni_has_ip`, `EcsState::instance_exists`,
//! `EcsState::set_delays`, `EcsState::dump`.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

/// An ECS instance to create through the admin API or the preload file.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct InstanceSeed {
    /// Region, e.g. `cn-hangzhou`.
    #[serde(rename = "RegionId")]
    pub region_id: String,
    /// Zone, e.g. `cn-hangzhou-h`.
    #[serde(rename = "ZoneId")]
    pub zone_id: String,
    /// Instance type, e.g. `ecs.g7.large`.
    #[serde(rename = "InstanceType")]
    pub instance_type: String,
    /// VSwitch of the primary ENI.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Security groups of the primary ENI.
    #[serde(rename = "SecurityGroupIds", default)]
    pub security_group_ids: Vec<String>,
    /// Optional fixed instance id.
    #[serde(rename = "InstanceId", default)]
    pub instance_id: Option<String>,
}

/// The ECS product's state.
#[derive(Debug, Default)]
pub struct EcsState {}

impl EcsState {
    /// Whether the instance exists.
    pub fn instance_exists(&self, instance_id: &str) -> bool {
        let _ = instance_id;
        false
    }

    /// Whether `ip` is one of the ENI's addresses (primary, secondary IPv4 or IPv6).
    pub fn eni_has_ip(&self, eni_id: &str, ip: IpAddr) -> bool {
        let _ = (eni_id, ip);
        false
    }

    /// How long AttachNetworkInterface stays `Attaching` and DetachNetworkInterface stays
    /// `Detaching` before the ENI settles.
    pub fn set_delays(&mut self, attach: Duration, detach: Duration) {
        let _ = (attach, detach);
    }

    /// The state as JSON, for the state dump.
    pub fn dump(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

/// Creates an instance with its primary ENI; answers `{"InstanceId","NetworkInterfaceId",...}`.
pub fn create_instance(state: &mut State, seed: InstanceSeed) -> HandlerResult {
    let _ = (state, seed);
    Err(MockError::new(500, "InternalError", "instances are not implemented yet"))
}

/// Handles an ECS action; `None` when the action is not an ECS action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    let _ = (state, req);
    None
}
