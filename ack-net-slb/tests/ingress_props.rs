//! Properties of IngressBinding, for random pairs of specs A and B (routes over a few hosts,
//! wildcards and paths, services with random backends, a default backend or none, 0-3
//! certificates): after A, applying plan(A -> B) yields B (a new plan is empty, and every
//! probe request reaches the group of the service B routes it to, by the product's
//! matching), and a probe that A and B send to the same service reaches that service's
//! group after every step of the way. Each service's group holds exactly B's backends.

mod binding_common;
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ack_net_mock::sample_certificate;
use ack_net_slb::binding::ingress::{
    apply_with, IngressBinding, IngressOwner, IngressPlanOptions, IngressSpec, Route, ServiceRef, TlsCertificate,
};
use ack_net_slb::binding::DrainPolicy;
use ack_net_slb::LoadBalancerId;
use binding_common::{env, Env};
use common::internet_lb;
use proptest::prelude::*;

const HOSTS: [Option<&str>; 4] = [None, Some("a.example.com"), Some("b.example.com"), Some("*.example.com")];
const URLS: [Option<&str>; 5] = [None, Some("/"), Some("/api"), Some("/api/v1"), Some("/static")];
const TLS_HOSTS: [&str; 3] = ["www.example.com", "api.example.com", "shop.example.com"];
const PROBES: [(&str, &str); 8] = [
    ("a.example.com", "/"),
    ("a.example.com", "/api/v1/users"),
    ("a.example.com", "/apis"),
    ("b.example.com", "/static/app.js"),
    ("c.example.com", "/api"),
    ("example.com", "/api"),
    ("x.y.example.com", "/"),
    ("other.org", "/static"),
];

#[derive(Clone, Debug)]
struct Gen {
    /// (host, url) index -> service index.
    routes: BTreeMap<(usize, usize), usize>,
    /// The backend instances (indexes into the pool) of each of 3 services.
    backends: [Vec<usize>; 3],
    default: Option<usize>,
    certificates: Vec<usize>,
}

fn gen() -> impl Strategy<Value = Gen> {
    let route = ((0..HOSTS.len(), 0..URLS.len()), 0usize..3).prop_filter("a host or a path", |((h, u), _)| *h + *u > 0);
    let pool = || proptest::sample::subsequence((0..3).collect::<Vec<usize>>(), 0..=3);
    (
        proptest::collection::btree_map(route.prop_map(|(k, _)| k), 0usize..3, 0..7),
        [pool(), pool(), pool()],
        proptest::option::of(0usize..3),
        proptest::sample::subsequence((0..3).collect::<Vec<usize>>(), 0..=3),
    )
        .prop_map(|(routes, backends, default, certificates)| Gen { routes, backends, default, certificates })
}

fn service(i: usize) -> ServiceRef {
    ServiceRef::new("ns", format!("svc{i}"), "80")
}

fn build(env: &Env, lb: &LoadBalancerId, g: &Gen) -> IngressSpec {
    let pool = env.backends(3, 30000);
    let mut spec = IngressSpec::new(IngressOwner::new("c-prop", "ack-net"), lb.clone());
    for (i, b) in g.backends.iter().enumerate() {
        spec = spec.service(service(i), b.iter().map(|j| pool[*j].clone()).collect());
    }
    for ((h, u), s) in &g.routes {
        spec = spec.route(Route::new(HOSTS[*h], URLS[*u], service(*s), "ns/ingress"));
    }
    if let Some(d) = g.default {
        spec = spec.default_backend(service(d));
    }
    for c in &g.certificates {
        let s = sample_certificate(TLS_HOSTS[*c]).unwrap();
        spec = spec.certificate(TlsCertificate::new(vec![s.host.to_owned()], s.certificate, s.private_key));
    }
    spec
}

/// The service a request should reach by the product's documented matching (exact domain,
/// then wildcard, then no domain; the longest URL prefix within), else the default backend.
fn expected(g: &Gen, host: &str, path: &str) -> Option<usize> {
    let tier = |h: Option<&str>| match h {
        None => Some(0),
        Some(w) if w.starts_with("*.") => host.ends_with(&w[1..]).then_some(1),
        Some(e) => (e == host).then_some(2),
    };
    g.routes
        .iter()
        .filter_map(|((h, u), s)| {
            let t = tier(HOSTS[*h])?;
            let url = URLS[*u].unwrap_or("");
            path.starts_with(url).then_some(((t, url.len()), *s))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, s)| s)
        .or(g.default)
}

/// The group ids of the services' groups, by service index.
async fn groups(env: &Env, lb: &LoadBalancerId) -> BTreeMap<usize, String> {
    let owner = IngressOwner::new("c-prop", "ack-net");
    let all = env.slb.vserver_groups().describe(lb).send().await.unwrap();
    (0..3)
        .filter_map(|i| {
            let name = owner.group_name(&service(i));
            all.iter().find(|g| g.name == name).map(|g| (i, g.vserver_group_id.to_string()))
        })
        .collect()
}

fn reaches(env: &Env, lb: &LoadBalancerId, host: &str, path: &str) -> String {
    env.mock
        .with_state(|s| s.slb.route(lb.as_str(), 80, host, path))
        .and_then(|r| r.vserver_group_id().map(str::to_owned))
        .unwrap_or_default()
}

async fn case(a: Gen, b: Gen) {
    let env = env(3).await;
    let lb = internet_lb(&env.slb).await;
    let options = IngressPlanOptions::default().with_drain(DrainPolicy::none());
    let (spec_a, spec_b) = (build(&env, &lb, &a), build(&env, &lb, &b));
    IngressBinding::new(env.slb.clone(), spec_a).unwrap().with_options(options.clone()).reconcile().await.unwrap();
    let before = groups(&env, &lb).await;
    // The probes A and B send to the same service: they must reach its group all along.
    let steady: Vec<(&str, &str, String)> = PROBES
        .iter()
        .filter_map(|(h, p)| {
            let s = expected(&a, h, p)?;
            (expected(&b, h, p) == Some(s)).then(|| (*h, *p, before[&s].clone()))
        })
        .collect();
    let binding_b = IngressBinding::new(env.slb.clone(), spec_b.clone()).unwrap().with_options(options);
    let plan = binding_b.plan(&binding_b.observe().await.unwrap()).unwrap();
    let broken: Arc<Mutex<Vec<String>>> = Arc::default();
    let (mock, seen) = (&env, broken.clone());
    let mut watch = |i: usize, step: &ack_net_slb::binding::ingress::IngressStep| {
        for (h, p, g) in &steady {
            let got = reaches(mock, &lb, h, p);
            if got != *g {
                seen.lock().unwrap().push(format!("after step {i} ({step}): {h}{p} reaches {got:?}, not {g}"));
            }
        }
    };
    apply_with(&env.slb, &spec_b, &plan, &mut watch).await.unwrap_or_else(|e| panic!("{e}\n{plan}"));
    let broken = broken.lock().unwrap().clone();
    assert!(broken.is_empty(), "{broken:#?}\n{plan}");
    let again = binding_b.plan(&binding_b.observe().await.unwrap()).unwrap();
    assert!(again.is_empty(), "A={a:?}\nB={b:?}\n{plan}\nthen:\n{again}");
    let after = groups(&env, &lb).await;
    let pool = env.backends(3, 30000);
    for (s, g) in &after {
        let mut have: Vec<String> = env.group_backends(g).unwrap().into_iter().map(|b| b.0).collect();
        let mut want: Vec<String> = b.backends[*s].iter().map(|j| pool[*j].server_id.clone()).collect();
        have.sort();
        want.sort();
        assert_eq!(have, want, "the backends of service {s} with B={b:?}");
    }
    for (h, p) in PROBES {
        let want = expected(&b, h, p).map(|s| after[&s].clone());
        let got = reaches(&env, &lb, h, p);
        match want {
            Some(g) => assert_eq!(got, g, "{h}{p} with B={b:?}"),
            // No route and no default backend: the binding's empty group, never a service's.
            None => assert!(!after.values().any(|g| *g == got), "{h}{p} reaches a service with B={b:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn plan_a_to_b_yields_b_without_dropping_steady_routes(a in gen(), b in gen()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(case(a, b));
    }
}
