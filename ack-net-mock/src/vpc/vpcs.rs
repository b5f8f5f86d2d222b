//! CreateVpc, DescribeVpcs, DeleteVpc.

use std::net::Ipv6Addr;

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{now_string, status, tags_json, vpc_not_found, RouteTable, Vpc};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, Req};
use crate::state::State;

/// What a new VPC looks like (for the admin API, the preload file and unit tests).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct NewVpc {
    /// Region, e.g. `cn-hangzhou`.
    #[serde(rename = "RegionId")]
    pub region_id: String,
    /// IPv4 CIDR; `172.16.0.0/12` when absent, as on the real cloud.
    #[serde(rename = "CidrBlock", default)]
    pub cidr_block: Option<String>,
    /// `VpcName`.
    #[serde(rename = "VpcName", default)]
    pub name: String,
    /// `Description`.
    #[serde(rename = "Description", default)]
    pub description: String,
    /// Whether to give it an IPv6 /56.
    #[serde(rename = "EnableIpv6", default)]
    pub enable_ipv6: bool,
    /// `ResourceGroupId`.
    #[serde(rename = "ResourceGroupId", default)]
    pub resource_group_id: String,
    /// Tags, as `[{"Key": "k", "Value": "v"}]` in JSON.
    #[serde(rename = "Tags", default, with = "super::tag_list")]
    pub tags: Vec<(String, String)>,
    /// A fixed id (preload only).
    #[serde(rename = "VpcId", default)]
    pub vpc_id: Option<String>,
}

/// The ranges a VPC CIDR may not touch.
const FORBIDDEN: [(&str, &str); 5] = [
    ("0.0.0.0/8", "reserved"),
    ("100.64.0.0/10", "reserved for cloud services"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("224.0.0.0/3", "multicast and reserved"),
];

fn malformed(cidr: &str, why: &str) -> MockError {
    MockError::bad_request(
        "InvalidCidrBlock.Malformed",
        format!("Specified CIDR block \"{cidr}\" is not valid: {why}."),
    )
}

/// Parses and checks a VPC CIDR: network-aligned, prefix /8 to /28, not in a reserved range.
pub fn parse_vpc_cidr(s: &str) -> Result<Ipv4Net, MockError> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| malformed(s, "not an IPv4 CIDR block"))?;
    if net.trunc() != net {
        return Err(malformed(s, "host bits are set"));
    }
    if !(8..=28).contains(&net.prefix_len()) {
        return Err(malformed(s, "the prefix length must be 8 to 28"));
    }
    for (r, why) in FORBIDDEN {
        let r: Ipv4Net = r.parse().map_err(|_| MockError::new(500, "InternalError", "bad constant"))?;
        if r.contains(&net.network()) || net.contains(&r.network()) {
            return Err(malformed(s, why));
        }
    }
    Ok(net)
}

/// Creates a VPC with its vRouter and system route table; returns its id.
pub fn create_vpc(state: &mut State, now: Instant, spec: NewVpc) -> Result<String, MockError> {
    if !state.catalog.has_region(&spec.region_id) {
        return Err(region_not_found(&spec.region_id));
    }
    let cidr = parse_vpc_cidr(spec.cidr_block.as_deref().unwrap_or("172.16.0.0/12"))?;
    let id = match spec.vpc_id {
        Some(id) if state.vpc.vpcs.contains_key(&id) => {
            return Err(MockError::bad_request("InvalidVpcId.Duplicated", format!("VPC \"{id}\" already exists.")))
        }
        Some(id) => id,
        None => state.ids.id("vpc-"),
    };
    let ipv6_cidr = spec.enable_ipv6.then(|| new_ipv6_56(state));
    let vrouter_id = state.ids.id("vrt-");
    let route_table_id = state.ids.id("vtb-");
    let created = now_string();
    let ready_at = now + state.vpc.pending_delay;
    // The cloud-service route every VPC's system table starts with.
    let entries = vec![super::RouteEntry {
        id: state.ids.id("rte-"),
        destination: "100.64.0.0/10".into(),
        next_hop_type: "service".into(),
        next_hop_id: String::new(),
        name: String::new(),
        description: String::new(),
        kind: "System",
        ready_at: now,
        modified: created.clone(),
    }];
    state.vpc.route_tables.insert(
        route_table_id.clone(),
        RouteTable {
            id: route_table_id.clone(),
            vpc_id: id.clone(),
            region_id: spec.region_id.clone(),
            vrouter_id: vrouter_id.clone(),
            kind: "System",
            creation_time: created.clone(),
            entries,
        },
    );
    state.vpc.vpcs.insert(
        id.clone(),
        Vpc {
            id: id.clone(),
            region_id: spec.region_id,
            name: spec.name,
            description: spec.description,
            cidr,
            ipv6_cidr,
            vrouter_id,
            route_table_id,
            resource_group_id: if spec.resource_group_id.is_empty() {
                "rg-acfmmockdefault".into()
            } else {
                spec.resource_group_id
            },
            creation_time: created,
            ready_at,
            tags: spec.tags,
        },
    );
    state.vpc.vpc_order.push(id.clone());
    Ok(id)
}

fn new_ipv6_56(state: &mut State) -> Ipv6Net {
    loop {
        let hi = 0x2408_4005_0300_0000u64 | (state.ids.below(0x10000) << 8);
        let addr = Ipv6Addr::from((u128::from(hi)) << 64);
        let net = Ipv6Net::new(addr, 56).unwrap_or_default();
        if !state.vpc.vpcs.values().any(|v| v.ipv6_cidr == Some(net)) {
            return net;
        }
    }
}

/// `InvalidRegionId.NotFound` (404).
pub fn region_not_found(region: &str) -> MockError {
    MockError::not_found(
        "InvalidRegionId.NotFound",
        format!("Specified value of \"RegionId\" \"{region}\" is not supported."),
    )
}

fn check_name(req: &Req, param: &str) -> Result<String, MockError> {
    let Some(name) = req.opt_str(param) else { return Ok(String::new()) };
    let ok_start = name.chars().next().is_some_and(|c| c.is_alphabetic());
    if name.chars().count() > 128 || !ok_start || name.starts_with("http://") || name.starts_with("https://") {
        return Err(MockError::bad_request(
            format!("Invalid{param}.Malformed"),
            format!("Specified {param} \"{name}\" is not valid."),
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn create(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    let spec = NewVpc {
        region_id: region,
        cidr_block: req.opt_str("CidrBlock").map(str::to_owned),
        name: check_name(req, "VpcName")?,
        description: req.opt_str("Description").unwrap_or_default().to_owned(),
        enable_ipv6: req.opt_bool("EnableIpv6")?.unwrap_or(false),
        resource_group_id: req.opt_str("ResourceGroupId").unwrap_or_default().to_owned(),
        tags: req.tags("Tag", "Key", "Value")?,
        vpc_id: None,
    };
    if req.opt_bool("DryRun")? == Some(true) {
        parse_vpc_cidr(spec.cidr_block.as_deref().unwrap_or("172.16.0.0/12"))?;
        return Err(dry_run_ok());
    }
    let id = create_vpc(state, req.now, spec)?;
    let vpc = &state.vpc.vpcs[&id];
    Ok(json!({
        "VpcId": vpc.id,
        "VRouterId": vpc.vrouter_id,
        "RouteTableId": vpc.route_table_id,
        "ResourceGroupId": vpc.resource_group_id,
    }))
}

/// `DryRunOperation` (400), what a DryRun that would succeed answers.
pub fn dry_run_ok() -> MockError {
    MockError::bad_request("DryRunOperation", "Request validation has been passed with DryRun flag set.")
}

/// The `Vpc` object of DescribeVpcs.
pub fn vpc_json(state: &State, vpc: &Vpc, now: Instant) -> Value {
    let vswitch_ids: Vec<&str> = state
        .vpc
        .vswitch_order
        .iter()
        .filter(|id| state.vpc.vswitches.get(*id).is_some_and(|v| v.info.vpc_id == vpc.id))
        .map(String::as_str)
        .collect();
    let ipv6 = vpc.ipv6_cidr.map(|n| n.to_string()).unwrap_or_default();
    json!({
        "VpcId": vpc.id,
        "RegionId": vpc.region_id,
        "Status": status(vpc.ready_at, now),
        "VpcName": vpc.name,
        "Description": vpc.description,
        "CreationTime": vpc.creation_time,
        "CidrBlock": vpc.cidr.to_string(),
        "Ipv6CidrBlock": ipv6,
        "Ipv6CidrBlocks": { "Ipv6CidrBlock": vpc.ipv6_cidr.map(|n| vec![json!({"Ipv6CidrBlock": n.to_string(), "Ipv6Isp": "BGP"})]).unwrap_or_default() },
        "EnabledIpv6": vpc.ipv6_cidr.is_some(),
        "VRouterId": vpc.vrouter_id,
        "IsDefault": false,
        "ResourceGroupId": vpc.resource_group_id,
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "DnsHostnameStatus": "DISABLED",
        "CenStatus": "Detached",
        "VSwitchIds": { "VSwitchId": vswitch_ids },
        "RouterTableIds": { "RouterTableIds": [vpc.route_table_id.clone()] },
        "NatGatewayIds": { "NatGatewayIds": [] },
        "SecondaryCidrBlocks": { "SecondaryCidrBlock": [] },
        "UserCidrs": { "UserCidr": [] },
        "Tags": tags_json(&vpc.tags),
    })
}

pub(super) fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?;
    if !state.catalog.has_region(region) {
        return Err(region_not_found(region));
    }
    // VpcId may be a comma-separated list of up to 20 ids.
    let ids: Option<Vec<&str>> =
        req.opt_str("VpcId").map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect());
    if ids.as_ref().is_some_and(|v| v.len() > 20) {
        return Err(MockError::invalid_param("VpcId", "at most 20 VPC ids"));
    }
    let name = req.opt_str("VpcName");
    let rg = req.opt_str("ResourceGroupId");
    let enable_ipv6 = req.opt_bool("EnableIpv6")?;
    let is_default = req.opt_bool("IsDefault")?;
    let tags = req.tags("Tag", "Key", "Value")?;
    let matching: Vec<&Vpc> = state
        .vpc
        .vpc_order
        .iter()
        .rev()
        .filter_map(|id| state.vpc.vpcs.get(id))
        .filter(|v| v.region_id == region)
        .filter(|v| ids.as_ref().is_none_or(|ids| ids.contains(&v.id.as_str())))
        .filter(|v| name.is_none_or(|n| v.name == n))
        .filter(|v| rg.is_none_or(|r| v.resource_group_id == r))
        .filter(|v| enable_ipv6.is_none_or(|e| v.ipv6_cidr.is_some() == e))
        .filter(|_| is_default != Some(true))
        .filter(|v| super::tags_match(&v.tags, &tags))
        .collect();
    let (page, meta) = page_by_number(req, &matching, 10, 50)?;
    let vpcs: Vec<Value> = page.iter().map(|v| vpc_json(state, v, req.now)).collect();
    let mut out = meta;
    out["Vpcs"] = json!({ "Vpc": vpcs });
    Ok(out)
}

pub(super) fn modify_attribute(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("VpcId")?;
    let name = req.opt_str("VpcName").map(|_| check_name(req, "VpcName")).transpose()?;
    let vpc = state.vpc.vpcs.get_mut(id).filter(|v| req.opt_str("RegionId").is_none_or(|r| r == v.region_id));
    let vpc = vpc.ok_or_else(|| vpc_not_found(id))?;
    if let Some(name) = name {
        vpc.name = name;
    }
    if let Some(description) = req.opt_str("Description") {
        vpc.description = description.to_owned();
    }
    Ok(json!({}))
}

pub(super) fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("VpcId")?;
    let Some(vpc) = state.vpc.vpcs.get(id) else { return Err(vpc_not_found(id)) };
    if let Some(region) = req.opt_str("RegionId") {
        if region != vpc.region_id {
            return Err(vpc_not_found(id));
        }
    }
    if vpc.ready_at > req.now {
        return Err(MockError::bad_request(
            "IncorrectVpcStatus",
            "The current status of the VPC does not support this operation.",
        ));
    }
    if state.vpc.vswitches.values().any(|v| v.info.vpc_id == id) {
        return Err(MockError::bad_request(
            "DependencyViolation.VSwitch",
            format!("The specified VPC \"{id}\" has VSwitches; delete them first."),
        ));
    }
    let table = &state.vpc.route_tables[&vpc.route_table_id];
    if table.entries.iter().any(|e| e.kind == "Custom") {
        return Err(MockError::bad_request(
            "DependencyViolation.RouteEntry",
            format!("The specified VPC \"{id}\" has custom route entries; delete them first."),
        ));
    }
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(dry_run_ok());
    }
    let vpc = state.vpc.vpcs.remove(id).ok_or_else(|| vpc_not_found(id))?;
    state.vpc.vpc_order.retain(|x| x != id);
    state.vpc.route_tables.retain(|_, t| t.vpc_id != vpc.id);
    Ok(json!({}))
}
