//! ServiceBinding and what it does not own: reused and shared load balancers, conflicts,
//! ambiguous ownership, deletion in each mode, the ClientToken, ENI backends.

mod binding_common;

use ack_net_core::ErrorInfo;

use ack_net_slb::binding::{
    BindingError, FoundBy, LoadBalancerSpec, Owner, PortHolder, PortSpec, CLUSTER_TAG, SERVICE_TAG,
};
use ack_net_slb::{AddressType, Backend, InstanceSpec, ListenerBackend, ListenerSpec, LoadBalancerId, Tag};
use binding_common::*;

/// A load balancer a person made, with a listener on 8000 and a group of their own.
async fn foreign_lb(env: &Env) -> (LoadBalancerId, ack_net_slb::VServerGroupId) {
    let slb = &env.slb;
    let lb = slb
        .load_balancers()
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S2Small)
        .delete_protection(true)
        .tag(Tag::new("owner", "ops"))
        .send()
        .await
        .unwrap()
        .load_balancer_id;
    let g = slb.vserver_groups().create(&lb, "manual").backends(env.backends(2, 7000)).send().await.unwrap();
    let theirs =
        ListenerSpec::tcp(8000, ListenerBackend::VServerGroup(g.vserver_group_id.clone())).with_description("ops");
    slb.listeners().create(&lb, theirs).send().await.unwrap();
    (lb, g.vserver_group_id)
}

fn listener_ports(env: &Env, lb: &LoadBalancerId) -> Vec<u64> {
    let dump = env.mock.dump();
    let lbs = dump["slb"]["LoadBalancers"].as_array().unwrap().clone();
    let one = lbs.iter().find(|l| l["id"] == lb.as_str()).expect("the load balancer");
    one["listeners"].as_array().unwrap().iter().map(|l| l["port"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn reuse_keeps_everything_that_is_not_the_bindings() {
    let env = env(3).await;
    let (lb, their_group) = foreign_lb(&env).await;
    let before = env.group_backends(their_group.as_str());
    let spec = LoadBalancerSpec::reuse(owner(), lb.clone())
        .port(PortSpec::tcp(80, env.backends(3, 8080)))
        .port(PortSpec::udp(8000, env.backends(3, 5000)));
    let b = env.binding(spec.clone());
    let (o, plan) = env.full_plan(&b, None).await;
    assert_eq!(o.load_balancer.as_ref().unwrap().found_by, FoundBy::Reuse);
    assert!(!plan.to_string().contains("create internet load balancer"), "{plan}");
    b.apply(&plan).await.unwrap();
    assert!(env.full_plan(&b, None).await.1.is_empty());
    assert_eq!(listener_ports(&env, &lb), [80, 8000, 8000], "UDP 8000 beside their TCP 8000");
    assert_eq!(env.group_backends(their_group.as_str()), before);

    // Deleting the binding removes its listeners and groups only.
    let r = b.delete(None).await.unwrap();
    assert!(!r.plan.to_string().contains("delete load balancer"), "{}", r.plan);
    assert_eq!(listener_ports(&env, &lb), [8000]);
    assert_eq!(env.group_backends(their_group.as_str()), before);
    let attrs = env.slb.load_balancers().get(&lb).await.unwrap();
    assert!(attrs.delete_protection, "the reused load balancer's protection is not the binding's");
    assert_eq!(env.lb_count(), 1);
    let groups = env.slb.vserver_groups().describe(&lb).send().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert!(b.delete(None).await.unwrap().plan.is_empty(), "deleting again does nothing");
}

#[tokio::test]
async fn a_port_held_by_someone_else_is_a_conflict_before_any_write() {
    let env = env(2).await;
    let (lb, _) = foreign_lb(&env).await;
    let spec = LoadBalancerSpec::reuse(owner(), lb.clone()).port(PortSpec::http(8000, env.backends(1, 80)));
    let b = env.binding(spec);
    env.stats.reset();
    let o = b.observe().await.unwrap();
    let e = b.plan(&o).unwrap_err();
    assert!(matches!(e, BindingError::PortConflict { port: 8000, holder: PortHolder::Foreign, .. }), "{e}");
    assert!(e.is_conflict());
    assert_eq!(env.stats.writes(), 0);
    assert!(b.reconcile(None).await.is_err());
    assert_eq!(env.stats.writes(), 0);
}

#[tokio::test]
async fn two_bindings_on_one_load_balancer() {
    let env = env(3).await;
    let (lb, _) = foreign_lb(&env).await;
    let web = env.binding(LoadBalancerSpec::reuse(owner(), lb.clone()).port(PortSpec::tcp(80, env.backends(3, 8080))));
    let api_owner = Owner::new("c-test", "default/api");
    let greedy = env.binding(
        LoadBalancerSpec::reuse(api_owner.clone(), lb.clone())
            .port(PortSpec::tcp(80, env.backends(2, 9090)))
            .port(PortSpec::tcp(81, env.backends(2, 9090))),
    );
    converge(&web, None, 3).await;
    let o = greedy.observe().await.unwrap();
    let e = greedy.plan(&o).unwrap_err();
    assert!(
        matches!(&e, BindingError::PortConflict { port: 80, holder: PortHolder::Binding(id), .. } if *id == owner().id().to_string()),
        "{e}"
    );
    let api =
        env.binding(LoadBalancerSpec::reuse(api_owner, lb.clone()).port(PortSpec::tcp(81, env.backends(2, 9090))));
    converge(&api, None, 3).await;
    assert!(env.full_plan(&web, None).await.1.is_empty(), "each binding keeps to its own");
    api.delete(None).await.unwrap();
    assert_eq!(listener_ports(&env, &lb), [80, 8000]);
    assert!(env.full_plan(&web, None).await.1.is_empty());
}

#[tokio::test]
async fn ownership_is_by_tags_and_never_guessed() {
    let env = env(2).await;
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(2, 8080)));
    let b = env.binding(spec.clone());
    // A remembered id that is not the binding's is not used.
    let (theirs, _) = foreign_lb(&env).await;
    let o = b.observe_remembered(&theirs).await.unwrap();
    assert!(o.load_balancer.is_none());
    let lb = converge(&b, Some(theirs.clone()), 3).await;
    assert_ne!(lb, theirs);
    assert_eq!(listener_ports(&env, &theirs), [8000]);
    let o = b.observe().await.unwrap();
    assert_eq!(o.load_balancer.unwrap().found_by, FoundBy::OwnershipTags);
    // Two load balancers carrying the binding's tags: a typed error.
    env.slb.tags().tag(std::slice::from_ref(&theirs), &owner().tags()).send().await.unwrap();
    let e = b.observe().await.unwrap_err();
    assert!(matches!(&e, BindingError::AmbiguousOwnership { ids, .. } if ids.len() == 2), "{e}");
    assert!(e.is_conflict());
}

#[tokio::test]
async fn a_backend_someone_added_to_the_group_is_theirs() {
    let env = env(3).await;
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(2, 8080)));
    let b = env.binding(spec.clone());
    let lb = converge(&b, None, 3).await;
    let (o, _) = env.full_plan(&b, Some(&lb)).await;
    let group = group_of(&o, 80);
    let extra = Backend::ecs(&env.instances[2], 8080).with_description("by hand");
    env.slb.vserver_groups().add_backends(&group, vec![extra.clone()]).send().await.unwrap();
    assert!(env.full_plan(&b, Some(&lb)).await.1.is_empty(), "kept, not the binding's to remove");
    let mut wants = spec.clone();
    wants.ports[0].backends.push(Backend::ecs(&env.instances[2], 8080));
    let e = env.binding(wants).plan(&b.observe_remembered(&lb).await.unwrap()).unwrap_err();
    assert!(matches!(e, BindingError::ForeignBackend { port: 80, .. }), "{e}");
}

#[tokio::test]
async fn deletion_of_a_created_load_balancer() {
    let env = env(2).await;
    let protected = attrs().delete_protection(true).tag(Tag::new("team", "net"));
    let spec = LoadBalancerSpec::create(owner(), protected).port(PortSpec::tcp(80, env.backends(2, 8080)));
    let b = env.binding(spec.clone());
    let lb = converge(&b, None, 3).await;
    let r = b.delete(Some(&lb)).await.unwrap();
    assert_eq!(r.plan.writes(), 2, "protection off, then delete\n{}", r.plan);
    assert_eq!(env.lb_count(), 0);
    assert!(b.delete(Some(&lb)).await.unwrap().plan.is_empty());

    // Preserved: the load balancer stays, without the binding's listeners, groups and tags.
    let owner2 = Owner::new("c-test", "default/kept").with_uid("2");
    let kept = LoadBalancerSpec::create(owner2.clone(), attrs().delete_protection(true).tag(Tag::new("team", "net")))
        .port(PortSpec::tcp(80, env.backends(2, 8080)))
        .port(PortSpec::https(443, certificate(&env).await, env.backends(2, 8443)))
        .port(PortSpec::http_redirect(8080, 443))
        .preserve_on_delete(true);
    let b = env.binding(kept);
    let lb = converge(&b, None, 3).await;
    b.delete(Some(&lb)).await.unwrap();
    let attrs = env.slb.load_balancers().get(&lb).await.unwrap();
    assert!(attrs.listeners.is_empty());
    assert!(attrs.delete_protection);
    assert!(!attrs.tags.iter().any(|t| t.key == CLUSTER_TAG || t.key == SERVICE_TAG), "{:?}", attrs.tags);
    assert!(attrs.tags.contains(&Tag::new("team", "net")));
    assert!(env.slb.vserver_groups().describe(&lb).send().await.unwrap().is_empty());
    assert!(b.observe().await.unwrap().load_balancer.is_none(), "let go: no longer the binding's");
}

#[tokio::test]
async fn a_retried_create_makes_one_load_balancer() {
    let env = env(1).await;
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, env.backends(1, 8080)));
    let b = env.binding(spec);
    let (_, plan) = env.full_plan(&b, None).await;
    // The first call's answer was lost: the same step runs again.
    let first = b.apply(&plan.truncated(1)).await.unwrap();
    let second = b.apply(&plan.truncated(1)).await.unwrap();
    assert_eq!(first.load_balancer_id, second.load_balancer_id);
    assert_eq!(env.lb_count(), 1);
}

#[tokio::test]
async fn pods_as_eni_backends() {
    let env = env(3).await;
    let pods: Vec<Backend> =
        env.enis.iter().map(|(eni, ip)| Backend::eni(eni, *ip, 8080).with_description("pod")).collect();
    let spec = LoadBalancerSpec::create(owner(), attrs()).port(PortSpec::tcp(80, pods.clone()));
    let b = env.binding(spec.clone());
    let lb = converge(&b, None, 3).await;
    let (o, _) = env.full_plan(&b, Some(&lb)).await;
    let in_group = env.group_backends(group_of(&o, 80).as_str()).unwrap();
    assert_eq!(in_group.len(), 3);
    assert!(in_group
        .iter()
        .all(|(id, ip, port, w)| id.starts_with("eni-") && !ip.is_empty() && *port == 8080 && *w == 100));
    let mut fewer = spec.clone();
    fewer.ports[0].backends.pop();
    converge(&env.binding(fewer), Some(lb.clone()), 3).await;
    assert_eq!(env.group_backends(group_of(&o, 80).as_str()).unwrap().len(), 2);
}

async fn certificate(env: &Env) -> ack_net_slb::ServerCertificateId {
    env.slb
        .certificates()
        .upload("web", ack_net_mock::SAMPLES[0].certificate, ack_net_mock::SAMPLES[0].private_key)
        .send()
        .await
        .expect("certificate")
        .id
}
