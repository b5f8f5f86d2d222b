//! `PodNetworkReconciler` benchmarks against ack-net-mock and the fake Kubernetes API of the
//! tests: reconciling a pod that is already converged (the steady state of every resync),
//! a new pod on a warm pool followed by its deletion, and a cold burst of new pods on an
//! empty pool, with the cloud calls and Kubernetes writes each makes.
//!
//! `cargo bench -p ack-net-k8s --bench pod_network -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/service_common/mod.rs"]
mod service_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_eni::pool::MemoryStore;
use ack_net_k8s::pod::PodNetworkReconciler;
use criterion::{criterion_group, criterion_main, Criterion};
use k8s_openapi::api::core::v1::Pod;
use service_common::{pod, pool_world, FakeApi, Kind};

const NODE: &str = "node-1";
const BURST: usize = 10;

fn pod_in(api: &FakeApi, name: &str) -> Arc<Pod> {
    Arc::new(serde_json::from_value(api.get(Kind::Pod, "default", name).expect("pod")).expect("pod"))
}

fn bench_reconcile(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (world, api, ctx) = rt.block_on(async {
        let world = pool_world(NODE).await;
        let pool = world.pool(world.config().warm_band(4, 8), Arc::new(MemoryStore::new())).await;
        let api = FakeApi::new();
        let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool, NODE));
        (world, api, ctx)
    });

    // The steady state: a pod holding its address, annotated.
    api.put(Kind::Pod, pod("steady", NODE));
    rt.block_on(PodNetworkReconciler::reconcile(pod_in(&api, "steady"), ctx.clone())).expect("reconcile");
    let steady = pod_in(&api, "steady");
    rt.block_on(async {
        while !ctx.pool().is_quiet() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    world.stats.reset();
    api.take_requests();
    let mut runs = 0u64;
    c.bench_function("pod network: reconcile a converged pod", |b| {
        b.to_async(&rt).iter(|| {
            runs += 1;
            PodNetworkReconciler::reconcile(steady.clone(), ctx.clone())
        })
    });
    println!(
        "pod network: converged reconcile: {runs} runs, {} cloud calls, {} Kubernetes writes",
        world.stats.total(),
        api.take_requests().len()
    );

    // A new pod on a warm pool, then its deletion: one allocation from memory, one write.
    api.put(Kind::Pod, pod("churn", NODE));
    let churn = pod_in(&api, "churn");
    world.stats.reset();
    let mut runs = 0u64;
    c.bench_function("pod network: a new pod on a warm pool, then its deletion", |b| {
        b.to_async(&rt).iter(|| {
            runs += 1;
            let (ctx, churn) = (ctx.clone(), churn.clone());
            async move {
                PodNetworkReconciler::reconcile(churn.clone(), ctx.clone()).await.expect("reconcile");
                ctx.release(&churn).await.expect("release");
            }
        })
    });
    println!(
        "pod network: new pod + deletion on a warm pool: {runs} runs, {} cloud calls, {} Kubernetes writes",
        world.stats.total(),
        api.take_requests().len()
    );
}

/// A cold burst: an empty pool, then BURST pods (an ecs.g7.large holds 12) reconciled at once; printed, not sampled
/// (each run needs a new cloud).
fn bench_cold_burst(_c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let world = pool_world(NODE).await;
        let pool = world.pool(world.config(), Arc::new(MemoryStore::new())).await;
        let api = FakeApi::new();
        let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool, NODE));
        let pods: Vec<Arc<Pod>> = (0..BURST)
            .map(|i| {
                let name = format!("burst-{i}");
                api.put(Kind::Pod, pod(&name, NODE));
                pod_in(&api, &name)
            })
            .collect();
        world.stats.reset();
        let started = Instant::now();
        let runs: Vec<_> =
            pods.into_iter().map(|p| tokio::spawn(PodNetworkReconciler::reconcile(p, ctx.clone()))).collect();
        for r in runs {
            r.await.expect("task").expect("reconcile");
        }
        println!(
            "pod network: cold burst of {BURST} pods (20 ms per ENI state change in the mock): {:.0?}, {} cloud calls, {} Kubernetes writes\n{}",
            started.elapsed(),
            world.stats.total(),
            api.take_requests().len(),
            world.stats
        );
    });
}

criterion_group!(benches, bench_reconcile, bench_cold_burst);
criterion_main!(benches);
