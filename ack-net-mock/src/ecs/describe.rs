//! DescribeNetworkInterfaces, DescribeNetworkInterfaceAttribute and
//! ModifyNetworkInterfaceAttribute.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use super::eni::{parse_ipv4s, parse_ipv6s, Eni};
use super::{eni_in, enis_in_order, region, sg};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, page_by_token, Req};
use crate::state::State;

/// DescribeNetworkInterfaces with its filters; NextToken/MaxResults (10-500) when either is
/// given, PageNumber/PageSize (1-1000) otherwise.
pub(crate) fn describe(state: &State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let ids = req.list("NetworkInterfaceId")?;
    if ids.len() > 100 {
        return Err(MockError::invalid_param("NetworkInterfaceId.N", "at most 100 ids"));
    }
    let vpc = req.opt_str("VpcId");
    let vsw = req.opt_str("VSwitchId");
    let instance = req.opt_str("InstanceId");
    let status = req.opt_str("Status");
    let eni_type = req.opt_str("Type");
    let primary: Option<Ipv4Addr> = req.opt("PrimaryIpAddress")?;
    let v4 = parse_ipv4s(req, "PrivateIpAddress")?;
    let v6 = parse_ipv6s(req, "Ipv6Address")?;
    let name = req.opt_str("NetworkInterfaceName");
    let group = req.opt_str("SecurityGroupId");
    let tags = req.tags("Tag", "Key", "Value")?;
    let now = req.now;
    let items: Vec<&Eni> = enis_in_order(state)
        .into_values()
        .filter(|e| e.region_id == region)
        .filter(|e| ids.is_empty() || ids.contains(&e.id))
        .filter(|e| vpc.is_none_or(|v| v == e.vpc_id))
        .filter(|e| vsw.is_none_or(|v| v == e.vswitch_id))
        .filter(|e| instance.is_none_or(|i| e.instance_id.as_deref() == Some(i)))
        .filter(|e| status.is_none_or(|s| s == e.status.as_str()))
        .filter(|e| eni_type.is_none_or(|t| t == e.eni_type.as_str()))
        .filter(|e| primary.is_none_or(|p| p == e.primary_ip))
        .filter(|e| v4.is_empty() || v4.iter().any(|ip| *ip == e.primary_ip || e.secondary_ips.contains(ip)))
        .filter(|e| v6.is_empty() || v6.iter().any(|ip| e.ipv6.contains(ip)))
        .filter(|e| name.is_none_or(|n| n == e.name))
        .filter(|e| group.is_none_or(|g| e.security_group_ids.iter().any(|x| x == g)))
        .filter(|e| tags.iter().all(|(k, v)| e.has_tag(k, v)))
        .collect();
    let total = items.len();
    if req.opt_str("NextToken").is_some() || req.opt_str("MaxResults").is_some() {
        let (page, next) = page_by_token(req, &items, "MaxResults", 10, 10, 500, "InvalidNextToken")?;
        let list: Vec<Value> = page.iter().map(|e| e.to_json(now)).collect();
        return Ok(
            json!({"NetworkInterfaceSets": {"NetworkInterfaceSet": list}, "NextToken": next, "TotalCount": total}),
        );
    }
    let (page, mut meta) = page_by_number(req, &items, 10, 1000)?;
    meta["NetworkInterfaceSets"] =
        json!({"NetworkInterfaceSet": page.iter().map(|e| e.to_json(now)).collect::<Vec<_>>()});
    Ok(meta)
}

/// DescribeNetworkInterfaceAttribute.
pub(crate) fn describe_attribute(state: &State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni = eni_in(state, &region, req.str("NetworkInterfaceId")?)?;
    let mut v = eni.to_json(req.now);
    if v.get("Attachment").is_none() {
        v["Attachment"] = json!({});
    }
    Ok(v)
}

/// ModifyNetworkInterfaceAttribute: name, description, security groups.
pub(crate) fn modify_attribute(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let vpc_id = eni_in(state, &region, eni_id)?.vpc_id.clone();
    let groups = req.list("SecurityGroupId")?;
    if !groups.is_empty() {
        sg::check_groups(state, &region, &vpc_id, &groups)?;
    }
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| super::eni_not_found(eni_id))?;
    if !groups.is_empty() {
        eni.security_group_ids = groups;
    }
    if let Some(n) = req.opt_str("NetworkInterfaceName") {
        eni.name = n.to_owned();
    }
    if let Some(d) = req.opt_str("Description") {
        eni.description = d.to_owned();
    }
    Ok(json!({}))
}
