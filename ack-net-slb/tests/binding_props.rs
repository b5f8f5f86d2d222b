//! Property: for random pairs of specs A and B, applying plan(A -> B) to a cloud holding A
//! yields exactly B, and no group that serves in both A and B is ever empty on the way.

mod binding_common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ack_net_slb::binding::{ApplyOptions, LoadBalancerSpec, PortSpec, ServiceBinding};
use ack_net_slb::{ListenerSpec, Scheduler};
use binding_common::*;
use proptest::prelude::*;

/// A port: protocol (0 tcp, 1 udp, 2 http), scheduler, backends as (pool index, weight).
type PortGen = (u8, u8, Vec<(usize, u8)>);

#[derive(Clone, Debug)]
struct SpecGen {
    renamed: bool,
    ports: BTreeMap<u16, PortGen>,
}

const POOL: usize = 12;

fn port_gen() -> impl Strategy<Value = PortGen> {
    let backends = proptest::sample::subsequence((0..POOL).collect::<Vec<_>>(), 0..=POOL)
        .prop_flat_map(|idx| {
            let n = idx.len();
            (Just(idx), proptest::collection::vec(prop_oneof![Just(0u8), Just(50), Just(100)], n))
        })
        .prop_map(|(idx, w)| idx.into_iter().zip(w).collect::<Vec<_>>());
    (0u8..3, 0u8..3, backends)
}

fn spec_gen() -> impl Strategy<Value = SpecGen> {
    let port = |p: u16| proptest::option::of(port_gen()).prop_map(move |g| g.map(|g| (p, g)));
    (any::<bool>(), port(80), port(53), port(8080))
        .prop_map(|(renamed, a, b, c)| SpecGen { renamed, ports: [a, b, c].into_iter().flatten().collect() })
}

fn build(env: &Env, g: &SpecGen) -> LoadBalancerSpec {
    let pool = env.backends(POOL, 8000);
    let mut spec = LoadBalancerSpec::create(owner(), if g.renamed { attrs().name("renamed") } else { attrs() });
    for (port, (proto, sched, backends)) in &g.ports {
        let b = backends.iter().map(|(i, w)| pool[*i].clone().with_weight(*w)).collect();
        let mut p = match proto {
            0 => PortSpec::tcp(*port, b),
            1 => PortSpec::udp(*port, b),
            _ => PortSpec::http(*port, b),
        };
        p.listener = ListenerSpec {
            scheduler: [Scheduler::Wrr, Scheduler::Wlc, Scheduler::Rr][*sched as usize].clone(),
            ..p.listener
        };
        spec = spec.port(p);
    }
    spec
}

async fn case(a: SpecGen, b: SpecGen) {
    let env = env(4).await;
    let (spec_a, spec_b) = (build(&env, &a), build(&env, &b));
    let lb = converge(&env.binding(spec_a.clone()), None, 3).await;
    let (observed, _) = env.full_plan(&env.binding(spec_a.clone()), Some(&lb)).await;
    // The groups that serve in both A and B: never empty while B is applied.
    let watched: Vec<(u16, String)> = spec_b
        .ports
        .iter()
        .filter(|pb| !pb.backends.is_empty())
        .filter(|pb| spec_a.port_spec(pb.port()).is_some_and(|pa| !pa.backends.is_empty()))
        .map(|pb| (pb.port(), group_of(&observed, pb.port()).to_string()))
        .collect();
    let empty: Arc<Mutex<Vec<String>>> = Arc::default();
    let mock = Arc::new(env.mock);
    let (m, e, w) = (mock.clone(), empty.clone(), watched.clone());
    let hook = ApplyOptions::default().with_concurrency(3).on_step(move |r| {
        for (port, g) in &w {
            let n = m.with_state(|s| s.slb.vserver_group_backends(g)).map_or(0, |b| b.len());
            if n == 0 {
                e.lock().unwrap().push(format!("port {port}: group {g} empty after step {} ({})", r.id, r.summary));
            }
        }
    });
    let binding_b = ServiceBinding::builder(spec_b.clone())
        .slb(env.slb.clone())
        .plan_options(env_plan_options())
        .apply_options(hook)
        .build()
        .unwrap();
    let o = binding_b.observe_remembered(&lb).await.unwrap();
    let plan = binding_b.plan(&o).unwrap();
    binding_b.apply(&plan).await.unwrap_or_else(|e| panic!("{e}\n{plan}"));
    let violations = empty.lock().unwrap().clone();
    assert!(violations.is_empty(), "{violations:?}\n{plan}");
    // Exactly B: a full observation plans nothing, and each group holds B's backends.
    let o = binding_b.observe_remembered(&lb).await.unwrap();
    let again = binding_b.plan(&o).unwrap();
    assert!(again.is_empty(), "A={a:?}\nB={b:?}\n{plan}\nthen:\n{again}");
    let lbo = o.load_balancer.unwrap();
    assert_eq!(lbo.listeners.len(), spec_b.ports.len());
    assert_eq!(lbo.groups.len(), spec_b.ports.len(), "no orphan groups");
    for p in &spec_b.ports {
        let g = lbo.listeners.iter().find(|l| l.port == p.port()).and_then(|l| l.group()).unwrap();
        let mut have = mock.with_state(|s| s.slb.vserver_group_backends(g.as_str())).unwrap();
        have.sort();
        let mut want: Vec<(String, String, u16, u8)> =
            p.backends.iter().map(|b| (b.server_id.clone(), String::new(), b.port, b.weight)).collect();
        want.sort();
        assert_eq!(have, want, "port {}", p.port());
    }
}

fn env_plan_options() -> ack_net_slb::binding::PlanOptions {
    ack_net_slb::binding::PlanOptions::default().with_drain(ack_net_slb::binding::DrainPolicy::none())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn plan_a_to_b_yields_b(a in spec_gen(), b in spec_gen()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(case(a, b));
    }
}
