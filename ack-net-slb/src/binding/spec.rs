//! [`LoadBalancerSpec`]: a service's load balancer as desired state.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::IpAddr;

use ack_net_core::ZoneId;
use serde::{Deserialize, Serialize};

use super::error::BindingError;
use super::ownership::{FxBuild, IdentityBuild, Owner, CLUSTER_TAG, MARKER_PREFIX, SERVICE_TAG};
use crate::common::validate_tags;
use crate::{
    AddressIpVersion, AddressType, Backend, BackendType, HttpConfig, HttpsConfig, InternetChargeType, ListenerBackend,
    ListenerSpec, LoadBalancerId, ProtocolConfig, ServerCertificateId, Tag, TcpConfig, UdpConfig, VSwitchId,
};

pub use crate::InstanceSpec;

/// Characters of a backend's own description that fit after the marker.
pub const MAX_BACKEND_DESCRIPTION: usize = 80 - MARKER_PREFIX.len() - 16 - 1;

/// A service's load balancer as desired state: who owns it, which load balancer (one to
/// create with these attributes, or an existing one to reuse), and one listener per port,
/// each with its backends.
///
/// ```
/// use ack_net_slb::binding::{LoadBalancerAttributes, LoadBalancerSpec, Owner, PortSpec};
/// use ack_net_slb::{Backend, InstanceSpec};
///
/// let pods: Vec<Backend> = (1..=3u8)
///     .map(|i| Backend::eni(&"eni-bp1abc".parse().unwrap(), format!("10.0.1.{i}").parse().unwrap(), 8080))
///     .collect();
/// let spec = LoadBalancerSpec::create(Owner::new("c-1", "default/web"), LoadBalancerAttributes::internet(InstanceSpec::S1Small))
///     .port(PortSpec::tcp(80, pods.clone()))
///     .port(PortSpec::tcp(443, pods));
/// assert!(spec.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerSpec {
    /// Who the binding belongs to.
    pub owner: Owner,
    /// The load balancer: created and owned, or reused.
    pub load_balancer: LoadBalancerSource,
    /// One listener per port, with its backends.
    pub ports: Vec<PortSpec>,
    /// On deletion, keep a load balancer the binding created (its listeners and groups go,
    /// and its ownership tags are removed) instead of deleting it.
    pub preserve_on_delete: bool,
}

/// Which load balancer a binding uses.
// A spec is built once per reconcile; boxing the attributes would only make it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadBalancerSource {
    /// One the binding creates, tags as its own and keeps at these attributes.
    Create(LoadBalancerAttributes),
    /// An existing one: the binding adds its listeners and groups and never changes or
    /// deletes anything else on it.
    Reuse(LoadBalancerId),
}

/// How a load balancer is billed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Billing {
    /// `PayBySpec` with this specification.
    PayBySpec(InstanceSpec),
    /// `PayByCLCU`: by capacity units used.
    PayByClcu,
}

/// The attributes of a load balancer the binding creates. Those the API can change are
/// kept in place (name, spec, internet charge type and bandwidth, protections, tags); the
/// others (address type and version, VSwitch, address, zones, billing method, resource
/// group) are set at creation and only reported when they differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerAttributes {
    /// `LoadBalancerName`; `None` leaves the name to the cloud (and unmanaged).
    pub name: Option<String>,
    /// `AddressType`.
    pub address_type: AddressType,
    /// `AddressIPVersion`; `None` is the cloud's default (IPv4).
    pub address_ip_version: Option<AddressIpVersion>,
    /// `VSwitchId`: required for intranet load balancers.
    pub vswitch_id: Option<VSwitchId>,
    /// `Address`: a fixed intranet VIP.
    pub address: Option<IpAddr>,
    /// Billing: a spec, or pay-by-CLCU.
    pub billing: Billing,
    /// `InternetChargeType` (internet load balancers); `None` leaves it unmanaged.
    pub internet_charge_type: Option<InternetChargeType>,
    /// `Bandwidth` in Mbit/s, 1-5120 (pay-by-bandwidth); `None` leaves it unmanaged.
    pub bandwidth: Option<u32>,
    /// `MasterZoneId`.
    pub master_zone_id: Option<ZoneId>,
    /// `SlaveZoneId`.
    pub slave_zone_id: Option<ZoneId>,
    /// `DeleteProtection`. The binding turns it off itself before deleting.
    pub delete_protection: bool,
    /// `ModificationProtectionStatus=ConsoleProtection`: people cannot change it in the
    /// console (the API still can).
    pub modification_protection: bool,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// Tags besides the ownership tags. Added or updated, never removed (the binding cannot
    /// tell a tag it set before from one a person set).
    pub tags: Vec<Tag>,
}

impl LoadBalancerAttributes {
    fn new(address_type: AddressType, billing: Billing) -> Self {
        Self {
            name: None,
            address_type,
            address_ip_version: None,
            vswitch_id: None,
            address: None,
            billing,
            internet_charge_type: None,
            bandwidth: None,
            master_zone_id: None,
            slave_zone_id: None,
            delete_protection: false,
            modification_protection: false,
            resource_group_id: None,
            tags: Vec::new(),
        }
    }

    /// An internet load balancer with this specification.
    pub fn internet(spec: InstanceSpec) -> Self {
        Self::new(AddressType::Internet, Billing::PayBySpec(spec))
    }

    /// An intranet load balancer in `vswitch` with this specification.
    pub fn intranet(vswitch: VSwitchId, spec: InstanceSpec) -> Self {
        Self { vswitch_id: Some(vswitch), ..Self::new(AddressType::Intranet, Billing::PayBySpec(spec)) }
    }

    /// Billed by capacity units instead of a specification.
    pub fn pay_by_clcu(mut self) -> Self {
        self.billing = Billing::PayByClcu;
        self
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the internet charge type and bandwidth.
    pub fn internet_spec(mut self, charge_type: InternetChargeType, bandwidth: Option<u32>) -> Self {
        self.internet_charge_type = Some(charge_type);
        self.bandwidth = bandwidth;
        self
    }

    /// Sets the zones.
    pub fn zones(mut self, master: ZoneId, slave: Option<ZoneId>) -> Self {
        self.master_zone_id = Some(master);
        self.slave_zone_id = slave;
        self
    }

    /// Sets delete protection.
    pub fn delete_protection(mut self, on: bool) -> Self {
        self.delete_protection = on;
        self
    }

    /// Sets modification (console) protection.
    pub fn modification_protection(mut self, on: bool) -> Self {
        self.modification_protection = on;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tags.push(tag);
        self
    }

    fn validate(&self, owner: &Owner) -> Result<(), BindingError> {
        let bad = |what: &str, reason: String| BindingError::invalid_spec(what, reason);
        if !self.address_type.is_known() {
            return Err(bad("address_type", format!("{} is not internet or intranet", self.address_type)));
        }
        let intranet = self.address_type == AddressType::Intranet;
        if intranet && self.vswitch_id.is_none() {
            return Err(bad("vswitch_id", "an intranet load balancer needs a VSwitch".into()));
        }
        if !intranet && (self.vswitch_id.is_some() || self.address.is_some()) {
            return Err(bad("vswitch_id", "VSwitch and address are for intranet load balancers".into()));
        }
        if let Billing::PayBySpec(s) = &self.billing {
            if !s.is_known() {
                return Err(bad("billing", format!("{s} is not a known spec")));
            }
        }
        if let Some(n) = &self.name {
            crate::common::validate_text("LoadBalancerName", n, 80).map_err(crate::Error::from)?;
        }
        if let Some(b) = self.bandwidth {
            if !(1..=5120).contains(&b) {
                return Err(bad("bandwidth", format!("{b} is outside 1-5120")));
            }
        }
        if self.master_zone_id.is_some() && self.master_zone_id == self.slave_zone_id {
            return Err(bad("slave_zone_id", "must differ from the master zone".into()));
        }
        if self.tags.iter().any(|t| t.key == CLUSTER_TAG || t.key == SERVICE_TAG) {
            return Err(bad("tags", format!("{CLUSTER_TAG} and {SERVICE_TAG} are the binding's own tags")));
        }
        let mut all = owner.tags();
        all.extend(self.tags.iter().cloned());
        validate_tags(&all).map_err(crate::Error::from)?;
        Ok(())
    }
}

/// One listener port: the listener's settings and the backends of its VServer group.
///
/// The binding fills in the listener's backend (its own group) and description (its
/// ownership marker): leave both `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The listener, with `backend` and `description` left `None`.
    pub listener: ListenerSpec,
    /// The backends: ECS instances, or ENI (pod) addresses, each with a port and a weight.
    /// A backend's own description (at most [`MAX_BACKEND_DESCRIPTION`] characters) is
    /// kept after the binding's marker.
    pub backends: Vec<Backend>,
    /// Leave the weight of a backend already in the group as it is (the
    /// `ignore-weight-update` annotation of ACK's cloud controller manager): someone else
    /// (a canary tool, a person in the console) owns the weights. New backends still get
    /// theirs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_observed_weights: bool,
    /// In [`Naming::Ccm`](super::Naming::Ccm): the port part of the group's name as CCM
    /// writes it (the node port, or the Service's target port, a name for a named one).
    /// `None` takes the first backend's port, else the listener port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccm_group_port: Option<String>,
}

impl PortSpec {
    /// A port from a listener and backends.
    pub fn new(listener: ListenerSpec, backends: Vec<Backend>) -> Self {
        Self { listener, backends, keep_observed_weights: false, ccm_group_port: None }
    }

    /// Leaves the weights of backends already in the group unchanged (see
    /// [`keep_observed_weights`](Self::keep_observed_weights)).
    ///
    /// ```
    /// use ack_net_slb::binding::PortSpec;
    /// let p = PortSpec::tcp(80, vec![]).with_observed_weights_kept(true);
    /// assert!(p.keep_observed_weights);
    /// ```
    pub fn with_observed_weights_kept(mut self, keep: bool) -> Self {
        self.keep_observed_weights = keep;
        self
    }

    /// Sets the port part of the group's CCM name (see [`ccm_group_port`](Self::ccm_group_port)).
    pub fn with_ccm_group_port(mut self, port: impl Into<String>) -> Self {
        self.ccm_group_port = Some(port.into());
        self
    }

    /// A TCP listener with the default settings.
    pub fn tcp(port: u16, backends: Vec<Backend>) -> Self {
        Self::new(ListenerSpec::new(port, None, ProtocolConfig::Tcp(TcpConfig::default())), backends)
    }

    /// A UDP listener with the default settings.
    pub fn udp(port: u16, backends: Vec<Backend>) -> Self {
        Self::new(ListenerSpec::new(port, None, ProtocolConfig::Udp(UdpConfig::default())), backends)
    }

    /// An HTTP listener with the default settings.
    pub fn http(port: u16, backends: Vec<Backend>) -> Self {
        Self::new(ListenerSpec::new(port, None, ProtocolConfig::Http(HttpConfig::default())), backends)
    }

    /// An HTTPS listener with the default settings and this certificate.
    pub fn https(port: u16, certificate: ServerCertificateId, backends: Vec<Backend>) -> Self {
        Self::new(ListenerSpec::new(port, None, ProtocolConfig::Https(HttpsConfig::new(certificate))), backends)
    }

    /// An HTTP listener redirecting to the HTTPS listener on `https_port` (which must be in
    /// the same spec); it has no backends.
    pub fn http_redirect(port: u16, https_port: u16) -> Self {
        Self::new(ListenerSpec::http_redirect(port, https_port), Vec::new())
    }

    /// The listener port.
    pub fn port(&self) -> u16 {
        self.listener.port
    }

    /// The HTTPS port this listener redirects to, if it is a redirect.
    pub fn redirects_to(&self) -> Option<u16> {
        match &self.listener.protocol {
            ProtocolConfig::Http(h) => h.forward_to_https_port,
            _ => None,
        }
    }
}

impl LoadBalancerSpec {
    /// A binding that creates its own load balancer.
    pub fn create(owner: Owner, attributes: LoadBalancerAttributes) -> Self {
        Self {
            owner,
            load_balancer: LoadBalancerSource::Create(attributes),
            ports: Vec::new(),
            preserve_on_delete: false,
        }
    }

    /// A binding on an existing load balancer.
    pub fn reuse(owner: Owner, load_balancer_id: LoadBalancerId) -> Self {
        Self {
            owner,
            load_balancer: LoadBalancerSource::Reuse(load_balancer_id),
            ports: Vec::new(),
            preserve_on_delete: false,
        }
    }

    /// Adds a port.
    pub fn port(mut self, port: PortSpec) -> Self {
        self.ports.push(port);
        self
    }

    /// Sets [`LoadBalancerSpec::preserve_on_delete`].
    pub fn preserve_on_delete(mut self, on: bool) -> Self {
        self.preserve_on_delete = on;
        self
    }

    /// The attributes, when the binding creates its load balancer.
    pub fn attributes(&self) -> Option<&LoadBalancerAttributes> {
        match &self.load_balancer {
            LoadBalancerSource::Create(a) => Some(a),
            LoadBalancerSource::Reuse(_) => None,
        }
    }

    /// The port spec of `port`.
    pub fn port_spec(&self, port: u16) -> Option<&PortSpec> {
        self.ports.iter().find(|p| p.port() == port)
    }

    /// Checks everything that can be checked without the cloud, with the default group
    /// quota.
    pub fn validate(&self) -> Result<(), BindingError> {
        self.validate_with_quota(super::plan::DEFAULT_GROUP_QUOTA)
    }

    /// Checks the spec; a port may have at most `quota` backends.
    pub fn validate_with_quota(&self, quota: usize) -> Result<(), BindingError> {
        self.validate_hashed(quota).map(drop)
    }

    /// Checks the spec; answers, for each port in order, the [`key_hash`] of each backend
    /// (the planner reuses them).
    pub(crate) fn validate_hashed(&self, quota: usize) -> Result<Vec<Vec<u64>>, BindingError> {
        self.owner.validate()?;
        if let LoadBalancerSource::Create(a) = &self.load_balancer {
            a.validate(&self.owner)?;
        }
        let mut ports = HashSet::new();
        let mut hashes = Vec::with_capacity(self.ports.len());
        for p in &self.ports {
            let port = p.port();
            if !ports.insert(port) {
                return Err(BindingError::invalid_spec(format!("port {port}"), "one listener per port"));
            }
            hashes.push(validate_port(p, quota)?);
            if let Some(https) = p.redirects_to() {
                let target = self.port_spec(https).map(|t| t.listener.listener_protocol());
                if target != Some(crate::ListenerProtocol::Https) {
                    return Err(BindingError::invalid_spec(
                        format!("port {port}"),
                        format!("redirects to {https}, which is not an HTTPS port of this spec"),
                    ));
                }
            }
        }
        Ok(hashes)
    }
}

fn validate_port(p: &PortSpec, quota: usize) -> Result<Vec<u64>, BindingError> {
    let port = p.port();
    let what = || format!("port {port}");
    if p.listener.description.is_some() {
        return Err(BindingError::invalid_spec(what(), "leave the listener description to the binding (its marker)"));
    }
    if p.listener.backend.is_some() {
        return Err(BindingError::invalid_spec(
            what(),
            "leave the listener backend to the binding (its VServer group)",
        ));
    }
    if p.redirects_to().is_some() {
        p.listener.validate()?;
        if !p.backends.is_empty() {
            return Err(BindingError::invalid_spec(what(), "a redirecting listener has no backends"));
        }
        return Ok(Vec::new());
    }
    let mut check = p.listener.clone();
    check.backend = Some(ListenerBackend::VServerGroup(placeholder_group()));
    check.validate()?;
    if p.backends.len() > quota {
        return Err(BindingError::TooManyBackends { port, wanted: p.backends.len(), foreign: 0, quota });
    }
    for b in &p.backends {
        b.validate()?;
        if b.description.as_deref().is_some_and(|d| d.chars().count() > MAX_BACKEND_DESCRIPTION || d.contains('\n')) {
            return Err(BindingError::invalid_spec(
                format!("port {port} backend {}", b.server_id),
                format!("its description has room for {MAX_BACKEND_DESCRIPTION} characters after the marker"),
            ));
        }
    }
    // Unique keys: a map of 64-bit hashes is much cheaper than a set of the keys; only
    // when two hashes agree are the keys themselves compared (and on a true collision of
    // hashes, every key).
    let hashes: Vec<u64> = p.backends.iter().map(key_hash).collect();
    let mut first: HashMap<u64, usize, IdentityBuild> =
        HashMap::with_capacity_and_hasher(p.backends.len(), IdentityBuild::default());
    let mut collided = false;
    for (i, (b, h)) in p.backends.iter().zip(&hashes).enumerate() {
        match first.entry(*h) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(o) if key(&p.backends[*o.get()]) == key(b) => {
                return Err(twice(port, b));
            }
            std::collections::hash_map::Entry::Occupied(_) => collided = true,
        }
    }
    if collided {
        let mut keys: HashSet<_, FxBuild> = HashSet::with_capacity_and_hasher(p.backends.len(), FxBuild::default());
        if let Some(b) = p.backends.iter().find(|b| !keys.insert(key(b))) {
            return Err(twice(port, b));
        }
    }
    Ok(hashes)
}

fn twice(port: u16, b: &Backend) -> BindingError {
    BindingError::invalid_spec(format!("port {port} backend {}", b.server_id), format!("given twice (port {})", b.port))
}

/// A backend's identity within a group, without allocating: server id, address (for
/// `eni` and `eci`), port.
pub(crate) type Key<'a> = (&'a str, Option<IpAddr>, u16);

/// A backend's [`Key`].
pub(crate) fn key(b: &Backend) -> Key<'_> {
    let ip = if b.kind == BackendType::Ecs { None } else { b.server_ip };
    (b.server_id.as_str(), ip, b.port)
}

/// The 64-bit hash of a backend's [`Key`].
pub(crate) fn key_hash(b: &Backend) -> u64 {
    FxBuild::default().hash_one(key(b))
}

fn placeholder_group() -> crate::VServerGroupId {
    // A syntactically valid id, only to let the listener's own checks run.
    "rsp-placeholder".parse().unwrap_or_else(|_| unreachable!("rsp- ids parse"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::ErrorInfo;

    fn owner() -> Owner {
        Owner::new("c1", "default/web")
    }

    fn spec() -> LoadBalancerSpec {
        LoadBalancerSpec::create(owner(), LoadBalancerAttributes::internet(InstanceSpec::S1Small))
    }

    #[test]
    fn valid_specs() {
        let s = spec()
            .port(PortSpec::tcp(
                80,
                vec![Backend::ecs(&"i-a".parse().unwrap(), 80), Backend::ecs(&"i-a".parse().unwrap(), 81)],
            ))
            .port(PortSpec::https(443, "1_a".parse().unwrap(), vec![Backend::ecs(&"i-a".parse().unwrap(), 8443)]))
            .port(PortSpec::http_redirect(8080, 443));
        s.validate().unwrap();
        assert!(LoadBalancerSpec::reuse(owner(), "lb-a".parse().unwrap()).validate().is_ok());
    }

    #[test]
    fn invalid_specs_are_typed_errors() {
        let is_invalid = |s: LoadBalancerSpec| matches!(s.validate(), Err(e) if e.class() == ack_net_core::ErrorClass::InvalidInput || matches!(e, BindingError::TooManyBackends { .. }));
        assert!(is_invalid(spec().port(PortSpec::tcp(80, vec![])).port(PortSpec::udp(80, vec![]))));
        assert!(is_invalid(spec().port(PortSpec::tcp(0, vec![]))));
        assert!(is_invalid(spec().port(PortSpec::tcp(
            80,
            vec![Backend::ecs(&"i-a".parse().unwrap(), 80), Backend::ecs(&"i-a".parse().unwrap(), 80)]
        ))));
        assert!(is_invalid(
            spec().port(PortSpec::tcp(80, vec![Backend::ecs(&"i-a".parse().unwrap(), 80).with_weight(101)]))
        ));
        assert!(is_invalid(spec().port(PortSpec::http_redirect(80, 443))));
        let mut described = PortSpec::tcp(80, vec![]);
        described.listener.description = Some("mine".into());
        assert!(is_invalid(spec().port(described)));
        assert!(is_invalid(spec().port(PortSpec::tcp(
            80,
            vec![Backend::ecs(&"i-a".parse().unwrap(), 80).with_description("d".repeat(60))]
        ))));
        let many: Vec<Backend> = (1..=201).map(|p| Backend::ecs(&"i-a".parse().unwrap(), p)).collect();
        assert!(matches!(
            spec().port(PortSpec::tcp(80, many.clone())).validate(),
            Err(BindingError::TooManyBackends { .. })
        ));
        assert!(spec().port(PortSpec::tcp(80, many)).validate_with_quota(1000).is_ok());
        let mut a = LoadBalancerAttributes::internet(InstanceSpec::S1Small);
        a.address_type = AddressType::Intranet;
        assert!(is_invalid(LoadBalancerSpec::create(owner(), a)));
        let a = LoadBalancerAttributes::internet(InstanceSpec::S1Small).tag(Tag::new(SERVICE_TAG, "x"));
        assert!(is_invalid(LoadBalancerSpec::create(owner(), a)));
        let a = LoadBalancerAttributes::internet(InstanceSpec::S1Small)
            .internet_spec(InternetChargeType::PayByBandwidth, Some(0));
        assert!(is_invalid(LoadBalancerSpec::create(owner(), a)));
    }
}
