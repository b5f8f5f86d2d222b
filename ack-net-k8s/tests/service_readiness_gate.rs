//! Readiness gates of ENI-mode Services against a real kube-apiserver and etcd
//! (`ack_net_k8s::testenv`), with ack-net-mock as the cloud. The test plays the kubelet (pod
//! status: addresses, `ContainersReady`) and the EndpointSlice controller; the reconciler
//! opens the gates through the pods' status subresource.

mod apiserver;
mod service_common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ack_net_k8s::service::{annotations, readiness_gate, Backoff, ServiceConfig, ServiceReconciler};
use ack_net_slb::binding::{DrainPolicy, PlanOptions};
use apiserver::{client, create, namespace, own, patch_status, until};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use service_common::{cloud, eventually, service, Cloud};

const GATE: &str = "service.readiness.alibabacloud.com/web";

/// A pod `shop/NAME` carrying the readiness gate of `web`, whose containers are ready at
/// `ip` (the kubelet's status), not yet Ready.
async fn gated_pod(pods: &Api<Pod>, name: &str, ip: IpAddr) {
    create(
        pods.clone(),
        json!({
            "metadata": {"namespace": "shop", "name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "web"}], "readinessGates": [{"conditionType": GATE}]},
        }),
    )
    .await;
    patch_status(
        pods,
        name,
        json!({"phase": "Running", "podIP": ip.to_string(), "podIPs": [{"ip": ip.to_string()}], "conditions": [
            {"type": "ContainersReady", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady"},
        ]}),
    )
    .await;
}

/// The status of the pod's condition `type_`.
async fn condition(pods: &Api<Pod>, name: &str, type_: &str) -> Option<String> {
    let pod = pods.get(name).await.expect("pod");
    let conditions = pod.status?.conditions?;
    conditions.into_iter().find(|c| c.type_ == type_).map(|c| c.status)
}

/// Writes the EndpointSlice `web-1` with (pod, address, ready, terminating) endpoints on 8080.
async fn put_slice(slices: &Api<EndpointSlice>, endpoints: &[(&str, IpAddr, bool, bool)]) {
    let eps: Vec<Value> = endpoints
        .iter()
        .map(|(pod, ip, ready, terminating)| {
            json!({"addresses": [ip.to_string()], "targetRef": {"kind": "Pod", "namespace": "shop", "name": pod},
                   "conditions": {"ready": ready, "serving": *ready || *terminating, "terminating": terminating}})
        })
        .collect();
    let obj: EndpointSlice = serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "shop", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": eps
    }))
    .expect("slice");
    let pp = PatchParams::apply("endpointslice-controller").force();
    slices.patch("web-1", &pp, &Patch::Apply(&obj)).await.expect("apply the EndpointSlice");
}

/// (address, weight) of each backend of the only listener.
fn backends(cloud: &Cloud) -> Vec<(String, u8)> {
    let lbs = cloud.load_balancers();
    let Some(l) = lbs.first().and_then(|lb| lb.listeners.first()) else { return Vec::new() };
    let mut v: Vec<(String, u8)> = l.2.iter().map(|b| (b.1.clone(), b.3)).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<(String, u8)>) -> Vec<(String, u8)> {
    v.sort();
    v
}

#[tokio::test]
async fn gates_open_once_the_load_balancer_serves_the_pod_and_terminating_pods_leave_before_they_go() {
    assert_eq!(readiness_gate("web"), GATE);
    let env = own().await;
    let client = client(&env).await;
    let cloud = cloud(2).await;
    namespace(&client, "shop").await;
    let (ip0, ip1) = (cloud.enis[0].1, cloud.enis[1].1);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "shop");
    let services: Api<Service> = Api::namespaced(client.clone(), "shop");

    // The second pod's health check fails at first.
    cloud.mock.with_state(|s| s.slb.set_backend_abnormal(&ip1.to_string(), true));
    gated_pod(&pods, "web-0", ip0).await;
    gated_pod(&pods, "web-1", ip1).await;
    // Not Ready (the gates are closed): the EndpointSlice says so.
    put_slice(&slices, &[("web-0", ip0, false, false), ("web-1", ip1, false, false)]).await;
    let annotations = json!({annotations::BACKEND_TYPE: "eni", annotations::WEIGHT: "60"});
    let ports = json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]);
    create(services.clone(), service(annotations, ports)).await;

    let cfg = ServiceConfig::new("c-1").with_terminating_drain(Duration::from_secs(1));
    let reconciler = ServiceReconciler::new(client.clone(), cloud.slb.clone(), cfg)
        .with_eni_lookup(Arc::new(cloud.ecs.clone()))
        .with_plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
        .with_backoff(Backoff { min: Duration::from_millis(200), max: Duration::from_secs(1) })
        .with_gate_recheck(Duration::from_millis(200))
        .with_resync(Duration::from_secs(3600));
    let running = tokio::spawn(reconciler.run());

    // The waiting pods are backends with their final weight (60 shared by two).
    let both = sorted(vec![(ip0.to_string(), 30), (ip1.to_string(), 30)]);
    assert!(eventually(20, || backends(&cloud) == both).await, "{:?}", backends(&cloud));
    // The healthy one's gate opens (the kubelet's conditions stay); the other stays closed.
    assert!(until(20, || async { condition(&pods, "web-0", GATE).await.as_deref() == Some("True") }).await);
    assert_eq!(condition(&pods, "web-0", "ContainersReady").await.as_deref(), Some("True"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(condition(&pods, "web-1", GATE).await, None, "opened while its health check fails");

    // Healthy now: the gate opens on a recheck, with no Kubernetes change to announce it.
    cloud.mock.with_state(|s| s.slb.set_backend_abnormal(&ip1.to_string(), false));
    assert!(until(20, || async { condition(&pods, "web-1", GATE).await.as_deref() == Some("True") }).await);

    // web-0 terminates (the kubelet keeps serving for its grace period): weight 0 at once,
    // then removed once the drain is over, while the EndpointSlice still lists it.
    put_slice(&slices, &[("web-0", ip0, false, true), ("web-1", ip1, true, false)]).await;
    let draining = sorted(vec![(ip0.to_string(), 0), (ip1.to_string(), 60)]);
    assert!(eventually(20, || backends(&cloud) == draining).await, "{:?}", backends(&cloud));
    let left = vec![(ip1.to_string(), 60)];
    assert!(eventually(20, || backends(&cloud) == left).await, "{:?}", backends(&cloud));
    running.abort();
}
