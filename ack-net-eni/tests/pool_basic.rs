//! IpPool against the mock: warm path, cold burst, quotas, shrinking, modes, bad config.

mod pool_support;

use ack_net_core::ErrorInfo;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::{ExhaustedReason, IpStack, MemoryStore, PoolError, PoolMode, Released};
use pool_support::*;

#[tokio::test]
async fn warm_allocation_is_idempotent_and_makes_no_call() {
    let w = world("ecs.g7.large").await;
    let pool = w.start(w.config().warm_band(2, 4), Arc::new(MemoryStore::new())).await.unwrap();
    eventually(10, "2 idle", || pool.metrics().idle >= 2).await;
    settle(&pool).await;
    let calls = w.stats.total();
    let a = pool.allocate("ns/a").await.unwrap();
    let again = pool.allocate("ns/a").await.unwrap();
    assert_eq!(a, again, "the same pod gets the same address");
    let b = pool.allocate("ns/b").await.unwrap();
    assert_ne!(a.ipv4, b.ipv4);
    assert_eq!(w.stats.total(), calls, "warm allocations make no call");
    assert_eq!(pool.release("ns/a").await.unwrap(), Released::Released(a.ipv4));
    assert_eq!(pool.release("ns/a").await.unwrap(), Released::NotHeld);
    assert!(matches!(pool.allocate("").await, Err(PoolError::InvalidInput { .. })));
    settle(&pool).await;
    let m = pool.metrics();
    assert_eq!(m.in_use, 1);
    assert!(m.idle >= 2 && m.idle <= 4, "{m:?}");
    assert!(m.allocation_latency.count >= 3);
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn cold_burst_batches_and_prepares_enis_concurrently() {
    let w = world("ecs.c7.2xlarge").await;
    let config = w.config().warm_band(0, 60).vswitches(w.vswitches.clone());
    let pool = w.start(config, Arc::new(MemoryStore::new())).await.unwrap();
    assert_eq!((pool.policy().max_enis, pool.policy().slots_per_eni), (3, 20));
    w.stats.reset();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let p = pool.clone();
            tokio::spawn(async move { p.allocate(&format!("ns/pod-{i}")).await })
        })
        .collect();
    let mut got = BTreeSet::new();
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        assert!(got.insert(a.ipv4), "{} handed out twice", a.ipv4);
    }
    let took = started.elapsed();
    assert_eq!(got.len(), 60);
    assert_eq!(w.stats.calls("CreateNetworkInterface"), 3, "three ENIs, created at once");
    assert_eq!(w.stats.calls("AttachNetworkInterface"), 3);
    assert_eq!(w.stats.calls("AssignPrivateIpAddresses"), 3, "10 + 9 per ENI: one create, one assign");
    assert!(pool.allocate("ns/one-more").await.unwrap_err().exhausted().is_some());
    println!("60 pods in {took:?}, {} calls: {:?}", w.stats.total(), w.stats.snapshot());
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn max_pods_is_a_typed_exhaustion() {
    let w = world("ecs.g7.large").await;
    let pool = w.start(w.config().max_pods(3), Arc::new(MemoryStore::new())).await.unwrap();
    for i in 0..3 {
        pool.allocate(&format!("ns/{i}")).await.unwrap();
    }
    let e = pool.allocate("ns/3").await.unwrap_err();
    assert_eq!(e.exhausted(), Some(&ExhaustedReason::IpQuota), "{e}");
    pool.release("ns/0").await.unwrap();
    pool.allocate("ns/3").await.unwrap();
}

/// Fills a VSwitch behind the pool's back: an ENI of another owner with `n` addresses.
async fn consume(w: &World, vswitch: usize, n: u32) -> ack_net_eni::NetworkInterface {
    let ecs = ack_net_eni::EcsClient::new(w.rpc.clone());
    let mut req = ecs.network_interfaces().create(&w.vswitches[vswitch]).security_group(&w.sg);
    if n > 1 {
        req = req.secondary_ip_count(n - 1);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_full_vswitch_is_set_aside_and_the_next_one_used() {
    // A /29 offers 4 addresses.
    let cidrs = [("192.168.1.0/29", false), ("192.168.2.0/24", false)];
    for mode in [PoolMode::Shared, PoolMode::Exclusive] {
        let w = world_with("ecs.g7.large", 3, Duration::from_millis(20), &cidrs).await;
        let config = w
            .config()
            .mode(mode)
            .warm_band(0, 0)
            .vswitches(w.vswitches.clone())
            .vswitch_selection(ack_net_vpc::SelectPolicy::Ordered, Duration::from_secs(60));
        let pool = w.start(config, Arc::new(MemoryStore::new())).await.unwrap();
        let a = pool.allocate("ns/0").await.unwrap();
        assert_eq!(a.vswitch_id, w.vswitches[0]);
        // The VSwitch fills up behind the pool's back (its counts are a minute old).
        let foreign = consume(&w, 0, 3).await;
        let more = if mode == PoolMode::Exclusive { 2 } else { 4 };
        for i in 1..more {
            let a = pool.allocate(&format!("ns/{i}")).await.unwrap();
            assert_eq!(a.vswitch_id, w.vswitches[1], "{mode:?}");
        }
        let failed =
            w.mock.calls().into_iter().filter(|c| c.code.as_deref() == Some("InvalidVSwitchId.IpNotEnough")).count();
        assert_eq!(failed, 1, "{mode:?}: asked the full VSwitch once, then set it aside");
        settle(&pool).await;
        pool.gc(pool.pods()).await.unwrap();
        assert!(
            w.enis().iter().any(|e| e["NetworkInterfaceId"] == foreign.id.as_str()),
            "a foreign ENI is never touched"
        );
        w.assert_cloud_matches(&pool);
    }
}

#[tokio::test]
async fn no_vswitch_room_is_a_typed_exhaustion() {
    let w = world_with("ecs.g7.large", 4, Duration::from_millis(20), &[("192.168.1.0/29", false)]).await;
    let pool = w.start(w.config().warm_band(5, 6), Arc::new(MemoryStore::new())).await.unwrap();
    let started = std::time::Instant::now();
    let e = pool.allocate("ns/a").await.unwrap_err();
    assert_eq!(e.exhausted(), Some(&ExhaustedReason::NoVSwitchRoom), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast, not at the deadline");
    assert!(w.pool_enis(POOL).is_empty(), "nothing left behind");
}

#[tokio::test]
async fn shrinks_in_batches_and_deletes_unused_enis() {
    let w = world("ecs.c7.2xlarge").await;
    let pool = w.start(w.config().warm_band(0, 3), Arc::new(MemoryStore::new())).await.unwrap();
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let p = pool.clone();
            tokio::spawn(async move { p.allocate(&format!("ns/{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    settle(&pool).await;
    let enis = pool.metrics().enis;
    assert!(enis >= 2, "{enis}");
    for i in 0..28 {
        pool.release(&format!("ns/{i}")).await.unwrap();
    }
    settle(&pool).await;
    let m = pool.metrics();
    assert_eq!(m.in_use, 2);
    assert!(m.idle <= 3 || m.idle == m.enis, "{m:?}");
    assert!(m.enis < enis, "an unused ENI was deleted: {m:?}");
    assert!(m.api_calls.get("UnassignPrivateIpAddresses").copied().unwrap_or(0) >= 1);
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn dual_stack_pairs_every_address() {
    let w = world("ecs.g7.large").await;
    let pool =
        w.start(w.config().stack(IpStack::DualStack).warm_band(1, 3), Arc::new(MemoryStore::new())).await.unwrap();
    let a = pool.allocate("ns/a").await.unwrap();
    let b = pool.allocate("ns/b").await.unwrap();
    assert!(a.ipv6.is_some() && b.ipv6.is_some() && a.ipv6 != b.ipv6);
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn dual_stack_without_ipv6_is_refused_before_any_change() {
    let w = world("ecs.g7.large").await;
    let config = w.config().vswitch(w.vswitches[2].clone()).stack(IpStack::DualStack);
    let e = w.start(config, Arc::new(MemoryStore::new())).await.unwrap_err();
    assert!(matches!(&e, PoolError::InvalidConfig(m) if m.contains("IPv6")), "{e}");
    let e =
        w.start(w.config().stack(IpStack::DualStack).max_pods(100), Arc::new(MemoryStore::new())).await.unwrap_err();
    assert!(matches!(&e, PoolError::InvalidConfig(m) if m.contains("max_pods")), "{e}");
    // g6.large has one IPv6 address per ENI; fine. A type without IPv6 is refused.
    assert_eq!(w.count("CreateNetworkInterface"), 0);
}

#[tokio::test]
async fn exclusive_mode_gives_each_pod_its_own_eni() {
    let w = world("ecs.g7.large").await;
    let pool =
        w.start(w.config().mode(PoolMode::Exclusive).warm_band(0, 0), Arc::new(MemoryStore::new())).await.unwrap();
    let a = pool.allocate("ns/a").await.unwrap();
    let b = pool.allocate("ns/b").await.unwrap();
    assert!(a.exclusive && b.exclusive);
    assert_ne!(a.eni_id, b.eni_id);
    assert_ne!(a.mac, b.mac);
    let e = pool.allocate("ns/c").await.unwrap_err();
    assert!(e.exhausted().is_some(), "two secondary ENIs on a g7.large: {e}");
    pool.release("ns/a").await.unwrap();
    settle(&pool).await;
    assert_eq!(pool.enis(), vec![b.eni_id.clone()], "max_idle 0: the ENI is deleted");
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn throttled_past_the_deadline_is_typed() {
    let w = world("ecs.g7.large").await;
    let config = w.config().allocate_timeout(Duration::from_millis(400));
    let pool = w.start(config, Arc::new(MemoryStore::new())).await.unwrap();
    w.mock.set_fault("CreateNetworkInterface", ack_net_mock::FaultSpec::throttle(1.0)).unwrap();
    let e = pool.allocate("ns/a").await.unwrap_err();
    assert!(matches!(e, PoolError::Throttled { .. }), "{e}");
    assert_eq!(e.class(), ack_net_core::ErrorClass::Throttled);
    w.mock.clear_faults();
    // The pool recovers once the cloud stops throttling, after its growth backoff (200 ms,
    // doubling per failure), which can outlast one 400 ms deadline: until then allocations
    // keep reporting the throttling.
    let recovered_by = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match pool.allocate("ns/a").await {
            Ok(_) => break,
            Err(PoolError::Throttled { .. }) if std::time::Instant::now() < recovered_by => {}
            Err(e) => panic!("the pool did not recover: {e}"),
        }
    }
    assert!(pool.metrics().api_failures["CreateNetworkInterface"] >= 1);
}

#[tokio::test]
async fn gc_releases_gone_pods_and_deletes_orphans_after_grace() {
    let w = world("ecs.g7.large").await;
    let grace = Duration::from_millis(150);
    let config = w.config().warm_band(0, 6).gc_grace(grace, grace);
    let pool = w.start(config, Arc::new(MemoryStore::new())).await.unwrap();
    for p in ["ns/a", "ns/b", "ns/c"] {
        pool.allocate(p).await.unwrap();
    }
    // An ENI of the pool nobody explains (e.g. a creation whose answer was lost).
    let ecs = ack_net_eni::EcsClient::new(w.rpc.clone());
    let orphan = ecs
        .network_interfaces()
        .create(&w.vswitches[0])
        .security_group(&w.sg)
        .tag(ack_net_eni::Tag::new(ack_net_eni::pool::OWNER_TAG_KEY, POOL))
        .tag(ack_net_eni::Tag::new(ack_net_eni::pool::CLUSTER_TAG_KEY, CLUSTER))
        .send()
        .await
        .unwrap();
    let first = pool.gc(["ns/a"]).await.unwrap();
    assert!(first.released_pods.is_empty() && first.deleted_enis.is_empty(), "within the grace period: {first:?}");
    tokio::time::sleep(grace + Duration::from_millis(50)).await;
    let second = pool.gc(["ns/a"]).await.unwrap();
    assert_eq!(second.released_pods, vec!["ns/b".to_owned(), "ns/c".to_owned()]);
    assert_eq!(second.deleted_enis, vec![orphan.id.clone()]);
    assert_eq!(pool.pods().into_iter().collect::<Vec<_>>(), vec!["ns/a".to_owned()]);
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn pod_network_from_the_pool() {
    use ack_net_eni::pod_network::PodNetwork;
    let w = world("ecs.g7.large").await;
    let pool = w.start(w.config().stack(IpStack::DualStack), Arc::new(MemoryStore::new())).await.unwrap();
    let net = PodNetwork::setup(&pool, "ns/web-0").await.unwrap();
    assert_eq!(net.gateway4.to_string(), "192.168.1.253");
    assert_eq!(net.ipv4.prefix_len(), 24);
    assert_eq!(net.ipv6.unwrap().prefix_len(), 64);
    assert!(net.device_index.is_some_and(|i| i > 0));
    let cni = net.cni_result("eth0", Some("/var/run/netns/cni-1")).unwrap();
    assert_eq!(cni["cniVersion"], "1.0.0");
    assert_eq!(cni["ips"].as_array().unwrap().len(), 2);
    assert_eq!(cni["routes"][0]["gw"], "192.168.1.253");
    assert_eq!(PodNetwork::setup(&pool, "ns/web-0").await.unwrap(), net, "a repeated ADD");
    assert_eq!(PodNetwork::teardown(&pool, "ns/web-0").await.unwrap(), Released::Released(net.ipv4.addr()));
    assert_eq!(PodNetwork::teardown(&pool, "ns/web-0").await.unwrap(), Released::NotHeld, "a repeated DEL");
}
