//! The whole simulated cloud: one value behind one lock, so every request sees and leaves a
//! consistent state (no two ENIs ever get one address).

use crate::ids::IdGen;

/// The mock cloud's state. Each product keeps its own part; handlers get the whole so that
/// cross-product rules (an ENI takes an address from a VSwitch, an `eni` backend must be a
/// real ENI address) hold.
#[derive(Debug)]
pub struct State {
    /// Deterministic ids, MACs and request ids.
    pub ids: IdGen,
    /// Regions and zones the mock knows.
    pub catalog: crate::catalog::Catalog,
    /// VPCs, VSwitches (with address allocation), route tables.
    pub vpc: crate::vpc::VpcState,
    /// Instance types, instances, ENIs, security groups.
    pub ecs: crate::ecs::EcsState,
    /// Load balancers, listeners, server groups, rules, certificates.
    pub slb: crate::slb::SlbState,
}

impl State {
    /// An empty cloud with the default regions, zones and instance types, ids seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            ids: IdGen::new(seed),
            catalog: crate::catalog::Catalog::default(),
            vpc: crate::vpc::VpcState::default(),
            ecs: crate::ecs::EcsState::default(),
            slb: crate::slb::SlbState::default(),
        }
    }
}
