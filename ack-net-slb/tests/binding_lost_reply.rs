//! Lost replies: the mock runs a call and then loses its answer (the `lost` fault), for every
//! action at once. A binding that converges through them leaves exactly one load balancer,
//! one listener per port and one VServer group per port: a retry after a lost reply creates
//! no second load balancer, listener or group, and nothing leaks.

mod binding_common;

use ack_net_mock::FaultSpec;
use ack_net_slb::binding::{LoadBalancerSpec, PortSpec};
use binding_common::*;

/// The mutating calls a binding makes on the way from nothing to `first`, then to `second`.
const CREATES: &[&str] = &[
    "CreateLoadBalancer",
    "CreateVServerGroup",
    "AddVServerGroupBackendServers",
    "CreateLoadBalancerTCPListener",
    "CreateLoadBalancerUDPListener",
    "StartLoadBalancerListener",
];

fn first() -> impl Fn(&Env) -> LoadBalancerSpec {
    |env| {
        LoadBalancerSpec::create(owner(), attrs())
            .port(PortSpec::tcp(80, env.backends(30, 8080)))
            .port(PortSpec::udp(53, env.backends(3, 5353)))
    }
}

#[tokio::test]
async fn each_create_survives_its_first_reply_lost() {
    for action in CREATES {
        let env = env_with(4, fast_retries()).await;
        env.mock.lose_next_replies(action, 1);
        let b = env.binding(first()(&env));
        let lb = converge(&b, None, 40).await;
        let lost = env.mock.calls_of(action).iter().filter(|c| c.reply_lost).count();
        assert_eq!(lost, 1, "{action}: the first reply was lost");
        holds_exactly(&env, &b, &lb).await;
    }
}

#[tokio::test]
async fn a_binding_converges_through_lost_replies_without_duplicates() {
    let env = env_with(4, fast_retries()).await;
    env.mock.set_fault("*", FaultSpec::none().with_lost_reply(0.25)).unwrap();
    let b = env.binding(first()(&env));
    let lb = converge(&b, None, 40).await;
    assert!(env.mock.calls().iter().any(|c| c.reply_lost), "replies were lost");
    holds_exactly(&env, &b, &lb).await;

    // Changing every port: listeners and groups go and come, replies still get lost.
    env.mock.set_fault("*", FaultSpec::none().with_lost_reply(0.25)).unwrap();
    let mut web = env.backends(10, 8080);
    web.truncate(4);
    web.extend(env.backends(12, 9000));
    let second = LoadBalancerSpec::create(owner(), attrs())
        .port(PortSpec::http(80, web))
        .port(PortSpec::tcp(8443, env.backends(4, 8443)));
    let b = env.binding(second);
    let lb2 = converge(&b, Some(lb.clone()), 40).await;
    assert_eq!(lb2, lb, "the same load balancer");
    holds_exactly(&env, &b, &lb).await;
}
