//! Ingresses end to end with the mock: `ingress::translate` of two Ingresses (one with TLS)
//! and a broken one, applied by an `IngressBinding`; requests reach the Services' groups as
//! the Ingresses say, and no further; the broken Ingress changes nothing for the others.

mod ingress_common;
mod service_common;

use ack_net_k8s::ingress::{translate, Cluster, Problem};
use ack_net_k8s::service::{EniMap, NodeFilter};
use ack_net_slb::binding::ingress::{IngressBinding, IngressOwner, IngressPlanOptions};
use ack_net_slb::binding::DrainPolicy;
use ingress_common::{group_of, load_balancer, node_port_service, reaches, tls_secret};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::json;
use service_common::*;

fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("object")
}

fn ingress(name: &str, created: &str, spec: serde_json::Value) -> Ingress {
    parse(json!({"metadata": {"namespace": "shop", "name": name, "creationTimestamp": created}, "spec": spec}))
}

#[tokio::test]
async fn ingresses_route_through_the_mock_as_asked() {
    let cloud = cloud(2).await;
    let (lb, _) = load_balancer(&cloud).await;
    let nodes: Vec<Node> = (0..2).map(|i| parse(node(&format!("n{i}"), &cloud.instances[i]))).collect();
    let services = vec![parse(node_port_service("web", 30080)), parse(node_port_service("api", 30081))];
    let secrets: Vec<Secret> = vec![parse(tls_secret("www-tls", "www.example.com"))];
    let p = |kind: &str, path: &str, svc: &str| json!({"path": path, "pathType": kind, "backend": {"service": {"name": svc, "port": {"number": 80}}}});
    let ingresses = vec![
        ingress(
            "web",
            "2024-01-01T00:00:00Z",
            json!({"tls": [{"hosts": ["www.example.com"], "secretName": "www-tls"}],
                   "rules": [{"host": "www.example.com", "http": {"paths": [p("Prefix", "/", "web")]}}]}),
        ),
        ingress(
            "api",
            "2024-01-02T00:00:00Z",
            json!({"rules": [{"host": "www.example.com", "http": {"paths": [p("Prefix", "/api", "api")]}}]}),
        ),
        ingress(
            "broken",
            "2024-01-03T00:00:00Z",
            json!({"rules": [{"host": "www.example.com", "http": {"paths": [p("Prefix", "/", "gone")]}}]}),
        ),
    ];
    let (enis, filter) = (EniMap::default(), NodeFilter::default());
    let cluster =
        Cluster { services: &services, slices: &[], nodes: &nodes, secrets: &secrets, enis: &enis, filter: &filter };
    let t = translate(IngressOwner::new("c-e2e", "ack-net"), lb.clone(), &ingresses, cluster);
    assert!(t.problems["shop/broken"].iter().any(|p| matches!(p, Problem::Invalid(m) if m.contains("shop/gone"))));
    assert_eq!(t.served.len(), 2);
    let binding = IngressBinding::new(cloud.slb.clone(), t.spec.clone())
        .unwrap()
        .with_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()));
    binding.reconcile().await.unwrap();
    assert!(binding.reconcile().await.unwrap().plan.is_empty());

    let owner = IngressOwner::new("c-e2e", "ack-net");
    let (web, api) = (group_of(&cloud, &lb, &owner, "web").await, group_of(&cloud, &lb, &owner, "api").await);
    let id = |svc: &str| if svc == "web" { web.clone() } else { api.clone() }.expect("group");
    let reaches = |port: u16, host: &str, path: &str| reaches(&cloud, &lb, port, host, path);
    for port in [80, 443] {
        assert_eq!(reaches(port, "www.example.com", "/api/users"), id("api"));
        assert_eq!(reaches(port, "www.example.com", "/"), id("web"));
        // Prefix /api does not take /apis: that goes where the Ingresses send it, to web's /.
        assert_eq!(reaches(port, "www.example.com", "/apis"), id("web"));
        // No Ingress asks for other hosts: not to a Service.
        let other = reaches(port, "other.example.com", "/api/users");
        assert!(other != id("api") && other != id("web"), "{other}");
    }
    // Each node serves web on its node port.
    let backends = cloud.mock.with_state(|s| s.slb.vserver_group_backends(&id("web"))).unwrap();
    let mut have: Vec<(String, u16)> = backends.into_iter().map(|b| (b.0, b.2)).collect();
    have.sort();
    let mut want: Vec<(String, u16)> = cloud.instances.iter().map(|i| (i.clone(), 30080)).collect();
    want.sort();
    assert_eq!(have, want);
}
