//! ServiceBinding against ack-net-mock: create, converge, drift, scale, protocol change.

mod binding_common;

use ack_net_slb::binding::{LoadBalancerSpec, ObserveOptions, PortSpec};
use binding_common::*;

#[tokio::test]
async fn create_from_nothing_then_converged() {
    let env = env(4).await;
    let spec = LoadBalancerSpec::create(owner(), attrs())
        .port(PortSpec::tcp(80, env.backends(45, 8080)))
        .port(PortSpec::udp(53, env.backends(3, 5353)));
    let b = env.binding(spec);
    let (o, plan) = env.full_plan(&b, None).await;
    assert!(o.load_balancer.is_none());
    println!("{plan}");
    let report = b.apply(&plan).await.expect("apply");
    let lb = report.load_balancer_id.clone().expect("lb");
    println!("{:?}", report.calls);
    let (_, again) = env.full_plan(&b, Some(&lb)).await;
    println!("{again}");
    assert!(again.is_empty(), "{again}");
    let fast = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let p = b.plan(&fast).unwrap();
    assert!(p.is_empty(), "{p}");
    assert_eq!(fast.reads, 3);
}
