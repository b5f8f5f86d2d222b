//! How a binding recognises what it made: tags on the load balancer, a structured
//! description on listeners, a structured name on VServer groups and a marker in the
//! `Description` of backends. Every format here is part of the wire contract between
//! versions: changing one orphans what older versions made.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ccm::{ccm_load_balancer_name, CcmKey, CCM_CLUSTER_TAG, CCM_SERVICE_TAG};
use super::error::BindingError;
pub(crate) use super::hashing::{Fnv, FxBuild, IdentityBuild};
use super::spec::PortSpec;
use crate::{Backend, ListenerSpec, Tag, VServerGroupId};

/// The tag key carrying the owner's cluster id on a load balancer the binding created.
pub const CLUSTER_TAG: &str = "ack-net.cluster";
/// The tag key carrying the owner's service key on a load balancer the binding created.
pub const SERVICE_TAG: &str = "ack-net.service";
/// Every marker (listener description, group name, backend description) starts so.
pub const MARKER_PREFIX: &str = "ack-net.v1/";

/// The most characters a listener or backend `Description` may have.
const MAX_DESCRIPTION: usize = 80;
/// The most characters a VServer group name may have.
const MAX_GROUP_NAME: usize = 128;

/// Who a binding belongs to: a cluster and a service in it (`namespace/name`), plus an
/// optional instance id (a Kubernetes Service's UID) that tells apart a service deleted
/// and created again under the same name.
///
/// ```
/// use ack_net_slb::binding::Owner;
/// let owner = Owner::new("c-1234", "default/web");
/// assert_eq!(owner.id().as_str().len(), 16);
/// assert_eq!(owner.id(), Owner::new("c-1234", "default/web").with_uid("u-1").id(), "the uid is not identity");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    cluster_id: String,
    service: String,
    uid: Option<String>,
    #[serde(default)]
    naming: Naming,
}

/// Which names and tags mark what a binding owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Naming {
    /// ack-net's own: [`CLUSTER_TAG`] and [`SERVICE_TAG`], [`ListenerMarker`]s and
    /// `ack-net.v1/` group names and backend descriptions.
    #[default]
    AckNet,
    /// Those of ACK's cloud controller manager (see [`ccm_load_balancer_name`] and
    /// [`CCM_SERVICE_TAG`]): what CCM created for the service is the binding's own, and
    /// what the binding creates CCM takes as its own. Needs a `namespace/name` service and
    /// the uid; listeners are always read in full (CCM's descriptions carry no
    /// fingerprint).
    Ccm,
}

impl Owner {
    /// A binding of `service` (such as `namespace/name`) in cluster `cluster_id`.
    pub fn new(cluster_id: impl Into<String>, service: impl Into<String>) -> Self {
        Self { cluster_id: cluster_id.into(), service: service.into(), uid: None, naming: Naming::AckNet }
    }

    /// Marks what the binding owns with these names and tags.
    ///
    /// ```
    /// use ack_net_slb::binding::{Naming, Owner};
    /// let owner = Owner::new("c-1", "shop/web").with_uid("6f1c3c3e-9d8b").with_naming(Naming::Ccm);
    /// let keys: Vec<String> = owner.tags().into_iter().map(|t| t.key).collect();
    /// assert_eq!(keys, ["kubernetes.do.not.delete", "ack.aliyun.com"]);
    /// ```
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// The naming.
    pub fn naming(&self) -> Naming {
        self.naming
    }

    /// Sets the instance id, which goes into the `ClientToken` of the load balancer the
    /// binding creates: a service created again after a deletion then gets a new load
    /// balancer rather than the answer the cloud remembers for the old token.
    pub fn with_uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The service key.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The instance id, when set.
    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    /// The short id written into every marker: 16 hex digits of a hash of the cluster id
    /// and the service key.
    pub fn id(&self) -> OwnerId {
        let mut h = Fnv::new();
        h.write(self.cluster_id.as_bytes());
        h.write(&[0]);
        h.write(self.service.as_bytes());
        let ccm = match self.naming {
            Naming::Ccm => CcmKey::new(&self.cluster_id, &self.service),
            Naming::AckNet => None,
        };
        OwnerId { id: format!("{:016x}", h.finish()), ccm }
    }

    /// The ownership tags of a load balancer the binding created.
    pub fn tags(&self) -> Vec<Tag> {
        match self.naming {
            Naming::AckNet => vec![Tag::new(CLUSTER_TAG, &self.cluster_id), Tag::new(SERVICE_TAG, &self.service)],
            Naming::Ccm => vec![
                Tag::new(CCM_SERVICE_TAG, ccm_load_balancer_name(self.uid.as_deref().unwrap_or_default())),
                Tag::new(CCM_CLUSTER_TAG, &self.cluster_id),
            ],
        }
    }

    /// Whether `tags` carry this owner's ownership tags. (A load balancer CCM created
    /// before it wrote the cluster tag has only the service one.)
    pub fn owns_tags(&self, tags: &[Tag]) -> bool {
        let value = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.as_str());
        let [service, cluster] = self.tags().try_into().unwrap_or_else(|_| unreachable!("two ownership tags"));
        let cluster_ok = match self.naming {
            Naming::AckNet => value(&cluster.key) == Some(cluster.value.as_str()),
            Naming::Ccm => value(&cluster.key).is_none_or(|v| v == cluster.value),
        };
        value(&service.key) == Some(service.value.as_str()) && cluster_ok
    }

    /// Who else, by the tags every controller writes, created or claims the load balancer
    /// carrying `tags` (another cluster, another service): `None` when nobody or this
    /// owner does.
    pub fn other_claimant(&self, tags: &[Tag]) -> Option<String> {
        let value = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.as_str());
        let ccm_name = self.uid.as_deref().map(ccm_load_balancer_name);
        let ccm_own = self.naming == Naming::Ccm;
        for key in [CLUSTER_TAG, CCM_CLUSTER_TAG] {
            if let Some(c) = value(key).filter(|c| *c != self.cluster_id) {
                return Some(format!("cluster {c}"));
            }
        }
        if let Some(s) = value(SERVICE_TAG).filter(|s| *s != self.service || ccm_own) {
            return Some(format!("ack-net's binding of {s}"));
        }
        if let Some(n) = value(CCM_SERVICE_TAG).filter(|n| !ccm_own || ccm_name.as_deref() != Some(*n)) {
            return Some(format!("the cloud controller manager's Service {n}"));
        }
        None
    }

    pub(crate) fn validate(&self) -> Result<(), BindingError> {
        for (what, v) in [("cluster id", &self.cluster_id), ("service", &self.service)] {
            let reserved = v.to_ascii_lowercase().starts_with("aliyun") || v.to_ascii_lowercase().starts_with("acs:");
            if v.is_empty() || v.chars().count() > 128 || reserved {
                return Err(BindingError::invalid_spec(
                    format!("owner {what}"),
                    format!("{v:?} must be 1-128 characters and not start with aliyun or acs: (it is a tag value)"),
                ));
            }
        }
        if let Some(u) = &self.uid {
            if u.is_empty() || u.len() > 64 {
                return Err(BindingError::invalid_spec("owner uid", "1-64 characters"));
            }
        }
        if self.naming == Naming::Ccm {
            if CcmKey::new(&self.cluster_id, &self.service).is_none() {
                return Err(BindingError::invalid_spec(
                    "owner service",
                    "CCM naming needs namespace/name and a cluster id without /",
                ));
            }
            if self.uid.is_none() {
                return Err(BindingError::invalid_spec("owner uid", "CCM naming tags the load balancer by the uid"));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cluster_id, self.service)
    }
}

/// The 16-hex-digit owner id of [`Owner::id`], with the owner's CCM names in
/// [`Naming::Ccm`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "OwnerIdWire", from = "OwnerIdWire")]
pub struct OwnerId {
    id: String,
    ccm: Option<CcmKey>,
}

/// An [`OwnerId`] as serialized: the id alone (as before CCM naming existed), or with the
/// owner's CCM names.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OwnerIdWire {
    Plain(String),
    Ccm { id: String, ccm: CcmKey },
}

impl From<OwnerId> for OwnerIdWire {
    fn from(o: OwnerId) -> Self {
        match o.ccm {
            None => OwnerIdWire::Plain(o.id),
            Some(ccm) => OwnerIdWire::Ccm { id: o.id, ccm },
        }
    }
}

impl From<OwnerIdWire> for OwnerId {
    fn from(w: OwnerIdWire) -> Self {
        match w {
            OwnerIdWire::Plain(id) => OwnerId { id, ccm: None },
            OwnerIdWire::Ccm { id, ccm } => OwnerId { id, ccm: Some(ccm) },
        }
    }
}

impl OwnerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    fn parse(s: &str) -> Option<Self> {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self { id: s.to_owned(), ccm: None })
    }

    /// The owner of what CCM named with `key`: the id [`Owner::id`] gives that service.
    fn of_ccm(key: CcmKey) -> Self {
        let owner = Owner::new(&key.cluster, format!("{}/{}", key.namespace, key.name)).with_naming(Naming::Ccm);
        owner.id()
    }

    /// Whether the owner uses CCM's names.
    pub fn is_ccm(&self) -> bool {
        self.ccm.is_some()
    }

    /// The name of the VServer group this owner uses for `port`: [`group_name`](Self::group_name)
    /// in ack-net's naming; CCM's (`k8s/<node or target port>/...`, the port from
    /// [`PortSpec::ccm_group_port`], else the backends', else the listener's) in CCM's.
    pub fn group_name_for(&self, port: &PortSpec, service: &str) -> String {
        match &self.ccm {
            None => self.group_name(port.port(), service),
            Some(k) => {
                let p = port
                    .ccm_group_port
                    .clone()
                    .unwrap_or_else(|| port.backends.first().map_or(port.port(), |b| b.port).to_string());
                k.named(&p)
            }
        }
    }

    /// The `Description` of a backend this owner adds to the group named `group`: the
    /// group's name in CCM's naming, else [`backend_description`](Self::backend_description).
    pub(crate) fn backend_description_in(&self, group: &str, own: Option<&str>) -> String {
        match &self.ccm {
            Some(_) => group.to_owned(),
            None => self.backend_description(own),
        }
    }

    /// Whether a backend `Description` is `backend_description_in(group, own)`.
    pub(crate) fn backend_description_in_is(&self, have: Option<&str>, group: &str, own: Option<&str>) -> bool {
        match &self.ccm {
            Some(_) => have == Some(group),
            None => self.backend_description_is(have, own),
        }
    }

    /// The `Description` of a backend this owner added: the marker, then `/` and the
    /// caller's own description when there is one.
    pub fn backend_description(&self, own: Option<&str>) -> String {
        match own {
            Some(d) if !d.is_empty() => format!("{MARKER_PREFIX}{}/{d}", self.id),
            _ => format!("{MARKER_PREFIX}{}", self.id),
        }
    }

    /// Whether a backend `Description` is `backend_description(own)`, without allocating.
    pub(crate) fn backend_description_is(&self, have: Option<&str>, own: Option<&str>) -> bool {
        let Some(rest) =
            have.and_then(|h| h.strip_prefix(MARKER_PREFIX)).and_then(|h| h.strip_prefix(self.id.as_str()))
        else {
            return false;
        };
        match own.filter(|d| !d.is_empty()) {
            None => rest.is_empty(),
            Some(d) => rest.strip_prefix('/') == Some(d),
        }
    }

    /// Whether a backend carries this owner's marker (in CCM's naming: the name of one of
    /// the owner's groups).
    pub fn owns_backend(&self, b: &Backend) -> bool {
        let d = b.description.as_deref();
        if let Some(k) = &self.ccm {
            return d.and_then(CcmKey::parse).is_some_and(|(other, _)| other == *k);
        }
        d.and_then(|h| h.strip_prefix(MARKER_PREFIX))
            .and_then(|h| h.strip_prefix(self.id.as_str()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The name of the VServer group this owner uses for `port`:
    /// `ack-net.v1/<owner>/<port>/<service>` (the service part cut to fit 128 characters).
    pub fn group_name(&self, port: u16, service: &str) -> String {
        let mut name = format!("{MARKER_PREFIX}{}/{port}/", self.id);
        for c in service.chars() {
            if name.chars().count() >= MAX_GROUP_NAME {
                break;
            }
            name.push(c);
        }
        name
    }

    /// The owner and port a group name was made for, if it is a binding's group name. A
    /// CCM group name gives the node or target port (0 for a named one), not the listener's.
    pub fn parse_group_name(name: &str) -> Option<(OwnerId, u16)> {
        if let Some((key, port)) = CcmKey::parse(name) {
            return Some((OwnerId::of_ccm(key), port.parse().unwrap_or(0)));
        }
        let rest = name.strip_prefix(MARKER_PREFIX)?;
        let mut parts = rest.splitn(3, '/');
        let owner = OwnerId::parse(parts.next()?)?;
        let port = parts.next()?.parse::<u16>().ok().filter(|p| *p > 0)?;
        Some((owner, port))
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ccm {
            None => f.write_str(&self.id),
            Some(k) => write!(f, "CCM's {}/{} in {}", k.namespace, k.name, k.cluster),
        }
    }
}

/// What a binding writes into the `Description` of each listener it creates:
/// `ack-net.v1/<owner>/<fingerprint>/<group id or ->`. The fingerprint is a hash of the
/// listener's wanted settings, so a fast observation can tell "as last applied" from
/// "changed" without reading the listener itself; the group id saves reading the listener
/// to find its group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerMarker {
    /// Whose listener it is.
    pub owner: OwnerId,
    /// [`fingerprint`] of the settings applied.
    pub fingerprint: String,
    /// The VServer group it was pointed at, when it has one and the id fits.
    pub group: Option<VServerGroupId>,
}

impl ListenerMarker {
    /// Reads a listener description; `None` when it is not a binding's. A CCM description
    /// (`k8s/<port>/<service>/<namespace>/<cluster>`) is the marker of that service's owner
    /// in [`Naming::Ccm`], with no fingerprint and no group.
    pub fn parse(description: &str) -> Option<Self> {
        if let Some((key, _)) = CcmKey::parse(description) {
            return Some(Self { owner: OwnerId::of_ccm(key), fingerprint: String::new(), group: None });
        }
        let rest = description.strip_prefix(MARKER_PREFIX)?;
        let mut parts = rest.splitn(3, '/');
        let owner = OwnerId::parse(parts.next()?)?;
        let fingerprint = parts.next()?;
        if fingerprint.len() != 12 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let group = match parts.next()? {
            "-" => None,
            g => Some(g.parse().ok()?),
        };
        Some(Self { owner, fingerprint: fingerprint.to_owned(), group })
    }

    /// The description of this owner's listener on `port`: CCM's in [`Naming::Ccm`], else
    /// [`render`](Self::render).
    pub fn render_for(&self, port: u16) -> String {
        match &self.owner.ccm {
            Some(k) => k.named(&port.to_string()),
            None => self.render(),
        }
    }

    /// The description text. The group id is left out (`-`) when it would not fit.
    pub fn render(&self) -> String {
        let head = format!("{MARKER_PREFIX}{}/{}/", self.owner.as_str(), self.fingerprint);
        match &self.group {
            Some(g) if head.len() + g.as_str().len() <= MAX_DESCRIPTION => format!("{head}{g}"),
            _ => format!("{head}-"),
        }
    }
}

/// 12 hex digits of a hash of a listener's settings without its backend and description
/// (which the binding fills in), normalized.
pub fn fingerprint(listener: &ListenerSpec) -> String {
    let mut l = listener.clone();
    l.backend = None;
    l.description = None;
    let l = l.normalized();
    let json = serde_json::to_vec(&l).unwrap_or_default();
    let mut h = Fnv::new();
    h.write(&json);
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// The `ClientToken` of the load balancer a binding creates: the same owner, instance id
/// and create parameters give the same token, so a create retried after a crash returns
/// the load balancer made the first time.
pub(crate) fn client_token(owner: &Owner, create_params: &str) -> String {
    let mut h = Fnv::new();
    h.write(owner.uid.as_deref().unwrap_or("").as_bytes());
    h.write(&[0]);
    h.write(create_params.as_bytes());
    format!("ack-net-{}-{:016x}", owner.id().as_str(), h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ListenerBackend, Scheduler};

    #[test]
    fn owner_id_is_stable() {
        // Pinned: markers in the cloud depend on it.
        let id = Owner::new("c1", "default/web").id();
        assert_eq!(id.as_str().len(), 16);
        assert_eq!(id, Owner::new("c1", "default/web").id());
        assert_ne!(id, Owner::new("c1", "default/api").id());
        assert_ne!(Owner::new("c1", "a").id(), Owner::new("c1a", "").id());
        let mut f = Fnv::new();
        f.write(b"a");
        assert_eq!(f.finish(), 0xaf63_dc4c_8601_ec8c, "FNV-1a of \"a\"");
    }

    #[test]
    fn owner_tags_and_validation() {
        let o = Owner::new("c1", "default/web");
        assert!(o.owns_tags(&o.tags()));
        assert!(!o.owns_tags(&Owner::new("c1", "default/api").tags()));
        assert!(Owner::new("", "x").validate().is_err());
        assert!(Owner::new("c", "aliyun-x").validate().is_err());
        assert!(Owner::new("c", "x".repeat(129)).validate().is_err());
        assert!(o.with_uid("").validate().is_err());
    }

    #[test]
    fn listener_marker_round_trip() {
        let owner = Owner::new("c1", "default/web").id();
        let m = ListenerMarker {
            owner: owner.clone(),
            fingerprint: "0123456789ab".into(),
            group: Some("rsp-bp1abcdefghijklmnopqrst".parse().unwrap()),
        };
        let text = m.render();
        assert!(text.len() <= 80, "{text}");
        assert_eq!(ListenerMarker::parse(&text), Some(m.clone()));
        let none = ListenerMarker { group: None, ..m };
        assert_eq!(ListenerMarker::parse(&none.render()), Some(none));
        assert_eq!(ListenerMarker::parse("web"), None);
        assert_eq!(ListenerMarker::parse("ack-net.v1/xyz/0123456789ab/-"), None);
        let long = ListenerMarker {
            owner,
            fingerprint: "0123456789ab".into(),
            group: Some(format!("rsp-{}", "a".repeat(60)).parse().unwrap()),
        };
        assert!(long.render().ends_with("/-"), "a group id that does not fit is left out");
    }

    #[test]
    fn group_names_and_backend_descriptions() {
        let owner = Owner::new("c1", "default/web").id();
        let name = owner.group_name(8080, "default/web");
        assert_eq!(OwnerId::parse_group_name(&name), Some((owner.clone(), 8080)));
        assert_eq!(owner.group_name(1, &"s".repeat(300)).chars().count(), 128);
        assert_eq!(OwnerId::parse_group_name("web-80"), None);
        let d = owner.backend_description(Some("pod web-0"));
        assert!(owner.backend_description_is(Some(&d), Some("pod web-0")));
        assert!(!owner.backend_description_is(Some(&d), None));
        let plain = owner.backend_description(None);
        assert!(owner.backend_description_is(Some(&plain), None));
        assert!(owner.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 80).with_description(d)));
        assert!(!owner.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 80).with_description("mine")));
        assert!(!owner.owns_backend(&Backend::ecs(&"i-a".parse().unwrap(), 80)));
    }

    #[test]
    fn fingerprints_ignore_what_the_binding_fills_in() {
        let g = ListenerBackend::VServerGroup("rsp-a".parse().unwrap());
        let a = ListenerSpec::tcp(80, g);
        let mut b = a.clone().with_description("x");
        b.backend = None;
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&a.clone().with_scheduler(Scheduler::Wlc)));
        assert_eq!(fingerprint(&a).len(), 12);
    }
}
