//! What marks the parts an ingress binding owns: its [`IngressOwner`]'s short id in every
//! rule name, group name, listener description and certificate name. Domain extensions
//! carry no name: one is the binding's when its certificate is.

use serde::Serialize;

use super::spec::ServiceRef;
use crate::binding::hashing::Fnv;

/// The prefix of every name and description an ingress binding writes.
pub const INGRESS_MARKER: &str = "ack-net.ing";

/// Who owns an ingress binding: a cluster's controller of one IngressClass.
///
/// ```
/// use ack_net_slb::binding::ingress::IngressOwner;
/// let owner = IngressOwner::new("c-1234", "ack-net");
/// assert_eq!(owner.id().len(), 8);
/// assert_eq!(owner.rule_name("www.example.com", "/api").len(), 25, "RuleName takes at most 40");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct IngressOwner {
    cluster_id: String,
    class: String,
}

fn hash(parts: &[&str]) -> u64 {
    let mut h = Fnv::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0]);
    }
    h.finish()
}

impl IngressOwner {
    /// The controller of IngressClass `class` in cluster `cluster_id`.
    pub fn new(cluster_id: impl Into<String>, class: impl Into<String>) -> Self {
        Self { cluster_id: cluster_id.into(), class: class.into() }
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The IngressClass.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// 8 hex digits of a hash of the cluster and the class (rule names have 40 characters).
    pub fn id(&self) -> String {
        format!("{:08x}", hash(&[&self.cluster_id, &self.class]) as u32)
    }

    /// The name of the rule for `host` and `url`: `ack.<owner>.<12 hex>`.
    pub fn rule_name(&self, host: &str, url: &str) -> String {
        format!("ack.{}.{:012x}", self.id(), hash(&[host, url]) & 0xffff_ffff_ffff)
    }

    /// Whether a rule name is one of this owner's.
    pub fn owns_rule(&self, name: &str) -> bool {
        name.strip_prefix("ack.").and_then(|r| r.strip_prefix(&self.id())).is_some_and(|r| r.starts_with('.'))
    }

    /// The key of a service's group name: 12 hex digits of a hash of the service.
    pub(crate) fn service_key(service: &ServiceRef) -> String {
        format!("{:012x}", hash(&[&service.namespace, &service.name, &service.port]) & 0xffff_ffff_ffff)
    }

    /// The name of the group of `service`: `ack-net.ing/<owner>/<key> <service>`, at most
    /// 128 characters.
    pub fn group_name(&self, service: &ServiceRef) -> String {
        let name = format!("{INGRESS_MARKER}/{}/{} {service}", self.id(), Self::service_key(service));
        name.chars().take(128).collect()
    }

    /// The service key of one of this owner's group names.
    pub fn owned_group_key(&self, name: &str) -> Option<String> {
        let rest = name.strip_prefix(INGRESS_MARKER)?.strip_prefix('/')?.strip_prefix(&self.id())?.strip_prefix('/')?;
        let key: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (key.len() == 12).then_some(key)
    }

    /// The description of the listeners the binding makes.
    pub fn listener_description(&self) -> String {
        format!("{INGRESS_MARKER}/{}", self.id())
    }

    /// The name of a certificate with content hash `content_hash`: `ack.<owner>.<hash>`.
    pub fn certificate_name(&self, content_hash: &str) -> String {
        format!("ack.{}.{content_hash}", self.id())
    }

    /// The content hash of one of this owner's certificate names.
    pub fn owned_certificate_hash<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix("ack.")?.strip_prefix(&self.id())?.strip_prefix('.')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_stay_within_limits() {
        let o = IngressOwner::new("c-1", "ack-net");
        let other = IngressOwner::new("c-2", "ack-net");
        let name = o.rule_name("*.example.com", "/api");
        assert!(crate::check_rule_name(&name).is_ok());
        assert!(o.owns_rule(&name) && !other.owns_rule(&name));
        assert_ne!(name, o.rule_name("*.example.com", "/apis"));
        let svc = ServiceRef::new("shop", "x".repeat(200), "http");
        let g = o.group_name(&svc);
        assert_eq!(g.chars().count(), 128);
        assert_eq!(o.owned_group_key(&g), Some(IngressOwner::service_key(&svc)));
        assert_eq!(other.owned_group_key(&g), None);
        let c = o.certificate_name("0123456789abcdef");
        assert_eq!(o.owned_certificate_hash(&c), Some("0123456789abcdef"));
        assert_eq!(other.owned_certificate_hash(&c), None);
        assert!(o.listener_description().len() <= 80);
    }
}
