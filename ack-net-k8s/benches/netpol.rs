//! NetworkPolicy benchmarks: building the engine from 1,000 pods and 100 policies, compiling it,
//! and 10,000 `allowed` queries through the interpreter and through the compiled rule set; then
//! the same with 20 Calico policies in two tiers on top (the tiered engine and its compiled form).
//!
//! `cargo bench -p ack-net-k8s --bench netpol -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use ack_net_k8s::netpol::calico::{CalicoEngine, Traffic};
use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol};
use criterion::{criterion_group, criterion_main, Criterion};

mod netpol_world;
use netpol_world::{calico, cluster, Cluster, NAMESPACES, PODS_PER_NAMESPACE};

const QUERIES: usize = 10_000;

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
