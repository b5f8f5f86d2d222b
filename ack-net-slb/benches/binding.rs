//! ServiceBinding: `plan` for a Service with 4 ports x 5,000 backends against an observed
//! state that differs in 1%, and the API calls of the binding's operations against
//! ack-net-mock (printed once, beside the times).
//!
//! `cargo bench -p ack-net-slb --bench binding -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;

use ack_net_core::CallStats;
use ack_net_mock::MockCloud;
use ack_net_slb::binding::{
    fingerprint, plan_with, DrainPolicy, FoundBy, ListenerMarker, LoadBalancerAttributes, LoadBalancerSpec,
    ObserveMode, ObserveOptions, Observed, ObservedGroup, ObservedListener, ObservedLoadBalancer, Owner, PlanOptions,
    PortSpec, ServiceBinding,
};
use ack_net_slb::{
    Backend, InstanceSpec, ListenerBackend, ListenerPortAndProtocol, ListenerStatus, LoadBalancer, LoadBalancerId,
    SlbClient, VServerGroupId,
};
use criterion::{criterion_group, criterion_main, Criterion};

const PORTS: [u16; 4] = [80, 443, 8080, 9000];
const BACKENDS: usize = 5_000;

fn pod(i: usize, port: u16) -> Backend {
    let ip = format!("10.{}.{}.{}", 1 + i / 62_500, (i / 250) % 250, i % 250 + 1);
    Backend::eni(&format!("eni-bp1node{:04}", i / 30).parse().expect("eni id"), ip.parse().expect("ip"), port)
}

fn spec() -> LoadBalancerSpec {
    let mut s = LoadBalancerSpec::create(
        Owner::new("c-bench", "default/web"),
        LoadBalancerAttributes::internet(InstanceSpec::S3Large).name("web"),
    );
    for p in PORTS {
        s = s.port(PortSpec::tcp(p, (0..BACKENDS).map(|i| pod(i, 8000 + p % 1000)).collect()));
    }
    s
}

/// The cloud as it holds `spec`, then changed in 1% of each group: 20 weights changed, 15
/// backends gone (to add) and 15 extra (to remove).
fn drifted(spec: &LoadBalancerSpec, mode: ObserveMode) -> Observed {
    let owner = spec.owner.id();
    let tags: Vec<serde_json::Value> =
        spec.owner.tags().iter().map(|t| serde_json::json!({"TagKey": t.key, "TagValue": t.value})).collect();
    let mut attributes: LoadBalancer = serde_json::from_value(serde_json::json!({
        "LoadBalancerId": "lb-bench", "LoadBalancerName": "web", "LoadBalancerStatus": "active",
        "Address": "47.96.0.1", "AddressType": "internet", "LoadBalancerSpec": "slb.s3.large",
        "InstanceChargeType": "PayBySpec", "DeleteProtection": "off",
        "ModificationProtectionStatus": "NonProtection", "Tags": {"Tag": tags}
    }))
    .expect("load balancer");
    let mut listeners = Vec::new();
    let mut groups = BTreeMap::new();
    for p in &spec.ports {
        let gid: VServerGroupId = format!("rsp-bench{}", p.port()).parse().expect("id");
        let fp = fingerprint(&p.listener);
        let marker = ListenerMarker { owner: owner.clone(), fingerprint: fp, group: Some(gid.clone()) }.render();
        let mut full = p.listener.clone();
        full.backend = Some(ListenerBackend::VServerGroup(gid.clone()));
        full.description = Some(marker.clone());
        let full = full.normalized();
        attributes.listeners.push(ListenerPortAndProtocol {
            port: p.port(),
            protocol: full.listener_protocol(),
            forward_port: None,
            description: Some(marker.clone()),
        });
        let full_mode = mode == ObserveMode::Full;
        listeners.push(ObservedListener {
            port: p.port(),
            protocol: full.listener_protocol(),
            description: Some(marker),
            forward_port: None,
            spec: full_mode.then_some(full),
            status: full_mode.then_some(ListenerStatus::Running),
        });
        let mut backends: Vec<Backend> = p
            .backends
            .iter()
            .map(|b| Backend { description: Some(owner.backend_description(None)), ..b.clone() })
            .collect();
        for b in backends.iter_mut().step_by(BACKENDS / 20).take(20) {
            b.weight = 50;
        }
        backends.truncate(BACKENDS - 15);
        backends.extend((0..15).map(|i| Backend {
            description: Some(owner.backend_description(None)),
            ..pod(BACKENDS + i, p.backends[0].port)
        }));
        groups.insert(gid.clone(), ObservedGroup { id: gid, port: p.port(), backends: Some(backends) });
    }
    Observed {
        mode,
        load_balancer: Some(ObservedLoadBalancer {
            attributes,
            found_by: FoundBy::RememberedId,
            listeners,
            groups,
            groups_listed: mode == ObserveMode::Full,
            health: None,
        }),
        reads: 0,
    }
}

fn options() -> PlanOptions {
    PlanOptions::default().with_group_quota(10_000)
}

fn bench_plan(c: &mut Criterion) {
    let spec = spec();
    let full = drifted(&spec, ObserveMode::Full);
    let fast = drifted(&spec, ObserveMode::Fast);
    let plan = plan_with(&spec, &full, &options()).expect("plan");
    eprintln!(
        "plan 4 ports x {BACKENDS} backends, 1% drift: {} steps, {} calls {:?}",
        plan.steps.len(),
        plan.writes(),
        plan.calls_by_action()
    );
    c.bench_function("binding plan 4x5000 backends, 1% drift (full observation)", |b| {
        b.iter(|| plan_with(black_box(&spec), black_box(&full), &options()).expect("plan"))
    });
    // The same, with each group listed in another order than the spec's (no position-by-
    // position match: every backend goes through the index).
    let mut shuffled = full.clone();
    for g in shuffled.load_balancer.as_mut().expect("lb").groups.values_mut() {
        if let Some(b) = g.backends.as_mut() {
            b.reverse();
        }
    }
    c.bench_function("binding plan 4x5000 backends, 1% drift (full observation, groups in another order)", |b| {
        b.iter(|| plan_with(black_box(&spec), black_box(&shuffled), &options()).expect("plan"))
    });
    c.bench_function("binding plan 4x5000 backends, 1% drift (fast observation)", |b| {
        b.iter(|| plan_with(black_box(&spec), black_box(&fast), &options()).expect("plan"))
    });
}

struct MockEnv {
    mock: MockCloud,
    slb: SlbClient,
    stats: CallStats,
    instances: Vec<ack_net_slb::InstanceId>,
}

async fn mock_env() -> MockEnv {
    let mock = MockCloud::builder().seed(3).start().await.expect("mock");
    let stats = CallStats::new();
    let rpc = mock.client_builder().observer(stats.clone()).build().expect("client");
    let instances = mock.scenario().backends(10).build().expect("the scenario").instance_ids();
    MockEnv { mock, slb: SlbClient::new(rpc), stats, instances }
}

impl MockEnv {
    fn binding(&self, ports: usize, n: usize) -> ServiceBinding {
        let mut s = LoadBalancerSpec::create(
            Owner::new("c-bench", "default/web"),
            LoadBalancerAttributes::internet(InstanceSpec::S1Small),
        );
        for p in 0..ports {
            let backends = (0..n)
                .map(|i| {
                    Backend::ecs(&self.instances[i % self.instances.len()], 8000 + (i / self.instances.len()) as u16)
                })
                .collect();
            s = s.port(PortSpec::tcp(80 + p as u16, backends));
        }
        ServiceBinding::builder(s)
            .slb(self.slb.clone())
            .plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
            .build()
            .expect("spec")
    }
}

/// Runs the counted operations once and prints their calls.
async fn count_calls() -> (MockEnv, ServiceBinding, LoadBalancerId) {
    let env = mock_env().await;
    let (p, n) = (4usize, 45usize);
    let b = env.binding(p, n);
    env.stats.reset();
    let r = b.reconcile(None).await.expect("create");
    let lb = r.load_balancer_id().cloned().expect("lb");
    eprintln!(
        "first creation, P={p} ports x N={n} backends: {} calls (bound 1 + P x (3 + ceil(N/20)) = {})",
        env.stats.total(),
        1 + p * (3 + n.div_ceil(20))
    );
    env.stats.reset();
    let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.expect("observe");
    let plan = b.plan(&o).expect("plan");
    b.apply(&plan).await.expect("apply");
    eprintln!(
        "converged check (fast): {} reads, {} writes (bound 1 + P = {} reads, 0 writes)",
        env.stats.reads(),
        env.stats.writes(),
        1 + p
    );
    env.stats.reset();
    let o = b.observe_with(Some(&lb), &ObserveOptions::full()).await.expect("observe");
    assert!(b.plan(&o).expect("plan").is_empty());
    eprintln!("converged check (full): {} reads, 0 writes", env.stats.reads());
    let mut changed = b.spec().clone();
    changed.ports[0].backends[3].weight = 7;
    let one = ServiceBinding::builder(changed).slb(env.slb.clone()).build().expect("spec");
    env.stats.reset();
    let o = one.observe_with(Some(&lb), &ObserveOptions::fast()).await.expect("observe");
    one.apply(&one.plan(&o).expect("plan")).await.expect("apply");
    eprintln!("one backend changed: {} writes ({} reads)", env.stats.writes(), env.stats.reads());
    b.reconcile(Some(&lb)).await.expect("back");
    (env, b, lb)
}

fn bench_mock(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (env, b, lb) = rt.block_on(count_calls());
    c.bench_function("binding converged check against the mock (fast: observe + plan, 4 ports x 45)", |bench| {
        bench.to_async(&rt).iter(|| async {
            let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.expect("observe");
            assert!(b.plan(&o).expect("plan").is_empty());
        })
    });
    drop(env.mock);
}

criterion_group!(benches, bench_plan, bench_mock);
criterion_main!(benches);
