//! `PodNetworkReconciler::run` against a real kube-apiserver and etcd (`ack_net_k8s::testenv`)
//! with an `IpPool` on ack-net-mock. The test plays the scheduler (pods are created with
//! `spec.nodeName`) and the kubelet (it writes a pod's phase and IP through the status
//! subresource, and finishes a graceful deletion with a grace period of zero).

mod apiserver;
mod service_common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ack_net_eni::pool::{MemoryStore, PoolStore};
use ack_net_k8s::pod::{PodNetworkAnnotation, PodNetworkReconciler};
use apiserver::{client, create, namespace, patch_status, shared, until};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams};
use serde_json::json;
use service_common::{eventually, pool_world};

const NODE: &str = "pod-network-node";
const NS: &str = "pod-network";

async fn make_pod(pods: &Api<Pod>, name: &str, node: &str) -> String {
    let pod = create(
        pods.clone(),
        json!({
            "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}
        }),
    )
    .await;
    pod.metadata.uid.expect("a uid from the server")
}

async fn annotation(pods: &Api<Pod>, name: &str) -> Option<PodNetworkAnnotation> {
    PodNetworkAnnotation::of(&pods.get_opt(name).await.expect("get")?)
}

#[tokio::test]
async fn pods_get_addresses_that_come_back_when_they_finish_or_go() {
    let client = client(shared().await).await;
    namespace(&client, NS).await;
    create(Api::<Node>::all(client.clone()), json!({"metadata": {"name": NODE}})).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let web0 = make_pod(&pods, "web-0", NODE).await;
    let web1 = make_pod(&pods, "web-1", NODE).await;
    make_pod(&pods, "elsewhere", "another-node").await;

    let w = pool_world(NODE).await;
    let store: Arc<dyn PoolStore> = Arc::new(MemoryStore::new());
    let pool = w.pool(w.config(), store.clone()).await;
    let agent = tokio::spawn(PodNetworkReconciler::new(client.clone(), pool.clone(), NODE).run());
    let annotated = |names: &'static [&'static str]| {
        let pods = pods.clone();
        move || {
            let pods = pods.clone();
            async move {
                for n in names {
                    if annotation(&pods, n).await.is_none() {
                        return false;
                    }
                }
                true
            }
        }
    };
    assert!(until(20, annotated(&["web-0", "web-1"])).await);
    assert!(annotation(&pods, "elsewhere").await.is_none());
    assert_eq!(pool.pods(), HashSet::from([web0.clone(), web1.clone()]));

    // The kubelet starts web-0 with the address it was given.
    let a0 = annotation(&pods, "web-0").await.expect("annotated");
    let ip = a0.ipv4.addr().to_string();
    let running = patch_status(&pods, "web-0", json!({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})).await;
    assert_eq!(running.status.and_then(|s| s.pod_ip), Some(ip.clone()));
    assert_eq!(annotation(&pods, "web-0").await, Some(a0.clone()), "a status write changes no address");

    // web-1 finishes (a Job's pod): its address goes back while the pod object stays.
    patch_status(&pods, "web-1", json!({"phase": "Succeeded"})).await;
    assert!(eventually(20, || pool.pods() == HashSet::from([web0.clone()])).await, "{:?}", pool.pods());

    // web-0 is deleted: a graceful deletion keeps its address while its containers may run;
    // the kubelet then finishes the deletion and the address goes back.
    pods.delete("web-0", &DeleteParams::default()).await.expect("delete");
    assert!(pods.get("web-0").await.expect("terminating").metadata.deletion_timestamp.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pool.pods().contains(&web0), "released while terminating");
    pods.delete("web-0", &DeleteParams::default().grace_period(0)).await.expect("delete");
    assert!(eventually(20, || pool.pods().is_empty()).await, "{:?}", pool.pods());

    // The agent stops; meanwhile a pod comes. The next agent, on the same journal, serves it.
    agent.abort();
    let _ = agent.await;
    drop(pool);
    let web2 = make_pod(&pods, "web-2", NODE).await;
    let pool = w.pool(w.config(), store.clone()).await;
    let agent = tokio::spawn(
        PodNetworkReconciler::new(client.clone(), pool.clone(), NODE).with_gc_every(Duration::from_millis(200)).run(),
    );
    assert!(until(20, annotated(&["web-2"])).await);
    assert!(eventually(20, || pool.pods() == HashSet::from([web2.clone()])).await, "{:?}", pool.pods());
    agent.abort();
}
