//! Shared setup of the Ingress tests: a load balancer on the mock and Services as JSON.
#![allow(dead_code)]

use std::net::IpAddr;

use ack_net_slb::binding::ingress::{IngressOwner, ServiceRef};
use ack_net_slb::{AddressType, InstanceSpec, LoadBalancerId};
use serde_json::{json, Value};

use crate::service_common::Cloud;

/// A new internet load balancer on `cloud`, and its address.
pub async fn load_balancer(cloud: &Cloud) -> (LoadBalancerId, IpAddr) {
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
    let address = cloud.slb.load_balancers().get(&lb).await.expect("attributes").address;
    (lb, address)
}

/// The Service `shop/NAME` of type NodePort, port 80 (`http`) on `node_port`.
pub fn node_port_service(name: &str, node_port: i32) -> Value {
    json!({
        "metadata": {"namespace": "shop", "name": name},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": node_port, "protocol": "TCP"}]}
    })
}

/// The id of the VServer group `owner` keeps for port 80 of Service `shop/NAME` on `lb`.
pub async fn group_of(cloud: &Cloud, lb: &LoadBalancerId, owner: &IngressOwner, service: &str) -> Option<String> {
    let name = owner.group_name(&ServiceRef::new("shop", service, "80"));
    let groups = cloud.slb.vserver_groups().describe(lb).send().await.expect("groups");
    groups.into_iter().find(|g| g.name == name).map(|g| g.vserver_group_id.to_string())
}

/// The VServer group a request for `host` and `path` on `port` of `lb` reaches (empty when none).
pub fn reaches(cloud: &Cloud, lb: &LoadBalancerId, port: u16, host: &str, path: &str) -> String {
    cloud
        .mock
        .with_state(|s| s.slb.route(lb.as_str(), port, host, path))
        .and_then(|r| r.vserver_group_id().map(str::to_owned))
        .unwrap_or_default()
}

/// The `kubernetes.io/tls` Secret `shop/NAME` holding the mock's sample certificate of `host`.
pub fn tls_secret(name: &str, host: &str) -> Value {
    use base64::Engine as _;
    let sample = ack_net_mock::sample_certificate(host).expect("a sample certificate of the host");
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    json!({
        "metadata": {"namespace": "shop", "name": name}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(sample.certificate), "tls.key": b64(sample.private_key)}
    })
}
