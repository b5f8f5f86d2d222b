//! Property test: over random clusters, Kubernetes NetworkPolicies and Calico policies and
//! tiers, the compiled `CalicoRuleSet` gives every query the same verdict (decisions, logged
//! rules and errors included) as the interpreting `CalicoEngine`.

use std::net::IpAddr;

use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing, Traffic};
use ack_net_k8s::netpol::{Peer, PolicyEngine};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

const NAMESPACES: [&str; 2] = ["a", "b"];
const OUTSIDE: [&str; 3] = ["203.0.113.7", "10.0.0.250", "192.168.0.1"];
const SELECTORS: [&str; 8] = [
    "all()",
    "app == 'x'",
    "app != 'x'",
    "has(role)",
    "app in {'x', 'db'}",
    "!has(app) || role == 'db'",
    "projectcalico.org/namespace == 'a'",
    "projectcalico.org/serviceaccount == 'sa1'",
];
const NS_SELECTORS: [&str; 3] = ["team == 'red'", "all()", "projectcalico.org/name == 'b'"];

fn traffic() -> Vec<Traffic> {
    vec![
        Traffic::tcp(80),
        Traffic::tcp(8080).from_port(1000),
        Traffic::tcp(8080).from_port(40000),
        Traffic::udp(53),
        Traffic::icmp(8, 0),
        Traffic::icmp(8, 1),
    ]
}

fn pod(index: usize) -> impl Strategy<Value = Value> {
    (select(&NAMESPACES[..]), option::of(select(&["x", "y", "db"][..])), option::of(select(&["db", "web"][..])), any::<bool>(), select(&["sa1", "default"][..]), 0..4u8)
        .prop_map(move |(ns, app, role, named, sa, kind)| {
            let mut labels = serde_json::Map::new();
            if let Some(app) = app {
                labels.insert("app".into(), json!(app));
            }
            if let Some(role) = role {
                labels.insert("role".into(), json!(role));
            }
            let ports = if named { json!([{"name": "http", "containerPort": 8080}]) } else { json!([]) };
            // kind 0: no IP yet; 1: hostNetwork; else a pod-network address.
            let (host_network, status) = match kind {
                0 => (false, json!({"hostIPs": [{"ip": "192.168.0.1"}]})),
                1 => (true, json!({"hostIPs": [{"ip": "192.168.0.2"}], "podIPs": [{"ip": "192.168.0.2"}]})),
                _ => (false, json!({"hostIPs": [{"ip": "192.168.0.1"}], "podIPs": [{"ip": format!("10.0.0.{}", index + 1)}]})),
            };
            json!({
                "metadata": {"namespace": ns, "name": format!("p{index}"), "labels": labels},
                "spec": {"hostNetwork": host_network, "serviceAccountName": sa, "containers": [{"name": "c", "ports": ports}]},
                "status": status
            })
        })
}

fn entity() -> impl Strategy<Value = Value> {
    (
        option::of(select(&["10.0.0.0/30", "203.0.113.0/24", "10.0.0.0/8"][..])),
        option::of(select(&["10.0.0.2/32", "203.0.113.0/25"][..])),
        option::of(select(&SELECTORS[..])),
        option::of(select(&SELECTORS[..])),
        option::of(select(&NS_SELECTORS[..])),
        option::of(select(vec![json!([80]), json!(["8000:8100"]), json!(["http"]), json!([53, "1:1024"])])),
        option::of(select(vec![json!([8080]), json!(["http"])])),
        option::of(select(vec![json!({"names": ["sa1"]}), json!({"selector": "tier == 'gold'"})])),
    )
        .prop_map(|(nets, not_nets, selector, not_selector, ns, ports, not_ports, sa)| {
            let mut e = serde_json::Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    e.insert(k.into(), v);
                }
            };
            put("nets", nets.map(|n| json!([n])));
            put("notNets", not_nets.map(|n| json!([n])));
            put("selector", selector.map(|s| json!(s)));
            put("notSelector", not_selector.map(|s| json!(s)));
            put("namespaceSelector", ns.map(|s| json!(s)));
            put("ports", ports);
            put("notPorts", not_ports);
            put("serviceAccounts", sa);
            Value::Object(e)
        })
}

fn rule() -> impl Strategy<Value = Value> {
    (select(&["Allow", "Deny", "Pass", "Log"][..]), 0..5u8, option::of(select(&["UDP", "TCP"][..])), entity(), entity())
        .prop_map(|(action, proto, not_proto, mut source, mut destination)| {
            let mut r = json!({"action": action});
            // Ports need TCP or UDP; ICMP matches need ICMP.
            match proto {
                0 | 1 => {
                    r["protocol"] = json!(if proto == 0 { "TCP" } else { "UDP" });
                }
                2 => {
                    r["protocol"] = json!("ICMP");
                    r["icmp"] = json!({"type": 8});
                    r["notICMP"] = json!({"type": 8, "code": 1});
                }
                _ => {}
            }
            if proto >= 2 {
                for e in [&mut source, &mut destination] {
                    e.as_object_mut().unwrap().remove("ports");
                    e.as_object_mut().unwrap().remove("notPorts");
                }
            }
            if let Some(np) = not_proto {
                r["notProtocol"] = json!(np);
            }
            r["source"] = source;
            r["destination"] = destination;
            r
        })
}

fn calico_policy(index: usize) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        select(&NAMESPACES[..]),
        any::<bool>(),
        option::of(select(&[10.0, 1000.0, 1500.0][..])),
        select(&SELECTORS[..]),
        option::of(select(&NS_SELECTORS[..])),
        vec(rule(), 0..3),
        vec(rule(), 0..3),
        option::of(select(vec![json!(["Ingress"]), json!(["Egress"]), json!(["Ingress", "Egress"])])),
    )
        .prop_map(move |(global, ns, security, order, selector, ns_sel, ingress, egress, types)| {
            let tier = if security { "security" } else { "default" };
            let name = if security { format!("security.c{index}") } else { format!("c{index}") };
            let mut spec = json!({"tier": tier, "selector": selector, "ingress": ingress, "egress": egress});
            if let Some(order) = order {
                spec["order"] = json!(order);
            }
            if let Some(types) = types {
                spec["types"] = types;
                // Rules of a direction the types leave out are invalid: drop them.
                for (dir, ty) in [("ingress", "Ingress"), ("egress", "Egress")] {
                    if !spec["types"].as_array().unwrap().iter().any(|t| t == ty) {
                        spec[dir] = json!([]);
                    }
                }
            }
            if global {
                if let Some(s) = ns_sel {
                    spec["namespaceSelector"] = json!(s);
                }
                json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": name}, "spec": spec})
            } else {
                json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec})
            }
        })
}

fn kubernetes_policy(index: usize) -> impl Strategy<Value = Value> {
    (select(&NAMESPACES[..]), option::of(select(&["x", "db"][..])), option::of(select(&["x", "y"][..])), any::<bool>(), any::<bool>())
        .prop_map(move |(ns, selected, from_app, with_port, egress)| {
            let pod_selector = match selected {
                Some(app) => json!({"matchLabels": {"app": app}}),
                None => json!({}),
            };
            let mut rule = json!({});
            if let Some(app) = from_app {
                rule[if egress { "to" } else { "from" }] = json!([{"podSelector": {"matchLabels": {"app": app}}}, {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.0/28"]}}]);
            }
            if with_port {
                rule["ports"] = json!([{"port": "http"}, {"port": 53, "protocol": "UDP"}]);
            }
            let (key, types) = if egress { ("egress", json!(["Egress"])) } else { ("ingress", json!(["Ingress"])) };
            json!({"metadata": {"namespace": ns, "name": format!("k{index}")}, "spec": {"podSelector": pod_selector, "policyTypes": types, key: [rule]}})
        })
}

fn cluster() -> impl Strategy<Value = (Vec<Value>, Vec<Value>, Vec<Value>, bool, bool)> {
    let pods = (0..5usize).map(pod).collect::<Vec<_>>();
    let calico = (0..3usize).map(calico_policy).collect::<Vec<_>>();
    let kube = (0..2usize).map(kubernetes_policy).collect::<Vec<_>>();
    (pods, calico, kube, any::<bool>(), any::<bool>())
}

fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(values: &[Value]) -> Vec<T> {
    values.iter().map(|v| serde_json::from_value(v.clone()).expect("generated object deserializes")).collect()
}

fn check(
    pods: &[Value],
    calico: &[Value],
    kube: &[Value],
    tier_pass: bool,
    some_calico: bool,
) -> Result<(), TestCaseError> {
    let namespaces: Vec<Namespace> =
        parse(&[json!({"metadata": {"name": "a", "labels": {"team": "red"}}}), json!({"metadata": {"name": "b"}})]);
    let pods: Vec<Pod> = parse(pods);
    let kube: Vec<NetworkPolicy> = parse(kube);
    let accounts: Vec<ServiceAccount> =
        parse(&[json!({"metadata": {"namespace": "a", "name": "sa1", "labels": {"tier": "gold"}}})]);
    let cluster = PolicyEngine::new(&namespaces, &pods, &kube).expect("valid cluster");
    let tier = json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "security"},
        "spec": {"order": 100, "defaultAction": if tier_pass { "Pass" } else { "Deny" }}});
    let mut resources = vec![CalicoResource::from_value(tier, Parsing::Strict).expect("tier")];
    if some_calico {
        for c in calico {
            resources.push(
                CalicoResource::from_value(c.clone(), Parsing::Strict)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {c}")))?,
            );
        }
    }
    let engine = CalicoEngine::new(cluster, &accounts, &resources).expect("engine");
    let compiled = engine.compile();

    let mut peers: Vec<Peer<'_>> = pods
        .iter()
        .map(|p| Peer::pod(p.metadata.namespace.as_deref().unwrap(), p.metadata.name.as_deref().unwrap()))
        .collect();
    let addresses: Vec<IpAddr> = (1..=5)
        .map(|i| format!("10.0.0.{i}"))
        .chain(OUTSIDE.iter().map(|s| (*s).to_owned()))
        .map(|s| s.parse().unwrap())
        .collect();
    peers.extend(addresses.iter().map(|ip| Peer::Ip(*ip)));
    for &from in &peers {
        for &to in &peers {
            for t in traffic() {
                let (interpreted, by_rules) = (engine.verdict(from, to, t), compiled.verdict(from, to, t));
                prop_assert_eq!(&interpreted, &by_rules, "{} -> {} {:?}", from, to, t);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn compiled_calico_rules_agree_with_the_engine((pods, calico, kube, tier_pass, some_calico) in cluster()) {
        check(&pods, &calico, &kube, tier_pass, some_calico)?;
    }
}
