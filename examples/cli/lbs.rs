//! `ack_net lbs`: every load balancer of the region with its listeners, and each listener's
//! backends with their health.
//!
//! Calls: DescribeLoadBalancers (paged), DescribeLoadBalancerListeners for the whole region
//! (paged), then one call per VServer or master/slave group in use, one DescribeHealthStatus
//! per load balancer with listeners, and one DescribeLoadBalancerAttribute per load balancer
//! whose listeners use its default server group; those run a few at a time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use ack_net_core::RpcRequest;

use ack_net_examples::BoxError;
use ack_net_slb::SLB;
use ack_net_slb::{
    decode_backend_servers, Backend, BackendHealth, Listener, ListenerBackend, LoadBalancer, LoadBalancerId, SlbClient,
    MAX_LISTENERS_PAGE, MAX_LOAD_BALANCERS_PAGE,
};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::output::{numbered_pages, or_dash, token_pages, Progress, Table};

/// How many group, health and attribute calls run at once.
const CONCURRENCY: usize = 4;

/// A load balancer and its listeners.
#[derive(Debug)]
pub struct LbView {
    lb: LoadBalancer,
    listeners: Vec<ListenerView>,
}

/// A listener, the group it forwards to, and that group's backends.
#[derive(Debug)]
struct ListenerView {
    listener: Listener,
    group: Option<Group>,
    backends: Vec<BackendView>,
}

/// Where a listener forwards.
#[derive(Clone, Debug, PartialEq)]
struct Group {
    kind: &'static str,
    id: String,
    name: String,
}

/// One backend, its master/slave role and its health behind the listener.
#[derive(Clone, Debug)]
struct BackendView {
    backend: Backend,
    role: Option<String>,
    health: Option<String>,
}

/// What a group holds, fetched once however many listeners use it.
type Members = (Group, Vec<(Backend, Option<String>)>);

/// Fetches everything `lbs` shows.
pub async fn fetch(slb: &SlbClient, progress: &Progress) -> Result<Vec<LbView>, BoxError> {
    progress.say("fetching load balancers...");
    let lbs = numbered_pages(progress, "load balancers", MAX_LOAD_BALANCERS_PAGE, |page| {
        let req = slb.load_balancers().describe().page_number(page).page_size(MAX_LOAD_BALANCERS_PAGE);
        async move {
            let p = req.send().await?;
            Ok::<_, BoxError>((p.load_balancers, p.total_count))
        }
    })
    .await?;
    if lbs.is_empty() {
        return Ok(Vec::new());
    }
    progress.say("fetching listeners...");
    let listeners = token_pages(progress, "listeners", |token| {
        let mut req = slb.listeners().describe().max_results(MAX_LISTENERS_PAGE);
        if let Some(t) = token {
            req = req.next_token(t);
        }
        async move {
            let p = req.send().await?;
            Ok::<_, BoxError>((p.listeners, p.next_token, p.total_count))
        }
    })
    .await?;
    let mut by_lb: BTreeMap<LoadBalancerId, Vec<Listener>> = BTreeMap::new();
    for l in listeners {
        by_lb.entry(l.load_balancer_id.clone()).or_default().push(l);
    }

    // The groups in use, each fetched once.
    let backends: HashSet<(LoadBalancerId, ListenerBackend)> =
        by_lb.values().flatten().filter_map(|l| Some((l.load_balancer_id.clone(), l.spec.backend.clone()?))).collect();
    let with_listeners: Vec<LoadBalancerId> =
        lbs.iter().map(|lb| lb.load_balancer_id.clone()).filter(|id| by_lb.contains_key(id)).collect();
    progress.say(format_args!(
        "fetching {} backend group(s) and the health of {} load balancer(s)...",
        backends.len(),
        with_listeners.len()
    ));
    let members: HashMap<(LoadBalancerId, ListenerBackend), Members> = stream::iter(backends)
        .map(|key| async move {
            let found = group_members(slb, &key.0, &key.1).await?;
            Ok::<_, BoxError>((key, found))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let health: BTreeMap<LoadBalancerId, Vec<BackendHealth>> = stream::iter(with_listeners)
        .map(|id| async move {
            let h = slb.health().describe(&id, None).await?;
            Ok::<_, BoxError>((id, h))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;

    let mut views = Vec::with_capacity(lbs.len());
    for lb in lbs {
        let id = lb.load_balancer_id.clone();
        let mut listeners = by_lb.remove(&id).unwrap_or_default();
        listeners.sort_by_key(|l| (l.spec.port, l.spec.listener_protocol().to_string()));
        let lb_health = health.get(&id).map(Vec::as_slice).unwrap_or_default();
        let listeners = listeners
            .into_iter()
            .map(|listener| {
                let found = listener.spec.backend.as_ref().and_then(|b| members.get(&(id.clone(), b.clone())));
                let backends = found.map_or_else(Vec::new, |(_, m)| {
                    m.iter()
                        .map(|(backend, role)| BackendView {
                            health: health_of(lb_health, &listener, backend),
                            backend: backend.clone(),
                            role: role.clone(),
                        })
                        .collect()
                });
                ListenerView { group: found.map(|(g, _)| g.clone()), backends, listener }
            })
            .collect();
        views.push(LbView { lb, listeners });
    }
    Ok(views)
}

/// The group a listener forwards to and its backends.
async fn group_members(slb: &SlbClient, lb: &LoadBalancerId, backend: &ListenerBackend) -> Result<Members, BoxError> {
    Ok(match backend {
        ListenerBackend::VServerGroup(id) => {
            let g = slb.vserver_groups().get(id).await?;
            let group = Group { kind: "vserver-group", id: id.to_string(), name: g.name };
            (group, g.backends.into_iter().map(|b| (b, None)).collect())
        }
        ListenerBackend::MasterSlaveGroup(id) => {
            let g = slb.master_slave_groups().get(id).await?;
            let group = Group { kind: "master-slave-group", id: id.to_string(), name: g.name };
            (group, g.backends.into_iter().map(|b| (b.backend, Some(b.server_type.to_string()))).collect())
        }
        ListenerBackend::DefaultServerGroup { port } => {
            let req = RpcRequest::read(SLB, "DescribeLoadBalancerAttribute").param("LoadBalancerId", lb);
            let answer = slb.rpc().call_value(req).await?;
            let group = Group { kind: "default-server-group", id: format!("port {port}"), name: String::new() };
            (group, default_group_backends(&answer, *port)?.into_iter().map(|b| (b, None)).collect())
        }
    })
}

/// The default server group's backends in a DescribeLoadBalancerAttribute answer, on `port`
/// (the listener's `BackendServerPort`: the group itself has no ports).
fn default_group_backends(answer: &Value, port: u16) -> Result<Vec<Backend>, BoxError> {
    let list = match &answer["BackendServers"]["BackendServer"] {
        Value::Null => return Ok(Vec::new()),
        list => list.to_string(),
    };
    let mut backends = decode_backend_servers(&list)?;
    for b in &mut backends {
        b.port = port;
    }
    Ok(backends)
}

/// The health DescribeHealthStatus reports for `backend` behind `listener`.
fn health_of(health: &[BackendHealth], listener: &Listener, backend: &Backend) -> Option<String> {
    let protocol = listener.spec.listener_protocol();
    health
        .iter()
        .find(|h| {
            h.listener_port == listener.spec.port
                && h.protocol == protocol
                && h.server_id == backend.server_id
                && h.port == backend.port
                && (h.server_ip.is_none() || backend.server_ip.is_none() || h.server_ip == backend.server_ip)
        })
        .map(|h| h.status.to_string())
}

/// The load balancers table, then one row per listener backend.
pub fn render_tables(views: &[LbView]) -> String {
    let mut lbs =
        Table::new(&["LOAD BALANCER", "NAME", "ADDRESS", "TYPE", "STATUS", "SPEC", "VPC", "VSWITCH", "LISTENERS"])
            .right_align(&[8]);
    let mut rows = Table::new(&[
        "LOAD BALANCER",
        "LISTENER",
        "STATUS",
        "FORWARDS TO",
        "BACKEND",
        "TYPE",
        "IP",
        "PORT",
        "WEIGHT",
        "HEALTH",
    ])
    .right_align(&[7, 8]);
    for v in views {
        let lb = &v.lb;
        lbs.row(vec![
            lb.load_balancer_id.to_string(),
            lb.name.clone(),
            lb.address.to_string(),
            lb.address_type.to_string(),
            lb.status.to_string(),
            or_dash(lb.spec.as_ref()),
            or_dash(lb.vpc_id.as_ref()),
            or_dash(lb.vswitch_id.as_ref()),
            v.listeners.len().to_string(),
        ]);
        for l in &v.listeners {
            let head = vec![
                lb.load_balancer_id.to_string(),
                format!("{}:{}", l.listener.spec.listener_protocol(), l.listener.spec.port),
                l.listener.status.to_string(),
                l.group.as_ref().map_or_else(|| "-".to_owned(), group_label),
            ];
            if l.backends.is_empty() {
                let mut row = head.clone();
                row.push("(no backends)".to_owned());
                rows.row(row);
            }
            for b in &l.backends {
                let kind = match &b.role {
                    Some(role) => format!("{} ({role})", b.backend.kind),
                    None => b.backend.kind.to_string(),
                };
                let mut row = head.clone();
                row.extend([
                    b.backend.server_id.clone(),
                    kind,
                    or_dash(b.backend.server_ip),
                    b.backend.port.to_string(),
                    b.backend.weight.to_string(),
                    b.health.clone().unwrap_or_else(|| "-".to_owned()),
                ]);
                rows.row(row);
            }
        }
    }
    let mut out = lbs.render();
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&rows.render());
    }
    out
}

fn group_label(g: &Group) -> String {
    match (g.kind, g.name.is_empty()) {
        ("default-server-group", _) => format!("default group ({})", g.id),
        (_, true) => g.id.clone(),
        (_, false) => format!("{} ({})", g.id, g.name),
    }
}

/// The same as JSON: load balancers with nested listeners and backends.
pub fn to_json(views: &[LbView]) -> Value {
    let lbs: Vec<Value> = views
        .iter()
        .map(|v| {
            let lb = &v.lb;
            let listeners: Vec<Value> = v
                .listeners
                .iter()
                .map(|l| {
                    let backends: Vec<Value> = l.backends.iter().map(backend_json).collect();
                    json!({
                        "port": l.listener.spec.port,
                        "protocol": l.listener.spec.listener_protocol().to_string(),
                        "status": l.listener.status.to_string(),
                        "forwards_to": l.group.as_ref().map(|g| json!({"kind": g.kind, "id": g.id, "name": g.name})),
                        "backends": backends,
                    })
                })
                .collect();
            json!({
                "load_balancer_id": lb.load_balancer_id,
                "name": lb.name,
                "address": lb.address,
                "address_type": lb.address_type.to_string(),
                "status": lb.status.to_string(),
                "spec": lb.spec.as_ref().map(ToString::to_string),
                "vpc_id": lb.vpc_id,
                "vswitch_id": lb.vswitch_id,
                "listeners": listeners,
            })
        })
        .collect();
    Value::Array(lbs)
}

fn backend_json(b: &BackendView) -> Value {
    let ip: Option<IpAddr> = b.backend.server_ip;
    json!({
        "server_id": b.backend.server_id,
        "type": b.backend.kind.to_string(),
        "ip": ip,
        "port": b.backend.port,
        "weight": b.backend.weight,
        "role": b.role,
        "health": b.health,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_group_backends_take_the_listener_port() {
        let answer: Value = serde_json::from_str(
            r#"{"LoadBalancerId":"lb-1","BackendServers":{"BackendServer":[
                {"ServerId":"i-a","Weight":100,"Type":"ecs"},
                {"ServerId":"eni-b","Weight":"50","Type":"eni","ServerIp":"10.0.0.7"}]}}"#,
        )
        .unwrap();
        let got = default_group_backends(&answer, 8080).unwrap();
        assert_eq!(
            got,
            vec![
                Backend::ecs(&"i-a".parse().unwrap(), 8080),
                Backend::eni(&"eni-b".parse().unwrap(), "10.0.0.7".parse().unwrap(), 8080).with_weight(50)
            ]
        );
        assert!(default_group_backends(&json!({"LoadBalancerId": "lb-1"}), 80).unwrap().is_empty());
    }

    #[test]
    fn group_labels() {
        let g = |kind, id: &str, name: &str| Group { kind, id: id.into(), name: name.into() };
        assert_eq!(group_label(&g("vserver-group", "rsp-1", "web")), "rsp-1 (web)");
        assert_eq!(group_label(&g("vserver-group", "rsp-1", "")), "rsp-1");
        assert_eq!(group_label(&g("default-server-group", "port 80", "")), "default group (port 80)");
    }
}
