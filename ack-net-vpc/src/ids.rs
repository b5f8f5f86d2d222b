//! Validated id newtypes of the VPC API. Region, zone, VPC and VSwitch ids come from
//! `ack-net-core`.

ack_net_core::define_id!(
    /// A route table id, `vtb-...`.
    RouteTableId,
    "route table id",
    ["vtb-"]
);

ack_net_core::define_id!(
    /// A VRouter id, `vrt-...`: the router of a VPC that its route tables belong to.
    VRouterId,
    "VRouter id",
    ["vrt-"]
);

ack_net_core::define_id!(
    /// A route entry id, `rte-...`.
    RouteEntryId,
    "route entry id",
    ["rte-"]
);

ack_net_core::define_id!(
    /// A router id, as DescribeRouteTableList filters by it: a VRouter `vrt-...` or a VBR
    /// `vbr-...`.
    RouterId,
    "router id (vrt-... or vbr-...)",
    ["vrt-", "vbr-"]
);

impl RouterId {
    /// `VRouter` or `VBR`, as `RouterType` names the router's kind.
    pub fn router_type(&self) -> &'static str {
        if self.as_str().starts_with("vbr-") {
            "VBR"
        } else {
            "VRouter"
        }
    }
}

impl From<&VRouterId> for RouterId {
    fn from(id: &VRouterId) -> Self {
        RouterId(id.to_string())
    }
}
