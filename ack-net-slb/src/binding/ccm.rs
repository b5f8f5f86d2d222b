//! The names and tags of ACK's own cloud controller manager (CCM,
//! kubernetes/cloud-provider-alibaba-cloud), for a binding in [`Naming::Ccm`]: it then
//! recognises what CCM made for a Service as its own, and writes the same names and tags,
//! so that a cluster can move from CCM to ack-net and back without a new load balancer.
//!
//! What CCM writes, from its source (`pkg/model`, `pkg/controller/helper`,
//! `reconcile/annotation`):
//! - the load balancer: tags [`CCM_SERVICE_TAG`] = [`ccm_load_balancer_name`] of the
//!   Service's UID and [`CCM_CLUSTER_TAG`] = the cluster id; a reused one gets
//!   [`CCM_REUSE_TAG`] = `true`;
//! - a listener: `Description` `k8s/<port>/<service>/<namespace>/<cluster>`;
//! - a VServer group: `VServerGroupName` `k8s/<node port or target port>/<service>/<namespace>/<cluster>`;
//! - a backend: the group's name as its `Description`.
//!
//! [`Naming::Ccm`]: super::Naming::Ccm

use serde::{Deserialize, Serialize};

/// The tag key CCM puts on a load balancer it created, with [`ccm_load_balancer_name`] as
/// the value; CCM finds the load balancer of a Service by it.
pub const CCM_SERVICE_TAG: &str = "kubernetes.do.not.delete";
/// The tag key carrying the cluster id on a load balancer CCM created.
pub const CCM_CLUSTER_TAG: &str = "ack.aliyun.com";
/// The tag CCM puts (value `true`) on a load balancer a Service reuses (`id` annotation).
pub const CCM_REUSE_TAG: &str = "kubernetes.reused.by.user";
/// The first part of every CCM listener description and group name.
const PREFIX: &str = "k8s";

/// The name CCM gives the load balancer of a Service, and the value of its
/// [`CCM_SERVICE_TAG`]: `a` and the Service's UID without dashes, at most 32 characters.
///
/// ```
/// use ack_net_slb::binding::ccm_load_balancer_name;
/// let name = ccm_load_balancer_name("6f1c3c3e-9d8b-4c1a-8e6e-0a1b2c3d4e5f");
/// assert_eq!(name, "a6f1c3c3e9d8b4c1a8e6e0a1b2c3d4e5");
/// ```
pub fn ccm_load_balancer_name(uid: &str) -> String {
    std::iter::once('a').chain(uid.chars().filter(|c| *c != '-')).take(32).collect()
}

/// A Service as CCM names it: cluster, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct CcmKey {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
}

impl CcmKey {
    /// The key of `namespace/name` in `cluster`; `None` when the service is not of that
    /// form or a part holds a `/` (CCM's names split on it).
    pub fn new(cluster: &str, service: &str) -> Option<Self> {
        let (namespace, name) = service.split_once('/')?;
        let ok = |s: &str| !s.is_empty() && !s.contains('/');
        (ok(cluster) && ok(namespace) && ok(name)).then(|| Self {
            cluster: cluster.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }

    /// `k8s/<port>/<service>/<namespace>/<cluster>`: a listener's description (with the
    /// listener port) or a group's name (with the node or target port).
    pub fn named(&self, port: &str) -> String {
        format!("{PREFIX}/{port}/{}/{}/{}", self.name, self.namespace, self.cluster)
    }

    /// The key and the port part of a CCM name, if `text` is one.
    pub fn parse(text: &str) -> Option<(Self, &str)> {
        let mut parts = text.split('/');
        let (prefix, port, name, namespace, cluster) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if prefix != PREFIX || parts.next().is_some() || port.is_empty() {
            return None;
        }
        let key = Self::new(cluster, &format!("{namespace}/{name}"))?;
        Some((key, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_refuse_other_forms() {
        let k = CcmKey::new("c-1", "shop/web").unwrap();
        assert_eq!(k.named("80"), "k8s/80/web/shop/c-1");
        assert_eq!(CcmKey::parse("k8s/30080/web/shop/c-1"), Some((k.clone(), "30080")));
        assert_eq!(CcmKey::parse("k8s/http/web/shop/c-1"), Some((k, "http")), "a named target port");
        for bad in ["k8s/80/web/shop", "k8s/80/web/shop/c-1/x", "x8s/80/web/shop/c-1", "k8s//web/shop/c-1", "web"] {
            assert_eq!(CcmKey::parse(bad), None, "{bad}");
        }
        assert_eq!(CcmKey::new("c-1", "web"), None);
        assert_eq!(CcmKey::new("c/1", "shop/web"), None);
        assert_eq!(ccm_load_balancer_name("ab-cd"), "aabcd");
        assert_eq!(ccm_load_balancer_name(&"f".repeat(40)).len(), 32);
    }

    use crate::binding::{ListenerMarker, Naming, Owner, OwnerId, PortSpec, CLUSTER_TAG, SERVICE_TAG};
    use crate::{Backend, Tag};

    fn ccm_owner(cluster: &str, service: &str) -> Owner {
        Owner::new(cluster, service).with_uid("11-22").with_naming(Naming::Ccm)
    }

    #[test]
    fn a_ccm_owner_recognises_ccm_names_of_its_service_only() {
        let owner = ccm_owner("c-1", "shop/web");
        assert!(owner.validate().is_ok());
        assert_eq!(owner.tags(), vec![Tag::new(CCM_SERVICE_TAG, "a1122"), Tag::new(CCM_CLUSTER_TAG, "c-1")]);
        assert!(owner.owns_tags(&owner.tags()));
        assert!(owner.owns_tags(&owner.tags()[..1]), "CCM before the cluster tag");
        assert!(!owner.owns_tags(&ccm_owner("c-2", "shop/web").tags()));
        assert!(!owner.owns_tags(&Owner::new("c-1", "shop/web").tags()), "ack-net's tags are not CCM's");

        let id = owner.id();
        assert!(id.is_ccm() && !Owner::new("c-1", "shop/web").id().is_ccm());
        assert_ne!(id, Owner::new("c-1", "shop/web").id(), "the two namings never claim each other's");
        let m = ListenerMarker::parse("k8s/80/web/shop/c-1").unwrap();
        assert_eq!((m.owner.clone(), m.fingerprint.as_str(), m.group.clone()), (id.clone(), "", None));
        assert_eq!(m.render_for(80), "k8s/80/web/shop/c-1");
        assert_ne!(ListenerMarker::parse("k8s/80/web/shop/c-2").unwrap().owner, id);
        assert_eq!(id.to_string(), "CCM's shop/web in c-1", "as a port's holder is named");
        let token = crate::binding::ownership::client_token(&owner, "{}");
        assert!(token.starts_with(&format!("ack-net-{}-", id.as_str())) && token.len() <= 64, "{token}");

        let port = PortSpec::tcp(80, vec![Backend::ecs(&"i-a".parse().unwrap(), 30080)]);
        let name = id.group_name_for(&port, "shop/web");
        assert_eq!(name, "k8s/30080/web/shop/c-1");
        assert_eq!(id.group_name_for(&port.clone().with_ccm_group_port("http"), "shop/web"), "k8s/http/web/shop/c-1");
        assert_eq!(id.group_name_for(&PortSpec::tcp(80, vec![]), "shop/web"), "k8s/80/web/shop/c-1");
        assert_eq!(OwnerId::parse_group_name(&name), Some((id.clone(), 30080)));
        assert_eq!(id.backend_description_in(&name, Some("pod web-0")), name, "CCM describes a backend by its group");
        assert!(
            id.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 30080).with_description("k8s/31000/web/shop/c-1"))
        );
        assert!(
            !id.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 30080).with_description("k8s/30080/api/shop/c-1"))
        );
        assert!(!id.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 30080)));

        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(json["ccm"]["namespace"], "shop");
        assert_eq!(serde_json::from_value::<OwnerId>(json).unwrap(), id);
        let plain = Owner::new("c-1", "shop/web").id();
        assert_eq!(serde_json::to_value(&plain).unwrap(), serde_json::json!(plain.as_str()), "as before");
        assert_eq!(serde_json::from_value::<OwnerId>(serde_json::json!(plain.as_str())).unwrap(), plain);

        assert!(Owner::new("c-1", "web").with_uid("u").with_naming(Naming::Ccm).validate().is_err());
        assert!(Owner::new("c-1", "shop/web").with_naming(Naming::Ccm).validate().is_err(), "no uid");
    }

    #[test]
    fn other_claimants_are_named_by_their_tags() {
        let ours = ccm_owner("c-1", "shop/web");
        let native = Owner::new("c-1", "shop/web").with_uid("11-22");
        assert_eq!(ours.other_claimant(&[]), None, "a load balancer nobody claims");
        assert_eq!(ours.other_claimant(&[Tag::new(CCM_REUSE_TAG, "true")]), None);
        assert_eq!(ours.other_claimant(&ours.tags()), None);
        let other_cluster = ccm_owner("c-9", "shop/web").tags();
        assert!(ours.other_claimant(&other_cluster).unwrap().contains("c-9"));
        assert!(native.other_claimant(&other_cluster).unwrap().contains("c-9"));
        let other_service = ccm_owner("c-1", "shop/api").with_uid("33").tags();
        assert!(ours.other_claimant(&other_service).unwrap().contains("a33"));
        assert!(native.other_claimant(&ours.tags()).is_some(), "CCM's own load balancer is not to reuse");
        assert_eq!(native.other_claimant(&[Tag::new(CLUSTER_TAG, "c-1"), Tag::new(SERVICE_TAG, "shop/web")]), None);
        let theirs = [Tag::new(CLUSTER_TAG, "c-1"), Tag::new(SERVICE_TAG, "shop/api")];
        assert!(native.other_claimant(&theirs).unwrap().contains("shop/api"));
    }
}
