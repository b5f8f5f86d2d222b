//! Unit tests of the pure planner on hand-made observations.

use ack_net_core::ErrorInfo;
use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::{
    Backend, BackendHealth, HealthStatus, ListenerPortAndProtocol, ListenerProtocol, ListenerStatus, LoadBalancer,
    Scheduler, Tag, VServerGroupId,
};

fn owner() -> Owner {
    Owner::new("c1", "default/web")
}

fn spec() -> LoadBalancerSpec {
    LoadBalancerSpec::create(owner(), LoadBalancerAttributes::internet(InstanceSpec::S1Small).name("web"))
}

fn pods(n: usize, port: u16) -> Vec<Backend> {
    (0..n)
        .map(|i| {
            Backend::eni(&"eni-a".parse().unwrap(), format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().unwrap(), port)
        })
        .collect()
}

fn lb_json(tags: &[Tag]) -> LoadBalancer {
    let tags: Vec<serde_json::Value> =
        tags.iter().map(|t| serde_json::json!({"TagKey": t.key, "TagValue": t.value})).collect();
    serde_json::from_value(serde_json::json!({
        "LoadBalancerId": "lb-a1", "LoadBalancerName": "web", "LoadBalancerStatus": "active",
        "Address": "47.96.0.1", "AddressType": "internet", "LoadBalancerSpec": "slb.s1.small",
        "InstanceChargeType": "PayBySpec", "DeleteProtection": "off",
        "ModificationProtectionStatus": "NonProtection", "Tags": {"Tag": tags}
    }))
    .unwrap()
}

fn gid(port: u16) -> VServerGroupId {
    format!("rsp-g{port}").parse().unwrap()
}

/// What the cloud holds once `spec` was applied (as a full observation reads it).
fn converged(spec: &LoadBalancerSpec) -> Observed {
    let owner = spec.owner.id();
    let mut attributes = lb_json(&spec.owner.tags());
    let mut listeners = Vec::new();
    let mut groups = BTreeMap::new();
    for p in &spec.ports {
        let g = p.redirects_to().is_none().then(|| gid(p.port()));
        let full = diff::full_listener(&p.listener, &owner, &fingerprint(&p.listener), g.as_ref());
        attributes.listeners.push(ListenerPortAndProtocol {
            port: p.port(),
            protocol: full.listener_protocol(),
            forward_port: p.redirects_to(),
            description: full.description.clone(),
        });
        listeners.push(ObservedListener {
            port: p.port(),
            protocol: full.listener_protocol(),
            description: full.description.clone(),
            forward_port: p.redirects_to(),
            spec: Some(full),
            status: Some(ListenerStatus::Running),
        });
        if let Some(g) = g {
            let backends = p
                .backends
                .iter()
                .map(|b| Backend {
                    description: Some(owner.backend_description(b.description.as_deref())),
                    ..b.clone()
                })
                .collect();
            groups.insert(g.clone(), ObservedGroup { id: g, port: p.port(), backends: Some(backends) });
        }
    }
    Observed {
        mode: ObserveMode::Full,
        load_balancer: Some(ObservedLoadBalancer {
            attributes,
            found_by: FoundBy::RememberedId,
            listeners,
            groups,
            groups_listed: true,
            health: None,
        }),
        reads: 0,
    }
}

fn fast(mut o: Observed) -> Observed {
    o.mode = ObserveMode::Fast;
    if let Some(lb) = &mut o.load_balancer {
        for l in &mut lb.listeners {
            l.spec = None;
            l.status = None;
        }
        lb.groups_listed = false;
    }
    o
}

fn no_drain() -> PlanOptions {
    PlanOptions::default().with_drain(DrainPolicy::none())
}

fn actions(p: &Plan) -> Vec<&'static str> {
    p.steps.iter().map(|s| s.action.api_action().unwrap_or("Wait")).collect()
}

#[test]
fn converged_plans_nothing_in_both_modes() {
    let s = spec()
        .port(PortSpec::tcp(80, pods(50, 8080)))
        .port(PortSpec::https(443, "1_a".parse().unwrap(), pods(5, 8443)))
        .port(PortSpec::http_redirect(8000, 443));
    let o = converged(&s);
    let p = plan(&s, &o).unwrap();
    assert!(p.is_empty(), "{p}");
    assert!(plan(&s, &fast(o)).unwrap().is_empty());
    assert!(p.to_string().contains("up to date"));
}

#[test]
fn creation_counts_and_order() {
    let s = spec().port(PortSpec::tcp(80, pods(45, 8080))).port(PortSpec::udp(53, pods(1, 53)));
    let p = plan(&s, &Observed::default()).unwrap();
    // 1 + P x (3 + ceil(N / 20)) at most.
    let bound = 1 + (3 + 45usize.div_ceil(20)) + (3 + 1);
    assert!(p.writes() <= bound, "{} > {bound}\n{p}", p.writes());
    assert_eq!(p.writes(), 1 + (2 + 3) + (2 + 1));
    assert_eq!(actions(&p)[0], "CreateLoadBalancer");
    // Every dependency comes first; listeners after their groups are full.
    for st in &p.steps {
        assert!(st.after.iter().all(|a| *a < st.id));
    }
    let create80 = p
        .steps
        .iter()
        .find(|s| matches!(&s.action, Action::CreateListener { listener, .. } if listener.port == 80))
        .unwrap();
    let last_add = p
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::AddBackends { port: 80, .. }))
        .map(|s| s.id)
        .max()
        .unwrap();
    assert!(create80.after.contains(&last_add));
    let Action::CreateLoadBalancer { tags, client_token, .. } = &p.steps[0].action else { unreachable!() };
    assert!(owner().owns_tags(tags));
    assert_eq!(
        client_token,
        &match &plan(&s, &Observed::default()).unwrap().steps[0].action {
            Action::CreateLoadBalancer { client_token, .. } => client_token.clone(),
            _ => unreachable!(),
        }
    );
}

#[test]
fn one_backend_changed_is_one_step() {
    let s = spec().port(PortSpec::tcp(80, pods(100, 8080)));
    let o = converged(&s);
    let mut weight = s.clone();
    weight.ports[0].backends[7].weight = 50;
    assert_eq!(actions(&plan_with(&weight, &o, &no_drain()).unwrap()), ["SetVServerGroupAttribute"]);
    assert_eq!(actions(&plan_with(&weight, &fast(o.clone()), &no_drain()).unwrap()), ["SetVServerGroupAttribute"]);
    let mut added = s.clone();
    added.ports[0].backends.push(Backend::eni(&"eni-a".parse().unwrap(), "10.9.9.9".parse().unwrap(), 8080));
    assert_eq!(actions(&plan_with(&added, &o, &no_drain()).unwrap()), ["AddVServerGroupBackendServers"]);
    let mut removed = s.clone();
    removed.ports[0].backends.remove(3);
    assert_eq!(actions(&plan_with(&removed, &o, &no_drain()).unwrap()), ["RemoveVServerGroupBackendServers"]);
    // With draining: weight 0, wait, remove.
    let drain = PlanOptions::default().with_drain(DrainPolicy::for_period(Duration::from_secs(5)));
    let p = plan_with(&removed, &o, &drain).unwrap();
    assert_eq!(actions(&p), ["SetVServerGroupAttribute", "Wait", "RemoveVServerGroupBackendServers"]);
    let Action::SetBackends { backends, purpose: SetPurpose::Drain, .. } = &p.steps[0].action else { panic!("{p}") };
    assert_eq!(backends[0].weight, 0);
}

#[test]
fn adds_come_before_removals_and_never_empty_a_group() {
    let s = spec().port(PortSpec::tcp(80, pods(30, 8080)));
    let o = converged(&s);
    let mut b = s.clone();
    b.ports[0].backends = pods(30, 9090); // all replaced
    let p =
        plan_with(&b, &o, &PlanOptions::default().with_drain(DrainPolicy::for_period(Duration::from_secs(1)))).unwrap();
    let a = actions(&p);
    let first_remove = a.iter().position(|x| *x == "RemoveVServerGroupBackendServers").unwrap();
    let last_add = a.iter().rposition(|x| *x == "AddVServerGroupBackendServers").unwrap();
    assert!(last_add < first_remove, "{p}");
    let first_drain = a.iter().position(|x| *x == "SetVServerGroupAttribute").unwrap();
    assert!(last_add < first_drain, "new backends take traffic before old ones drain\n{p}");
}

#[test]
fn a_full_group_swaps_batch_by_batch_unhealthy_first() {
    let s = spec().port(PortSpec::tcp(80, pods(40, 8080)));
    let mut o = converged(&s);
    // Two leaving backends are already failing health checks.
    let health: Vec<BackendHealth> = (0..40)
        .map(|i| BackendHealth {
            listener_port: 80,
            protocol: ListenerProtocol::Tcp,
            server_id: "eni-a".into(),
            server_ip: s.ports[0].backends[i].server_ip,
            port: 8080,
            status: if i >= 38 { HealthStatus::Abnormal } else { HealthStatus::Normal },
        })
        .collect();
    o.load_balancer.as_mut().unwrap().health = Some(health);
    let mut b = s.clone();
    b.ports[0].backends = pods(40, 9090);
    let opts = PlanOptions::default().with_group_quota(40).with_drain(DrainPolicy::for_period(Duration::from_secs(1)));
    let p = plan_with(&b, &o, &opts).unwrap();
    let a = actions(&p);
    assert!(!a.contains(&"AddVServerGroupBackendServers"), "no room to add first\n{p}");
    assert_eq!(a.iter().filter(|x| **x == "ModifyVServerGroupBackendServers").count(), 2);
    let Action::ReplaceBackends { old, .. } =
        &p.steps.iter().find(|s| matches!(s.action, Action::ReplaceBackends { .. })).unwrap().action
    else {
        unreachable!()
    };
    assert!(old[..2]
        .iter()
        .all(|o| o.server_ip == s.ports[0].backends[38].server_ip || o.server_ip == s.ports[0].backends[39].server_ip));
    // The first swap drains 18 healthy ones (the 2 unhealthy need no drain).
    let Action::SetBackends { backends, .. } = &p.steps[0].action else { panic!("{p}") };
    assert_eq!(backends.len(), 18);
    // Too many for the quota: an error before any write.
    let mut big = s.clone();
    big.ports[0].backends = pods(41, 8080);
    assert!(matches!(plan_with(&big, &o, &opts), Err(BindingError::TooManyBackends { .. })));
}

#[test]
fn listener_changes_set_in_place_or_recreate() {
    let s = spec().port(PortSpec::tcp(80, pods(3, 8080)));
    let o = converged(&s);
    let mut wlc = s.clone();
    wlc.ports[0].listener.scheduler = Scheduler::Wlc;
    let p = plan(&wlc, &o).unwrap();
    assert_eq!(actions(&p), ["SetLoadBalancerTCPListenerAttribute"]);
    assert!(p.to_string().contains("scheduler"), "{p}");
    assert_eq!(actions(&plan(&wlc, &fast(o.clone())).unwrap()), ["SetLoadBalancerTCPListenerAttribute"]);
    let mut http = s.clone();
    http.ports[0] = PortSpec::http(80, pods(3, 8080));
    let p = plan(&http, &o).unwrap();
    assert_eq!(
        actions(&p),
        ["DeleteLoadBalancerListener", "CreateLoadBalancerHTTPListener", "StartLoadBalancerListener"]
    );
    assert!(p.to_string().contains("recreate"), "{p}");
    let Action::CreateListener { group: Some(GroupRef::Existing(g)), .. } = &p.steps[1].action else { panic!("{p}") };
    assert_eq!(*g, gid(80), "the group is kept");
    // A stopped listener is started.
    let mut stopped = o.clone();
    stopped.load_balancer.as_mut().unwrap().listeners[0].status = Some(ListenerStatus::Stopped);
    assert_eq!(actions(&plan(&s, &stopped).unwrap()), ["StartLoadBalancerListener"]);
}

#[test]
fn removed_ports_and_orphans_are_cleaned_up() {
    let s = spec().port(PortSpec::tcp(80, pods(3, 8080))).port(PortSpec::tcp(81, pods(3, 8081)));
    let mut o = converged(&s);
    let orphan: VServerGroupId = "rsp-orphan".parse().unwrap();
    o.load_balancer
        .as_mut()
        .unwrap()
        .groups
        .insert(orphan.clone(), ObservedGroup { id: orphan, port: 80, backends: None });
    let mut b = s.clone();
    b.ports.pop();
    let p = plan(&b, &o).unwrap();
    assert_eq!(actions(&p), ["DeleteLoadBalancerListener", "DeleteVServerGroup", "DeleteVServerGroup"]);
    let del81 = p.steps.iter().find(|s| matches!(s.action, Action::DeleteGroup { port: 81, .. })).unwrap();
    assert_eq!(del81.after, vec![0], "a group goes after the listener using it");
}

#[test]
fn conflicts_are_found_before_any_write() {
    let s = spec().port(PortSpec::tcp(80, pods(3, 8080)));
    let mut o = converged(&spec());
    let foreign = ObservedListener {
        port: 80,
        protocol: ListenerProtocol::Http,
        description: Some("someone's".into()),
        forward_port: None,
        spec: None,
        status: None,
    };
    o.load_balancer.as_mut().unwrap().listeners.push(foreign.clone());
    let e = plan(&s, &o).unwrap_err();
    assert!(matches!(e, BindingError::PortConflict { port: 80, holder: PortHolder::Foreign, .. }), "{e}");
    assert!(e.is_conflict());
    // A UDP listener on the port does not collide with TCP.
    o.load_balancer.as_mut().unwrap().listeners[0].protocol = ListenerProtocol::Udp;
    assert!(plan(&s, &o).is_ok());
    // Another binding's listener.
    let other = converged(
        &LoadBalancerSpec::create(
            Owner::new("c1", "default/api"),
            LoadBalancerAttributes::internet(InstanceSpec::S1Small),
        )
        .port(PortSpec::tcp(80, vec![])),
    );
    let mut shared = converged(&spec());
    shared.load_balancer.as_mut().unwrap().listeners = other.load_balancer.unwrap().listeners;
    let e = plan(&s, &shared).unwrap_err();
    assert!(matches!(e, BindingError::PortConflict { holder: PortHolder::Binding(_), .. }), "{e}");
    // A backend someone else put in the binding's group.
    let mut o = converged(&s);
    let g = o.load_balancer.as_mut().unwrap().groups.get_mut(&gid(80)).unwrap();
    g.backends.as_mut().unwrap()[0].description = Some("by hand".into());
    assert!(matches!(plan(&s, &o), Err(BindingError::ForeignBackend { .. })));
    // ... and kept when not wanted.
    let mut fewer = s.clone();
    fewer.ports[0].backends.remove(0);
    assert!(plan(&fewer, &o).unwrap().is_empty());
}

#[test]
fn load_balancer_attributes_in_place_and_notes() {
    let mut s = spec();
    let o = converged(&s);
    if let LoadBalancerSource::Create(a) = &mut s.load_balancer {
        a.name = Some("web2".into());
        a.delete_protection = true;
        a.modification_protection = true;
        a.billing = Billing::PayBySpec(InstanceSpec::S2Small);
        a.tags.push(Tag::new("team", "a"));
        a.address_type = crate::AddressType::Intranet;
        a.vswitch_id = Some("vsw-a".parse().unwrap());
    }
    let p = plan(&s, &o).unwrap();
    assert_eq!(
        actions(&p),
        [
            "SetLoadBalancerName",
            "ModifyLoadBalancerInstanceSpec",
            "SetLoadBalancerDeleteProtection",
            "SetLoadBalancerModificationProtection",
            "TagResources"
        ]
    );
    assert_eq!(p.notes.len(), 2, "{p}");
    // A reused load balancer's attributes are not the binding's.
    let reuse = LoadBalancerSpec::reuse(owner(), "lb-a1".parse().unwrap());
    assert!(plan(&reuse, &o).unwrap().is_empty());
}

#[test]
fn deletion_in_each_mode() {
    let s = spec().port(PortSpec::tcp(80, pods(3, 8080))).port(PortSpec::http_redirect(81, 443)).port(PortSpec::https(
        443,
        "1_a".parse().unwrap(),
        pods(1, 8443),
    ));
    let mut o = converged(&s);
    o.load_balancer.as_mut().unwrap().attributes.delete_protection = true;
    let p = plan_delete(&s, &o).unwrap();
    assert_eq!(actions(&p), ["SetLoadBalancerDeleteProtection", "DeleteLoadBalancer"]);
    let kept = s.clone().preserve_on_delete(true);
    let p = plan_delete(&kept, &o).unwrap();
    let a = actions(&p);
    assert_eq!(a.iter().filter(|x| **x == "DeleteLoadBalancerListener").count(), 3);
    assert_eq!(a.iter().filter(|x| **x == "DeleteVServerGroup").count(), 2);
    assert_eq!(*a.last().unwrap(), "UntagResources");
    assert!(!a.contains(&"SetLoadBalancerDeleteProtection"));
    // The redirect goes before the HTTPS listener it points at.
    let redirect = p.steps.iter().find(|s| matches!(s.action, Action::DeleteListener { port: 81, .. })).unwrap().id;
    let https = p.steps.iter().find(|s| matches!(s.action, Action::DeleteListener { port: 443, .. })).unwrap();
    assert!(https.after.contains(&redirect));
    let mut reused = s.clone();
    reused.load_balancer = LoadBalancerSource::Reuse("lb-a1".parse().unwrap());
    let a = actions(&plan_delete(&reused, &o).unwrap());
    assert!(!a.contains(&"UntagResources") && !a.contains(&"DeleteLoadBalancer"), "{a:?}");
    assert!(matches!(plan_delete(&kept, &fast(o)), Err(BindingError::NeedsFullObservation(_))));
    assert!(plan_delete(&s, &Observed::default()).unwrap().is_empty());
}

#[test]
fn a_prefix_of_a_plan_is_a_plan() {
    let s = spec().port(PortSpec::tcp(80, pods(45, 8080)));
    let p = plan(&s, &Observed::default()).unwrap();
    for n in 0..=p.steps.len() {
        let t = p.truncated(n);
        assert_eq!(t.steps.len(), n);
        assert!(t.steps.iter().all(|st| st.after.iter().all(|a| *a < n)));
    }
}

#[test]
fn the_order_the_cloud_lists_backends_in_does_not_matter() {
    let s = spec().port(PortSpec::tcp(80, pods(300, 8080)));
    let mut o = converged(&s);
    for g in o.load_balancer.as_mut().unwrap().groups.values_mut() {
        let b = g.backends.as_mut().unwrap();
        b.rotate_left(7);
        b.swap(0, 200);
    }
    let opts = no_drain().with_group_quota(1000);
    assert!(plan_with(&s, &o, &opts).unwrap().is_empty());
    let mut changed = s.clone();
    changed.ports[0].backends[150].weight = 1;
    changed.ports[0].backends.remove(3);
    changed.ports[0].backends.push(Backend::eni(&"eni-a".parse().unwrap(), "10.9.9.9".parse().unwrap(), 8080));
    let p = plan_with(&changed, &o, &opts).unwrap();
    assert_eq!(
        actions(&p),
        ["AddVServerGroupBackendServers", "SetVServerGroupAttribute", "RemoveVServerGroupBackendServers"]
    );
}

#[test]
fn kept_observed_weights_change_no_backend_but_new_ones_get_theirs() {
    let s = spec().port(PortSpec::tcp(80, pods(3, 8080)));
    let o = converged(&s);
    let reweighted: Vec<Backend> = pods(4, 8080).into_iter().map(|b| b.with_weight(7)).collect();
    let changed = spec().port(PortSpec::tcp(80, reweighted.clone()));
    let p = plan_with(&changed, &o, &no_drain()).unwrap();
    assert_eq!(actions(&p), vec!["AddVServerGroupBackendServers", "SetVServerGroupAttribute"], "{p}");

    let kept = spec().port(PortSpec::tcp(80, reweighted).with_observed_weights_kept(true));
    let p = plan_with(&kept, &o, &no_drain()).unwrap();
    assert_eq!(actions(&p), vec!["AddVServerGroupBackendServers"], "{p}");
    let Action::AddBackends { backends, .. } = &p.steps[0].action else { panic!("{p}") };
    assert_eq!(backends.len(), 1);
    assert_eq!(backends[0].weight, 7, "a new backend gets the spec's weight");
}
