//! A crash between any two steps, then a re-run with throttling and 5xx faults on:
//! the binding converges to exactly the spec, with one load balancer and no orphans.

mod binding_common;

use ack_net_mock::FaultSpec;
use ack_net_slb::binding::{LoadBalancerSpec, PortSpec};
use ack_net_slb::Tag;
use binding_common::*;

fn faults() -> FaultSpec {
    FaultSpec::throttle(0.2).with_server_error(0.1)
}

/// For every k: apply the first k steps of `from -> to`, then re-run (faults on) to the end.
async fn crash_everywhere(make: impl Fn(&Env) -> (Option<LoadBalancerSpec>, LoadBalancerSpec)) {
    let probe = env(4).await;
    let (from, to) = make(&probe);
    let steps = {
        let lb = match &from {
            Some(a) => Some(converge(&probe.binding(a.clone()), None, 3).await),
            None => None,
        };
        probe.full_plan(&probe.binding(to.clone()), lb.as_ref()).await.1.steps.len()
    };
    assert!(steps > 5, "a plan worth crashing in");
    let mut faulted = 0;
    for k in 0..=steps {
        let env = env_with(4, fast_retries()).await;
        let (from, to) = make(&env);
        let lb = match from {
            Some(a) => Some(converge(&env.binding(a), None, 3).await),
            None => None,
        };
        let b = env.binding(to);
        let (_, plan) = env.full_plan(&b, lb.as_ref()).await;
        assert_eq!(plan.steps.len(), steps);
        let done = b.apply(&plan.truncated(k)).await.unwrap_or_else(|e| panic!("step {k}: {e}"));
        let remembered = done.load_balancer_id.or(lb);
        env.mock.set_fault("*", faults()).unwrap();
        // The crashed process may or may not have remembered the new id.
        let remembered = if k % 2 == 0 { remembered } else { None };
        let lb = converge(&b, remembered, 40).await;
        faulted += env.mock.counters().values().map(|c| c.errors).sum::<u64>();
        holds_exactly(&env, &b, &lb).await;
    }
    assert!(faulted > 10, "the faults were on ({faulted} failed calls)");
}

#[tokio::test]
async fn crash_while_creating() {
    crash_everywhere(|env| {
        let to = LoadBalancerSpec::create(owner(), attrs())
            .port(PortSpec::tcp(80, env.backends(30, 8080)))
            .port(PortSpec::udp(53, env.backends(3, 5353)));
        (None, to)
    })
    .await;
}

#[tokio::test]
async fn crash_while_changing_everything() {
    crash_everywhere(|env| {
        let from = LoadBalancerSpec::create(owner(), attrs())
            .port(PortSpec::tcp(80, env.backends(10, 8080)))
            .port(PortSpec::tcp(443, env.backends(5, 8443)))
            .port(PortSpec::udp(53, env.backends(3, 5353)));
        let mut web = env.backends(10, 8080);
        web.truncate(5);
        web.extend(env.backends(25, 9000));
        web[0].weight = 30;
        web[1].weight = 0;
        let to = LoadBalancerSpec::create(owner(), attrs().name("web-2").tag(Tag::new("team", "net")))
            .port(PortSpec::http(80, web))
            .port(PortSpec::udp(53, Vec::new()))
            .port(PortSpec::tcp(8443, env.backends(4, 8443)));
        (Some(from), to)
    })
    .await;
}
