//! Shared setup for the ServiceBinding tests against ack-net-mock.

#![allow(dead_code)]

use std::time::Duration;

use ack_net_core::{CallStats, ErrorInfo, RetryPolicy};
use ack_net_mock::MockCloud;
use ack_net_slb::binding::{
    DrainPolicy, LoadBalancerAttributes, LoadBalancerSpec, ObserveOptions, Observed, Owner, Plan, PlanOptions,
    ServiceBinding,
};
use ack_net_slb::{Backend, EniId, InstanceId, InstanceSpec, LoadBalancerId, SlbClient, VSwitchId};

/// A mock cloud, a client pointed at it, and ECS instances to use as backends.
pub struct Env {
    pub mock: MockCloud,
    pub slb: SlbClient,
    pub stats: CallStats,
    pub vswitch: VSwitchId,
    pub instances: Vec<InstanceId>,
    /// (ENI id, its primary address) of each instance.
    pub enis: Vec<(EniId, std::net::IpAddr)>,
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_attempt_limit(8)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(10))
        .with_throttle_backoff(Duration::from_millis(2))
}

pub async fn env(instances: usize) -> Env {
    env_with(instances, RetryPolicy::no_retry()).await
}

pub async fn env_with(instances: usize, retry: RetryPolicy) -> Env {
    let mock = MockCloud::builder().seed(7).start().await.expect("mock starts");
    let stats = CallStats::new();
    let rpc = mock.client_builder().retry_policy(retry).observer(stats.clone()).build().expect("client");
    let world = mock.scenario().backends(instances).build().expect("the scenario");
    let (ids, enis) = (world.instance_ids(), world.primary_enis());
    Env {
        mock,
        slb: SlbClient::new(rpc),
        stats,
        vswitch: world.vswitch_ids[0].parse().expect("vsw"),
        instances: ids,
        enis,
    }
}

impl Env {
    /// `n` ECS backends: the instances on ports from `base` up, weight 100.
    pub fn backends(&self, n: usize, base: u16) -> Vec<Backend> {
        (0..n)
            .map(|i| {
                let inst = &self.instances[i % self.instances.len()];
                Backend::ecs(inst, base + (i / self.instances.len()) as u16)
            })
            .collect()
    }

    /// The binding of `spec` with no draining and the mock's quota.
    pub fn binding(&self, spec: LoadBalancerSpec) -> ServiceBinding {
        ServiceBinding::builder(spec)
            .slb(self.slb.clone())
            .plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
            .build()
            .expect("valid spec")
    }

    /// Observes fully and plans.
    pub async fn full_plan(&self, b: &ServiceBinding, lb: Option<&LoadBalancerId>) -> (Observed, Plan) {
        let o = b.observe_with(lb, &ObserveOptions::full()).await.expect("observe");
        let p = b.plan(&o).expect("plan");
        (o, p)
    }

    /// The backends of a group as (server id, ip, port, weight), sorted.
    pub fn group_backends(&self, id: &str) -> Option<Vec<(String, String, u16, u8)>> {
        self.mock.with_state(|s| s.slb.vserver_group_backends(id)).map(|mut v| {
            v.sort();
            v
        })
    }

    pub fn lb_count(&self) -> usize {
        self.mock.with_state(|s| s.slb.load_balancer_count())
    }
}

pub fn owner() -> Owner {
    Owner::new("c-test", "default/web")
}

pub fn attrs() -> LoadBalancerAttributes {
    LoadBalancerAttributes::internet(InstanceSpec::S1Small).name("web")
}

/// The group serving `port`, from a full observation.
pub fn group_of(o: &Observed, port: u16) -> ack_net_slb::VServerGroupId {
    let lb = o.load_balancer.as_ref().expect("a load balancer");
    lb.listeners.iter().find(|l| l.port == port).and_then(|l| l.group()).expect("a listener with a group")
}

/// Observes fully until the plan is empty, applying each plan; panics after `rounds`.
pub async fn converge(b: &ServiceBinding, mut lb: Option<LoadBalancerId>, rounds: usize) -> LoadBalancerId {
    for _ in 0..rounds {
        let o = match b.observe_with(lb.as_ref(), &ObserveOptions::full()).await {
            Ok(o) => o,
            Err(e) if e.is_retryable() => continue,
            Err(e) => panic!("observe: {e}"),
        };
        let p = b.plan(&o).expect("plan");
        if p.is_empty() {
            return lb.or_else(|| o.load_balancer.map(|l| l.attributes.load_balancer_id)).expect("a load balancer");
        }
        match b.apply(&p).await {
            Ok(r) => lb = r.load_balancer_id.or(lb),
            Err(e) => {
                assert!(e.source.is_retryable(), "apply failed for good: {e}\n{p}");
                lb = e.report.load_balancer_id.or(lb);
            }
        }
    }
    panic!("did not converge in {rounds} rounds");
}

/// The cloud holds exactly `spec`: a full plan is empty, one load balancer, one group per
/// port with backends, one listener per port.
pub async fn holds_exactly(env: &Env, b: &ServiceBinding, lb: &LoadBalancerId) {
    env.mock.clear_faults();
    let (o, plan) = env.full_plan(b, Some(lb)).await;
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(env.lb_count(), 1);
    let spec = b.spec();
    let o = o.load_balancer.expect("the load balancer");
    assert_eq!(o.listeners.len(), spec.ports.len(), "{:?}", o.listeners);
    let with_group = spec.ports.iter().filter(|p| p.redirects_to().is_none()).count();
    assert_eq!(o.groups.len(), with_group, "no orphan groups: {:?}", o.groups.keys());
    for p in &spec.ports {
        let l = o.listeners.iter().find(|l| l.port == p.port()).expect("listener");
        assert_eq!(l.protocol, p.listener.listener_protocol());
        if let Some(g) = l.group() {
            let have = env.group_backends(g.as_str()).unwrap();
            assert_eq!(have.len(), p.backends.len());
            for w in &p.backends {
                assert!(have
                    .iter()
                    .any(|(id, _, port, weight)| *id == w.server_id && *port == w.port && *weight == w.weight));
            }
        }
    }
}
