//! Load balancers: create, describe, delete and the Set/Modify calls.

use std::net::Ipv4Addr;

use serde_json::json;

use super::{lb_not_found, merge_tags, now_time, on_off, LoadBalancer};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &[
    "CreateLoadBalancer",
    "DescribeLoadBalancers",
    "DescribeLoadBalancerAttribute",
    "DeleteLoadBalancer",
    "SetLoadBalancerDeleteProtection",
    "SetLoadBalancerModificationProtection",
    "SetLoadBalancerName",
    "SetLoadBalancerStatus",
    "ModifyLoadBalancerInternetSpec",
    "ModifyLoadBalancerInstanceSpec",
];

/// The performance-guaranteed specs the mock accepts.
pub(crate) const SPECS: &[&str] = &[
    "slb.s1.small",
    "slb.s2.small",
    "slb.s2.medium",
    "slb.s3.small",
    "slb.s3.medium",
    "slb.s3.large",
    "slb.s3.xlarge",
    "slb.s3.xxlarge",
];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    Some(match req.action.as_str() {
        "CreateLoadBalancer" => create(state, req),
        "DescribeLoadBalancers" => super::lb_describe::describe(state, req),
        "DescribeLoadBalancerAttribute" => super::lb_describe::attribute(state, req),
        "DeleteLoadBalancer" => delete(state, req),
        "SetLoadBalancerDeleteProtection" => set_delete_protection(state, req),
        "SetLoadBalancerModificationProtection" => set_modification_protection(state, req),
        "SetLoadBalancerName" => set_name(state, req),
        "SetLoadBalancerStatus" => set_status(state, req),
        "ModifyLoadBalancerInternetSpec" => modify_internet_spec(state, req),
        "ModifyLoadBalancerInstanceSpec" => modify_instance_spec(state, req),
        _ => return None,
    })
}

fn check_name(name: &str) -> Result<(), MockError> {
    if name.chars().count() > 80 || name.starts_with("http://") || name.starts_with("https://") {
        return Err(MockError::invalid_param("LoadBalancerName", "must be at most 80 characters, not a URL"));
    }
    Ok(())
}

fn spec_param(req: &Req) -> Result<Option<String>, MockError> {
    match req.opt_str("LoadBalancerSpec") {
        None => Ok(None),
        Some(s) if SPECS.contains(&s) => Ok(Some(s.to_owned())),
        Some(s) => Err(MockError::bad_request(
            "InvalidParameter.LoadBalancerSpec",
            format!("The specified LoadBalancerSpec {s:?} is not valid."),
        )),
    }
}

fn internet_charge_type(req: &Req) -> Result<Option<String>, MockError> {
    match req.opt_str("InternetChargeType") {
        None => Ok(None),
        Some(v) => {
            let v = v.to_ascii_lowercase();
            if v == "paybytraffic" || v == "paybybandwidth" {
                Ok(Some(v))
            } else {
                Err(MockError::invalid_param(
                    "InternetChargeType",
                    format!("{v:?} must be paybytraffic or paybybandwidth"),
                ))
            }
        }
    }
}

fn bandwidth(req: &Req) -> Result<Option<i64>, MockError> {
    match req.opt::<i64>("Bandwidth")? {
        Some(b) if !(1..=5120).contains(&b) => Err(MockError::invalid_param("Bandwidth", "must be between 1 and 5120")),
        other => Ok(other),
    }
}

fn modification_protection(req: &Req) -> Result<Option<String>, MockError> {
    match req.opt_str("ModificationProtectionStatus") {
        None => Ok(None),
        Some(v @ ("NonProtection" | "ConsoleProtection")) => Ok(Some(v.to_owned())),
        Some(v) => Err(MockError::invalid_param(
            "ModificationProtectionStatus",
            format!("{v:?} must be NonProtection or ConsoleProtection"),
        )),
    }
}

/// The next address of the deterministic public pool 47.96.0.0/12 (skipping .0 and .255).
fn next_public_ip(state: &mut State) -> String {
    loop {
        state.slb.public_ips += 1;
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(47, 96, 0, 0)) + state.slb.public_ips);
        let last = ip.octets()[3];
        if last != 0 && last != 255 {
            return ip.to_string();
        }
    }
}

fn create(state: &mut State, req: &Req) -> HandlerResult {
    let region = req.str("RegionId")?.to_owned();
    if !state.catalog.has_region(&region) {
        return Err(MockError::bad_request("InvalidRegionId.NotFound", format!("The region {region} does not exist.")));
    }
    let address_type = match req.opt_str("AddressType").map(str::to_ascii_lowercase).as_deref() {
        None | Some("internet") => "internet",
        Some("intranet") => "intranet",
        Some(other) => {
            return Err(MockError::invalid_param("AddressType", format!("{other:?} must be internet or intranet")))
        }
    };
    let ip_version = match req.opt_str("AddressIPVersion").map(str::to_ascii_lowercase).as_deref() {
        None | Some("ipv4") => "ipv4",
        Some("ipv6") if address_type == "internet" => "ipv6",
        Some(other) => {
            return Err(MockError::invalid_param("AddressIPVersion", format!("{other:?} is not supported here")))
        }
    };
    let spec = spec_param(req)?;
    // Without a charge type, a spec makes it pay-by-spec and no spec pay-by-CLCU, as the API
    // (and ACK's cloud controller manager) create it.
    let charge = match (req.opt_str("InstanceChargeType"), &spec) {
        (None, Some(_)) | (Some("PayBySpec"), _) => "PayBySpec",
        (None, None) | (Some("PayByCLCU"), _) => "PayByCLCU",
        (Some(other), _) => {
            return Err(MockError::invalid_param(
                "InstanceChargeType",
                format!("{other:?} must be PayBySpec or PayByCLCU"),
            ))
        }
    };
    if charge == "PayByCLCU" && spec.is_some() {
        return Err(MockError::bad_request(
            "InvalidParameter.LoadBalancerSpec",
            "LoadBalancerSpec cannot be set for a pay-by-CLCU instance.",
        ));
    }
    let name = req.opt_str("LoadBalancerName").unwrap_or("auto_named_slb").to_owned();
    check_name(&name)?;
    let mut internet_charge = internet_charge_type(req)?.unwrap_or_else(|| "paybytraffic".into());
    let bw = bandwidth(req)?;
    if address_type == "intranet" {
        internet_charge = "paybytraffic".into();
    }
    let delete_protection = on_off(req, "DeleteProtection")?.unwrap_or(false);
    let mod_status = modification_protection(req)?.unwrap_or_else(|| "NonProtection".into());
    let mod_reason = req.opt_str("ModificationProtectionReason").unwrap_or_default().to_owned();
    let mut tags = Vec::new();
    merge_tags(&mut tags, req.tags("Tag", "Key", "Value")?)?;

    let zones = state.catalog.zones.get(&region).cloned().unwrap_or_default();
    let check_zone = |param: &str, z: &str| -> Result<(), MockError> {
        if zones.iter().any(|x| x == z) {
            Ok(())
        } else {
            Err(MockError::bad_request(
                "InvalidParameter.ZoneId",
                format!("The specified {param} {z:?} is not a zone of {region}."),
            ))
        }
    };
    let (mut master, mut slave) =
        (req.opt_str("MasterZoneId").map(str::to_owned), req.opt_str("SlaveZoneId").map(str::to_owned));
    if let Some(z) = &master {
        check_zone("MasterZoneId", z)?;
    }
    if let Some(z) = &slave {
        check_zone("SlaveZoneId", z)?;
    }

    let (network_type, vpc_id, vswitch_id, address);
    if address_type == "intranet" {
        let vsw_id = req.str("VSwitchId")?.to_owned();
        let vsw = state.vpc.vswitch(&vsw_id).cloned().ok_or_else(|| {
            MockError::not_found("InvalidVSwitchId.NotFound", format!("The VSwitch {vsw_id} does not exist."))
        })?;
        if let Some(v) = req.opt_str("VpcId") {
            if v != vsw.vpc_id {
                return Err(MockError::bad_request(
                    "InvalidParameter.VpcId",
                    format!("The VSwitch {vsw_id} does not belong to the VPC {v}."),
                ));
            }
        }
        if master.as_deref().is_some_and(|m| m != vsw.zone_id) {
            return Err(MockError::bad_request(
                "InvalidParameter.ZoneId",
                "MasterZoneId must be the zone of the VSwitch for an intranet instance.",
            ));
        }
        master.get_or_insert_with(|| vsw.zone_id.clone());
        let requested = match req.opt_str("Address") {
            None => None,
            Some(a) => {
                Some(a.parse::<Ipv4Addr>().map_err(|_| MockError::invalid_param("Address", "not an IPv4 address"))?)
            }
        };
        // Everything that can fail is checked: only now take the address.
        let ip = state.vpc.allocate_ipv4(&vsw_id, requested)?;
        network_type = "vpc";
        vpc_id = vsw.vpc_id.clone();
        vswitch_id = vsw_id;
        address = ip.to_string();
    } else {
        network_type = "classic";
        vpc_id = String::new();
        vswitch_id = String::new();
        address = next_public_ip(state);
    }
    let master = master.unwrap_or_else(|| zones.first().cloned().unwrap_or_default());
    if slave.is_none() {
        slave = zones.iter().find(|z| **z != master).cloned();
    }
    let id = state.ids.id("lb-");
    let seq = state.slb.next_seq();
    let (create_time, create_timestamp) = now_time();
    let activation = state.slb.activation_delay;
    let lb = LoadBalancer {
        seq,
        id: id.clone(),
        region: region.clone(),
        name: name.clone(),
        address: address.clone(),
        address_type: address_type.into(),
        address_ip_version: ip_version.into(),
        network_type: network_type.into(),
        vpc_id: vpc_id.clone(),
        vswitch_id: vswitch_id.clone(),
        spec: spec.unwrap_or_default(),
        instance_charge_type: charge.into(),
        internet_charge_type: internet_charge,
        bandwidth: bw.unwrap_or(5120),
        master_zone: master,
        slave_zone: slave.unwrap_or_default(),
        delete_protection,
        modification_protection_status: mod_status,
        modification_protection_reason: mod_reason,
        resource_group_id: req.opt_str("ResourceGroupId").unwrap_or("rg-acfmxazb4ph6aiy").to_owned(),
        status: if activation.is_zero() { "active".into() } else { "inactive".into() },
        active_at: if activation.is_zero() { None } else { Some(req.now + activation) },
        create_time,
        create_timestamp,
        tags,
        listeners: Vec::new(),
    };
    state.slb.lbs.insert(id.clone(), lb);
    Ok(json!({
        "LoadBalancerId": id,
        "Address": address,
        "AddressIPVersion": ip_version,
        "LoadBalancerName": name,
        "NetworkType": network_type,
        "VpcId": vpc_id,
        "VSwitchId": vswitch_id,
        "ResourceGroupId": state.slb.lbs.get(&id).map(|lb| lb.resource_group_id.clone()).unwrap_or_default(),
    }))
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?.to_owned();
    let lb = state.slb.lb(req, &id)?;
    if lb.delete_protection {
        return Err(MockError::bad_request(
            "OperationDenied.DeleteProtectionIsOn",
            "The loadbalancer can't be deleted due to DeleteProtection is enabled.",
        ));
    }
    let lb = state.slb.lbs.remove(&id).ok_or_else(|| lb_not_found(&id))?;
    if lb.address_type == "intranet" {
        if let Ok(ip) = lb.address.parse::<Ipv4Addr>() {
            state.vpc.release_ipv4(&lb.vswitch_id, ip);
        }
    }
    state.slb.groups.retain(|_, g| g.lb_id != id);
    state.slb.ms_groups.retain(|_, g| g.lb_id != id);
    state.slb.rules.retain(|_, r| r.lb_id != id);
    state.slb.domain_exts.retain(|_, d| d.lb_id != id);
    Ok(json!({}))
}

fn set_delete_protection(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let on = on_off(req, "DeleteProtection")?.ok_or_else(|| MockError::missing("DeleteProtection"))?;
    state.slb.lb_mut(req, id)?.delete_protection = on;
    Ok(json!({}))
}

fn set_modification_protection(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let status = modification_protection(req)?.ok_or_else(|| MockError::missing("ModificationProtectionStatus"))?;
    let reason = req.opt_str("ModificationProtectionReason").unwrap_or_default().to_owned();
    let lb = state.slb.lb_mut(req, id)?;
    lb.modification_protection_reason = if status == "ConsoleProtection" { reason } else { String::new() };
    lb.modification_protection_status = status;
    Ok(json!({}))
}

fn set_name(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let name = req.str("LoadBalancerName")?.to_owned();
    check_name(&name)?;
    state.slb.lb_mut(req, id)?.name = name;
    Ok(json!({}))
}

fn set_status(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let status = match req.str("LoadBalancerStatus")? {
        "active" => "active",
        "inactive" => "inactive",
        other => {
            return Err(MockError::invalid_param("LoadBalancerStatus", format!("{other:?} must be active or inactive")))
        }
    };
    let lb = state.slb.lb_mut(req, id)?;
    if lb.status == "locked" {
        return Err(MockError::bad_request("OperationDenied.LoadBalancerLocked", "The load balancer is locked."));
    }
    lb.status = status.into();
    lb.active_at = None;
    Ok(json!({}))
}

fn modify_internet_spec(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let charge = internet_charge_type(req)?;
    let bw = bandwidth(req)?;
    let lb = state.slb.lb_mut(req, id)?;
    if lb.address_type != "internet" {
        return Err(MockError::bad_request(
            "OperationDenied.IntranetInstance",
            "The internet specification of an intranet load balancer cannot be modified.",
        ));
    }
    if let Some(c) = charge {
        lb.internet_charge_type = c;
    }
    if let Some(b) = bw {
        lb.bandwidth = b;
    }
    Ok(json!({}))
}

fn modify_instance_spec(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let spec = spec_param(req)?.ok_or_else(|| MockError::missing("LoadBalancerSpec"))?;
    let lb = state.slb.lb_mut(req, id)?;
    if lb.instance_charge_type == "PayByCLCU" {
        return Err(MockError::bad_request(
            "OperationDenied.PayByCLCU",
            "The specification of a pay-by-CLCU instance cannot be modified.",
        ));
    }
    lb.spec = spec;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn create_describe_delete_internet() {
        let mut s = State::new(1);
        let id = internet_lb(&mut s);
        assert!(id.starts_with("lb-"));
        let v = ok(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]);
        assert_eq!(v["LoadBalancerStatus"], "active");
        assert_eq!(v["AddressType"], "internet");
        assert!(v["Address"].as_str().unwrap().starts_with("47."));
        assert_eq!(v["LoadBalancerSpec"], "slb.s2.small");
        assert_eq!(v["DeleteProtection"], "off");
        ok(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]);
        assert_eq!(err(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]), "InvalidLoadBalancerId.NotFound");
    }

    #[test]
    fn without_a_spec_or_a_charge_type_it_is_pay_by_clcu() {
        let mut s = State::new(1);
        let create = |s: &mut State, extra: &[(&str, &str)]| {
            let mut p = vec![("RegionId", "cn-hangzhou")];
            p.extend_from_slice(extra);
            let id = ok(s, "CreateLoadBalancer", &p)["LoadBalancerId"].as_str().unwrap().to_owned();
            let v = ok(s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]);
            (v["InstanceChargeType"].as_str().unwrap().to_owned(), v["LoadBalancerSpec"].as_str().map(str::to_owned))
        };
        assert_eq!(create(&mut s, &[]).0, "PayByCLCU");
        assert_eq!(
            create(&mut s, &[("LoadBalancerSpec", "slb.s1.small")]),
            ("PayBySpec".into(), Some("slb.s1.small".into()))
        );
        assert_eq!(create(&mut s, &[("InstanceChargeType", "PayBySpec")]).0, "PayBySpec");
        assert_eq!(create(&mut s, &[("InstanceChargeType", "PayByCLCU")]).0, "PayByCLCU");
    }

    #[test]
    fn bad_parameters() {
        let mut s = State::new(1);
        let base = [("RegionId", "cn-hangzhou")];
        let with = |extra: (&'static str, &'static str)| -> Vec<(&'static str, &'static str)> {
            let mut v = base.to_vec();
            v.push(extra);
            v
        };
        assert_eq!(err(&mut s, "CreateLoadBalancer", &with(("AddressType", "public"))), "InvalidParameter");
        assert_eq!(
            err(&mut s, "CreateLoadBalancer", &with(("LoadBalancerSpec", "slb.s9.huge"))),
            "InvalidParameter.LoadBalancerSpec"
        );
        assert_eq!(err(&mut s, "CreateLoadBalancer", &with(("Bandwidth", "0"))), "InvalidParameter");
        assert_eq!(
            err(&mut s, "CreateLoadBalancer", &with(("MasterZoneId", "cn-beijing-a"))),
            "InvalidParameter.ZoneId"
        );
        assert_eq!(
            err(&mut s, "CreateLoadBalancer", &[("RegionId", "cn-hangzhou"), ("AddressType", "intranet")]),
            "MissingParameter.VSwitchId"
        );
        assert_eq!(
            err(
                &mut s,
                "CreateLoadBalancer",
                &[
                    ("RegionId", "cn-hangzhou"),
                    ("InstanceChargeType", "PayByCLCU"),
                    ("LoadBalancerSpec", "slb.s1.small")
                ]
            ),
            "InvalidParameter.LoadBalancerSpec"
        );
        assert_eq!(err(&mut s, "CreateLoadBalancer", &[]), "MissingParameter.RegionId");
        assert_eq!(s.slb.load_balancer_count(), 0, "nothing was created by a failed call");
    }

    #[test]
    fn client_token_replays_and_refuses_mismatch() {
        let mut s = State::new(1);
        let p = [("RegionId", "cn-hangzhou"), ("ClientToken", "tok-1"), ("LoadBalancerName", "a")];
        let a = ok(&mut s, "CreateLoadBalancer", &p);
        let b = ok(&mut s, "CreateLoadBalancer", &p);
        assert_eq!(a, b);
        assert_eq!(s.slb.load_balancer_count(), 1);
        let p2 = [("RegionId", "cn-hangzhou"), ("ClientToken", "tok-1"), ("LoadBalancerName", "b")];
        assert_eq!(err(&mut s, "CreateLoadBalancer", &p2), "IdempotentParameterMismatch");
    }

    #[test]
    fn delete_protection_and_setters() {
        let mut s = State::new(1);
        let id = internet_lb(&mut s);
        ok(&mut s, "SetLoadBalancerDeleteProtection", &[("LoadBalancerId", &id), ("DeleteProtection", "on")]);
        assert_eq!(
            err(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]),
            "OperationDenied.DeleteProtectionIsOn"
        );
        ok(
            &mut s,
            "SetLoadBalancerModificationProtection",
            &[
                ("LoadBalancerId", &id),
                ("ModificationProtectionStatus", "ConsoleProtection"),
                ("ModificationProtectionReason", "ack"),
            ],
        );
        ok(&mut s, "SetLoadBalancerName", &[("LoadBalancerId", &id), ("LoadBalancerName", "renamed")]);
        ok(
            &mut s,
            "ModifyLoadBalancerInternetSpec",
            &[("LoadBalancerId", &id), ("InternetChargeType", "paybybandwidth"), ("Bandwidth", "20")],
        );
        ok(&mut s, "ModifyLoadBalancerInstanceSpec", &[("LoadBalancerId", &id), ("LoadBalancerSpec", "slb.s3.small")]);
        ok(&mut s, "SetLoadBalancerStatus", &[("LoadBalancerId", &id), ("LoadBalancerStatus", "inactive")]);
        let v = ok(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]);
        assert_eq!(v["DeleteProtection"], "on");
        assert_eq!(v["ModificationProtectionStatus"], "ConsoleProtection");
        assert_eq!(v["ModificationProtectionReason"], "ack");
        assert_eq!(v["LoadBalancerName"], "renamed");
        assert_eq!(v["InternetChargeType"], "paybybandwidth");
        assert_eq!(v["Bandwidth"], 20);
        assert_eq!(v["LoadBalancerSpec"], "slb.s3.small");
        assert_eq!(v["LoadBalancerStatus"], "inactive");
        ok(&mut s, "SetLoadBalancerDeleteProtection", &[("LoadBalancerId", &id), ("DeleteProtection", "off")]);
        ok(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]);
    }

    #[test]
    fn activation_delay() {
        let mut s = State::new(1);
        s.slb.set_delays(Duration::from_secs(2), Duration::ZERO);
        let t0 = Instant::now();
        let v = call_at(&mut s, t0, "CreateLoadBalancer", &[("RegionId", "cn-hangzhou")]).unwrap();
        let id = v["LoadBalancerId"].as_str().unwrap().to_owned();
        let st = |s: &mut State, t| {
            call_at(s, t, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]).unwrap()["LoadBalancerStatus"]
                .clone()
        };
        assert_eq!(st(&mut s, t0 + Duration::from_secs(1)), "inactive");
        assert_eq!(st(&mut s, t0 + Duration::from_secs(2)), "active");
    }

    #[test]
    fn intranet_takes_and_releases_a_vip() {
        let mut s = State::new(1);
        let vsw = vswitch(&mut s);
        let before = s.vpc.vswitch_entry(&vsw).unwrap().available_ips();
        let v = ok(
            &mut s,
            "CreateLoadBalancer",
            &[("RegionId", "cn-hangzhou"), ("AddressType", "intranet"), ("VSwitchId", &vsw), ("Address", "10.1.0.10")],
        );
        assert_eq!(v["Address"], "10.1.0.10");
        assert_eq!(v["NetworkType"], "vpc");
        let id = v["LoadBalancerId"].as_str().unwrap().to_owned();
        assert_eq!(s.vpc.vswitch_entry(&vsw).unwrap().available_ips(), before - 1);
        let d = ok(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]);
        assert_eq!(d["MasterZoneId"], "cn-hangzhou-h");
        assert_eq!(d["VSwitchId"], vsw.as_str());
        // The address is taken: a second one cannot have it.
        let code = err(
            &mut s,
            "CreateLoadBalancer",
            &[("RegionId", "cn-hangzhou"), ("AddressType", "intranet"), ("VSwitchId", &vsw), ("Address", "10.1.0.10")],
        );
        assert!(!code.is_empty());
        assert_eq!(
            err(
                &mut s,
                "CreateLoadBalancer",
                &[("RegionId", "cn-hangzhou"), ("AddressType", "intranet"), ("VSwitchId", "vsw-nope")]
            ),
            "InvalidVSwitchId.NotFound"
        );
        let v = ok(&mut s, "DescribeLoadBalancers", &[("RegionId", "cn-hangzhou"), ("VSwitchId", &vsw)]);
        assert_eq!(v["TotalCount"], 1);
        ok(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]);
        assert_eq!(s.vpc.vswitch_entry(&vsw).unwrap().available_ips(), before);
    }
}
