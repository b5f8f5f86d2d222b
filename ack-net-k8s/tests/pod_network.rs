//! `PodNetworkReconciler` end to end: a real kube-apiserver (`ack_net_k8s::testenv`, one per
//! test) behind a recording proxy (every write asserted) and an `IpPool` on ack-net-mock. The
//! test plays the kubelet (phases through the status subresource, finished deletions). Pods of the node get one address each
//! (and the annotation), others none; finished and deleted pods give theirs back; GC waits
//! for the cache and releases what a restart missed; an exhausted pool is an Event and a
//! backoff; `run()` follows the pods through the watch.

mod apiserver;
mod service_common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::{MemoryStore, PoolStore, Released};
use ack_net_k8s::pod::{wants_network, Error, PodNetworkAnnotation, PodNetworkReconciler, POD_NETWORK_ANNOTATION};
use ack_net_k8s::Backoff;
use apiserver::until;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller::Action;
use kube::runtime::watcher::Event;
use serde_json::{json, Value};
use service_common::real::RealApi;
use service_common::*;

const NODE: &str = "node-1";

fn parse(v: Value) -> Pod {
    serde_json::from_value(v).expect("pod")
}

async fn pod_in(api: &RealApi, name: &str) -> Pod {
    parse(api.get(Kind::Pod, "default", name).await.expect("pod exists"))
}

async fn annotation(api: &RealApi, name: &str) -> Option<PodNetworkAnnotation> {
    PodNetworkAnnotation::of(&pod_in(api, name).await)
}

/// Whether each of the pods `names` has its annotation.
async fn annotated(api: &RealApi, names: &[&str]) -> bool {
    for name in names {
        if annotation(api, name).await.is_none() {
            return false;
        }
    }
    true
}

async fn reconcile(api: &RealApi, ctx: &Arc<PodNetworkReconciler>, name: &str) -> Result<Action, Error> {
    PodNetworkReconciler::reconcile(Arc::new(pod_in(api, name).await), ctx.clone()).await
}

#[test]
fn which_pods_want_a_network() {
    assert!(wants_network(&parse(pod("a", NODE)), NODE));
    assert!(!wants_network(&parse(pod("a", "node-2")), NODE));
    let mut host = pod("h", NODE);
    host["spec"]["hostNetwork"] = json!(true);
    assert!(!wants_network(&parse(host), NODE));
    for phase in ["Succeeded", "Failed"] {
        let mut done = pod("d", NODE);
        done["status"]["phase"] = json!(phase);
        assert!(!wants_network(&parse(done), NODE));
    }
    let mut pending = pod("p", NODE);
    pending["status"]["phase"] = json!("Pending");
    assert!(wants_network(&parse(pending), NODE));
    let mut unscheduled = pod("u", NODE);
    unscheduled["spec"]["nodeName"] = Value::Null;
    assert!(!wants_network(&parse(unscheduled), NODE));
}

#[tokio::test]
async fn each_pod_of_the_node_gets_one_address_and_its_annotation_once() {
    let w = pool_world(NODE).await;
    let pool = w.pool(w.config(), Arc::new(MemoryStore::new())).await;
    let api = RealApi::start().await;
    for name in ["web-0", "web-1", "web-2"] {
        api.put(Kind::Pod, pod(name, NODE)).await;
    }
    api.put(Kind::Pod, pod("elsewhere", "node-2")).await;
    let mut host = pod("host", NODE);
    host["spec"]["hostNetwork"] = json!(true);
    api.put(Kind::Pod, host).await;
    let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool.clone(), NODE));

    for name in ["web-0", "web-1", "web-2", "elsewhere", "host"] {
        assert_eq!(reconcile(&api, &ctx, name).await.expect("reconcile"), Action::await_change(), "{name}");
    }
    assert_eq!(pool.pods(), api.uids(&["web-0", "web-1", "web-2"]));
    let writes: Vec<String> = api.take_requests().iter().map(Recorded::short).collect();
    assert_eq!(writes, vec!["PATCH pods/web-0", "PATCH pods/web-1", "PATCH pods/web-2"]);

    let mut addresses = HashSet::new();
    for name in ["web-0", "web-1", "web-2"] {
        let a = annotation(&api, name).await.expect("annotated");
        assert!(a.ipv4.to_string().starts_with("192.168.1."), "{a:?}");
        assert_eq!(a.gateway4.to_string(), "192.168.1.253");
        assert_eq!(a.vswitch_id, w.vswitch);
        assert_eq!(a.mode, "shared");
        assert!(addresses.insert(a.ipv4), "{} handed out twice", a.ipv4);
        assert!(pool.addresses().iter().any(|(eni, ip, _)| *eni == a.eni_id && *ip == a.ipv4.addr()));
    }
    for name in ["elsewhere", "host"] {
        assert!(annotation(&api, name).await.is_none());
    }

    // Converged: the same addresses, no write.
    let before = annotation(&api, "web-1").await;
    reconcile(&api, &ctx, "web-1").await.expect("reconcile");
    assert_eq!(annotation(&api, "web-1").await, before);
    assert!(api.take_requests().is_empty());

    // A changed annotation (someone edited it) is written back.
    let mut edited = api.get(Kind::Pod, "default", "web-1").await.expect("pod");
    edited["metadata"]["annotations"][POD_NETWORK_ANNOTATION] = json!("{}");
    api.put(Kind::Pod, edited).await;
    reconcile(&api, &ctx, "web-1").await.expect("reconcile");
    assert_eq!(annotation(&api, "web-1").await, before);
    assert_eq!(api.take_requests().len(), 1);
}

#[tokio::test]
async fn finished_and_deleted_pods_give_their_address_back() {
    let w = pool_world(NODE).await;
    let pool = w.pool(w.config(), Arc::new(MemoryStore::new())).await;
    let api = RealApi::start().await;
    for name in ["job", "web", "late"] {
        api.put(Kind::Pod, pod(name, NODE)).await;
    }
    let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool.clone(), NODE).without_annotation());
    for name in ["job", "web"] {
        reconcile(&api, &ctx, name).await.expect("reconcile");
    }
    assert_eq!(pool.pods(), api.uids(&["job", "web"]));
    assert!(api.take_requests().is_empty(), "without_annotation writes nothing");

    // The job finishes: its address goes back.
    let mut done = api.get(Kind::Pod, "default", "job").await.expect("pod");
    done["status"]["phase"] = json!("Succeeded");
    api.put_status(Kind::Pod, done).await;
    reconcile(&api, &ctx, "job").await.expect("reconcile");
    assert_eq!(pool.pods(), api.uids(&["web"]));

    // Being deleted: a pod with an address keeps it (its containers may still run); one
    // without gets none.
    for name in ["web", "late"] {
        api.begin_delete(Kind::Pod, "default", name).await;
        reconcile(&api, &ctx, name).await.expect("reconcile");
    }
    assert_eq!(pool.pods(), api.uids(&["web"]));

    // Gone: released, and releasing again is harmless.
    let web = pod_in(&api, "web").await;
    assert!(matches!(ctx.release(&web).await.expect("release"), Released::Released(_)));
    assert_eq!(ctx.release(&web).await.expect("release"), Released::NotHeld);
    assert!(pool.pods().is_empty());
}

#[tokio::test]
async fn gc_waits_for_the_cache_then_releases_pods_that_are_gone() {
    let w = pool_world(NODE).await;
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let pool = w.pool(w.config(), store.clone()).await;
    let api = RealApi::start().await;
    for name in ["a", "b", "c"] {
        api.put(Kind::Pod, pod(name, NODE)).await;
    }
    let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool.clone(), NODE));
    for name in ["a", "b", "c"] {
        reconcile(&api, &ctx, name).await.expect("reconcile");
    }
    let mut writer = ctx.take_writer().expect("writer");
    assert!(ctx.take_writer().is_none());

    // Before the cache is filled every pod would look gone: GC refuses.
    assert!(matches!(ctx.gc().await, Err(Error::CacheNotReady)));
    assert_eq!(pool.pods(), api.uids(&["a", "b", "c"]));

    // "b" was deleted while nobody watched; "c" finished.
    let mut c = api.get(Kind::Pod, "default", "c").await.expect("c");
    c["status"]["phase"] = json!("Failed");
    writer.apply_watcher_event(&Event::Init);
    for p in [api.get(Kind::Pod, "default", "a").await.expect("a"), c, pod("other", "node-2")] {
        writer.apply_watcher_event(&Event::InitApply(parse(p)));
    }
    writer.apply_watcher_event(&Event::InitDone);
    assert_eq!(ctx.live_pods().expect("live"), api.uids(&["a"]));
    let report = ctx.gc().await.expect("gc");
    let mut released = report.released_pods.clone();
    released.sort();
    let mut gone: Vec<String> = api.uids(&["b", "c"]).into_iter().collect();
    gone.sort();
    assert_eq!(released, gone);
    assert_eq!(pool.pods(), api.uids(&["a"]));
    assert_eq!(store.load().await.expect("journal").allocations.len(), 1);
}

#[tokio::test]
async fn an_exhausted_pool_is_an_event_and_a_backoff() {
    let w = pool_world(NODE).await;
    let pool = w.pool(w.config().max_pods(1), Arc::new(MemoryStore::new())).await;
    let api = RealApi::start().await;
    api.put(Kind::Pod, pod("first", NODE)).await;
    api.put(Kind::Pod, pod("second", NODE)).await;
    let backoff = Backoff { min: Duration::from_secs(2), max: Duration::from_secs(60) };
    let ctx = Arc::new(PodNetworkReconciler::new(api.client(), pool.clone(), NODE).with_backoff(backoff));
    reconcile(&api, &ctx, "first").await.expect("first fits");
    api.take_requests();

    let err = reconcile(&api, &ctx, "second").await.expect_err("no room");
    assert!(matches!(err, Error::Pool { .. }), "{err}");
    assert!(err.to_string().contains("default/second"), "{err}");
    let requests = api.take_requests();
    let event = requests.iter().find(|r| r.path.ends_with("/events")).expect("an Event");
    assert_eq!(event.body["type"], "Warning");
    assert_eq!(event.body["reason"], "AllocateAddressFailed");
    assert_eq!(event.body["regarding"]["name"], "second");
    assert_eq!(event.body["regarding"]["kind"], "Pod");
    assert!(!requests.iter().any(|r| r.path.ends_with("/pods/second")), "no annotation without an address");

    let second = Arc::new(pod_in(&api, "second").await);
    assert_eq!(
        PodNetworkReconciler::error_policy(second.clone(), &err, ctx.clone()),
        Action::requeue(backoff.delay(1))
    );
    assert_eq!(PodNetworkReconciler::error_policy(second, &err, ctx.clone()), Action::requeue(backoff.delay(2)));

    // A pod without a UID cannot be keyed: a typed error, nothing allocated.
    let mut anonymous = pod("anonymous", NODE);
    anonymous["metadata"]["uid"] = json!("");
    let err = PodNetworkReconciler::reconcile(Arc::new(parse(anonymous)), ctx.clone()).await.expect_err("no uid");
    assert!(matches!(err, Error::InvalidPod { .. }), "{err}");
    assert_eq!(pool.pods(), api.uids(&["first"]));
}

#[tokio::test]
async fn run_follows_the_pods_of_the_node_and_recovers_after_a_restart() {
    let w = pool_world(NODE).await;
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let api = RealApi::start().await;
    api.put(Kind::Pod, pod("web-0", NODE)).await;
    api.put(Kind::Pod, pod("web-1", NODE)).await;
    api.put(Kind::Pod, pod("remote", "node-2")).await;

    let pool = w.pool(w.config(), store.clone()).await;
    let agent = tokio::spawn(PodNetworkReconciler::new(api.client(), pool.clone(), NODE).run());
    assert!(until(10, || annotated(&api, &["web-0", "web-1"])).await);
    assert!(annotation(&api, "remote").await.is_none());

    // A new pod arrives; a pod is deleted.
    api.put(Kind::Pod, pod("web-2", NODE)).await;
    assert!(until(10, || annotated(&api, &["web-2"])).await);
    api.delete(Kind::Pod, "default", "web-0").await;
    assert!(eventually(10, || pool.pods() == api.uids(&["web-1", "web-2"])).await, "{:?}", pool.pods());
    let kept = annotation(&api, "web-1").await.expect("annotated").ipv4;

    // The agent stops; meanwhile a pod goes and one comes. The new agent, on the same
    // journal, keeps web-1's address, releases web-2's and serves web-3.
    agent.abort();
    let _ = agent.await;
    drop(pool);
    api.delete(Kind::Pod, "default", "web-2").await;
    api.put(Kind::Pod, pod("web-3", NODE)).await;
    let pool = w.pool(w.config(), store.clone()).await;
    let agent = tokio::spawn(
        PodNetworkReconciler::new(api.client(), pool.clone(), NODE).with_gc_every(Duration::from_millis(200)).run(),
    );
    assert!(
        until(10, || async { annotated(&api, &["web-3"]).await && pool.pods() == api.uids(&["web-1", "web-3"]) }).await,
        "{:?}",
        pool.pods()
    );
    assert_eq!(annotation(&api, "web-1").await.expect("annotated").ipv4, kept);
    let a1 = annotation(&api, "web-1").await.expect("annotated").ipv4;
    let a3 = annotation(&api, "web-3").await.expect("annotated").ipv4;
    assert_ne!(a1, a3);
    agent.abort();
}
