//! Pure tests of the ingress plan: what a first plan makes, conflicts and quotas found before
//! any step.

use super::*;
use crate::{Backend, Rule};

fn owner() -> IngressOwner {
    IngressOwner::new("c-1", "ack-net")
}

fn web() -> ServiceRef {
    ServiceRef::new("shop", "web", "80")
}

fn api() -> ServiceRef {
    ServiceRef::new("shop", "api", "http")
}

fn spec() -> IngressSpec {
    IngressSpec::new(owner(), "lb-bp1test".parse().unwrap())
        .service(
            web(),
            vec![Backend::ecs(&"i-bp1a".parse().unwrap(), 30080), Backend::ecs(&"i-bp1b".parse().unwrap(), 30080)],
        )
        .service(api(), vec![Backend::ecs(&"i-bp1a".parse().unwrap(), 30081)])
        .route(Route::new(Some("www.example.com"), Some("/"), web(), "shop/web"))
        .route(Route::new(Some("www.example.com"), Some("/api"), api(), "shop/api"))
}

fn actions(p: &IngressPlan) -> Vec<&'static str> {
    p.steps.iter().map(IngressStep::action).collect()
}

#[test]
fn a_first_plan_makes_groups_then_the_listener_then_rules() {
    let p = plan(&spec(), &ObservedIngress::default(), &IngressPlanOptions::default()).unwrap();
    assert_eq!(
        actions(&p),
        [
            "CreateVServerGroup",
            "CreateVServerGroup",
            "CreateVServerGroup",
            "CreateLoadBalancerHTTPListener",
            "StartLoadBalancerListener",
            "CreateRules",
        ]
    );
    let text = p.to_string();
    assert!(text.contains("+ rules on 80: www.example.com/ -> (new group of shop/web:80)"), "{text}");
    let IngressStep::CreateRules { rules, .. } = &p.steps[5] else { panic!() };
    assert_eq!(rules[0].url.as_deref(), Some("/"), "stable order: by host, then URL");
    assert!(rules.iter().all(|r| owner().owns_rule(&r.name)));
}

#[test]
fn two_ingresses_claiming_one_path_conflict_before_any_step() {
    let s = spec().route(Route::new(Some("www.example.com"), Some("/api"), web(), "other/ingress"));
    match plan(&s, &ObservedIngress::default(), &IngressPlanOptions::default()) {
        Err(IngressError::RouteConflict { first, second, .. }) => {
            assert_eq!((first.as_str(), second.as_str()), ("shop/api", "other/ingress"))
        }
        other => panic!("{other:?}"),
    }
    // The same route twice (to the same service) is no conflict.
    let s = spec().route(Route::new(Some("WWW.example.com"), Some("/api"), api(), "other/ingress"));
    assert!(plan(&s, &ObservedIngress::default(), &IngressPlanOptions::default()).is_ok());
}

#[test]
fn a_foreign_rule_on_a_wanted_path_is_a_conflict() {
    let s = spec();
    let p = plan(&s, &ObservedIngress::default(), &IngressPlanOptions::default()).unwrap();
    // Pretend the listener exists (ours) with someone else's rule on /api.
    let l = crate::Listener {
        load_balancer_id: s.load_balancer_id.clone(),
        spec: crate::ListenerSpec::http(80, crate::ListenerBackend::VServerGroup("rsp-bp1x".parse().unwrap()))
            .with_description(owner().listener_description()),
        status: crate::ListenerStatus::Running,
        tags: Vec::new(),
    };
    let foreign: Rule = serde_json::from_value(serde_json::json!({
        "RuleId": "rule-bp1x", "RuleName": "manual", "Domain": "www.example.com", "Url": "/api", "VServerGroupId": "rsp-bp1x"
    }))
    .unwrap();
    let mut o = ObservedIngress::default();
    o.listeners.insert(80, l);
    o.rules.insert(80, vec![foreign]);
    assert!(!p.is_empty());
    match plan(&s, &o, &IngressPlanOptions::default()) {
        Err(IngressError::RouteConflict { first, .. }) => assert!(first.contains("rule-bp1x"), "{first}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn quotas_and_bad_input_are_errors_before_any_step() {
    let mut s = spec();
    for i in 0..40 {
        s = s.route(Route::new(Some("m.example.com"), Some(&format!("/p{i}")), web(), "shop/many"));
    }
    assert!(matches!(
        plan(&s, &ObservedIngress::default(), &IngressPlanOptions::default()),
        Err(IngressError::Quota { wanted: 42, quota: 40, .. })
    ));
    assert!(plan(&s, &ObservedIngress::default(), &IngressPlanOptions::default().with_rule_quota(200)).is_ok());
    let bad = spec().route(Route::new(Some("bad_host.example.com"), Some("/"), web(), "shop/bad"));
    assert!(matches!(bad.validate(), Err(IngressError::InvalidSpec { .. })));
    let bad = spec().route(Route::new(None, Some("/a b"), web(), "shop/bad"));
    assert!(matches!(bad.validate(), Err(IngressError::InvalidSpec { .. })));
    let missing = spec().route(Route::new(None, Some("/x"), ServiceRef::new("shop", "gone", "80"), "shop/bad"));
    assert!(matches!(missing.validate(), Err(IngressError::InvalidSpec { .. })));
    assert!(spec().with_redirect(true).validate().is_err(), "a redirect needs a certificate");
}
