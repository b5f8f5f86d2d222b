//! ServiceBinding against ack-net-mock: create, converge, drift, scale, protocol change,
//! draining, a full group; API calls counted.

mod binding_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ack_net_slb::binding::{
    ApplyOptions, BindingError, DrainPolicy, LoadBalancerSource, LoadBalancerSpec, ObserveOptions, PlanOptions,
    PortSpec, ServiceBinding,
};
use ack_net_slb::{ListenerBackend, ListenerProtocol, ListenerSpec, Scheduler};
use binding_common::*;

/// A step's action and the group's weights after it.
type StepWeights = (String, Vec<u8>);

#[tokio::test]
async fn create_from_nothing_counts_and_converges() {
    let env = env(5).await;
    let (p, n) = (2u64, 45u64);
    let spec = LoadBalancerSpec::create(owner(), attrs())
        .port(PortSpec::tcp(80, env.backends(45, 8080)))
        .port(PortSpec::tcp(443, env.backends(45, 9443)));
    let b = env.binding(spec);
    env.stats.reset();
    let (o, plan) = env.full_plan(&b, None).await;
    assert!(o.load_balancer.is_none());
    let report = b.apply(&plan).await.expect("apply");
    let created = env.stats.total();
    let bound = 1 + p * (3 + n.div_ceil(20));
    assert!(created <= bound, "first creation made {created} calls, more than {bound}\n{}", env.stats);
    assert_eq!(report.total_calls(), created - o.reads, "the report counts every call apply made");
    assert_eq!(env.stats.calls("CreateLoadBalancer"), 1);
    let lb = report.load_balancer_id.clone().expect("lb");

    // Converged: nothing to do, in either mode.
    let (_, again) = env.full_plan(&b, Some(&lb)).await;
    assert!(again.is_empty(), "{again}");
    env.stats.reset();
    let fast = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let plan = b.plan(&fast).unwrap();
    assert!(plan.is_empty(), "{plan}");
    b.apply(&plan).await.unwrap();
    assert_eq!(env.stats.writes(), 0);
    assert!(env.stats.reads() <= 1 + p, "{}", env.stats);
    assert_eq!(fast.reads, env.stats.reads());
    // Without the remembered id, the tags find it: one more read.
    let by_tags = b.observe_with(None, &ObserveOptions::fast()).await.unwrap();
    assert_eq!(by_tags.reads, 2 + p);
    assert!(b.plan(&by_tags).unwrap().is_empty());
    assert_eq!(env.lb_count(), 1);
}

#[tokio::test]
async fn one_backend_changed_costs_one_write() {
    let env = env(4).await;
    let base = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(40, 8080)));
    let lb = converge(&env.binding(base.clone()), None, 3).await;
    let mut changes = Vec::new();
    let mut weight = base.clone();
    weight.ports[0].backends[5].weight = 10;
    changes.push(weight);
    let mut added = base.clone();
    added.ports[0].backends.push(env.backends(1, 7000).remove(0));
    changes.push(added);
    let mut removed = base.clone();
    removed.ports[0].backends.remove(17);
    changes.push(removed);
    for spec in changes {
        let b = env.binding(spec);
        env.stats.reset();
        let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
        let plan = b.plan(&o).unwrap();
        b.apply(&plan).await.unwrap();
        assert_eq!(env.stats.writes(), 1, "{plan}\n{}", env.stats);
        assert!(b.plan(&b.observe_with(Some(&lb), &ObserveOptions::full()).await.unwrap()).unwrap().is_empty());
        // Back to the base for the next change.
        converge(&env.binding(base.clone()), Some(lb.clone()), 3).await;
    }
}

#[tokio::test]
async fn converges_after_drift() {
    let env = env(3).await;
    let spec = LoadBalancerSpec::create(owner(), attrs())
        .port(PortSpec::tcp(80, env.backends(6, 8080)))
        .port(PortSpec::tcp(443, env.backends(6, 8443)));
    let b = env.binding(spec.clone());
    let lb = converge(&b, None, 3).await;
    let (o, _) = env.full_plan(&b, Some(&lb)).await;
    let (g80, g443) = (group_of(&o, 80), group_of(&o, 443));
    let slb = &env.slb;
    // A person deletes a listener, changes a weight, stops a listener, edits one, and adds
    // a listener of their own.
    slb.listeners().delete(&lb, 80, ListenerProtocol::Tcp).send().await.unwrap();
    let mut one = spec.ports[1].backends[2].clone();
    one.weight = 3;
    slb.vserver_groups().set_backends(&g443, vec![one]).send().await.unwrap();
    slb.listeners().stop(&lb, 443, ListenerProtocol::Tcp).send().await.unwrap();
    let theirs = ListenerSpec::tcp(9000, ListenerBackend::DefaultServerGroup { port: 80 });
    slb.listeners().create(&lb, theirs).send().await.unwrap();

    let (_, plan) = env.full_plan(&b, Some(&lb)).await;
    let text = plan.to_string();
    assert!(text.contains("create tcp listener"), "{text}");
    assert!(!text.contains("create VServer group"), "the group is reused: {text}");
    assert!(!text.contains("9000"), "the foreign listener is left alone: {text}");
    b.apply(&plan).await.unwrap();
    let (o, again) = env.full_plan(&b, Some(&lb)).await;
    assert!(again.is_empty(), "{again}");
    assert_eq!((group_of(&o, 80), group_of(&o, 443)), (g80, g443.clone()));
    assert!(o.load_balancer.unwrap().listeners.iter().any(|l| l.port == 9000));

    // A person edits the binding's listener: a full observation sees it.
    let mut edited = ListenerSpec::tcp(443, ListenerBackend::VServerGroup(g443.clone())).with_scheduler(Scheduler::Rr);
    edited.description = b
        .observe_with(Some(&lb), &ObserveOptions::full())
        .await
        .unwrap()
        .load_balancer
        .unwrap()
        .listeners
        .iter()
        .find(|l| l.port == 443)
        .unwrap()
        .description
        .clone();
    slb.listeners().set(&lb, edited).send().await.unwrap();
    let (_, plan) = env.full_plan(&b, Some(&lb)).await;
    assert_eq!(plan.writes(), 1, "{plan}");
    assert!(plan.to_string().contains("scheduler"), "{plan}");
    b.apply(&plan).await.unwrap();
    assert!(env.full_plan(&b, Some(&lb)).await.1.is_empty());
}

#[tokio::test]
async fn scale_backends_from_0_to_1000_and_back() {
    let env = env(10).await;
    env.mock.with_state(|s| s.slb.set_backend_quota(1000));
    let options = PlanOptions::default().with_group_quota(1000).with_drain(DrainPolicy::none());
    let with = |n: usize| {
        let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(n, 8000)));
        ServiceBinding::builder(spec).slb(env.slb.clone()).plan_options(options.clone()).build().expect("valid")
    };
    let lb = converge(&with(0), None, 3).await;
    for (n, calls) in [(1000usize, 50u64), (0, 50)] {
        let b = with(n);
        env.stats.reset();
        let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
        let plan = b.plan(&o).unwrap();
        b.apply(&plan).await.unwrap();
        assert_eq!(env.stats.writes(), calls, "{}", env.stats);
        let (o, again) = env.full_plan(&b, Some(&lb)).await;
        assert!(again.is_empty(), "{again}");
        assert_eq!(env.group_backends(group_of(&o, 80).as_str()).unwrap().len(), n);
    }
    // With the cloud's default quota, 1,000 backends are refused before any write.
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(1000, 8000)));
    let b = ServiceBinding::builder(spec).slb(env.slb.clone()).build().unwrap();
    let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let e = b.plan(&o).unwrap_err();
    assert!(matches!(e, BindingError::TooManyBackends { wanted: 1000, quota: 200, .. }), "{e}");
}

#[tokio::test]
async fn changing_the_protocol_recreates_the_listener_and_keeps_the_group() {
    let env = env(3).await;
    let tcp = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(5, 8080)));
    let lb = converge(&env.binding(tcp.clone()), None, 3).await;
    let (o, _) = env.full_plan(&env.binding(tcp.clone()), Some(&lb)).await;
    let group = group_of(&o, 80);
    let mut http = tcp.clone();
    http.ports[0] = PortSpec::http(80, env.backends(5, 8080));
    let b = env.binding(http);
    let (_, plan) = env.full_plan(&b, Some(&lb)).await;
    let text = plan.to_string();
    assert!(text.contains("recreate http listener"), "{text}");
    assert!(text.contains("delete tcp listener (to recreate it"), "{text}");
    b.apply(&plan).await.unwrap();
    let (o, again) = env.full_plan(&b, Some(&lb)).await;
    assert!(again.is_empty(), "{again}");
    let l = &o.load_balancer.as_ref().unwrap().listeners[0];
    assert_eq!(l.protocol, ListenerProtocol::Http);
    assert_eq!(group_of(&o, 80), group);
}

#[tokio::test]
async fn attributes_change_in_place() {
    let env = env(2).await;
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(2, 8080)));
    let lb = converge(&env.binding(spec.clone()), None, 3).await;
    let mut next = spec.clone();
    next.ports[0].listener.scheduler = Scheduler::Wlc;
    if let LoadBalancerSource::Create(a) = &mut next.load_balancer {
        a.name = Some("web-2".into());
        a.delete_protection = true;
        a.tags.push(ack_net_slb::Tag::new("team", "net"));
    }
    let b = env.binding(next);
    // The fast observation sees the listener change through its fingerprint.
    let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let plan = b.plan(&o).unwrap();
    assert_eq!(plan.writes(), 4, "{plan}");
    b.apply(&plan).await.unwrap();
    let (o, again) = env.full_plan(&b, Some(&lb)).await;
    assert!(again.is_empty(), "{again}");
    let attrs = o.load_balancer.unwrap().attributes;
    assert_eq!(attrs.name, "web-2");
    assert!(attrs.delete_protection);
}

#[tokio::test]
async fn leaving_backends_drain_at_weight_zero_first() {
    let env = env(4).await;
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(8, 8080)));
    let lb = converge(&env.binding(spec.clone()), None, 3).await;
    let (o, _) = env.full_plan(&env.binding(spec.clone()), Some(&lb)).await;
    let group = group_of(&o, 80);
    let mut fewer = spec.clone();
    fewer.ports[0].backends.truncate(4);
    let seen: Arc<Mutex<Vec<StepWeights>>> = Arc::default();
    let (g, s2) = (group.to_string(), seen.clone());
    let mock = Arc::new(env.mock);
    let m2 = mock.clone();
    let hook = ApplyOptions::default().on_step(move |r| {
        let mut w: Vec<u8> = m2.with_state(|s| s.slb.vserver_group_backends(&g)).unwrap().iter().map(|b| b.3).collect();
        w.sort();
        s2.lock().unwrap().push((r.action.to_owned(), w));
    });
    let b = ServiceBinding::builder(fewer.clone())
        .slb(env.slb.clone())
        .plan_options(PlanOptions::default().with_drain(DrainPolicy::for_period(Duration::from_millis(40))))
        .apply_options(hook)
        .build()
        .unwrap();
    let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let plan = b.plan(&o).unwrap();
    let report = b.apply(&plan).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let actions: Vec<&str> = seen.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["SetVServerGroupAttribute", "Wait", "RemoveVServerGroupBackendServers"]);
    assert_eq!(seen[0].1, [0, 0, 0, 0, 100, 100, 100, 100], "drained to weight 0, still in the group");
    assert_eq!(seen[2].1, [100, 100, 100, 100]);
    let wait = report.steps.iter().find(|s| s.action == "Wait").unwrap();
    assert!(wait.elapsed >= Duration::from_millis(40));

    // Health polling ends the wait once the leaving backends are out of service.
    let mut again = fewer.clone();
    again.ports[0].backends.truncate(2);
    for backend in &fewer.ports[0].backends[2..4] {
        mock.with_state(|s| s.slb.set_backend_abnormal(&backend.server_id, true));
    }
    let b = ServiceBinding::builder(again)
        .slb(b.client().clone())
        .plan_options(PlanOptions::default().with_drain(
            DrainPolicy::for_period(Duration::from_secs(30)).with_health_polling(Duration::from_millis(10)),
        ))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let o = b.observe_with(Some(&lb), &ObserveOptions::fast()).await.unwrap();
    let report = b.apply(&b.plan(&o).unwrap()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the wait ended early");
    assert!(report.reads() >= 1, "{:?}", report.calls);
}

#[tokio::test]
async fn a_full_group_swaps_backends_without_shrinking() {
    let env = env(6).await;
    env.mock.with_state(|s| s.slb.set_backend_quota(30));
    let options = PlanOptions::default().with_group_quota(30).with_drain(DrainPolicy::none());
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(30, 8080)));
    let binding = ServiceBinding::builder(spec.clone()).slb(env.slb.clone()).plan_options(options.clone()).build();
    let lb = converge(&binding.unwrap(), None, 3).await;
    let (o, _) = env.full_plan(&env.binding(spec.clone()), Some(&lb)).await;
    let g = group_of(&o, 80).to_string();
    let mut next = spec.clone();
    next.ports[0].backends = env.backends(30, 9080);
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let (mock, s2) = (Arc::new(env.mock), sizes.clone());
    let m2 = mock.clone();
    let b = ServiceBinding::builder(next)
        .slb(env.slb.clone())
        .plan_options(options)
        .apply_options(ApplyOptions::default().on_step(move |_| {
            s2.lock().unwrap().push(m2.with_state(|s| s.slb.vserver_group_backends(&g)).unwrap().len());
        }))
        .build()
        .unwrap();
    let o = b.observe_with(Some(&lb), &ObserveOptions::full()).await.unwrap();
    let plan = b.plan(&o).unwrap();
    assert!(plan.to_string().contains("group full"), "{plan}");
    b.apply(&plan).await.unwrap();
    assert_eq!(*sizes.lock().unwrap(), [30, 30], "two swaps of 20 and 10, never fewer than 30");
    assert!(b.plan(&b.observe_with(Some(&lb), &ObserveOptions::full()).await.unwrap()).unwrap().is_empty());
}

#[tokio::test]
async fn independent_steps_run_at_once() {
    let env = env(2).await;
    let mut spec = LoadBalancerSpec::create(owner(), attrs());
    for port in [80, 81, 82, 83] {
        spec = spec.port(PortSpec::tcp(port, env.backends(2, 8080)));
    }
    let b = env.binding(spec);
    let (_, plan) = env.full_plan(&b, None).await;
    // 1 + 4 x 3 calls; the ports' chains are independent of each other.
    assert_eq!(plan.writes(), 13);
    env.mock.set_fault("*", ack_net_mock::FaultSpec::latency(Duration::from_millis(60))).unwrap();
    let started = std::time::Instant::now();
    let report = b.apply_with(&plan, &ApplyOptions::default().with_concurrency(4)).await.unwrap();
    let took = started.elapsed();
    // One after the other: 13 x 60 ms = 780 ms; at once: 60 ms + 3 x 60 ms.
    assert!(took < Duration::from_millis(600), "{took:?}");
    assert_eq!(report.total_calls(), 13);
}
