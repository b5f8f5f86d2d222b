//! DescribeLoadBalancers (filters, tags, pages) and DescribeLoadBalancerAttribute.

use serde_json::{json, Value};

use super::{region_matches, tags_json, LoadBalancer};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_number, Req};
use crate::state::State;

/// The fields DescribeLoadBalancers and DescribeLoadBalancerAttribute share.
fn summary(lb: &LoadBalancer) -> Value {
    json!({
        "LoadBalancerId": lb.id,
        "LoadBalancerName": lb.name,
        "LoadBalancerStatus": lb.status,
        "Address": lb.address,
        "AddressType": lb.address_type,
        "AddressIPVersion": lb.address_ip_version,
        "NetworkType": lb.network_type,
        "VpcId": lb.vpc_id,
        "VSwitchId": lb.vswitch_id,
        "LoadBalancerSpec": lb.spec,
        "InstanceChargeType": lb.instance_charge_type,
        "InternetChargeType": lb.internet_charge_type,
        "InternetChargeTypeAlias": lb.internet_charge_type,
        "Bandwidth": lb.bandwidth,
        "MasterZoneId": lb.master_zone,
        "SlaveZoneId": lb.slave_zone,
        "DeleteProtection": if lb.delete_protection { "on" } else { "off" },
        "ModificationProtectionStatus": lb.modification_protection_status,
        "ModificationProtectionReason": lb.modification_protection_reason,
        "PayType": "PayOnDemand",
        "RegionId": lb.region,
        "RegionIdAlias": lb.region,
        "ResourceGroupId": lb.resource_group_id,
        "CreateTime": lb.create_time,
        "CreateTimeStamp": lb.create_timestamp,
        "Tags": tags_json(&lb.tags),
    })
}

/// Parses the JSON `Tags` filter `[{"TagKey":"k","TagValue":"v"}]` (a value may be absent:
/// then any value matches).
fn tags_filter(req: &Req) -> Result<Vec<(String, Option<String>)>, MockError> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    if req.opt_str("Tags").is_some() {
        let v: Value = req.json("Tags")?;
        let items = match v {
            Value::Array(a) => a,
            obj @ Value::Object(_) => vec![obj],
            _ => return Err(MockError::invalid_param("Tags", "must be a JSON array of {TagKey, TagValue}")),
        };
        for item in items {
            let key = item.get("TagKey").and_then(Value::as_str).filter(|k| !k.is_empty());
            let Some(key) = key else {
                return Err(MockError::invalid_param("Tags", "every entry needs a TagKey"));
            };
            let value = item.get("TagValue").and_then(Value::as_str).map(str::to_owned);
            out.push((key.to_owned(), value));
        }
    }
    for (k, v) in req.tags("Tag", "Key", "Value")? {
        out.push((k, Some(v)));
    }
    if out.len() > 10 {
        return Err(MockError::invalid_param("Tags", "at most 10 tags may be given"));
    }
    Ok(out)
}

pub(super) fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let ids: Option<Vec<String>> = req
        .opt_str("LoadBalancerId")
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect());
    if ids.as_ref().is_some_and(|v| v.len() > 10) {
        return Err(MockError::invalid_param("LoadBalancerId", "at most 10 ids may be given"));
    }
    let tags = tags_filter(req)?;
    let str_filters: Vec<(&str, Option<&str>)> = [
        "LoadBalancerName",
        "VpcId",
        "VSwitchId",
        "Address",
        "NetworkType",
        "LoadBalancerStatus",
        "MasterZoneId",
        "SlaveZoneId",
        "AddressIPVersion",
        "ResourceGroupId",
    ]
    .into_iter()
    .map(|n| (n, req.opt_str(n)))
    .collect();
    let address_type = req.opt_str("AddressType").map(str::to_ascii_lowercase);
    let charge = req.opt_str("InternetChargeType").map(str::to_ascii_lowercase);
    let server_id = req.opt_str("ServerId");
    let slb = &state.slb;
    let matching: Vec<Value> = slb
        .lbs_in_order()
        .into_iter()
        .filter(|lb| region_matches(req, &lb.region))
        .filter(|lb| ids.as_ref().is_none_or(|ids| ids.contains(&lb.id)))
        .filter(|lb| address_type.as_deref().is_none_or(|t| lb.address_type == t))
        .filter(|lb| charge.as_deref().is_none_or(|c| lb.internet_charge_type == c))
        .filter(|lb| {
            str_filters.iter().all(|(name, want)| {
                let Some(want) = want else { return true };
                let have = match *name {
                    "LoadBalancerName" => &lb.name,
                    "VpcId" => &lb.vpc_id,
                    "VSwitchId" => &lb.vswitch_id,
                    "Address" => &lb.address,
                    "NetworkType" => &lb.network_type,
                    "LoadBalancerStatus" => &lb.status,
                    "MasterZoneId" => &lb.master_zone,
                    "SlaveZoneId" => &lb.slave_zone,
                    "AddressIPVersion" => &lb.address_ip_version,
                    _ => &lb.resource_group_id,
                };
                have == want
            })
        })
        .filter(|lb| {
            tags.iter().all(|(k, v)| lb.tags.iter().any(|(tk, tv)| tk == k && v.as_ref().is_none_or(|v| v == tv)))
        })
        .filter(|lb| {
            server_id.is_none_or(|s| {
                slb.groups.values().any(|g| g.lb_id == lb.id && g.backends.iter().any(|b| b.server_id == s))
            })
        })
        .map(summary)
        .collect();
    let (page, meta) = page_by_number(req, &matching, 10, 100)?;
    let mut out = json!({ "LoadBalancers": { "LoadBalancer": page } });
    if let (Value::Object(o), Value::Object(m)) = (&mut out, meta) {
        o.extend(m);
    }
    Ok(out)
}

pub(super) fn attribute(state: &mut State, req: &Req) -> HandlerResult {
    let id = req.str("LoadBalancerId")?;
    let lb = state.slb.lb(req, id)?;
    let mut out = summary(lb);
    let ports: Vec<u16> = lb.listeners.iter().map(|l| l.port).collect();
    let old_style: Vec<Value> =
        lb.listeners.iter().map(|l| json!({"ListenerPort": l.port, "ListenerProtocal": l.protocol})).collect();
    let new_style: Vec<Value> = lb
        .listeners
        .iter()
        .map(|l| {
            let mut v = json!({
                "ListenerPort": l.port,
                "ListenerProtocol": l.protocol,
                "Description": l.attrs.get("Description").cloned().unwrap_or(json!("")),
            });
            if l.protocol == "http" {
                v["ListenerForward"] = l.attrs.get("ListenerForward").cloned().unwrap_or(json!("off"));
                if let Some(fp) = l.attrs.get("ForwardPort") {
                    v["ForwardPort"] = fp.clone();
                }
            }
            v
        })
        .collect();
    if let Value::Object(o) = &mut out {
        o.insert("ListenerPorts".into(), json!({ "ListenerPort": ports }));
        o.insert("ListenerPortsAndProtocal".into(), json!({ "ListenerPortAndProtocal": old_style }));
        o.insert("ListenerPortsAndProtocol".into(), json!({ "ListenerPortAndProtocol": new_style }));
        o.insert("BackendServers".into(), json!({ "BackendServer": [] }));
        o.insert("AutoReleaseTime".into(), json!(0));
        o.insert("EndTime".into(), json!("2999-09-08T16:00:00Z"));
        o.insert("EndTimeStamp".into(), json!(32493801600000i64));
        o.insert("RenewalStatus".into(), json!("AutoRenewal"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn describe_filters_and_pages() {
        let mut s = State::new(1);
        let mut ids = Vec::new();
        for i in 0..25 {
            let name = format!("lb-{}", i % 2);
            let mut p = vec![("RegionId", "cn-hangzhou"), ("LoadBalancerName", name.as_str())];
            if i % 5 == 0 {
                p.extend([("Tag.1.Key", "team"), ("Tag.1.Value", "net")]);
            }
            ids.push(ok(&mut s, "CreateLoadBalancer", &p)["LoadBalancerId"].as_str().unwrap().to_owned());
        }
        ok(&mut s, "CreateLoadBalancer", &[("RegionId", "cn-beijing")]);
        let v = ok(
            &mut s,
            "DescribeLoadBalancers",
            &[("RegionId", "cn-hangzhou"), ("PageSize", "10"), ("PageNumber", "3")],
        );
        assert_eq!(v["TotalCount"], 25);
        assert_eq!(v["LoadBalancers"]["LoadBalancer"].as_array().unwrap().len(), 5);
        assert_eq!(v["LoadBalancers"]["LoadBalancer"][0]["LoadBalancerId"], ids[20].as_str());
        let v = ok(
            &mut s,
            "DescribeLoadBalancers",
            &[("RegionId", "cn-hangzhou"), ("LoadBalancerName", "lb-1"), ("PageSize", "100")],
        );
        assert_eq!(v["TotalCount"], 12);
        let v = ok(
            &mut s,
            "DescribeLoadBalancers",
            &[("RegionId", "cn-hangzhou"), ("Tags", r#"[{"TagKey":"team","TagValue":"net"}]"#)],
        );
        assert_eq!(v["TotalCount"], 5);
        assert_eq!(v["LoadBalancers"]["LoadBalancer"][0]["Tags"]["Tag"][0]["TagKey"], "team");
        let list = format!("{},{}", ids[0], ids[1]);
        let v = ok(&mut s, "DescribeLoadBalancers", &[("RegionId", "cn-hangzhou"), ("LoadBalancerId", &list)]);
        assert_eq!(v["TotalCount"], 2);
        assert_eq!(
            err(&mut s, "DescribeLoadBalancers", &[("RegionId", "cn-hangzhou"), ("PageSize", "101")]),
            "InvalidParameter"
        );
        assert_eq!(
            err(&mut s, "DescribeLoadBalancers", &[("RegionId", "cn-hangzhou"), ("Tags", "nope")]),
            "InvalidParameter"
        );
        // Another region does not see them.
        assert_eq!(
            err(&mut s, "DescribeLoadBalancerAttribute", &[("RegionId", "cn-beijing"), ("LoadBalancerId", &ids[0])]),
            "InvalidLoadBalancerId.NotFound"
        );
    }
}
