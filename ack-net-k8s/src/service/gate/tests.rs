use std::collections::BTreeMap;

use ack_net_slb::binding::{FoundBy, LoadBalancerSpec, ObservedGroup, ObservedLoadBalancer, Owner, PortSpec};
use ack_net_slb::{Backend, BackendHealth, ListenerProtocol, LoadBalancer, LoadBalancerId};
use serde_json::{json, Value};

use super::*;

fn service() -> Service {
    serde_json::from_value(json!({"metadata": {"namespace": "shop", "name": "web"}})).unwrap()
}

/// A pod of `shop` with the gates `gates`, `ContainersReady` and the gate condition as given.
fn pod(name: &str, ip: &str, gates: &[&str], containers: &str, gate: Option<&str>) -> Pod {
    let mut conditions = vec![json!({"type": "ContainersReady", "status": containers})];
    if let Some(g) = gate {
        conditions.push(json!({"type": "service.readiness.alibabacloud.com/web", "status": g}));
    }
    let gates: Vec<Value> = gates.iter().map(|g| json!({"conditionType": g})).collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": name},
        "spec": {"containers": [], "readinessGates": gates},
        "status": {"podIP": ip, "podIPs": [{"ip": ip}], "conditions": conditions}
    }))
    .unwrap()
}

const WEB: &str = "service.readiness.alibabacloud.com/web";

#[test]
fn only_pods_behind_this_services_gate_with_ready_containers_are_gated() {
    let mut deleting = pod("d", "10.0.0.4", &[WEB], "True", None);
    deleting.metadata.deletion_timestamp = serde_json::from_value(json!("2026-01-01T00:00:00Z")).unwrap();
    let mut elsewhere = pod("e", "10.0.0.5", &[WEB], "True", None);
    elsewhere.metadata.namespace = Some("other".into());
    let mut no_ip = pod("f", "10.0.0.6", &[WEB], "True", None);
    no_ip.status.as_mut().unwrap().pod_ip = None;
    no_ip.status.as_mut().unwrap().pod_ips = None;
    let pods = [
        pod("b", "10.0.0.2", &[WEB], "True", Some("False")),
        pod("a", "10.0.0.1", &[WEB, "example.com/other"], "True", None),
        pod("c", "10.0.0.3", &[WEB], "True", Some("True")), // open already: still gated
        pod("g", "10.0.0.7", &[WEB], "False", None),        // containers not ready
        pod("h", "10.0.0.8", &["service.readiness.alibabacloud.com/api"], "True", None), // another Service's
        pod("i", "10.0.0.9", &[], "True", None),            // no gate
        deleting,
        elsewhere,
        no_ip,
    ];
    let gated = gated_pods(&service(), &pods);
    let names: Vec<(&str, bool)> = gated.iter().map(|w| (w.name.as_str(), w.open)).collect();
    assert_eq!(names, [("a", false), ("b", false), ("c", true)]);
    assert_eq!(gated[0].ips, vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
}

#[test]
fn gates_name_their_services() {
    let p = pod(
        "a",
        "10.0.0.1",
        &[WEB, "service.readiness.alibabacloud.com/api", "example.com/x", READINESS_GATE_PREFIX],
        "True",
        None,
    );
    assert_eq!(gated_services(&p), ["web", "api"]);
    assert_eq!(readiness_gate("web"), WEB);
}

fn slice(endpoints: Value) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"namespace": "shop", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints
    }))
    .unwrap()
}

fn ep(ip: &str, pod: Option<&str>, ready: bool, terminating: bool) -> Value {
    let mut e =
        json!({"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": terminating}});
    if let Some(p) = pod {
        e["targetRef"] = json!({"kind": "Pod", "namespace": "shop", "name": p});
    }
    e
}

fn states(s: &EndpointSlice) -> Vec<(String, Option<bool>)> {
    s.endpoints
        .iter()
        .flatten()
        .map(|e| (e.addresses[0].clone(), e.conditions.as_ref().and_then(|c| c.ready)))
        .collect()
}

#[test]
fn gated_pods_are_admitted_as_ready_endpoints_and_nothing_else_is() {
    let s = slice(json!([
        ep("10.0.0.1", Some("a"), false, false), // gated, by targetRef
        ep("10.0.0.2", None, false, false),      // gated, by address
        ep("10.0.0.3", Some("c"), false, false), // not gated
        ep("10.0.0.4", Some("a2"), false, true), // terminating: never admitted
        ep("10.0.0.9", Some("x"), false, false), // a stale address of a: its targetRef says otherwise
    ]));
    let gated = [
        GatedPod { name: "a".into(), ips: vec![ip("10.0.0.1"), ip("10.0.0.9")], open: false },
        GatedPod { name: "b".into(), ips: vec![ip("10.0.0.2")], open: true },
        GatedPod { name: "a2".into(), ips: vec![ip("10.0.0.4")], open: false },
    ];
    let admitted = admit_gated(std::slice::from_ref(&s), &gated);
    assert_eq!(
        states(&admitted[0]),
        [
            ("10.0.0.1".into(), Some(true)),
            ("10.0.0.2".into(), Some(true)),
            ("10.0.0.3".into(), Some(false)),
            ("10.0.0.4".into(), Some(false)),
            ("10.0.0.9".into(), Some(false)),
        ]
    );
    assert_eq!(admit_gated(std::slice::from_ref(&s), &[]), vec![s.clone()]);
    // The pods that may wait: not-ready, not terminating endpoints' targetRefs.
    assert_eq!(not_ready_pods(&[&s]).into_iter().collect::<Vec<_>>(), ["a", "c", "x"]);
    // Drained addresses leave, but only as terminating endpoints.
    assert_eq!(terminating_addresses(&[&s]).into_iter().collect::<Vec<_>>(), [ip("10.0.0.4")]);
    let kept = drop_terminating(&[s], &[ip("10.0.0.1"), ip("10.0.0.4")].into());
    let left: Vec<String> = kept[0].endpoints.iter().flatten().map(|e| e.addresses[0].clone()).collect();
    assert_eq!(left, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.9"]);
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn spec(weight: u8) -> LoadBalancerSpec {
    let lb: LoadBalancerId = "lb-a1".parse().unwrap();
    let b = |a: &str, port| Backend::eni(&"eni-a".parse().unwrap(), ip(a), port).with_weight(weight);
    LoadBalancerSpec::reuse(Owner::new("c-1", "shop/web"), lb)
        .port(PortSpec::tcp(80, vec![b("10.0.0.1", 8080), b("10.0.0.2", 8080)]))
        .port(PortSpec::tcp(443, vec![b("10.0.0.1", 8443)]))
}

fn observed(groups: &[(u16, Vec<Backend>)], health: Option<Vec<BackendHealth>>) -> ObservedLoadBalancer {
    let attributes: LoadBalancer = serde_json::from_value(json!({
        "LoadBalancerId": "lb-a1", "LoadBalancerName": "web", "LoadBalancerStatus": "active",
        "Address": "47.96.0.1", "AddressType": "internet", "LoadBalancerSpec": "slb.s1.small",
        "InstanceChargeType": "PayBySpec", "DeleteProtection": "off",
        "ModificationProtectionStatus": "NonProtection"
    }))
    .unwrap();
    let groups: BTreeMap<_, _> = groups
        .iter()
        .map(|(port, backends)| {
            let id: ack_net_slb::VServerGroupId = format!("rsp-g{port}").parse().unwrap();
            (id.clone(), ObservedGroup { id, port: *port, backends: Some(backends.clone()) })
        })
        .collect();
    ObservedLoadBalancer {
        attributes,
        found_by: FoundBy::RememberedId,
        listeners: Vec::new(),
        groups,
        groups_listed: true,
        health,
    }
}

fn health(port: u16, addr: &str, backend_port: u16, status: HealthStatus) -> BackendHealth {
    BackendHealth {
        listener_port: port,
        protocol: ListenerProtocol::Tcp,
        server_id: "eni-a".into(),
        server_ip: Some(ip(addr)),
        port: backend_port,
        status,
    }
}

#[test]
fn a_pod_is_served_once_every_group_holds_it_with_its_weight_and_no_check_fails() {
    let spec = spec(50);
    let b = |a: &str, port, w| Backend::eni(&"eni-a".parse().unwrap(), ip(a), port).with_weight(w);
    let full =
        || vec![(80, vec![b("10.0.0.1", 8080, 50), b("10.0.0.2", 8080, 50)]), (443, vec![b("10.0.0.1", 8443, 50)])];

    assert!(serves(&spec, &observed(&full(), None), ip("10.0.0.1")));
    assert!(serves(&spec, &observed(&full(), None), ip("10.0.0.2")));
    // Not a backend of the spec at all.
    assert!(!serves(&spec, &observed(&full(), None), ip("10.0.0.3")));
    // One group lacks it.
    let only80 = vec![(80, vec![b("10.0.0.1", 8080, 50)]), (443, vec![])];
    assert!(!serves(&spec, &observed(&only80, None), ip("10.0.0.1")));
    // Still on its way to its final weight (a drain or an old weight).
    let light = vec![(80, vec![b("10.0.0.1", 8080, 0)]), (443, vec![b("10.0.0.1", 8443, 50)])];
    assert!(!serves(&spec, &observed(&light, None), ip("10.0.0.1")));
    // Health: abnormal holds the gate, unavailable (no checks) and normal do not.
    let checked = |s: HealthStatus| {
        Some(vec![health(80, "10.0.0.1", 8080, HealthStatus::Normal), health(443, "10.0.0.1", 8443, s)])
    };
    assert!(!serves(&spec, &observed(&full(), checked(HealthStatus::Abnormal)), ip("10.0.0.1")));
    assert!(serves(&spec, &observed(&full(), checked(HealthStatus::Unavailable)), ip("10.0.0.1")));
    assert!(serves(&spec, &observed(&full(), checked(HealthStatus::Normal)), ip("10.0.0.1")));
    // Another backend's failing check does not hold this one.
    let other = Some(vec![health(80, "10.0.0.2", 8080, HealthStatus::Abnormal)]);
    assert!(serves(&spec, &observed(&full(), other.clone()), ip("10.0.0.1")));
    assert!(!serves(&spec, &observed(&full(), other), ip("10.0.0.2")));
}

#[tokio::test(start_paused = true)]
async fn terminating_addresses_drain_for_the_period_then_expire() {
    let period = Duration::from_secs(20);
    let mut clock = DrainClock::new();
    let t0 = Instant::now();
    let d = clock.tick([ip("10.0.0.1")], t0, period);
    assert!(d.expired.is_empty());
    assert_eq!(d.next, Some(t0 + period));

    tokio::time::sleep(Duration::from_secs(15)).await;
    let t1 = Instant::now();
    let d = clock.tick([ip("10.0.0.1"), ip("10.0.0.2")], t1, period);
    assert!(d.expired.is_empty());
    assert_eq!(d.next, Some(t0 + period), "the earliest end");

    tokio::time::sleep(Duration::from_secs(5)).await;
    let d = clock.tick([ip("10.0.0.1"), ip("10.0.0.2")], Instant::now(), period);
    assert_eq!(d.expired.into_iter().collect::<Vec<_>>(), [ip("10.0.0.1")]);
    assert_eq!(d.next, Some(t1 + period));

    // An address that stops terminating (its pod came back under the same address) is
    // forgotten: terminating again starts a new period.
    let d = clock.tick([ip("10.0.0.2")], Instant::now(), period);
    assert!(d.expired.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let d = clock.tick([ip("10.0.0.1"), ip("10.0.0.2")], Instant::now(), period);
    assert_eq!(d.next, Some(t1 + period));
    assert!(d.expired.is_empty());
    tokio::time::sleep(Duration::from_secs(14)).await;
    let d = clock.tick([ip("10.0.0.1"), ip("10.0.0.2")], Instant::now(), period);
    assert_eq!(d.expired.into_iter().collect::<Vec<_>>(), [ip("10.0.0.2")]);
    // A zero period removes at once.
    let d = DrainClock::new().tick([ip("10.0.0.3")], Instant::now(), Duration::ZERO);
    assert_eq!(d.expired.len(), 1);
    assert_eq!(d.next, None);
}
