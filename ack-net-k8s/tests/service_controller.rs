//! `ServiceReconciler::run` against a real kube-apiserver and etcd (`ack_net_k8s::testenv`)
//! and ack-net-mock as the cloud. The test plays the parts of the components the test
//! environment lacks: it creates the Nodes (and makes them Ready through their status, as a
//! kubelet does) and the EndpointSlices (as the EndpointSlice controller does).
//!
//! Each test has an environment of its own: the reconciler watches every Service and Node of
//! the cluster.

mod apiserver;
mod service_common;

use std::time::Duration;

use ack_net_k8s::service::{Backoff, ServiceConfig, ServiceReconciler, FINALIZER};
use ack_net_mock::FaultSpec;
use ack_net_mock::Latency;
use ack_net_slb::binding::{DrainPolicy, PlanOptions};
use ack_net_slb::{ListenerProtocol, LoadBalancerId, Removed};
use apiserver::{client, create, namespace, own, ready_node, until, TestEnv};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{json, Value};
use service_common::{cloud, eventually, service, slice, Cloud};

fn reconciler(client: &kube::Client, cloud: &Cloud) -> ServiceReconciler {
    ServiceReconciler::new(client.clone(), cloud.slb.clone(), ServiceConfig::new("c-1"))
        .with_plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
        .with_backoff(Backoff { min: Duration::from_millis(200), max: Duration::from_secs(1) })
}

fn tcp80() -> Value {
    json!([{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 8080}])
}

/// (ECS instance, weight) of each backend of the first listener of the only load balancer.
fn backends(cloud: &Cloud) -> Option<Vec<(String, u8)>> {
    let lbs = cloud.load_balancers();
    let l = lbs.first()?.listeners.first()?;
    let mut v: Vec<(String, u8)> = l.2.iter().map(|b| (b.0.clone(), b.3)).collect();
    v.sort();
    Some(v)
}

fn weights(cloud: &Cloud, w: &[(usize, u8)]) -> Option<Vec<(String, u8)>> {
    let mut v: Vec<(String, u8)> = w.iter().map(|(i, w)| (cloud.instances[*i].clone(), *w)).collect();
    v.sort();
    Some(v)
}

async fn ingress_ip(services: &Api<Service>) -> Option<String> {
    let svc = services.get_opt("web").await.expect("get")?;
    svc.status?.load_balancer?.ingress?.first()?.ip.clone()
}

/// The (type, reason) of the Events about Service `shop/web`, and the largest series count.
async fn events(client: &kube::Client) -> (Vec<(String, String)>, i32) {
    let list = Api::<Event>::namespaced(client.clone(), "shop").list(&ListParams::default()).await.expect("events");
    let about_web = list.items.iter().filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("web"));
    let kinds = about_web
        .clone()
        .map(|e| (e.type_.clone().unwrap_or_default(), e.reason.clone().unwrap_or_default()))
        .collect();
    let count = about_web.filter_map(|e| e.series.as_ref().map(|s| s.count)).max().unwrap_or(1);
    (kinds, count)
}

/// A test environment of its own with namespace `shop`, and the mock cloud with `nodes`
/// instances, each a Ready Node `n{i}`.
struct World {
    _env: TestEnv,
    client: kube::Client,
    cloud: Cloud,
    services: Api<Service>,
}

async fn world(nodes: usize) -> World {
    let env = own().await;
    let client = client(&env).await;
    let cloud = cloud(nodes).await;
    namespace(&client, "shop").await;
    for i in 0..nodes {
        ready_node(&client, &format!("n{i}"), &cloud.instances[i]).await;
    }
    let services = Api::namespaced(client.clone(), "shop");
    World { _env: env, client, cloud, services }
}

async fn put_slice(slices: &Api<EndpointSlice>, value: Value) {
    let obj: EndpointSlice = serde_json::from_value(value).expect("slice");
    let pp = PatchParams::apply("endpointslice-controller").force();
    slices.patch("web-1", &pp, &Patch::Apply(&obj)).await.expect("apply the EndpointSlice");
}

#[tokio::test]
async fn the_controller_follows_services_endpoints_and_nodes() {
    let World { _env, client, cloud, services } = world(3).await;
    let ip = |i: usize| -> std::net::IpAddr { format!("10.9.0.{i}").parse().expect("ip") };
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "shop");
    put_slice(
        &slices,
        slice("web-1", 8080, &[(ip(1), "n0", true, false), (ip(2), "n0", true, false), (ip(3), "n1", true, false)]),
    )
    .await;
    let mut svc = service(json!({}), tcp80());
    svc["spec"]["externalTrafficPolicy"] = json!("Local");
    create(services.clone(), svc).await;

    let running = tokio::spawn(reconciler(&client, &cloud).with_resync(Duration::from_secs(3600)).run());

    // Local mode: nodes with ready pods, weighted by how many; the address in the status,
    // the finalizer on the Service, an Event about it.
    assert!(eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 2), (1, 1)])).await, "{:?}", backends(&cloud));
    let address = cloud.load_balancers()[0].address.clone();
    assert!(until(10, || async { ingress_ip(&services).await.as_deref() == Some(address.as_str()) }).await);
    let svc = services.get("web").await.expect("svc");
    assert_eq!(svc.metadata.finalizers, Some(vec![FINALIZER.to_owned()]));
    assert!(
        until(10, || async { events(&client).await.0.contains(&("Normal".into(), "EnsuredLoadBalancer".into())) })
            .await
    );

    // The EndpointSlice changes: a pod moves to n2 and one on n0 terminates.
    put_slice(
        &slices,
        slice(
            "web-1",
            8080,
            &[
                (ip(1), "n0", true, false),
                (ip(2), "n0", false, true),
                (ip(3), "n1", true, false),
                (ip(4), "n2", true, false),
            ],
        ),
    )
    .await;
    assert!(
        eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 1), (1, 1), (2, 1)])).await,
        "{:?}",
        backends(&cloud)
    );

    // A node is excluded: every Service is reconciled again.
    let nodes: Api<Node> = Api::all(client.clone());
    let exclude = json!({"metadata": {"labels": {"node.kubernetes.io/exclude-from-external-load-balancers": ""}}});
    nodes.patch("n1", &PatchParams::default(), &Patch::Merge(&exclude)).await.expect("label");
    assert!(eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 1), (2, 1)])).await, "{:?}", backends(&cloud));

    // The controller stops; meanwhile the endpoints change (a watch event it never sees).
    // The next one lists afresh and catches up.
    running.abort();
    let _ = running.await;
    put_slice(
        &slices,
        slice("web-1", 8080, &[(ip(1), "n0", true, false), (ip(4), "n2", true, false), (ip(5), "n2", true, false)]),
    )
    .await;
    let running = tokio::spawn(reconciler(&client, &cloud).with_resync(Duration::from_secs(3600)).run());
    assert!(eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 1), (2, 2)])).await, "{:?}", backends(&cloud));

    // Deleting the Service releases the load balancer, then the finalizer lets it go.
    services.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(until(20, || async { services.get_opt("web").await.expect("get").is_none() }).await, "finalizer kept");
    assert!(cloud.load_balancers().is_empty());
    assert!(events(&client).await.0.contains(&("Normal".into(), "DeletedLoadBalancer".into())));
    running.abort();
}

#[tokio::test]
async fn cloud_errors_back_off_with_a_warning_event_then_recover() {
    let World { _env, client, cloud, services } = world(1).await;
    cloud.mock.set_fault("CreateLoadBalancer", FaultSpec { server_error: 1.0, ..FaultSpec::none() }).expect("fault");
    create(services.clone(), service(json!({}), tcp80())).await;
    let running = tokio::spawn(reconciler(&client, &cloud).run());

    // Each failure is a Warning; repeats are the Event's series, not new Events.
    assert!(
        until(20, || async {
            let (kinds, count) = events(&client).await;
            kinds.contains(&("Warning".into(), "SyncLoadBalancerFailed".into())) && count >= 3
        })
        .await,
        "{:?}",
        events(&client).await
    );
    assert!(cloud.load_balancers().is_empty());
    assert!(ingress_ip(&services).await.is_none());

    cloud.mock.clear_faults();
    assert!(eventually(20, || cloud.load_balancers().len() == 1).await);
    let address = cloud.load_balancers()[0].address.clone();
    assert!(until(10, || async { ingress_ip(&services).await.as_deref() == Some(address.as_str()) }).await);
    running.abort();
}

#[tokio::test]
async fn a_service_deleted_while_its_load_balancer_is_being_created_leaves_nothing_behind() {
    let World { _env, client, cloud, services } = world(1).await;
    // Creating the load balancer takes 2 s.
    let slow = FaultSpec { latency: Some(Latency::Fixed(2000)), ..FaultSpec::none() };
    cloud.mock.set_fault("CreateLoadBalancer", slow).expect("fault");
    create(services.clone(), service(json!({}), tcp80())).await;
    let running = tokio::spawn(reconciler(&client, &cloud).run());

    // The finalizer comes before any cloud call: once it is there, delete.
    let finalized = || async {
        services.get("web").await.expect("get").metadata.finalizers.is_some_and(|f| f.contains(&FINALIZER.to_owned()))
    };
    assert!(until(20, finalized).await);
    services.delete("web", &DeleteParams::default()).await.expect("delete");
    assert!(services.get("web").await.expect("still there").metadata.deletion_timestamp.is_some());

    assert!(until(30, || async { services.get_opt("web").await.expect("get").is_none() }).await, "finalizer kept");
    assert!(cloud.load_balancers().is_empty(), "{:?}", cloud.load_balancers());
    running.abort();
}

#[tokio::test]
async fn a_resync_repairs_a_change_no_watch_event_announces() {
    let World { _env, client, cloud, services } = world(1).await;
    create(services.clone(), service(json!({}), tcp80())).await;
    let running = tokio::spawn(reconciler(&client, &cloud).with_resync(Duration::from_secs(1)).run());
    assert!(eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 100)])).await, "{:?}", backends(&cloud));

    // Someone deletes the listener in the cloud: nothing in Kubernetes changes, so no watch
    // event comes; the periodic resync finds the drift and puts the listener back.
    let lb: LoadBalancerId = cloud.load_balancers()[0].id.parse().expect("id");
    assert_eq!(
        cloud.slb.listeners().delete(&lb, 80, ListenerProtocol::Tcp).send().await.expect("delete"),
        Removed::Now
    );
    assert!(cloud.load_balancers()[0].listeners.is_empty());
    assert!(eventually(20, || backends(&cloud) == weights(&cloud, &[(0, 100)])).await, "{:?}", backends(&cloud));
    running.abort();
}
