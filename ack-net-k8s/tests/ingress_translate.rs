//! Ingresses end to end with the mock: `ingress::translate` of two Ingresses (one with TLS)
//! and a broken one, applied by an `IngressBinding`; requests reach the Services' groups as
//! the Ingresses say, and no further; the broken Ingress changes nothing for the others.

mod service_common;

use ack_net_k8s::ingress::{translate, Cluster, Problem};
use ack_net_k8s::service::{EniMap, NodeFilter};
use ack_net_mock::slb::sample_certificate;
use ack_net_slb::binding::ingress::{IngressBinding, IngressOwner, IngressPlanOptions, ServiceRef};
use ack_net_slb::binding::DrainPolicy;
use ack_net_slb::{AddressType, InstanceSpec};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::json;
use service_common::*;

fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("object")
}

fn node_port_service(name: &str, node_port: i32) -> Service {
    parse(json!({
        "metadata": {"namespace": "shop", "name": name},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": node_port, "protocol": "TCP"}]}
    }))
}

fn ingress(name: &str, created: &str, spec: serde_json::Value) -> Ingress {
    parse(json!({"metadata": {"namespace": "shop", "name": name, "creationTimestamp": created}, "spec": spec}))
}

#[tokio::test]
async fn ingresses_route_through_the_mock_as_asked() {
    let cloud = cloud(2).await;
    let lb = cloud
        .slb
        .load_balancers()
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S2Small)
        .send()
        .await
        .expect("load balancer")
        .load_balancer_id;
    let nodes: Vec<Node> = (0..2).map(|i| parse(node(&format!("n{i}"), &cloud.instances[i]))).collect();
    let services = vec![node_port_service("web", 30080), node_port_service("api", 30081)];
    let www = sample_certificate("www.example.com").unwrap();
    use base64::Engine as _;
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let secrets: Vec<Secret> = vec![parse(json!({
        "metadata": {"namespace": "shop", "name": "www-tls"}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(www.certificate), "tls.key": b64(www.private_key)}
    }))];
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

    let group = |svc: &str| IngressOwner::new("c-e2e", "ack-net").group_name(&ServiceRef::new("shop", svc, "80"));
    let groups = cloud.slb.vserver_groups().describe(&lb).send().await.unwrap();
    let id = |svc: &str| groups.iter().find(|g| g.name == group(svc)).expect("group").vserver_group_id.to_string();
    let reaches = |port: u16, host: &str, path: &str| {
        cloud
            .mock
            .with_state(|s| s.slb.route(lb.as_str(), port, host, path))
            .and_then(|r| r.vserver_group_id().map(str::to_owned))
            .unwrap_or_default()
    };
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
