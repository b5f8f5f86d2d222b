//! `LeaderElector`'s timing on a paused clock, which a real API server cannot follow: a
//! hand-over at the next try (not after the lease duration), a take-over after a crash no
//! sooner than the lease's expiry and within one retry of it. So these tests keep a fake
//! Kubernetes API (Leases with optimistic concurrency) behind kube's `Client`; the same
//! behaviours, and a displaced leader stopping its work, run on a real kube-apiserver in
//! `leader_election_apiserver.rs`.

mod service_common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ack_net_k8s::leader::{LeaderElector, LeaderError, LeaseConfig, LeaseState};
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
async fn paused_clock_fake_api_one_leader_at_a_time_and_a_hand_over_at_the_next_try() {
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
async fn paused_clock_fake_api_a_crashed_leader_is_replaced_only_after_the_lease_expires() {
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

#[tokio::test]
async fn fake_api_bad_configurations_are_refused_before_any_call() {
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
