//! The load balancer the Ingresses of ack-net's class share, from their annotations.
//!
//! An Ingress takes the load balancer annotations of a Service with the same names and
//! values, parsed by the same parser ([`ServiceAnnotations`]): `id` (serve an existing load
//! balancer) or, to create one, `address-type`, `vswitch-id`, `ip`, `ip-version`, `spec`,
//! `instance-charge-type`, `charge-type`, `bandwidth`, `master-zoneid`, `slave-zoneid`,
//! `resource-group-id`, `delete-protection`, `modification-protection`,
//! `additional-resource-tags`, `name`, `preserve-lb-on-delete`; and the access control of
//! both listeners, `acl-status`, `acl-id`, `acl-type` (each under
//! `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-` or the legacy
//! `service.beta.kubernetes.io/alicloud-loadbalancer-`).
//!
//! All the Ingresses of the class share one load balancer, so their settings are merged in
//! the order [`translate`](super::translate) takes the Ingresses (oldest first): the first
//! Ingress to give a setting decides it, and a later one giving another value is told so
//! ([`Problem::Ignored`]). An Ingress whose load balancer annotations are invalid is left
//! out ([`Problem::Invalid`]). Annotations that mean nothing for an Ingress (the other
//! listener, health check and backend ones: CLB's layer 7 is set by the Ingress itself) and unknown
//! ones are reported ([`Problem::Annotation`]), never silently ignored.
//!
//! The load balancer is managed through a [`ServiceBinding`](ack_net_slb::binding::ServiceBinding)
//! without ports: one it creates carries the ownership tags of [`load_balancer_owner`] (so
//! it is found again, and deleted when the last Ingress goes, unless `preserve-lb-on-delete`);
//! a reused one is never changed or deleted.

use std::collections::{BTreeMap, BTreeSet};

use ack_net_slb::binding::ingress::IngressOwner;
use ack_net_slb::binding::{LoadBalancerSpec, Owner};
use ack_net_slb::ListenerAcl;
use k8s_openapi::api::networking::v1::Ingress;

use super::{key_of, Problem};
use crate::service::annotations::{self as keys, ServiceAnnotations};
use crate::service::{attributes, Error, ServiceConfig, CREATE_ONLY};

/// The load balancer of a class's Ingresses, with what their annotations could not do.
#[derive(Clone, Debug)]
pub struct IngressLoadBalancer {
    /// The load balancer alone (no listeners: the layer 7 is the
    /// [`IngressBinding`](ack_net_slb::binding::ingress::IngressBinding)'s): created with the
    /// merged annotations' attributes and [`load_balancer_owner`]'s tags, or reused (`id`).
    pub spec: LoadBalancerSpec,
    /// The Ingresses (by `namespace/name`) left out for an invalid load balancer annotation.
    pub rejected: BTreeSet<String>,
    /// What each Ingress asks of the load balancer that was not done.
    pub problems: BTreeMap<String, Vec<Problem>>,
    /// The access control list of both listeners (`acl-status: on`), for
    /// [`IngressSpec::acl`](ack_net_slb::binding::ingress::IngressSpec::acl).
    pub acl: Option<ListenerAcl>,
}

/// The owner of the load balancer the Ingresses of `owner`'s class create: its cluster and
/// `ingress/<class>` (the tags `ack-net.cluster` and `ack-net.service`).
pub fn load_balancer_owner(owner: &IngressOwner) -> Owner {
    Owner::new(owner.cluster_id(), format!("ingress/{}", owner.class()))
}

/// The listener annotations an Ingress reads (for both of its listeners).
const LISTENER_KEYS: &[&str] = &[keys::ACL_STATUS, keys::ACL_ID, keys::ACL_TYPE];

/// Whether `suffix` (after the prefix) is a load balancer annotation an Ingress reads.
fn is_load_balancer_key(suffix: &str) -> bool {
    suffix == "id" || CREATE_ONLY.iter().chain(LISTENER_KEYS).any(|k| k.strip_prefix(keys::PREFIX) == Some(suffix))
}

/// The load balancer of `ingresses` (those of the class; any order), their settings merged
/// (see the module docs); `cfg` gives the defaults (address type, VSwitch, billing,
/// protection) as for Services. An error only when the merged settings do not fit together
/// (an intranet load balancer without a VSwitch when `cfg` has none, ...).
///
/// ```
/// use ack_net_k8s::ingress::ingress_load_balancer;
/// use ack_net_k8s::service::ServiceConfig;
/// use ack_net_slb::binding::ingress::IngressOwner;
/// use k8s_openapi::api::networking::v1::Ingress;
///
/// let ing: Ingress = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "namespace": "shop", "annotations": {
///         "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s2.small",
///         "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-scheduler": "wrr"}},
///     "spec": {}
/// })).unwrap();
/// let lb = ingress_load_balancer(&IngressOwner::new("c-1", "ack-net"), &[ing], &ServiceConfig::new("c-1")).unwrap();
/// assert!(lb.spec.attributes().is_some(), "created, with the annotated spec");
/// assert!(lb.problems["shop/web"][0].message().contains("scheduler"), "reported, not ignored");
/// ```
pub fn ingress_load_balancer(
    owner: &IngressOwner,
    ingresses: &[Ingress],
    cfg: &ServiceConfig,
) -> Result<IngressLoadBalancer, Error> {
    let mut sorted: Vec<&Ingress> = ingresses.iter().collect();
    sorted.sort_by_key(|i| (i.metadata.creation_timestamp.as_ref().map(|t| t.0), key_of(&i.metadata)));
    let mut merged: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut rejected = BTreeSet::new();
    let mut problems: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
    for ing in sorted {
        let key = key_of(&ing.metadata);
        let mut own = BTreeMap::new();
        let mut found = Vec::new();
        for (k, v) in ing.metadata.annotations.iter().flatten() {
            let Some(suffix) = k.strip_prefix(keys::PREFIX).or_else(|| k.strip_prefix(keys::LEGACY_PREFIX)) else {
                if k == keys::BACKEND_TYPE || k == keys::CLASS_ANNOTATION {
                    found.push(Problem::Annotation(format!("{k}: a Service annotation, not read on an Ingress")));
                }
                continue;
            };
            if is_load_balancer_key(suffix) {
                own.insert(k.clone(), v.clone());
            } else if keys::KNOWN.contains(&suffix) {
                found.push(Problem::Annotation(format!(
                    "{k}: not read on an Ingress (its listeners, health checks and backends are the Ingress's own)"
                )));
            } else {
                found.push(Problem::Annotation(format!("{k}: not an annotation this controller reads")));
            }
        }
        match ServiceAnnotations::parse(&own) {
            Err(e) => {
                found.push(Problem::Invalid(e.to_string()));
                rejected.insert(key.clone());
            }
            Ok(a) if a.load_balancer.classic_network == Some(true) => {
                found.push(Problem::Invalid(format!(
                    "{}: classic-network load balancers are retired; ack-net creates VPC ones",
                    keys::SLB_NETWORK_TYPE
                )));
                rejected.insert(key.clone());
            }
            Ok(a) if a.load_balancer.id.is_none() && attributes(&a, cfg).is_err() => {
                if let Err(e) = attributes(&a, cfg) {
                    found.push(Problem::Invalid(e.to_string()));
                }
                rejected.insert(key.clone());
            }
            Ok(_) => {
                for (k, v) in own.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
                    let current = k.replacen(keys::LEGACY_PREFIX, keys::PREFIX, 1);
                    match merged.get(&current) {
                        Some((first, by)) if first != &v => found
                            .push(Problem::Ignored(format!("{k}: the load balancer's is {first:?}, as {by} gives it"))),
                        Some(_) => {}
                        None => {
                            merged.insert(current, (v, key.clone()));
                        }
                    }
                }
            }
        }
        if !found.is_empty() {
            problems.insert(key, found);
        }
    }
    let map: BTreeMap<String, String> = merged.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect();
    let annotations = ServiceAnnotations::parse(&map)?;
    let lb = &annotations.load_balancer;
    let l = &annotations.listener;
    let acl = match (l.acl_status, &l.acl_id, &l.acl_type) {
        (Some(true), Some(id), Some(kind)) => Some(ListenerAcl { acl_id: id.clone(), kind: kind.clone() }),
        _ => None,
    };
    let owner = load_balancer_owner(owner);
    let spec = match &lb.id {
        Some(id) => {
            for (k, (_, by)) in merged.iter().filter(|(k, _)| CREATE_ONLY.contains(&k.as_str())) {
                problems.entry(by.clone()).or_default().push(Problem::Annotation(format!(
                    "{k}: no effect, the load balancer {id} is reused and not changed"
                )));
            }
            LoadBalancerSpec::reuse(owner, id.clone())
        }
        None => {
            LoadBalancerSpec::create(owner, attributes(&annotations, cfg)?).preserve_on_delete(lb.preserve_on_delete)
        }
    };
    Ok(IngressLoadBalancer { spec, rejected, problems, acl })
}
