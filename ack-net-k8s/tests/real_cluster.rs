//! The reconcilers and leader election against a real Kubernetes cluster (the current
//! kubeconfig context), with ack-net-mock as the cloud. No cluster runs where CI does, so
//! every test here is `#[ignore]`d; run them with
//!
//! ```sh
//! ACK_NET_TEST_NAMESPACE=ack-net-test cargo test -p ack-net-k8s --test real_cluster -- --ignored --test-threads 1
//! ```
//!
//! They create and delete a Lease, a Service and a pod in that namespace (which must exist;
//! default `default`); the pod is pinned to the first Ready node and runs `pause`.

mod service_common;

use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::MemoryStore;
use ack_net_k8s::leader::{LeaderElector, LeaseConfig, LeaseState};
use ack_net_k8s::pod::{PodNetworkAnnotation, PodNetworkReconciler};
use ack_net_k8s::service::{ServiceConfig, ServiceReconciler};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use service_common::{cloud, eventually, pool_world};

fn namespace() -> String {
    std::env::var("ACK_NET_TEST_NAMESPACE").unwrap_or_else(|_| "default".to_owned())
}

async fn client() -> kube::Client {
    kube::Client::try_default().await.expect("a cluster in the current kubeconfig context")
}

/// Polls `f` every 500 ms for up to `secs` seconds.
async fn until<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..secs * 2 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

#[tokio::test]
#[ignore = "needs a Kubernetes cluster: see the file's docs"]
async fn leader_election_on_a_real_cluster() {
    let client = client().await;
    let ns = namespace();
    let cfg = |id: &str| {
        LeaseConfig::new(&ns, "ack-net-test-leader", id)
            .lease_duration(Duration::from_secs(4))
            .renew_deadline(Duration::from_secs(3))
            .retry_period(Duration::from_secs(1))
    };
    let a = LeaderElector::new(client.clone(), cfg("test-a")).expect("config");
    let b = LeaderElector::new(client.clone(), cfg("test-b")).expect("config");
    assert_eq!(a.try_acquire_or_renew().await.expect("api"), LeaseState::Leader);
    assert!(matches!(b.try_acquire_or_renew().await.expect("api"), LeaseState::Follower { .. }));
    a.release().await.expect("release");
    assert_eq!(b.try_acquire_or_renew().await.expect("api"), LeaseState::Leader);
    b.release().await.expect("release");
    Api::<Lease>::namespaced(client, &ns)
        .delete("ack-net-test-leader", &DeleteParams::default())
        .await
        .expect("delete");
}

#[tokio::test]
#[ignore = "needs a Kubernetes cluster: see the file's docs"]
async fn service_reconciler_on_a_real_cluster() {
    let client = client().await;
    let ns = namespace();
    let cloud = cloud(1).await;
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "ack-net-test-web"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "ack-net-test-web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    }))
    .expect("service");
    services.create(&PostParams::default(), &svc).await.expect("create");
    let running =
        tokio::spawn(ServiceReconciler::new(client.clone(), cloud.slb.clone(), ServiceConfig::new("c-test")).run());

    let ingress = || async {
        let s = services.get("ack-net-test-web").await.expect("get");
        s.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).is_some_and(|i| !i.is_empty())
    };
    assert!(until(60, ingress).await, "no load balancer address in the status");
    assert_eq!(cloud.load_balancers().len(), 1);

    services.delete("ack-net-test-web", &DeleteParams::default()).await.expect("delete");
    let gone = || async { services.get_opt("ack-net-test-web").await.expect("get").is_none() };
    assert!(until(60, gone).await, "the finalizer was not removed");
    assert!(cloud.load_balancers().is_empty());
    running.abort();
}

#[tokio::test]
#[ignore = "needs a Kubernetes cluster: see the file's docs"]
async fn pod_network_reconciler_on_a_real_cluster() {
    let client = client().await;
    let ns = namespace();
    let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.expect("nodes");
    let node = nodes.items.first().and_then(|n| n.metadata.name.clone()).expect("a node");
    let world = pool_world(&node).await;
    let pool = world.pool(world.config(), Arc::new(MemoryStore::new())).await;
    let running = tokio::spawn(PodNetworkReconciler::new(client.clone(), pool.clone(), node.clone()).run());

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "ack-net-test-pod"},
        "spec": {"nodeName": node, "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}]}
    }))
    .expect("pod");
    let created = pods.create(&PostParams::default(), &pod).await.expect("create");
    let uid = created.metadata.uid.clone().expect("uid");
    let annotated =
        || async { pods.get("ack-net-test-pod").await.ok().and_then(|p| PodNetworkAnnotation::of(&p)).is_some() };
    assert!(until(60, annotated).await, "no pod-network annotation");
    assert!(pool.pods().contains(&uid));

    pods.delete("ack-net-test-pod", &DeleteParams::default().grace_period(0)).await.expect("delete");
    assert!(eventually(60, || !pool.pods().contains(&uid)).await, "the address was not released");
    running.abort();
}
