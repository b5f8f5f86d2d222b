//! VPC 2016-04-28: VPCs, VSwitches (with real CIDR arithmetic and address allocation) and
//! route tables.
//!
//! CONTRACT used by the ECS and SLB parts of the mock (do not change the signatures):
//! `VpcState::vswitch`, `allocate_ipv4`, `release_ipv4`, `allocate_ipv6`, `release_ipv6`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use tokio::time::Instant;

use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub mod pool;
pub mod routes;
pub mod tags;
pub mod vpcs;
pub mod vswitches;

pub use vpcs::{create_vpc, NewVpc};
pub use vswitches::{create_vswitch, NewVSwitch};

use pool::{Ipv4Pool, Ipv6Pool, TakeError};

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

/// A VPC.
#[derive(Clone, Debug)]
pub struct Vpc {
    /// `vpc-...`
    pub id: String,
    /// The region it is in.
    pub region_id: String,
    /// `VpcName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// Its IPv4 CIDR.
    pub cidr: Ipv4Net,
    /// Its IPv6 /56, when IPv6 is enabled.
    pub ipv6_cidr: Option<Ipv6Net>,
    /// `vrt-...`
    pub vrouter_id: String,
    /// The system route table, `vtb-...`.
    pub route_table_id: String,
    /// `ResourceGroupId`.
    pub resource_group_id: String,
    /// `CreationTime`, as the API formats it.
    pub creation_time: String,
    /// Status is `Pending` until then, `Available` after.
    pub ready_at: Instant,
    /// Tags, in insertion order.
    pub tags: Vec<(String, String)>,
}

/// A VSwitch with everything the VPC product keeps about it.
#[derive(Clone, Debug)]
pub struct VSwitchEntry {
    /// What other products see.
    pub info: VSwitch,
    /// The region it is in.
    pub region_id: String,
    /// `VSwitchName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `CreationTime`.
    pub creation_time: String,
    /// Status is `Pending` until then.
    pub ready_at: Instant,
    /// Tags, in insertion order.
    pub tags: Vec<(String, String)>,
    /// The IPv4 addresses in use.
    pub pool4: Ipv4Pool,
    /// The IPv6 addresses in use.
    pub pool6: Option<Ipv6Pool>,
}

impl VSwitchEntry {
    /// `AvailableIpAddressCount`.
    pub fn available_ips(&self) -> u32 {
        self.pool4.available()
    }

    /// Whether any address (IPv4 or IPv6) is allocated in it.
    pub fn has_allocations(&self) -> bool {
        self.pool4.used() > 0 || self.pool6.as_ref().is_some_and(|p| p.used() > 0)
    }
}

/// A route entry.
#[derive(Clone, Debug)]
pub struct RouteEntry {
    /// `rte-...`
    pub id: String,
    /// `DestinationCidrBlock`.
    pub destination: String,
    /// `NextHopType`: `Instance`, `NetworkInterface`, `HaVip`, ... (empty for system entries).
    pub next_hop_type: String,
    /// `NextHopId`.
    pub next_hop_id: String,
    /// `RouteEntryName`.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `System` or `Custom`.
    pub kind: &'static str,
    /// Status is `Pending` until then.
    pub ready_at: Instant,
    /// `GmtModified`.
    pub modified: String,
}

/// A route table with its entries.
#[derive(Clone, Debug)]
pub struct RouteTable {
    /// `vtb-...`
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// The region.
    pub region_id: String,
    /// The vRouter.
    pub vrouter_id: String,
    /// `System` or `Custom`.
    pub kind: &'static str,
    /// `CreationTime`.
    pub creation_time: String,
    /// Entries in creation order.
    pub entries: Vec<RouteEntry>,
}

/// The VPC product's state.
#[derive(Debug, Default)]
pub struct VpcState {
    /// VPCs by id.
    pub vpcs: BTreeMap<String, Vpc>,
    /// VPC ids in creation order.
    pub vpc_order: Vec<String>,
    /// VSwitches by id.
    pub vswitches: BTreeMap<String, VSwitchEntry>,
    /// VSwitch ids in creation order.
    pub vswitch_order: Vec<String>,
    /// Route tables by id.
    pub route_tables: BTreeMap<String, RouteTable>,
    /// How long a new VPC, VSwitch or route entry stays `Pending`.
    pub pending_delay: Duration,
}

/// `InvalidVSwitchId.NotFound` (404).
pub fn vswitch_not_found(id: &str) -> MockError {
    MockError::not_found("InvalidVSwitchId.NotFound", format!("The specified VSwitch \"{id}\" does not exist."))
}

/// `InvalidVpcId.NotFound` (404).
pub fn vpc_not_found(id: &str) -> MockError {
    MockError::not_found("InvalidVpcId.NotFound", format!("Specified VPC \"{id}\" does not exist."))
}

impl VpcState {
    /// How long new resources stay `Pending` (default zero: `Available` at once).
    pub fn set_pending_delay(&mut self, delay: Duration) {
        self.pending_delay = delay;
    }

    /// The VPC part of the state dump: VPCs, VSwitches with the addresses in use, route tables.
    pub fn dump(&self) -> serde_json::Value {
        use serde_json::json;
        let vpcs: Vec<serde_json::Value> = self
            .vpc_order
            .iter()
            .filter_map(|id| self.vpcs.get(id))
            .map(|v| {
                json!({
                    "VpcId": v.id, "RegionId": v.region_id, "VpcName": v.name, "CidrBlock": v.cidr.to_string(),
                    "Ipv6CidrBlock": v.ipv6_cidr.map(|n| n.to_string()), "VRouterId": v.vrouter_id,
                    "RouteTableId": v.route_table_id, "Tags": tags_json(&v.tags),
                })
            })
            .collect();
        let vswitches: Vec<serde_json::Value> = self
            .vswitch_order
            .iter()
            .filter_map(|id| self.vswitches.get(id))
            .map(|v| {
                json!({
                    "VSwitchId": v.info.id, "VpcId": v.info.vpc_id, "ZoneId": v.info.zone_id,
                    "CidrBlock": v.info.cidr.to_string(), "Ipv6CidrBlock": v.info.ipv6_cidr.map(|n| n.to_string()),
                    "VSwitchName": v.name, "AvailableIpAddressCount": v.available_ips(),
                    "UsedIpv4": v.pool4.in_use().iter().map(|ip| ip.to_string()).collect::<Vec<_>>(),
                    "UsedIpv6": v.pool6.as_ref().map(|p| p.in_use().iter().map(|ip| ip.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
                    "Tags": tags_json(&v.tags),
                })
            })
            .collect();
        let tables: Vec<serde_json::Value> = self
            .route_tables
            .values()
            .map(|t| {
                let entries: Vec<serde_json::Value> = t
                    .entries
                    .iter()
                    .map(|e| {
                        json!({
                            "RouteEntryId": e.id, "DestinationCidrBlock": e.destination, "Type": e.kind,
                            "NextHopType": e.next_hop_type, "NextHopId": e.next_hop_id,
                        })
                    })
                    .collect();
                json!({ "RouteTableId": t.id, "VpcId": t.vpc_id, "RouteTableType": t.kind, "Entries": entries })
            })
            .collect();
        json!({ "Vpcs": vpcs, "VSwitches": vswitches, "RouteTables": tables })
    }

    /// The VSwitch `id`, if it exists.
    pub fn vswitch(&self, id: &str) -> Option<&VSwitch> {
        self.vswitches.get(id).map(|e| &e.info)
    }

    /// Everything the VPC product keeps about VSwitch `id`.
    pub fn vswitch_entry(&self, id: &str) -> Option<&VSwitchEntry> {
        self.vswitches.get(id)
    }

    /// Takes a free IPv4 address of the VSwitch (`requested`, or the lowest free one).
    /// Errors (as ECS answers them): `InvalidVSwitchId.NotFound` (404),
    /// `InvalidVSwitchId.IpNotEnough` (403) when full, `InvalidIp.IpAssigned` (403) when
    /// `requested` is taken, `InvalidVSwitchId.IpInvalid` (403) when `requested` is outside
    /// the CIDR or one of the reserved addresses.
    pub fn allocate_ipv4(&mut self, vswitch_id: &str, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, MockError> {
        let vsw = self.vswitches.get_mut(vswitch_id).ok_or_else(|| vswitch_not_found(vswitch_id))?;
        vsw.pool4.take(requested).map_err(|e| take_error(e, vswitch_id, requested.map(|ip| ip.to_string())))
    }

    /// Returns an IPv4 address to the VSwitch (no error if it was free).
    pub fn release_ipv4(&mut self, vswitch_id: &str, ip: Ipv4Addr) {
        if let Some(vsw) = self.vswitches.get_mut(vswitch_id) {
            vsw.pool4.release(ip);
        }
    }

    /// Takes a free IPv6 address of the VSwitch; `InvalidVSwitchId.Ipv6NotTurnOn` (403)
    /// when the VSwitch has no IPv6 CIDR, `InvalidVSwitchId.IpNotEnough` when full.
    pub fn allocate_ipv6(&mut self, vswitch_id: &str) -> Result<Ipv6Addr, MockError> {
        let vsw = self.vswitches.get_mut(vswitch_id).ok_or_else(|| vswitch_not_found(vswitch_id))?;
        let Some(pool) = vsw.pool6.as_mut() else {
            return Err(MockError::forbidden(
                "InvalidVSwitchId.Ipv6NotTurnOn",
                format!("The specified VSwitch \"{vswitch_id}\" does not have IPv6 enabled."),
            ));
        };
        pool.take(None).map_err(|e| take_error(e, vswitch_id, None))
    }

    /// Returns an IPv6 address to the VSwitch.
    pub fn release_ipv6(&mut self, vswitch_id: &str, ip: Ipv6Addr) {
        if let Some(pool) = self.vswitches.get_mut(vswitch_id).and_then(|v| v.pool6.as_mut()) {
            pool.release(ip);
        }
    }
}

fn take_error(e: TakeError, vswitch_id: &str, requested: Option<String>) -> MockError {
    let ip = requested.unwrap_or_default();
    match e {
        TakeError::Full => MockError::forbidden(
            "InvalidVSwitchId.IpNotEnough",
            format!("The specified VSwitch \"{vswitch_id}\" has not enough IpAddress."),
        ),
        TakeError::Taken => {
            MockError::forbidden("InvalidIp.IpAssigned", format!("The specified IP \"{ip}\" is already assigned."))
        }
        TakeError::Outside => MockError::forbidden(
            "InvalidVSwitchId.IpInvalid",
            format!("The specified IP \"{ip}\" is not in the CIDR block of VSwitch \"{vswitch_id}\"."),
        ),
        TakeError::Reserved => MockError::forbidden(
            "InvalidVSwitchId.IpInvalid",
            format!("The specified IP \"{ip}\" is reserved by VSwitch \"{vswitch_id}\"."),
        ),
    }
}

/// Serde for tags as the VPC API writes them: `[{"Key": "k", "Value": "v"}]`.
pub mod tag_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Tag {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Value", default)]
        value: String,
    }

    /// Writes `[{"Key","Value"}]`.
    pub fn serialize<S: Serializer>(tags: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Tag> = tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
        list.serialize(s)
    }

    /// Reads `[{"Key","Value"}]`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        Ok(Vec::<Tag>::deserialize(d)?.into_iter().map(|t| (t.key, t.value)).collect())
    }
}

/// The current wall-clock time as the API formats `CreationTime`.
pub fn now_string() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `Pending` before `ready_at`, `Available` from then on.
pub fn status(ready_at: Instant, now: Instant) -> &'static str {
    if now < ready_at {
        "Pending"
    } else {
        "Available"
    }
}

/// VPC-style tags: `{"Tag":[{"Key","Value"}]}`.
pub fn tags_json(tags: &[(String, String)]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = tags.iter().map(|(k, v)| serde_json::json!({ "Key": k, "Value": v })).collect();
    serde_json::json!({ "Tag": items })
}

/// Whether `have` carries every `(key, value)` of `want` (an empty value matches any value).
pub fn tags_match(have: &[(String, String)], want: &[(String, String)]) -> bool {
    want.iter().all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && (v.is_empty() || hv == v)))
}

/// Handles a VPC action; `None` when the action is not a VPC action the mock knows.
pub fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "CreateVpc" => vpcs::create(state, req),
        "DescribeVpcs" => vpcs::describe(state, req),
        "DeleteVpc" => vpcs::delete(state, req),
        "ModifyVpcAttribute" => vpcs::modify_attribute(state, req),
        "CreateVSwitch" => vswitches::create(state, req),
        "DescribeVSwitches" => vswitches::describe(state, req),
        "DescribeVSwitchAttributes" => vswitches::describe_attributes(state, req),
        "DeleteVSwitch" => vswitches::delete(state, req),
        "ModifyVSwitchAttribute" => vswitches::modify_attribute(state, req),
        "DescribeRouteTableList" => routes::describe_tables(state, req),
        "CreateRouteEntry" => routes::create_entry(state, req),
        "DeleteRouteEntry" => routes::delete_entry(state, req),
        "DescribeRouteEntryList" => routes::describe_entries(state, req),
        "TagResources" => tags::tag(state, req),
        "UntagResources" => tags::untag(state, req),
        "ListTagResources" => tags::list(state, req),
        _ => return None,
    })
}
