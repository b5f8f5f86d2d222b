//! The cluster the NetworkPolicy benchmarks share: 20 namespaces of 50 pods with 5 Kubernetes
//! policies each, and 20 Calico resources on top.

use std::net::Ipv4Addr;

use ack_net_k8s::netpol::calico::{CalicoResource, Parsing};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

pub const NAMESPACES: usize = 20;
pub const PODS_PER_NAMESPACE: usize = 50;
pub const POLICIES_PER_NAMESPACE: usize = 5;

/// Namespaces, pods and Kubernetes policies.
pub struct Cluster {
    /// The namespaces.
    pub namespaces: Vec<Namespace>,
    /// The pods.
    pub pods: Vec<Pod>,
    /// The policies.
    pub policies: Vec<NetworkPolicy>,
}

/// An object from its JSON.
pub fn from_json<T: k8s_openapi::serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("benchmark object")
}

/// 20 namespaces of 50 pods (10 apps, three tiers) and 5 policies each: a default deny, tier to
/// tier on a named port, a cross-namespace peer (namespace AND pod selector), an ipBlock with
/// exceptions, and egress limited to DNS and a port range.
pub fn cluster() -> Cluster {
    let envs = ["prod", "staging", "dev"];
    let tiers = ["fe", "be", "db"];
    let mut namespaces = Vec::new();
    let mut pods = Vec::new();
    let mut policies = Vec::new();
    for n in 0..NAMESPACES {
        let ns = format!("ns{n}");
        namespaces.push(from_json(
            json!({"metadata": {"name": ns, "labels": {"env": envs[n % 3], "team": format!("t{}", n % 4)}}}),
        ));
        for p in 0..PODS_PER_NAMESPACE {
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (n * 256 + p + 1) as u32);
            pods.push(from_json(json!({
                "metadata": {"namespace": ns, "name": format!("pod{p}"), "labels": {
                    "app": format!("app{}", p % 10), "tier": tiers[p % 3], "version": format!("v{}", p % 2)
                }},
                "spec": {"containers": [{"name": "main", "ports": [
                    {"name": "http", "containerPort": 8000 + (p % 3) as i32},
                    {"name": "metrics", "containerPort": 9090},
                    {"name": "dns", "containerPort": 53, "protocol": "UDP"}
                ]}]},
                "status": {"phase": "Running", "hostIPs": [{"ip": format!("192.168.{}.{}", n, p % 10)}], "podIPs": [{"ip": ip.to_string()}]}
            })));
        }
        let meta = |name: &str| json!({"namespace": ns, "name": name});
        let specs = [
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
            json!({"podSelector": {"matchLabels": {"tier": "be"}}, "ingress": [{
                "from": [{"podSelector": {"matchLabels": {"tier": "fe"}}}], "ports": [{"port": "http"}]
            }]}),
            json!({"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]}, "ingress": [{
                "from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}},
                          "podSelector": {"matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v0"]}]}}],
                "ports": [{"port": 8000, "endPort": 8002}, {"port": "metrics"}]
            }]}),
            json!({"podSelector": {"matchLabels": {"tier": "fe"}}, "ingress": [{
                "from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16"]}}], "ports": [{"port": 443}]
            }]}),
            json!({"podSelector": {"matchLabels": {"tier": "db"}}, "policyTypes": ["Egress"], "egress": [
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": "dns", "protocol": "UDP"}]},
                {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 5432, "endPort": 5440}]}
            ]}),
        ];
        for (i, spec) in specs.into_iter().take(POLICIES_PER_NAMESPACE).enumerate() {
            policies.push(from_json(json!({"metadata": meta(&format!("p{i}")), "spec": spec})));
        }
    }
    Cluster { namespaces, pods, policies }
}

/// 20 Calico resources: a `security` tier with 4 global policies (deny egress to a CIDR, pass
/// the rest, a Log rule, ICMP), and 16 namespaced policies in the default tier ordered around
/// the Kubernetes ones (deny before, allow after, named ports, namespace selectors).
pub fn calico() -> Vec<CalicoResource> {
    let mut docs = vec![
        json!({"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "security"}, "spec": {"order": 100}}),
    ];
    for i in 0..4 {
        docs.push(json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": format!("security.g{i}")},
            "spec": {"tier": "security", "order": i, "selector": format!("app == 'app{i}' || tier == 'db'"),
                "namespaceSelector": "env in {'prod', 'staging'}",
                "ingress": [{"action": "Log", "source": {"nets": ["203.0.113.0/24"]}},
                            {"action": "Allow", "protocol": "ICMP", "icmp": {"type": 8}},
                            {"action": "Pass"}],
                "egress": [{"action": "Deny", "destination": {"nets": ["198.51.100.0/24"], "notNets": ["198.51.100.0/28"]}},
                           {"action": "Pass"}]}}));
    }
    for i in 0..16 {
        let order = if i % 2 == 0 { 500 } else { 1500 };
        docs.push(json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
            "metadata": {"name": format!("c{i}"), "namespace": format!("ns{i}")},
            "spec": {"order": order, "selector": "tier == 'be' && has(version)",
                "ingress": [{"action": "Deny", "source": {"selector": "version == 'v0' && tier != 'be'"}},
                            {"action": "Allow", "protocol": "TCP", "source": {"namespaceSelector": "team == 't1'"},
                             "destination": {"ports": ["http", "9000:9100"]}}]}}));
    }
    docs.iter().map(|d| CalicoResource::from_value(d.clone(), Parsing::Strict).expect("benchmark resource")).collect()
}
