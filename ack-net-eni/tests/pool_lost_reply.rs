//! Lost replies: the mock runs the call and then loses its answer (the `lost` fault), the
//! thing ClientTokens exist for. Every mutating call of the pool survives it: a retry makes no
//! second ENI and no second address, nothing leaks, and the cloud ends up holding exactly
//! what the pool holds. An ENI whose creation answer never arrived is deleted by GC.

mod pool_support;

use ack_net_core::ErrorInfo;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ack_net_core::ErrorClass;
use ack_net_eni::pool::{IpStack, MemoryStore};
use ack_net_mock::FaultSpec;
use pool_support::*;

/// Every call the pool makes that changes the cloud.
const MUTATING: &[&str] = &[
    "CreateNetworkInterface",
    "AttachNetworkInterface",
    "AssignPrivateIpAddresses",
    "AssignIpv6Addresses",
    "UnassignPrivateIpAddresses",
    "UnassignIpv6Addresses",
    "DetachNetworkInterface",
    "DeleteNetworkInterface",
];

/// Grows a dual-stack pool with a burst, shrinks it (unassigning, detaching and deleting
/// ENIs) while `action` loses replies, then checks the outcome.
async fn survives(action: &str, seed: u64) {
    eprintln!("losing replies of {action}");
    let w = world_with(
        "ecs.c7.2xlarge",
        seed,
        Duration::from_millis(20),
        &[("192.168.1.0/24", true), ("192.168.2.0/24", true)],
    )
    .await;
    let store = MemoryStore::new();
    let pool = w.start(w.config().stack(IpStack::DualStack).warm_band(0, 2), Arc::new(store.clone())).await.unwrap();
    // The first reply surely lost, then one in five.
    w.mock.lose_next_replies(action, 1);
    w.mock.set_fault(action, FaultSpec::none().with_lost_reply(0.2)).unwrap();
    grow_and_shrink(&pool, action).await;
    w.mock.clear_faults();

    let lost = w.mock.calls_of(action).iter().filter(|c| c.reply_lost).count();
    assert!(lost > 0, "{action}: no reply was lost, the path was not exercised");
    // Without any GC: no second ENI, no stray address; every journal intent settled.
    w.assert_cloud_matches(&pool);
    assert!(store.snapshot().intents.is_empty(), "{action}: {:?}", store.snapshot().intents);
    let report = pool.gc(["ns/44"]).await.unwrap();
    assert!(report.deleted_enis.is_empty(), "{action}: GC found leaked ENIs: {report:?}");
    w.assert_cloud_matches(&pool);
}

/// 45 pods at once, then all but one gone.
async fn grow_and_shrink(pool: &ack_net_eni::pool::IpPool, action: &str) {
    let tasks: Vec<_> = (0..45)
        .map(|i| {
            let p = pool.clone();
            tokio::spawn(async move { p.allocate(&format!("ns/{i}")).await })
        })
        .collect();
    let mut given = BTreeSet::new();
    for t in tasks {
        let a = t.await.unwrap().unwrap_or_else(|e| panic!("{action}: allocate failed: {e}"));
        assert!(given.insert(a.ipv4), "{action}: {} given twice", a.ipv4);
    }
    settle(pool).await;
    let grown = pool.enis().len();
    for i in 0..44 {
        pool.release(&format!("ns/{i}")).await.unwrap();
    }
    settle(pool).await;
    assert!(pool.enis().len() < grown, "{action}: the pool shrank ({grown} ENIs before)");
}

/// Runs GC (no live pods) until it deletes something, at most three times `grace` apart.
async fn gc_until_deleted(pool: &ack_net_eni::pool::IpPool, grace: Duration) -> Vec<ack_net_eni::EniId> {
    for _ in 0..3 {
        let deleted = pool.gc(Vec::<String>::new()).await.unwrap().deleted_enis;
        if !deleted.is_empty() {
            return deleted;
        }
        tokio::time::sleep(grace).await;
    }
    Vec::new()
}

#[tokio::test]
async fn every_mutating_call_of_the_pool_survives_lost_replies() {
    for (i, action) in MUTATING.iter().enumerate() {
        survives(action, 100 + i as u64).await;
    }
}

/// The answer to CreateNetworkInterface never arrives, whatever the retries: the pool gives
/// up on each ENI the cloud did create (it tries again with new tokens). Restarted on its
/// journal, it finds them by their owner tags with no open intent, and GC deletes them all.
#[tokio::test]
async fn gc_deletes_the_enis_whose_creation_answers_were_lost() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let config = w.config().warm_band(0, 2).allocate_timeout(Duration::from_secs(1));
    let pool = w.start(config, Arc::new(store.clone())).await.unwrap();
    w.mock.set_fault("CreateNetworkInterface", FaultSpec::none().with_lost_reply(1.0)).unwrap();
    let e = pool.allocate("ns/a").await.unwrap_err();
    assert!(matches!(e.class(), ErrorClass::Transport | ErrorClass::Timeout), "a lost answer, not a refusal: {e:?}");
    assert!(pool.enis().is_empty(), "the pool never learnt of them");
    // The creations still in flight when `allocate` gave up settle their intents as they give
    // up too; a pool dropped before that would be a crash mid-creation (whose ENI a restart
    // rightly adopts), not this story. Bounded: 100 looks, 50 ms apart.
    for _ in 0..100 {
        if store.snapshot().intents.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.snapshot().intents.is_empty(), "the pool settles every creation it gave up on");
    drop(pool);
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.mock.clear_faults();
    let created: BTreeSet<String> = w.pool_enis(POOL).into_iter().map(|e| e.0).collect();
    assert!(!created.is_empty(), "the creations took effect");
    assert!(w.pool_enis(POOL).iter().all(|e| e.1 == "Available"));

    let grace = Duration::from_millis(100);
    let pool = w.start(w.config().warm_band(0, 0).gc_grace(grace, grace), Arc::new(store.clone())).await.unwrap();
    assert!(pool.enis().is_empty(), "no intent explains them: not adopted");
    tokio::time::sleep(grace + Duration::from_millis(50)).await;
    let deleted = gc_until_deleted(&pool, grace).await;
    assert_eq!(deleted.iter().map(ToString::to_string).collect::<BTreeSet<_>>(), created);
    assert_eq!(w.count("DeleteNetworkInterface"), created.len() as u64);
    pool.allocate("ns/a").await.unwrap();
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
}

/// The node crashes while the answer to CreateNetworkInterface is on its way (the call took
/// effect) and comes back without its journal: the ENI is an orphan to GC, deleted once.
#[tokio::test]
async fn gc_deletes_the_orphan_of_a_crash_during_creation() {
    let w = world("ecs.g7.large").await;
    w.mock
        .set_fault("CreateNetworkInterface", FaultSpec::none().with_lost_reply_hang(1.0, Duration::from_secs(60)))
        .unwrap();
    let pool = w.start(w.config().warm_band(0, 2), Arc::new(MemoryStore::new())).await.unwrap();
    let p = pool.clone();
    let pending = tokio::spawn(async move { p.allocate("ns/a").await });
    eventually(10, "the creation to take effect", || {
        w.mock.calls_of("CreateNetworkInterface").iter().any(|c| c.reply_lost)
    })
    .await;
    pending.abort();
    drop(pool);
    w.mock.clear_faults();
    let orphan = w.pool_enis(POOL);
    assert_eq!(orphan.len(), 1);

    let grace = Duration::from_millis(100);
    let config = w.config().warm_band(0, 0).gc_grace(grace, grace);
    let pool = w.start(config, Arc::new(MemoryStore::new())).await.unwrap();
    assert!(pool.enis().is_empty(), "an ENI no journal explains is not adopted");
    tokio::time::sleep(grace + Duration::from_millis(50)).await;
    let deleted = gc_until_deleted(&pool, grace).await;
    assert_eq!(deleted.iter().map(ToString::to_string).collect::<Vec<_>>(), vec![orphan[0].0.clone()]);
    assert!(w.pool_enis(POOL).is_empty());
    w.assert_cloud_matches(&pool);
}
