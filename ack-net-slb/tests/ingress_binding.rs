//! IngressBinding against the mock: a first apply routes as asked, a converged binding writes
//! nothing, one path added is one write, a rotated certificate is upload, switch, delete;
//! only the binding's own parts are touched; conflicts are found before any write.

mod binding_common;
mod common;

use ack_net_mock::{renewed_sample_certificate, sample_certificate, SampleCertificate};
use ack_net_slb::binding::ingress::{
    IngressBinding, IngressError, IngressOwner, IngressPlanOptions, IngressSpec, Route, ServiceRef, TlsCertificate,
};
use ack_net_slb::binding::DrainPolicy;
use ack_net_slb::{ListenerProtocol, LoadBalancerId, RuleSpec, VServerGroupId};
use binding_common::{env, Env};
use common::internet_lb;

fn tls(s: SampleCertificate) -> TlsCertificate {
    TlsCertificate::new(vec![s.host.to_owned()], s.certificate, s.private_key)
}

fn owner() -> IngressOwner {
    IngressOwner::new("c-test", "ack-net")
}

fn web() -> ServiceRef {
    ServiceRef::new("shop", "web", "80")
}

fn api() -> ServiceRef {
    ServiceRef::new("shop", "api", "8080")
}

fn spec(env: &Env, lb: &LoadBalancerId) -> IngressSpec {
    IngressSpec::new(owner(), lb.clone())
        .service(web(), env.backends(2, 30080))
        .service(api(), env.backends(3, 30081))
        .route(Route::new(Some("www.example.com"), Some("/"), web(), "shop/web"))
        .route(Route::new(Some("www.example.com"), Some("/api"), api(), "shop/api"))
        .route(Route::new(Some("api.example.com"), None, api(), "shop/api"))
        .default_backend(web())
        .certificate(tls(sample_certificate("www.example.com").unwrap()))
        .certificate(tls(sample_certificate("api.example.com").unwrap()))
        .with_redirect(true)
}

fn binding(env: &Env, spec: IngressSpec) -> IngressBinding {
    IngressBinding::new(env.slb.clone(), spec)
        .unwrap()
        .with_options(IngressPlanOptions::default().with_drain(DrainPolicy::none()))
}

/// The group a request reaches through the listener on `port`.
fn reaches(env: &Env, lb: &LoadBalancerId, port: u16, host: &str, path: &str) -> String {
    env.mock
        .with_state(|s| s.slb.route(lb.as_str(), port, host, path))
        .and_then(|r| r.vserver_group_id().map(str::to_owned))
        .unwrap_or_default()
}

/// The group the binding made for `service`.
async fn group_of(env: &Env, lb: &LoadBalancerId, service: &ServiceRef) -> VServerGroupId {
    let name = owner().group_name(service);
    let groups = env.slb.vserver_groups().describe(lb).send().await.unwrap();
    groups.into_iter().find(|g| g.name == name).expect("group").vserver_group_id
}

fn writes(env: &Env) -> u64 {
    env.mock.calls().iter().filter(|c| !c.action.starts_with("Describe")).count() as u64
}

#[tokio::test]
async fn lifecycle_routes_converges_adds_rotates_and_deletes() {
    let env = env(3).await;
    let lb = internet_lb(&env.slb).await;
    let b = binding(&env, spec(&env, &lb));
    let first = b.reconcile().await.unwrap();
    assert!(first.plan.calls() > 0);
    let (web_g, api_g) = (group_of(&env, &lb, &web()).await, group_of(&env, &lb, &api()).await);
    assert_eq!(reaches(&env, &lb, 443, "www.example.com", "/api/v1"), api_g.as_str());
    assert_eq!(reaches(&env, &lb, 443, "www.example.com", "/index.html"), web_g.as_str());
    assert_eq!(reaches(&env, &lb, 443, "api.example.com", "/anything"), api_g.as_str());
    assert_eq!(reaches(&env, &lb, 443, "other.example.com", "/"), web_g.as_str(), "the default backend");
    let redirect = env.mock.with_state(|s| s.slb.route(lb.as_str(), 80, "www.example.com", "/"));
    assert_eq!(redirect, Some(ack_net_mock::Routed::Redirect { port: 443 }));
    let extensions = env.slb.domain_extensions().describe(&lb, 443).send().await.unwrap();
    assert_eq!(extensions.len(), 1);
    assert_eq!(extensions[0].domain, "api.example.com");

    // Converged: nothing to do, no write.
    env.mock.clear_calls();
    let again = b.reconcile().await.unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    assert_eq!(writes(&env), 0);

    // One path more: one CreateRules (HTTP redirects, so only the HTTPS listener serves).
    let more = spec(&env, &lb).route(Route::new(Some("www.example.com"), Some("/static"), web(), "shop/static"));
    env.mock.clear_calls();
    let r = binding(&env, more.clone()).reconcile().await.unwrap();
    assert_eq!(writes(&env), 1, "{}", r.plan);
    assert_eq!(env.mock.count("CreateRules"), 1);

    // The www certificate rotated: upload, switch, delete the old one.
    let mut rotated = more.clone();
    rotated.certificates[0] = tls(renewed_sample_certificate());
    env.mock.clear_calls();
    let r = binding(&env, rotated.clone()).reconcile().await.unwrap();
    let actions: Vec<&str> = r.plan.steps.iter().map(|s| s.action()).collect();
    assert_eq!(
        actions,
        ["UploadServerCertificate", "SetLoadBalancerHTTPSListenerAttribute", "DeleteServerCertificate"],
        "{}",
        r.plan
    );
    assert_eq!(writes(&env), 3);
    assert!(binding(&env, rotated.clone()).reconcile().await.unwrap().plan.is_empty());

    // A backend leaves web's group; api's service goes entirely.
    let mut smaller = IngressSpec::new(owner(), lb.clone())
        .service(web(), env.backends(1, 30080))
        .route(Route::new(Some("www.example.com"), Some("/"), web(), "shop/web"))
        .default_backend(web());
    smaller.certificates = rotated.certificates[..1].to_vec();
    let r = binding(&env, smaller.clone()).reconcile().await.unwrap();
    assert!(binding(&env, smaller.clone()).reconcile().await.unwrap().plan.is_empty(), "{}", r.plan);
    assert_eq!(reaches(&env, &lb, 443, "www.example.com", "/api"), web_g.as_str());
    assert_eq!(env.mock.with_state(|s| s.slb.vserver_group_backends(web_g.as_str())).unwrap().len(), 1);
    assert!(env.slb.domain_extensions().describe(&lb, 443).send().await.unwrap().is_empty());
    assert_eq!(env.mock.with_state(|s| s.slb.vserver_group_backends(api_g.as_str())), None, "api's group is gone");

    // Delete: everything of the binding goes, the load balancer stays.
    binding(&env, smaller).delete().await.unwrap();
    let listeners: Vec<_> = env.slb.listeners().describe().load_balancer_id(&lb).send().await.unwrap().listeners;
    assert!(listeners.is_empty());
    assert!(env.slb.vserver_groups().describe(&lb).send().await.unwrap().is_empty());
    assert!(env.slb.certificates().describe().send().await.unwrap().is_empty());
}

#[tokio::test]
async fn only_its_own_parts_are_touched_and_conflicts_come_before_writes() {
    let env = env(2).await;
    let lb = internet_lb(&env.slb).await;
    // Someone else's group and certificate on the same load balancer and region.
    let theirs = env.slb.vserver_groups().create(&lb, "manual").send().await.unwrap().vserver_group_id;
    let shop = sample_certificate("shop.example.com").unwrap();
    let their_cert = env.slb.certificates().upload("manual", shop.certificate, shop.private_key).send().await.unwrap();
    let b = binding(&env, spec(&env, &lb));
    b.reconcile().await.unwrap();
    // Someone adds a rule by hand on the binding's HTTPS listener.
    env.slb
        .rules()
        .create(&lb, 443, ListenerProtocol::Https)
        .rule(RuleSpec::new("manual", Some("shop.example.com"), Some("/"), theirs.clone()))
        .send()
        .await
        .unwrap();
    assert!(b.reconcile().await.unwrap().plan.is_empty(), "a foreign rule elsewhere is left alone");
    // A route onto the foreign rule's host and path: a conflict, and nothing written.
    let clash = spec(&env, &lb).route(Route::new(Some("shop.example.com"), Some("/"), web(), "shop/clash"));
    env.mock.clear_calls();
    match binding(&env, clash).reconcile().await {
        Err(IngressError::RouteConflict { first, second, .. }) => {
            assert!(first.contains("manual"), "{first}");
            assert_eq!(second, "shop/clash");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(writes(&env), 0);
    // Deleting the binding's listener would take the foreign rule with it: refused, nothing
    // written. Once that rule is gone, the delete leaves the foreign group and certificate.
    env.mock.clear_calls();
    let e = binding(&env, spec(&env, &lb)).delete().await.unwrap_err();
    assert!(matches!(e, IngressError::ForeignRules { port: 443, .. }), "{e}");
    assert_eq!(writes(&env), 0);
    let manual: Vec<_> = env.slb.rules().describe(&lb, 443, ListenerProtocol::Https).send().await.unwrap();
    let manual: Vec<_> = manual.into_iter().filter(|r| r.name == "manual").map(|r| r.rule_id).collect();
    env.slb.rules().delete(&manual).await.unwrap();
    binding(&env, spec(&env, &lb)).delete().await.unwrap();
    assert_eq!(env.slb.vserver_groups().describe(&lb).send().await.unwrap().len(), 1);
    let certs = env.slb.certificates().describe().send().await.unwrap();
    assert_eq!(certs.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [their_cert.id]);
}

#[tokio::test]
async fn an_acl_is_set_on_both_listeners_in_place_and_converges() {
    use ack_net_slb::{AclId, AclType};
    let env = env(2).await;
    let lb = internet_lb(&env.slb).await;
    let acl: AclId = "acl-bp1office".parse().unwrap();
    let serving = || spec(&env, &lb).with_redirect(false);
    binding(&env, serving()).reconcile().await.unwrap();

    // An ACL on both listeners: each is set in place (no listener is made again).
    env.mock.clear_calls();
    let r = binding(&env, serving().with_acl(acl.clone(), AclType::White)).reconcile().await.unwrap();
    let actions: Vec<&str> = r.plan.steps.iter().map(|s| s.action()).collect();
    assert_eq!(
        actions,
        ["SetLoadBalancerHTTPSListenerAttribute", "SetLoadBalancerHTTPListenerAttribute"],
        "{}",
        r.plan
    );
    for (port, protocol) in [(80, ListenerProtocol::Http), (443, ListenerProtocol::Https)] {
        let l = env.slb.listeners().get(&lb, port, protocol).await.unwrap();
        assert_eq!(l.spec.acl.as_ref().map(|a| (&a.acl_id, &a.kind)), Some((&acl, &AclType::White)), "{port}");
    }
    let again = binding(&env, serving().with_acl(acl.clone(), AclType::White)).reconcile().await.unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);

    // A redirecting HTTP listener has no group to set again: another ACL makes it again.
    let redirecting = binding(&env, spec(&env, &lb).with_acl(acl.clone(), AclType::White)).reconcile().await.unwrap();
    assert!(!redirecting.plan.is_empty());
    let r = binding(&env, spec(&env, &lb).with_acl(acl, AclType::Black)).reconcile().await.unwrap();
    let actions: Vec<&str> = r.plan.steps.iter().map(|s| s.action()).collect();
    assert!(
        actions.contains(&"DeleteLoadBalancerListener") && actions.contains(&"CreateLoadBalancerHTTPListener"),
        "{actions:?}"
    );
    assert!(actions.contains(&"SetLoadBalancerHTTPSListenerAttribute"), "{actions:?}");
    let l = env.slb.listeners().get(&lb, 80, ListenerProtocol::Http).await.unwrap();
    assert_eq!(l.spec.acl.map(|a| a.kind), Some(AclType::Black));
    assert!(binding(&env, spec(&env, &lb).with_acl("acl-bp1office".parse().unwrap(), AclType::Black))
        .reconcile()
        .await
        .unwrap()
        .plan
        .is_empty());
}
