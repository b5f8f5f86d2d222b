//! The `BackendServers` / `MasterSlaveBackendServers` JSON parameters: parsing and the
//! checks against the rest of the cloud (ECS instances exist, `eni` addresses belong to
//! the ENI).

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::{Backend, LoadBalancer, MAX_BACKENDS_PER_CALL};
use crate::error::MockError;
use crate::handler::Req;
use crate::state::State;

/// What the backends of a call are for: what must be given, what is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Create or Add: everything is checked against the cloud.
    Add,
    /// Remove: identity only.
    Remove,
    /// Set: identity plus the new weight and description.
    Set,
    /// A master/slave group: like Add, plus `ServerType`.
    MasterSlave,
}

fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses and checks the JSON list in parameter `param`. `None` when the parameter is
/// absent and `required` is false.
pub(crate) fn parse(
    state: &State,
    req: &Req,
    param: &str,
    lb: &LoadBalancer,
    usage: Use,
    required: bool,
) -> Result<Vec<Backend>, MockError> {
    if req.opt_str(param).is_none() {
        return if required { Err(MockError::missing(param)) } else { Ok(Vec::new()) };
    }
    let v: Value = req.json(param)?;
    let Value::Array(items) = v else {
        return Err(MockError::invalid_param(param, "must be a JSON array"));
    };
    if items.len() > MAX_BACKENDS_PER_CALL {
        return Err(MockError::invalid_param(
            param,
            format!("at most {MAX_BACKENDS_PER_CALL} backend servers may be given per call, got {}", items.len()),
        ));
    }
    if items.is_empty() && required {
        return Err(MockError::invalid_param(param, "the list is empty"));
    }
    let bad = |why: String| MockError::invalid_param(param, why);
    let mut out: Vec<Backend> = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    for item in items {
        let Value::Object(obj) = item else {
            return Err(bad("every entry must be a JSON object".into()));
        };
        let server_id = field(&obj, "ServerId").ok_or_else(|| bad("every entry needs a ServerId".into()))?;
        let kind = field(&obj, "Type").unwrap_or_else(|| "ecs".into()).to_ascii_lowercase();
        let prefix = match kind.as_str() {
            "ecs" => "i-",
            "eni" => "eni-",
            "eci" => "eci-",
            other => return Err(bad(format!("Type {other:?} must be ecs, eni or eci"))),
        };
        if !server_id.starts_with(prefix) {
            return Err(bad(format!("ServerId {server_id:?} is not a {kind} id")));
        }
        let port = field(&obj, "Port").ok_or_else(|| bad(format!("the entry for {server_id} needs a Port")))?;
        let port: u16 = port
            .trim()
            .parse()
            .ok()
            .filter(|p: &u16| *p >= 1)
            .ok_or_else(|| bad(format!("Port {port:?} must be between 1 and 65535")))?;
        let weight = match field(&obj, "Weight") {
            None => None,
            Some(w) => Some(
                w.trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|w| *w <= 100)
                    .ok_or_else(|| bad(format!("Weight {w:?} must be between 0 and 100")))?,
            ),
        };
        let server_ip = field(&obj, "ServerIp").unwrap_or_default();
        let description = field(&obj, "Description").unwrap_or_default();
        if description.chars().count() > 80 {
            return Err(bad("Description must be at most 80 characters".into()));
        }
        let server_type = match (usage, field(&obj, "ServerType").as_deref()) {
            (Use::MasterSlave, Some(t @ ("Master" | "Slave"))) => t.to_owned(),
            (Use::MasterSlave, other) => return Err(bad(format!("ServerType {other:?} must be Master or Slave"))),
            _ => String::new(),
        };
        if kind != "ecs" {
            if server_ip.is_empty() {
                return Err(bad(format!("a backend of type {kind} needs a ServerIp")));
            }
            if matches!(usage, Use::Add | Use::MasterSlave) && !lb.is_high_performance() {
                return Err(MockError::bad_request(
                    "OperationUnsupported.BackendServerType",
                    format!("Backend servers of type {kind} need a performance-guaranteed instance."),
                ));
            }
        }
        if !server_ip.is_empty() && server_ip.parse::<IpAddr>().is_err() {
            return Err(bad(format!("ServerIp {server_ip:?} is not an IP address")));
        }
        if matches!(usage, Use::Add | Use::MasterSlave) {
            match kind.as_str() {
                "ecs" if !state.ecs.instance_exists(&server_id) => {
                    return Err(MockError::bad_request(
                        "InvalidParameter",
                        format!("The specified backend server {server_id} does not exist or is not running."),
                    ))
                }
                "eni" => {
                    let ip: IpAddr = server_ip.parse().map_err(|_| bad("ServerIp is not an IP address".into()))?;
                    if !state.ecs.eni_has_ip(&server_id, ip) {
                        return Err(MockError::bad_request(
                            "InvalidParameter",
                            format!("The ServerIp {server_ip} is not an address of the network interface {server_id}."),
                        ));
                    }
                }
                _ => {}
            }
        }
        let backend =
            Backend { server_id, port, weight: weight.unwrap_or(100), kind, server_ip, description, server_type };
        if !seen.insert(backend.key()) {
            return Err(MockError::bad_request(
                "InvalidBackendServers.ServerIpConflict",
                format!("The backend server {} port {} is given twice.", backend.server_id, backend.port),
            ));
        }
        // Set keeps the old weight when the entry gives none: mark it.
        let backend =
            if usage == Use::Set && weight.is_none() { Backend { weight: u8::MAX, ..backend } } else { backend };
        out.push(backend);
    }
    Ok(out)
}

/// A backend in the response shape of the group calls.
pub(crate) fn to_json(b: &Backend, with_ip: bool) -> Value {
    let mut v = json!({
        "ServerId": b.server_id,
        "Port": b.port,
        "Weight": b.weight,
        "Type": b.kind,
        "Description": b.description,
    });
    if with_ip && !b.server_ip.is_empty() {
        v["ServerIp"] = json!(b.server_ip);
    }
    if !b.server_type.is_empty() {
        v["ServerType"] = json!(b.server_type);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn malformed_lists_are_refused() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        let add = |s: &mut State, json: &str| {
            err(
                s,
                "AddVServerGroupBackendServers",
                &[("RegionId", "cn-hangzhou"), ("VServerGroupId", &g), ("BackendServers", json)],
            )
        };
        assert_eq!(add(&mut s, "not json"), "InvalidParameter");
        assert_eq!(add(&mut s, r#"{"ServerId":"i-a"}"#), "InvalidParameter");
        assert_eq!(add(&mut s, r#"[{"Port":"80"}]"#), "InvalidParameter");
        assert_eq!(add(&mut s, r#"[{"ServerId":"i-a","Port":"0"}]"#), "InvalidParameter");
        assert_eq!(add(&mut s, r#"[{"ServerId":"i-a","Port":"80","Weight":"101"}]"#), "InvalidParameter");
        assert_eq!(add(&mut s, r#"[{"ServerId":"i-a","Port":"80","Type":"vm"}]"#), "InvalidParameter");
        assert_eq!(add(&mut s, r#"[{"ServerId":"eni-a","Port":"80","Type":"eni"}]"#), "InvalidParameter");
        assert_eq!(
            add(&mut s, r#"[{"ServerId":"i-a","Port":"80","Type":"eni","ServerIp":"10.0.0.1"}]"#),
            "InvalidParameter"
        );
        // An instance or ENI the cloud does not know.
        assert_eq!(add(&mut s, r#"[{"ServerId":"i-nope","Port":"80"}]"#), "InvalidParameter");
        assert_eq!(
            add(&mut s, r#"[{"ServerId":"eni-nope","Port":80,"Type":"eni","ServerIp":"10.0.0.1"}]"#),
            "InvalidParameter"
        );
        let many: Vec<String> = (0..21).map(|i| format!(r#"{{"ServerId":"i-{i}","Port":"80"}}"#)).collect();
        assert_eq!(add(&mut s, &format!("[{}]", many.join(","))), "InvalidParameter");
        assert_eq!(
            add(
                &mut s,
                r#"[{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1"},{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1"}]"#
            ),
            "InvalidBackendServers.ServerIpConflict"
        );
    }

    #[test]
    fn eni_backends_need_a_high_performance_instance() {
        let mut s = State::new(1);
        // Pay-by-spec without a spec: a shared-performance instance (no charge type is pay-by-CLCU).
        let shared = [("RegionId", "cn-hangzhou"), ("InstanceChargeType", "PayBySpec")];
        let lb = ok(&mut s, "CreateLoadBalancer", &shared)["LoadBalancerId"].as_str().unwrap().to_owned();
        let g = group(&mut s, &lb, None);
        assert_eq!(
            err(
                &mut s,
                "AddVServerGroupBackendServers",
                &[
                    ("VServerGroupId", &g),
                    ("BackendServers", r#"[{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1"}]"#)
                ]
            ),
            "OperationUnsupported.BackendServerType"
        );
    }

    #[test]
    fn ecs_and_eni_backends_are_checked_against_the_cloud() {
        let mut s = State::new(1);
        let vsw = vswitch(&mut s);
        let (instance, eni, ip) = instance(&mut s, &vsw);
        let lb = internet_lb(&mut s);
        let g = group(&mut s, &lb, None);
        let add = |s: &mut State, json: String| {
            call(s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", &json)])
        };
        add(&mut s, format!(r#"[{{"ServerId":"{instance}","Port":"80","Weight":"100","Type":"ecs"}}]"#)).unwrap();
        add(&mut s, format!(r#"[{{"ServerId":"{eni}","Port":"80","Type":"eni","ServerIp":"{ip}"}}]"#)).unwrap();
        let e = add(&mut s, format!(r#"[{{"ServerId":"{eni}","Port":"81","Type":"eni","ServerIp":"10.9.9.9"}}]"#))
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        assert!(e.message.contains("not an address"), "{e}");
        let v = ok(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]);
        let b = &v["BackendServers"]["BackendServer"];
        assert_eq!(b[0]["ServerId"], instance.as_str());
        assert_eq!(b[1]["ServerIp"], ip.as_str());
        assert_eq!(b[1]["Type"], "eni");
        let v = ok(&mut s, "DescribeLoadBalancers", &[("RegionId", "cn-hangzhou"), ("ServerId", &instance)]);
        assert_eq!(v["TotalCount"], 1);
    }
}
