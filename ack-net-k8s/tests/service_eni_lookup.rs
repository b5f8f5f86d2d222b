//! `EniLookup` for `ack_net_eni::EcsClient` against ack-net-mock: pod addresses to the ENIs
//! holding them, 100 addresses a call.

use std::net::{IpAddr, Ipv4Addr};

mod service_common;

use ack_net_eni::EcsClient;
use ack_net_k8s::service::EniLookup;

#[tokio::test]
async fn finds_the_eni_of_each_pod_address_in_batches() {
    let w = service_common::pool_world("n1").await;
    let stats = w.stats.clone();
    let ecs = EcsClient::new(w.rpc.clone());
    let (vsw, sg) = (&w.vswitch, &w.sg);
    let mut want = Vec::new();
    for _ in 0..2 {
        let eni =
            ecs.network_interfaces().create(vsw).security_group(sg).secondary_ip_count(3).send().await.expect("eni");
        for ip in &eni.secondary_ips {
            want.push((IpAddr::V4(*ip), eni.id.clone()));
        }
    }

    stats.reset();
    let ips: Vec<IpAddr> = want.iter().map(|(ip, _)| *ip).collect();
    let found = ecs.enis_for(&ips).await.expect("lookup");
    assert_eq!(found.len(), 6);
    for (ip, eni) in &want {
        assert_eq!(found.get(ip), Some(eni), "{ip}");
    }
    assert_eq!(stats.calls("DescribeNetworkInterfaces"), 1);

    // Addresses no ENI holds are left out; 150 more addresses take a second call.
    stats.reset();
    let mut many = ips.clone();
    many.extend((1..=150u8).map(|i| IpAddr::V4(Ipv4Addr::new(10, 99, 0, i))));
    let found = ecs.enis_for(&many).await.expect("lookup");
    assert_eq!(found.len(), 6);
    assert_eq!(stats.calls("DescribeNetworkInterfaces"), 2);

    // Nothing to look up: no call.
    stats.reset();
    assert!(ecs.enis_for(&[]).await.expect("lookup").is_empty());
    assert_eq!(stats.total(), 0);
}
