//! `LeaderElector` against a fake Kubernetes API that keeps Leases with optimistic
//! concurrency, on a paused clock: one leader at a time, hand-over on release, take-over
//! after a crash only once the lease has expired, the work stopped when leadership is lost.

mod service_common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ack_net_k8s::leader::{LeaderElector, LeaderError, LeaseConfig, LeaseState};
use serde_json::json;
use service_common::{FakeApi, Kind};
use tokio::time::Instant;

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig::new("kube-system", "ack-net", identity)
}

fn elector(api: &FakeApi, identity: &str) -> Arc<LeaderElector> {
    Arc::new(LeaderElector::new(api.client(), config(identity)).expect("valid config"))
}

fn holder(api: &FakeApi) -> Option<String> {
    api.get(Kind::Lease, "kube-system", "ack-net").and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_owned))
}

/// Work that counts its ticks until it is stopped.
async fn ticking(ticks: Arc<AtomicU32>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ticks.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn one_leader_at_a_time_and_a_hand_over_on_release() {
    let api = FakeApi::new();
    let a = elector(&api, "pod-a");
    let b = elector(&api, "pod-b");

    assert_eq!(a.try_acquire_or_renew().await.expect("api"), LeaseState::Leader);
    assert_eq!(holder(&api).as_deref(), Some("pod-a"));
    let lease = api.get(Kind::Lease, "kube-system", "ack-net").expect("lease");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(lease["spec"]["leaseTransitions"], 0);

    // A renews; B is a follower as long as A renews, however long that is.
    let a_work = {
        let a = a.clone();
        tokio::spawn(async move { a.run(tokio::time::sleep(Duration::from_secs(120))).await })
    };
    let b_ticks = Arc::new(AtomicU32::new(0));
    let b_run = {
        let (b, ticks) = (b.clone(), b_ticks.clone());
        tokio::spawn(async move { b.run(ticking(ticks)).await })
    };
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert!(a.is_leader() && !b.is_leader());
    assert_eq!(b_ticks.load(Ordering::SeqCst), 0, "B worked while A led");
    assert_eq!(holder(&api).as_deref(), Some("pod-a"));

    // A's work ends: it gives the Lease up and B takes over at its next try, not after
    // the lease duration.
    let ended = Instant::now() + Duration::from_secs(20);
    assert!(a_work.await.expect("task").is_ok());
    assert!(!a.is_leader());
    while holder(&api).as_deref() != Some("pod-b") {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(Instant::now() <= ended + Duration::from_secs(3), "B waited for the lease to expire");
    let lease = api.get(Kind::Lease, "kube-system", "ack-net").expect("lease");
    assert_eq!(lease["spec"]["leaseTransitions"], 0, "a released lease is taken, not a transition");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(b.is_leader() && b_ticks.load(Ordering::SeqCst) >= 4);
    b_run.abort();
}

#[tokio::test(start_paused = true)]
async fn a_crashed_leader_is_replaced_only_after_the_lease_expires() {
    let api = FakeApi::new();
    let a = elector(&api, "pod-a");
    let b = elector(&api, "pod-b");
    let a_run = {
        let a = a.clone();
        tokio::spawn(async move { a.run(std::future::pending::<()>()).await })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(holder(&api).as_deref(), Some("pod-a"));

    // A crashes: no release, no more renewals.
    a_run.abort();
    let crashed = Instant::now();
    let b_run = {
        let b = b.clone();
        tokio::spawn(async move { b.run(std::future::pending::<()>()).await })
    };
    while holder(&api).as_deref() != Some("pod-b") {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waited = Instant::now() - crashed;
    assert!(waited >= Duration::from_secs(15), "took over after {waited:?}, before the lease expired");
    assert!(waited <= Duration::from_secs(15 + 3), "took over only after {waited:?}");
    let lease = api.get(Kind::Lease, "kube-system", "ack-net").expect("lease");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    b_run.abort();
}

#[tokio::test(start_paused = true)]
async fn losing_the_lease_stops_the_work() {
    let api = FakeApi::new();
    let a = elector(&api, "pod-a");
    let ticks = Arc::new(AtomicU32::new(0));
    let a_run = {
        let (a, ticks) = (a.clone(), ticks.clone());
        tokio::spawn(async move { a.run(ticking(ticks)).await })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(a.is_leader());

    // Someone else writes the Lease (another replica with a skewed view, an operator).
    let mut lease = api.get(Kind::Lease, "kube-system", "ack-net").expect("lease");
    lease["spec"]["holderIdentity"] = json!("pod-z");
    api.put(Kind::Lease, lease);
    let outcome = tokio::time::timeout(Duration::from_secs(5), a_run).await.expect("stopped").expect("task");
    assert!(matches!(outcome, Err(LeaderError::Lost { .. })), "{outcome:?}");
    assert!(!a.is_leader());
    let stopped_at = ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), stopped_at, "the work went on after leadership was lost");
    assert_eq!(holder(&api).as_deref(), Some("pod-z"));
}

#[tokio::test]
async fn bad_configurations_are_refused_before_any_call() {
    let api = FakeApi::new();
    let bad = config("pod-a").renew_deadline(Duration::from_secs(30));
    assert!(matches!(
        LeaderElector::new(api.client(), bad),
        Err(LeaderError::InvalidConfig { what: "renew_deadline", .. })
    ));
    assert!(matches!(
        LeaderElector::new(api.client(), LeaseConfig::new("kube-system", "", "pod-a")),
        Err(LeaderError::InvalidConfig { what: "name", .. })
    ));
    assert!(api.take_requests().is_empty());
}
