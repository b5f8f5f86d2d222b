//! VPC 2016-04-28: VPCs, VSwitches (with real CIDR arithmetic and address allocation) and
//! route tables.
//!
//! CONTRACT used by the ECS and SLB parts of the mock (do not change the signatures):
//! `VpcState::vswitch`, `allocate_ipv4`, `release_ipv4`, `allocate_ipv6`, `release_ipv6`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

/// A VSwitch as other products see it.
#[derive(Clone, Debug)]
pub struct VSwitch {
    /// `vsw-...`
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// The zone it is in.
    pub zone_id: String,
    /// Its IPv4 CIDR.
    pub cidr: ipnet::Ipv4Net,
    /// Its IPv6 CIDR, when IPv6 is enabled.
    pub ipv6_cidr: Option<ipnet::Ipv6Net>,
}

/// The VPC product's state.
#[derive(Debug, Default)]
pub struct VpcState {
    vswitches: Vec<VSwitch>,
}

impl VpcState {
    /// The VSwitch `id`, if it exists.
    pub fn vswitch(&self, id: &str) -> Option<&VSwitch> {
        self.vswitches.iter().find(|v| v.id == id)
    }

    /// Takes a free IPv4 address of the VSwitch (`requested`, or the lowest free one).
    /// Errors: `InvalidVSwitchId.NotFound`, `InvalidVSwitchId.IpNotEnough` when full,
    /// `InvalidIpAddress.AlreadyUsed`-style conflict when `requested` is taken or reserved,
    /// `InvalidPrivateIpAddress.Mismatch` when `requested` is outside the CIDR.
    pub fn allocate_ipv4(&mut self, vswitch_id: &str, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, MockError> {
        let _ = (vswitch_id, requested);
        Err(MockError::new(500, "InternalError", "VSwitch allocation is not implemented yet"))
    }

    /// Returns an IPv4 address to the VSwitch (no error if it was free).
    pub fn release_ipv4(&mut self, vswitch_id: &str, ip: Ipv4Addr) {
        let _ = (vswitch_id, ip);
    }

    /// Takes a free IPv6 address of the VSwitch; `InvalidVSwitchId.Ipv6NotEnabled`-style
    /// error when the VSwitch has no IPv6 CIDR.
    pub fn allocate_ipv6(&mut self, vswitch_id: &str) -> Result<Ipv6Addr, MockError> {
        let _ = vswitch_id;
        Err(MockError::new(500, "InternalError", "VSwitch allocation is not implemented yet"))
    }

    /// Returns an IPv6 address to the VSwitch.
    pub fn release_ipv6(&mut self, vswitch_id: &str, ip: Ipv6Addr) {
        let _ = (vswitch_id, ip);
    }
}

/// Handles a VPC action; `None` when the action is not a VPC action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    let _ = (state, req);
    None
}
