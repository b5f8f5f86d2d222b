//! IpPool benchmarks against the embedded mock:
//!
//! - `pool/warm_allocate_release`: one allocate + release from a warm pool (in memory, one
//!   journal write each, no cloud call); also prints mean and p99 over 100,000 cycles;
//! - `pool/cold_burst_60`: an empty pool on an instance with 3 secondary ENIs of 20
//!   addresses, 60 concurrent allocations, mock latency 100 ms per call and 1 s attach;
//!   prints the time and the API calls;
//! - `pool/steady_churn_10k`: 10,000 allocate/release cycles at a steady pod count inside
//!   the warm band; asserts and prints that no API call was made.
//!
//! `cargo bench -p ack-net-eni --bench pool -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_core::CallStats;
use ack_net_eni::pool::{EcsPoolCloud, IpPool, MemoryStore, PoolConfig, PoolOwner};
use ack_net_eni::WaitPolicy;
use ack_net_mock::{FaultSpec, MockCloud};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;

struct Setup {
    mock: MockCloud,
    stats: CallStats,
    pool: IpPool,
}

/// A mock with a VPC, a /20 VSwitch, a security group and an `ecs.c7.2xlarge` instance (4
/// ENIs of 20 addresses), and a started pool with `config` applied.
async fn setup(attach: Duration, latency: Option<Duration>, config: impl FnOnce(PoolConfig) -> PoolConfig) -> Setup {
    let mock = MockCloud::builder().seed(1).ecs_delays(attach, Duration::from_millis(100)).start().await.unwrap();
    let stats = CallStats::new();
    let rpc = mock.client_builder().observer(stats.clone()).build().unwrap();
    let world = mock
        .scenario()
        .vpc("10.0.0.0/8")
        .vswitch("cn-hangzhou-h", "10.1.0.0/20")
        .security_group("pods")
        .instances(1, "ecs.c7.2xlarge")
        .build()
        .unwrap();
    let instance = world.instances[0].instance_id.clone();
    let (vsw, sg) = (&world.vswitch_ids[0], world.security_group_id.unwrap().parse().unwrap());
    let base = PoolConfig::new(
        PoolOwner { cluster_id: "c-bench".into(), pool_id: "bench".into() },
        instance,
        "ecs.c7.2xlarge".parse().unwrap(),
    )
    .vswitch(vsw.parse().unwrap())
    .security_group(sg)
    .cooldown(Duration::ZERO);
    let (cloud, capacity) = EcsPoolCloud::new(rpc).into_arcs();
    if let Some(l) = latency {
        mock.set_fault("*", FaultSpec::latency(l)).unwrap();
    }
    let pool = IpPool::builder(config(base))
        .cloud(cloud)
        .capacity(capacity)
        .store(Arc::new(MemoryStore::new()))
        .start()
        .await
        .unwrap();
    Setup { mock, stats, pool }
}

/// Waits until the pool is quiet with `idle` addresses ready.
async fn warm(pool: &IpPool, idle: u32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(pool.metrics().idle >= idle && pool.is_quiet() && pool.plan().is_empty()) {
        assert!(tokio::time::Instant::now() < deadline, "the pool did not warm up: {:?}", pool.metrics());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A warm pool with `idle` addresses ready inside the warm band `[5, 40]`.
fn warm_pool(rt: &Runtime, idle: u32) -> Setup {
    rt.block_on(async {
        let s = setup(Duration::from_millis(50), None, |c| c.warm_band(5, 40)).await;
        // Grow to `idle` addresses, then give them all back: idle stays in the band.
        let pods: Vec<String> = (0..idle).map(|i| format!("warmup/{i}")).collect();
        let tasks: Vec<_> = pods
            .iter()
            .map(|p| {
                let pool = s.pool.clone();
                let p = p.clone();
                tokio::spawn(async move { pool.allocate(&p).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        for p in &pods {
            s.pool.release(p).await.unwrap();
        }
        warm(&s.pool, idle).await;
        s
    })
}

fn warm_allocate_release(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = warm_pool(&rt, 20);
    let pool = s.pool.clone();

    // Mean and p99 of the pair, measured one by one.
    let n = 100_000;
    let mut lat: Vec<Duration> = Vec::with_capacity(n);
    let calls = s.stats.total();
    rt.block_on(async {
        for _ in 0..n {
            let t = Instant::now();
            pool.allocate("ns/web-0").await.unwrap();
            pool.release("ns/web-0").await.unwrap();
            lat.push(t.elapsed());
        }
    });
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / n as u32;
    let p99 = lat[n * 99 / 100];
    let p50 = lat[n / 2];
    println!(
        "warm allocate+release over {n} cycles: mean {mean:?}, p50 {p50:?}, p99 {p99:?}, max {:?}; API calls {}",
        lat[n - 1],
        s.stats.total() - calls
    );

    c.bench_function("pool/warm_allocate_release", |b| {
        b.to_async(&rt).iter(|| async {
            pool.allocate("ns/web-0").await.unwrap();
            pool.release("ns/web-0").await.unwrap();
        })
    });
    let m = pool.metrics();
    println!("pool metrics: allocation latency {:?}", m.allocation_latency);
}

fn cold_burst(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("pool");
    group.sample_size(10);
    let mut reported = false;
    group.bench_function("cold_burst_60", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = rt.block_on(setup(Duration::from_secs(1), Some(Duration::from_millis(100)), |c| {
                    c.warm_band(0, 60).wait_policy(
                        WaitPolicy::new(Duration::from_secs(30))
                            .with_backoff(Duration::from_millis(100), Duration::from_millis(400)),
                    )
                }));
                s.stats.reset();
                let t = Instant::now();
                rt.block_on(async {
                    let tasks: Vec<_> = (0..60)
                        .map(|i| {
                            let pool = s.pool.clone();
                            tokio::spawn(async move { pool.allocate(&format!("burst/{i}")).await.unwrap() })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
                let took = t.elapsed();
                total += took;
                if !reported {
                    reported = true;
                    let calls = s.stats.snapshot();
                    let n: u64 = calls.values().map(|c| c.attempts).sum();
                    println!(
                        "cold burst: 60 pods in {took:?}, {n} API calls ({:.2} per pod): {:?}",
                        n as f64 / 60.0,
                        calls.iter().map(|(k, v)| (k.clone(), v.attempts)).collect::<Vec<_>>()
                    );
                }
                drop(s);
            }
            total
        })
    });
    group.finish();
}

fn steady_churn(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = warm_pool(&rt, 30);
    let pool = s.pool.clone();
    // A steady 10 pods: each cycle one leaves and another comes.
    rt.block_on(async {
        for i in 0..10 {
            pool.allocate(&format!("steady/{i}")).await.unwrap();
        }
    });
    let mut next = 10u64;
    let mut group = c.benchmark_group("pool");
    group.sample_size(10);
    let before_mock: u64 = s.mock.counters().values().map(|c| c.total).sum();
    let before = s.stats.total();
    group.bench_function("steady_churn_10k", |b| {
        b.to_async(&rt).iter(|| {
            let pool = pool.clone();
            let start = next;
            next += 10_000;
            async move {
                for i in start..start + 10_000 {
                    pool.release(&format!("steady/{}", i - 10)).await.unwrap();
                    pool.allocate(&format!("steady/{i}")).await.unwrap();
                }
            }
        })
    });
    group.finish();
    let after_mock: u64 = s.mock.counters().values().map(|c| c.total).sum();
    let calls = s.stats.total() - before;
    println!(
        "steady churn: {} cycles, {calls} API calls (mock saw {}), pool {:?}",
        next - 10,
        after_mock - before_mock,
        pool.metrics()
    );
    assert_eq!(calls, 0, "steady churn inside the warm band makes no API call");
}

criterion_group!(benches, warm_allocate_release, cold_burst, steady_churn);
criterion_main!(benches);
