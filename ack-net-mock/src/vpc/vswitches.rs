//! CreateVSwitch, DescribeVSwitches, DescribeVSwitchAttributes, DeleteVSwitch.

use std::net::Ipv6Addr;

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::pool::{Ipv4Pool, Ipv6Pool};
use super::vpcs::dry_run_ok;
use super::{now_string, status, tags_json, vpc_not_found, vswitch_not_found, RouteEntry, VSwitch, VSwitchEntry};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, Req};
use crate::state::State;

/// At most this many VSwitches per VPC, as on the real cloud.
pub const MAX_VSWITCHES_PER_VPC: usize = 150;

/// What a new VSwitch looks like (for the admin API, the preload file and unit tests).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct NewVSwitch {
    /// The VPC.
    #[serde(rename = "VpcId")]
    pub vpc_id: String,
    /// The zone, which must be in the VPC's region.
    #[serde(rename = "ZoneId")]
    pub zone_id: String,
    /// IPv4 CIDR inside the VPC's, /16 to /29.
    #[serde(rename = "CidrBlock")]
    pub cidr_block: String,
    /// Index (0-255) of the /64 in the VPC's IPv6 /56; IPv6 stays off when absent.
    #[serde(rename = "Ipv6CidrBlock", default)]
    pub ipv6_index: Option<u8>,
    /// `VSwitchName`.
    #[serde(rename = "VSwitchName", default)]
    pub name: String,
    /// `Description`.
    #[serde(rename = "Description", default)]
    pub description: String,
    /// Tags, as `[{"Key": "k", "Value": "v"}]` in JSON.
    #[serde(rename = "Tags", default, with = "super::tag_list")]
    pub tags: Vec<(String, String)>,
    /// A fixed id (preload only).
    #[serde(rename = "VSwitchId", default)]
    pub vswitch_id: Option<String>,
}

fn malformed(cidr: &str, why: &str) -> MockError {
    MockError::bad_request(
        "InvalidCidrBlock.Malformed",
        format!("Specified CIDR block \"{cidr}\" is not valid: {why}."),
    )
}

/// Creates a VSwitch after every check the real API makes; returns its id.
pub fn create_vswitch(state: &mut State, now: Instant, spec: NewVSwitch) -> Result<String, MockError> {
    let vpc = state.vpc.vpcs.get(&spec.vpc_id).ok_or_else(|| vpc_not_found(&spec.vpc_id))?;
    if vpc.ready_at > now {
        return Err(MockError::bad_request(
            "IncorrectVpcStatus",
            "The current status of the VPC does not support this operation.",
        ));
    }
    if !state.catalog.has_zone(&vpc.region_id, &spec.zone_id) {
        return Err(MockError::not_found(
            "InvalidZoneId.NotFound",
            format!("The specified zone \"{}\" does not exist in region \"{}\".", spec.zone_id, vpc.region_id),
        ));
    }
    let s = spec.cidr_block.trim();
    let cidr: Ipv4Net = s.parse().map_err(|_| malformed(s, "not an IPv4 CIDR block"))?;
    if cidr.trunc() != cidr {
        return Err(malformed(s, "host bits are set"));
    }
    if !(16..=29).contains(&cidr.prefix_len()) {
        return Err(malformed(s, "the prefix length must be 16 to 29"));
    }
    if !vpc.cidr.contains(&cidr) {
        return Err(malformed(s, &format!("not inside the VPC's CIDR block {}", vpc.cidr)));
    }
    let siblings: Vec<&VSwitchEntry> = state.vpc.vswitches.values().filter(|v| v.info.vpc_id == vpc.id).collect();
    if let Some(other) = siblings.iter().find(|v| v.info.cidr.contains(&cidr) || cidr.contains(&v.info.cidr)) {
        return Err(MockError::bad_request(
            "InvalidCidrBlock.Overlapped",
            format!(
                "Specified CIDR block \"{cidr}\" overlapped with VSwitch \"{}\" ({}).",
                other.info.id, other.info.cidr
            ),
        ));
    }
    if siblings.len() >= MAX_VSWITCHES_PER_VPC {
        return Err(MockError::bad_request(
            "QuotaExceeded.VSwitch",
            format!("The VPC already has the maximum of {MAX_VSWITCHES_PER_VPC} VSwitches."),
        ));
    }
    let ipv6_cidr = match spec.ipv6_index {
        None => None,
        Some(index) => {
            let Some(v6) = vpc.ipv6_cidr else {
                return Err(MockError::bad_request(
                    "OperationFailed.VpcNotEnableIpv6",
                    format!("The VPC \"{}\" does not have IPv6 enabled.", vpc.id),
                ));
            };
            let base = u128::from(v6.network()) | (u128::from(index) << 64);
            let net = Ipv6Net::new(Ipv6Addr::from(base), 64).map_err(|_| malformed(s, "bad IPv6 block"))?;
            if siblings.iter().any(|v| v.info.ipv6_cidr == Some(net)) {
                return Err(MockError::bad_request(
                    "InvalidIpv6CidrBlock.Overlapped",
                    format!("Specified IPv6 CIDR block \"{net}\" is already used by another VSwitch."),
                ));
            }
            Some(net)
        }
    };
    let region_id = vpc.region_id.clone();
    let table_id = vpc.route_table_id.clone();
    let id = match spec.vswitch_id {
        Some(id) if state.vpc.vswitches.contains_key(&id) => {
            return Err(MockError::bad_request(
                "InvalidVSwitchId.Duplicated",
                format!("VSwitch \"{id}\" already exists."),
            ))
        }
        Some(id) => id,
        None => state.ids.id("vsw-"),
    };
    let created = now_string();
    let entry_id = state.ids.id("rte-");
    if let Some(table) = state.vpc.route_tables.get_mut(&table_id) {
        table.entries.push(RouteEntry {
            id: entry_id,
            destination: cidr.to_string(),
            next_hop_type: "local".into(),
            next_hop_id: id.clone(),
            name: String::new(),
            description: String::new(),
            kind: "System",
            ready_at: now,
            modified: created.clone(),
        });
    }
    state.vpc.vswitches.insert(
        id.clone(),
        VSwitchEntry {
            info: VSwitch { id: id.clone(), vpc_id: spec.vpc_id, zone_id: spec.zone_id, cidr, ipv6_cidr },
            region_id,
            name: spec.name,
            description: spec.description,
            creation_time: created,
            ready_at: now + state.vpc.pending_delay,
            tags: spec.tags,
            pool4: Ipv4Pool::new(cidr),
            pool6: ipv6_cidr.map(Ipv6Pool::new),
        },
    );
    state.vpc.vswitch_order.push(id.clone());
    Ok(id)
}

pub(super) fn create(state: &mut State, req: &Req) -> HandlerResult {
    let spec = NewVSwitch {
        vpc_id: req.str("VpcId")?.to_owned(),
        zone_id: req.str("ZoneId")?.to_owned(),
        cidr_block: req.str("CidrBlock")?.to_owned(),
        ipv6_index: match req.opt::<u16>("Ipv6CidrBlock")? {
            None => None,
            Some(i) => {
                Some(u8::try_from(i).map_err(|_| MockError::invalid_param("Ipv6CidrBlock", "must be 0 to 255"))?)
            }
        },
        name: check_name(req)?,
        description: req.opt_str("Description").unwrap_or_default().to_owned(),
        tags: req.tags("Tag", "Key", "Value")?,
        vswitch_id: None,
    };
    if let Some(region) = req.opt_str("RegionId") {
        if state.vpc.vpcs.get(&spec.vpc_id).is_some_and(|v| v.region_id != region) {
            return Err(vpc_not_found(&spec.vpc_id));
        }
    }
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(dry_run_ok());
    }
    let id = create_vswitch(state, req.now, spec)?;
    Ok(json!({ "VSwitchId": id }))
}

fn check_name(req: &Req) -> Result<String, MockError> {
    let Some(name) = req.opt_str("VSwitchName") else { return Ok(String::new()) };
    let ok_start = name.chars().next().is_some_and(|c| c.is_alphabetic());
    if name.chars().count() > 128 || !ok_start || name.starts_with("http://") || name.starts_with("https://") {
        return Err(MockError::bad_request(
            "InvalidVSwitchName.Malformed",
            format!("Specified VSwitchName \"{name}\" is not valid."),
        ));
    }
    Ok(name.to_owned())
}

/// The VSwitch object of DescribeVSwitches (and the body of DescribeVSwitchAttributes).
pub fn vswitch_json(state: &State, v: &VSwitchEntry, now: Instant) -> Value {
    let table_id = state.vpc.vpcs.get(&v.info.vpc_id).map(|p| p.route_table_id.clone()).unwrap_or_default();
    json!({
        "VSwitchId": v.info.id,
        "VpcId": v.info.vpc_id,
        "ZoneId": v.info.zone_id,
        "Status": status(v.ready_at, now),
        "CidrBlock": v.info.cidr.to_string(),
        "Ipv6CidrBlock": v.info.ipv6_cidr.map(|n| n.to_string()).unwrap_or_default(),
        "EnabledIpv6": v.info.ipv6_cidr.is_some(),
        "AvailableIpAddressCount": v.available_ips(),
        "VSwitchName": v.name,
        "Description": v.description,
        "CreationTime": v.creation_time,
        "IsDefault": false,
        "NetworkAclId": "",
        "ResourceGroupId": state.vpc.vpcs.get(&v.info.vpc_id).map(|p| p.resource_group_id.clone()).unwrap_or_default(),
        "RouteTable": { "RouteTableId": table_id, "RouteTableType": "System" },
        "ShareType": "",
        "Tags": tags_json(&v.tags),
    })
}

pub(super) fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.opt_str("RegionId");
    if let Some(r) = region {
        if !state.catalog.has_region(r) {
            return Err(super::vpcs::region_not_found(r));
        }
    }
    let ids: Option<Vec<&str>> =
        req.opt_str("VSwitchId").map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect());
    let vpc_id = req.opt_str("VpcId");
    let zone = req.opt_str("ZoneId");
    let name = req.opt_str("VSwitchName");
    let table = req.opt_str("RouteTableId");
    let rg = req.opt_str("ResourceGroupId");
    let enable_ipv6 = req.opt_bool("EnableIpv6")?;
    let is_default = req.opt_bool("IsDefault")?;
    let tags = req.tags("Tag", "Key", "Value")?;
    let vpc_of = |v: &VSwitchEntry| state.vpc.vpcs.get(&v.info.vpc_id);
    let matching: Vec<&VSwitchEntry> = state
        .vpc
        .vswitch_order
        .iter()
        .rev()
        .filter_map(|id| state.vpc.vswitches.get(id))
        .filter(|v| region.is_none_or(|r| v.region_id == r))
        .filter(|v| ids.as_ref().is_none_or(|ids| ids.contains(&v.info.id.as_str())))
        .filter(|v| vpc_id.is_none_or(|x| v.info.vpc_id == x))
        .filter(|v| zone.is_none_or(|z| v.info.zone_id == z))
        .filter(|v| name.is_none_or(|n| v.name == n))
        .filter(|v| table.is_none_or(|t| vpc_of(v).is_some_and(|p| p.route_table_id == t)))
        .filter(|v| rg.is_none_or(|r| vpc_of(v).is_some_and(|p| p.resource_group_id == r)))
        .filter(|v| enable_ipv6.is_none_or(|e| v.info.ipv6_cidr.is_some() == e))
        .filter(|_| is_default != Some(true))
        .filter(|v| super::tags_match(&v.tags, &tags))
        .collect();
    let (page, meta) = page_by_number(req, &matching, 10, 50)?;
    let items: Vec<Value> = page.iter().map(|v| vswitch_json(state, v, req.now)).collect();
    let mut out = meta;
    out["VSwitches"] = json!({ "VSwitch": items });
    Ok(out)
}

pub(super) fn describe_attributes(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("VSwitchId")?;
    let v = state.vpc.vswitches.get(id).ok_or_else(|| vswitch_not_found(id))?;
    if req.opt_str("RegionId").is_some_and(|r| r != v.region_id) {
        return Err(vswitch_not_found(id));
    }
    Ok(vswitch_json(state, v, req.now))
}

pub(super) fn modify_attribute(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("VSwitchId")?;
    let name = req.opt_str("VSwitchName").map(|_| check_name(req)).transpose()?;
    let v = state.vpc.vswitches.get_mut(id).filter(|v| req.opt_str("RegionId").is_none_or(|r| r == v.region_id));
    let v = v.ok_or_else(|| vswitch_not_found(id))?;
    if let Some(name) = name {
        v.name = name;
    }
    if let Some(description) = req.opt_str("Description") {
        v.description = description.to_owned();
    }
    Ok(json!({}))
}

pub(super) fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("VSwitchId")?;
    let v = state.vpc.vswitches.get(id).ok_or_else(|| vswitch_not_found(id))?;
    if req.opt_str("RegionId").is_some_and(|r| r != v.region_id) {
        return Err(vswitch_not_found(id));
    }
    if v.ready_at > req.now {
        return Err(MockError::bad_request(
            "IncorrectVSwitchStatus",
            "The current status of the VSwitch does not support this operation.",
        ));
    }
    if v.has_allocations() {
        return Err(MockError::bad_request("DependencyViolation", "Specified object has dependent resources."));
    }
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(dry_run_ok());
    }
    let cidr = v.info.cidr.to_string();
    let table_id = state.vpc.vpcs.get(&v.info.vpc_id).map(|p| p.route_table_id.clone());
    state.vpc.vswitches.remove(id);
    state.vpc.vswitch_order.retain(|x| x != id);
    if let Some(t) = table_id.and_then(|t| state.vpc.route_tables.get_mut(&t)) {
        t.entries.retain(|e| !(e.kind == "System" && e.next_hop_id == id && e.destination == cidr));
    }
    Ok(json!({}))
}
