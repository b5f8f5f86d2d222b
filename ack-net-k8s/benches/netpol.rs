//! NetworkPolicy benchmarks: building the engine from 1,000 pods and 100 policies, compiling it,
//! and 10,000 `allowed` queries through the interpreter and through the compiled rule set; then
//! the same with 20 Calico policies in two tiers on top (the tiered engine and its compiled form).
//!
//! `cargo bench -p ack-net-k8s --bench netpol -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing, Traffic};
use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol};
use criterion::{criterion_group, criterion_main, Criterion};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

const NAMESPACES: usize = 20;
const PODS_PER_NAMESPACE: usize = 50;
const POLICIES_PER_NAMESPACE: usize = 5;
const QUERIES: usize = 10_000;

struct Cluster {
    namespaces: Vec<Namespace>,
    pods: Vec<Pod>,
    policies: Vec<NetworkPolicy>,
}

fn from_json<T: k8s_openapi::serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("benchmark object")
}

/// 20 namespaces of 50 pods (10 apps, three tiers) and 5 policies each: a default deny, tier to
/// tier on a named port, a cross-namespace peer (namespace AND pod selector), an ipBlock with
/// exceptions, and egress limited to DNS and a port range.
fn cluster() -> Cluster {
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

/// Deterministic queries: pod to pod by name, pod to address and address to pod.
fn queries(cluster: &Cluster) -> Vec<(Peer<'_>, Peer<'_>, u16, Protocol)> {
    let mut rng = fastrand::Rng::with_seed(7);
    let peer = |rng: &mut fastrand::Rng| -> Peer<'_> {
        match rng.u8(0..4) {
            0 => Peer::Ip(IpAddr::V4(Ipv4Addr::new(203, 0, 113, rng.u8(..)))),
            1 => Peer::Ip(IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                rng.u8(0..NAMESPACES as u8),
                rng.u8(1..=PODS_PER_NAMESPACE as u8),
            ))),
            _ => {
                let pod = &cluster.pods[rng.usize(..cluster.pods.len())];
                Peer::pod(pod.metadata.namespace.as_deref().unwrap_or(""), pod.metadata.name.as_deref().unwrap_or(""))
            }
        }
    };
    let ports = [53, 443, 5432, 8000, 8001, 8002, 9090, 80];
    (0..QUERIES)
        .map(|_| {
            let (from, to) = (peer(&mut rng), peer(&mut rng));
            let protocol = if rng.u8(0..4) == 0 { Protocol::Udp } else { Protocol::Tcp };
            (from, to, ports[rng.usize(..ports.len())], protocol)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cluster = cluster();
    let engine = PolicyEngine::new(&cluster.namespaces, &cluster.pods, &cluster.policies).expect("valid cluster");
    let rules = engine.compile();
    let queries = queries(&cluster);
    let allowed = queries.iter().filter(|&&(f, t, p, pr)| engine.allowed(f, t, p, pr).unwrap_or(false)).count();
    let refs: usize = rules.pods().iter().map(|p| p.ingress.rules.len() + p.egress.rules.len()).sum();
    eprintln!(
        "netpol: {} pods, {} policies -> {} rules, {} peer sets, {} pod->rule references; {allowed}/{} queries allowed",
        engine.pod_count(),
        engine.policy_count(),
        rules.rules().len(),
        rules.peer_sets().len(),
        refs,
        queries.len(),
    );

    let mut group = c.benchmark_group("netpol");
    group.bench_function("build_engine_1000_pods_100_policies", |b| {
        b.iter(|| PolicyEngine::new(&cluster.namespaces, &cluster.pods, &cluster.policies).expect("valid"))
    });
    group.bench_function("compile_1000_pods_100_policies", |b| b.iter(|| black_box(&engine).compile()));
    group.bench_function("engine_allowed_10k_queries", |b| {
        b.iter(|| {
            queries.iter().filter(|&&(f, t, p, pr)| black_box(&engine).allowed(f, t, p, pr).unwrap_or(false)).count()
        })
    });
    group.bench_function("ruleset_allowed_10k_queries", |b| {
        b.iter(|| {
            queries.iter().filter(|&&(f, t, p, pr)| black_box(&rules).allowed(f, t, p, pr).unwrap_or(false)).count()
        })
    });
    group.finish();
}

/// 20 Calico resources: a `security` tier with 4 global policies (deny egress to a CIDR, pass
/// the rest, a Log rule, ICMP), and 16 namespaced policies in the default tier ordered around
/// the Kubernetes ones (deny before, allow after, named ports, namespace selectors).
fn calico() -> Vec<CalicoResource> {
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

fn bench_calico(c: &mut Criterion) {
    let cluster = cluster();
    let resources = calico();
    let kube = PolicyEngine::new(&cluster.namespaces, &cluster.pods, &cluster.policies).expect("valid cluster");
    let engine = CalicoEngine::new(kube.clone(), [], &resources).expect("valid resources");
    let compiled = engine.compile();
    let queries: Vec<(Peer<'_>, Peer<'_>, Traffic)> =
        queries(&cluster).into_iter().map(|(f, t, port, protocol)| (f, t, Traffic::from((protocol, port)))).collect();
    let rules: usize =
        compiled.pods().iter().flat_map(|p| p.ingress.iter().chain(&p.egress)).map(|t| t.rules.len()).sum();
    let allowed = queries.iter().filter(|&&(f, t, tr)| engine.allowed(f, t, tr).unwrap_or(false)).count();
    eprintln!(
        "netpol/calico: {} resources; {rules} compiled pod rules; {allowed}/{} queries allowed",
        resources.len(),
        queries.len()
    );

    let mut group = c.benchmark_group("netpol_calico");
    group.bench_function("build_engine_1000_pods_100_k8s_20_calico", |b| {
        b.iter(|| CalicoEngine::new(black_box(&kube).clone(), [], &resources).expect("valid"))
    });
    group.bench_function("compile_1000_pods_100_k8s_20_calico", |b| b.iter(|| black_box(&engine).compile()));
    group.bench_function("engine_verdict_10k_queries", |b| {
        b.iter(|| queries.iter().filter(|&&(f, t, tr)| black_box(&engine).allowed(f, t, tr).unwrap_or(false)).count())
    });
    group.bench_function("compiled_verdict_10k_queries", |b| {
        b.iter(|| queries.iter().filter(|&&(f, t, tr)| black_box(&compiled).allowed(f, t, tr).unwrap_or(false)).count())
    });
    group.finish();
}

criterion_group!(benches, bench, bench_calico);
criterion_main!(benches);
