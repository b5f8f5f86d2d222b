//! DescribeHealthStatus: deterministic health of the backends behind each listener.

use serde_json::{json, Value};

use super::listener_attrs::text;
use super::{port_param, protocol_param, Backend};
use crate::error::{HandlerResult, MockError};
use crate::handler::Req;
use crate::state::State;

pub(super) const ACTIONS: &[&str] = &["DescribeHealthStatus"];

pub(super) fn handle(state: &mut State, req: &Req) -> Option<HandlerResult> {
    match req.action.as_str() {
        "DescribeHealthStatus" => Some(describe(state, req)),
        _ => None,
    }
}

fn describe(state: &mut State, req: &Req) -> HandlerResult {
    let lb_id = req.str("LoadBalancerId")?;
    let port = match req.opt_str("ListenerPort") {
        None => None,
        Some(_) => Some(port_param(req, "ListenerPort")?),
    };
    let protocol = protocol_param(req, "ListenerProtocol")?;
    let lb = state.slb.lb(req, lb_id)?;
    let slb = &state.slb;
    let mut out: Vec<Value> = Vec::new();
    let mut found = false;
    for l in &lb.listeners {
        if port.is_some_and(|p| p != l.port) || protocol.as_deref().is_some_and(|p| p != l.protocol) {
            continue;
        }
        found = true;
        let health_on = text(&l.attrs, "HealthCheck") == "on";
        let vg = text(&l.attrs, "VServerGroupId");
        let ms = text(&l.attrs, "MasterSlaveServerGroupId");
        let backends: &[Backend] = if let Some(g) = slb.groups.get(&vg) {
            &g.backends
        } else if let Some(g) = slb.ms_groups.get(&ms) {
            &g.backends
        } else {
            &[]
        };
        for b in backends {
            let status = if l.status != "running" || !health_on {
                "unavailable"
            } else if slb.abnormal.contains(&b.server_id)
                || (!b.server_ip.is_empty() && slb.abnormal.contains(&b.server_ip))
            {
                "abnormal"
            } else {
                "normal"
            };
            out.push(json!({
                "ListenerPort": l.port,
                "Protocol": l.protocol,
                "Port": b.port,
                "ServerId": b.server_id,
                "ServerIp": b.server_ip,
                "ServerHealthStatus": status,
            }));
        }
    }
    if port.is_some() && !found {
        return Err(MockError::not_found("ListenerNotFound", "The specified resource does not exist."));
    }
    Ok(json!({ "BackendServers": { "BackendServer": out } }))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn health_follows_listener_state_and_marks() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let backends = r#"[{"ServerId":"eci-a","Port":"80","Type":"eci","ServerIp":"10.0.0.1"},
                           {"ServerId":"eci-b","Port":"80","Type":"eci","ServerIp":"10.0.0.2"}]"#;
        let g = group(&mut s, &lb, Some(backends));
        ok(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "-1"), ("VServerGroupId", &g)],
        );
        let statuses = |s: &mut State| -> Vec<String> {
            ok(s, "DescribeHealthStatus", &[("LoadBalancerId", &lb), ("ListenerPort", "80")])["BackendServers"]
                ["BackendServer"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["ServerHealthStatus"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(statuses(&mut s), ["unavailable", "unavailable"]);
        ok(&mut s, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]);
        assert_eq!(statuses(&mut s), ["normal", "normal"]);
        s.slb.set_backend_abnormal("10.0.0.2", true);
        assert_eq!(statuses(&mut s), ["normal", "abnormal"]);
        s.slb.set_backend_abnormal("10.0.0.2", false);
        ok(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("HealthCheckSwitch", "off")],
        );
        assert_eq!(statuses(&mut s), ["unavailable", "unavailable"]);
        assert_eq!(
            err(&mut s, "DescribeHealthStatus", &[("LoadBalancerId", &lb), ("ListenerPort", "81")]),
            "ListenerNotFound"
        );
    }
}
