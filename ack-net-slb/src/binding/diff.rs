//! The planner: a pure function of the spec and what was observed.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::backends::{plan_group, GroupInput};
use super::ccm::CCM_REUSE_TAG;
use super::error::{BindingError, PortHolder};
use super::observe::{same_port_space, Observed, ObservedGroup, ObservedListener, ObservedLoadBalancer};
use super::ownership::{client_token, fingerprint, ListenerMarker, Naming, OwnerId};
use super::plan::{Action, Builder, GroupRef, LoadBalancerRef, Plan, PlanOptions};
use super::spec::{Billing, LoadBalancerAttributes, LoadBalancerSource, LoadBalancerSpec, PortSpec};
use crate::{
    AddressType, InstanceChargeType, ListenerBackend, ListenerSpec, ListenerStatus, ModificationProtectionStatus,
    ProtocolConfig, VServerGroupId,
};

/// The plan that makes the cloud hold `spec`, with the default [`PlanOptions`].
///
/// Pure: no I/O, no clock. A converged binding plans no step. Errors (bad spec, a port
/// held by another listener, a backend someone else added to the binding's group, too
/// many backends for a group) come before any write.
pub fn plan(spec: &LoadBalancerSpec, observed: &Observed) -> Result<Plan, BindingError> {
    plan_with(spec, observed, &PlanOptions::default())
}

/// [`plan`] with options (batch size, group quota, drain policy).
pub fn plan_with(spec: &LoadBalancerSpec, observed: &Observed, options: &PlanOptions) -> Result<Plan, BindingError> {
    let hashes = spec.validate_hashed(options.group_quota)?;
    let owner = spec.owner.id();
    let mut b = Builder::default();
    let mut notes = Vec::new();
    let lb = observed.load_balancer.as_ref();
    let (lb_ref, lb_after) = match (lb, &spec.load_balancer) {
        (None, LoadBalancerSource::Create(attrs)) => {
            let mut tags = spec.owner.tags();
            tags.extend(attrs.tags.iter().cloned());
            let params = serde_json::to_string(attrs).unwrap_or_default();
            let client_token = client_token(&spec.owner, &params);
            let id = b.push(Action::CreateLoadBalancer { attributes: attrs.clone(), tags, client_token }, vec![]);
            (LoadBalancerRef::New, vec![id])
        }
        (None, LoadBalancerSource::Reuse(id)) => return Err(BindingError::ReusedNotFound(id.clone())),
        (Some(o), source) => {
            if let LoadBalancerSource::Reuse(id) = source {
                if let Some(claimant) = spec.owner.other_claimant(&o.attributes.tags) {
                    return Err(BindingError::OwnedElsewhere { load_balancer_id: id.clone(), claimant });
                }
            }
            check_conflicts(spec, o, &owner)?;
            match source {
                LoadBalancerSource::Create(attrs) => {
                    if spec.owner.owns_tags(&o.attributes.tags) {
                        load_balancer_steps(&mut b, attrs, o, &mut notes);
                    }
                }
                LoadBalancerSource::Reuse(_) => {
                    let marked = o.attributes.tags.iter().any(|t| t.key == CCM_REUSE_TAG);
                    if spec.owner.naming() == Naming::Ccm && !marked {
                        b.push(Action::TagLoadBalancer { tags: vec![crate::Tag::new(CCM_REUSE_TAG, "true")] }, vec![]);
                    }
                }
            }
            (LoadBalancerRef::Existing(o.attributes.load_balancer_id.clone()), Vec::new())
        }
    };
    plan_ports(&mut b, spec, &hashes, lb, &owner, options, &lb_after)?;
    Ok(Plan {
        owner,
        service: spec.owner.to_string(),
        load_balancer: Some(lb_ref),
        steps: b.steps,
        notes,
        batch_size: options.batch_size.max(1),
    })
}

/// The plan that removes the binding: what it owns and nothing else.
///
/// - A load balancer the binding created is deleted (with delete protection turned off
///   first), unless the spec says `preserve_on_delete`: then the binding's listeners and
///   groups are deleted and its ownership tags removed, and the load balancer stays.
/// - On a reused load balancer, only the binding's listeners and groups are deleted.
///
/// Keeping the load balancer needs a full observation (to find every group).
pub fn plan_delete(spec: &LoadBalancerSpec, observed: &Observed) -> Result<Plan, BindingError> {
    spec.owner.validate()?;
    let owner = spec.owner.id();
    let mut b = Builder::default();
    let mut notes = Vec::new();
    let Some(o) = observed.load_balancer.as_ref() else {
        return Ok(Plan {
            owner,
            service: spec.owner.to_string(),
            load_balancer: None,
            steps: Vec::new(),
            notes,
            batch_size: 1,
        });
    };
    let id = o.attributes.load_balancer_id.clone();
    let created =
        matches!(spec.load_balancer, LoadBalancerSource::Create(_)) && spec.owner.owns_tags(&o.attributes.tags);
    if created && !spec.preserve_on_delete {
        let mut after = Vec::new();
        if o.attributes.delete_protection {
            after.push(b.push(Action::SetDeleteProtection { on: false }, vec![]));
        }
        let foreign: Vec<String> = o
            .listeners
            .iter()
            .filter(|l| l.marker().is_none_or(|m| m.owner != owner))
            .map(|l| format!("{}/{}", l.port, l.protocol))
            .collect();
        if !foreign.is_empty() {
            notes.push(format!(
                "listeners {} were added to the binding's load balancer by someone else and go with it",
                foreign.join(", ")
            ));
        }
        b.push(Action::DeleteLoadBalancer { load_balancer_id: id.clone() }, after);
    } else {
        if !o.groups_listed {
            return Err(BindingError::NeedsFullObservation("deleting a binding from a load balancer that stays"));
        }
        let mut release: HashMap<VServerGroupId, Vec<usize>> = HashMap::new();
        let ours: Vec<&ObservedListener> =
            o.listeners.iter().filter(|l| l.marker().is_some_and(|m| m.owner == owner)).collect();
        delete_listeners(&mut b, &ours, &mut release, &[]);
        let mut all = Vec::new();
        for g in o.groups.values() {
            all.push(b.push(
                Action::DeleteGroup { port: g.port, group: g.id.clone() },
                release.get(&g.id).cloned().unwrap_or_default(),
            ));
        }
        if created && spec.owner.owns_tags(&o.attributes.tags) {
            all.extend(0..b.steps.len());
            b.push(Action::UntagLoadBalancer { keys: spec.owner.tags().into_iter().map(|t| t.key).collect() }, all);
        }
    }
    Ok(Plan {
        owner,
        service: spec.owner.to_string(),
        load_balancer: Some(LoadBalancerRef::Existing(id)),
        steps: b.steps,
        notes,
        batch_size: 1,
    })
}

/// A wanted port held by a listener that is not the binding's is a conflict.
fn check_conflicts(spec: &LoadBalancerSpec, o: &ObservedLoadBalancer, owner: &OwnerId) -> Result<(), BindingError> {
    for p in &spec.ports {
        let protocol = p.listener.listener_protocol();
        for l in o.listeners.iter().filter(|l| l.port == p.port() && same_port_space(&l.protocol, &protocol)) {
            let holder = match l.marker() {
                Some(m) if m.owner == *owner => continue,
                Some(m) => PortHolder::Binding(m.owner.to_string()),
                None => PortHolder::Foreign,
            };
            return Err(BindingError::PortConflict {
                load_balancer_id: o.attributes.load_balancer_id.clone(),
                port: p.port(),
                protocol: l.protocol.clone(),
                holder,
            });
        }
    }
    Ok(())
}

/// Attribute changes of a load balancer the binding created: in place where the API
/// can; the rest become notes.
fn load_balancer_steps(
    b: &mut Builder,
    want: &LoadBalancerAttributes,
    o: &ObservedLoadBalancer,
    notes: &mut Vec<String>,
) {
    let have = &o.attributes;
    if let Some(n) = &want.name {
        if *n != have.name {
            b.push(Action::SetLoadBalancerName { from: have.name.clone(), to: n.clone() }, vec![]);
        }
    }
    let clcu = have.instance_charge_type == Some(InstanceChargeType::PayByClcu);
    match &want.billing {
        Billing::PayBySpec(s) if clcu => {
            notes.push(format!("billing is pay-by-CLCU, the spec wants {s}: not changed in place"));
        }
        Billing::PayBySpec(s) if have.spec.as_ref() != Some(s) => {
            b.push(Action::ModifyInstanceSpec { from: have.spec.clone(), to: s.clone() }, vec![]);
        }
        Billing::PayByClcu if !clcu => {
            notes.push("billing is by spec, the spec wants pay-by-CLCU: not changed in place".into());
        }
        _ => {}
    }
    if have.address_type == AddressType::Internet {
        let charge = want.internet_charge_type.clone().filter(|c| have.internet_charge_type.as_ref() != Some(c));
        let bandwidth = want.bandwidth.filter(|w| have.bandwidth != Some(*w));
        if charge.is_some() || bandwidth.is_some() {
            b.push(Action::ModifyInternetSpec { charge_type: charge, bandwidth }, vec![]);
        }
    }
    if have.delete_protection != want.delete_protection {
        b.push(Action::SetDeleteProtection { on: want.delete_protection }, vec![]);
    }
    let protected = have.modification_protection_status == Some(ModificationProtectionStatus::ConsoleProtection);
    if protected != want.modification_protection {
        b.push(Action::SetModificationProtection { on: want.modification_protection }, vec![]);
    }
    let missing: Vec<_> =
        want.tags.iter().filter(|t| !have.tags.iter().any(|h| h.key == t.key && h.value == t.value)).cloned().collect();
    if !missing.is_empty() {
        b.push(Action::TagLoadBalancer { tags: missing }, vec![]);
    }
    let mut immutable = |what: &str, have: String, want: String| {
        notes.push(format!("{what} is {have}, the spec wants {want}: it cannot change without a new load balancer"));
    };
    if have.address_type != want.address_type {
        immutable("address type", have.address_type.to_string(), want.address_type.to_string());
    }
    if want.address_type == AddressType::Intranet && want.vswitch_id.is_some() && have.vswitch_id != want.vswitch_id {
        immutable("the VSwitch", show(&have.vswitch_id), show(&want.vswitch_id));
    }
    if want.address_ip_version.is_some() && have.address_ip_version != want.address_ip_version {
        immutable("the IP version", show(&have.address_ip_version), show(&want.address_ip_version));
    }
    if want.address.is_some_and(|a| a != have.address) {
        immutable("the address", have.address.to_string(), show(&want.address));
    }
    if want.master_zone_id.is_some() && have.master_zone_id != want.master_zone_id {
        immutable("the master zone", show(&have.master_zone_id), show(&want.master_zone_id));
    }
    if want.slave_zone_id.is_some() && have.slave_zone_id != want.slave_zone_id {
        immutable("the slave zone", show(&have.slave_zone_id), show(&want.slave_zone_id));
    }
    if want.resource_group_id.is_some() && have.resource_group_id != want.resource_group_id {
        immutable("the resource group", show(&have.resource_group_id), show(&want.resource_group_id));
    }
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "unset".to_owned(), T::to_string)
}

/// How a wanted listener compares with the binding's listener on its port.
enum Decision {
    Same,
    Set(Vec<String>),
    Recreate,
}

/// The listener's settings as the cloud will hold them: with the group and the marker.
pub(crate) fn full_listener(
    w: &ListenerSpec,
    owner: &OwnerId,
    fp: &str,
    group: Option<&VServerGroupId>,
) -> ListenerSpec {
    let mut l = w.clone();
    l.backend = group.cloned().map(ListenerBackend::VServerGroup);
    let marker = ListenerMarker { owner: owner.clone(), fingerprint: fp.to_owned(), group: group.cloned() };
    l.description = Some(marker.render_for(w.port));
    l.normalized()
}

fn forward_port(l: &ListenerSpec) -> Option<u16> {
    match &l.protocol {
        ProtocolConfig::Http(h) => h.forward_to_https_port,
        _ => None,
    }
}

fn compare(cur: &ObservedListener, w: &ListenerSpec, fp: &str, group: Option<&GroupRef>, owner: &OwnerId) -> Decision {
    let gid = match group {
        Some(GroupRef::Existing(g)) => Some(g),
        _ => None,
    };
    let new_group = matches!(group, Some(GroupRef::New(_)));
    match &cur.spec {
        Some(obs) => {
            if new_group {
                let mut probe = w.clone();
                probe.backend = Some(ListenerBackend::VServerGroup(placeholder()));
                return if probe.needs_recreate(obs) {
                    Decision::Recreate
                } else {
                    Decision::Set(vec!["backend: a new VServer group".into()])
                };
            }
            let full = full_listener(w, owner, fp, gid);
            if full == *obs {
                Decision::Same
            } else if full.needs_recreate(obs) {
                Decision::Recreate
            } else {
                Decision::Set(json_diff(obs, &full))
            }
        }
        None => {
            if cur.forward_port != forward_port(w) {
                return Decision::Recreate;
            }
            let Some(marker) = cur.marker() else { return Decision::Set(vec!["settings: not the binding's".into()]) };
            let group_ok = if new_group {
                false
            } else {
                // A marker without the group id (it did not fit) cannot be checked here.
                marker.group.as_ref() == gid || (marker.group.is_none() && gid.is_some())
            };
            if marker.fingerprint == fp && group_ok {
                Decision::Same
            } else if marker.fingerprint != fp {
                Decision::Set(vec![format!("settings: fingerprint {} -> {fp}", marker.fingerprint)])
            } else {
                Decision::Set(vec!["backend: another VServer group".into()])
            }
        }
    }
}

fn placeholder() -> VServerGroupId {
    "rsp-placeholder".parse().unwrap_or_else(|_| unreachable!("rsp- ids parse"))
}

/// The group a wanted port keeps using: its listener's, else that of a listener of
/// another protocol on the port, else an orphan named for the port (a crash between
/// creating a group and its listener). Only groups whose backends were read qualify.
fn pick_group(
    candidates: impl Iterator<Item = Option<VServerGroupId>>,
    groups: Option<&std::collections::BTreeMap<VServerGroupId, ObservedGroup>>,
    port: u16,
) -> Option<&ObservedGroup> {
    let groups = groups?;
    for id in candidates.flatten() {
        if let Some(g) = groups.get(&id).filter(|g| g.backends.is_some()) {
            return Some(g);
        }
    }
    groups
        .values()
        .filter(|g| g.port == port && g.backends.is_some())
        .max_by_key(|g| (g.backends.as_ref().map_or(0, Vec::len), std::cmp::Reverse(g.id.clone())))
}

fn plan_ports(
    b: &mut Builder,
    spec: &LoadBalancerSpec,
    hashes: &[Vec<u64>],
    lb: Option<&ObservedLoadBalancer>,
    owner: &OwnerId,
    options: &PlanOptions,
    lb_after: &[usize],
) -> Result<(), BindingError> {
    let listeners: &[ObservedListener] = lb.map_or(&[], |o| o.listeners.as_slice());
    let ours: Vec<&ObservedListener> =
        listeners.iter().filter(|l| l.marker().is_some_and(|m| m.owner == *owner)).collect();
    let groups = lb.map(|o| &o.groups);
    let health = lb.and_then(|o| o.health.as_deref());
    let mut ports: Vec<(usize, &PortSpec)> = spec.ports.iter().enumerate().collect();
    ports.sort_by_key(|(_, p)| (p.redirects_to().is_some(), p.port()));
    // Port -> the step after which its listener exists anew.
    let mut ready: HashMap<u16, usize> = HashMap::new();
    // Group -> the steps after which no listener of the binding uses it any more.
    let mut release: HashMap<VServerGroupId, Vec<usize>> = HashMap::new();
    let mut used: HashSet<VServerGroupId> = HashSet::new();
    let service = spec.owner.service();

    for (at, p) in ports {
        let port = p.port();
        let w = &p.listener;
        let protocol = w.listener_protocol();
        let fp = fingerprint(w);
        let current = ours.iter().copied().find(|l| l.port == port && l.protocol == protocol);
        let stale: Vec<&ObservedListener> =
            ours.iter().copied().filter(|l| l.port == port && l.protocol != protocol).collect();

        let (group, group_last) = if p.redirects_to().is_some() {
            (None, None)
        } else {
            let candidates = current.iter().chain(stale.iter()).map(|l| l.group());
            let picked = pick_group(candidates, groups, port);
            let (gref, observed_backends) = match picked {
                Some(g) => (GroupRef::Existing(g.id.clone()), g.backends.as_deref().unwrap_or_default()),
                None => (GroupRef::New(port), &[][..]),
            };
            if let GroupRef::Existing(id) = &gref {
                used.insert(id.clone());
            }
            let name = owner.group_name_for(p, service);
            let input = GroupInput {
                port,
                group: gref.clone(),
                name: &name,
                observed: observed_backends,
                wanted: &p.backends,
                wanted_hashes: hashes.get(at).map(Vec::as_slice),
                listener: current.map(|l| (l.port, l.protocol.clone())),
                health,
                keep_observed_weights: p.keep_observed_weights,
            };
            let last = plan_group(b, owner, &input, options, lb_after.to_vec())?;
            (Some(gref), last)
        };

        let mut create_after: Vec<usize> = lb_after.to_vec();
        create_after.extend(group_last);
        if let Some(target) = p.redirects_to() {
            create_after.extend(ready.get(&target).copied());
        }
        let mut deleted = Vec::new();
        for l in &stale {
            let d = b
                .push(Action::DeleteListener { port, protocol: l.protocol.clone(), recreate: true }, lb_after.to_vec());
            deleted.push(d);
            if let Some(g) = l.group() {
                release.entry(g).or_default().push(d);
            }
        }
        let create = |b: &mut Builder, mut after: Vec<usize>, recreate: bool| {
            after.extend(&deleted);
            let c = b.push(
                Action::CreateListener { listener: w.clone(), group: group.clone(), fingerprint: fp.clone(), recreate },
                after,
            );
            b.push(Action::StartListener { port, protocol: protocol.clone() }, vec![c]);
            c
        };
        match current {
            None => {
                let c = create(b, create_after, !stale.is_empty());
                ready.insert(port, c);
            }
            Some(cur) => match compare(cur, w, &fp, group.as_ref(), owner) {
                Decision::Recreate => {
                    let d = b.push(
                        Action::DeleteListener { port, protocol: protocol.clone(), recreate: true },
                        lb_after.to_vec(),
                    );
                    if let Some(g) = cur.group() {
                        release.entry(g).or_default().push(d);
                    }
                    create_after.push(d);
                    let c = create(b, create_after, true);
                    ready.insert(port, c);
                }
                decision => {
                    let mut last = None;
                    if let Decision::Set(changes) = decision {
                        let s = b.push(
                            Action::SetListener {
                                listener: w.clone(),
                                group: group.clone(),
                                fingerprint: fp.clone(),
                                changes,
                            },
                            create_after,
                        );
                        if let Some(g) = cur.group() {
                            release.entry(g).or_default().push(s);
                        }
                        last = Some(s);
                    }
                    if cur.status.as_ref().is_some_and(|s| *s != ListenerStatus::Running) {
                        b.push(Action::StartListener { port, protocol: protocol.clone() }, last.into_iter().collect());
                    }
                }
            },
        }
    }
    let wanted: BTreeSet<u16> = spec.ports.iter().map(PortSpec::port).collect();
    let unwanted: Vec<&ObservedListener> = ours.iter().copied().filter(|l| !wanted.contains(&l.port)).collect();
    delete_listeners(b, &unwanted, &mut release, lb_after);
    if let Some(groups) = groups {
        for g in groups.values().filter(|g| !used.contains(&g.id)) {
            let mut after = release.get(&g.id).cloned().unwrap_or_default();
            after.extend(lb_after);
            b.push(Action::DeleteGroup { port: g.port, group: g.id.clone() }, after);
        }
    }
    Ok(())
}

/// Deletes listeners, those redirecting to another first (an HTTPS listener cannot go
/// while a redirect points at it); records which groups each deletion frees.
fn delete_listeners(
    b: &mut Builder,
    listeners: &[&ObservedListener],
    release: &mut HashMap<VServerGroupId, Vec<usize>>,
    after: &[usize],
) {
    let mut redirect_deletes: HashMap<u16, Vec<usize>> = HashMap::new();
    let (redirects, others): (Vec<&&ObservedListener>, Vec<&&ObservedListener>) =
        listeners.iter().partition(|l| l.forward_port.is_some());
    for l in redirects.into_iter().chain(others) {
        let mut deps = after.to_vec();
        deps.extend(redirect_deletes.get(&l.port).cloned().unwrap_or_default());
        let d = b.push(Action::DeleteListener { port: l.port, protocol: l.protocol.clone(), recreate: false }, deps);
        if let Some(f) = l.forward_port {
            redirect_deletes.entry(f).or_default().push(d);
        }
        if let Some(g) = l.group() {
            release.entry(g).or_default().push(d);
        }
    }
}

/// `path: old -> new` for every leaf that differs (at most 20 lines).
pub(crate) fn json_diff(old: &ListenerSpec, new: &ListenerSpec) -> Vec<String> {
    let (a, b) = (serde_json::to_value(old).unwrap_or_default(), serde_json::to_value(new).unwrap_or_default());
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    if out.len() > 20 {
        let more = out.len() - 20;
        out.truncate(20);
        out.push(format!("... and {more} more"));
    }
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if !x.is_empty() && !y.is_empty() => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                walk(&p, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}
