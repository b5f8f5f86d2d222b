//! Listeners: TCP, UDP, HTTP and HTTPS create, set, describe; start, stop, delete; the
//! listing with NextToken.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::listener_attrs::{self, check_consistency, place_of, text, Place};
use super::{
    listener_not_found, merge_tags, on_off, port_param, protocol_param, region_matches, Listener, LoadBalancer,
};
use crate::error::{HandlerResult, MockError};
use crate::handler::{page_by_token, Req};
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &[
    "CreateLoadBalancerTCPListener",
    "CreateLoadBalancerUDPListener",
    "CreateLoadBalancerHTTPListener",
    "CreateLoadBalancerHTTPSListener",
    "SetLoadBalancerTCPListenerAttribute",
    "SetLoadBalancerUDPListenerAttribute",
    "SetLoadBalancerHTTPListenerAttribute",
    "SetLoadBalancerHTTPSListenerAttribute",
    "DescribeLoadBalancerTCPListenerAttribute",
    "DescribeLoadBalancerUDPListenerAttribute",
    "DescribeLoadBalancerHTTPListenerAttribute",
    "DescribeLoadBalancerHTTPSListenerAttribute",
    "StartLoadBalancerListener",
    "StopLoadBalancerListener",
    "DeleteLoadBalancerListener",
    "DescribeLoadBalancerListeners",
];

/// The protocol in an action name such as `CreateLoadBalancerHTTPSListener`.
fn protocol_of(action: &str) -> Option<&'static str> {
    ["HTTPS", "HTTP", "TCP", "UDP"].into_iter().find(|p| action.contains(&format!("LoadBalancer{p}Listener"))).map(
        |p| match p {
            "HTTPS" => "https",
            "HTTP" => "http",
            "TCP" => "tcp",
            _ => "udp",
        },
    )
}

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    let a = req.action.as_str();
    Some(match a {
        "StartLoadBalancerListener" => start_stop(state, req, true),
        "StopLoadBalancerListener" => start_stop(state, req, false),
        "DeleteLoadBalancerListener" => delete(state, req),
        "DescribeLoadBalancerListeners" => list(state, req),
        _ if a.starts_with("Create") => create(state, req, protocol_of(a)?),
        _ if a.starts_with("Set") => set(state, req, protocol_of(a)?),
        _ if a.starts_with("Describe") => attribute(state, req, protocol_of(a)?),
        _ => return None,
    })
}

/// TCP, HTTP and HTTPS share the TCP port space; UDP has its own.
fn transport(protocol: &str) -> &'static str {
    if protocol == "udp" {
        "udp"
    } else {
        "tcp"
    }
}

/// Index of the listener on `port` (and `protocol`, when given) in `lb.listeners`.
pub(crate) fn find(lb: &LoadBalancer, port: u16, protocol: Option<&str>) -> Result<usize, MockError> {
    let hits: Vec<usize> = lb
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| l.port == port && protocol.is_none_or(|p| l.protocol == p))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [] => Err(listener_not_found()),
        [one] => Ok(*one),
        _ => Err(MockError::bad_request(
            "MissingParameter.ListenerProtocol",
            "ListenerProtocol is required: more than one listener uses this port.",
        )),
    }
}

/// Checks the ids an attribute set points at: groups of this load balancer, certificates,
/// the HTTPS listener an HTTP listener forwards to.
fn check_references(
    state: &State,
    lb: &LoadBalancer,
    protocol: &str,
    attrs: &BTreeMap<String, Value>,
) -> Result<(), MockError> {
    let vg = text(attrs, "VServerGroupId");
    if !vg.is_empty() && state.slb.groups.get(&vg).is_none_or(|g| g.lb_id != lb.id) {
        return Err(super::vgroup_not_found(&vg));
    }
    let ms = text(attrs, "MasterSlaveServerGroupId");
    if !ms.is_empty() && state.slb.ms_groups.get(&ms).is_none_or(|g| g.lb_id != lb.id) {
        return Err(super::ms_group_not_found(&ms));
    }
    if protocol == "https" {
        let cert = text(attrs, "ServerCertificateId");
        if cert.is_empty() {
            return Err(MockError::missing("ServerCertificateId"));
        }
        if state.slb.certs.get(&cert).is_none_or(|c| c.region != lb.region) {
            return Err(super::certs::cert_not_found(&cert));
        }
        let ca = text(attrs, "CACertificateId");
        if !ca.is_empty() && state.slb.ca_certs.get(&ca).is_none_or(|c| c.region != lb.region) {
            return Err(super::certs::ca_not_found(&ca));
        }
    }
    if protocol == "http" && text(attrs, "ListenerForward") == "on" {
        let fp: u16 = text(attrs, "ForwardPort").parse().unwrap_or(0);
        if !lb.listeners.iter().any(|l| l.port == fp && l.protocol == "https") {
            return Err(MockError::bad_request(
                "InvalidParameter.ForwardPort",
                format!("ForwardPort {fp} is not the port of an HTTPS listener of this load balancer."),
            ));
        }
    }
    Ok(())
}

/// Applies requested changes (`None` clears) to `attrs`.
fn merge(attrs: &mut BTreeMap<String, Value>, changes: BTreeMap<String, Option<Value>>) {
    for (k, v) in changes {
        match v {
            Some(v) => {
                attrs.insert(k, v);
            }
            None => {
                attrs.remove(&k);
            }
        }
    }
}

fn create(state: &mut State, req: &Req, protocol: &str) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let requested = listener_attrs::from_request(req, protocol)?;
    if protocol != "http" && !requested.contains_key("Bandwidth") {
        return Err(MockError::missing("Bandwidth"));
    }
    if (protocol == "http" || protocol == "https") && !requested.contains_key("HealthCheck") {
        return Err(MockError::missing("HealthCheck"));
    }
    let lb = state.slb.lb(req, &lb_id)?;
    if lb.listeners.iter().any(|l| l.port == port && transport(&l.protocol) == transport(protocol)) {
        return Err(MockError::bad_request("ListenerAlreadyExists", "The specified listener port is already in use."));
    }
    let mut attrs = listener_attrs::defaults(protocol);
    merge(&mut attrs, requested);
    check_references(state, lb, protocol, &attrs)?;
    check_consistency(protocol, &attrs)?;
    let mut tags = Vec::new();
    merge_tags(&mut tags, req.tags("Tag", "Key", "Value")?)?;
    let lb = state.slb.lb_mut(req, &lb_id)?;
    lb.listeners.push(Listener {
        port,
        protocol: protocol.to_owned(),
        status: "stopped".into(),
        running_at: None,
        attrs,
        tags,
    });
    lb.listeners.sort_by(|a, b| (a.port, &a.protocol).cmp(&(b.port, &b.protocol)));
    Ok(json!({}))
}

fn set(state: &mut State, req: &Req, protocol: &str) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let mut changes = listener_attrs::from_request(req, protocol)?;
    // `VServerGroup=off` / `MasterSlaveServerGroup=off` switch a listener back to the
    // default server group.
    match on_off(req, "VServerGroup")? {
        Some(false) => {
            changes.insert("VServerGroupId".into(), None);
        }
        Some(true) if !changes.contains_key("VServerGroupId") => return Err(MockError::missing("VServerGroupId")),
        _ => {}
    }
    match on_off(req, "MasterSlaveServerGroup")? {
        Some(false) => {
            changes.insert("MasterSlaveServerGroupId".into(), None);
        }
        Some(true) if !changes.contains_key("MasterSlaveServerGroupId") => {
            return Err(MockError::missing("MasterSlaveServerGroupId"))
        }
        _ => {}
    }
    let lb = state.slb.lb(req, &lb_id)?;
    let idx = find(lb, port, Some(protocol))?;
    let mut attrs = lb.listeners[idx].attrs.clone();
    merge(&mut attrs, changes);
    check_references(state, lb, protocol, &attrs)?;
    check_consistency(protocol, &attrs)?;
    if req.opt_bool("DryRun")?.unwrap_or(false) {
        return Err(MockError::bad_request(
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ));
    }
    let lb = state.slb.lb_mut(req, &lb_id)?;
    lb.listeners[idx].attrs = attrs;
    Ok(json!({}))
}

fn tag_list(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect()
}

fn attribute(state: &mut State, req: &Req, protocol: &str) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    let port = port_param(req, "ListenerPort")?;
    let lb = state.slb.lb(req, lb_id)?;
    let l = &lb.listeners[find(lb, port, Some(protocol))?];
    let mut out: Map<String, Value> = l.attrs.clone().into_iter().collect();
    out.insert("ListenerPort".into(), json!(l.port));
    out.insert("LoadBalancerId".into(), json!(lb.id));
    out.insert("Status".into(), json!(l.status));
    out.insert("Tags".into(), json!({ "Tag": tag_list(&l.tags) }));
    let acl = text(&l.attrs, "AclId");
    out.insert("AclIds".into(), json!({ "AclId": if acl.is_empty() { vec![] } else { vec![acl] } }));
    if protocol == "http" || protocol == "https" {
        let rules: Vec<Value> = super::rules::rules_of(state, &lb.id, l.port, protocol)
            .into_iter()
            .map(|r| {
                json!({"RuleId": r.id, "RuleName": r.name, "Domain": r.domain, "Url": r.url, "VServerGroupId": r.vserver_group_id})
            })
            .collect();
        out.insert("Rules".into(), json!({ "Rule": rules }));
        out.insert("SecurityStatus".into(), json!("on"));
    }
    if protocol == "https" {
        out.insert("DomainExtensions".into(), json!({ "DomainExtension": [] }));
    }
    Ok(Value::Object(out))
}

fn start_stop(state: &mut State, req: &Req, start: bool) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let delay = state.slb.start_delay;
    let lb = state.slb.lb_mut(req, &lb_id)?;
    let idx = find(lb, port, protocol.as_deref())?;
    let l = &mut lb.listeners[idx];
    if start {
        if l.status != "running" {
            if delay.is_zero() {
                l.status = "running".into();
                l.running_at = None;
            } else {
                l.status = "starting".into();
                l.running_at = Some(req.now + delay);
            }
        }
    } else {
        l.status = "stopped".into();
        l.running_at = None;
    }
    Ok(json!({}))
}

fn delete(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?.to_owned();
    let port = port_param(req, "ListenerPort")?;
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let lb = state.slb.lb_mut(req, &lb_id)?;
    let idx = find(lb, port, protocol.as_deref())?;
    let gone = lb.listeners.remove(idx);
    state.slb.rules.retain(|_, r| !(r.lb_id == lb_id && r.port == gone.port && r.protocol == gone.protocol));
    if gone.protocol == "https" {
        state.slb.domain_exts.retain(|_, d| !(d.lb_id == lb_id && d.port == gone.port));
    }
    Ok(json!({}))
}

/// A listener in the `DescribeLoadBalancerListeners` shape: common fields on top, the rest
/// in `<PROTO>ListenerConfig`.
fn listing(lb: &LoadBalancer, l: &Listener) -> Value {
    let mut top = Map::new();
    let mut config = Map::new();
    for (k, v) in &l.attrs {
        match place_of(&l.protocol, k) {
            Place::Top => {
                top.insert(k.clone(), v.clone());
            }
            Place::Config => {
                let v = if let Value::Bool(b) = v { json!(b.to_string()) } else { v.clone() };
                config.insert(k.clone(), v);
            }
            Place::AttributeOnly => {}
        }
    }
    let acl = text(&l.attrs, "AclId");
    top.insert("AclIds".into(), json!(if acl.is_empty() { vec![] } else { vec![acl] }));
    top.insert("ListenerPort".into(), json!(l.port));
    top.insert("ListenerProtocol".into(), json!(l.protocol));
    top.insert("LoadBalancerId".into(), json!(lb.id));
    top.insert("Status".into(), json!(l.status));
    top.insert("Tags".into(), json!(tag_list(&l.tags)));
    top.insert(format!("{}ListenerConfig", l.protocol.to_ascii_uppercase()), Value::Object(config));
    Value::Object(top)
}

fn list(state: &mut State, req: &Req) -> HandlerResult {
    let ids = req.list("LoadBalancerId")?;
    let port = match req.opt_str("ListenerPort") {
        None => None,
        Some(_) => Some(port_param(req, "ListenerPort")?),
    };
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let description = req.opt_str("Description");
    let tags = req.tags("Tag", "Key", "Value")?;
    let mut items = Vec::new();
    for lb in state.slb.lbs_in_order() {
        if !region_matches(req, &lb.region) || (!ids.is_empty() && !ids.contains(&lb.id)) {
            continue;
        }
        for l in &lb.listeners {
            let keep = port.is_none_or(|p| l.port == p)
                && protocol.as_deref().is_none_or(|p| l.protocol == p)
                && description.is_none_or(|d| text(&l.attrs, "Description") == d)
                && tags.iter().all(|t| l.tags.contains(t));
            if keep {
                items.push(listing(lb, l));
            }
        }
    }
    let (page, next) = page_by_token(req, &items, "MaxResults", 20, 1, 100, "InvalidParameter.NextToken")?;
    let max: u32 = req.opt("MaxResults")?.unwrap_or(20);
    Ok(json!({ "Listeners": page, "NextToken": next, "MaxResults": max, "TotalCount": items.len() }))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;
    use serde_json::json;
    use std::time::Duration;
    use tokio::time::Instant;

    fn tcp(s: &mut State, lb: &str, port: &str, extra: &[(&str, &str)]) -> Result<serde_json::Value, crate::MockError> {
        let mut p =
            vec![("LoadBalancerId", lb), ("ListenerPort", port), ("Bandwidth", "-1"), ("BackendServerPort", "8080")];
        p.extend_from_slice(extra);
        call(s, "CreateLoadBalancerTCPListener", &p)
    }

    #[test]
    fn tcp_create_describe_set() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        tcp(&mut s, &lb, "80", &[("healthCheckInterval", "5"), ("Scheduler", "wlc"), ("Description", "web")]).unwrap();
        let v =
            ok(&mut s, "DescribeLoadBalancerTCPListenerAttribute", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(v["Status"], "stopped");
        assert_eq!(v["HealthCheckInterval"], 5);
        assert_eq!(v["HealthCheck"], "on");
        assert_eq!(v["Scheduler"], "wlc");
        assert_eq!(v["Bandwidth"], -1);
        assert_eq!(v["EstablishedTimeout"], 900);
        assert_eq!(v["ProxyProtocolV2Enabled"], false);
        ok(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("HealthCheckSwitch", "off"),
                ("PersistenceTimeout", "60"),
            ],
        );
        let v =
            ok(&mut s, "DescribeLoadBalancerTCPListenerAttribute", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(v["HealthCheck"], "off");
        assert_eq!(v["PersistenceTimeout"], 60);
        assert_eq!(v["Scheduler"], "wlc", "unset attributes keep their value");
        // The HTTP describe of a TCP listener does not find it.
        assert_eq!(
            err(
                &mut s,
                "DescribeLoadBalancerHTTPListenerAttribute",
                &[("LoadBalancerId", &lb), ("ListenerPort", "80")]
            ),
            "ListenerNotFound"
        );
    }

    #[test]
    fn conflicts_and_required() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        tcp(&mut s, &lb, "80", &[]).unwrap();
        assert_eq!(tcp(&mut s, &lb, "80", &[]).unwrap_err().code, "ListenerAlreadyExists");
        let http = [
            ("LoadBalancerId", lb.as_str()),
            ("ListenerPort", "80"),
            ("HealthCheck", "off"),
            ("BackendServerPort", "80"),
        ];
        assert_eq!(err(&mut s, "CreateLoadBalancerHTTPListener", &http), "ListenerAlreadyExists");
        // UDP may share the port.
        ok(
            &mut s,
            "CreateLoadBalancerUDPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "-1"), ("BackendServerPort", "53")],
        );
        assert_eq!(
            err(&mut s, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]),
            "MissingParameter.ListenerProtocol"
        );
        assert_eq!(
            err(
                &mut s,
                "CreateLoadBalancerTCPListener",
                &[("LoadBalancerId", &lb), ("ListenerPort", "81"), ("BackendServerPort", "80")]
            ),
            "MissingParameter.Bandwidth"
        );
        assert_eq!(
            err(
                &mut s,
                "CreateLoadBalancerTCPListener",
                &[("LoadBalancerId", &lb), ("ListenerPort", "81"), ("Bandwidth", "-1")]
            ),
            "MissingParameter.BackendServerPort"
        );
        assert_eq!(tcp(&mut s, &lb, "0", &[]).unwrap_err().code, "InvalidParameter");
        assert_eq!(tcp(&mut s, &lb, "65536", &[]).unwrap_err().code, "InvalidParameter");
        assert_eq!(tcp(&mut s, &lb, "82", &[("VServerGroupId", "rsp-nope")]).unwrap_err().code, "InvalidParameter");
        assert_eq!(tcp(&mut s, &lb, "82", &[("AclStatus", "on")]).unwrap_err().code, "MissingParameter.AclId");
    }

    #[test]
    fn https_needs_a_certificate_and_http_can_forward() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let https = |cert: &str| {
            vec![
                ("LoadBalancerId", lb.clone()),
                ("ListenerPort", "443".to_owned()),
                ("Bandwidth", "-1".to_owned()),
                ("HealthCheck", "on".to_owned()),
                ("HealthCheckURI", "/healthz".to_owned()),
                ("BackendServerPort", "80".to_owned()),
                ("ServerCertificateId", cert.to_owned()),
            ]
        };
        let as_ref = |v: &[(&'static str, String)]| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let p = as_ref(&https(""));
        let p: Vec<(&str, &str)> =
            p.iter().filter(|(k, _)| *k != "ServerCertificateId").map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(err(&mut s, "CreateLoadBalancerHTTPSListener", &p), "MissingParameter.ServerCertificateId");
        let p = https("1234_nope");
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(err(&mut s, "CreateLoadBalancerHTTPSListener", &p), "ServerCertificateId.NotFound");
        let cert = ok(
            &mut s,
            "UploadServerCertificate",
            &[
                ("RegionId", "cn-hangzhou"),
                ("ServerCertificate", super::super::SAMPLES[0].certificate),
                ("PrivateKey", super::super::SAMPLES[0].private_key),
                ("ServerCertificateName", "web"),
            ],
        )["ServerCertificateId"]
            .as_str()
            .unwrap()
            .to_owned();
        let http_fwd = [
            ("LoadBalancerId", lb.as_str()),
            ("ListenerPort", "80"),
            ("HealthCheck", "off"),
            ("ListenerForward", "on"),
            ("ForwardPort", "443"),
        ];
        assert_eq!(err(&mut s, "CreateLoadBalancerHTTPListener", &http_fwd), "InvalidParameter.ForwardPort");
        let p = https(&cert);
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ok(&mut s, "CreateLoadBalancerHTTPSListener", &p);
        ok(&mut s, "CreateLoadBalancerHTTPListener", &http_fwd);
        let v =
            ok(&mut s, "DescribeLoadBalancerHTTPListenerAttribute", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(v["ListenerForward"], "on");
        assert_eq!(v["ForwardPort"], 443);
        let v = ok(
            &mut s,
            "DescribeLoadBalancerHTTPSListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "443")],
        );
        assert_eq!(v["ServerCertificateId"], cert.as_str());
        assert_eq!(v["EnableHttp2"], "on");
        assert_eq!(v["XForwardedFor"], "on");
        assert_eq!(
            err(&mut s, "DeleteServerCertificate", &[("RegionId", "cn-hangzhou"), ("ServerCertificateId", &cert)]),
            "CertificateAndPrivateKeyIsRefered"
        );
        let v = ok(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &lb)]);
        let lp = &v["ListenerPortsAndProtocol"]["ListenerPortAndProtocol"];
        assert_eq!(lp[0]["ListenerForward"], "on");
        assert_eq!(v["ListenerPorts"]["ListenerPort"], json!([80, 443]));
    }

    #[test]
    fn start_stop_delete_and_delay() {
        let mut s = State::new(1);
        s.slb.set_delays(Duration::ZERO, Duration::from_secs(3));
        let lb = internet_lb(&mut s);
        tcp(&mut s, &lb, "80", &[]).unwrap();
        let t0 = Instant::now();
        call_at(&mut s, t0, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        let st = |s: &mut State, t| {
            call_at(
                s,
                t,
                "DescribeLoadBalancerTCPListenerAttribute",
                &[("LoadBalancerId", &lb), ("ListenerPort", "80")],
            )
            .unwrap()["Status"]
                .clone()
        };
        assert_eq!(st(&mut s, t0 + Duration::from_secs(1)), "starting");
        assert_eq!(st(&mut s, t0 + Duration::from_secs(3)), "running");
        ok(
            &mut s,
            "StopLoadBalancerListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("ListenerProtocol", "tcp")],
        );
        assert_eq!(st(&mut s, t0 + Duration::from_secs(4)), "stopped");
        ok(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(
            err(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]),
            "ListenerNotFound"
        );
    }

    #[test]
    fn listing_pages_and_shape() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        for port in 1..=25 {
            tcp(&mut s, &lb, &port.to_string(), &[]).unwrap();
        }
        let v = ok(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb), ("MaxResults", "10")]);
        assert_eq!(v["Listeners"].as_array().unwrap().len(), 10);
        assert_eq!(v["TotalCount"], 25);
        let first = &v["Listeners"][0];
        assert_eq!(first["ListenerProtocol"], "tcp");
        assert_eq!(first["Scheduler"], "wrr");
        assert_eq!(first["TCPListenerConfig"]["HealthCheck"], "on");
        assert_eq!(first["TCPListenerConfig"]["ProxyProtocolV2Enabled"], "false");
        let token = v["NextToken"].as_str().unwrap().to_owned();
        let v = ok(
            &mut s,
            "DescribeLoadBalancerListeners",
            &[("LoadBalancerId.1", &lb), ("MaxResults", "100"), ("NextToken", &token)],
        );
        assert_eq!(v["Listeners"].as_array().unwrap().len(), 15);
        assert_eq!(v["NextToken"], "");
        let v = ok(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb), ("ListenerPort", "7")]);
        assert_eq!(v["Listeners"][0]["ListenerPort"], 7);
        assert_eq!(
            err(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb), ("MaxResults", "101")]),
            "InvalidParameter"
        );
    }

    #[test]
    fn groups_in_use_cannot_be_deleted() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        tcp(&mut s, &lb, "80", &[("VServerGroupId", &g)]).unwrap();
        assert_eq!(err(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]), "RspoolVipExist");
        ok(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("VServerGroup", "off")],
        );
        ok(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]);
    }
}
