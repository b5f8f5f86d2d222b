//! `ServiceReconciler::run`: the reconciler in a kube-runtime `Controller` against a fake
//! Kubernetes API that serves lists and watches, and ack-net-mock. Services, EndpointSlices
//! and Nodes change through the API; the load balancer follows.

mod service_common;

use std::time::Duration;

use ack_net_k8s::service::{ServiceConfig, ServiceReconciler};
use ack_net_slb::binding::{DrainPolicy, PlanOptions};
use serde_json::json;
use service_common::*;

#[tokio::test]
async fn the_controller_follows_services_endpoints_and_nodes() {
    let cloud = cloud(3).await;
    let api = FakeApi::new();
    for i in 0..3 {
        api.put(Kind::Node, node(&format!("n{i}"), &cloud.instances[i]));
    }
    let ip = |i: usize| -> std::net::IpAddr { format!("10.9.0.{i}").parse().expect("ip") };
    api.put(
        Kind::EndpointSlice,
        slice("web-1", 8080, &[(ip(1), "n0", true, false), (ip(2), "n0", true, false), (ip(3), "n1", true, false)]),
    );
    let mut svc = service(
        json!({}),
        json!([{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 8080}]),
    );
    svc["spec"]["externalTrafficPolicy"] = json!("Local");
    api.put(Kind::Service, svc);

    let reconciler = ServiceReconciler::new(api.client(), cloud.slb.clone(), ServiceConfig::new("c-1"))
        .with_plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
        .with_resync(Duration::from_secs(3600));
    let running = tokio::spawn(reconciler.run());

    let backends = |cloud: &Cloud| -> Option<Vec<(String, u8)>> {
        let lbs = cloud.load_balancers();
        let l = lbs.first()?.listeners.first()?;
        let mut v: Vec<(String, u8)> = l.2.iter().map(|b| (b.0.clone(), b.3)).collect();
        v.sort();
        Some(v)
    };
    let weights = |w: &[(usize, u8)]| {
        let mut v: Vec<(String, u8)> = w.iter().map(|(i, w)| (cloud.instances[*i].clone(), *w)).collect();
        v.sort();
        Some(v)
    };

    // Local mode: nodes with ready pods, weighted by how many.
    assert!(eventually(10, || backends(&cloud) == weights(&[(0, 2), (1, 1)])).await, "{:?}", backends(&cloud));
    let address = cloud.load_balancers()[0].address.clone();
    assert!(
        eventually(5, || api
            .get(Kind::Service, "shop", "web")
            .is_some_and(|s| s["status"]["loadBalancer"]["ingress"][0]["ip"] == json!(address)))
        .await
    );

    // The EndpointSlice changes: a pod moves to n2 and one on n0 terminates.
    api.put(
        Kind::EndpointSlice,
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
    );
    assert!(eventually(10, || backends(&cloud) == weights(&[(0, 1), (1, 1), (2, 1)])).await, "{:?}", backends(&cloud));

    // A node is excluded: every Service is reconciled again.
    let mut n1 = node("n1", &cloud.instances[1]);
    n1["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
    api.put(Kind::Node, n1);
    assert!(eventually(10, || backends(&cloud) == weights(&[(0, 1), (2, 1)])).await, "{:?}", backends(&cloud));

    // Deleting the Service releases the load balancer, then the finalizer lets it go.
    api.delete(Kind::Service, "shop", "web");
    assert!(
        eventually(10, || cloud.load_balancers().is_empty() && api.get(Kind::Service, "shop", "web").is_none()).await
    );
    running.abort();
}
