//! `LeaderElector` on a real Lease of a real kube-apiserver (`ack_net_k8s::testenv`): one
//! leader at a time, a hand-over on release, a take-over once a crashed leader's lease
//! expires, and a leader that loses its Lease stops its work. Real time with a 2 s lease;
//! the exact timing of a take-over is checked on a paused clock in `leader_election.rs`.

mod apiserver;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ack_net_k8s::leader::{LeaderElector, LeaderError, LeaseConfig, LeaseState};
use apiserver::{client, namespace, shared, until};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};

const LEASE: &str = "ack-net";

fn elector(client: &kube::Client, ns: &str, identity: &str) -> Arc<LeaderElector> {
    let cfg = LeaseConfig::new(ns, LEASE, identity)
        .lease_duration(Duration::from_secs(2))
        .renew_deadline(Duration::from_millis(1500))
        .retry_period(Duration::from_millis(200));
    Arc::new(LeaderElector::new(client.clone(), cfg).expect("valid config"))
}

async fn lease(client: &kube::Client, ns: &str) -> Lease {
    Api::<Lease>::namespaced(client.clone(), ns).get(LEASE).await.expect("the Lease")
}

async fn holder(client: &kube::Client, ns: &str) -> Option<String> {
    lease(client, ns).await.spec.and_then(|s| s.holder_identity)
}

/// Work that counts its ticks until it is stopped.
async fn ticking(ticks: Arc<AtomicU32>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ticks.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn one_leader_at_a_time_then_a_hand_over_on_release() {
    let client = client(shared().await).await;
    let ns = "leader-hand-over";
    namespace(&client, ns).await;
    let a = elector(&client, ns, "pod-a");
    let b = elector(&client, ns, "pod-b");

    assert_eq!(a.try_acquire_or_renew().await.expect("api"), LeaseState::Leader);
    assert_eq!(b.try_acquire_or_renew().await.expect("api"), LeaseState::Follower { holder: Some("pod-a".into()) });
    let spec = lease(&client, ns).await.spec.expect("spec");
    assert_eq!(spec.lease_duration_seconds, Some(2));
    assert_eq!(spec.lease_transitions, Some(0));

    // A works for 3 s (longer than the lease); B stands by and never works meanwhile.
    let a_work = {
        let a = a.clone();
        tokio::spawn(async move { a.run(tokio::time::sleep(Duration::from_secs(3))).await })
    };
    let b_ticks = Arc::new(AtomicU32::new(0));
    let b_run = {
        let (b, ticks) = (b.clone(), b_ticks.clone());
        tokio::spawn(async move { b.run(ticking(ticks)).await })
    };
    while !a_work.is_finished() {
        assert!(!(a.is_leader() && b.is_leader()), "two leaders");
        assert_eq!(b_ticks.load(Ordering::SeqCst), 0, "B worked while A led");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a_work.await.expect("task").is_ok());
    assert!(!a.is_leader());

    // A gave the Lease up: B takes it at its next try, as a take-over of a free Lease.
    assert!(until(5, || async { holder(&client, ns).await.as_deref() == Some("pod-b") }).await);
    assert!(until(5, || async { b_ticks.load(Ordering::SeqCst) >= 3 }).await);
    assert!(b.is_leader());
    assert_eq!(lease(&client, ns).await.spec.expect("spec").lease_transitions, Some(0));
    b_run.abort();
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_after_its_lease_expires_and_a_displaced_one_stops() {
    let client = client(shared().await).await;
    let ns = "leader-take-over";
    namespace(&client, ns).await;
    let a = elector(&client, ns, "pod-a");
    let b = elector(&client, ns, "pod-b");
    let a_run = {
        let a = a.clone();
        tokio::spawn(async move { a.run(std::future::pending::<()>()).await })
    };
    assert!(until(5, || async { a.is_leader() }).await);

    // A crashes: no release, no more renewals. B takes over once the lease has expired.
    a_run.abort();
    let b_ticks = Arc::new(AtomicU32::new(0));
    let b_run = {
        let (b, ticks) = (b.clone(), b_ticks.clone());
        tokio::spawn(async move { b.run(ticking(ticks)).await })
    };
    assert!(until(10, || async { holder(&client, ns).await.as_deref() == Some("pod-b") }).await);
    assert_eq!(lease(&client, ns).await.spec.expect("spec").lease_transitions, Some(1));
    assert!(until(5, || async { b_ticks.load(Ordering::SeqCst) > 0 }).await);

    // Someone else writes the Lease (an operator, a replica with a skewed view): B stops.
    // (B renews every 200 ms: a write between the read and the replace is a conflict, and
    // the write is tried again on the new version.)
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let mut written = false;
    for _ in 0..20 {
        let mut taken = leases.get(LEASE).await.expect("lease");
        taken.spec.as_mut().expect("spec").holder_identity = Some("pod-z".into());
        match leases.replace(LEASE, &PostParams::default(), &taken).await {
            Ok(_) => written = true,
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => panic!("replace: {e}"),
        }
        break;
    }
    assert!(written, "the Lease kept changing");
    let outcome = tokio::time::timeout(Duration::from_secs(10), b_run).await.expect("stopped").expect("task");
    assert!(matches!(outcome, Err(LeaderError::Lost { .. })), "{outcome:?}");
    assert!(!b.is_leader());
    let stopped_at = b_ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b_ticks.load(Ordering::SeqCst), stopped_at, "the work went on after leadership was lost");
    assert_eq!(holder(&client, ns).await.as_deref(), Some("pod-z"));
}
