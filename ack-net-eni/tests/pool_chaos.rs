//! The chaos property: against the mock with faults on (20% throttling, 5% 5xx, random
//! latency), random interleavings of allocate, release, GC and crash-and-restart (the pool
//! dropped while calls are in flight, a new one started on the same journal):
//!
//! - no address is ever held by two live pods, and a pod keeps its address across restarts;
//! - every allocate succeeds or returns a typed error (exhausted, throttled, timeout);
//! - after quiescence and GC, the cloud holds exactly the pool's ENIs and addresses.

mod pool_support;

use ack_net_core::ErrorInfo;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::{Allocation, IpPool, IpStack, MemoryStore, PoolError, PoolMode};
use ack_net_mock::FaultSpec;
use pool_support::*;
use proptest::prelude::*;
use proptest::test_runner::Config;

#[derive(Clone, Debug)]
enum Op {
    Allocate(u8),
    Release(u8),
    Gc,
    /// Start this many allocations (and a release) at once, then drop the pool after this
    /// many milliseconds, and start a new one.
    Crash(u8, u8),
    Pause(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..14).prop_map(Op::Allocate),
        4 => (0u8..14).prop_map(Op::Release),
        1 => Just(Op::Gc),
        2 => (1u8..5, 0u8..60).prop_map(|(n, ms)| Op::Crash(n, ms)),
        1 => (0u8..30).prop_map(Op::Pause),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Flavor {
    Shared,
    SharedCooldown,
    DualStack,
    Exclusive,
}

fn flavor() -> impl Strategy<Value = Flavor> {
    prop_oneof![Just(Flavor::Shared), Just(Flavor::SharedCooldown), Just(Flavor::DualStack), Just(Flavor::Exclusive)]
}

fn pod(n: u8) -> String {
    format!("ns/pod-{n}")
}

struct Run {
    w: World,
    store: MemoryStore,
    flavor: Flavor,
    min_idle: u32,
    held: BTreeMap<String, Allocation>,
    allocations: u32,
    typed_failures: u32,
    restarts: u32,
}

impl Run {
    fn config(&self) -> ack_net_eni::pool::PoolConfig {
        let c = self
            .w
            .config()
            .vswitches(self.w.vswitches[..2].to_vec())
            .warm_band(self.min_idle, self.min_idle + 2)
            .allocate_timeout(Duration::from_secs(3));
        match self.flavor {
            Flavor::Shared => c,
            Flavor::SharedCooldown => c.cooldown(Duration::from_millis(30)),
            Flavor::DualStack => c.stack(IpStack::DualStack),
            Flavor::Exclusive => c.mode(PoolMode::Exclusive),
        }
    }

    async fn start(&mut self) -> IpPool {
        for attempt in 0.. {
            match self.w.start(self.config(), Arc::new(self.store.clone())).await {
                Ok(p) => return p,
                Err(PoolError::Cloud(e)) if attempt < 100 => {
                    assert!(e.is_retryable(), "start failed for good: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("start failed: {e}"),
            }
        }
        unreachable!()
    }

    /// Records an answered allocation, checking it against every live pod.
    fn answered(&mut self, r: Result<Allocation, PoolError>) {
        match r {
            Ok(a) => {
                self.allocations += 1;
                if let Some(prev) = self.held.get(&a.pod) {
                    assert_eq!(prev.ipv4, a.ipv4, "{} changed address", a.pod);
                    assert_eq!(prev.ipv6, a.ipv6);
                }
                for (p, other) in &self.held {
                    if *p != a.pod {
                        assert_ne!(other.ipv4, a.ipv4, "{} given to {} and {}", a.ipv4, p, a.pod);
                        assert!(a.ipv6.is_none() || other.ipv6 != a.ipv6, "IPv6 given twice");
                    }
                }
                if matches!(self.flavor, Flavor::DualStack) {
                    assert!(a.ipv6.is_some());
                }
                self.held.insert(a.pod.clone(), a);
            }
            Err(PoolError::Exhausted(_) | PoolError::Timeout { .. } | PoolError::Throttled { .. }) => {
                self.typed_failures += 1;
            }
            Err(e) => panic!("an allocation failed with an unexpected error: {e:?}"),
        }
    }

    async fn run(&mut self, ops: &[Op]) {
        let mut pool = self.start().await;
        for op in ops {
            match op {
                Op::Allocate(n) => {
                    let r = pool.allocate(&pod(*n)).await;
                    self.answered(r);
                }
                Op::Release(n) => {
                    pool.release(&pod(*n)).await.expect("release");
                    self.held.remove(&pod(*n));
                }
                Op::Gc => match pool.gc(self.held.keys()).await {
                    Ok(_) => {}
                    Err(PoolError::Cloud(e)) => assert!(e.is_retryable(), "gc: {e}"),
                    Err(e) => panic!("gc: {e}"),
                },
                Op::Pause(ms) => tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await,
                Op::Crash(n, ms) => {
                    let mut tasks = Vec::new();
                    for i in 0..*n {
                        let p = pool.clone();
                        let name = pod(20 + i);
                        tasks.push(tokio::spawn(async move { p.allocate(&name).await }));
                    }
                    // Never a pod being allocated at the same time (a CNI never does both).
                    let busy: Vec<String> = (0..*n).map(|i| pod(20 + i)).collect();
                    if let Some(victim) = self.held.keys().find(|p| !busy.contains(p)).cloned() {
                        // A release whose answer is lost: the pod is gone either way.
                        let p = pool.clone();
                        self.held.remove(&victim);
                        tasks.push(tokio::spawn(async move {
                            let _ = p.release(&victim).await;
                            Err(PoolError::InvalidConfig("released".into()))
                        }));
                    }
                    tokio::time::sleep(Duration::from_millis(u64::from(*ms))).await;
                    for t in &tasks {
                        t.abort();
                    }
                    drop(pool);
                    for t in tasks {
                        match t.await {
                            Ok(Err(PoolError::InvalidConfig(_))) => {}
                            Ok(r) => self.answered(r),
                            Err(_) => {} // cancelled: the pod never got an answer
                        }
                    }
                    self.restarts += 1;
                    pool = self.start().await;
                    // Every pod keeps its address across the restart.
                    for (p, a) in self.held.clone() {
                        let again = pool.allocate(&p).await.expect("a held pod's address after a restart");
                        assert_eq!((again.ipv4, again.ipv6), (a.ipv4, a.ipv6), "{p} after restart");
                    }
                }
            }
        }

        // Quiescence: no faults, GC until nothing moves.
        self.w.mock.clear_faults();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            pool.gc(self.held.keys()).await.expect("gc without faults");
            tokio::time::sleep(Duration::from_millis(40)).await;
            if pool.is_quiet() && pool.plan().is_empty() {
                let report = pool.gc(self.held.keys()).await.expect("gc");
                if pool.is_quiet() && pool.plan().is_empty() && report.deleted_enis.is_empty() && report.adopted == 0 {
                    break;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no quiescence: {:?}", pool.metrics());
        }
        let pods = pool.pods();
        assert_eq!(pods, self.held.keys().cloned().collect(), "the pool's pods are the live pods");
        for a in self.held.values() {
            assert_eq!(pool.allocate(&a.pod).await.unwrap().ipv4, a.ipv4);
        }
        assert!(self.store.snapshot().intents.is_empty(), "intents left open: {:?}", self.store.snapshot().intents);
        self.w.assert_cloud_matches(&pool);
        let m = pool.metrics();
        assert_eq!(m.quarantined, 0, "{m:?}");
    }
}

fn chaos_case(seed: u64, flavor: Flavor, min_idle: u32, ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let w = world_with(
            "ecs.g7.large",
            seed,
            Duration::from_millis(15),
            &[("192.168.1.0/24", true), ("192.168.2.0/24", true)],
        )
        .await;
        w.mock
            .set_fault(
                "*",
                FaultSpec::throttle(0.2)
                    .with_server_error(0.05)
                    .with_latency_range(Duration::ZERO, Duration::from_millis(8)),
            )
            .unwrap();
        let mut run = Run {
            w,
            store: MemoryStore::new(),
            flavor,
            min_idle,
            held: BTreeMap::new(),
            allocations: 0,
            typed_failures: 0,
            restarts: 0,
        };
        run.run(&ops).await;
        let throttled = run.w.mock.calls().iter().filter(|c| c.code.as_deref() == Some("Throttling.User")).count();
        println!(
            "{flavor:?}: {} ops, {} allocations, {} typed failures, {} restarts, {} live pods, {} throttled calls",
            ops.len(),
            run.allocations,
            run.typed_failures,
            run.restarts,
            run.held.len(),
            throttled
        );
    });
}

proptest! {
    // 6 cases run in about 20 s in debug; POOL_CHAOS_CASES=100 for a longer hunt.
    #![proptest_config(Config {
        cases: std::env::var("POOL_CHAOS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6),
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn no_double_allocation_no_leak_under_faults_and_crashes(
        seed in any::<u64>(),
        flavor in flavor(),
        min_idle in 0u32..3,
        ops in proptest::collection::vec(op(), 25..45),
    ) {
        chaos_case(seed, flavor, min_idle, ops);
    }
}
