//! DescribeRouteTableList, CreateRouteEntry, DeleteRouteEntry, DescribeRouteEntryList.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::vpcs::{dry_run_ok, region_not_found};
use super::{now_string, status, RouteEntry, RouteTable};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, page_by_token, Req};
use crate::state::State;

/// The next-hop types CreateRouteEntry accepts.
const NEXT_HOP_TYPES: [&str; 12] = [
    "Instance",
    "HaVip",
    "RouterInterface",
    "NetworkInterface",
    "VpnGateway",
    "IPv6Gateway",
    "NatGateway",
    "Attachment",
    "VpcPeer",
    "Ipv4Gateway",
    "GatewayEndpoint",
    "CenBasic",
];

/// At most this many custom entries per route table.
pub const MAX_CUSTOM_ENTRIES: usize = 200;

fn table_not_found(id: &str) -> MockError {
    MockError::not_found("InvalidRouteTableId.NotFound", format!("The specified route table \"{id}\" does not exist."))
}

fn entry_not_found() -> MockError {
    MockError::not_found("InvalidRouteEntry.NotFound", "The specified route entry does not exist.")
}

fn table_json(state: &State, t: &RouteTable) -> Value {
    let vswitches: Vec<&str> = state
        .vpc
        .vswitch_order
        .iter()
        .filter(|id| state.vpc.vswitches.get(*id).is_some_and(|v| v.info.vpc_id == t.vpc_id))
        .map(String::as_str)
        .collect();
    let vpc = state.vpc.vpcs.get(&t.vpc_id);
    json!({
        "RouteTableId": t.id,
        "RouteTableName": "",
        "RouteTableType": t.kind,
        "RouterId": t.vrouter_id,
        "RouterType": "VRouter",
        "VpcId": t.vpc_id,
        "Status": "Available",
        "AssociateType": "VSwitch",
        "CreationTime": t.creation_time,
        "Description": "",
        "ResourceGroupId": vpc.map(|v| v.resource_group_id.clone()).unwrap_or_default(),
        "RoutePropagationEnable": true,
        "GatewayIds": { "GatewayIds": [] },
        "VSwitchIds": { "VSwitchId": vswitches },
        "Tags": super::tags_json(&[]),
    })
}

pub(super) fn describe_tables(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?;
    if !state.catalog.has_region(region) {
        return Err(region_not_found(region));
    }
    let id = req.opt_str("RouteTableId");
    let vpc_id = req.opt_str("VpcId");
    let router = req.opt_str("RouterId");
    let kind = req.opt_str("RouteTableType");
    let router_type = req.opt_str("RouterType");
    let name = req.opt_str("RouteTableName");
    let rg = req.opt_str("ResourceGroupId");
    let mut tables: Vec<&RouteTable> = state
        .vpc
        .route_tables
        .values()
        .filter(|t| t.region_id == region)
        .filter(|t| id.is_none_or(|x| t.id == x))
        .filter(|t| vpc_id.is_none_or(|x| t.vpc_id == x))
        .filter(|t| router.is_none_or(|x| t.vrouter_id == x))
        .filter(|t| kind.is_none_or(|x| t.kind == x))
        .filter(|_| router_type.is_none_or(|x| x == "VRouter"))
        .filter(|_| name.is_none_or(str::is_empty))
        .filter(|t| rg.is_none_or(|r| state.vpc.vpcs.get(&t.vpc_id).is_some_and(|v| v.resource_group_id == r)))
        .collect();
    tables.sort_by(|a, b| b.creation_time.cmp(&a.creation_time).then(a.id.cmp(&b.id)));
    let (page, meta) = page_by_number(req, &tables, 10, 50)?;
    let items: Vec<Value> = page.iter().map(|t| table_json(state, t)).collect();
    let mut out = meta;
    out["RouterTableList"] = json!({ "RouterTableListType": items });
    Ok(out)
}

fn parse_destination(s: &str) -> Result<IpNet, MockError> {
    let bad = || {
        MockError::bad_request(
            "InvalidDestinationCidrBlock.Malformed",
            format!("Specified DestinationCidrBlock \"{s}\" is not valid."),
        )
    };
    let net: IpNet = match s.trim().parse() {
        Ok(n) => n,
        // A bare address is a host route.
        Err(_) => IpNet::from(s.trim().parse::<IpAddr>().map_err(|_| bad())?),
    };
    if net.trunc() != net {
        return Err(bad());
    }
    Ok(net)
}

pub(super) fn create_entry(state: &mut State, req: &Req) -> HandlerResult {
    let table_id = req.str("RouteTableId")?;
    let dest = parse_destination(req.str("DestinationCidrBlock")?)?;
    if !req.objects("NextHopList")?.is_empty() {
        return Err(MockError::invalid_param("NextHopList", "ECMP next-hop lists are not supported by the mock"));
    }
    let hop_type = req.opt_str("NextHopType").unwrap_or("Instance");
    if !NEXT_HOP_TYPES.contains(&hop_type) {
        return Err(MockError::bad_request(
            "InvalidNextHopType.NotSupported",
            format!("Specified NextHopType \"{hop_type}\" is not supported."),
        ));
    }
    let hop_id = req.str("NextHopId")?.to_owned();
    let name = req.opt_str("RouteEntryName").unwrap_or_default().to_owned();
    let description = req.opt_str("Description").unwrap_or_default().to_owned();
    let table = state.vpc.route_tables.get(table_id).ok_or_else(|| table_not_found(table_id))?;
    if req.opt_str("RegionId").is_some_and(|r| r != table.region_id) {
        return Err(table_not_found(table_id));
    }
    match hop_type {
        "Instance" if !state.ecs.instance_exists(&hop_id) => {
            return Err(MockError::not_found(
                "InvalidInstanceId.NotFound",
                format!("The specified instance \"{hop_id}\" does not exist."),
            ))
        }
        "NetworkInterface" if !hop_id.starts_with("eni-") => {
            return Err(MockError::not_found(
                "InvalidNetworkInterfaceId.NotFound",
                format!("The specified network interface \"{hop_id}\" does not exist."),
            ))
        }
        _ => {}
    }
    if table.entries.iter().any(|e| e.ready_at > req.now) {
        return Err(MockError::bad_request(
            "IncorrectRouteEntryStatus",
            "Some route entry status blocked this operation.",
        ));
    }
    let dest_s = dest.to_string();
    if table.entries.iter().any(|e| e.destination == dest_s) {
        return Err(MockError::bad_request(
            "RouterEntryConflict.Duplicated",
            format!("A route entry with destination \"{dest_s}\" already exists."),
        ));
    }
    if let IpNet::V4(d4) = dest {
        if let Some(v) = state.vpc.vswitches.values().find(|v| {
            state.vpc.vpcs.get(&v.info.vpc_id).is_some_and(|p| p.route_table_id == table.id)
                && v.info.cidr.contains(&d4)
        }) {
            return Err(MockError::bad_request(
                "InvalidCIDRBlock.Duplicate",
                format!("The destination \"{dest_s}\" lies inside VSwitch \"{}\" ({}).", v.info.id, v.info.cidr),
            ));
        }
    }
    if table.entries.iter().filter(|e| e.kind == "Custom").count() >= MAX_CUSTOM_ENTRIES {
        return Err(MockError::bad_request("QuotaExceeded.RouteEntryNum", "The route table has too many entries."));
    }
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(dry_run_ok());
    }
    let id = state.ids.id("rte-");
    let ready_at = req.now + state.vpc.pending_delay;
    let modified = now_string();
    let table = state.vpc.route_tables.get_mut(table_id).ok_or_else(|| table_not_found(table_id))?;
    table.entries.push(RouteEntry {
        id: id.clone(),
        destination: dest_s,
        next_hop_type: hop_type.to_owned(),
        next_hop_id: hop_id,
        name,
        description,
        kind: "Custom",
        ready_at,
        modified,
    });
    Ok(json!({ "RouteEntryId": id }))
}

pub(super) fn delete_entry(state: &mut State, req: &Req) -> HandlerResult {
    let entry_id = req.opt_str("RouteEntryId");
    let table_id = req.opt_str("RouteTableId");
    let dest = req.opt_str("DestinationCidrBlock").map(parse_destination).transpose()?.map(|d| d.to_string());
    let hop = req.opt_str("NextHopId");
    if entry_id.is_none() && (table_id.is_none() || dest.is_none()) {
        return Err(MockError::missing(if table_id.is_none() { "RouteTableId" } else { "DestinationCidrBlock" }));
    }
    let now = req.now;
    let matches = |t: &RouteTable, e: &RouteEntry| {
        entry_id.is_none_or(|x| e.id == x)
            && table_id.is_none_or(|x| t.id == x)
            && dest.as_ref().is_none_or(|d| &e.destination == d)
            && hop.is_none_or(|h| e.next_hop_id == h)
    };
    let found = state.vpc.route_tables.values().find_map(|t| {
        t.entries.iter().find(|e| matches(t, e)).map(|e| (t.id.clone(), e.id.clone(), e.kind, e.ready_at))
    });
    let Some((tid, eid, kind, ready_at)) = found else { return Err(entry_not_found()) };
    if kind != "Custom" {
        return Err(MockError::bad_request(
            "OperationDenied.SystemRouteEntry",
            "System route entries cannot be deleted.",
        ));
    }
    if ready_at > now {
        return Err(MockError::bad_request(
            "IncorrectRouteEntryStatus",
            "Some route entry status blocked this operation.",
        ));
    }
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(dry_run_ok());
    }
    if let Some(t) = state.vpc.route_tables.get_mut(&tid) {
        t.entries.retain(|e| e.id != eid);
    }
    Ok(json!({}))
}

fn entry_json(t: &RouteTable, e: &RouteEntry, region: &str, now: Instant) -> Value {
    let v6 = e.destination.contains(':');
    let hops: Vec<Value> = if e.next_hop_id.is_empty() && e.next_hop_type.is_empty() {
        Vec::new()
    } else {
        vec![json!({
            "NextHopType": e.next_hop_type,
            "NextHopId": e.next_hop_id,
            "Enabled": 1,
            "Weight": 0,
            "NextHopRegionId": region,
            "NextHopRelatedInfo": { "InstanceId": "", "InstanceType": "", "RegionId": "" },
        })]
    };
    json!({
        "RouteEntryId": e.id,
        "RouteTableId": t.id,
        "RouteEntryName": e.name,
        "Description": e.description,
        "DestinationCidrBlock": e.destination,
        "IpVersion": if v6 { "ipv6" } else { "ipv4" },
        "Type": e.kind,
        "Status": status(e.ready_at, now),
        "Origin": "",
        "ServiceType": "",
        "GmtModified": e.modified,
        "NextHops": { "NextHop": hops },
    })
}

pub(super) fn describe_entries(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?;
    let table_id = req.str("RouteTableId")?;
    let t = state.vpc.route_tables.get(table_id).ok_or_else(|| table_not_found(table_id))?;
    if t.region_id != region {
        return Err(table_not_found(table_id));
    }
    let id = req.opt_str("RouteEntryId");
    let name = req.opt_str("RouteEntryName");
    let kind = req.opt_str("RouteEntryType");
    let dest = req.opt_str("DestinationCidrBlock");
    let dests = req.list("DestCidrBlockList")?;
    let hop_id = req.opt_str("NextHopId");
    let hop_type = req.opt_str("NextHopType");
    let ip_version = req.opt_str("IpVersion").map(str::to_ascii_lowercase);
    let items: Vec<&RouteEntry> = t
        .entries
        .iter()
        .filter(|e| id.is_none_or(|x| e.id == x))
        .filter(|e| name.is_none_or(|x| e.name == x))
        .filter(|e| kind.is_none_or(|x| e.kind == x))
        .filter(|e| dest.is_none_or(|x| e.destination == x))
        .filter(|e| dests.is_empty() || dests.contains(&e.destination))
        .filter(|e| hop_id.is_none_or(|x| e.next_hop_id == x))
        .filter(|e| hop_type.is_none_or(|x| e.next_hop_type == x))
        .filter(|e| ip_version.as_deref().is_none_or(|v| (v == "ipv6") == e.destination.contains(':')))
        .collect();
    let total = items.len();
    let (page, next) = page_by_token(req, &items, "MaxResult", 10, 1, 100, "InvalidNextToken")?;
    let entries: Vec<Value> = page.iter().map(|e| entry_json(t, e, region, req.now)).collect();
    Ok(json!({
        "NextToken": next,
        "TotalCount": total,
        "RouteEntrys": { "RouteEntry": entries },
    }))
}
