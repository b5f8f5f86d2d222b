//! Property test: over random small clusters and policies, the compiled `RuleSet` answers every
//! query exactly as the interpreting `PolicyEngine` does, and so does the tiered Calico engine
//! given the same Kubernetes policies and no Calico resources (Calico's own model of them).

use std::net::IpAddr;

use ack_net_k8s::netpol::calico::{CalicoEngine, Traffic};
use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const NODE_IPS: [&str; 2] = ["192.168.0.1", "192.168.0.2"];
const OUTSIDE_IPS: [&str; 5] = ["203.0.113.5", "203.0.113.200", "8.8.8.8", "10.0.0.250", "10.1.0.1"];
const PORTS: [u16; 6] = [0, 53, 80, 443, 8080, 9000];

fn labels(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(select(keys), select(values), 0..=keys.len()).prop_map(|m| json!(m))
}

fn selector(keys: &'static [&'static str], values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let expr =
        (select(keys), 0..4usize, prop::collection::vec(select(values), 1..3)).prop_map(|(key, op, values)| match op {
            0 => json!({"key": key, "operator": "In", "values": values}),
            1 => json!({"key": key, "operator": "NotIn", "values": values}),
            2 => json!({"key": key, "operator": "Exists"}),
            _ => json!({"key": key, "operator": "DoesNotExist"}),
        });
    let match_labels = (select(keys), select(values)).prop_map(|(k, v)| json!({k: v}));
    // Dense on purpose: selectors that match everything or about half of the objects.
    prop_oneof![
        2 => Just(json!({})),
        2 => match_labels.clone().prop_map(|ml| json!({"matchLabels": ml})),
        1 => expr.clone().prop_map(|e| json!({"matchExpressions": [e]})),
        1 => (match_labels, expr).prop_map(|(ml, e)| json!({"matchLabels": ml, "matchExpressions": [e]})),
    ]
}

fn pod_selector() -> impl Strategy<Value = Value> {
    selector(&["app", "tier"], &["x", "y"])
}

fn ns_selector() -> impl Strategy<Value = Value> {
    selector(&["env", "team", "kubernetes.io/metadata.name"], &["x", "y", "a", "b"])
}

fn peer() -> impl Strategy<Value = Value> {
    let blocks = select(vec![
        json!({"cidr": "10.0.0.0/24"}),
        json!({"cidr": "10.0.0.0/24", "except": ["10.0.0.0/29"]}),
        json!({"cidr": "10.0.0.0/28", "except": ["10.0.0.4/30", "10.0.0.8/31"]}),
        json!({"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}),
        json!({"cidr": "192.168.0.0/24"}),
        json!({"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}),
    ]);
    prop_oneof![
        1 => pod_selector().prop_map(|s| json!({"podSelector": s})),
        1 => ns_selector().prop_map(|s| json!({"namespaceSelector": s})),
        1 => (ns_selector(), pod_selector()).prop_map(|(n, p)| json!({"namespaceSelector": n, "podSelector": p})),
        2 => blocks.prop_map(|b| json!({"ipBlock": b})),
    ]
}

fn port() -> impl Strategy<Value = Value> {
    let protocol = select(vec![None, Some("TCP"), Some("UDP"), Some("SCTP")]);
    (
        protocol,
        0..6usize,
        select(vec![53, 80, 443, 8080]),
        select(vec![None, Some(80), Some(8080), Some(9000)]),
        select(vec!["http", "dns"]),
    )
        .prop_map(|(protocol, kind, number, end, name)| {
            let mut p = match kind {
                0 => json!({}),
                1 => json!({"port": number}),
                2 => json!({"port": number, "endPort": end.filter(|&e| e >= number).unwrap_or(number)}),
                _ => json!({"port": name}), // named ports: half of the entries
            };
            if let Some(protocol) = protocol {
                p["protocol"] = json!(protocol);
            }
            p
        })
}

fn rules(peer_key: &'static str) -> impl Strategy<Value = Option<Value>> {
    let rule =
        (prop::option::of(prop::collection::vec(peer(), 0..3)), prop::option::of(prop::collection::vec(port(), 0..3)))
            .prop_map(move |(peers, ports)| {
                let mut r = json!({});
                if let Some(peers) = peers {
                    r[peer_key] = json!(peers);
                }
                if let Some(ports) = ports {
                    r["ports"] = json!(ports);
                }
                r
            });
    prop_oneof![1 => Just(None), 4 => prop::collection::vec(rule, 0..4).prop_map(|v| Some(json!(v)))]
}

fn policy(name: usize) -> impl Strategy<Value = Value> {
    let types =
        select(vec![None, Some(vec!["Ingress"]), Some(vec!["Egress"]), Some(vec!["Ingress", "Egress"]), Some(vec![])]);
    (select(&["a", "a", "a", "b", "b", "c"][..]), prop::option::of(pod_selector()), types, rules("from"), rules("to"))
        .prop_map(move |(ns, selector, types, ingress, egress)| {
            let mut spec = json!({});
            if let Some(s) = selector {
                spec["podSelector"] = s;
            }
            if let Some(t) = types {
                spec["policyTypes"] = json!(t);
            }
            if let Some(i) = ingress {
                spec["ingress"] = i;
            }
            if let Some(e) = egress {
                spec["egress"] = e;
            }
            json!({"metadata": {"namespace": ns, "name": format!("p{name}")}, "spec": spec})
        })
}

/// An egress policy whose rules use named ports towards selectors and blocks: the case where
/// the compiled form expands destinations per port number.
fn egress_named_policy(name: usize) -> impl Strategy<Value = Value> {
    let named =
        (select(vec!["http", "dns"]), select(vec![None, Some("TCP"), Some("UDP")])).prop_map(|(n, p)| match p {
            Some(p) => json!({"port": n, "protocol": p}),
            None => json!({"port": n}),
        });
    let rule = (prop::collection::vec(peer(), 0..3), prop::collection::vec(named, 1..3))
        .prop_map(|(to, ports)| json!({"to": to, "ports": ports}));
    (select(&["a", "a", "b"][..]), pod_selector(), prop::collection::vec(rule, 1..3)).prop_map(
        move |(ns, sel, rules)| {
            json!({
                "metadata": {"namespace": ns, "name": format!("e{name}")},
                "spec": {"podSelector": sel, "policyTypes": ["Egress"], "egress": rules}
            })
        },
    )
}

/// A pod (in "a" most often; "d" has no Namespace object): its IP is 10.0.0.<index+1> unless it has none or uses the host network.
fn pod(index: usize) -> impl Strategy<Value = Value> {
    let named = (select(vec!["http", "dns"]), select(vec!["TCP", "UDP"]), select(vec![53, 80, 8080]))
        .prop_map(|(n, p, port)| json!({"name": n, "protocol": p, "containerPort": port}));
    let namespace = select(&["a", "a", "a", "b", "b", "c", "d"][..]);
    let labels =
        (select(vec!["x", "y"]), prop::option::of(select(vec!["x", "y"]))).prop_map(|(app, tier)| match tier {
            Some(tier) => json!({"app": app, "tier": tier}),
            None => json!({"app": app}),
        });
    (
        namespace,
        labels,
        0..10usize,
        0..2usize,
        prop::collection::vec(named, 0..4),
        select(vec![None, Some("Running"), Some("Succeeded")]),
    )
        .prop_map(move |(ns, labels, kind, node, ports, phase)| {
            let node_ip = NODE_IPS[node];
            let (host_network, ip) = match kind {
                0 => (true, Some(node_ip.to_owned())),
                1 => (false, None),
                _ => (false, Some(format!("10.0.0.{}", index + 1))),
            };
            // Container port names are unique per container: one container per port.
            let containers: Vec<Value> =
                ports.iter().enumerate().map(|(i, p)| json!({"name": format!("c{i}"), "ports": [p]})).collect();
            json!({
                "metadata": {"namespace": ns, "name": format!("pod{index}"), "labels": labels},
                "spec": {"hostNetwork": host_network, "containers": containers},
                "status": {"phase": phase, "hostIP": node_ip, "podIPs": ip.map(|ip| vec![json!({"ip": ip})])}
            })
        })
}

fn cluster(focused: bool) -> impl Strategy<Value = (Vec<Value>, Vec<Value>, Vec<Value>)> {
    let namespaces = (
        labels(&["env", "team"], &["x", "y"]),
        labels(&["env", "team"], &["x", "y"]),
        labels(&["env", "team"], &["x", "y"]),
    )
        .prop_map(|(a, b, c)| {
            NAMESPACES
                .iter()
                .zip([a, b, c])
                .map(|(n, l)| json!({"metadata": {"name": n, "labels": l}}))
                .collect::<Vec<_>>()
        });
    let pods = (2..8usize).prop_flat_map(|n| (0..n).map(pod).collect::<Vec<_>>());
    let policies = (1..5usize).prop_flat_map(move |n| {
        (0..n).map(|i| if focused { egress_named_policy(i).boxed() } else { policy(i).boxed() }).collect::<Vec<_>>()
    });
    (namespaces, pods, policies)
}

fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(values: &[Value]) -> Vec<T> {
    values.iter().map(|v| serde_json::from_value(v.clone()).expect("generated object deserializes")).collect()
}

/// Every query over every pair of peers (pods by name, pod, node and outside addresses).
fn check_agreement(namespaces: &[Value], pods: &[Value], policies: &[Value]) -> Result<(), TestCaseError> {
    let namespaces: Vec<Namespace> = parse(namespaces);
    let pods: Vec<Pod> = parse(pods);
    let policies: Vec<NetworkPolicy> = parse(policies);
    let engine = PolicyEngine::new(&namespaces, &pods, &policies).expect("generated objects are valid");
    let rules = engine.compile();
    let tiered = CalicoEngine::new(engine.clone(), [], []).expect("no Calico resources");

    let mut peers: Vec<Peer<'_>> = pods
        .iter()
        .map(|p| Peer::pod(p.metadata.namespace.as_deref().unwrap(), p.metadata.name.as_deref().unwrap()))
        .collect();
    let ips = rules.pods().iter().flat_map(|p| p.ips.iter().copied());
    let others = NODE_IPS.iter().chain(&OUTSIDE_IPS).map(|s| s.parse::<IpAddr>().unwrap());
    peers.extend(ips.chain(others).map(Peer::Ip));

    for &from in &peers {
        for &to in &peers {
            for port in PORTS {
                for protocol in Protocol::ALL {
                    let interpreted = engine.allowed(from, to, port, protocol).unwrap();
                    let compiled = rules.allowed(from, to, port, protocol).unwrap();
                    prop_assert_eq!(interpreted, compiled, "{} -> {} {}/{}", from, to, port, protocol);
                    let calico = tiered.allowed(from, to, Traffic::from((protocol, port))).unwrap();
                    prop_assert_eq!(interpreted, calico, "tiered: {} -> {} {}/{}", from, to, port, protocol);
                }
            }
        }
    }
    // A data plane's view of each peer set: an address is in its networks iff the set matches it.
    for (id, set) in rules.peer_sets() {
        prop_assert!(rules.rules().any(|(_, r)| r.peers == id), "unused peer set {:?}", set);
        let networks = rules.networks(id);
        for &peer in peers.iter().filter(|p| matches!(p, Peer::Ip(_))) {
            let Peer::Ip(ip) = peer else { continue };
            let listed = networks.iter().any(|n| n.contains(&ip));
            prop_assert_eq!(listed, rules.peer_set_matches(id, peer).unwrap(), "{} in {:?}: {:?}", ip, set, networks);
        }
    }
    Ok(())
}

proptest! {
    // Each case runs thousands of queries; these counts keep the test to a few seconds.
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn compiled_rule_set_agrees_with_the_engine((namespaces, pods, policies) in cluster(false)) {
        check_agreement(&namespaces, &pods, &policies)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn compiled_egress_named_ports_agree_with_the_engine((namespaces, pods, policies) in cluster(true)) {
        check_agreement(&namespaces, &pods, &policies)?;
    }
}
