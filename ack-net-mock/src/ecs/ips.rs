//! Secondary IPv4 and IPv6 addresses of an ENI: assign and unassign, within the per-ENI
//! quota of the instance type (or 10 while the ENI is not attached), at most 10 per call.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::json;

use super::eni::{
    ipv6_not_on, parse_ipv4s, parse_ipv6s, take_ipv4, take_ipv6, vswitch_in_region, EniStatus, Taken,
    UNATTACHED_IP_LIMIT,
};
use super::{eni_in, eni_not_found, region};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

/// The most addresses one assign call may ask for.
const PER_CALL: usize = 10;

/// The ENI's quotas: (secondary IPv4, IPv6, whether the instance type supports IPv6).
fn limits(state: &State, eni_id: &str) -> (usize, usize, bool) {
    let instance = state.ecs.enis.get(eni_id).and_then(|e| e.instance_id.as_deref());
    match instance.and_then(|i| state.ecs.instances.get(i)) {
        Some(i) => (
            i.instance_type.ipv4_per_eni.saturating_sub(1) as usize,
            i.instance_type.ipv6_per_eni as usize,
            i.instance_type.ipv6_per_eni > 0,
        ),
        None => (UNATTACHED_IP_LIMIT, UNATTACHED_IP_LIMIT, true),
    }
}

fn check_state(status: EniStatus, id: &str) -> Result<(), MockError> {
    if matches!(status, EniStatus::Available | EniStatus::InUse) {
        Ok(())
    } else {
        Err(MockError::bad_request(
            "InvalidOperation.InvalidEniState",
            format!("The ENI {id:?} is {}; addresses change only while it is Available or InUse.", status.as_str()),
        ))
    }
}

/// How many addresses the call asks for: the list, or the count (exclusive).
fn how_many(list_len: usize, count: Option<usize>, list_name: &str, count_name: &str) -> Result<usize, MockError> {
    let n = match (list_len, count) {
        (0, None) => return Err(MockError::missing(count_name)),
        (_, Some(_)) if list_len > 0 => {
            return Err(MockError::invalid_param(count_name, format!("cannot be given together with {list_name}")))
        }
        (_, Some(0)) => return Err(MockError::invalid_param(count_name, "must be at least 1")),
        (_, Some(c)) => c,
        (n, None) => n,
    };
    if n > PER_CALL {
        return Err(MockError::invalid_param(
            count_name,
            format!("at most {PER_CALL} addresses can be assigned in one call, {n} were asked"),
        ));
    }
    Ok(n)
}

/// AssignPrivateIpAddresses.
pub(crate) fn assign_ipv4(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    check_state(eni.status, eni_id)?;
    let wanted = parse_ipv4s(req, "PrivateIpAddress")?;
    let n = how_many(
        wanted.len(),
        req.opt("SecondaryPrivateIpAddressCount")?,
        "PrivateIpAddress.N",
        "SecondaryPrivateIpAddressCount",
    )?;
    if let Some(ip) = wanted.iter().find(|ip| **ip == eni.primary_ip || eni.secondary_ips.contains(ip)) {
        return Err(MockError::forbidden("InvalidIp.IpAssigned", format!("{ip} is already on {eni_id}.")));
    }
    let (limit, _, _) = limits(state, eni_id);
    if eni.secondary_ips.len() + n > limit {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv4CountExceeded",
            format!("{eni_id} holds {} secondary addresses and may hold at most {limit}.", eni.secondary_ips.len()),
        ));
    }
    let vsw = vswitch_in_region(state, &region, &eni.vswitch_id.clone())?;
    let mut taken = Taken::default();
    for i in 0..n {
        match take_ipv4(state, &vsw, wanted.get(i).copied()) {
            Ok(ip) => taken.v4.push(ip),
            Err(e) => {
                taken.rollback(state, &vsw.id);
                return Err(e);
            }
        }
    }
    let got: Vec<Ipv4Addr> = taken.v4;
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| eni_not_found(eni_id))?;
    eni.secondary_ips.extend(&got);
    Ok(json!({
        "AssignedPrivateIpAddressesSet": {
            "NetworkInterfaceId": eni_id,
            "PrivateIpSet": {"PrivateIpAddress": got.iter().map(ToString::to_string).collect::<Vec<_>>()},
        }
    }))
}

/// UnassignPrivateIpAddresses: every address must be a secondary address of the ENI
/// (`InvalidIp.IpUnassigned` otherwise); nothing changes unless all are.
pub(crate) fn unassign_ipv4(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    check_state(eni.status, eni_id)?;
    let ips = parse_ipv4s(req, "PrivateIpAddress")?;
    if ips.is_empty() {
        return Err(MockError::missing("PrivateIpAddress.1"));
    }
    if ips.contains(&eni.primary_ip) {
        return Err(MockError::invalid_param("PrivateIpAddress.N", "the primary address cannot be unassigned"));
    }
    if let Some(ip) = ips.iter().find(|ip| !eni.secondary_ips.contains(ip)) {
        return Err(MockError::forbidden(
            "InvalidIp.IpUnassigned",
            format!("The IP address {ip} is not assigned to {eni_id}."),
        ));
    }
    let vsw = eni.vswitch_id.clone();
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| eni_not_found(eni_id))?;
    eni.secondary_ips.retain(|ip| !ips.contains(ip));
    for ip in ips {
        state.vpc.release_ipv4(&vsw, ip);
    }
    Ok(json!({}))
}

/// AssignIpv6Addresses.
pub(crate) fn assign_ipv6(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    check_state(eni.status, eni_id)?;
    let wanted = parse_ipv6s(req, "Ipv6Address")?;
    let n = how_many(wanted.len(), req.opt("Ipv6AddressCount")?, "Ipv6Address.N", "Ipv6AddressCount")?;
    if let Some(ip) = wanted.iter().find(|ip| eni.ipv6.contains(ip)) {
        return Err(MockError::forbidden("InvalidIp.IpAssigned", format!("{ip} is already on {eni_id}.")));
    }
    let vsw = vswitch_in_region(state, &region, &eni.vswitch_id.clone())?;
    if vsw.ipv6_cidr.is_none() {
        return Err(ipv6_not_on(&vsw.id));
    }
    let (_, limit, supported) = limits(state, eni_id);
    if !supported {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv6NotSupport",
            "The instance type does not support IPv6.",
        ));
    }
    if eni.ipv6.len() + n > limit {
        return Err(MockError::forbidden(
            "InvalidOperation.Ipv6CountExceeded",
            format!("{eni_id} holds {} IPv6 addresses and may hold at most {limit}.", eni.ipv6.len()),
        ));
    }
    let mut taken = Taken::default();
    for i in 0..n {
        match take_ipv6(state, &vsw, wanted.get(i).copied()) {
            Ok(ip) => taken.v6.push(ip),
            Err(e) => {
                taken.rollback(state, &vsw.id);
                return Err(e);
            }
        }
    }
    let got: Vec<Ipv6Addr> = taken.v6;
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| eni_not_found(eni_id))?;
    eni.ipv6.extend(&got);
    Ok(json!({
        "NetworkInterfaceId": eni_id,
        "Ipv6Sets": {"Ipv6Address": got.iter().map(ToString::to_string).collect::<Vec<_>>()},
        "Ipv6PrefixSets": {},
    }))
}

/// UnassignIpv6Addresses.
pub(crate) fn unassign_ipv6(state: &mut State, req: &Req) -> HandlerResult {
    let region = region(state, req)?;
    let eni_id = req.str("NetworkInterfaceId")?;
    let eni = eni_in(state, &region, eni_id)?;
    check_state(eni.status, eni_id)?;
    let ips = parse_ipv6s(req, "Ipv6Address")?;
    if ips.is_empty() {
        return Err(MockError::missing("Ipv6Address.1"));
    }
    if let Some(ip) = ips.iter().find(|ip| !eni.ipv6.contains(ip)) {
        return Err(MockError::forbidden(
            "InvalidIp.IpUnassigned",
            format!("The IP address {ip} is not assigned to {eni_id}."),
        ));
    }
    let vsw = eni.vswitch_id.clone();
    let eni = state.ecs.enis.get_mut(eni_id).ok_or_else(|| eni_not_found(eni_id))?;
    eni.ipv6.retain(|ip| !ips.contains(ip));
    for ip in ips {
        state.vpc.release_ipv6(&vsw, ip);
    }
    Ok(json!({}))
}
